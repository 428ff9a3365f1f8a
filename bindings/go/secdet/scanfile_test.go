package secdet_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

// scanFileRules: stateless, a count, a sequence across Okta and CloudTrail
// events (routed by shape) and a throttle.
const scanFileRules = `
rule console_login {
    meta { severity = low }
    on cloudtrail
    where .eventName == "ConsoleLogin"
    output "login by {.userIdentity.arn}"
}
rule denied_burst {
    meta { severity = medium }
    on cloudtrail
    where .errorCode == "AccessDenied"
    count >= 3 within 10m by .userIdentity.arn
    output "{count} denied by {group}"
}
rule okta_then_console {
    meta { severity = high }
    on okta, cloudtrail
    sequence within 1h by @ip {
        fails: .eventType == "user.session.start" and .outcome.result == "FAILURE" count >= 2 within 1h;
        console: .eventName == "ConsoleLogin"
    }
    output "{@ip} then console as {.userIdentity.arn}"
}
rule list_users {
    meta { severity = low }
    on cloudtrail
    where .eventName == "ListUsers"
    throttle 20m by .sourceIPAddress
    output "ListUsers from {.sourceIPAddress}"
}
`

// mixedFile writes ~5 MiB of Okta and CloudTrail events, some out of order
// within the lateness.
func mixedFile(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	names := []string{"ConsoleLogin", "ListUsers", "DescribeInstances", "GetUser"}
	for n := 0; n < 16000; n++ {
		at := int64(1700000000 + n)
		if n%50 == 7 {
			at -= 300
		}
		ts := time.Unix(at, 0).UTC().Format("2006-01-02T15:04:05Z")
		ip := fmt.Sprintf("198.51.100.%d", n*7%251)
		ev := map[string]any{"pad": strings.Repeat("p", 150)}
		if n%5 == 0 {
			result := "SUCCESS"
			if n%3 != 0 {
				result = "FAILURE"
			}
			ev["uuid"], ev["published"], ev["eventType"] = fmt.Sprintf("u%d", n), ts, "user.session.start"
			ev["actor"] = map[string]any{"alternateId": fmt.Sprintf("user%d@x.io", n%13)}
			ev["client"] = map[string]any{"ipAddress": ip}
			ev["outcome"] = map[string]any{"result": result}
		} else {
			ev["eventVersion"], ev["eventTime"], ev["eventSource"] = "1.08", ts, "iam.amazonaws.com"
			ev["eventName"], ev["sourceIPAddress"], ev["eventID"] = names[n%5-1], ip, fmt.Sprintf("e%d", n)
			ev["userIdentity"] = map[string]any{"type": "IAMUser", "arn": fmt.Sprintf("arn:aws:iam::1:user/u%d", n%11)}
			if n%6 == 0 {
				ev["errorCode"] = "AccessDenied"
			}
		}
		line, _ := json.Marshal(ev)
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "mixed.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func scanFileAlerts(t *testing.T, path string, jobs int) ([]string, secdet.ScanResult, secdet.Stats) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	e, err := secdet.New(secdet.WithRawAlertHandler(func(j []byte) {
		mu.Lock()
		got = append(got, string(j))
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.LoadRules("jobs.secdet", scanFileRules); err != nil {
		t.Fatal(err)
	}
	if err := e.AddSource("mixed", "jsonl", secdet.LogType("auto")); err != nil {
		t.Fatal(err)
	}
	res, err := e.ScanFile(bg, "mixed", path, jobs)
	if err != nil {
		t.Fatalf("ScanFile -j %d: %v", jobs, err)
	}
	st, err := e.Stats()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	return got, res, st
}

func TestScanFileJobsGivesTheAlertsOfOneEngine(t *testing.T) {
	path := mixedFile(t)
	one, r1, s1 := scanFileAlerts(t, path, 1)
	rules := map[string]bool{}
	for _, a := range one {
		var v struct{ Rule string }
		_ = json.Unmarshal([]byte(a), &v)
		rules[v.Rule] = true
	}
	if len(rules) != 4 {
		t.Fatalf("rules that alerted with one engine: %v (want all four)", rules)
	}
	for _, jobs := range []int{2, 3} {
		many, rn, sn := scanFileAlerts(t, path, jobs)
		if strings.Join(many, "\n") != strings.Join(one, "\n") {
			t.Fatalf("-j %d: %d alerts, -j 1: %d; they differ", jobs, len(many), len(one))
		}
		if rn.Events != r1.Events || rn.Alerts != r1.Alerts || rn.Bytes != r1.Bytes {
			t.Fatalf("-j %d: %+v, -j 1: %+v", jobs, rn, r1)
		}
		if sn.RulesRun <= s1.RulesRun { // the correlators ran the stateful rules again: it was split
			t.Fatalf("-j %d was not split: rules run %d, -j 1 %d", jobs, sn.RulesRun, s1.RulesRun)
		}
	}
	if _, err := newEngine(t).ScanFile(bg, "jsonl", path, -1); err == nil {
		t.Fatal("jobs -1 was taken")
	}
}
