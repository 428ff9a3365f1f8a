package secdet_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

// collector is a Go sink that records what it is given.
type collector struct {
	mu    sync.Mutex
	ids   []string
	delay time.Duration
}

func (c *collector) deliver(d secdet.Delivery) error {
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	a, err := d.Alert()
	if err != nil || a.ID != d.ID {
		return secdet.Permanent(fmt.Errorf("bad delivery %q: %v", d.ID, err))
	}
	c.mu.Lock()
	c.ids = append(c.ids, d.ID)
	c.mu.Unlock()
	return nil
}

func (c *collector) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids...)
}

func ids(alerts []secdet.Alert) []string {
	out := make([]string, len(alerts))
	for i, a := range alerts {
		out[i] = a.ID
	}
	return out
}

func TestGoCallbackSink(t *testing.T) {
	e := newEngine(t)
	var all, urgent collector
	var flushed atomic.Int32
	if err := e.AddSink(secdet.Sink{Name: "all", Deliver: all.deliver, Flush: func() { flushed.Add(1) }}); err != nil {
		t.Fatal(err)
	}
	if err := e.AddSink(secdet.Sink{Name: "urgent", MinSeverity: secdet.SeverityCritical, Deliver: urgent.deliver}); err != nil {
		t.Fatal(err)
	}
	if err := e.AddSink(secdet.Sink{Name: "all", Deliver: all.deliver}); !errors.Is(err, secdet.ErrExists) {
		t.Fatalf("duplicate sink name: %v", err)
	}
	alerts := mustPush(t, e, "jsonl", rootLogin(1)+"\n"+`{"eventName":"X","errorCode":"AccessDenied"}`+"\n")
	if len(alerts) != 2 {
		t.Fatalf("%d alerts", len(alerts))
	}
	if err := e.Drain(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := all.got(); strings.Join(got, ",") != strings.Join(ids(alerts), ",") {
		t.Fatalf("sink all got %v, want %v (in order)", got, ids(alerts))
	}
	if got := urgent.got(); len(got) != 1 || got[0] != alerts[0].ID {
		t.Fatalf("sink urgent got %v", got)
	}
	if flushed.Load() == 0 {
		t.Fatal("Drain did not flush the sink")
	}
	stats, err := e.SinkStats()
	if err != nil || len(stats) != 2 || stats[0].Name != "all" || stats[0].Delivered != 2 || stats[1].Filtered != 1 {
		t.Fatalf("SinkStats = %+v, %v", stats, err)
	}
}

func TestGoSinkRetriesAndDeadLetters(t *testing.T) {
	var logs []string
	var logMu sync.Mutex
	e := newEngine(t, secdet.WithSinkLog(func(sink, msg string) {
		logMu.Lock()
		logs = append(logs, sink+": "+msg)
		logMu.Unlock()
	}))
	var attempts []int
	var mu sync.Mutex
	flaky := func(d secdet.Delivery) error {
		mu.Lock()
		attempts = append(attempts, d.Attempt)
		mu.Unlock()
		if d.Attempt == 1 {
			return errors.New("endpoint busy")
		}
		return nil
	}
	if err := e.AddSink(secdet.Sink{Name: "flaky", Backoff: time.Millisecond, BackoffMax: 5 * time.Millisecond, Deliver: flaky}); err != nil {
		t.Fatal(err)
	}
	dl := filepath.Join(t.TempDir(), "dead.jsonl")
	refuse := func(secdet.Delivery) error { return secdet.Permanent(errors.New("HTTP 400")) }
	if err := e.AddSink(secdet.Sink{Name: "refuse", DeadLetter: dl, Deliver: refuse}); err != nil {
		t.Fatal(err)
	}
	panicky := func(d secdet.Delivery) error {
		if d.Attempt == 1 {
			panic("sink bug")
		}
		return nil
	}
	if err := e.AddSink(secdet.Sink{Name: "panicky", Backoff: time.Millisecond, Deliver: panicky}); err != nil {
		t.Fatal(err)
	}
	mustPush(t, e, "jsonl", rootLogin(1)+"\n")
	if err := e.Drain(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	stats, _ := e.SinkStats()
	if stats[0].Delivered != 1 || stats[0].Retries != 1 || fmt.Sprint(attempts) != "[1 2]" {
		t.Fatalf("flaky: %+v, attempts %v", stats[0], attempts)
	}
	if stats[1].DeadLettered != 1 || !strings.Contains(stats[1].LastError, "HTTP 400") {
		t.Fatalf("refuse: %+v", stats[1])
	}
	if b, err := os.ReadFile(dl); err != nil || !strings.Contains(string(b), "HTTP 400") {
		t.Fatalf("dead letter: %q, %v", b, err)
	}
	if stats[2].Delivered != 1 || !strings.Contains(stats[2].LastError+strings.Join(logs, "\n"), "sink bug") {
		t.Fatalf("panicky: %+v, logs %v", stats[2], logs)
	}
}

// Close while a slow sink still holds most alerts: every alert is delivered,
// nothing panics, calls after Close fail cleanly.
func TestCloseWhileAlertsAreInFlight(t *testing.T) {
	slow := &collector{delay: 2 * time.Millisecond}
	var closed atomic.Bool
	e := newEngine(t)
	if err := e.AddSink(secdet.Sink{Name: "slow", Deliver: slow.deliver, Close: func() { closed.Store(true) }}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 0; i < 300; i++ {
		want = append(want, ids(mustPush(t, e, "jsonl", rootLogin(i)+"\n"))...)
	}
	if st, _ := e.SinkStats(); st[0].Pending == 0 {
		t.Log("the sink kept up before Close; the test still checks delivery")
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := slow.got(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("delivered %d of %d alerts", len(got), len(want))
	}
	if !closed.Load() {
		t.Fatal("the sink's Close was not called")
	}
}

// Many goroutines push while another closes the engine: each push either
// succeeds (and its alert reaches the sink) or fails with ErrClosed.
func TestCloseRacingWithPushes(t *testing.T) {
	slow := &collector{delay: 200 * time.Microsecond}
	ch := make(chan secdet.Alert, 64)
	e := newEngine(t, secdet.WithAlertChannel(ch))
	if err := e.AddSink(secdet.Sink{Name: "slow", Deliver: slow.deliver}); err != nil {
		t.Fatal(err)
	}
	var fromChannel atomic.Int64
	consumed := make(chan struct{})
	go func() {
		for range ch {
			fromChannel.Add(1)
		}
		close(consumed)
	}()
	var mu sync.Mutex
	var want []string
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 400; i++ {
				alerts, err := e.Push(bg, "jsonl", []byte(rootLogin(g*1000+i)+"\n"))
				if errors.Is(err, secdet.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want = append(want, ids(alerts)...)
				mu.Unlock()
			}
		}(g)
	}
	// Close once the sink is busy, while the pushers still run.
	for deadline := time.Now().Add(5 * time.Second); len(slow.got()) < 20 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	close(ch)
	<-consumed
	got := slow.got()
	sort.Strings(got)
	sort.Strings(want)
	if len(want) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sink got %d alerts, pushes returned %d", len(got), len(want))
	}
	if fromChannel.Load() != int64(len(want)) {
		t.Fatalf("channel got %d alerts, want %d", fromChannel.Load(), len(want))
	}
}

func TestCloseTimeoutIsReported(t *testing.T) {
	e := newEngine(t, secdet.WithCloseTimeout(20*time.Millisecond))
	slow := &collector{delay: 50 * time.Millisecond}
	e.AddSink(secdet.Sink{Name: "slow", Deliver: slow.deliver})
	for i := 0; i < 10; i++ {
		mustPush(t, e, "jsonl", rootLogin(i)+"\n")
	}
	if err := e.Close(); !errors.Is(err, secdet.ErrTimeout) {
		t.Fatalf("Close: %v", err)
	}
}

func TestFileSinkFromJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.jsonl")
	e := newEngine(t)
	cfg := fmt.Sprintf(`{"type":"file","name":"file","path":%q,"min_severity":"high","spool_dir":%q}`, path, filepath.Join(dir, "spool"))
	if err := e.AddSinkJSON(cfg); err != nil {
		t.Fatal(err)
	}
	alerts := mustPush(t, e, "jsonl", rootLogin(1)+"\n"+`{"errorCode":"AccessDenied"}`+"\n"+rootLogin(2)+"\n")
	if len(alerts) != 3 {
		t.Fatalf("%d alerts", len(alerts))
	}
	if err := e.Drain(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		a, err := secdet.ParseAlert(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.ID)
	}
	if want := []string{alerts[0].ID, alerts[2].ID}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("file has %v, want %v", got, want)
	}

	err = e.AddSinkJSON(`{"type":"file","path":"x","colour":"blue"}`)
	if !errors.Is(err, secdet.ErrInvalidArg) || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("unknown key: %v", err)
	}
	err = e.AddSinkJSON(`{"type":"webhook","url":"https://example.com/x","secret":"whsec_c2VjcmV0c2VjcmV0","timeout_ms":"soon"}`)
	if err == nil || strings.Contains(err.Error(), "whsec_") {
		t.Fatalf("bad webhook config: %v", err)
	}
}
