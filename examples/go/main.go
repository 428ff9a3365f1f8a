// Command eventbridge-alerts is a small HTTP service that receives AWS
// EventBridge events (for instance from an EventBridge API destination or a
// Lambda forwarding them), evaluates them with libsecdet's rules, and
// forwards the alerts through libsecdet's sinks (stdout, a webhook, Slack,
// syslog, a file) configured in JSON.
//
//	POST /events    one or more EventBridge events (JSON, one after another);
//	                200 {"alerts": [...]} with the alerts that fired; 400
//	                {"error": ..., "alerts": [...]} when part of the body
//	                was not an EventBridge event (the rest was evaluated)
//	GET  /stats     engine and sink counters as JSON
//	GET  /healthz   200 "ok"
//
// Usage:
//
//	eventbridge-alerts -config config.json [-listen 127.0.0.1:8080]
//
// config.example.json shows the keys. SIGINT or SIGTERM stops accepting
// requests, flushes aggregation rules and drains the sinks before exiting.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/libsecdet/libsecdet/bindings/go/secdet"
)

// Config is the service's JSON configuration.
type Config struct {
	Listen string   `json:"listen"` // host:port; port 0 picks a free one
	Rules  []string `json:"rules"`  // rule files and directories
	// Source is the source name the rules' `on` clauses see (default
	// "cloudtrail", so CloudTrail rules run unchanged on CloudTrail events
	// delivered by EventBridge).
	Source string `json:"source"`
	// TimeField is the event time's field; "" takes the envelope's time.
	TimeField string `json:"time_field"`
	// Sinks are libsecdet sink objects (docs/sinks.md); none means stdout.
	Sinks        []json.RawMessage `json:"sinks"`
	MaxBodyBytes int64             `json:"max_body_bytes"`   // default 1 MiB (EventBridge events are at most 256 KiB)
	DrainTimeout int64             `json:"drain_timeout_ms"` // how long shutdown waits for the sinks; default 10000
}

// Service turns posted EventBridge events into alerts.
type Service struct {
	cfg    Config
	engine *secdet.Engine
	mux    *http.ServeMux
}

// NewService loads the rules, adds the source and the sinks.
func NewService(cfg Config, logf func(format string, args ...any)) (*Service, error) {
	if cfg.Source == "" {
		cfg.Source = "cloudtrail"
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10000
	}
	if len(cfg.Sinks) == 0 {
		cfg.Sinks = []json.RawMessage{json.RawMessage(`{"type":"stdout"}`)}
	}
	e, err := secdet.New(
		secdet.WithCloseTimeout(time.Duration(cfg.DrainTimeout)*time.Millisecond),
		secdet.WithSinkLog(func(sink, msg string) { logf("sink %s: %s", sink, msg) }),
		secdet.WithMalformedHandler(func(m secdet.Malformed) { logf("skipped: %s", m) }),
	)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, engine: e, mux: http.NewServeMux()}
	if err := s.setup(); err != nil {
		e.Close()
		return nil, err
	}
	s.mux.HandleFunc("POST /events", s.events)
	s.mux.HandleFunc("GET /stats", s.stats)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	return s, nil
}

func (s *Service) setup() error {
	if len(s.cfg.Rules) == 0 {
		return errors.New("config: no rules")
	}
	if err := s.engine.ReloadRules(s.cfg.Rules...); err != nil {
		var re *secdet.RuleError
		if errors.As(err, &re) {
			for _, d := range re.Diagnostics {
				log.Print(d)
			}
		}
		return err
	}
	var opts []secdet.SourceOption
	if s.cfg.TimeField != "" {
		opts = append(opts, secdet.TimeField(s.cfg.TimeField))
	}
	if err := s.engine.AddSource(s.cfg.Source, "eventbridge", opts...); err != nil {
		return err
	}
	for _, sink := range s.cfg.Sinks {
		if err := s.engine.AddSinkJSON(string(sink)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Service) events(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": err.Error()})
		return
	}
	// One document per request: pushed and decoded under one hold of the
	// engine, so concurrent requests never mix.
	alerts, err := s.engine.PushDocument(r.Context(), s.cfg.Source, body)
	var de *secdet.DecodeError
	switch {
	case errors.As(err, &de):
		// The rest of the body was evaluated and its alerts forwarded.
		if alerts == nil {
			alerts = []secdet.Alert{}
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": de.Error(), "alerts": alerts})
		return
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	if alerts == nil {
		alerts = []secdet.Alert{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": alerts})
}

func (s *Service) stats(w http.ResponseWriter, _ *http.Request) {
	st, err := s.engine.Stats()
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	sinks, _ := s.engine.SinkStats()
	writeJSON(w, http.StatusOK, map[string]any{"engine": st, "sinks": sinks})
}

// Close flushes aggregation rules (their alerts go to the sinks) and closes
// the engine, draining the sinks.
func (s *Service) Close() error {
	if _, err := s.engine.Flush(); err != nil && !errors.Is(err, secdet.ErrClosed) {
		log.Printf("flush: %v", err)
	}
	return s.engine.Close()
}

// Run serves on ln until ctx is done, then shuts down: no new requests,
// requests in progress finish, the engine is flushed and drained.
func Run(ctx context.Context, cfg Config, ln net.Listener) error {
	svc, err := NewService(cfg, log.Printf)
	if err != nil {
		return err
	}
	log.Printf("listening on http://%s (libsecdet %s)", ln.Addr(), secdet.Version())
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shutdown)
		cancel()
	}
	if cerr := svc.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func loadConfig(path string) (Config, error) {
	var cfg Config
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func main() {
	configPath := flag.String("config", "config.json", "configuration file (see config.example.json)")
	listen := flag.String("listen", "", "host:port to listen on (overrides the config's \"listen\")")
	flag.Parse()
	log.SetPrefix("eventbridge-alerts: ")
	cfg, err := loadConfig(*configPath)
	if err != nil {
		log.Fatal(err)
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, cfg, ln); err != nil {
		log.Fatal(err)
	}
}
