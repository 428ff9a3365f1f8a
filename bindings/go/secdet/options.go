package secdet

/*
#include <secdet.h>
*/
import "C"

import "time"

// config is what the Options of New fill in.
type config struct {
	opts         C.secdet_engine_opts
	onAlert      func(Alert)
	onRaw        func([]byte)
	alertCh      chan<- Alert
	onMalformed  func(Malformed)
	onSinkLog    func(sink, message string)
	onWarning    func(Diagnostic)
	closeTimeout time.Duration
}

// DefaultCloseTimeout is how long Close waits, by default, for the sinks to
// deliver what they hold (see WithCloseTimeout).
const DefaultCloseTimeout = 30 * time.Second

// An Option configures an Engine in New.
type Option func(*config)

// WithVMBudget sets the VM instructions one event may execute across all
// rules (default 100000; 0 = unlimited). Past it the remaining rules count
// as not matching and Stats().BudgetExceeded grows.
func WithVMBudget(n uint64) Option { return func(c *config) { c.opts.vm_budget = C.uint64_t(n) } }

// WithRegexMatchLimit sets the PCRE2 match limit per regex test (default 100000).
func WithRegexMatchLimit(n uint32) Option {
	return func(c *config) { c.opts.regex_match_limit = C.uint32_t(n) }
}

// WithMaxJSONDepth sets the largest nesting depth of an event's JSON (default 64).
func WithMaxJSONDepth(n uint32) Option {
	return func(c *config) { c.opts.max_json_depth = C.uint32_t(n) }
}

// WithMaxEventBytes sets the largest size of one event (default 1 MiB).
func WithMaxEventBytes(n int) Option { return func(c *config) { c.opts.max_event_bytes = C.size_t(n) } }

// WithMaxRuleFileBytes sets the largest rule source (default 16 MiB).
func WithMaxRuleFileBytes(n int) Option {
	return func(c *config) { c.opts.max_rule_file_bytes = C.size_t(n) }
}

// WithMaxSamples sets how many sample events an aggregation alert carries (default 5).
func WithMaxSamples(n uint32) Option { return func(c *config) { c.opts.max_samples = C.uint32_t(n) } }

// WithLateness sets the allowed lateness of out-of-order events for
// aggregation rules (default 15 minutes). Matching events are held this
// long in event time before they are applied; Flush releases them.
func WithLateness(d time.Duration) Option {
	return func(c *config) { c.opts.lateness_ms = C.int64_t(d.Milliseconds()) }
}

// WithMaxStateBytes caps correlation state (default 256 MiB).
func WithMaxStateBytes(n uint64) Option {
	return func(c *config) { c.opts.max_state_bytes = C.uint64_t(n) }
}

// WithMaxMessageBytes sets the largest rendered alert message (default 64 KiB).
func WithMaxMessageBytes(n int) Option {
	return func(c *config) { c.opts.max_message_bytes = C.size_t(n) }
}

// WithAlertHandler calls fn for every alert, synchronously, on the goroutine
// that called Push, PushEvent, PushDocument, EndSource, Flush or Scan, before
// that call returns, while the Engine's lock is held: fn must not call the
// Engine's methods. A panic in fn is re-raised in the calling goroutine once
// libsecdet has returned (the Engine stays usable).
func WithAlertHandler(fn func(Alert)) Option { return func(c *config) { c.onAlert = fn } }

// WithRawAlertHandler is WithAlertHandler for the alert's JSON, unparsed;
// the slice is only valid during the call. It is the cheapest way to
// forward alerts in bulk (Scan runs at the C rate with it).
func WithRawAlertHandler(fn func(json []byte)) Option { return func(c *config) { c.onRaw = fn } }

// WithAlertChannel sends every alert to ch, like WithAlertHandler (same
// calls, same goroutine). The send blocks: a full channel holds up the push
// (backpressure) and, with it, every other caller of the Engine, so give
// ch a buffer and a consumer that does not call the Engine. The Engine
// never closes ch; close it yourself after Close if you range over it.
func WithAlertChannel(ch chan<- Alert) Option { return func(c *config) { c.alertCh = ch } }

// WithMalformedHandler calls fn for every piece of input that could not be
// decoded (it is also counted in Stats and summed up in a DecodeError).
// Same goroutine and rules as WithAlertHandler.
func WithMalformedHandler(fn func(Malformed)) Option { return func(c *config) { c.onMalformed = fn } }

// WithSinkLog calls fn with a line about delivery (a failure and its retry,
// a dead letter, a spool replayed). It runs on the engine's delivery thread,
// concurrently with everything else: fn must be safe for that, and must not
// call the Engine's methods.
func WithSinkLog(fn func(sink, message string)) Option { return func(c *config) { c.onSinkLog = fn } }

// WithWarningHandler calls fn for every warning of a successful rule load
// (an unused macro, say) and of Restore.
func WithWarningHandler(fn func(Diagnostic)) Option { return func(c *config) { c.onWarning = fn } }

// WithCloseTimeout sets how long Close waits for the sinks to deliver every
// alert they hold before it frees the engine (default DefaultCloseTimeout;
// negative: no limit; 0: do not wait). What is still undelivered then is
// lost unless its sink has a spool (it waits there for the next start), and
// Close reports it with an error wrapping ErrTimeout.
func WithCloseTimeout(d time.Duration) Option { return func(c *config) { c.closeTimeout = d } }
