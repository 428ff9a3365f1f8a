package secdet

/*
#include <stdlib.h>
#include <secdet.h>
*/
import "C"

import "unsafe"

// diagnostics copies a diagnostics object into Go values (nil stays nil).
func diagnostics(diag *C.secdet_diagnostics) []Diagnostic {
	if diag == nil {
		return nil
	}
	n := int(C.secdet_diagnostics_count(diag))
	out := make([]Diagnostic, 0, n)
	for i := 0; i < n; i++ {
		var d C.secdet_diagnostic
		if C.secdet_diagnostics_get(diag, C.size_t(i), &d) != C.SECDET_OK {
			continue
		}
		out = append(out, Diagnostic{
			Severity: DiagSeverity(d.severity),
			File:     C.GoString(d.file),
			Line:     int(d.line),
			Column:   int(d.column),
			Message:  C.GoString(d.message),
		})
	}
	return out
}

// loadResult turns a load's status and diagnostics into an error: a
// *RuleError when the library reported an error diagnostic.
func (k *core) loadResult(op string, st C.secdet_status, diag *C.secdet_diagnostics) error {
	ds := diagnostics(diag)
	C.secdet_diagnostics_free(diag)
	if st == C.SECDET_OK {
		k.st.warn(ds)
		return nil
	}
	for _, d := range ds {
		if d.Severity == DiagError {
			return &RuleError{File: d.File, Line: d.Line, Column: d.Column, Message: d.Message,
				Status: Status(st), Diagnostics: ds}
		}
	}
	return statusErr(op, st)
}

// LoadRules compiles rules from text; name is the file name diagnostics
// show ("<string>" when empty). Every rule source loaded into one Engine
// shares one namespace, and a load is all or nothing: on error the Engine
// keeps the rules it had and the error is a *RuleError holding every error.
func (e *Engine) LoadRules(name, text string) error {
	k, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	var cname *C.char
	if name != "" {
		cname = C.CString(name)
		defer C.free(unsafe.Pointer(cname))
	}
	var diag *C.secdet_diagnostics
	st := C.secdet_load_rules_string(k.c, cname, (*C.char)(unsafe.Pointer(unsafe.StringData(text))),
		C.size_t(len(text)), &diag)
	return k.loadResult("load rules", st, diag)
}

// LoadRulesFile compiles the rules in the file at path (see LoadRules).
// An unreadable file is a *RuleError wrapping ErrIO.
func (e *Engine) LoadRulesFile(path string) error {
	return e.loadPath("load rules file", path, false)
}

// LoadRulesDir compiles every *.secdet file below dir, recursively, in byte
// order of their paths (see LoadRules).
func (e *Engine) LoadRulesDir(dir string) error {
	return e.loadPath("load rules dir", dir, true)
}

func (e *Engine) loadPath(op, path string, dir bool) error {
	k, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var diag *C.secdet_diagnostics
	var st C.secdet_status
	if dir {
		st = C.secdet_load_rules_dir(k.c, cp, &diag)
	} else {
		st = C.secdet_load_rules_file(k.c, cp, &diag)
	}
	return k.loadResult(op, st, diag)
}

// ReloadRules replaces every loaded rule with the rules in paths (files or
// directories), all or nothing. Correlation state of each rule whose name
// and compiled form are unchanged is kept.
func (e *Engine) ReloadRules(paths ...string) error {
	k, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	// The array of C strings lives in C memory: no Go pointer reaches C.
	n := len(paths)
	arr := (**C.char)(C.calloc(C.size_t(n+1), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	if arr == nil {
		return &Error{Op: "reload rules", Status: ErrNoMem}
	}
	cs := unsafe.Slice(arr, n+1)
	defer func() {
		for _, p := range cs {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(arr))
	}()
	for i, p := range paths {
		cs[i] = C.CString(p)
	}
	var diag *C.secdet_diagnostics
	st := C.secdet_reload_rules(k.c, arr, C.size_t(n), &diag)
	return k.loadResult("reload rules", st, diag)
}

// RuleInfo describes one loaded rule.
type RuleInfo struct {
	Name      string
	Title     string
	Severity  Severity
	File      string
	Line      int
	Private   bool // the rule never alerts
	Aggregate bool // count, distinct, sum or sequence
}

// Rules lists the loaded rules.
func (e *Engine) Rules() ([]RuleInfo, error) {
	k, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	n := int(C.secdet_rule_count(k.c))
	out := make([]RuleInfo, 0, n)
	for i := 0; i < n; i++ {
		var ri C.secdet_rule_info
		if C.secdet_rule_get(k.c, C.size_t(i), &ri) != C.SECDET_OK {
			continue
		}
		out = append(out, RuleInfo{
			Name: C.GoString(ri.name), Title: C.GoString(ri.title), Severity: Severity(ri.severity),
			File: C.GoString(ri.file), Line: int(ri.line), Private: ri.is_private != 0, Aggregate: ri.is_aggregate != 0,
		})
	}
	return out, nil
}
