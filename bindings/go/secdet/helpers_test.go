package secdet_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

// repoRoot is the libsecdet checkout this package sits in (bindings/go/secdet).
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	if _, err := os.Stat(filepath.Join(root, "include", "secdet.h")); err != nil {
		t.Skipf("not inside a libsecdet checkout: %v", err)
	}
	return root
}

var bg = context.Background()

// newEngine makes an engine with testdata/test.secdet and the four sources.
func newEngine(t testing.TB, opts ...secdet.Option) *secdet.Engine {
	t.Helper()
	e, err := secdet.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	if err := e.LoadRulesFile("testdata/test.secdet"); err != nil {
		t.Fatalf("LoadRulesFile: %v", err)
	}
	for _, f := range []string{"jsonl", "cloudtrail", "cloudwatch-logs", "eventbridge"} {
		if err := e.AddSource(f, f); err != nil {
			t.Fatalf("AddSource(%s): %v", f, err)
		}
	}
	return e
}

// rootLogin is one JSON event that fires root_login.
func rootLogin(i int) string {
	return fmt.Sprintf(`{"eventName":"ConsoleLogin","eventTime":"2024-03-01T10:%02d:%02dZ",`+
		`"userIdentity":{"type":"Root"},"sourceIPAddress":"198.51.100.%d"}`, i/60%60, i%60, i%250)
}

func mustPush(t testing.TB, e *secdet.Engine, source, data string) []secdet.Alert {
	t.Helper()
	alerts, err := e.Push(bg, source, []byte(data))
	if err != nil {
		t.Fatalf("Push(%s): %v", source, err)
	}
	return alerts
}

func gzipWriter(w io.Writer) (*gzip.Writer, error) { return gzip.NewWriterLevel(w, gzip.BestSpeed) }
