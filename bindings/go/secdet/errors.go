package secdet

/*
#include <secdet.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
)

// Status is a libsecdet status code (secdet_status). Every non-zero Status
// is an error, so the constants below work as sentinels with [errors.Is]:
//
//	if errors.Is(err, secdet.ErrDecode) { ... some input was skipped ... }
type Status int

// The status codes of libsecdet. StatusOK is never returned as an error.
const (
	StatusOK         Status = 0
	ErrInvalidArg    Status = 1 // a bad argument or option value
	ErrNoMem         Status = 2 // allocation failed; the engine is unchanged
	ErrIO            Status = 3 // a file could not be read or written
	ErrRules         Status = 4 // the rules did not compile (see RuleError)
	ErrUnknownSource Status = 5 // push to a source that was never added
	ErrExists        Status = 6 // a source or sink of that name already exists
	ErrDecode        Status = 7 // some input was malformed: counted, reported, the rest went on
	ErrLimit         Status = 8 // a configured limit was hit
	ErrTimeout       Status = 9 // Drain or Close: time ran out before every alert was delivered
)

// ErrBusy: a sink cannot take more alerts now (its spool cannot write and its
// memory queue is full: docs/sinks.md "Backpressure"). Push, PushDocument,
// PushEvent and Scan wait for it; they return it only when ctx ended the
// wait, having consumed nothing.
const ErrBusy Status = 10

// ErrClosed is returned by every method of an Engine after Close.
var ErrClosed = errors.New("secdet: engine is closed")

// Error returns libsecdet's description of the status, e.g.
// "secdet: rules did not compile".
func (s Status) Error() string {
	return "secdet: " + C.GoString(C.secdet_strerror(C.secdet_status(s)))
}

// Error is a failed libsecdet call: which operation, its status and, when
// the library said more, the detail. Unwrap gives the Status.
type Error struct {
	Op     string // "push", "add source", ...
	Status Status
	Detail string // e.g. the message of a sink configuration diagnostic; may be ""
}

func (e *Error) Error() string {
	msg := C.GoString(C.secdet_strerror(C.secdet_status(e.Status)))
	if e.Detail != "" {
		return fmt.Sprintf("secdet: %s: %s: %s", e.Op, msg, e.Detail)
	}
	return fmt.Sprintf("secdet: %s: %s", e.Op, msg)
}

// Unwrap returns the Status, so errors.Is(err, secdet.ErrExists) works.
func (e *Error) Unwrap() error { return e.Status }

func statusErr(op string, st C.secdet_status) error {
	if st == C.SECDET_OK {
		return nil
	}
	return &Error{Op: op, Status: Status(st)}
}

// DiagSeverity tells an error from a warning.
type DiagSeverity int

const (
	DiagError   DiagSeverity = 0
	DiagWarning DiagSeverity = 1
)

func (s DiagSeverity) String() string {
	if s == DiagWarning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one rule compile error or warning (or one note of a
// snapshot restore).
type Diagnostic struct {
	Severity DiagSeverity
	File     string // as given to the loader; "" when not tied to a file
	Line     int    // 1-based; 0 when unknown
	Column   int    // 1-based, in bytes; 0 when unknown
	Message  string
}

// String formats the diagnostic as "file:line:col: message"
// ("file:line:col: warning: message" for a warning), like `secdet check`.
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		b.WriteString(":")
	}
	if d.Line > 0 {
		fmt.Fprintf(&b, "%d:", d.Line)
		if d.Column > 0 {
			fmt.Fprintf(&b, "%d:", d.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if d.Severity == DiagWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// RuleError is returned when rules do not load. File, Line, Column and
// Message are those of the first error; Diagnostics holds every error and
// warning in the order found. Get it with errors.As:
//
//	var re *secdet.RuleError
//	if errors.As(err, &re) {
//	    fmt.Printf("%s:%d:%d: %s\n", re.File, re.Line, re.Column, re.Message)
//	}
type RuleError struct {
	File        string
	Line        int
	Column      int
	Message     string
	Status      Status // usually ErrRules; ErrIO or ErrLimit for an unreadable or oversized file
	Diagnostics []Diagnostic
}

func (e *RuleError) Error() string {
	first := Diagnostic{File: e.File, Line: e.Line, Column: e.Column, Message: e.Message}.String()
	n := 0
	for _, d := range e.Diagnostics {
		if d.Severity == DiagError {
			n++
		}
	}
	if n > 1 {
		return fmt.Sprintf("%s (and %d more errors)", first, n-1)
	}
	return first
}

// Unwrap returns the Status, so errors.Is(err, secdet.ErrRules) works.
func (e *RuleError) Unwrap() error { return e.Status }

// Malformed is one piece of input that could not be decoded and was skipped.
type Malformed struct {
	Source  string
	Where   uint64 // 1-based line (jsonl) or record / document number
	Message string
}

func (m Malformed) String() string {
	return fmt.Sprintf("%s: %d: %s", m.Source, m.Where, m.Message)
}

// maxMalformed bounds the reports a DecodeError keeps.
const maxMalformed = 100

// DecodeError says that some input was malformed: it was counted, reported
// and skipped, and everything else was processed (the alerts returned with
// it are valid). Count is how many pieces were skipped; Reports holds the
// first of them (at most 100). errors.Is(err, secdet.ErrDecode) is true.
type DecodeError struct {
	Op      string
	Count   int
	Reports []Malformed
}

func (e *DecodeError) Error() string {
	if len(e.Reports) == 0 {
		return fmt.Sprintf("secdet: %s: %d malformed events skipped", e.Op, e.Count)
	}
	if e.Count == 1 {
		return fmt.Sprintf("secdet: %s: malformed input skipped: %s", e.Op, e.Reports[0])
	}
	return fmt.Sprintf("secdet: %s: %d malformed events skipped, the first: %s", e.Op, e.Count, e.Reports[0])
}

// Unwrap returns ErrDecode.
func (e *DecodeError) Unwrap() error { return ErrDecode }
