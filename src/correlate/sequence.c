/* sequence.c — `sequence within DUR by K { s1: C1; s2: C2; ... }`.
 *
 * Per group at most one partial match per next step: slots[k] waits for step
 * k (0-based; step 0 has no slot, it starts partials). A newer partial at the
 * same step dominates an older one (same future, more time left), so nothing
 * else is worth keeping and a group's state is bounded by its step count.
 *
 * A record (applied in event-time order) advances, from the last slot down,
 * every partial whose next step it satisfies and whose first step is no more
 * than DUR before it (inclusive). Going down means a partial it just moved
 * from k to k+1 is not moved again: one event never fills two steps of one
 * partial. A completed partial fires, the group is freed (it starts again from
 * zero) and the completing event starts nothing. Otherwise, when it satisfies
 * step 0, it starts a new partial.
 */
#include <stdlib.h>
#include <string.h>

#include "correlate/corr_int.h"
#include "util/limits.h"

/* A partial never holds its last step (that step completes it), so it has
 * room for nsteps - 1: 16 bytes less, a 32-byte chunk for two steps. */
size_t sd_seq_partial_size(uint32_t nsteps) { return sizeof(seq_partial) + (nsteps - 1) * sizeof(corr_sample); }

seq_partial *sd_seq_partial_new(corr *c, corr_group *g) {
    size_t n = sd_seq_partial_size(g->u.s.nsteps);
    if (g->u.s.nsteps != 2) return sd_mem_calloc(c, g, n);
    seq_partial *p = seq_inline_partial(g);
    memset(p, 0, n);
    return p;
}

/* Frees a partial that has filled steps 0..filled-1. */
static void partial_release(corr *c, corr_group *g, seq_partial *p, uint32_t filled) {
    for (uint32_t i = 0; i < filled; i++) sd_event_unref(c, p->steps[i].ev);
    if (p != seq_inline_partial(g)) sd_mem_free(c, g, p, sd_seq_partial_size(g->u.s.nsteps));
}

/* Slot k's partial has filled steps 0..k-1. */
static void partial_free(corr *c, corr_group *g, uint32_t k) {
    seq_partial **slots = seq_slots(g);
    seq_partial *p = slots[k];
    if (!p) return;
    slots[k] = NULL;
    partial_release(c, g, p, k);
}

void sd_seq_free_state(corr *c, corr_group *g) {
    if (g->u.s.nsteps > SEQ_INLINE_SLOTS && !g->u.s.sl.heap) return;
    for (uint32_t k = 1; k < g->u.s.nsteps; k++) partial_free(c, g, k);
    if (g->u.s.nsteps > SEQ_INLINE_SLOTS) sd_mem_free(c, g, g->u.s.sl.heap, g->u.s.nsteps * sizeof *g->u.s.sl.heap);
    memset(&g->u.s, 0, sizeof g->u.s);
}

int sd_seq_init_slots(corr *c, corr_group *g, uint32_t nsteps) {
    memset(&g->u.s, 0, sizeof g->u.s);
    if (nsteps > SEQ_INLINE_SLOTS) {
        g->u.s.sl.heap = sd_mem_calloc(c, g, nsteps * sizeof *g->u.s.sl.heap);
        if (!g->u.s.sl.heap) return -1;
    }
    g->u.s.nsteps = nsteps;
    return 0;
}

static void fire_seq(corr *c, const corr_rec *r, const char *key, uint32_t key_len, const corr_sample *steps,
                     uint32_t nsteps) {
    uint32_t n = nsteps < c->opts.max_samples ? nsteps : c->opts.max_samples;
    corr_event *evs[n];
    for (uint32_t i = 0; i < n; i++) evs[i] = steps[nsteps - n + i].ev;
    corr_fired f = {
        .rule = r->rule,
        .src = r->src,
        .time_ns = r->t,
        .first_ns = steps[0].t,
        .last_ns = r->t,
        .count = nsteps,
        .key = key,
        .key_len = key_len,
        .events = evs,
        .nevents = n,
    };
    sd_corr_fire(c, r, &f);
}

void sd_seq_apply(corr *c, const corr_rec *r) {
    const vm_rule *rule = &c->prog->rules[r->rule];
    uint32_t n = rule->nsteps;
    if (n == 0 || n > CORR_MAX_STEPS) return;
    int64_t dur = within_ns(rule);
    uint64_t mask = r->mask;
    if (n == 1) {
        if (mask & 1) {
            corr_sample one = {r->t, r->ev};
            fire_seq(c, r, r->data, r->key_len, &one, 1);
        }
        return;
    }
    uint64_t h = sd_corr_hash(r->rule, GK_SEQ, r->data, r->key_len);
    corr_group *g = sd_group_find(c, r->rule, GK_SEQ, r->data, r->key_len, h);
    if (!g) {
        if (!(mask & 1)) return;
        g = sd_group_new(c, r->rule, GK_SEQ, r->data, r->key_len, h);
        if (!g) return;
        if (sd_seq_init_slots(c, g, n) != 0) {
            sd_group_free(c, g);
            return;
        }
    }
    seq_partial **slots = seq_slots(g);
    int64_t lo = t_add(r->t, -dur);
    for (uint32_t k = n - 1; k >= 1; k--) {
        seq_partial *p = slots[k];
        if (!p) continue;
        if (p->start < lo) { /* too old to finish: its first step is more than DUR ago */
            partial_free(c, g, k);
            continue;
        }
        if (!(mask & ((uint64_t)1 << k))) continue;
        if (k == n - 1) {
            corr_sample all[n];
            memcpy(all, p->steps, (n - 1) * sizeof *all);
            all[n - 1] = (corr_sample){r->t, r->ev};
            fire_seq(c, r, g->key, g->key_len, all, n);
            slots[k] = NULL;
            partial_release(c, g, p, n - 1);
            sd_group_free(c, g);
            return;
        }
        sd_event_ref(r->ev);
        p->steps[k] = (corr_sample){r->t, r->ev};
        slots[k] = NULL;
        if (slots[k + 1]) {
            if (slots[k + 1]->start > p->start) {
                /* The waiting one started later: it dominates the one that moved. */
                partial_release(c, g, p, k + 1);
                continue;
            }
            partial_free(c, g, k + 1);
        }
        slots[k + 1] = p;
    }
    if (mask & 1) {
        /* (A two-step sequence's partial is in the group: the old one goes first.) */
        seq_partial *p = n == 2 ? NULL : sd_seq_partial_new(c, g);
        if (p || n == 2) {
            partial_free(c, g, 1);
            if (!p) p = sd_seq_partial_new(c, g);
            p->start = r->t;
            sd_event_ref(r->ev);
            p->steps[0] = (corr_sample){r->t, r->ev};
            slots[1] = p;
        }
    }
    int64_t newest = INT64_MIN;
    for (uint32_t k = 1; k < n; k++)
        if (slots[k] && slots[k]->start > newest) newest = slots[k]->start;
    if (newest == INT64_MIN) {
        sd_group_free(c, g);
        return;
    }
    sd_group_touch(c, g);
    sd_group_set_expiry(c, g, t_add(newest, dur));
}
