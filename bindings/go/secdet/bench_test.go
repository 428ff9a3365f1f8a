package secdet_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

// Benchmarks run the CIS pack (rules/aws/cis.secdet) over the CloudTrail
// records of examples/data/cloudtrail-sample.json.gz as JSON lines, source
// "cloudtrail" — the same setup as bench/ and `secdet scan --format jsonl
// --source cloudtrail`. BenchmarkCScan runs the `secdet` command on the same
// bytes when SECDET_CLI names it (bindings/go/ci.sh and docs/go.md).

var (
	benchOnce  sync.Once
	benchLines [][]byte // one event each, no newline
	benchErr   error
)

func loadBenchLines(b testing.TB) [][]byte {
	root := repoRoot(b)
	benchOnce.Do(func() {
		f, err := os.Open(filepath.Join(root, "examples", "data", "cloudtrail-sample.json.gz"))
		if err != nil {
			benchErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			benchErr = err
			return
		}
		var doc struct {
			Records []json.RawMessage `json:"Records"`
		}
		if err := json.NewDecoder(zr).Decode(&doc); err != nil {
			benchErr = err
			return
		}
		for _, r := range doc.Records {
			var c bytes.Buffer
			if err := json.Compact(&c, r); err != nil {
				benchErr = err
				return
			}
			benchLines = append(benchLines, c.Bytes())
		}
	})
	if benchErr != nil {
		b.Skipf("sample data: %v", benchErr)
	}
	return benchLines
}

// benchInput is the sample's lines repeated to at least size bytes.
func benchInput(b testing.TB, size int) (data []byte, events int) {
	lines := loadBenchLines(b)
	var buf bytes.Buffer
	for buf.Len() < size {
		for _, l := range lines {
			buf.Write(l)
			buf.WriteByte('\n')
			events++
		}
	}
	return buf.Bytes(), events
}

func benchEngine(b testing.TB, opts ...secdet.Option) *secdet.Engine {
	e, err := secdet.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	if err := e.LoadRulesFile(filepath.Join(repoRoot(b), "rules", "aws", "cis.secdet")); err != nil {
		b.Fatal(err)
	}
	if err := e.AddSource("cloudtrail", "jsonl"); err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkPushEmpty is the cost of the boundary alone: lock, cgo call,
// secdet_push of zero bytes.
func BenchmarkPushEmpty(b *testing.B) {
	e := benchEngine(b)
	for b.Loop() {
		if _, err := e.Push(bg, "cloudtrail", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushEvent pushes one event (one JSON line) per call: the
// per-event cost when events arrive one by one, alerts returned as parsed
// Alert values.
func BenchmarkPushEvent(b *testing.B) {
	lines := loadBenchLines(b)
	in := make([][]byte, len(lines))
	var total int
	for i, l := range lines {
		in[i] = append(append([]byte(nil), l...), '\n')
		total += len(in[i])
	}
	e := benchEngine(b)
	b.SetBytes(int64(total / len(in)))
	i := 0
	for b.Loop() {
		if _, err := e.Push(bg, "cloudtrail", in[i%len(in)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPushEventQuiet is BenchmarkPushEvent over the sample's events
// that fire no rule: the per-event cost without alert parsing.
func BenchmarkPushEventQuiet(b *testing.B) {
	probe := benchEngine(b)
	var in [][]byte
	for _, l := range loadBenchLines(b) {
		line := append(append([]byte(nil), l...), '\n')
		if alerts, err := probe.Push(bg, "cloudtrail", line); err == nil && len(alerts) == 0 {
			in = append(in, line)
		}
	}
	e := benchEngine(b)
	i := 0
	for b.Loop() {
		if _, err := e.Push(bg, "cloudtrail", in[i%len(in)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPushBatch pushes the whole sample (814 events) per call, alerts
// returned as Alert values: batching amortizes the boundary.
func BenchmarkPushBatch(b *testing.B) {
	data, events := benchInput(b, 1)
	e := benchEngine(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := e.Push(bg, "cloudtrail", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

const scanBytes = 64 << 20

// BenchmarkScan scans 64 MiB of JSON lines per iteration, alerts counted
// only (as with sinks and no synchronous handler).
func BenchmarkScan(b *testing.B) { benchScan(b) }

// BenchmarkScanRawHandler also hands every alert's JSON to a Go function.
func BenchmarkScanRawHandler(b *testing.B) {
	var n int
	benchScan(b, secdet.WithRawAlertHandler(func(j []byte) { n += len(j) }))
}

// BenchmarkScanAlertHandler also parses every alert into an Alert.
func BenchmarkScanAlertHandler(b *testing.B) {
	var n int
	benchScan(b, secdet.WithAlertHandler(func(a secdet.Alert) { n += len(a.ID) }))
}

func benchScan(b *testing.B, opts ...secdet.Option) {
	data, events := benchInput(b, scanBytes)
	e := benchEngine(b, opts...)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res, err := e.Scan(bg, "cloudtrail", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if res.Events != uint64(events) {
			b.Fatalf("%d events, want %d", res.Events, events)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkCScan runs `secdet scan` (SECDET_CLI) on the same 64 MiB, from a
// file in the page cache, alerts as JSON to /dev/null.
func BenchmarkCScan(b *testing.B) {
	cli := os.Getenv("SECDET_CLI")
	if cli == "" {
		b.Skip("SECDET_CLI is not set")
	}
	data, events := benchInput(b, scanBytes)
	path := filepath.Join(b.TempDir(), "input.jsonl")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	rules := filepath.Join(repoRoot(b), "rules", "aws", "cis.secdet")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		cmd := exec.Command(cli, "scan", "--output", "json", "--no-progress", "--quiet", "--format", "jsonl",
			"--source", "cloudtrail", "--rules", rules, path)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &out
		if err := cmd.Run(); err != nil {
			b.Fatalf("%v: %s", err, out.Bytes())
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestScanRateBesideC compares Scan with `secdet scan` on the same input
// (best of 3 each) and fails below 0.8 × the C rate. Timing on a shared
// machine is noisy, so it runs only when SECDET_GO_RATE=1 and SECDET_CLI are
// set (docs/go.md).
func TestScanRateBesideC(t *testing.T) {
	cli := os.Getenv("SECDET_CLI")
	if os.Getenv("SECDET_GO_RATE") != "1" || cli == "" {
		t.Skip("set SECDET_GO_RATE=1 and SECDET_CLI to compare Scan with secdet scan")
	}
	data, events := benchInput(t, scanBytes)
	path := filepath.Join(t.TempDir(), "input.jsonl")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(repoRoot(t), "rules", "aws", "cis.secdet")
	best := func(run func()) time.Duration {
		var min time.Duration
		for i := 0; i < 3; i++ {
			start := time.Now()
			run()
			if d := time.Since(start); i == 0 || d < min {
				min = d
			}
		}
		return min
	}
	cTime := best(func() {
		cmd := exec.Command(cli, "scan", "--output", "json", "--no-progress", "--quiet", "--format", "jsonl",
			"--source", "cloudtrail", "--rules", rules, path)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %s", err, out.Bytes())
		}
	})
	for _, variant := range []struct {
		name string
		opts []secdet.Option
	}{
		{"Scan", nil},
		{"Scan+raw handler", []secdet.Option{secdet.WithRawAlertHandler(func([]byte) {})}},
		{"Scan+Alert handler", []secdet.Option{secdet.WithAlertHandler(func(secdet.Alert) {})}},
	} {
		goTime := best(func() {
			e := benchEngine(t, variant.opts...)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := e.Scan(bg, "cloudtrail", f); err != nil {
				t.Fatal(err)
			}
			e.Close()
		})
		ratio := cTime.Seconds() / goTime.Seconds()
		msg := fmt.Sprintf("%-20s %8.0f events/s, secdet scan %8.0f events/s: %.2f x", variant.name,
			float64(events)/goTime.Seconds(), float64(events)/cTime.Seconds(), ratio)
		t.Log(msg)
		if variant.opts == nil && ratio < 0.8 {
			t.Errorf("Scan below 0.8 x the C rate: %s", msg)
		}
	}
}

// BenchmarkParseAlert is the cost of one Alert value: encoding/json on a
// typical CIS alert of the sample (~1.9 KB, the firing event included).
func BenchmarkParseAlert(b *testing.B) {
	var raw []byte
	e := benchEngine(b, secdet.WithRawAlertHandler(func(j []byte) {
		if raw == nil {
			raw = append([]byte(nil), j...)
		}
	}))
	data, _ := benchInput(b, 1)
	if _, err := e.Push(bg, "cloudtrail", data); err != nil || raw == nil {
		b.Fatalf("no alert: %v", err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := secdet.ParseAlert(raw); err != nil {
			b.Fatal(err)
		}
	}
}
