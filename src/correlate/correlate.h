/* correlate.h — the correlator: count, distinct and sequence windows over
 * event time, throttles, bounded state, and snapshots of all of it.
 *
 * The engine evaluates each event statelessly (the VM); for every
 * aggregation rule whose `where` holds (or any of whose sequence steps
 * hold) it hands the correlator a small record: rule, event time, group key
 * bytes, distinct values, step bitmask, and the event's compact JSON (shared
 * by all records of one event, refcounted). Records wait in a reorder heap
 * until the watermark (newest event time seen minus the lateness) passes
 * them, and are then applied in (event time, arrival) order, so the alerts do
 * not depend on the arrival order within the lateness. An alert that is due
 * waits in the correlator as a value (corr_fired: times, counts, group key,
 * samples, and the aux bytes the engine gave its firing record) until the
 * engine takes it after the step that made it due and builds its JSON: the
 * correlator never calls back into the engine.
 *
 * Promises: no wall clock anywhere (time is what the events say); state is
 * bounded by opts.max_bytes (least recently seen groups are evicted); expired
 * groups are freed by an expiry heap driven by the watermark, never by a
 * scan of all groups; nothing here aborts on input; an allocation failure
 * loses the record or group concerned and is otherwise harmless.
 */
#ifndef SECDET_CORRELATE_CORRELATE_H
#define SECDET_CORRELATE_CORRELATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/diag.h"
#include "vm/program.h"

/* A rule's fingerprint: changes whenever the rule's compiled form changes. */
#define CORR_FP_BYTES 16
typedef struct corr_fp {
    uint8_t b[CORR_FP_BYTES];
} corr_fp;

/* One event's compact JSON, shared by the records and samples that hold it. */
typedef struct corr_event {
    uint32_t refs;
    uint32_t len;
    uint32_t snap_gen; /* snapshot writer: last snapshot that wrote it */
    uint32_t snap_idx; /* and its index there */
    char json[];       /* NUL-terminated */
} corr_event;

typedef struct corr corr;

/* One record for the correlator: an event that matched aggregation rule
 * `rule` (or, in stage 2, a throttled stateless rule, whose record fires
 * once as it is applied, so its throttle runs in event-time order). */
typedef struct corr_input {
    uint32_t rule;
    uint32_t src;    /* sd_corr_source_id() */
    int64_t t;       /* event time; not late */
    const char *key; /* group key bytes */
    uint32_t key_len;
    const char *vals; /* distinct values blob (sd_corr_vals_put), nvals of them */
    uint32_t vals_len, nvals;
    uint64_t mask; /* the sequence steps the event satisfies */
    /* A rule with `throttle`: the throttle's key bytes for this event (a
     * stateless rule's are its group key); the alert it fires is throttled
     * here, as it fires, in event-time order. */
    const char *tkey;
    uint32_t tkey_len;
    /* What the alert will need of this event if it is the one that fires
     * (the engine's bytes: sd_alert_aux_write); handed back with the alert. */
    const char *aux;
    uint32_t aux_len;
    corr_event *ev;
} corr_input;

/* An alert that is due, kept by the correlator until the engine takes it
 * (sd_corr_take_fired), in the order they fired. Pointers stay valid until
 * sd_corr_fired_release. */
typedef struct corr_fired {
    uint32_t rule;
    uint32_t src;    /* sd_corr_source_name() */
    int64_t time_ns; /* the firing event's time */
    int64_t first_ns, last_ns;
    uint64_t count;
    bool has_distinct;
    uint64_t distinct;
    bool has_sum; /* a sum rule: the total of its window */
    double sum;
    uint64_t suppressed; /* alerts its throttle held back since the previous one */
    const char *key;     /* group key bytes */
    uint32_t key_len;
    const char *aux; /* the firing record's aux bytes */
    uint32_t aux_len;
    corr_event **events; /* samples, oldest first, the firing one last (referenced) */
    uint32_t nevents;
    void *item; /* the correlator's own (sd_corr_fired_release) */
} corr_fired;

typedef struct corr_opts {
    int64_t lateness_ns;
    uint64_t max_bytes;   /* 0: no cap */
    uint32_t max_samples; /* at least 1 is used */
} corr_opts;

typedef struct corr_stats {
    uint64_t groups, bytes, evicted;
    uint64_t peak_bytes; /* the most bytes held at any moment, also inside a call */
} corr_stats;

corr *sd_corr_new(const corr_opts *opts);
void sd_corr_free(corr *c);

/* Makes `prog` (with one fingerprint per rule) the program the state refers
 * to. State of rules of the previous program is kept for the rules of the
 * same name and fingerprint and dropped for the others. Never fails: under
 * memory pressure it drops everything instead. */
void sd_corr_set_program(corr *c, const program *prog, const corr_fp *fps);

/* Whether an event at time t is late (older than the watermark): it then
 * must not enter correlation state. */
bool sd_corr_is_late(const corr *c, int64_t t);

/* The shared copy of an event's JSON (refs 0 until a record takes it); NULL on OOM. */
corr_event *sd_corr_event_new(corr *c, const char *json, size_t len);
/* Frees an event nobody took (refs 0). */
void sd_corr_event_drop(corr *c, corr_event *ev);

/* Interns a source name; UINT32_MAX on OOM. */
uint32_t sd_corr_source_id(corr *c, const char *name);
const char *sd_corr_source_name(const corr *c, uint32_t id);

/* Queues a record (copied; the event is referenced). -1 on OOM. */
int sd_corr_add(corr *c, const corr_input *in);

/* The next alert that fired (sd_corr_advance, sd_corr_flush, sd_corr_set_watermark
 * apply records, and applying a record may complete an alert): false when
 * none is waiting. Each one taken is given back with sd_corr_fired_release.
 * The correlator never calls out: the engine drains these after each step. */
bool sd_corr_take_fired(corr *c, corr_fired *out);
void sd_corr_fired_release(corr *c, corr_fired *f);

/* Records held for ordering, and absences waiting for the watermark (which
 * fire from their last step's record), for the engine to make their
 * throttle key and aux again (after a snapshot is read, whose records carry
 * neither, and after a ruleset swap, which may change them): how many,
 * record i's rule, event and group key bytes, and its new ones. The
 * indices hold from sd_corr_held_count until the state changes. set: 0, or
 * -1 on OOM (the old ones stay). */
size_t sd_corr_held_count(corr *c);
void sd_corr_held_get(corr *c, size_t i, uint32_t *rule, const corr_event **ev, const char **key, uint32_t *key_len);
int sd_corr_held_set(corr *c, size_t i, const char *tkey, uint32_t tkey_len, const char *aux, uint32_t aux_len);

/* After an event at time t (late or not): moves the watermark, applies the
 * records it passed (alerts fire), frees expired groups, enforces the cap. */
void sd_corr_advance(corr *c, int64_t t);
/* End of input: the watermark moves to the newest event time; everything
 * held is applied. */
void sd_corr_flush(corr *c);

/* Stage 2 of a scale-out (docs/scale-out.md): events arrive from several
 * upstream streams, so the newest time seen says nothing about what is
 * still to come. With `on`, sd_corr_advance no longer moves the watermark;
 * the caller does, with sd_corr_set_watermark (it never goes back), from what
 * every upstream stream has reported. */
void sd_corr_set_external_watermark(corr *c, bool on);
void sd_corr_set_watermark(corr *c, int64_t wm);
/* The newest event time seen (false when none yet). */
bool sd_corr_newest_time(const corr *c, int64_t *out);

/* Throttle for (rule, key): true when an alert at time t goes out (*suppressed
 * = alerts suppressed since the previous one), false when it is suppressed.
 * (Records' alerts are throttled as they fire; the engine calls it for the
 * stateless alerts it builds at once.) */
bool sd_corr_throttle(corr *c, uint32_t rule, const char *key, uint32_t key_len, int64_t t, int64_t dur_ns,
                      uint64_t *suppressed);

/* Where to count, per rule of the current program, the alerts a throttle
 * suppresses (by_rule[0..n), the engine's; NULL: nowhere). Set it again
 * with every program. */
void sd_corr_set_throttle_counts(corr *c, uint64_t *by_rule, uint32_t n);

void sd_corr_get_stats(const corr *c, corr_stats *out);

/* Snapshot (snapshot.c): the whole state as bytes, appended to out; 0 or -1 (OOM). */
int sd_corr_snapshot_write(corr *c, buf *out);
/* Replaces the state with the snapshot in data. Rules are matched by name and
 * fingerprint against the current program; dropped ones become warnings in d
 * (file = `name`). 0 ok; -1 malformed (an error in d, state unchanged); -2 OOM. */
int sd_corr_snapshot_read(corr *c, const char *data, size_t len, const char *name, diag_list *d);

/* fingerprint.c: the fingerprint of rule r of prog. */
void sd_corr_fingerprint(const program *prog, uint32_t r, corr_fp *out);

/* Blob of distinct values: per value a 4-byte little-endian length and the
 * value's JSON text. A sequence's records carry the keys of the count rules
 * named as steps the same way (one per such step the record satisfies, in
 * step order). */
void sd_corr_vals_put(buf *b, const char *json, uint32_t len);
/* A sum's record carries its value: 8 bytes (the double's bits, little-endian). */
void sd_corr_sum_put(buf *b, double v);

#endif
