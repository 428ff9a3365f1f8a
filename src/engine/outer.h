/* outer.h — the engine as the parts that drive it see it: the narrow
 * interface of src/io (event loop inputs), src/kafka (the Kafka input and
 * the scale-out stages) and the `secdet` command (src/cli). They use the public API (secdet_push, ...)
 * and this, never the engine's insides (engine.h), so the engine changes
 * without them and they change without it.
 *
 * - Reporting: bad input goes through sd_engine_report_malformed (counted and
 *   told to the error callback), other trouble through sd_engine_report.
 * - Parts: an outer part keeps its per-engine state in a slot of the engine
 *   (sd_engine_part_set): the engine frees it with itself and adds its
 *   counters to secdet_stats_get, without knowing what it is.
 * - Scale-out stages: the hooks the two Kafka stages drive (stage.c).
 */
#ifndef SECDET_ENGINE_OUTER_H
#define SECDET_ENGINE_OUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secdet.h"
#include "util/buf.h"
#include "util/diag.h"

/* ---- Options, sources, reporting ---- */

/* The options the engine was made with (inputs apply its limits). */
const secdet_engine_opts *sd_engine_opts(const secdet_engine *e);
/* Inside a push (a callback running): the engine may not be changed now. */
bool sd_engine_busy(const secdet_engine *e);
/* Whether a source of that name was added. */
bool sd_engine_has_source(const secdet_engine *e, const char *name);
/* Bad input of `source` (where: a line or record number, or 0): counted in
 * stats.malformed and handed to the error callback. */
void sd_engine_report_malformed(secdet_engine *e, const char *source, uint64_t where, const char *message);
/* To the error callback, not counted: trouble that is not bad input (a
 * broker unreachable), or bad input another engine counted already (stage
 * 2's partition engines tell the input's engine). */
void sd_engine_report(secdet_engine *e, const char *source, uint64_t where, const char *message);

/* ---- Pushing ---- */

/* Some sink takes no more alerts now (its spool cannot write and queue_max
 * alerts wait in its memory): secdet_push answers SECDET_ERR_BUSY. Any
 * thread; cheap. */
bool sd_engine_sinks_saturated(const secdet_engine *e);
/* secdet_push + secdet_source_end of one complete message, never refused
 * with SECDET_ERR_BUSY: what an input had queued when it stops is evaluated
 * whatever the sinks say (its queue bounds it). */
secdet_status sd_engine_push_message_always(secdet_engine *e, const char *source, const void *bytes, size_t len);
/* Hands an alert made by another engine to this one's callback and sinks
 * (stage 2's partition engines give theirs to the input's engine), and
 * writes what its sinks staged (sd_engine_commit). */
void sd_engine_hand_out(secdet_engine *e, const secdet_alert *alert);
void sd_engine_commit(secdet_engine *e);

/* Sink i of the engine takes the configuration of `next` (made from the same
 * JSON object, its secret references read again) when it differs, keeping
 * its queue, spool and counters: what `secdet run`'s SIGHUP does
 * (sink_secrets.h: sd_sink_reconfigure says everything). */
secdet_status sd_engine_sink_reconfigure(secdet_engine *e, size_t i, secdet_sink *next, bool *changed);

/* ---- Reading without evaluating (`secdet scan`'s merge of its inputs) ---- */

/* One event a reader decoded: its JSON text (valid during the call), the
 * source it belongs to (a routing source's event: its log type's name;
 * push it there with secdet_push_event), its time when it has one, and its
 * line or record number. */
typedef struct engine_read_event {
    const char *json;
    size_t len;
    const char *source;
    int64_t time_ns;
    bool has_time;
    uint64_t where;
} engine_read_event;
/* Return 0 to go on, non-zero to stop the feed. */
typedef int (*engine_read_fn)(void *user, const engine_read_event *ev);
typedef struct engine_reader engine_reader;
/* A reader of the bytes of added source `source`: a decoder of its format
 * of its own (envelopes unwrapped as a push would), whose events are handed
 * to a callback with their time instead of being evaluated. Malformed input
 * is counted and reported as a push's is. NULL: no such source, or OOM. */
engine_reader *sd_engine_reader_new(secdet_engine *e, const char *source);
/* Feeds bytes (end: the end of the stream instead). SECDET_ERR_DECODE when
 * something was malformed (reported), SECDET_ERR_NOMEM. Not while a push
 * runs, and fn may not push. */
secdet_status sd_engine_reader_feed(engine_reader *r, const void *bytes, size_t len, bool end, engine_read_fn fn,
                                    void *user);
void sd_engine_reader_free(engine_reader *r);
/* A quiet reader neither counts nor reports malformed input (a first look
 * at a file that will be read again). */
void sd_engine_reader_set_quiet(engine_reader *r, bool quiet);

/* ---- Parts ---- */

typedef enum { ENGINE_PART_IO, ENGINE_PART_KAFKA, ENGINE_NPARTS } engine_part_kind;

typedef struct engine_part_ops {
    /* Adds the part's counters to *out (secdet_stats_get); may be NULL. */
    void (*stats)(const void *state, secdet_stats *out);
    /* Frees the part (secdet_engine_free, before anything else goes). */
    void (*free)(void *state);
} engine_part_ops;

/* The part's state, or NULL when it has none yet. */
void *sd_engine_part(const secdet_engine *e, engine_part_kind kind);
/* Gives the engine a part's state (ops: static storage). SECDET_ERR_EXISTS
 * when the slot is taken. */
secdet_status sd_engine_part_set(secdet_engine *e, engine_part_kind kind, void *state, const engine_part_ops *ops);

/* ---- Scale-out stages (docs/scale-out.md) ---- */

/* Stage 1: what goes to the repartition topic instead of into this engine's
 * correlation state. One per (event, aggregation rule that takes it), and
 * per (event, throttled stateless rule that matched): the throttle, too,
 * must see every event of its key in one place. Valid only during the call. */
typedef struct engine_forward {
    const char *rule;   /* the rule's name */
    const char *source; /* the event's source name */
    const char *key;    /* group key bytes (`by` values; a stateless rule's throttle keys) */
    uint32_t key_len;
    int64_t time_ns;  /* event time, as this stage decided it */
    const char *json; /* the event's compact JSON */
    size_t len;
    /* With sd_engine_set_forward_records: the rest of the correlation record
     * the match made, as the engine's own correlator would have kept it (its
     * rule's index, distinct or sum values, sequence steps, throttle key,
     * aux bytes), for sd_engine_push_record. Zero otherwise. */
    bool record;
    /* The record's rule is an aggregation with a throttle: its throttle's
     * state spans groups (`throttle by` other keys, or none), so every
     * record of the rule must go to one place, not one per group key. */
    bool throttled;
    uint32_t rule_index;
    const char *vals;
    uint32_t vals_len, nvals;
    uint64_t mask;
    const char *tkey;
    uint32_t tkey_len;
    const char *aux;
    uint32_t aux_len;
} engine_forward;
typedef void (*engine_forward_fn)(void *user, const engine_forward *f);

/* Stage 1: aggregation rules and throttled stateless rules are no longer
 * evaluated into state here; their matches go to fn. Other stateless rules
 * alert as usual. fn NULL: back to normal. */
void sd_engine_set_forward(secdet_engine *e, engine_forward_fn fn, void *user);
/* With a forward callback: forward each correlation record of an
 * aggregation the engine would have kept (f->record set: one per record,
 * after the rule's `by`, distinct values, steps and aux are computed)
 * instead of each match for the next stage to evaluate again;
 * sd_engine_push_record keeps it. A throttled stateless rule's match is
 * still forwarded as a match (f->record false: sd_engine_push_forwarded_group),
 * since one engine throttles it as it comes, with the event at hand. For
 * engines compiled from the same rules (`secdet scan -j`): the record names
 * its rule by index. */
void sd_engine_set_forward_records(secdet_engine *e, bool records);
/* Keeps a record forwarded by sd_engine_set_forward_records's engine in this
 * engine's correlation state, as its own evaluation of the event would have
 * (late by this engine's time: counted late, dropped), then delivers what
 * falls due. The event is not parsed: its JSON is kept as the record's
 * sample. SECDET_ERR_INVALID_ARG for a rule index not loaded here (counted
 * malformed). */
secdet_status sd_engine_push_record(secdet_engine *e, const engine_forward *f);
/* Whether a loaded rule keeps state across events (an aggregation or a
 * throttle): its alerts then depend on the order of the events, so they
 * cannot be split across engines by position (`secdet scan -j`). */
bool sd_engine_is_stateful(const secdet_engine *e);
/* Stage 1 fed one ordered stream (a range of a file, `secdet scan -j`):
 * an event late by this engine's own newest time is late downstream too,
 * whose newest time is no older; drop it here (counted late) instead of
 * forwarding it. Not for Kafka: its stage 2 goes by the slowest partition. */
void sd_engine_set_forward_late(secdet_engine *e, bool drop);
/* Moves the engine's event time to t (never back) as an event at t that no
 * rule takes would, and delivers what falls due: a correlator fed forwarded
 * events sees the times of the events between them so (`secdet scan -j`). */
void sd_engine_advance(secdet_engine *e, int64_t t);
/* Whether fn is the forward callback with `user` now. */
bool sd_engine_forwards_to(const secdet_engine *e, const void *user);
/* Stage 2 (and a single-stage Kafka input): the watermark moves only by
 * sd_engine_set_watermark; throttled stateless rules wait for it like
 * aggregations. Before any push. */
void sd_engine_set_external_watermark(secdet_engine *e);
/* Stage 2: evaluates one forwarded event for the rule named `rule` only,
 * at time_ns (stage 1's time). SECDET_ERR_DECODE for bad JSON (counted
 * malformed), SECDET_ERR_INVALID_ARG for a rule not loaded (the event is
 * counted malformed too, with the error callback told). */
secdet_status sd_engine_push_forwarded(secdet_engine *e, const char *source, const char *rule, int64_t time_ns,
                                       const char *json, size_t len);
/* The same, for the group (key bytes) the event was forwarded for: a rule
 * that makes records of several groups from one event (a sequence whose
 * steps have keys of their own) keeps only that group's here. */
secdet_status sd_engine_push_forwarded_group(secdet_engine *e, const char *source, const char *rule, const char *key,
                                             uint32_t key_len, int64_t time_ns, const char *json, size_t len);
/* Moves the watermark (never back); due alerts are delivered. */
void sd_engine_set_watermark(secdet_engine *e, int64_t wm_ns);
/* The newest event time evaluated (with time-keeping rules loaded) since
 * the previous call; false when none. Stage 1 reports it per partition. */
bool sd_engine_take_batch_time(secdet_engine *e, int64_t *out);
/* The newest event time this engine has seen; false when none yet. */
bool sd_engine_newest_time(const secdet_engine *e, int64_t *out);
/* Correlation state as bytes (the snapshot file's format), and back. */
secdet_status sd_engine_snapshot_bytes(secdet_engine *e, buf *out);
secdet_status sd_engine_restore_bytes(secdet_engine *e, const char *data, size_t len, const char *name, diag_list *d);
/* Loads into dst (no rules yet) the rule texts src compiled. */
secdet_status sd_engine_copy_rules(secdet_engine *dst, const secdet_engine *src, diag_list *d);

#endif
