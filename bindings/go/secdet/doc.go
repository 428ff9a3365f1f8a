// Package secdet is the Go binding of libsecdet, an embeddable security
// detection engine: it reads security events (AWS CloudTrail, CloudWatch
// Logs subscriptions, EventBridge events, JSON lines), evaluates rules
// written in the secdet rule language, and produces alerts.
//
//	e, err := secdet.New()
//	if err != nil { ... }
//	defer e.Close()
//	if err := e.LoadRulesFile("rules/aws/cis.secdet"); err != nil {
//	    var re *secdet.RuleError
//	    if errors.As(err, &re) { log.Fatalf("%s:%d:%d: %s", re.File, re.Line, re.Column, re.Message) }
//	    log.Fatal(err)
//	}
//	e.AddSource("cloudtrail", "cloudtrail")
//	alerts, err := e.PushDocument(ctx, "cloudtrail", logFile) // one CloudTrail log file
//	for _, a := range alerts { fmt.Println(a.Severity, a.Title, a.Message) }
//
// # Getting alerts
//
// Alerts arrive in up to three ways, which can be combined:
//
//   - as the return value of Push, PushDocument, PushEvent, EndSource and
//     Flush: the alerts that fired during that call;
//   - synchronously, during those calls and Scan, to a handler
//     (WithAlertHandler, WithRawAlertHandler) or a channel
//     (WithAlertChannel), on the calling goroutine, before the call returns.
//     A full channel blocks the call: that is the backpressure;
//   - asynchronously through sinks (AddSinkJSON for the built-in stdout,
//     file, webhook, Slack and syslog sinks; AddSink for a Sink written in
//     Go), on the engine's delivery thread, at least once, with retries and
//     an optional on-disk spool. Drain waits for them; Close drains them
//     (WithCloseTimeout) before freeing the engine, so nothing in flight is
//     lost.
//
// # Concurrency
//
// An Engine may be used from many goroutines: its methods serialize on a
// mutex, because one libsecdet engine must be used by one thread at a time.
// Separate Engines are independent and run in parallel. No goroutine is
// locked to an OS thread: libsecdet does not care which thread calls it.
// Handlers and sink functions must not call back into the Engine.
//
// # Linking
//
// The package links the installed libsecdet through pkg-config (secdet.pc);
// see docs/go.md for PKG_CONFIG_PATH and the run-time library path.
//
// No Go pointer is kept by C: callbacks reach Go through runtime/cgo.Handle
// values and C-allocated context, and buffers are passed only for the
// duration of a call.
package secdet
