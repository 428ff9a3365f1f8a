package secdet_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

// A sink whose spool is full (SpoolMaxBytes) and which is down makes pushes
// wait, without holding the Engine's lock; a push whose ctx ends first
// returns ErrBusy having consumed nothing; once the sink delivers again the
// waiting Push and Scan go on, and every alert arrives once, in order
// (docs/sinks.md "Backpressure").
func TestPushesWaitForAFullSinkAndLoseNothing(t *testing.T) {
	e := newEngine(t)
	var down atomic.Bool
	down.Store(true)
	var c collector
	err := e.AddSink(secdet.Sink{Name: "full", QueueMax: 10, SpoolDir: t.TempDir(), SpoolMaxBytes: 4096,
		MaxAttempts: -1, Backoff: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		Deliver: func(d secdet.Delivery) error {
			if down.Load() {
				return errors.New("down")
			}
			return c.deliver(d)
		}})
	if err != nil {
		t.Fatal(err)
	}
	var pushed []string
	i := 0
	for ; i < 1000; i++ {
		ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
		alerts, err := e.Push(ctx, "jsonl", []byte(rootLogin(i)+"\n"))
		cancel()
		if errors.Is(err, secdet.ErrBusy) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, ids(alerts)...)
	}
	if i == 1000 {
		t.Fatal("1000 pushes and the sink never filled")
	}
	st, err := e.SinkStats() // the lock is free while pushes wait
	if err != nil || st[0].Dropped != 0 || st[0].Accepted != uint64(i) || !strings.Contains(st[0].LastError, "held in memory") {
		t.Fatalf("stats %+v, %v", st, err)
	}

	go func() {
		time.Sleep(100 * time.Millisecond)
		down.Store(false)
	}()
	alerts, err := e.Push(bg, "jsonl", []byte(rootLogin(i)+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	pushed = append(pushed, ids(alerts)...)
	down.Store(true)
	go func() {
		time.Sleep(100 * time.Millisecond)
		down.Store(false)
	}()
	var more strings.Builder
	for j := i + 1; j < i+200; j++ {
		more.WriteString(rootLogin(j) + "\n")
	}
	res, err := e.Scan(bg, "jsonl", strings.NewReader(more.String()))
	if err != nil || res.Alerts != 199 {
		t.Fatalf("Scan: %+v, %v", res, err)
	}
	if err := e.Drain(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	got := c.got()
	if len(got) != i+1+199 || !reflect.DeepEqual(got[:i+1], pushed) {
		t.Fatalf("delivered %d alerts, want %d, the first %d in push order", len(got), i+1+199, i+1)
	}
	if st, _ := e.SinkStats(); st[0].Dropped != 0 || st[0].Delivered != uint64(i+1+199) {
		t.Fatalf("stats %+v", st)
	}
}
