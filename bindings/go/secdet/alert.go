package secdet

import (
	"encoding/json"
	"fmt"
	"time"
)

// Severity of a rule and its alerts. It marshals to and from the names
// libsecdet uses ("info" ... "critical").
type Severity int

const (
	SeverityInfo     Severity = 0
	SeverityLow      Severity = 1
	SeverityMedium   Severity = 2
	SeverityHigh     Severity = 3
	SeverityCritical Severity = 4
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String returns "info", "low", "medium", "high" or "critical".
func (s Severity) String() string {
	if s >= 0 && int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// ParseSeverity is the inverse of Severity.String.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if n == name {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("secdet: unknown severity %q", name)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(severityNames) {
		return nil, fmt.Errorf("secdet: invalid severity %d", int(s))
	}
	return []byte(severityNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Alert is one alert, as libsecdet renders it (docs/language.md, "Alerts").
// It is a plain value: it marshals back to JSON with the same field names,
// and Raw keeps the exact JSON the library produced.
type Alert struct {
	Rule       string            `json:"rule"`
	Title      string            `json:"title"`
	Severity   Severity          `json:"severity"`
	Tags       []string          `json:"tags"`
	Time       time.Time         `json:"time"` // event time of the firing event
	Source     string            `json:"source"`
	Fields     map[string]any    `json:"fields,omitempty"` // the firing event's common fields ("ip", "user", ...; docs/log-types.md)
	Message    string            `json:"message"`
	Group      map[string]any    `json:"group"` // key expression text -> value (nil for a missing value)
	Count      int64             `json:"count"` // 1 for a stateless rule
	Distinct   int64             `json:"distinct,omitempty"`
	Sum        *float64          `json:"sum,omitempty"` // a sum rule's total (nil for every other rule)
	FirstSeen  time.Time         `json:"first_seen"`
	LastSeen   time.Time         `json:"last_seen"`
	Suppressed int64             `json:"suppressed"`
	ID         string            `json:"id"`     // 32 hex digits, stable: the same input gives the same id
	Events     []json.RawMessage `json:"events"` // the firing event; samples for aggregations, the firing one last
	Meta       map[string]any    `json:"meta"`

	// Raw is the alert exactly as libsecdet rendered it (compact JSON).
	Raw json.RawMessage `json:"-"`
}

// LogType is the log type of the firing event ("okta", "cloudtrail", ...;
// "jsonl" when it had none; docs/log-types.md): its Fields["type"], what a
// sink's "log_types" chooses by (docs/sinks.md, "Routing").
func (a Alert) LogType() string {
	s, _ := a.Fields["type"].(string)
	return s
}

// ParseAlert parses one alert's JSON (what libsecdet and its sinks produce).
// Raw is set to a copy of data.
func ParseAlert(data []byte) (Alert, error) {
	var a Alert
	raw := make([]byte, len(data))
	copy(raw, data)
	if err := json.Unmarshal(raw, &a); err != nil {
		return Alert{}, fmt.Errorf("secdet: parsing an alert: %w", err)
	}
	a.Raw = raw
	return a, nil
}
