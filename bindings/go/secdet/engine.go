package secdet

/*
#cgo pkg-config: secdet
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"runtime/cgo"
	"sync"
	"time"
	"unsafe"
)

// Version is the version of libsecdet linked at run time, e.g. "0.1.0".
func Version() string { return C.GoString(C.secdet_version()) }

// Engine is one libsecdet engine: rules, sources, correlation state, sinks.
//
// An Engine is safe for use by many goroutines: every method takes the
// Engine's lock, so calls on one Engine run one at a time (libsecdet
// requires it), while different Engines run in parallel. Close it when
// done; an Engine that becomes unreachable without Close is freed by the
// garbage collector, without draining its sinks.
type Engine struct {
	mu           sync.Mutex
	k            *core // nil once closed
	cleanup      runtime.Cleanup
	closeTimeout time.Duration
}

// core is what must be freed: the C engine and everything the binding
// allocated for it. It is reachable from the Engine only (not from the
// callback state), so an abandoned Engine can be cleaned up.
type core struct {
	c       *C.secdet_engine
	ctx     *C.gosecdet_ctx // C memory: the callbacks' user pointer
	h       cgo.Handle      // -> st, for the callbacks
	st      *state
	sources map[string]*C.char // names of added sources, in C memory
	sinks   int
}

func (k *core) free() {
	if k.c != nil {
		C.secdet_engine_free(k.c) // joins the delivery thread: no callback runs after this
		k.c = nil
	}
	if k.ctx != nil {
		k.h.Delete()
		C.free(unsafe.Pointer(k.ctx))
		k.ctx = nil
	}
	for name, p := range k.sources {
		C.free(unsafe.Pointer(p))
		delete(k.sources, name)
	}
}

// New creates an Engine. Without options it has libsecdet's default limits
// and delivers alerts only as the return values of Push and friends.
func New(opts ...Option) (*Engine, error) {
	var cfg config
	C.secdet_engine_opts_init(&cfg.opts)
	cfg.closeTimeout = DefaultCloseTimeout
	for _, o := range opts {
		o(&cfg)
	}
	var ce *C.secdet_engine
	if st := C.secdet_engine_new(&cfg.opts, &ce); st != C.SECDET_OK {
		return nil, statusErr("new engine", st)
	}
	k := &core{c: ce, sources: map[string]*C.char{}}
	k.st = &state{
		onAlert: cfg.onAlert, onRaw: cfg.onRaw, alertCh: cfg.alertCh,
		onMalformed: cfg.onMalformed, onSinkLog: cfg.onSinkLog, onWarning: cfg.onWarning,
	}
	k.h = cgo.NewHandle(k.st)
	k.ctx = (*C.gosecdet_ctx)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gosecdet_ctx{}))))
	if k.ctx == nil {
		k.h.Delete()
		C.secdet_engine_free(ce)
		return nil, &Error{Op: "new engine", Status: ErrNoMem}
	}
	k.ctx.handle = C.uintptr_t(k.h)
	st := C.gosecdet_attach(ce, k.ctx)
	if st == C.SECDET_OK && cfg.onSinkLog != nil {
		st = C.gosecdet_set_sink_log(ce, k.ctx)
	}
	if st != C.SECDET_OK {
		k.free()
		return nil, statusErr("new engine", st)
	}
	e := &Engine{k: k, closeTimeout: cfg.closeTimeout}
	e.cleanup = runtime.AddCleanup(e, func(k *core) { k.free() }, k)
	return e, nil
}

// lock takes the Engine's lock; on success the caller must unlock e.mu.
func (e *Engine) lock() (*core, error) {
	e.mu.Lock()
	if e.k == nil {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	return e.k, nil
}

// Close drains the sinks (up to the close timeout, see WithCloseTimeout),
// then frees the engine. It waits for any call in progress on another
// goroutine to finish first; calls that come after it get ErrClosed.
// Alerts of the synchronous handlers are never in flight at that point (they
// are delivered within the calls). Close is idempotent: a second call
// returns nil.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := e.k
	if k == nil {
		return nil
	}
	e.k = nil
	e.cleanup.Stop()
	var err error
	if k.sinks > 0 && e.closeTimeout != 0 {
		if st := C.secdet_drain(k.c, durationMs(e.closeTimeout)); st != C.SECDET_OK {
			err = &Error{Op: "close", Status: Status(st), Detail: "undelivered alerts remain (in the spools of the sinks that have one)"}
		}
	}
	k.free()
	return err
}

func durationMs(d time.Duration) C.int64_t {
	if d < 0 {
		return -1
	}
	return C.int64_t(d.Milliseconds())
}

// cstr returns the C name of an added source (cached), or a fresh copy the
// caller must free (tmp == true).
func (k *core) cstr(name string) (p *C.char, tmp bool) {
	if p, ok := k.sources[name]; ok {
		return p, false
	}
	return C.CString(name), true
}

// AddSource adds a source: its name is what a rule's `on` clause names;
// format is "jsonl", "cloudtrail", "cloudwatch-logs", "eventbridge" or
// "auto" ("" means "auto"). Options: TimeField.
func (e *Engine) AddSource(name, format string, opts ...SourceOption) error {
	var so sourceOpts
	for _, o := range opts {
		o(&so)
	}
	k, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	if _, ok := k.sources[name]; ok {
		return &Error{Op: "add source", Status: ErrExists, Detail: name}
	}
	cname := C.CString(name)
	var cfmt, ctime, ctype *C.char
	if format != "" {
		cfmt = C.CString(format)
		defer C.free(unsafe.Pointer(cfmt))
	}
	if so.timeField != "" {
		ctime = C.CString(so.timeField)
		defer C.free(unsafe.Pointer(ctime))
	}
	if so.logType != "" {
		ctype = C.CString(so.logType)
		defer C.free(unsafe.Pointer(ctype))
	}
	if st := C.gosecdet_source_add(k.c, cname, cfmt, ctime, ctype); st != C.SECDET_OK {
		C.free(unsafe.Pointer(cname))
		er := &Error{Op: "add source", Status: Status(st), Detail: name}
		if st == C.SECDET_ERR_INVALID_ARG && so.logType != "" {
			er.Detail = "unknown format " + format + " or log type " + so.logType
		} else if st == C.SECDET_ERR_INVALID_ARG && format != "" {
			er.Detail = "unknown format " + format
		}
		return er
	}
	k.sources[name] = cname
	return nil
}

// A SourceOption configures a source in AddSource.
type SourceOption func(*sourceOpts)

type sourceOpts struct{ timeField, logType string }

// TimeField names the field holding the event time (RFC 3339, zone-less
// UTC, or epoch seconds / milliseconds), e.g. ".eventTime". The default is
// the log type's, else the format's (docs/api.md).
func TimeField(path string) SourceOption { return func(o *sourceOpts) { o.timeField = path } }

// LogType gives the source a log type (docs/log-types.md): a built-in
// ("cloudtrail", "okta", "gcp-audit", ...), one defined with DefineLogType,
// or "auto" to give each event to the source of its log type by its shape.
// The default is the log type of the source's name, else jsonl.
func LogType(name string) SourceOption { return func(o *sourceOpts) { o.logType = name } }

// Push hands raw bytes to a source: decoded by the source's format, every
// event evaluated. It returns the alerts that fired during the call (they
// also go to the handlers given to New). JSON lines may be split anywhere
// across pushes, and so may CloudTrail log files (each record is evaluated
// as soon as it is complete); CloudWatch Logs payloads and EventBridge
// events are evaluated as each document completes — EndSource ends the
// stream (or use PushDocument). gzip input is inflated. Malformed events are skipped and
// reported with a *DecodeError, returned together with the alerts of
// everything else.
//
// ctx is checked before the call; one Push is not interrupted (use Scan to
// feed large inputs in cancellable chunks). When a sink cannot take more
// alerts (its spool cannot write and its memory queue is full:
// docs/sinks.md "Backpressure"), Push, PushDocument, PushEvent and Scan
// wait for it, without holding the Engine's lock, and go on with the same
// input; when ctx is done first they return an error wrapping ErrBusy,
// having consumed nothing.
func (e *Engine) Push(ctx context.Context, source string, data []byte) ([]Alert, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return e.pushing(ctx, "push", source, func(k *core, cs *C.char) C.secdet_status {
		return C.secdet_push(k.c, cs, unsafe.Pointer(unsafe.SliceData(data)), C.size_t(len(data)))
	})
}

// busyWait is how long a push waits between tries while a sink cannot take
// more alerts.
const busyWait = 50 * time.Millisecond

// pushing runs call (a push to source) under the Engine's lock, its alerts
// collected as run does, and again after busyWait, the lock released
// meanwhile, while a sink cannot take more alerts (busyAgain).
func (e *Engine) pushing(ctx context.Context, op, source string, call func(k *core, cs *C.char) C.secdet_status) ([]Alert, error) {
	for {
		alerts, err := e.pushOnce(op, source, call)
		if !busyAgain(ctx, err) {
			return alerts, err
		}
	}
}

func (e *Engine) pushOnce(op, source string, call func(k *core, cs *C.char) C.secdet_status) ([]Alert, error) {
	k, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	cs, tmp := k.cstr(source)
	if tmp {
		defer C.free(unsafe.Pointer(cs))
	}
	return k.run(op, true, func() C.secdet_status { return call(k, cs) })
}

// busyAgain says whether to push again after err: err is a sink that could
// not take more alerts (SECDET_ERR_BUSY: nothing was consumed), and busyWait
// passed before ctx was done. Pushes wait for the sinks; they never drop.
func busyAgain(ctx context.Context, err error) bool {
	if !errors.Is(err, ErrBusy) {
		return false
	}
	t := time.NewTimer(busyWait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// PushDocument pushes one complete unit of the source's format (a CloudTrail
// log file, an EventBridge event, a CloudWatch Logs payload, JSON lines) and
// ends the stream, under one hold of the lock, so that documents pushed by
// concurrent goroutines never mix. It is Push followed by EndSource.
func (e *Engine) PushDocument(ctx context.Context, source string, data []byte) ([]Alert, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return e.pushing(ctx, "push", source, func(k *core, cs *C.char) C.secdet_status {
		st := C.secdet_push(k.c, cs, unsafe.Pointer(unsafe.SliceData(data)), C.size_t(len(data)))
		if st != C.SECDET_OK && st != C.SECDET_ERR_DECODE {
			return st
		}
		if st2 := C.secdet_source_end(k.c, cs); st2 != C.SECDET_OK {
			return st2
		}
		return st
	})
}

// PushEvent evaluates one JSON object as one event of source (which need
// not have been added; its time field is then ".eventTime").
func (e *Engine) PushEvent(ctx context.Context, source string, event []byte) ([]Alert, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return e.pushing(ctx, "push event", source, func(k *core, cs *C.char) C.secdet_status {
		return C.secdet_push_event(k.c, cs, (*C.char)(unsafe.Pointer(unsafe.SliceData(event))), C.size_t(len(event)))
	})
}

// EndSource ends the source's current stream: decodes what was buffered
// (a CloudTrail document, a trailing partial JSON line) and returns the
// alerts. The source can be pushed to again (a new stream).
func (e *Engine) EndSource(source string) ([]Alert, error) {
	k, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	cs, tmp := k.cstr(source)
	if tmp {
		defer C.free(unsafe.Pointer(cs))
	}
	return k.run("end source", true, func() C.secdet_status { return C.secdet_source_end(k.c, cs) })
}

// Flush marks the end of input for aggregation rules (count, distinct,
// sequence): every event held for ordering is applied and the alerts then
// due are returned. Correlation state is kept; from now on an event older
// than the newest seen counts as late.
func (e *Engine) Flush() ([]Alert, error) {
	k, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	return k.run("flush", true, func() C.secdet_status { return C.secdet_flush(k.c) })
}

// run makes one alert-producing C call with the callbacks wired to the
// caller: collect says whether alerts are returned. The caller holds the lock.
func (k *core) run(op string, collect bool, call func() C.secdet_status) ([]Alert, error) {
	s := k.st
	s.collect = collect
	k.ctx.deliver = 0
	if collect || s.wantsAlerts() {
		k.ctx.deliver = 1
	}
	st := call()
	k.ctx.deliver = 0
	r := s.take()
	if r.panicked {
		panic(r.panicVal) // the caller's deferred Unlock runs
	}
	if r.err != nil {
		return r.alerts, r.err
	}
	if st == C.SECDET_ERR_DECODE {
		return r.alerts, &DecodeError{Op: op, Count: r.nMalformed, Reports: r.malformed}
	}
	return r.alerts, statusErr(op, st)
}

// Drain waits until every alert handed to the sinks so far is delivered or
// dead-lettered (with a spool as without), then flushes every sink. A negative timeout means no limit. It returns an error
// wrapping ErrTimeout when time ran out first; nothing is lost either way.
// Drain holds the Engine's lock while it waits.
func (e *Engine) Drain(timeout time.Duration) error {
	k, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	if k.sinks == 0 {
		return nil
	}
	return statusErr("drain", C.secdet_drain(k.c, durationMs(timeout)))
}

// Snapshot writes the engine's correlation state (held events, windows,
// partial sequences, throttles) to path, atomically.
func (e *Engine) Snapshot(path string) error {
	k, err := e.lock()
	if err != nil {
		return err
	}
	defer e.mu.Unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return statusErr("snapshot", C.secdet_snapshot_save(k.c, cp))
}

// Restore replaces the correlation state with the one saved at path by
// Snapshot. Load the rules first: a rule's state is restored only when a
// rule of the same name and compiled form is loaded; the others are dropped
// and each is named by a warning in the returned diagnostics. A damaged or
// foreign file is refused (an error wrapping ErrDecode; the engine is
// unchanged).
func (e *Engine) Restore(path string) ([]Diagnostic, error) {
	k, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer e.mu.Unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var diag *C.secdet_diagnostics
	st := C.secdet_snapshot_load(k.c, cp, &diag)
	ds := diagnostics(diag)
	C.secdet_diagnostics_free(diag)
	if st != C.SECDET_OK {
		er := &Error{Op: "restore", Status: Status(st)}
		for _, d := range ds {
			if d.Severity == DiagError {
				er.Detail = d.Message
				break
			}
		}
		return ds, er
	}
	k.st.warn(ds)
	return ds, nil
}
