package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// webhook is a receiver that checks the Standard Webhooks signature.
type webhook struct {
	mu     sync.Mutex
	alerts []map[string]any
	ids    []string
	bad    []string
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("webhook-signature") != want {
		h.bad = append(h.bad, "bad signature for "+id)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var a map[string]any
	if err := json.Unmarshal(body, &a); err != nil {
		h.bad = append(h.bad, err.Error())
	}
	h.alerts = append(h.alerts, a)
	h.ids = append(h.ids, id)
}

func (h *webhook) received() ([]map[string]any, []string, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.alerts...), append([]string(nil), h.ids...), append([]string(nil), h.bad...)
}

func post(t *testing.T, url, body string) (int, map[string]json.RawMessage) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("response: %v", err)
	}
	return resp.StatusCode, out
}

// TestService starts the service on 127.0.0.1:0 with a webhook sink and a
// file sink, posts an EventBridge CloudTrail event, and checks that the
// alert comes back in the response, reaches the webhook signed, and is in
// the file after shutdown.
func TestService(t *testing.T) {
	hook := &webhook{}
	recv := httptest.NewServer(hook)
	defer recv.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "alerts.jsonl")
	rules, _ := filepath.Abs("../../rules/aws/cis.secdet")
	cfg := Config{
		Rules:     []string{rules},
		TimeField: ".eventTime",
		Sinks: []json.RawMessage{
			json.RawMessage(`{"type":"webhook","name":"hook","url":"` + recv.URL + `/alerts","secret":"` + secret + `","max_attempts":3,"backoff_ms":50}`),
			json.RawMessage(`{"type":"file","name":"file","path":"` + file + `"}`),
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, ln) }()
	defer func() {
		cancel()
		<-done
	}()

	event, err := os.ReadFile("testdata/eventbridge-root-login.json")
	if err != nil {
		t.Fatal(err)
	}
	status, out := post(t, base+"/events", string(event))
	if status != http.StatusOK {
		t.Fatalf("POST /events: %d %s", status, out["error"])
	}
	var alerts []struct {
		Rule, ID, Severity, Message string
		Time                        time.Time
	}
	if err := json.Unmarshal(out["alerts"], &alerts); err != nil {
		t.Fatal(err)
	}
	rootID := ""
	for _, a := range alerts {
		if a.Rule == "cis_aws_4_3_root_account_usage" {
			rootID = a.ID
			if a.Severity != "high" || !strings.Contains(a.Message, "ConsoleLogin from 203.0.113.77") ||
				!a.Time.Equal(time.Date(2024, 3, 14, 15, 2, 10, 0, time.UTC)) {
				t.Fatalf("alert = %+v", a)
			}
		}
	}
	if rootID == "" {
		t.Fatalf("no root account alert in %s", out["alerts"])
	}

	// Forwarded to the webhook, signed, with the alert's id.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, ids, bad := hook.received()
		if len(bad) > 0 {
			t.Fatalf("webhook: %v", bad)
		}
		if len(got) == len(alerts) {
			found := false
			for i, a := range got {
				found = found || (a["rule"] == "cis_aws_4_3_root_account_usage" && ids[i] == rootID)
			}
			if !found {
				t.Fatalf("webhook got %v (ids %v)", got, ids)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook got %d alerts of %d", len(got), len(alerts))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Not an EventBridge event: 400.
	if status, out := post(t, base+"/events", `{"hello":"world"}`); status != http.StatusBadRequest || !strings.Contains(string(out["error"]), "EventBridge") {
		t.Fatalf("bad event: %d %s", status, out["error"])
	}
	// Stats.
	resp, err := http.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		Engine struct{ Events, Malformed uint64 }
		Sinks  []struct{ Name string }
	}
	json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if stats.Engine.Events != 1 || stats.Engine.Malformed != 1 || len(stats.Sinks) != 2 {
		t.Fatalf("stats = %+v", stats)
	}

	// Shutdown drains the sinks: the file has every alert.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	done <- nil // for the deferred receive
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n != len(alerts) || !bytes.Contains(b, []byte(rootID)) {
		t.Fatalf("file sink has %d lines, want %d", n, len(alerts))
	}
}

func TestBadConfig(t *testing.T) {
	if _, err := NewService(Config{}, t.Logf); err == nil {
		t.Fatal("no rules accepted")
	}
	rules, _ := filepath.Abs("../../rules/aws/cis.secdet")
	_, err := NewService(Config{Rules: []string{rules}, Sinks: []json.RawMessage{json.RawMessage(`{"type":"carrier-pigeon"}`)}}, t.Logf)
	if err == nil {
		t.Fatal("bad sink accepted")
	}
}
