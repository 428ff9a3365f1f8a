package secdet

/*
#include <stdlib.h>
#include <secdet.h>
*/
import "C"

import (
	"encoding/json"
	"time"
	"unsafe"
)

// LogTypeDef describes a log type (docs/log-types.md "Defining a log
// type"): how its events are recognised (Detect: any of the shapes, each
// all of its tests), where their common fields are (Fields: "time", "id",
// "ip", "user", "account", "action", "outcome" -> a path or a list of
// paths, the first present and not null giving the value) and which fields
// exist (KnownFields: paths, ".a.*" for anything below .a). DefineLogType
// with the Name of an existing log type (a built-in too) changes only what
// is given.
type LogTypeDef struct {
	Name        string              `json:"name"`
	Detect      []LogTypeShape      `json:"detect,omitempty"`
	Fields      map[string][]string `json:"fields,omitempty"`
	KnownFields []string            `json:"known_fields,omitempty"`
}

// LogTypeShape is one shape a log type's events have: every path in Exists
// is present, and every path in Equals holds that string.
type LogTypeShape struct {
	Exists []string          `json:"exists,omitempty"`
	Equals map[string]string `json:"equals,omitempty"`
}

// DefineLogType defines a log type, or overrides what def gives of one that
// exists. Sources added later may name it (LogType), events of sources that
// have it see it at once, and rules loaded afterwards get its known fields'
// warnings. An *Error with the reason in Detail when def is not valid
// ("fields.ip: \"x y\" is not a field path").
func (e *Engine) DefineLogType(def LogTypeDef) error {
	text, err := json.Marshal(def)
	if err != nil {
		return &Error{Op: "define log type", Status: ErrInvalidArg, Detail: err.Error()}
	}
	return e.DefineLogTypeJSON(string(text))
}

// DefineLogTypeJSON is DefineLogType with the description as JSON text, as
// the C API and `secdet run`'s "log_types" take it.
func (e *Engine) DefineLogTypeJSON(text string) error {
	k, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	var why *C.char
	st := C.secdet_log_type_define(k.c, ctext, C.size_t(len(text)), &why)
	if st == C.SECDET_OK {
		return nil
	}
	er := &Error{Op: "define log type", Status: Status(st)}
	if why != nil {
		er.Detail = C.GoString(why)
		C.secdet_free(unsafe.Pointer(why))
	}
	return er
}

// LogTypes lists the names of the log types the engine knows, built-ins first.
func (e *Engine) LogTypes() ([]string, error) {
	k, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	n := int(C.secdet_log_type_count(k.c))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, C.GoString(C.secdet_log_type_name(k.c, C.size_t(i))))
	}
	return out, nil
}

// EventInfo is what the engine makes of one event (Inspect).
type EventInfo struct {
	Source  string    // the source it belongs to (a routing source's event: its log type's name)
	LogType string    // its log type
	Time    time.Time // its own time, when HasTime
	HasTime bool
}

// Inspect says which source and log type an event pushed to source would
// have, and its time, without evaluating it.
func (e *Engine) Inspect(source string, event []byte) (EventInfo, error) {
	k, err := e.lock()
	if err != nil {
		return EventInfo{}, err
	}
	defer e.mu.Unlock()
	csrc := C.CString(source)
	defer C.free(unsafe.Pointer(csrc))
	var info C.secdet_event_info
	var p *C.char
	if len(event) > 0 {
		p = (*C.char)(C.CBytes(event))
		defer C.free(unsafe.Pointer(p))
	}
	if st := C.secdet_event_inspect(k.c, csrc, p, C.size_t(len(event)), &info); st != C.SECDET_OK {
		return EventInfo{}, &Error{Op: "inspect", Status: Status(st)}
	}
	out := EventInfo{Source: C.GoString(info.source), LogType: C.GoString(info.log_type), HasTime: info.has_time != 0}
	if out.HasTime {
		out.Time = time.Unix(0, int64(info.time_ns)).UTC()
	}
	return out, nil
}

// SourceStats are the counters of one source name.
type SourceStats struct {
	TimeUnreadable uint64 `json:"time_unreadable"` // events whose time could not be read
}

// SourceStats returns the counters of source name (zero for a name that saw none).
func (e *Engine) SourceStats(name string) (SourceStats, error) {
	k, err := e.lock()
	if err != nil {
		return SourceStats{}, err
	}
	defer e.mu.Unlock()
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var s C.secdet_source_stats
	if st := C.secdet_source_stats_get(k.c, cname, &s); st != C.SECDET_OK {
		return SourceStats{}, &Error{Op: "source stats", Status: Status(st)}
	}
	return SourceStats{TimeUnreadable: uint64(s.time_unreadable)}, nil
}

// LogTypeJSON returns log type name as it is now (a built-in with what was
// defined over it), in the JSON DefineLogTypeJSON takes. An *Error with
// ErrInvalidArg for an unknown name.
func (e *Engine) LogTypeJSON(name string) (string, error) {
	k, err := e.lock()
	if err != nil {
		return "", err
	}
	defer e.mu.Unlock()
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var out *C.char
	if st := C.secdet_log_type_json(k.c, cname, &out); st != C.SECDET_OK {
		return "", &Error{Op: "log type", Status: Status(st), Detail: "unknown log type " + name}
	}
	defer C.secdet_free(unsafe.Pointer(out))
	return C.GoString(out), nil
}
