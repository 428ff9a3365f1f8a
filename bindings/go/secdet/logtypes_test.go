package secdet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

// A defined log type routes "auto" events, gives their time and common
// fields; an override of a built-in shows in LogTypeJSON; errors say why.
func TestLogTypesDefineRouteInspect(t *testing.T) {
	e, err := secdet.New()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.DefineLogType(secdet.LogTypeDef{Name: "idp",
		Detect: []secdet.LogTypeShape{{Exists: []string{".evt", ".ts"}}},
		Fields: map[string][]string{"time": {".ts"}, "user": {".who"}, "action": {".evt"}}})
	if err != nil {
		t.Fatal(err)
	}
	names, _ := e.LogTypes()
	if names[0] != "cloudtrail" || !strings.Contains(strings.Join(names, " "), "idp") {
		t.Fatalf("LogTypes() = %v", names)
	}
	if err := e.AddSource("any", "", secdet.LogType("auto")); err != nil {
		t.Fatal(err)
	}
	ev := []byte(`{"evt": "grant", "ts": 1714521600000, "who": "eve"}`)
	info, err := e.Inspect("any", ev)
	if err != nil || info.Source != "idp" || info.LogType != "idp" || !info.HasTime ||
		!info.Time.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("Inspect = %+v, %v", info, err)
	}
	if err := e.LoadRules("r.secdet", `rule g { on idp where @user == "eve" }`); err != nil {
		t.Fatal(err)
	}
	alerts, err := e.Push(context.Background(), "any", append(ev, '\n'))
	if err != nil || len(alerts) != 1 || alerts[0].Source != "idp" || alerts[0].Fields["user"] != "eve" {
		t.Fatalf("Push = %v, %v", alerts, err)
	}

	if err := e.DefineLogTypeJSON(`{"name": "okta", "fields": {"user": ".actor.displayName"}}`); err != nil {
		t.Fatal(err)
	}
	text, err := e.LogTypeJSON("okta")
	var okta struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if err != nil || json.Unmarshal([]byte(text), &okta) != nil || string(okta.Fields["user"]) != `".actor.displayName"` ||
		string(okta.Fields["time"]) != `".published"` {
		t.Fatalf("LogTypeJSON(okta) = %s, %v", text, err)
	}

	err = e.DefineLogTypeJSON(`{"name": "idp", "fields": {"ip": "x y"}}`)
	var se *secdet.Error
	if !errors.As(err, &se) || !strings.Contains(se.Detail, `fields.ip: "x y" is not a field path`) {
		t.Fatalf("bad definition: %v", err)
	}
	if err := e.AddSource("s", "", secdet.LogType("octa")); err == nil || !strings.Contains(err.Error(), "octa") {
		t.Fatalf("unknown log type: %v", err)
	}
	if _, err := e.LogTypeJSON("nope"); err == nil {
		t.Fatal("LogTypeJSON(nope) did not fail")
	}
	// The time is read when needed: for the alert of a rule that fired here.
	if err := e.LoadRules("okta.secdet", `rule o { on okta where @action == "x" }`); err != nil {
		t.Fatal(err)
	}
	if err := e.AddSource("okta", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Push(context.Background(), "okta", []byte(`{"eventType": "x", "actor": {}, "published": "yesterday"}`+"\n")); err != nil {
		t.Fatal(err)
	}
	if s, err := e.SourceStats("okta"); err != nil || s.TimeUnreadable != 1 {
		t.Fatalf("SourceStats = %+v, %v", s, err)
	}
}

// An alert says its event's log type, and a sink takes only the log types
// its "log_types" names.
func TestAlertLogTypeAndRoutingByIt(t *testing.T) {
	e, err := secdet.New()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.LoadRules("r.secdet", `rule k { where .k == 1 }`); err != nil {
		t.Fatal(err)
	}
	if err := e.AddSource("idp", "jsonl", secdet.LogType("okta")); err != nil {
		t.Fatal(err)
	}
	if err := e.AddSource("app", "jsonl"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "okta.jsonl")
	if err := e.AddSinkJSON(fmt.Sprintf(`{"type":"file","path":%q,"log_types":["ok*"]}`, path)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	okta, err := e.Push(ctx, "idp", []byte(`{"eventType":"x","actor":{},"published":"2024-05-01T00:00:00Z","k":1}`+"\n"))
	if err != nil || len(okta) != 1 || okta[0].Source != "idp" || okta[0].LogType() != "okta" {
		t.Fatalf("Push idp = %+v, %v", okta, err)
	}
	plain, err := e.Push(ctx, "app", []byte(`{"k":1}`+"\n"))
	if err != nil || len(plain) != 1 || plain[0].LogType() != "jsonl" {
		t.Fatalf("Push app = %+v, %v", plain, err)
	}
	if err := e.Drain(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := secdet.ParseAlert(bytes.TrimSpace(data))
	if err != nil || got.ID != okta[0].ID || got.LogType() != "okta" {
		t.Fatalf("the sink has %q (%v), want only the okta alert", data, err)
	}
}
