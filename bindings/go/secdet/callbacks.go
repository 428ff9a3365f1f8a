package secdet

/*
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"unsafe"
)

// state is what the synchronous callbacks reach through their cgo.Handle.
// The handlers are set once in New; the rest is touched only by the
// goroutine that holds the Engine's lock (the callbacks run on its thread,
// inside its C call).
type state struct {
	onAlert     func(Alert)
	onRaw       func([]byte)
	alertCh     chan<- Alert
	onMalformed func(Malformed)
	onSinkLog   func(sink, message string)
	onWarning   func(Diagnostic)

	collect bool
	res     callResult
}

type callResult struct {
	alerts     []Alert
	malformed  []Malformed
	nMalformed int
	err        error // the first alert that could not be parsed
	panicked   bool
	panicVal   any
}

func (s *state) wantsAlerts() bool { return s.onAlert != nil || s.onRaw != nil || s.alertCh != nil }

// take returns what the callbacks gathered during one call and resets it.
func (s *state) take() callResult {
	r := s.res
	s.res = callResult{}
	s.collect = false
	return r
}

func (s *state) warn(ds []Diagnostic) {
	if s.onWarning == nil {
		return
	}
	for _, d := range ds {
		if d.Severity == DiagWarning {
			s.onWarning(d)
		}
	}
}

// guard runs a user handler; a panic is kept to be re-raised after the C
// call returns (a panic must not unwind through C frames).
func (s *state) guard(fn func()) {
	if s.res.panicked {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			s.res.panicked = true
			s.res.panicVal = v
		}
	}()
	fn()
}

//export goSecdetAlert
func goSecdetAlert(h C.uintptr_t, data *C.char, n C.size_t) {
	s := cgo.Handle(h).Value().(*state)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n))
	if s.onRaw != nil {
		s.guard(func() { s.onRaw(raw) })
	}
	if !s.collect && s.onAlert == nil && s.alertCh == nil {
		return
	}
	a, err := ParseAlert(raw)
	if err != nil {
		if s.res.err == nil {
			s.res.err = err
		}
		return
	}
	if s.onAlert != nil {
		s.guard(func() { s.onAlert(a) })
	}
	if s.alertCh != nil {
		s.guard(func() { s.alertCh <- a })
	}
	if s.collect {
		s.res.alerts = append(s.res.alerts, a)
	}
}

//export goSecdetError
func goSecdetError(h C.uintptr_t, source *C.char, where C.uint64_t, message *C.char) {
	s := cgo.Handle(h).Value().(*state)
	m := Malformed{Source: C.GoString(source), Where: uint64(where), Message: C.GoString(message)}
	s.res.nMalformed++
	if len(s.res.malformed) < maxMalformed {
		s.res.malformed = append(s.res.malformed, m)
	}
	if s.onMalformed != nil {
		s.guard(func() { s.onMalformed(m) })
	}
}

//export goSecdetSinkLog
func goSecdetSinkLog(h C.uintptr_t, sink *C.char, message *C.char) {
	s := cgo.Handle(h).Value().(*state)
	if s.onSinkLog == nil {
		return
	}
	name, msg := C.GoString(sink), C.GoString(message)
	defer func() { _ = recover() }() // on the delivery thread: nowhere to report it
	s.onSinkLog(name, msg)
}

//export goSecdetSinkEmit
func goSecdetSinkEmit(h C.uintptr_t, d *C.secdet_delivery) {
	sk := cgo.Handle(h).Value().(*sinkState)
	var n C.size_t
	p := C.secdet_delivery_json(d, &n)
	del := Delivery{
		ID:       C.GoString(C.secdet_delivery_id(d)),
		Severity: Severity(C.secdet_delivery_severity(d)),
		Attempt:  int(C.secdet_delivery_attempt(d)),
		JSON:     C.GoBytes(unsafe.Pointer(p), C.int(n)),
	}
	err := sk.deliver(del)
	if err == nil {
		C.gosecdet_delivery_done(d, C.SECDET_SINK_OK, 0, nil)
		return
	}
	result, after := C.int(C.SECDET_SINK_RETRY), int64(0)
	var pe *permanentError
	var ra *retryAfterError
	switch {
	case errorsAs(err, &pe):
		result = C.SECDET_SINK_PERMANENT
	case errorsAs(err, &ra):
		after = ra.after.Milliseconds()
	}
	msg := C.CString(err.Error())
	defer C.free(unsafe.Pointer(msg))
	C.gosecdet_delivery_done(d, result, C.int64_t(after), msg)
}

//export goSecdetSinkFlush
func goSecdetSinkFlush(h C.uintptr_t) {
	sk := cgo.Handle(h).Value().(*sinkState)
	if sk.flush == nil {
		return
	}
	defer func() { _ = recover() }()
	sk.flush()
}

//export goSecdetSinkClose
func goSecdetSinkClose(h C.uintptr_t) {
	sk := cgo.Handle(h).Value().(*sinkState)
	cgo.Handle(h).Delete()
	if sk.close != nil {
		defer func() { _ = recover() }()
		sk.close()
	}
}

// deliver calls the sink's function; a panic becomes a retryable failure.
func (sk *sinkState) deliver(d Delivery) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("sink panicked: %v", v)
		}
	}()
	return sk.fn(d)
}
