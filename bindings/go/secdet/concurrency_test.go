package secdet_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

func TestConcurrentPushesOneEngine(t *testing.T) {
	var viaHandler atomic.Int64
	e := newEngine(t, secdet.WithAlertHandler(func(secdet.Alert) { viaHandler.Add(1) }))
	const goroutines, pushes = 16, 100
	var returned atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < pushes; i++ {
				alerts, err := e.Push(bg, "jsonl", []byte(rootLogin(g*pushes+i)+"\n"))
				if err != nil || len(alerts) != 1 || alerts[0].Rule != "root_login" {
					t.Errorf("push: %d alerts, %v", len(alerts), err)
					return
				}
				returned.Add(1)
				if i%10 == 0 {
					if _, err := e.Stats(); err != nil {
						t.Error(err)
					}
				}
			}
		}(g)
	}
	wg.Wait()
	st, _ := e.Stats()
	if returned.Load() != goroutines*pushes || viaHandler.Load() != goroutines*pushes ||
		st.Events != goroutines*pushes || st.Alerts != goroutines*pushes {
		t.Fatalf("returned %d, handler %d, stats %+v", returned.Load(), viaHandler.Load(), st)
	}
}

func TestOneEnginePerGoroutine(t *testing.T) {
	const goroutines, pushes = 8, 200
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			e, err := secdet.New()
			if err != nil {
				t.Error(err)
				return
			}
			defer e.Close()
			if err := e.LoadRulesFile("testdata/test.secdet"); err != nil {
				t.Error(err)
				return
			}
			e.AddSource("jsonl", "jsonl")
			n := 0
			for i := 0; i < pushes; i++ {
				alerts, err := e.Push(bg, "jsonl", []byte(rootLogin(i)+"\n"))
				if err != nil {
					t.Error(err)
					return
				}
				n += len(alerts)
			}
			if n != pushes {
				t.Errorf("engine %d: %d alerts, want %d", g, n, pushes)
			}
		}(g)
	}
	wg.Wait()
}

// endless yields JSON lines forever (every 100th fires root_login).
type endless struct {
	line  []byte
	alert []byte
	n     int
	off   int
}

func newEndless() *endless {
	return &endless{
		line:  []byte(`{"eventName":"ListBuckets","eventTime":"2024-03-01T10:00:00Z","userIdentity":{"type":"IAMUser"}}` + "\n"),
		alert: []byte(rootLogin(7) + "\n"),
	}
}

func (r *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		cur := r.line
		if r.n%100 == 99 {
			cur = r.alert
		}
		c := copy(p[n:], cur[r.off:])
		n += c
		r.off += c
		if r.off == len(cur) {
			r.off = 0
			r.n++
		}
	}
	return n, nil
}

func TestScanCancellation(t *testing.T) {
	var alerts atomic.Int64
	e := newEngine(t, secdet.WithAlertHandler(func(secdet.Alert) { alerts.Add(1) }))
	ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := e.Scan(ctx, "jsonl", newEndless())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Scan of an endless reader: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("cancellation took %v", took)
	}
	if res.Bytes < secdet.ScanChunkSize || res.Events == 0 || res.Alerts == 0 || uint64(alerts.Load()) != res.Alerts {
		t.Fatalf("result %+v, handler saw %d", res, alerts.Load())
	}
	// The engine goes on: the source's stream was ended.
	if got := mustPush(t, e, "jsonl", rootLogin(1)+"\n"); len(got) != 1 {
		t.Fatalf("after a cancelled scan: %d alerts", len(got))
	}

	// Cancelled from another goroutine while it runs.
	ctx2, cancel2 := context.WithCancel(bg)
	go func() {
		for {
			st, _ := e.Stats()
			if st.Bytes > 8*secdet.ScanChunkSize {
				cancel2()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	if _, err := e.Scan(ctx2, "jsonl", newEndless()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan: %v", err)
	}
}

func TestScanCountsAndMatchesPush(t *testing.T) {
	var lines []string
	for i := 0; i < 5000; i++ {
		if i%50 == 0 {
			lines = append(lines, rootLogin(i))
		} else {
			lines = append(lines, `{"eventName":"ListBuckets","eventTime":"2024-03-01T10:00:00Z"}`)
		}
	}
	lines = append(lines, "{broken")
	data := strings.Join(lines, "\n") // no final newline: the last line ends with the stream
	var ids []string
	e := newEngine(t, secdet.WithAlertHandler(func(a secdet.Alert) { ids = append(ids, a.ID) }))
	res, err := e.Scan(bg, "jsonl", io.MultiReader(strings.NewReader(data)))
	var de *secdet.DecodeError
	if !errors.As(err, &de) || de.Count != 1 || de.Reports[0].Where != 5001 {
		t.Fatalf("Scan error = %v", err)
	}
	if res.Bytes != int64(len(data)) || res.Events != 5000 || res.Alerts != 100 || res.Malformed != 1 || len(ids) != 100 {
		t.Fatalf("result %+v, %d alerts handled", res, len(ids))
	}
	// Without any handler the alerts are still counted (and go to sinks).
	e2 := newEngine(t)
	res2, _ := e2.Scan(bg, "jsonl", strings.NewReader(data))
	if res2.Alerts != 100 {
		t.Fatalf("no handler: %+v", res2)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		return 0, errors.New("disk on fire")
	}
	r.n++
	return copy(p, rootLogin(1)+"\n"), nil
}

func TestScanReadError(t *testing.T) {
	e := newEngine(t)
	res, err := e.Scan(bg, "jsonl", &failingReader{})
	if err == nil || err.Error() != "disk on fire" || res.Alerts != 1 {
		t.Fatalf("Scan: %+v, %v", res, err)
	}
}

// Engines dropped without Close are freed by the garbage collector (their
// sinks' Close runs); nothing crashes.
func TestAbandonedEnginesAreCleanedUp(t *testing.T) {
	var closed atomic.Int32
	for i := 0; i < 10; i++ {
		e, err := secdet.New()
		if err != nil {
			t.Fatal(err)
		}
		e.LoadRulesFile("testdata/test.secdet")
		e.AddSource("jsonl", "jsonl")
		e.AddSink(secdet.Sink{Deliver: func(secdet.Delivery) error { return nil }, Close: func() { closed.Add(1) }})
		e.Push(bg, "jsonl", []byte(rootLogin(i)+"\n"))
	}
	for deadline := time.Now().Add(10 * time.Second); closed.Load() < 10 && time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if closed.Load() != 10 {
		t.Fatalf("%d of 10 abandoned engines were freed", closed.Load())
	}
}
