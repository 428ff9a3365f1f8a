package secdet

/*
#include <stdlib.h>
#include <secdet.h>
*/
import "C"

import "unsafe"

// Tuning: a ruleset tunes its rules without editing them, typically in a
// local overlay file loaded after the packs with LoadRulesFile (and
// reloaded with the rest by ReloadRules):
//
//	tune cis_aws_4_3_root_account_usage {
//	    except .sourceIPAddress in cidr("192.0.2.0/24") until 2027-01-31 "break-glass drill"
//	    severity = medium
//	}
//	disable cis_aws_4_1_* "GuardDuty covers these"
//
// RuleStats says how loud each rule is and what its exceptions took out;
// TuningExplain what each tune and disable changes (docs/language.md,
// "Severity, exceptions and tuning").

// RuleStats are one rule's figures since the Engine was made; a reload
// keeps those of every rule whose name stays (secdet_rule_stats_get).
type RuleStats struct {
	Rule       string       `json:"rule"`
	Alerts     uint64       `json:"alerts"`     // alerts the rule made (before the sinks' filters)
	Suppressed uint64       `json:"suppressed"` // alerts its throttle held back
	Excepted   uint64       `json:"excepted"`   // events its exceptions took out
	Disabled   bool         `json:"disabled"`   // a `disable` turned it off
	Excepts    []RuleExcept `json:"excepts"`    // its exceptions, in the order they apply
}

// RuleExcept is one exception of a rule (secdet_rule_except_get).
type RuleExcept struct {
	File      string `json:"file"` // where the `except` is written
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	Condition string `json:"condition"` // as written, on one line
	Reason    string `json:"reason"`    // "" when none
	Until     string `json:"until"`     // "YYYY-MM-DD", "" when it has no date
	// UntilNS: events from this time on (ns since the epoch, UTC) are not
	// excepted; math.MaxInt64 without a date.
	UntilNS  int64  `json:"until_ns"`
	Excepted uint64 `json:"excepted"` // events it took out
}

// RuleStats returns the figures of every loaded rule, in the order of Rules.
func (e *Engine) RuleStats() ([]RuleStats, error) {
	k, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	n := int(C.secdet_rule_count(k.c))
	out := make([]RuleStats, 0, n)
	for i := 0; i < n; i++ {
		var ri C.secdet_rule_info
		var st C.secdet_rule_stats
		if C.secdet_rule_get(k.c, C.size_t(i), &ri) != C.SECDET_OK ||
			C.secdet_rule_stats_get(k.c, C.size_t(i), &st) != C.SECDET_OK {
			continue
		}
		rs := RuleStats{Rule: C.GoString(ri.name), Alerts: uint64(st.alerts), Suppressed: uint64(st.suppressed),
			Excepted: uint64(st.excepted), Disabled: st.disabled != 0, Excepts: []RuleExcept{}}
		for j := 0; j < int(st.nexcepts); j++ {
			var x C.secdet_rule_except
			if C.secdet_rule_except_get(k.c, C.size_t(i), C.size_t(j), &x) != C.SECDET_OK {
				continue
			}
			rs.Excepts = append(rs.Excepts, RuleExcept{File: C.GoString(x.file), Line: int(x.line),
				Column: int(x.column), Condition: C.GoString(x.condition), Reason: C.GoString(x.reason),
				Until: C.GoString(x.until), UntilNS: int64(x.until_ns), Excepted: uint64(x.excepted)})
		}
		out = append(out, rs)
	}
	return out, nil
}

// TuningExplain says what every tune and disable of the loaded rules
// changes, for people: per declaration "file:line:col: tune TARGET (N
// rules)", then a line per rule and change; "" when there are none.
func (e *Engine) TuningExplain() (string, error) {
	k, err := e.lock()
	if err != nil {
		return "", err
	}
	defer e.mu.Unlock()
	var out *C.char
	if st := C.secdet_tuning_explain(k.c, &out); st != C.SECDET_OK {
		return "", statusErr("tuning explain", st)
	}
	defer C.secdet_free(unsafe.Pointer(out))
	return C.GoString(out), nil
}
