/* engine.h — the engine's insides, shared by the files of src/engine:
 *
 *   engine.c   the public engine object: options, life cycle, callbacks,
 *              stats, flush and snapshots
 *   rules.c    loading rule sources and swapping the compiled ruleset
 *   sources.c  sources, their formats (built-in and custom), reloading
 *   push.c     the push API: bytes → decoder → one event at a time → eval
 *   eval.c     evaluation, the hot path: dispatch, rule runs, stateless
 *              alerts, records for the correlator, stage 1's forwards
 *   fire.c     the correlator's due alerts → alerts
 *   sinks.c    adding sinks, handing alerts to them, draining
 *   stage.c    the scale-out stages' hooks (outer.h)
 *   scan_jobs.c, scan_split.c  secdet_scan_file: one file on several
 *              engines and threads (scan_jobs.h)
 *   tuning.c   exceptions and severity cases on events, per-rule figures
 *
 * The compiled program is immutable; everything that depends on it and
 * changes per event (VM registers, field cache, candidate bitmap, key value
 * slots) lives beside it in an engine_ruleset, built whole before it
 * replaces the old one, so a failed load leaves the engine exactly as it was.
 * Parts outside the engine (src/io, src/kafka) see only outer.h.
 */
#ifndef SECDET_ENGINE_ENGINE_H
#define SECDET_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secdet.h"
#include "alert/alert.h"
#include "correlate/correlate.h"
#include "engine/outer.h"
#include "event/decode.h"
#include "event/event.h"
#include "event/logtype.h"
#include "util/diag.h"
#include "vm/program.h"
#include "vm/vm.h"

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
    uint64_t *cand_bits; /* one bit per rule; all zero between events */
    uint32_t nwords;
    sd_values *key_vals; /* room for the most keys any rule has */
    /* Correlation: a fingerprint per rule (snapshots, reloads), room for
     * throttle keys beside the group keys, and whether any rule needs event
     * time and the watermark (an aggregation or a throttle). */
    corr_fp *fps;
    sd_values *tkey_vals;
    bool stateful;
    uint64_t scan_bad_tag; /* ev's scan plan failed for this source tag (eval.c) */
    /* Per-rule figures (tuning.h); NULL when they could not be allocated. */
    struct rule_counts *counts;
} engine_ruleset;

typedef struct engine_source {
    char *name;
    secdet_format format;
    lt_path time_path;  /* the time_field given, else the format's default */
    bool has_time;      /* time_path is set (time_field "" means none) */
    bool explicit_time; /* the time_field was given: it wins over the log type's */
    sd_logtype *lt;     /* its log type (the registry's); NULL when it routes */
    bool route;         /* log type "auto": each event's by its shape (profile.c) */
    decoder *dec;
    char *time_field;     /* the time_field given (NULL: none), to add the same source elsewhere (scan_jobs.c) */
    bool custom;          /* a format of secdet_format_register */
    uint32_t prog_source; /* index in prog->source_names, valid for prog_gen */
    uint64_t prog_gen;
    const sd_logtype *prog_lt_of; /* the log type prog_lt is the index of (profile.c), valid for prog_gen */
    uint32_t prog_lt;
} engine_source;

/* What profile.c decided of the event under evaluation: whose it is. */
typedef struct event_profile {
    const char *source;   /* the source name rules and alerts see (a routed event: its log type's) */
    const sd_logtype *lt; /* never NULL (jsonl when nothing else) */
    lt_paths time;        /* the paths its time is read from */
    bool time_is_lt;      /* ... the log type's own (an absent time is then counted) */
    uint32_t prog_source; /* program indexes for `on`: of the source name, */
    uint32_t prog_lt;     /* and of the log type's name */
} event_profile;

/* Per source name: events whose time could not be read, and whether that
 * was said (once per source). */
typedef struct source_stat {
    char *name;
    uint64_t time_unreadable;
    bool warned;
} source_stat;

/* The scale-out stages' hooks (stage.c; outer.h says what each means). */
typedef struct engine_stage {
    engine_forward_fn fwd_fn; /* stage 1 */
    void *fwd_user;
    bool external_wm; /* the watermark moves only when told */
    bool fwd_late;    /* stage 1 drops (and counts) what is late by its own event time */
    bool fwd_records; /* stage 1 forwards whole records, not matches (sd_engine_set_forward_records) */
    bool batch_any;   /* newest event time since sd_engine_take_batch_time */
    int64_t batch_max;
} engine_stage;

/* The one rule a forwarded event is evaluated for (stage 2), at its time,
 * and the group it was forwarded for (a sequence whose steps have keys of
 * their own may make records of several groups from one event: only this
 * one's is kept here). */
typedef struct eval_only {
    uint32_t rule;
    int64_t time_ns;
    const char *key; /* NULL: every group */
    uint32_t key_len;
} eval_only;

struct secdet_engine {
    secdet_engine_opts opts;
    rule_text *texts;
    size_t ntexts, cap_texts;
    engine_ruleset *rs; /* NULL until rules load */
    uint64_t prog_gen;  /* bumped whenever rs changes */
    engine_source *sources;
    size_t nsources, cap_sources;
    lt_path default_time_path;  /* .eventTime */
    sd_logtypes logtypes;       /* the log types this engine knows (event/logtype.h) */
    event_profile profile;      /* of the event under evaluation (profile.c) */
    const sd_logtype *jsonl_lt; /* the registry's jsonl, found for logtypes.gen jsonl_gen - 1 (profile.c) */
    uint64_t jsonl_gen;
    source_stat *sstats; /* per source name (profile.c) */
    size_t nsstats, cap_sstats;
    struct engine_peek *peek; /* events read without evaluating them (reader.c); NULL until used */
    /* The top-level members that mark a JSON line of an auto source as a
     * possible envelope (sd_decode_envelope_markers): read by the same scan as
     * the rules' paths, so telling costs nothing (eval.c). */
    sd_path envelope_paths[DECODE_ENVELOPE_MARKERS];
    secdet_alert_fn alert_fn;
    void *alert_user;
    secdet_error_fn error_fn;
    void *error_user;
    secdet_stats stats;
    alert_ctx alerts;
    int64_t push_time_ns; /* time of the current push, taken lazily (0 = not yet) */
    corr *corr;           /* correlation state; survives rule reloads (remapped) */
    /* Per-event scratch, reused: group key bytes, throttle key bytes,
     * distinct values, a record's aux, the event's compact JSON. */
    buf keybuf, tkeybuf, valbuf, auxbuf, evbuf, scratch, fieldsbuf;
    const sd_event *evbuf_ev; /* evbuf holds this event's JSON (eval.c event_json) */
    uint64_t evbuf_gen;       /* ... at this generation */
    bool busy;                /* inside a push: callbacks may not re-enter */
    bool accept_always;       /* no SECDET_ERR_BUSY (sd_engine_push_message_always) */
    struct engine_ext *ext;   /* custom formats (sources.h); NULL until used */
    struct hub *hub;          /* sinks and their delivery thread (src/sink); NULL until a sink is added */
    secdet_sink_log_fn sink_log;
    void *sink_log_user;
    engine_stage stage;
    uint64_t evicted_more; /* groups evicted by the engines of a split scan (scan_jobs.c) */
    struct {
        void *state;
        const engine_part_ops *ops;
    } parts[ENGINE_NPARTS];
};

/* rules.c */
void sd_engine_ruleset_free(engine_ruleset *rs);
/* Replaces every loaded text with texts[0..n) (their contents taken on
 * success, freed on failure; the array stays the caller's), compiled as one
 * set; all or nothing, like a load. */
secdet_status sd_engine_replace_texts(secdet_engine *e, rule_text *texts, size_t n, diag_list *d);

/* sources.c */
engine_source *sd_engine_find_source(secdet_engine *e, const char *name);
void sd_engine_source_free(engine_source *s);
/* Frees e->ext (custom formats). */
void sd_engine_ext_free(secdet_engine *e);

/* eval.c: evaluates one event of src, a parsed tree or JSON text (only:
 * NULL for every runnable rule). sd_eval_text is false when the scanner does
 * not take the text (then it goes through a tree), or when `flags` ask to
 * decline a possible envelope and it is one. */
void sd_eval_tree(secdet_engine *e, engine_source *src, const cJSON *root, const eval_only *only);
bool sd_eval_text(secdet_engine *e, engine_source *src, const char *text, size_t len, unsigned flags,
                  const eval_only *only);
/* The index of the program's source `name`, UINT32_MAX when no rule names it. */
uint32_t sd_eval_program_source(const program *p, const char *name);
/* The throttle key and aux of a held record of rule r (group key bytes
 * `key`) whose event's JSON is json, into e->tkeybuf and e->auxbuf (the event is read again: only
 * after a snapshot is read or the rules are swapped). False when they
 * cannot be made. */
bool sd_eval_remake_extra(secdet_engine *e, uint32_t r, const char *json, size_t len, const char *key,
                          uint32_t key_len);

/* profile.c: the event's source, log type and time paths (into
 * e->profile, ev->lt, ev->time), for an event of source src just begun. */
void sd_engine_profile(secdet_engine *e, engine_source *src, sd_event *ev);
/* The same for an event kept by name only (an aggregation's firing event:
 * the source it was attributed to). */
void sd_engine_profile_named(secdet_engine *e, const char *name, sd_event *ev);
/* The event's time by its profile; the time of the push when it has none
 * (counted and said once per source when it cannot be read). */
int64_t sd_engine_event_time(secdet_engine *e, sd_event *ev);
/* The alert's "fields" object of the event (its common fields) into out. */
void sd_engine_fields_json(sd_event *ev, buf *out);
/* logtypes.c: frees the peek event. */
void sd_engine_peek_free(secdet_engine *e);
/* Frees the per-source counters. */
void sd_engine_profile_free(secdet_engine *e);
/* The scan plan of ev for this engine: the rules' paths (ev's table) and
 * the extra paths the engine reads — the default time field, the envelope
 * markers, the sources' time fields, the log types' time fields and
 * shapes, then the mappings of the common fields in `mask` — whose indexes
 * it tells the log types' paths (lt_path.extra). Rebuilt when the tag
 * (sd_engine_plan_tag) changes. 0, or -1 when it cannot be made. */
int sd_engine_plan_setup(secdet_engine *e, sd_event *ev, unsigned mask);
uint64_t sd_engine_plan_tag(const secdet_engine *e);

/* fire.c */
/* Builds and hands out every alert the correlator has made due (after
 * sd_corr_advance, sd_corr_flush, sd_corr_set_watermark). */
void sd_engine_fire_due(secdet_engine *e);
/* Makes the throttle key and aux of every record held for ordering again,
 * from its event (after a snapshot is read, whose records carry neither,
 * and after a ruleset swap, which may change them). */
void sd_engine_remake_aux(secdet_engine *e);

/* sinks.c: hands an alert to every sink (filters, queues). */
void sd_engine_sinks_offer(secdet_engine *e, const secdet_alert *a);
/* The end of every push, flush or drain of input: clears `busy` and writes
 * what the sinks staged for their spools, so it is on disk (write-ahead)
 * before the call returns. */
void sd_engine_push_done(secdet_engine *e);

#endif
