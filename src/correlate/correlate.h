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
 * not depend on the arrival order within the lateness. An alert is handed
 * back through the fire callback; the engine builds its JSON.
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

/* Steps a sequence may have at run time (bits of the step mask); a rule
 * with more never fires. */
#define CORR_MAX_STEPS 64u

/* Values of a distinct path taken from one event (a hostile [*] array stops here). */
#define CORR_MAX_VALUES 1024u
/* Sample events an alert carries at most, whatever max_samples says. */
#define CORR_MAX_SAMPLES 1000u

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

/* An alert due: what the engine needs to build it. Everything pointed to is
 * valid only during the callback. */
typedef struct corr_fire {
    uint32_t rule;
    uint32_t src;          /* corr_source_name() */
    int64_t time_ns;       /* the firing event's time */
    int64_t first_ns, last_ns;
    uint64_t count;
    bool has_distinct;
    uint64_t distinct;
    const char *key;       /* group key bytes (corr_key_* format) */
    uint32_t key_len;
    corr_event *const *events; /* samples, oldest first, the firing one last */
    uint32_t nevents;
} corr_fire;

typedef void (*corr_fire_fn)(void *user, const corr_fire *f);

typedef struct corr_opts {
    int64_t lateness_ns;
    uint64_t max_bytes;    /* 0: no cap */
    uint32_t max_samples;  /* at least 1 is used */
} corr_opts;

typedef struct corr_stats {
    uint64_t groups, bytes, evicted;
    uint64_t peak_bytes; /* the most bytes held at any moment, also inside a call */
} corr_stats;

corr *corr_new(const corr_opts *opts, corr_fire_fn fn, void *user);
void corr_free(corr *c);

/* Makes `prog` (with one fingerprint per rule) the program the state refers
 * to. State of rules of the previous program is kept for the rules of the
 * same name and fingerprint and dropped for the others. Never fails: under
 * memory pressure it drops everything instead. */
void corr_set_program(corr *c, const program *prog, const corr_fp *fps);

/* Whether an event at time t is late (older than the watermark): it then
 * must not enter correlation state. */
bool corr_is_late(const corr *c, int64_t t);

/* The shared copy of an event's JSON (refs 0 until a record takes it); NULL on OOM. */
corr_event *corr_event_new(corr *c, const char *json, size_t len);
/* Frees an event nobody took (refs 0). */
void corr_event_drop(corr *c, corr_event *ev);

/* Interns a source name; UINT32_MAX on OOM. */
uint32_t corr_source_id(corr *c, const char *name);
const char *corr_source_name(const corr *c, uint32_t id);

/* Queues a record of an event at time t (not late) for rule `rule` (an
 * aggregation; or, in stage 2, a throttled stateless rule, whose record
 * fires once as it is applied, so its throttle runs in event-time order).
 * key: group key bytes; vals: distinct values blob (corr_vals_*), nvals of
 * them; mask: the sequence steps the event satisfies. -1 on OOM. */
int corr_add(corr *c, uint32_t rule, uint32_t src, int64_t t, const char *key, uint32_t key_len,
             const char *vals, uint32_t vals_len, uint32_t nvals, uint64_t mask, corr_event *ev);

/* After an event at time t (late or not): moves the watermark, applies the
 * records it passed (alerts fire), frees expired groups, enforces the cap. */
void corr_advance(corr *c, int64_t t);
/* End of input: the watermark moves to the newest event time; everything
 * held is applied. */
void corr_flush(corr *c);

/* Stage 2 of a scale-out (docs/scale-out.md): events arrive from several
 * upstream streams, so the newest time seen says nothing about what is
 * still to come. With `on`, corr_advance no longer moves the watermark;
 * the caller does, with corr_set_watermark (it never goes back), from what
 * every upstream stream has reported. */
void corr_set_external_watermark(corr *c, bool on);
void corr_set_watermark(corr *c, int64_t wm);
/* The newest event time seen (false when none yet). */
bool corr_newest_time(const corr *c, int64_t *out);

/* Throttle for (rule, key): true when an alert at time t goes out (*suppressed
 * = alerts suppressed since the previous one), false when it is suppressed. */
bool corr_throttle(corr *c, uint32_t rule, const char *key, uint32_t key_len, int64_t t, int64_t dur_ns,
                   uint64_t *suppressed);

void corr_get_stats(const corr *c, corr_stats *out);

/* Snapshot (snapshot.c): the whole state as bytes, appended to out; 0 or -1 (OOM). */
int corr_snapshot_write(corr *c, buf *out);
/* Replaces the state with the snapshot in data. Rules are matched by name and
 * fingerprint against the current program; dropped ones become warnings in d
 * (file = `name`). 0 ok; -1 malformed (an error in d, state unchanged); -2 OOM. */
int corr_snapshot_read(corr *c, const char *data, size_t len, const char *name, diag_list *d);

/* fingerprint.c: the fingerprint of rule r of prog. */
void corr_fingerprint(const program *prog, uint32_t r, corr_fp *out);

/* Blob of distinct values: per value a 4-byte little-endian length and the
 * value's JSON text. */
void corr_vals_put(buf *b, const char *json, uint32_t len);

#endif
