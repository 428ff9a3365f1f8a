/* tuning.h — the engine's side of tuning (tuning.c): exceptions and
 * severity cases run on events, and the per-rule figures.
 *
 * eval.c asks, once a rule matched, whether an exception takes the event
 * out (sd_tune_except), and which severity the alert gets
 * (sd_tune_severity; for an aggregation the severity its firing record
 * would give is kept in front of the record's aux, sd_tune_aux_*). Every
 * alert made, every alert a throttle held back and every event an
 * exception took out is counted per rule (and per exception) in counters
 * that belong to the ruleset and follow the rules across a reload.
 */
#ifndef SECDET_ENGINE_TUNING_H
#define SECDET_ENGINE_TUNING_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "vm/tuning.h"

typedef struct rule_counts {
    uint32_t nrules;
    uint64_t *alerts;      /* per rule: alerts made (before the sinks' filters) */
    uint64_t *throttled;   /* per rule: alerts its throttle held back (counted by the correlator) */
    uint64_t *excepted;    /* per rule: events its exceptions took out */
    uint32_t *except_base; /* per rule: its first exception's index in except_hits */
    uint64_t *except_hits; /* per exception */
} rule_counts;

/* Gives next its counters (carried over from the engine's current ruleset
 * by rule name, and by an exception's place) and hands its throttle
 * counters to the correlator. Before next replaces e->rs. */
void sd_tune_swap(secdet_engine *e, engine_ruleset *next);
void sd_tune_counts_free(rule_counts *c);

/* Whether an exception of rule r takes the event out (the event's time is
 * set): 1 yes (counted), 0 no, -1 the instruction budget ran out. */
int sd_tune_except(secdet_engine *e, uint32_t r, sd_event *ev);
/* The severity rule's cases give the event; false when none holds (the
 * rule's own then), or the rule has none. */
bool sd_tune_severity(secdet_engine *e, const vm_rule *rule, sd_event *ev, secdet_severity *out);
/* An alert of rule r was made. */
void sd_tune_count_alert(secdet_engine *e, uint32_t r);

/* An aggregation record's aux starts with the severity its event gives
 * (one byte, a rule with severity cases only): written into e->auxbuf
 * before the template's texts, and taken off the aux when it fires. */
void sd_tune_aux_severity(secdet_engine *e, const vm_rule *rule, sd_event *ev);
bool sd_tune_aux_take(const vm_rule *rule, const char **aux, uint32_t *len, secdet_severity *out);

static inline bool sd_tune_has_cases(const vm_rule *r) { return r->tuning && r->tuning->ncases; }
static inline bool sd_tune_has_excepts(const vm_rule *r) { return r->tuning && r->tuning->nexcepts; }

#endif
