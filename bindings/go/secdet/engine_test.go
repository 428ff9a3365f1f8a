package secdet_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

func TestVersion(t *testing.T) {
	if v := secdet.Version(); !strings.HasPrefix(v, "0.") {
		t.Fatalf("Version() = %q", v)
	}
}

func TestRuleErrorHasFileLineColumn(t *testing.T) {
	e, err := secdet.New()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.LoadRules("good.secdet", `rule a { where .eventName == "X" }`); err != nil {
		t.Fatalf("good rules: %v", err)
	}
	bad := "rule b {\n    meta { severity = high }\n    where .eventName == \"Y\" and\n}\n"
	err = e.LoadRules("bad.secdet", bad)
	var re *secdet.RuleError
	if !errors.As(err, &re) {
		t.Fatalf("want a *RuleError, got %T %v", err, err)
	}
	if re.File != "bad.secdet" || re.Line < 3 || re.Column < 1 || re.Message == "" {
		t.Fatalf("RuleError = %+v", re)
	}
	if !errors.Is(err, secdet.ErrRules) {
		t.Fatalf("errors.Is(err, ErrRules) is false for %v", err)
	}
	if !strings.HasPrefix(err.Error(), "bad.secdet:") {
		t.Fatalf("Error() = %q", err.Error())
	}
	if len(re.Diagnostics) == 0 || re.Diagnostics[0].Line != re.Line {
		t.Fatalf("Diagnostics = %+v", re.Diagnostics)
	}
	// All or nothing: rule a still loaded, b not.
	rules, err := e.Rules()
	if err != nil || len(rules) != 1 || rules[0].Name != "a" {
		t.Fatalf("Rules() = %+v, %v", rules, err)
	}

	// Two errors: both reported.
	err = e.LoadRules("two.secdet", "rule c { where .a == }\nrule d { where == 1 }\n")
	if !errors.As(err, &re) {
		t.Fatalf("want a *RuleError, got %v", err)
	}
	n := 0
	for _, d := range re.Diagnostics {
		if d.Severity == secdet.DiagError {
			n++
		}
	}
	if n < 2 {
		t.Fatalf("want 2 or more errors, got %+v", re.Diagnostics)
	}

	// From a file: the file name is the path; a missing file is ErrIO.
	path := filepath.Join(t.TempDir(), "f.secdet")
	if err := os.WriteFile(path, []byte("rule e {\n  where .x ==== 1\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = e.LoadRulesFile(path)
	if !errors.As(err, &re) || re.File != path || re.Line != 2 {
		t.Fatalf("LoadRulesFile: %v (%+v)", err, re)
	}
	err = e.LoadRulesFile(filepath.Join(t.TempDir(), "missing.secdet"))
	if !errors.Is(err, secdet.ErrIO) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestWarningsGoToTheHandler(t *testing.T) {
	var warnings []secdet.Diagnostic
	e, err := secdet.New(secdet.WithWarningHandler(func(d secdet.Diagnostic) { warnings = append(warnings, d) }))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	src := "macro unused = .a == 1\nrule r { where .b == 2 }\n"
	if err := e.LoadRules("w.secdet", src); err != nil {
		t.Fatalf("LoadRules: %v", err)
	}
	if len(warnings) == 0 || warnings[0].Severity != secdet.DiagWarning || warnings[0].Line != 1 {
		t.Fatalf("warnings = %+v", warnings)
	}
}

func TestJSONLines(t *testing.T) {
	e := newEngine(t)
	alerts := mustPush(t, e, "jsonl", rootLogin(1)+"\n"+`{"eventName":"GetObject","errorCode":"AccessDenied","eventTime":"2024-03-01T10:00:05Z"}`+"\n")
	if len(alerts) != 2 {
		t.Fatalf("got %d alerts, want 2: %+v", len(alerts), alerts)
	}
	a := alerts[0]
	if a.Rule != "root_login" || a.Title != "Root console sign-in" || a.Severity != secdet.SeverityCritical ||
		a.Source != "jsonl" || a.Message != "root signed in from 198.51.100.1" || a.Count != 1 {
		t.Fatalf("alert = %+v", a)
	}
	if len(a.ID) != 32 || len(a.Events) != 1 || !a.Time.Equal(time.Date(2024, 3, 1, 10, 0, 1, 0, time.UTC)) {
		t.Fatalf("alert id/events/time = %q %d %v", a.ID, len(a.Events), a.Time)
	}
	if strings.Join(a.Tags, ",") != "aws,attack.initial_access" {
		t.Fatalf("tags = %v", a.Tags)
	}
	var ev map[string]any
	if err := json.Unmarshal(a.Events[0], &ev); err != nil || ev["eventName"] != "ConsoleLogin" {
		t.Fatalf("event = %s (%v)", a.Events[0], err)
	}
	// Raw is the library's JSON, and the struct marshals back to the same fields.
	var raw, back map[string]any
	if err := json.Unmarshal(a.Raw, &raw); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(a)
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rule", "title", "severity", "id", "message", "source", "count"} {
		if raw[k] != back[k] {
			t.Fatalf("%s: raw %v, marshalled %v", k, raw[k], back[k])
		}
	}
	if alerts[1].Rule != "access_denied" || alerts[1].Severity != secdet.SeverityLow {
		t.Fatalf("second alert = %+v", alerts[1])
	}
	// A line split across pushes waits for its end.
	line := rootLogin(2) + "\n"
	if got := mustPush(t, e, "jsonl", line[:20]); len(got) != 0 {
		t.Fatalf("half a line gave %d alerts", len(got))
	}
	if got := mustPush(t, e, "jsonl", line[20:]); len(got) != 1 {
		t.Fatalf("the rest gave %d alerts", len(got))
	}
	// A trailing partial line is decoded by EndSource.
	mustPush(t, e, "jsonl", rootLogin(3))
	if got, err := e.EndSource("jsonl"); err != nil || len(got) != 1 {
		t.Fatalf("EndSource: %d alerts, %v", len(got), err)
	}
}

func TestCloudTrail(t *testing.T) {
	e := newEngine(t)
	doc := `{"Records":[` + rootLogin(1) + `,{"eventName":"ListBuckets","eventTime":"2024-03-01T10:00:02Z"},` + rootLogin(3) + `]}`
	// Each record is evaluated as soon as it is complete, whatever the split:
	// the first half holds the first record whole and the third cut short.
	cut := strings.LastIndex(doc, "eventName")
	if got := mustPush(t, e, "cloudtrail", doc[:cut]); len(got) != 1 || got[0].Source != "cloudtrail" {
		t.Fatalf("first half: %+v", got)
	}
	if got := mustPush(t, e, "cloudtrail", doc[cut:]); len(got) != 1 {
		t.Fatalf("second half: %d alerts", len(got))
	}
	alerts, err := e.EndSource("cloudtrail")
	if err != nil || len(alerts) != 0 {
		t.Fatalf("EndSource: %+v, %v", alerts, err)
	}
	// gzip, in one call.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(doc))
	zw.Close()
	alerts, err = e.PushDocument(bg, "cloudtrail", gz.Bytes())
	if err != nil || len(alerts) != 2 {
		t.Fatalf("PushDocument(gzip): %d alerts, %v", len(alerts), err)
	}
}

func TestCloudWatchLogs(t *testing.T) {
	e := newEngine(t)
	msg := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	payload := `{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"trail","logStream":"s1",` +
		`"subscriptionFilters":["f"],"logEvents":[` +
		`{"id":"1","timestamp":1700000000000,"message":` + msg(`{"eventName":"DeleteTrail"}`) + `},` +
		`{"id":"2","timestamp":1700000001500,"message":` + msg(`{"eventName":"Other"}`) + `}]}`
	// The decoded payload ...
	alerts, err := e.PushDocument(bg, "cloudwatch-logs", []byte(payload))
	if err != nil || len(alerts) != 1 || alerts[0].Rule != "cw_group" {
		t.Fatalf("decoded payload: %+v, %v", alerts, err)
	}
	if !alerts[0].Time.Equal(time.UnixMilli(1700000000000)) {
		t.Fatalf("time = %v (want the log event's timestamp)", alerts[0].Time)
	}
	// ... and the subscription wrapper: {"awslogs":{"data": base64(gzip(payload))}}.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(payload))
	zw.Close()
	wrapped := `{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(gz.Bytes()) + `"}}`
	alerts, err = e.PushDocument(bg, "cloudwatch-logs", []byte(wrapped))
	if err != nil || len(alerts) != 1 || alerts[0].Rule != "cw_group" {
		t.Fatalf("awslogs wrapper: %+v, %v", alerts, err)
	}
	var ev struct {
		CW struct {
			LogGroup string `json:"logGroup"`
			ID       string `json:"id"`
		} `json:"_cloudwatch"`
	}
	if err := json.Unmarshal(alerts[0].Events[0], &ev); err != nil || ev.CW.LogGroup != "trail" || ev.CW.ID != "1" {
		t.Fatalf("_cloudwatch = %+v (%v)", ev, err)
	}
	// A control message yields nothing and is not an error.
	ctl := `{"messageType":"CONTROL_MESSAGE","logGroup":"","logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE"}]}`
	if alerts, err := e.PushDocument(bg, "cloudwatch-logs", []byte(ctl)); err != nil || len(alerts) != 0 {
		t.Fatalf("control message: %+v, %v", alerts, err)
	}
}

// ebEvent is an EventBridge event carrying a CloudTrail record.
const ebEvent = `{"version":"0","id":"e-1","detail-type":"AWS API Call via CloudTrail","source":"aws.iam",` +
	`"account":"123456789012","time":"2024-03-01T10:00:00Z","region":"us-east-1","resources":[],` +
	`"detail":{"eventName":"CreateUser","eventTime":"2024-03-01T09:59:58Z","userIdentity":{"type":"IAMUser"}}}`

func TestEventBridge(t *testing.T) {
	e := newEngine(t)
	alerts, err := e.PushDocument(bg, "eventbridge", []byte(ebEvent))
	if err != nil || len(alerts) != 1 {
		t.Fatalf("PushDocument: %+v, %v", alerts, err)
	}
	a := alerts[0]
	if a.Rule != "eb_account" || a.Severity != secdet.SeverityHigh || !a.Time.Equal(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("alert = %+v", a)
	}
	// Several events one after the other in one stream.
	alerts, err = e.PushDocument(bg, "eventbridge", []byte(ebEvent+"\n"+ebEvent+"\n"))
	if err != nil || len(alerts) != 2 {
		t.Fatalf("two events: %d alerts, %v", len(alerts), err)
	}
	// The event's own time with TimeField.
	e2 := newEngine(t)
	if err := e2.AddSource("eb2", "eventbridge", secdet.TimeField(".eventTime")); err != nil {
		t.Fatal(err)
	}
	alerts, err = e2.PushDocument(bg, "eb2", []byte(ebEvent))
	if err != nil || len(alerts) != 1 || !alerts[0].Time.Equal(time.Date(2024, 3, 1, 9, 59, 58, 0, time.UTC)) {
		t.Fatalf("TimeField: %+v, %v", alerts, err)
	}
}

func TestAutoFormatAndBadFormat(t *testing.T) {
	e := newEngine(t)
	if err := e.AddSource("auto", ""); err != nil {
		t.Fatal(err)
	}
	alerts, err := e.PushDocument(bg, "auto", []byte(`{"plain":1}`+"\n"+ebEvent+"\n"))
	if err != nil || len(alerts) != 1 || alerts[0].Rule != "eb_account" {
		t.Fatalf("auto: %+v, %v", alerts, err)
	}
	if err := e.AddSource("x", "no-such-format"); !errors.Is(err, secdet.ErrInvalidArg) {
		t.Fatalf("unknown format: %v", err)
	}
	if err := e.AddSource("jsonl", "jsonl"); !errors.Is(err, secdet.ErrExists) {
		t.Fatalf("duplicate source: %v", err)
	}
	if _, err := e.Push(bg, "nope", []byte("{}\n")); !errors.Is(err, secdet.ErrUnknownSource) {
		t.Fatalf("unknown source: %v", err)
	}
}

func TestMalformedInputIsReportedAndSkipped(t *testing.T) {
	var seen []secdet.Malformed
	e := newEngine(t, secdet.WithMalformedHandler(func(m secdet.Malformed) { seen = append(seen, m) }))
	alerts, err := e.Push(bg, "jsonl", []byte(rootLogin(1)+"\n{not json\n"+rootLogin(2)+"\n"))
	var de *secdet.DecodeError
	if !errors.As(err, &de) || !errors.Is(err, secdet.ErrDecode) {
		t.Fatalf("want a *DecodeError, got %v", err)
	}
	if len(alerts) != 2 {
		t.Fatalf("the good lines gave %d alerts, want 2", len(alerts))
	}
	if de.Count != 1 || len(de.Reports) != 1 || de.Reports[0].Where != 2 || de.Reports[0].Source != "jsonl" {
		t.Fatalf("DecodeError = %+v", de)
	}
	if len(seen) != 1 || seen[0] != de.Reports[0] {
		t.Fatalf("handler saw %+v", seen)
	}
	st, _ := e.Stats()
	if st.Malformed != 1 || st.Events != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestAggregationCountRule(t *testing.T) {
	e := newEngine(t, secdet.WithLateness(time.Minute))
	fail := func(sec int, ip string) string {
		return `{"eventName":"ConsoleLogin","errorMessage":"Failed authentication","eventTime":"2024-03-01T10:00:` +
			twoDigits(sec) + `Z","sourceIPAddress":"` + ip + `","userIdentity":{"type":"IAMUser"}}` + "\n"
	}
	var in string
	for i := 0; i < 3; i++ {
		in += fail(i*10, "203.0.113.9")
	}
	in += fail(35, "203.0.113.10") // another group: one event only
	var got []secdet.Alert
	got = append(got, mustPush(t, e, "jsonl", in)...)
	flushed, err := e.Flush()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, flushed...)
	if len(got) != 1 {
		t.Fatalf("got %d alerts, want 1: %+v", len(got), got)
	}
	a := got[0]
	if a.Rule != "failed_logins" || a.Count != 3 || a.Group[".sourceIPAddress"] != "203.0.113.9" ||
		len(a.Events) != 3 || a.Message != "3 failed sign-ins from 203.0.113.9" {
		t.Fatalf("alert = %+v", a)
	}
	if !a.FirstSeen.Equal(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)) || !a.LastSeen.Equal(time.Date(2024, 3, 1, 10, 0, 20, 0, time.UTC)) {
		t.Fatalf("first/last seen = %v %v", a.FirstSeen, a.LastSeen)
	}
	rules, _ := e.Rules()
	for _, r := range rules {
		if r.Name == "failed_logins" && !r.Aggregate {
			t.Fatalf("failed_logins is not an aggregate: %+v", r)
		}
	}
}

func twoDigits(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

func TestSnapshotRestore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.snap")
	fail := `{"eventName":"ConsoleLogin","errorMessage":"Failed authentication","eventTime":"2024-03-01T10:00:0%dZ","sourceIPAddress":"203.0.113.9"}` + "\n"
	e1 := newEngine(t)
	mustPush(t, e1, "jsonl", strings.Replace(fail, "%d", "1", 1)+strings.Replace(fail, "%d", "2", 1))
	if err := e1.Snapshot(path); err != nil {
		t.Fatal(err)
	}
	e1.Close()

	e2 := newEngine(t)
	if warnings, err := e2.Restore(path); err != nil || len(warnings) != 0 {
		t.Fatalf("Restore: %v %v", warnings, err)
	}
	got := mustPush(t, e2, "jsonl", strings.Replace(fail, "%d", "3", 1))
	flushed, _ := e2.Flush()
	got = append(got, flushed...)
	if len(got) != 1 || got[0].Count != 3 {
		t.Fatalf("after restore: %+v", got)
	}
	// Not a snapshot: refused.
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("not a snapshot"), 0o600)
	if _, err := e2.Restore(bad); !errors.Is(err, secdet.ErrDecode) {
		t.Fatalf("bad snapshot: %v", err)
	}
}

func TestHandlersAndChannel(t *testing.T) {
	ch := make(chan secdet.Alert, 10)
	var handled, raw int
	e := newEngine(t,
		secdet.WithAlertChannel(ch),
		secdet.WithAlertHandler(func(secdet.Alert) { handled++ }),
		secdet.WithRawAlertHandler(func(b []byte) {
			if json.Valid(b) {
				raw++
			}
		}))
	alerts := mustPush(t, e, "jsonl", rootLogin(1)+"\n"+rootLogin(2)+"\n")
	if len(alerts) != 2 || handled != 2 || raw != 2 || len(ch) != 2 {
		t.Fatalf("returned %d, handler %d, raw %d, channel %d", len(alerts), handled, raw, len(ch))
	}
	if a := <-ch; a.ID != alerts[0].ID {
		t.Fatalf("channel alert %s, returned %s", a.ID, alerts[0].ID)
	}
}

func TestHandlerPanicReachesTheCaller(t *testing.T) {
	e := newEngine(t, secdet.WithAlertHandler(func(a secdet.Alert) { panic("boom: " + a.Rule) }))
	func() {
		defer func() {
			if v := recover(); v != "boom: root_login" {
				t.Fatalf("recovered %v", v)
			}
		}()
		e.Push(bg, "jsonl", []byte(rootLogin(1)+"\n"))
		t.Fatal("Push did not panic")
	}()
	// The engine is still usable (its lock was released).
	if _, err := e.Stats(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseIsIdempotentAndLaterCallsFail(t *testing.T) {
	e := newEngine(t)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := e.Push(bg, "jsonl", []byte("{}\n")); !errors.Is(err, secdet.ErrClosed) {
		t.Fatalf("Push after Close: %v", err)
	}
	if _, err := e.Stats(); !errors.Is(err, secdet.ErrClosed) {
		t.Fatalf("Stats after Close: %v", err)
	}
	if err := e.LoadRules("x", "rule x { where .a == 1 }"); !errors.Is(err, secdet.ErrClosed) {
		t.Fatalf("LoadRules after Close: %v", err)
	}
}

func TestCancelledContextIsNotPushed(t *testing.T) {
	e := newEngine(t)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := e.Push(ctx, "jsonl", []byte(rootLogin(1)+"\n")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Push with a cancelled context: %v", err)
	}
	if st, _ := e.Stats(); st.Events != 0 {
		t.Fatalf("events = %d", st.Events)
	}
}
