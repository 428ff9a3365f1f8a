/* reorder.c — the reorder buffer and the watermark.
 *
 * Records wait in a min-heap ordered by (event time, arrival sequence). The
 * watermark is the newest event time seen minus the lateness (and never goes
 * back); every record at or before it is applied, in heap order, so the
 * correlator sees each rule's matches in event-time order whatever order
 * they arrived in within the lateness. An event older than the watermark is
 * late and never becomes a record.
 *
 * Under the memory cap, when evicting every group is not enough (the held
 * records alone are too big), the oldest records are applied early: the
 * watermark jumps to them. Memory stays bounded; ordering is then only as
 * good as the cap allows.
 *
 * sd_corr_set_program lives here too: it remaps records and groups when the
 * engine swaps its ruleset.
 */
#include <stdlib.h>
#include <string.h>

#include "correlate/corr_int.h"

static size_t rec_size(const corr_rec *r) { return sizeof *r + r->key_len + r->vals_len + r->tkey_len + r->aux_len; }

void sd_rec_free(corr *c, corr_rec *r) {
    sd_event_unref(c, r->ev);
    sd_rec_release(c, r->chunk, r, rec_size(r));
}

static bool rec_less(const corr_rec *a, const corr_rec *b) { return a->t < b->t || (a->t == b->t && a->seq < b->seq); }

static void recs_up(corr *c, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!rec_less(c->recs[i], c->recs[p])) break;
        corr_rec *t = c->recs[i];
        c->recs[i] = c->recs[p];
        c->recs[p] = t;
        i = p;
    }
}

static void recs_down(corr *c, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < c->nrecs && rec_less(c->recs[l], c->recs[m])) m = l;
        if (r < c->nrecs && rec_less(c->recs[r], c->recs[m])) m = r;
        if (m == i) break;
        corr_rec *t = c->recs[i];
        c->recs[i] = c->recs[m];
        c->recs[m] = t;
        i = m;
    }
}

int sd_recs_push(corr *c, corr_rec *r) {
    if (c->nrecs == c->caprecs) {
        size_t cap = c->caprecs ? c->caprecs * 2 : 256;
        corr_rec **p = sd_mem_realloc(c, NULL, c->recs, c->caprecs * sizeof *p, cap * sizeof *p);
        if (!p) return -1;
        c->recs = p;
        c->caprecs = cap;
    }
    c->recs[c->nrecs++] = r;
    recs_up(c, c->nrecs - 1);
    return 0;
}

static corr_rec *recs_pop(corr *c) {
    corr_rec *top = c->recs[0];
    c->recs[0] = c->recs[--c->nrecs];
    if (c->nrecs) recs_down(c, 0);
    return top;
}

void sd_recs_clear(corr *c) {
    for (size_t i = 0; i < c->nrecs; i++) sd_rec_free(c, c->recs[i]);
    c->nrecs = 0;
}

bool sd_corr_is_late(const corr *c, int64_t t) { return t < c->watermark; }

int sd_corr_add(corr *c, const corr_input *in) {
    rec_chunk *chunk;
    corr_rec *r = sd_rec_alloc(c, sizeof *r + in->key_len + in->vals_len + in->tkey_len + in->aux_len, &chunk);
    if (!r) return -1;
    r->chunk = chunk;
    r->t = in->t;
    r->seq = c->seq++;
    r->mask = in->mask;
    r->ev = in->ev;
    r->rule = in->rule;
    r->src = in->src;
    r->key_len = in->key_len;
    r->vals_len = in->vals_len;
    r->nvals = in->nvals;
    r->tkey_len = in->tkey_len;
    r->aux_len = in->aux_len;
    if (in->key_len) memcpy(r->data, in->key, in->key_len);
    if (in->vals_len) memcpy(r->data + in->key_len, in->vals, in->vals_len);
    if (in->tkey_len) memcpy((char *)rec_tkey(r), in->tkey, in->tkey_len);
    if (in->aux_len) memcpy((char *)rec_aux(r), in->aux, in->aux_len);
    sd_event_ref(in->ev);
    if (sd_recs_push(c, r) != 0) {
        sd_rec_free(c, r);
        return -1;
    }
    return 0;
}

/* Held records first, then the absences waiting in groups (seqx.c). */
size_t sd_corr_held_count(corr *c) { return c->nrecs + sd_seqx_kept_count(c); }

void sd_corr_held_get(corr *c, size_t i, uint32_t *rule, const corr_event **ev, const char **key, uint32_t *key_len) {
    if (i >= c->nrecs) {
        sd_seqx_kept_get(c, i - c->nrecs, rule, ev, key, key_len);
        return;
    }
    *rule = c->recs[i]->rule;
    *ev = c->recs[i]->ev;
    *key = c->recs[i]->data;
    *key_len = c->recs[i]->key_len;
}

/* A copy of record i with the new throttle key and aux takes its place in
 * the heap (the order, by time and sequence, is the same). */
int sd_corr_held_set(corr *c, size_t i, const char *tkey, uint32_t tkey_len, const char *aux, uint32_t aux_len) {
    if (i >= c->nrecs) return sd_seqx_kept_set(c, i - c->nrecs, tkey, tkey_len, aux, aux_len);
    const corr_rec *old = c->recs[i];
    rec_chunk *chunk;
    corr_rec *r = sd_rec_alloc(c, sizeof *r + old->key_len + old->vals_len + tkey_len + aux_len, &chunk);
    if (!r) return -1;
    memcpy(r, old, sizeof *r + old->key_len + old->vals_len);
    r->chunk = chunk;
    r->tkey_len = tkey_len;
    r->aux_len = aux_len;
    if (tkey_len) memcpy((char *)rec_tkey(r), tkey, tkey_len);
    if (aux_len) memcpy((char *)rec_aux(r), aux, aux_len);
    sd_event_ref(r->ev);
    sd_rec_free(c, c->recs[i]);
    c->recs[i] = r;
    return 0;
}

static void apply(corr *c, const corr_rec *r) {
    if (!c->prog || r->rule >= c->prog->nrules) return;
    c->applying = true;
    switch (c->prog->rules[r->rule].agg) {
    case RAGG_COUNT: sd_count_apply(c, r); break;
    case RAGG_DISTINCT: sd_distinct_apply(c, r); break;
    case RAGG_SEQUENCE:
        if (!c->prog->rules[r->rule].seq_ext)
            sd_seq_apply(c, r);
        else if (c->prog->rules[r->rule].unordered)
            sd_set_apply(c, r);
        else
            sd_seqx_apply(c, r);
        break;
    case RAGG_SUM: sd_sum_apply(c, r); break;
    case RAGG_NONE:
        /* A throttled stateless rule deferred for ordering (stage 2): the
         * alert of this one event, throttled as it fires. */
        if (c->prog->rules[r->rule].has_throttle) {
            corr_event *ev = r->ev;
            corr_fired f = {.rule = r->rule,
                            .src = r->src,
                            .time_ns = r->t,
                            .first_ns = r->t,
                            .last_ns = r->t,
                            .count = 1,
                            .key = r->data,
                            .key_len = r->key_len,
                            .events = &ev,
                            .nevents = 1};
            sd_corr_fire(c, r, &f);
        }
        break;
    }
    c->applying = false;
}

/* Applies the records at or before the watermark. Applying a record can grow
 * the state by more than the record held (a new group is bigger than its
 * record), so over the cap the least recently seen groups are evicted between
 * records, never after the whole batch: a flush or an early drain of a full
 * reorder buffer would otherwise hold several times the cap for a moment, and
 * the allocator keeps what the process once held. *evicted_bytes adds up
 * what that eviction freed. */
static void release_due(corr *c, uint64_t *evicted_bytes) {
    while (c->nrecs > 0 && c->recs[0]->t <= c->watermark) {
        /* What expired before this record goes first: an absence due before
         * it fires in event-time order, before the record could touch it. */
        sd_corr_expire_before(c, c->recs[0]->t);
        corr_rec *r = recs_pop(c);
        apply(c, r);
        sd_rec_free(c, r);
        *evicted_bytes += sd_corr_enforce_cap(c);
    }
}

/* Over the cap, ordering is given up before state: the oldest held records
 * are applied early (that loses no alert, though it may make later events
 * late) until the state would fit without eviction, and only when nothing is
 * held any more are the least recently seen groups evicted to fit (which can
 * lose alerts, and is counted). "Would fit" counts what release_due evicted
 * on the way as still held, so the drain stops where it would if nothing had
 * been evicted; the eviction only keeps the state under the cap meanwhile. */
static void settle(corr *c) {
    uint64_t evicted_bytes = 0;
    release_due(c, &evicted_bytes);
    sd_corr_expire(c);
    while (c->opts.max_bytes && c->bytes + evicted_bytes > c->opts.max_bytes && c->nrecs > 0) {
        if (c->recs[0]->t > c->watermark) c->watermark = c->recs[0]->t;
        release_due(c, &evicted_bytes);
        sd_corr_expire(c);
    }
    sd_corr_enforce_cap(c);
}

void sd_corr_advance(corr *c, int64_t t) {
    if (!c->any_time || t > c->max_time) {
        c->max_time = t;
        c->any_time = true;
    }
    if (!c->external_wm) {
        int64_t wm = t_add(c->max_time, -c->opts.lateness_ns);
        if (wm > c->watermark) c->watermark = wm;
    }
    settle(c);
}

void sd_corr_set_external_watermark(corr *c, bool on) { c->external_wm = on; }

bool sd_corr_newest_time(const corr *c, int64_t *out) {
    *out = c->max_time;
    return c->any_time;
}

void sd_corr_set_watermark(corr *c, int64_t wm) {
    if (wm > c->watermark) c->watermark = wm;
    settle(c);
}

void sd_corr_flush(corr *c) {
    if (c->any_time && c->max_time > c->watermark) c->watermark = c->max_time;
    settle(c);
}

/* ---- Ruleset swap --------------------------------------------------------------- */

typedef struct name_ix {
    const char *name;
    uint32_t rule;
} name_ix;

static int cmp_name_ix(const void *a, const void *b) {
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

void sd_corr_set_program(corr *c, const program *prog, const corr_fp *fps) {
    const program *old = c->prog;
    const corr_fp *old_fps = c->fps;
    sd_zip_dicts_clear(c); /* indexed by rule number */
    c->prog = prog;
    c->fps = fps;
    if (!old || (c->nrecs == 0 && c->ngroups == 0)) return;

    uint32_t *map = malloc((old->nrules ? old->nrules : 1) * sizeof *map);
    name_ix *ix = malloc((prog->nrules ? prog->nrules : 1) * sizeof *ix);
    if (!map || !ix) {
        free(map);
        free(ix);
        sd_recs_clear(c);
        sd_corr_clear_groups(c);
        return;
    }
    for (uint32_t i = 0; i < prog->nrules; i++) ix[i] = (name_ix){prog->rules[i].name, i};
    qsort(ix, prog->nrules, sizeof *ix, cmp_name_ix);
    for (uint32_t i = 0; i < old->nrules; i++) {
        name_ix k = {old->rules[i].name, 0};
        const name_ix *hit = bsearch(&k, ix, prog->nrules, sizeof *ix, cmp_name_ix);
        map[i] = hit && memcmp(&fps[hit->rule], &old_fps[i], sizeof(corr_fp)) == 0 ? hit->rule : UINT32_MAX;
    }
    free(ix);

    size_t kept = 0;
    for (size_t i = 0; i < c->nrecs; i++) {
        corr_rec *r = c->recs[i];
        uint32_t to = r->rule < old->nrules ? map[r->rule] : UINT32_MAX;
        if (to == UINT32_MAX) {
            sd_rec_free(c, r);
        } else {
            r->rule = to;
            c->recs[kept++] = r;
        }
    }
    c->nrecs = kept;
    for (size_t i = kept / 2 + 1; i-- > 0;) recs_down(c, i);

    memset(c->buckets, 0, c->nbuckets * sizeof *c->buckets);
    corr_group *g = c->lru_head;
    while (g) {
        corr_group *next = g->lnext;
        uint32_t to = g->rule < old->nrules ? map[g->rule] : UINT32_MAX;
        if (to == UINT32_MAX) {
            g->hnext = NULL;
            sd_group_free(c, g);
        } else {
            g->rule = to;
            uint32_t slot = (uint32_t)(group_hash(g) & (c->nbuckets - 1));
            g->hnext = c->buckets[slot];
            c->buckets[slot] = g;
        }
        g = next;
    }
    free(map);
}
