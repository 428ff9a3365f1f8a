package secdet

/*
#include <secdet.h>
*/
import "C"

// Stats are the engine's counters (secdet_stats).
type Stats struct {
	Events         uint64 `json:"events"`          // events evaluated
	TextEvents     uint64 `json:"text_events"`     // of those, read by the one-pass scanner (no JSON tree)
	Malformed      uint64 `json:"malformed"`       // events that could not be decoded (skipped)
	Alerts         uint64 `json:"alerts"`          // alerts delivered
	RulesRun       uint64 `json:"rules_run"`       // rule programs run (after the dispatch index)
	BudgetExceeded uint64 `json:"budget_exceeded"` // events that hit the instruction budget
	Late           uint64 `json:"late"`            // events older than the lateness allows
	Bytes          uint64 `json:"bytes"`           // bytes pushed
	Evicted        uint64 `json:"evicted"`         // correlation groups evicted to stay under the state cap
	Groups         uint64 `json:"groups"`          // correlation groups held now
	StateBytes     uint64 `json:"state_bytes"`     // bytes of correlation state held now
	TimeUnreadable uint64 `json:"time_unreadable"` // events whose time could not be read (took the time of the push)
}

// Stats returns the engine's counters.
func (e *Engine) Stats() (Stats, error) {
	k, err := e.lock()
	if err != nil {
		return Stats{}, err
	}
	defer e.mu.Unlock()
	return k.stats(), nil
}

func (k *core) stats() Stats {
	var s C.secdet_stats
	C.secdet_stats_get(k.c, &s)
	return Stats{
		Events: uint64(s.events), TextEvents: uint64(s.text_events), Malformed: uint64(s.malformed), Alerts: uint64(s.alerts),
		RulesRun: uint64(s.rules_run), BudgetExceeded: uint64(s.budget_exceeded), Late: uint64(s.late),
		Bytes: uint64(s.bytes), Evicted: uint64(s.evicted), Groups: uint64(s.groups), StateBytes: uint64(s.state_bytes),
		TimeUnreadable: uint64(s.time_unreadable),
	}
}
