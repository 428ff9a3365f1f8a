package secdet_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

// cliIDs runs `secdet scan` (SECDET_CLI) and returns the alert ids, sorted.
func cliIDs(t *testing.T, args ...string) []string {
	cli := os.Getenv("SECDET_CLI")
	if cli == "" {
		t.Skip("SECDET_CLI is not set")
	}
	cmd := exec.Command(cli, append([]string{"scan", "--output", "json", "--quiet"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("secdet scan: %v: %s", err, errb.Bytes())
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var a struct{ ID string }
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("secdet scan output %q: %v", line, err)
		}
		ids = append(ids, a.ID)
	}
	sort.Strings(ids)
	return ids
}

// scanIDs scans the files in order with one engine (source "cloudtrail" of
// the given format) and returns the alert ids, sorted.
func scanIDs(t *testing.T, rules, format string, files []string) []string {
	var ids []string
	e, err := secdet.New(secdet.WithAlertHandler(func(a secdet.Alert) { ids = append(ids, a.ID) }))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.LoadRulesFile(rules); err != nil {
		t.Fatal(err)
	}
	if err := e.AddSource("cloudtrail", format); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Scan(bg, "cloudtrail", fh)
		fh.Close()
		if err != nil {
			t.Fatalf("Scan(%s): %v", f, err)
		}
	}
	sort.Strings(ids)
	return ids
}

// The sample CloudTrail log (gzip) through Scan gives the alerts `secdet
// scan` gives.
func TestScanAgreesWithCLIOnTheSample(t *testing.T) {
	root := repoRoot(t)
	sample := filepath.Join(root, "examples", "data", "cloudtrail-sample.json.gz")
	rules := filepath.Join(root, "rules", "aws", "cis.secdet")
	want := cliIDs(t, "--format", "cloudtrail", "--rules", rules, sample)
	got := scanIDs(t, rules, "cloudtrail", []string{sample})
	if len(want) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Scan gave %d alerts, secdet scan %d", len(got), len(want))
	}
}

// The same on the real CloudTrail logs of /work/shared/data (skipped when absent).
func TestScanAgreesWithCLIOnRealLogs(t *testing.T) {
	dir := os.Getenv("SECDET_SHARED")
	if dir == "" {
		dir = "/work/shared"
	}
	files, _ := filepath.Glob(filepath.Join(dir, "data", "cloudtrail", "invictus", "CloudTrail", "*.json"))
	if len(files) == 0 {
		t.Skip("no CloudTrail logs under " + dir + "/data/cloudtrail/invictus")
	}
	sort.Strings(files)
	rules := filepath.Join(repoRoot(t), "rules", "aws", "cis.secdet")
	want := cliIDs(t, append([]string{"--format", "cloudtrail", "--rules", rules}, files...)...)
	got := scanIDs(t, rules, "cloudtrail", files)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Scan gave %d alerts, secdet scan %d", len(got), len(want))
	}
	t.Logf("%d files, %d alerts, same ids", len(files), len(got))
}

// A gzip stream larger than one chunk is inflated by Scan.
func TestScanLargeGzip(t *testing.T) {
	data, events := benchInput(t, 3*secdet.ScanChunkSize)
	var gz bytes.Buffer
	zw, _ := gzipWriter(&gz)
	zw.Write(data)
	zw.Close()
	e := benchEngine(t)
	res, err := e.Scan(bg, "cloudtrail", io.MultiReader(bytes.NewReader(gz.Bytes())))
	if err != nil || res.Events != uint64(events) || res.Bytes != int64(len(data)) {
		t.Fatalf("Scan(gzip): %+v, %v (want %d events)", res, err, events)
	}
}
