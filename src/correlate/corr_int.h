/* corr_int.h — the correlator's insides, shared by its files:
 * state.c (groups, LRU, expiry heap, accounting), reorder.c (records and the
 * watermark), window.c (count, distinct), sum.c, sequence.c (plain
 * sequences), seqx.c (sequences with counted and `not` steps), seqset.c
 * (unordered), cstep.c (the counts of counted steps), throttle.c, fired.c
 * (alerts waiting for the engine), zsample.c (cold samples, compressed),
 * snapshot.c and snap_*.c.
 *
 * Memory: a group is one allocation (header + key bytes) plus its kind's
 * arrays; every allocation goes through mem.c, which adds what malloc really
 * takes for it to c->bytes (and to g->bytes for a group's own memory), so the
 * cap is honest. Sample events are refcounted corr_event pointers; an event's
 * bytes count once (a compressed one belongs to one sample). Records are cut from chunks (mem.c), counted whole.
 */
#ifndef SECDET_CORRELATE_CORR_INT_H
#define SECDET_CORRELATE_CORR_INT_H

#include "correlate/correlate.h"

#define NO_HEAP UINT32_MAX
/* Heap bytes of a chunk of records (mem.c). */
#define REC_CHUNK (16u * 1024u)
/* glibc serves requests from this size on with mmap (its default threshold). */
#define MEM_MMAP_FROM ((size_t)128 * 1024)

typedef struct rec_chunk rec_chunk;

enum { GK_COUNT = 1, GK_DISTINCT = 2, GK_SEQ = 3, GK_THROTTLE = 4, GK_SUM = 5, GK_SEQX = 6, GK_SET = 7 };
#define GK_LAST GK_SET

/* One value of a sum's window. */
typedef struct sum_ent {
    int64_t t;
    double v;
} sum_ent;

struct seqx_state; /* seqx.c */
struct set_state;  /* seqset.c */

typedef struct corr_sample {
    int64_t t;
    corr_event *ev;
} corr_sample;

/* A distinct value live in a window: how many window entries hold it. */
typedef struct dval {
    uint64_t hash;
    uint32_t refs;
    uint32_t len;
    char bytes[];
} dval;

/* A window entry of a distinct rule: one event's values (deduplicated). */
typedef struct dentry {
    int64_t t;
    uint32_t n;
    union {
        dval *one;   /* n == 1 */
        dval **many; /* n > 1 */
    } v;
} dentry;

/* A partial sequence: steps[0..k-1] filled, waiting for step k (its slot). */
typedef struct seq_partial {
    int64_t start;
    corr_sample steps[]; /* room for every step but the last (sd_seq_partial_size) */
} seq_partial;

/* A sequence of at most this many steps keeps its slots in the group (in
 * what the union's largest member leaves free), saving an allocation. */
#define SEQ_INLINE_SLOTS 4

typedef struct corr_group {
    struct corr_group *hnext;         /* hash chain */
    struct corr_group *lprev, *lnext; /* LRU: head = most recent */
    int64_t expires;                  /* state is useless once the watermark is past this */
    uint32_t heap_idx;                /* in the expiry heap, or NO_HEAP */
    uint32_t rule;
    uint32_t key_len;
    uint32_t bytes; /* accounted for this group */
    uint8_t kind;
    uint8_t cold;             /* its samples were compressed since it was last seen (zsample.c) */
    uint16_t shead, sn, scap; /* the sample ring (count/distinct); max_samples <= 1000. Packed
                               * here, in what would be padding, to keep a group small. The
                               * ring grows to max_samples as events come: most groups see one. */
    union {
        struct { /* count: a ring of event times, in `in` while it holds two at most */
            int64_t *times;
            uint32_t head, n, cap;
            int64_t in[2];
        } c;
        struct { /* distinct: a ring of entries, and the live values */
            dentry *ents;
            uint32_t head, n, cap;
            dval **vals;
            uint32_t nvals, capvals;
        } d;
        struct { /* sequence: slots[k] = the partial waiting for step k (k >= 1); seq_slots() */
            union {
                /* nsteps <= SEQ_INLINE_SLOTS: in the group. Two steps: the one
                 * slot is in[3], and its partial (start and step 0) lives in
                 * in[0..2] (seq_inline_partial): most sequences have two
                 * steps, and their partial was a 32-byte allocation. */
                seq_partial *in[SEQ_INLINE_SLOTS];
                seq_partial **heap; /* more steps: an array of nsteps */
            } sl;
            uint32_t nsteps;
        } s;
        struct {
            int64_t last;
            uint64_t suppressed;
        } t;
        struct { /* sum: a ring of the values in the window, and their total */
            sum_ent *ents;
            uint32_t head, n, cap;
            double total;
        } m;
        struct seqx_state *x;  /* a sequence with counted or `not` steps */
        struct set_state *set; /* an unordered sequence */
    } u;
    /* count/distinct/sum: the last max_samples events (sample_ring). A ring of
     * one is the pointer itself: most groups of a large table see one event,
     * and a ring of one cost them a 32-byte allocation. A sample keeps no
     * time: nothing reads it. */
    union {
        corr_event *one;   /* scap == 1 */
        corr_event **ring; /* scap > 1: scap slots */
    } samples;
    char key[];
} corr_group;

static inline corr_event **sample_ring(corr_group *g) { return g->scap == 1 ? &g->samples.one : g->samples.ring; }
static inline corr_event *const *sample_ring_c(const corr_group *g) {
    return g->scap == 1 ? &g->samples.one : g->samples.ring;
}

typedef struct corr_rec {
    int64_t t;
    uint64_t seq;
    uint64_t mask;
    corr_event *ev;
    rec_chunk *chunk; /* where it was cut from (mem.c) */
    uint32_t rule, src, key_len, vals_len, nvals, tkey_len, aux_len;
    char data[]; /* key bytes, the values blob, the throttle key, then the aux bytes */
} corr_rec;

static inline const char *rec_tkey(const corr_rec *r) { return r->data + r->key_len + r->vals_len; }
static inline const char *rec_aux(const corr_rec *r) { return rec_tkey(r) + r->tkey_len; }

/* An alert waiting for the engine (fired.c): the value handed out and the
 * bytes it points to (key, then aux), one allocation with its events. */
typedef struct fired_item {
    corr_fired f;
    char data[];
} fired_item;

struct corr {
    corr_opts opts;
    const program *prog;
    const corr_fp *fps;

    /* group table */
    corr_group **buckets;
    uint32_t nbuckets; /* power of two */
    uint64_t ngroups;
    corr_group *lru_head, *lru_tail;
    corr_group **heap; /* expiry min-heap */
    uint32_t nheap, capheap;

    /* reorder buffer */
    corr_rec **recs; /* min-heap by (t, seq) */
    size_t nrecs, caprecs;
    rec_chunk *rec_cur; /* the chunk new records are cut from */
    uint64_t seq;
    bool any_time;
    int64_t max_time;  /* newest event time seen (valid when any_time) */
    int64_t watermark; /* records at or before it are applied; older events are late */
    bool external_wm;  /* the watermark moves only by sd_corr_set_watermark (stage 2) */

    char **sources;
    uint32_t nsources;

    /* alerts due, oldest first (fired.c): a ring of pointers */
    fired_item **fired;
    size_t fired_head, nfired, capfired;

    uint64_t bytes, evicted;
    uint64_t peak; /* the most bytes ever held (tests check the cap against it) */
    /* the groups holding a due absence, listed by sd_corr_held_count (seqx_snap.c; not state) */
    corr_group **kept;
    size_t nkept, capkept;
    uint32_t snap_gen;
    bool applying; /* inside the apply loop: no eviction */
    /* The engine's per-rule counts of alerts a throttle held back (n_throttled rules). */
    uint64_t *throttled;
    uint32_t n_throttled;
    /* Cold samples (zsample.c): the groups from cold_edge to the LRU tail
     * are cold (their samples compressed); the nwarm groups before it are not. */
    corr_group *cold_edge;
    uint64_t nwarm;
    struct corr_zip *zip; /* the codec and the rules' dictionaries, made when first needed */
};

/* mem.c: allocations of the state, accounted at what malloc takes for them
 * (on g too when g is not NULL). n is the size asked for, also when freeing. */
size_t sd_mem_cost(size_t n);
/* Adds delta bytes to the state (and to g's own when g is not NULL). */
void sd_mem_account(corr *c, corr_group *g, int64_t delta);
void *sd_mem_alloc(corr *c, corr_group *g, size_t n);
void *sd_mem_calloc(corr *c, corr_group *g, size_t n);
/* NULL on OOM (p is then untouched). */
void *sd_mem_realloc(corr *c, corr_group *g, void *p, size_t old_n, size_t n);
void sd_mem_free(corr *c, corr_group *g, void *p, size_t n);
/* n bytes for a record, from the current chunk (*chunk: the one it came from). */
void *sd_rec_alloc(corr *c, size_t n, rec_chunk **chunk);
void sd_rec_release(corr *c, rec_chunk *k, void *p, size_t n);
void sd_rec_chunks_free(corr *c);

/* state.c */
uint64_t sd_corr_hash(uint32_t rule, uint8_t kind, const char *key, uint32_t len);
/* A group's hash is recomputed rather than stored: 8 bytes a group matter more
 * than a hash of a short key on the rare rehash or free. */
static inline uint64_t group_hash(const corr_group *g) { return sd_corr_hash(g->rule, g->kind, g->key, g->key_len); }
corr_group *sd_group_find(corr *c, uint32_t rule, uint8_t kind, const char *key, uint32_t len, uint64_t h);
corr_group *sd_group_new(corr *c, uint32_t rule, uint8_t kind, const char *key, uint32_t len, uint64_t h);
void sd_group_free(corr *c, corr_group *g);
void sd_group_touch(corr *c, corr_group *g);
/* Sets the expiry (INT64_MAX: never; the group leaves the heap). */
void sd_group_set_expiry(corr *c, corr_group *g, int64_t expires);
void sd_corr_expire(corr *c);
/* Frees (or, for an absence that is due, fires) the groups whose expiry
 * is before `bound`: every record still to come is at or after it. */
void sd_corr_expire_before(corr *c, int64_t bound);
/* Evicts the least recently seen groups until the state fits; the bytes freed. */
uint64_t sd_corr_enforce_cap(corr *c);
void sd_corr_clear_groups(corr *c);
void sd_event_ref(corr_event *ev);
void sd_event_unref(corr *c, corr_event *ev);
/* Appends to the group's sample ring (count/distinct). 0 or -1. */
int sd_samples_push(corr *c, corr_group *g, corr_event *ev);
/* The last n samples, oldest first, into out (n <= g->sn). */
void sd_samples_last(const corr *c, const corr_group *g, uint32_t n, corr_event **out);

/* fired.c: the alert f that record r completes: throttled (the rule's
 * `throttle`, by r's throttle key), then queued (what it points to copied,
 * the events referenced; an allocation failure loses it). f's aux is r's. */
void sd_corr_fire(corr *c, const corr_rec *r, corr_fired *f);
/* A window rule (count, distinct, sum) fires at record r: f holds what is the
 * rule's own (first_ns, count, and distinct or sum); the rest (rule, times,
 * key, the newest min(count, samples) events of g) is filled here. Frees g. */
void sd_window_fire(corr *c, corr_group *g, const corr_rec *r, corr_fired *f);
/* The same for an alert no record completes now (an absence the watermark
 * closed): the throttle key and aux its group kept. */
void sd_corr_fire_kept(corr *c, uint32_t rule, const char *tkey, uint32_t tkey_len, const char *aux, uint32_t aux_len,
                       corr_fired *f);
/* Drops every alert still waiting (sd_corr_free, a snapshot swap). */
void sd_fired_clear(corr *c);

/* zsample.c: samples of cold groups kept compressed (raw deflate against a
 * recent event of the same rule). A compressed event has CORR_EV_Z in its
 * len; it is held by one sample slot only, and never leaves the correlator:
 * alerts and snapshots get its JSON back (sd_event_open, sd_event_text). */
#define CORR_EV_Z 0x80000000u
static inline bool event_is_z(const corr_event *ev) { return (ev->len & CORR_EV_Z) != 0; }
/* Bytes of the allocation behind ev (raw or compressed). */
size_t sd_event_alloc_size(const corr_event *ev);
/* The dictionary a compressed event references. */
corr_event *sd_zevent_dict(const corr_event *ev);
/* A raw event with ev's JSON, referenced for the caller: ev itself when it
 * is raw, else a new copy made from the compressed one. NULL on OOM. */
corr_event *sd_event_open(corr *c, corr_event *ev);
/* Appends ev's JSON to b (b->oom when it cannot). */
void sd_event_append_text(corr *c, const corr_event *ev, buf *b);
/* Past CORR_COLD_SHARE of the cap, compresses the samples of the least
 * recently seen groups (all but CORR_WARM_GROUPS) until the state is back
 * under it. Cheap when there is nothing to do. */
void sd_cold_sweep(corr *c);
/* LRU hooks (state.c): g is seen again (moves to the head) / freed. */
void sd_cold_touch(corr *c, corr_group *g);
void sd_cold_forget(corr *c, corr_group *g);
/* Drops the rules' dictionaries (their numbers change with the program). */
void sd_zip_dicts_clear(corr *c);
void sd_zip_free(corr *c);

/* reorder.c */
void sd_rec_free(corr *c, corr_rec *r);
int sd_recs_push(corr *c, corr_rec *r);
void sd_recs_clear(corr *c);

/* window.c, sequence.c, sum.c, seqx.c, seqset.c: apply one record in order. */
void sd_count_apply(corr *c, const corr_rec *r);
void sd_distinct_apply(corr *c, const corr_rec *r);
void sd_seq_apply(corr *c, const corr_rec *r);
void sd_sum_apply(corr *c, const corr_rec *r);
void sd_seqx_apply(corr *c, const corr_rec *r);
void sd_set_apply(corr *c, const corr_rec *r);
/* A sum's value blob (sd_corr_sum_put); false when it holds none. */
bool sd_sum_value(const corr_rec *r, double *v);
/* Frees what a group of the new kinds holds (not the group). */
void sd_sum_free_state(corr *c, corr_group *g);
void sd_seqx_free_state(corr *c, corr_group *g);
void sd_set_free_state(corr *c, corr_group *g);
/* A GK_SEQX group whose expiry came (bound as in sd_corr_expire_before):
 * fires its absence when due, else drops what is too old; frees it when
 * nothing is left. */
void sd_seqx_expire(corr *c, corr_group *g, int64_t bound);
/* What a due absence keeps of its firing record, for the engine to make
 * again (sd_corr_held_*): how many groups hold one, and the i-th. */
size_t sd_seqx_kept_count(corr *c);
void sd_seqx_kept_get(corr *c, size_t i, uint32_t *rule, const corr_event **ev, const char **key, uint32_t *key_len);
int sd_seqx_kept_set(corr *c, size_t i, const char *tkey, uint32_t tkey_len, const char *aux, uint32_t aux_len);
/* Restore helpers (snapshot.c): add one window entry without firing. */
int sd_count_push(corr *c, corr_group *g, int64_t t);
int sd_distinct_push(corr *c, corr_group *g, int64_t t, const char *blob, uint32_t blob_len, uint32_t nvals);
/* Moves a ring of n elements (head at *head, capacity *cap) into a new array
 * of new_cap, oldest first, accounted to g (window.c). 0, or -1 on OOM. */
int sd_ring_resize(corr *c, corr_group *g, void **ring, uint32_t *head, uint32_t n, uint32_t *cap, uint32_t new_cap,
                   size_t elem);
/* Frees the kind's own state (not the group). */
void sd_window_free_state(corr *c, corr_group *g);
void sd_seq_free_state(corr *c, corr_group *g);
/* A plain sequence's slots (slot 0 unused). */
static inline seq_partial **seq_slots(corr_group *g) {
    if (g->u.s.nsteps == 2) return g->u.s.sl.in + 2; /* slot 1 is in[3] */
    return g->u.s.nsteps <= SEQ_INLINE_SLOTS ? g->u.s.sl.in : g->u.s.sl.heap;
}
static inline seq_partial *const *seq_slots_c(const corr_group *g) {
    if (g->u.s.nsteps == 2) return g->u.s.sl.in + 2;
    return g->u.s.nsteps <= SEQ_INLINE_SLOTS ? g->u.s.sl.in : g->u.s.sl.heap;
}
/* A two-step sequence's partial, in the group (in[0..2]). */
static inline seq_partial *seq_inline_partial(corr_group *g) { return (seq_partial *)(void *)g->u.s.sl.in; }
_Static_assert(sizeof(seq_partial) + sizeof(corr_sample) <= 3 * sizeof(seq_partial *),
               "a two-step partial fits in the first three inline slots");
/* A new partial for g with room for its first nsteps - 1 steps, zeroed; a
 * two-step sequence's is its inline one (which must be free). NULL on OOM. */
seq_partial *sd_seq_partial_new(corr *c, corr_group *g);
/* Bytes of a plain sequence's partial (room for its first nsteps - 1 steps). */
size_t sd_seq_partial_size(uint32_t nsteps);
/* Gives a new GK_SEQ group its slots; 0, or -1 on OOM. */
int sd_seq_init_slots(corr *c, corr_group *g, uint32_t nsteps);
/* Saturating a + b for times. */
static inline int64_t t_add(int64_t a, int64_t b) {
    if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
    return a + b;
}
static inline int64_t within_ns(const vm_rule *r) {
    int64_t ms = r->within_ms < 0 ? 0 : r->within_ms;
    return ms > INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000;
}

#endif
