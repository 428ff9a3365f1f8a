package secdet_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

// An overlay file tunes the rules of another without editing them: its
// exception removes exactly the alerts it holds for, its severity shows in
// the alert, and RuleStats and TuningExplain say what happened.
func TestTuningOverlayAndRuleStats(t *testing.T) {
	e, err := secdet.New()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	pack := "rule root_login {\n    meta { severity = high }\n    where .eventName == \"ConsoleLogin\"\n" +
		"    output \"root from {.ip}\"\n}\nrule noisy { where .eventName == \"Describe\" }\n"
	if err := e.LoadRules("pack.secdet", pack); err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(t.TempDir(), "site.secdet")
	text := "tune root_login {\n    except .ip == \"192.0.2.7\" until 2099-12-31 \"drill\"\n    severity = medium\n}\n" +
		"disable noi*\n"
	if err := os.WriteFile(overlay, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.LoadRulesFile(overlay); err != nil {
		t.Fatalf("LoadRulesFile(overlay): %v", err)
	}
	if err := e.AddSource("jsonl", "jsonl"); err != nil {
		t.Fatal(err)
	}
	alerts, err := e.Push(bg, "jsonl", []byte(`{"eventName":"ConsoleLogin","ip":"192.0.2.7"}
{"eventName":"ConsoleLogin","ip":"198.51.100.9"}
{"eventName":"Describe"}
`))
	if err != nil {
		t.Fatal(err)
	}
	end, err := e.EndSource("jsonl")
	if err != nil {
		t.Fatal(err)
	}
	alerts = append(alerts, end...)
	if len(alerts) != 1 || alerts[0].Message != "root from 198.51.100.9" || alerts[0].Severity != secdet.SeverityMedium {
		t.Fatalf("alerts = %+v", alerts)
	}
	stats, err := e.RuleStats()
	if err != nil || len(stats) != 2 {
		t.Fatalf("RuleStats() = %+v, %v", stats, err)
	}
	root, noisy := stats[0], stats[1]
	if root.Rule != "root_login" || root.Alerts != 1 || root.Excepted != 1 || root.Disabled || len(root.Excepts) != 1 {
		t.Fatalf("root_login: %+v", root)
	}
	x := root.Excepts[0]
	if x.File != overlay || x.Line != 2 || x.Column != 5 || x.Condition != `.ip == "192.0.2.7"` ||
		x.Reason != "drill" || x.Until != "2099-12-31" || x.UntilNS != 4102444800000000000 || x.Excepted != 1 {
		t.Fatalf("exception: %+v", x)
	}
	if noisy.Rule != "noisy" || !noisy.Disabled || noisy.Alerts != 0 || len(noisy.Excepts) != 0 {
		t.Fatalf("noisy: %+v", noisy)
	}
	explain, err := e.TuningExplain()
	if err != nil || !strings.Contains(explain, overlay+":1:1: tune root_login (1 rule)") ||
		!strings.Contains(explain, "root_login: severity high -> medium") {
		t.Fatalf("TuningExplain() = %q, %v", explain, err)
	}

	// Without the overlay (a reload of the pack alone): no exception, the
	// figures of the rule that stays are kept.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pack.secdet"), []byte(pack), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.ReloadRules(filepath.Join(dir, "pack.secdet")); err != nil {
		t.Fatal(err)
	}
	stats, _ = e.RuleStats()
	if len(stats) != 2 || stats[0].Alerts != 1 || stats[0].Excepted != 1 || len(stats[0].Excepts) != 0 ||
		stats[1].Disabled {
		t.Fatalf("after the reload: %+v", stats)
	}
	if explain, _ := e.TuningExplain(); explain != "" {
		t.Fatalf("TuningExplain() after the reload = %q", explain)
	}
}
