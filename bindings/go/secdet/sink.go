package secdet

/*
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"time"
	"unsafe"
)

// Delivery is one alert on its way to one sink.
type Delivery struct {
	ID       string   // the alert's id (32 hex digits): de-duplicate on it
	Severity Severity // the alert's severity
	Attempt  int      // 1 on the first attempt, 2 on the first retry, ...
	JSON     []byte   // the alert as compact JSON (a copy: keep it if you like)
}

// Alert parses the delivery's JSON.
func (d Delivery) Alert() (Alert, error) { return ParseAlert(d.JSON) }

// Sink is a sink written in Go: the engine's delivery thread calls Deliver
// for every alert that passes the filter (MinSeverity, Tags), off the
// pushing goroutine, one call at a time, in order, at least once. Deliver
// returns nil when the alert is delivered; an error is retried with backoff
// (RetryAfter sets the delay, Permanent sends the alert straight to the
// dead-letter file). A panic in Deliver counts as a retryable failure.
//
// Deliver, Flush and Close must not call the Engine's methods, and Deliver
// must return: Close waits for a Deliver in progress.
type Sink struct {
	Name        string        // in stats and logs; unique per engine ("" -> "custom-<n>")
	MinSeverity Severity      // only alerts at least this severe
	Tags        []string      // when not empty, only alerts with one of these tags ("attack.*" matches a prefix)
	QueueMax    int           // alerts held in memory (0: 10000)
	SpoolDir    string        // write-ahead spool directory ("": none)
	MaxAttempts int           // attempts before the dead-letter file (0: 10; negative: forever)
	Backoff     time.Duration // first retry delay (0: 500ms)
	BackoffMax  time.Duration // longest retry delay (0: 60s)
	DeadLetter  string        // dead-letter file ("": <SpoolDir>/dead-letter.jsonl, or none)

	// Cap on the spool, bytes (0: 1 GiB); reaching it is like a full disk:
	// alerts wait in memory, then pushes wait (docs/sinks.md "Backpressure").
	SpoolMaxBytes int64

	Deliver func(Delivery) error // required
	Flush   func()               // optional: make what was delivered durable (called by Drain)
	Close   func()               // optional: the last call, when the engine is closed
}

type sinkState struct {
	fn    func(Delivery) error
	flush func()
	close func()
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks a Deliver error as permanent: the alert can never be
// delivered and goes to the dead-letter file at once.
func Permanent(err error) error { return &permanentError{err} }

type retryAfterError struct {
	after time.Duration
	err   error
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter marks a Deliver error as retryable no sooner than after d (or
// the backoff, whichever is longer).
func RetryAfter(d time.Duration, err error) error { return &retryAfterError{d, err} }

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// cstrings is a set of C strings freed together.
type cstrings []unsafe.Pointer

func (c *cstrings) add(s string) *C.char {
	if s == "" {
		return nil
	}
	p := C.CString(s)
	*c = append(*c, unsafe.Pointer(p))
	return p
}

func (c cstrings) free() {
	for _, p := range c {
		C.free(p)
	}
}

// AddSink adds a sink written in Go (see Sink). The engine starts its
// delivery thread on the first sink.
func (e *Engine) AddSink(s Sink) error {
	if s.Deliver == nil {
		return &Error{Op: "add sink", Status: ErrInvalidArg, Detail: "Sink.Deliver is nil"}
	}
	k, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.Unlock()

	var o C.secdet_sink_opts
	C.secdet_sink_opts_init(&o)
	var cs cstrings
	defer cs.free()
	o.name = cs.add(s.Name)
	o.min_severity = C.secdet_severity(s.MinSeverity)
	if len(s.Tags) > 0 {
		arr := (**C.char)(C.calloc(C.size_t(len(s.Tags)), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
		if arr == nil {
			return &Error{Op: "add sink", Status: ErrNoMem}
		}
		cs = append(cs, unsafe.Pointer(arr))
		tags := unsafe.Slice(arr, len(s.Tags))
		for i, t := range s.Tags {
			tags[i] = C.CString(t)
			cs = append(cs, unsafe.Pointer(tags[i]))
		}
		o.tags = arr
		o.ntags = C.size_t(len(s.Tags))
	}
	if s.QueueMax > 0 {
		o.queue_max = C.uint32_t(s.QueueMax)
	}
	o.spool_dir = cs.add(s.SpoolDir)
	if s.SpoolMaxBytes > 0 {
		o.spool_max_bytes = C.uint64_t(s.SpoolMaxBytes)
	}
	switch {
	case s.MaxAttempts < 0:
		o.max_attempts = 0
	case s.MaxAttempts > 0:
		o.max_attempts = C.uint32_t(s.MaxAttempts)
	}
	if s.Backoff > 0 {
		o.backoff_ms = C.uint32_t(s.Backoff.Milliseconds())
	}
	if s.BackoffMax > 0 {
		o.backoff_max_ms = C.uint32_t(s.BackoffMax.Milliseconds())
	}
	o.dead_letter = cs.add(s.DeadLetter)
	o.max_in_flight = 1 // Deliver is synchronous

	h := cgo.NewHandle(&sinkState{fn: s.Deliver, flush: s.Flush, close: s.Close})
	var sink *C.secdet_sink
	if st := C.gosecdet_sink_new(C.uintptr_t(h), &o, &sink); st != C.SECDET_OK {
		h.Delete() // not closed on failure: the handle is still ours
		return &Error{Op: "add sink", Status: Status(st), Detail: s.Name}
	}
	// From here the engine owns the sink, also on failure: its close
	// deletes the handle.
	if st := C.secdet_sink_add(k.c, sink); st != C.SECDET_OK {
		return &Error{Op: "add sink", Status: Status(st), Detail: s.Name}
	}
	k.sinks++
	return nil
}

// AddSinkJSON adds a built-in sink (stdout, file, webhook, slack, syslog)
// from one JSON object, the same as in `secdet run`'s "sinks" (keys in
// docs/sinks.md), e.g.
//
//	{"type": "file", "path": "/var/log/alerts.jsonl", "max_bytes": 104857600}
//
// A wrong key is an error wrapping ErrInvalidArg naming it (secrets are
// never quoted).
func (e *Engine) AddSinkJSON(config string) error {
	k, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	var sink *C.secdet_sink
	var diag *C.secdet_diagnostics
	st := C.secdet_sink_from_json((*C.char)(unsafe.Pointer(unsafe.StringData(config))), C.size_t(len(config)), &sink, &diag)
	ds := diagnostics(diag)
	C.secdet_diagnostics_free(diag)
	if st != C.SECDET_OK {
		er := &Error{Op: "add sink", Status: Status(st)}
		if len(ds) > 0 {
			er.Detail = ds[0].Message
		}
		return er
	}
	if st := C.secdet_sink_add(k.c, sink); st != C.SECDET_OK {
		return &Error{Op: "add sink", Status: Status(st)}
	}
	k.sinks++
	return nil
}

// SinkStats are one sink's counters (docs/sinks.md, "Stats").
type SinkStats struct {
	Name         string `json:"name"`
	Accepted     uint64 `json:"accepted"` // passed the filter and queued
	Filtered     uint64 `json:"filtered"` // below MinSeverity or without a wanted tag
	Delivered    uint64 `json:"delivered"`
	Retries      uint64 `json:"retries"`
	DeadLettered uint64 `json:"dead_lettered"`
	Dropped      uint64 `json:"dropped"` // lost: queue full without a spool; out of memory
	Pending      uint64 `json:"pending"` // accepted, not yet delivered or dead-lettered
	SpoolBytes   uint64 `json:"spool_bytes"`
	SpoolCorrupt uint64 `json:"spool_corrupt"`
	InFlight     int    `json:"in_flight"`
	Failing      bool   `json:"failing"`
	LastError    string `json:"last_error"`
}

// SinkStats returns the counters of every sink, in the order they were added.
func (e *Engine) SinkStats() ([]SinkStats, error) {
	k, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	n := int(C.secdet_sink_count(k.c))
	out := make([]SinkStats, 0, n)
	for i := 0; i < n; i++ {
		var s C.secdet_sink_stats
		if st := C.secdet_sink_stats_get(k.c, C.size_t(i), &s); st != C.SECDET_OK {
			return out, statusErr("sink stats", st)
		}
		out = append(out, SinkStats{
			Name:     C.GoString(C.secdet_sink_name(k.c, C.size_t(i))),
			Accepted: uint64(s.accepted), Filtered: uint64(s.filtered), Delivered: uint64(s.delivered),
			Retries: uint64(s.retries), DeadLettered: uint64(s.dead_lettered), Dropped: uint64(s.dropped),
			Pending: uint64(s.pending), SpoolBytes: uint64(s.spool_bytes), SpoolCorrupt: uint64(s.spool_corrupt),
			InFlight: int(s.in_flight), Failing: s.failing != 0,
			LastError: C.GoString(&s.last_error[0]),
		})
	}
	return out, nil
}

func (s SinkStats) String() string {
	return fmt.Sprintf("%s: accepted %d, delivered %d, pending %d, dead-lettered %d, dropped %d",
		s.Name, s.Accepted, s.Delivered, s.Pending, s.DeadLettered, s.Dropped)
}
