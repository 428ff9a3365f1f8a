package secdet_test

// Part 2 of the language through the Go binding: a sum rule's total is
// Alert.Sum (and survives a round trip through JSON), a sum rule is an
// aggregate, and an absence fires from Push once event time passes its window.

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

const part2Rules = `
rule bytes_out { where .eventName == "GetObject" sum .bytes >= 1000 within 10m by .user }
rule not_quarantined {
    sequence within 1h by .host { finding: .eventName == "Finding"; not fixed: .eventName == "Quarantine" }
    output "finding on {.host} not quarantined"
}
`

func TestPart2SumAndAbsence(t *testing.T) {
	e, err := secdet.New(secdet.WithLateness(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	if err := e.LoadRules("part2.secdet", part2Rules); err != nil {
		t.Fatal(err)
	}
	if err := e.AddSource("jsonl", "jsonl"); err != nil {
		t.Fatal(err)
	}
	in := `{"eventTime":"2024-03-01T10:00:00Z","eventName":"GetObject","user":"u","bytes":600}` + "\n" +
		`{"eventTime":"2024-03-01T10:01:00Z","eventName":"GetObject","user":"u","bytes":500.5}` + "\n" +
		`{"eventTime":"2024-03-01T10:02:00Z","eventName":"Finding","host":"h1"}` + "\n"
	got := mustPush(t, e, "jsonl", in)
	if len(got) != 1 || got[0].Rule != "bytes_out" || got[0].Sum == nil || *got[0].Sum != 1100.5 || got[0].Count != 2 {
		t.Fatalf("alerts = %+v", got)
	}
	var back map[string]any
	if b, err := json.Marshal(got[0]); err != nil || json.Unmarshal(b, &back) != nil || back["sum"] != 1100.5 {
		t.Fatalf("round trip: %s, %v", b, err)
	}
	// 11:02:00 is the window's last instant: still open; a second later it closes.
	if a := mustPush(t, e, "jsonl", `{"eventTime":"2024-03-01T11:02:00Z","eventName":"x"}`+"\n"); len(a) != 0 {
		t.Fatalf("fired at the window's end: %+v", a)
	}
	a := mustPush(t, e, "jsonl", `{"eventTime":"2024-03-01T11:02:01Z","eventName":"x"}`+"\n")
	if len(a) != 1 || a[0].Rule != "not_quarantined" || a[0].Message != "finding on h1 not quarantined" || a[0].Sum != nil {
		t.Fatalf("absence alerts = %+v", a)
	}
	if !a[0].Time.Equal(time.Date(2024, 3, 1, 10, 2, 0, 0, time.UTC)) {
		t.Fatalf("absence alert time = %v, want the finding's", a[0].Time)
	}
	rules, err := e.Rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if !r.Aggregate {
			t.Fatalf("%s is not an aggregate: %+v", r.Name, r)
		}
	}
}
