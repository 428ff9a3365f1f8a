/* engine_internal.h — the engine's insides, shared by engine.c (lifecycle,
 * accessors), engine_rules.c (loading and swapping the compiled ruleset) and
 * engine_input.c (sources, decoding, evaluation of each event).
 *
 * The compiled program is immutable; everything that depends on it and
 * changes per event (VM registers, field cache, candidate bitmap, key value
 * slots) lives beside it in an engine_ruleset, built whole before it
 * replaces the old one, so a failed load leaves the engine exactly as it was.
 */
#ifndef SECDET_ENGINE_ENGINE_H
#define SECDET_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secdet.h"
#include "alert/alert.h"
#include "correlate/correlate.h"
#include "event/decode.h"
#include "event/event.h"
#include "util/diag.h"
#include "vm/program.h"
#include "vm/vm.h"

struct secdet_diagnostics {
    diag_list list;
};

typedef struct rule_text {
    char *name;
    char *text;
    size_t len;
} rule_text;

typedef struct engine_ruleset {
    program *prog;
    vm_ctx vm;
    sd_event ev;
    /* Rules that run at the top level: public and (for now) stateless. */
    uint8_t *runnable;
    uint32_t *always_run; /* prog->always filtered by runnable, in rule order */
    uint32_t nalways_run;
    uint64_t *cand_bits;  /* one bit per rule; all zero between events */
    uint32_t nwords;
    sd_values *key_vals;  /* room for the most keys any rule has */
    /* Correlation: a fingerprint per rule (snapshots, reloads), the firing
     * event of an aggregation alert (re-parsed from its sample JSON), room
     * for throttle keys beside the group keys, and whether any rule needs
     * event time and the watermark (an aggregation or a throttle). */
    corr_fp *fps;
    sd_event alert_ev;
    sd_values *tkey_vals;
    bool stateful;
    uint64_t scan_bad_tag; /* ev's scan plan failed for this source tag (engine_input.c) */
} engine_ruleset;

typedef struct engine_source {
    char *name;
    secdet_format format;
    sd_path time_path;
    bool has_time;
    decoder *dec;
    uint32_t prog_source; /* index in prog->source_names, valid for prog_gen */
    uint64_t prog_gen;
} engine_source;

/* Stage 1 of a scale-out (docs/scale-out.md): what goes to the
 * repartition topic instead of into this engine's correlation state. One
 * per (event, aggregation rule that takes it), and per (event, throttled
 * stateless rule that matched): the throttle, too, must see every event of
 * its key in one place. Everything is valid only during the call. */
typedef struct engine_forward {
    const char *rule;     /* the rule's name */
    const char *source;   /* the event's source name */
    const char *key;      /* group key bytes (`by` values; a stateless rule's throttle keys) */
    uint32_t key_len;
    int64_t time_ns;      /* event time, as this stage decided it */
    const char *json;     /* the event's compact JSON */
    size_t len;
} engine_forward;
typedef void (*engine_forward_fn)(void *user, const engine_forward *f);

struct secdet_engine {
    secdet_engine_opts opts;
    rule_text *texts;
    size_t ntexts, cap_texts;
    engine_ruleset *rs; /* NULL until rules load */
    uint64_t prog_gen;  /* bumped whenever rs changes */
    engine_source *sources;
    size_t nsources, cap_sources;
    sd_path default_time_path; /* .eventTime */
    /* The top-level members that mark a JSON line of an auto source as a
     * possible envelope (decode_envelope_markers): read by the same scan as
     * the rules' paths, so telling costs nothing (engine_input.c). */
    sd_path envelope_paths[DECODE_ENVELOPE_MARKERS];
    secdet_alert_fn alert_fn;
    void *alert_user;
    secdet_error_fn error_fn;
    void *error_user;
    secdet_stats stats;
    alert_ctx alerts;
    int64_t push_time_ns; /* time of the current push, taken lazily (0 = not yet) */
    corr *corr;           /* correlation state; survives rule reloads (remapped) */
    buf keybuf, valbuf, evbuf, scratch; /* per-record scratch, reused */
    const sd_event *evbuf_ev;  /* evbuf holds this event's JSON (engine_input.c event_json) */
    uint64_t evbuf_gen;        /* ... at this generation */
    bool busy;            /* inside a push: callbacks may not re-enter */
    struct engine_ext *ext; /* custom formats and inputs (engine_sources.h); NULL until used */
    struct hub *hub;      /* sinks and their delivery thread (src/sink); NULL until a sink is added */
    bool accept_always;   /* no SECDET_ERR_BUSY: src/io evaluates what its inputs queued when stopping */
    secdet_sink_log_fn sink_log;
    void *sink_log_user;
    engine_forward_fn fwd_fn; /* stage 1: set by engine_set_forward */
    void *fwd_user;
    bool stage2;              /* stage 2: engine_set_stage2 */
    bool batch_any;           /* newest event time since engine_take_batch_time */
    int64_t batch_max;
    bool only;                /* engine_push_forwarded: evaluate only_rule at only_time */
    uint32_t only_rule;
    int64_t only_time;
};

/* engine_rules.c */
void engine_ruleset_free(engine_ruleset *rs);
/* Replaces every loaded text with texts[0..n) (their contents taken on
 * success, freed on failure; the array stays the caller's), compiled as one
 * set; all or nothing, like a load. */
secdet_status engine_replace_texts(secdet_engine *e, rule_text *texts, size_t n, diag_list *d);
/* engine_sources.c: frees e->ext (custom formats, inputs). */
void engine_ext_free(secdet_engine *e);
/* engine_input.c */
void engine_source_free(engine_source *s);
/* engine_sinks.c: hands an alert to every sink (filters, queues). */
void engine_sinks_offer(secdet_engine *e, const secdet_alert *a);
/* Some sink's spool takes no alerts and queue_max of them wait in its
 * memory: pushes are refused (SECDET_ERR_BUSY) and inputs wait until the
 * delivery thread makes room. Any thread; cheap (one atomic per sink). */
bool engine_sinks_saturated(const secdet_engine *e);
/* The end of every push, flush or drain of input: clears `busy` and writes
 * what the sinks staged for their spools, so it is on disk (write-ahead)
 * before the call returns. */
void engine_push_done(secdet_engine *e);
/* The correlator's fire callback: builds and delivers an aggregation alert. */
void engine_fire(void *user, const corr_fire *f);
/* Every alert, stateless or aggregated: counted, to the callback, to the
 * sinks. Stage 2 hands its partition engines' alerts to the main engine. */
void engine_hand_out(secdet_engine *e, const secdet_alert *alert);

/* ---- Scale-out stages (engine_stage.c; src/kafka drives them) ---- */
/* Stage 1: aggregation rules and throttled stateless rules are no longer
 * evaluated into state here; their matches go to fn. Other stateless rules
 * alert as usual. fn NULL: back to normal. */
void engine_set_forward(secdet_engine *e, engine_forward_fn fn, void *user);
/* Stage 2: the watermark moves only by engine_set_watermark; throttled
 * stateless rules wait for it like aggregations. Before any push. */
void engine_set_stage2(secdet_engine *e);
/* Stage 2: evaluates one forwarded event for the rule named `rule` only,
 * at time_ns (stage 1's time). SECDET_ERR_DECODE for bad JSON (counted
 * malformed), SECDET_ERR_INVALID_ARG for a rule not loaded (the event is
 * counted malformed too, with the error callback told). */
secdet_status engine_push_forwarded(secdet_engine *e, const char *source, const char *rule, int64_t time_ns,
                                    const char *json, size_t len);
/* Stage 2: moves the watermark (never back); due alerts are delivered. */
void engine_set_watermark(secdet_engine *e, int64_t wm_ns);
/* The newest event time evaluated (with time-keeping rules loaded) since
 * the previous call; false when none. Stage 1 reports it per partition. */
bool engine_take_batch_time(secdet_engine *e, int64_t *out);
/* The newest event time this engine has seen; false when none yet. */
bool engine_newest_time(const secdet_engine *e, int64_t *out);
/* Correlation state as bytes (the snapshot file's format), and back. */
secdet_status engine_snapshot_bytes(secdet_engine *e, buf *out);
secdet_status engine_restore_bytes(secdet_engine *e, const char *data, size_t len, const char *name,
                                   diag_list *d);
/* Loads into dst (no rules yet) the rule texts src compiled. */
secdet_status engine_copy_rules(secdet_engine *dst, const secdet_engine *src, diag_list *d);

#endif
