/* eval_int.h — what evaluation's two files share: eval.c (the hot path:
 * dispatch, stateless alerts, records) and eval_agg.c (the records of
 * sequences whose steps have keys of their own or name count rules, and of
 * sum rules). */
#ifndef SECDET_ENGINE_EVAL_INT_H
#define SECDET_ENGINE_EVAL_INT_H

#include "engine/engine.h"

typedef struct eval_ctx {
    secdet_engine *e;
    engine_source *src;
    const char *sname; /* the event's source name (profile.c: a routed event's is its log type's) */
    const eval_only *only;
    bool have_time;
    bool late;       /* older than the watermark: no correlation */
    corr_event *cev; /* this event's JSON for the correlator, made on first use */
} eval_ctx;

/* eval.c */
/* Whether the rule's `on` holds for the event: its source or its log type's source, or no `on`. */
bool sd_eval_source_ok(const vm_rule *rule, const sd_event *ev);
/* Key values as group key bytes into b (each value's JSON, then a NUL); false on OOM. */
bool sd_eval_key_bytes(buf *b, const sd_values *vals, uint32_t n);
/* Runs key programs into vals; false when the budget ran out. */
bool sd_eval_run_keys(vm_ctx *vm, sd_event *ev, const rule_key *keys, uint32_t n, sd_values *vals);
/* Stage 1: hands the match of rule r (key bytes in e->keybuf) on. Always true. */
bool sd_eval_forward(eval_ctx *x, uint32_t r);
/* Stage 1 forwarding matches rather than records (sd_engine_set_forward_records). */
bool sd_eval_forwards_matches(const secdet_engine *e);
/* The event as a record of rule r: key bytes in e->keybuf, group values for
 * its aux, values (nvals) in e->valbuf, steps in mask. False when the budget ran out. */
bool sd_eval_add_record(eval_ctx *x, uint32_t r, const sd_values *group, uint32_t ngroup, uint32_t nvals,
                        uint64_t mask);

/* eval_agg.c */
/* Whether a sequence's records are made by sd_eval_sequence: its steps have
 * keys of their own, or name count rules (whose keys its records carry). */
bool sd_eval_sequence_apart(const vm_rule *rule);
/* The records of such a sequence: one per group the steps the event
 * satisfies make. False when the budget ran out. */
bool sd_eval_sequence(eval_ctx *x, uint32_t r);
/* A sum rule's value of the event into e->valbuf (sd_corr_sum_put): 1, 0
 * when P holds no number (the rule ignores the event), -1 when the budget ran out. */
int64_t sd_eval_sum_value(secdet_engine *e, const vm_rule *rule);
/* The keys that made group key bytes `key` of rule `rule` on the event
 * under evaluation: a sequence's step's own, else the rule's. */
const rule_key *sd_eval_record_keys(secdet_engine *e, const vm_rule *rule, const char *key, uint32_t key_len);

#endif
