package secdet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

func Example() {
	e, err := secdet.New()
	if err != nil {
		panic(err)
	}
	defer e.Close()
	err = e.LoadRules("root.secdet", `
rule root_login {
    meta { title = "Root console sign-in"  severity = critical }
    on cloudtrail
    where .eventName == "ConsoleLogin" and .userIdentity.type == "Root"
    output "root signed in from {.sourceIPAddress}"
}`)
	if err != nil {
		panic(err)
	}
	if err := e.AddSource("cloudtrail", "cloudtrail"); err != nil {
		panic(err)
	}
	logFile := []byte(`{"Records": [
	  {"eventName": "ConsoleLogin", "eventTime": "2024-03-14T15:02:10Z",
	   "userIdentity": {"type": "Root"}, "sourceIPAddress": "203.0.113.77"},
	  {"eventName": "ListBuckets", "eventTime": "2024-03-14T15:03:00Z",
	   "userIdentity": {"type": "IAMUser"}}]}`)
	alerts, err := e.PushDocument(context.Background(), "cloudtrail", logFile)
	if err != nil {
		panic(err)
	}
	for _, a := range alerts {
		fmt.Println(a.Severity, a.Rule, a.Time.Format(time.RFC3339), a.Message)
	}
	// Output: critical root_login 2024-03-14T15:02:10Z root signed in from 203.0.113.77
}

func ExampleRuleError() {
	e, _ := secdet.New()
	defer e.Close()
	err := e.LoadRules("bad.secdet", "rule r {\n    where .eventName ==\n}\n")
	var re *secdet.RuleError
	if errors.As(err, &re) {
		fmt.Println(re.File, re.Line, re.Column > 0, errors.Is(err, secdet.ErrRules))
	}
	// Output: bad.secdet 3 true true
}

func ExampleEngine_AddSink() {
	e, _ := secdet.New()
	e.LoadRules("r.secdet", `rule denied { meta { severity = low } where .errorCode == "AccessDenied" }`)
	e.AddSource("app", "jsonl")
	// Delivered on the engine's delivery thread, with retries.
	e.AddSink(secdet.Sink{
		Name: "printer",
		Deliver: func(d secdet.Delivery) error {
			a, err := d.Alert()
			if err != nil {
				return secdet.Permanent(err)
			}
			fmt.Println("delivered", a.Rule, "attempt", d.Attempt)
			return nil
		},
	})
	e.Push(context.Background(), "app", []byte(`{"errorCode":"AccessDenied"}`+"\n"))
	e.Close() // drains: the alert is delivered before Close returns
	// Output: delivered denied attempt 1
}

func ExampleEngine_Scan() {
	var n int
	e, _ := secdet.New(secdet.WithRawAlertHandler(func(json []byte) { n++ }))
	defer e.Close()
	e.LoadRules("r.secdet", `rule any_delete { where .eventName startswith "Delete" }`)
	e.AddSource("trail", "jsonl")
	input := strings.Repeat(`{"eventName":"DeleteTrail"}`+"\n"+`{"eventName":"GetObject"}`+"\n", 1000)
	res, err := e.Scan(context.Background(), "trail", strings.NewReader(input))
	fmt.Println(res.Events, res.Alerts, n, err)
	// Output: 2000 1000 1000 <nil>
}
