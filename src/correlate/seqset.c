/* seqset.c — `sequence unordered within DUR { a; b; c }`: every step once,
 * in any order, all inside one span of DUR.
 *
 * Per group the events that may still fill a step: each entry is an event
 * (time, arrival, sample) with the steps it may fill. A step needs at most
 * as many candidates as there are steps (whatever the others take, one is
 * left), so each step keeps its newest n; older candidates lose that step,
 * and an entry with none left goes. Entries older than the newest event −
 * DUR go too (inclusive window). The set completes when the steps can be
 * given distinct events (a bipartite matching, found by augmenting paths:
 * one event never fills two steps). It fires from the record that
 * completed it, with the matched events as samples, and the group starts
 * again from zero. A counted step's candidate is the event that makes N of
 * its matches fall inside its window (cstep.c), which then counts from zero.
 */
#include <stdlib.h>
#include <string.h>

#include "correlate/cstep.h"
#include "util/limits.h"

typedef struct set_entry {
    int64_t t;
    uint64_t seq;
    uint64_t mask; /* the steps it may still fill */
    corr_event *ev;
} set_entry;

struct set_state {
    uint32_t nsteps;
    set_entry *e; /* in event-time order */
    uint32_t n, cap;
    cstep *counts; /* nsteps */
};

static size_t state_size(uint32_t nsteps) { return sizeof(struct set_state) + nsteps * sizeof(cstep); }

static struct set_state *state_new(corr *c, corr_group *g, uint32_t nsteps) {
    struct set_state *s = sd_mem_calloc(c, g, state_size(nsteps));
    if (!s) return NULL;
    s->nsteps = nsteps;
    s->counts = (cstep *)(s + 1);
    return s;
}

void sd_set_free_state(corr *c, corr_group *g) {
    struct set_state *s = g->u.set;
    if (!s) return;
    for (uint32_t i = 0; i < s->n; i++) sd_event_unref(c, s->e[i].ev);
    sd_mem_free(c, g, s->e, s->cap * sizeof *s->e);
    for (uint32_t i = 0; i < s->nsteps; i++) sd_cstep_free(c, g, &s->counts[i]);
    sd_mem_free(c, g, s, state_size(s->nsteps));
    g->u.set = NULL;
}

static int entry_push(corr *c, corr_group *g, int64_t t, uint64_t seq, uint64_t mask, corr_event *ev) {
    struct set_state *s = g->u.set;
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 4;
        set_entry *e = sd_mem_realloc(c, g, s->e, s->cap * sizeof *e, cap * sizeof *e);
        if (!e) return -1;
        s->e = e;
        s->cap = cap;
    }
    sd_event_ref(ev);
    s->e[s->n++] = (set_entry){t, seq, mask, ev};
    return 0;
}

/* Drops the entries older than lo and those that may fill no step. */
static void entries_prune(corr *c, struct set_state *s, int64_t lo) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->e[i].t < lo || !s->e[i].mask)
            sd_event_unref(c, s->e[i].ev);
        else
            s->e[k++] = s->e[i];
    }
    s->n = k;
}

/* Each step keeps its newest nsteps candidates. */
static void cap_candidates(struct set_state *s, uint64_t steps) {
    for (uint32_t b = 0; b < s->nsteps; b++) {
        if (!(steps & ((uint64_t)1 << b))) continue;
        uint32_t have = 0;
        for (uint32_t i = s->n; i-- > 0;) {
            if (!(s->e[i].mask & ((uint64_t)1 << b))) continue;
            if (++have > s->nsteps) s->e[i].mask &= ~((uint64_t)1 << b);
        }
    }
}

/* Kuhn's augmenting path from step b; owner[i]: the step entry i fills (-1: none). */
static bool augment(const struct set_state *s, uint32_t b, int *owner, uint8_t *seen) {
    for (uint32_t i = 0; i < s->n; i++) {
        if (!(s->e[i].mask & ((uint64_t)1 << b)) || seen[i]) continue;
        seen[i] = 1;
        if (owner[i] < 0 || augment(s, (uint32_t)owner[i], owner, seen)) {
            owner[i] = (int)b;
            return true;
        }
    }
    return false;
}

/* Whether every step can take an entry of its own; owner[] says which. */
static bool complete(const struct set_state *s, int *owner, uint8_t *seen) {
    uint64_t any = 0;
    for (uint32_t i = 0; i < s->n; i++) any |= s->e[i].mask;
    uint64_t all = s->nsteps == 64 ? UINT64_MAX : (((uint64_t)1 << s->nsteps) - 1);
    if ((any & all) != all) return false;
    for (uint32_t i = 0; i < s->n; i++) owner[i] = -1;
    for (uint32_t b = 0; b < s->nsteps; b++) {
        memset(seen, 0, s->n);
        if (!augment(s, b, owner, seen)) return false;
    }
    return true;
}

static void fire(corr *c, corr_group *g, const corr_rec *r, const vm_rule *rule, const int *owner) {
    const struct set_state *s = g->u.set;
    uint32_t m = 0, idx[CORR_MAX_STEPS] = {0};
    for (uint32_t i = 0; i < s->n; i++)
        if (owner[i] >= 0) idx[m++] = i; /* in event-time order */
    uint32_t n = m < c->opts.max_samples ? m : c->opts.max_samples;
    corr_event *evs[n ? n : 1];
    for (uint32_t i = 0; i < n; i++) evs[i] = s->e[idx[m - n + i]].ev;
    uint64_t count = 0;
    for (uint32_t b = 0; b < rule->nsteps; b++) count += rule->steps[b].count ? rule->steps[b].count : 1;
    corr_fired f = {
        .rule = r->rule,
        .src = r->src,
        .time_ns = r->t,
        .first_ns = m ? s->e[idx[0]].t : r->t,
        .last_ns = r->t,
        .count = count,
        .key = g->key,
        .key_len = g->key_len,
        .events = evs,
        .nevents = n,
    };
    sd_corr_fire(c, r, &f);
}

static int64_t step_dur(const vm_rule *rule, uint32_t b) {
    int64_t ms = rule->steps[b].count_ms > 0 ? rule->steps[b].count_ms : rule->within_ms;
    return ms > INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000;
}

/* The steps the record may fill: its plain steps, and the counted ones it completes. */
static uint64_t candidate_steps(corr *c, corr_group *g, const corr_rec *r, const vm_rule *rule) {
    struct set_state *s = g->u.set;
    uint64_t cand = 0;
    for (uint32_t b = 0; b < s->nsteps; b++) {
        if (!(r->mask & ((uint64_t)1 << b))) continue;
        uint64_t need = rule->steps[b].count;
        if (!need) {
            cand |= (uint64_t)1 << b;
            continue;
        }
        const char *key;
        uint32_t klen;
        sd_cstep_subkey(rule, r, b, &key, &klen);
        cs_sub *sub = sd_cstep_sub(c, g, &s->counts[b], key, klen);
        if (!sub || sd_cstep_push(c, g, sub, r->t, r->seq, need) != 0) continue;
        sd_cstep_drop_older(sub, t_add(r->t, -step_dur(rule, b)));
        if (sub->n >= need) {
            sub->n = 0; /* completed: counts from zero again */
            cand |= (uint64_t)1 << b;
        }
    }
    return cand;
}

void sd_set_apply(corr *c, const corr_rec *r) {
    const vm_rule *rule = &c->prog->rules[r->rule];
    uint32_t n = rule->nsteps;
    if (n == 0 || n > CORR_MAX_STEPS || !r->mask) return;
    int64_t dur = within_ns(rule);
    uint64_t h = sd_corr_hash(r->rule, GK_SET, r->data, r->key_len);
    corr_group *g = sd_group_find(c, r->rule, GK_SET, r->data, r->key_len, h);
    if (!g) {
        g = sd_group_new(c, r->rule, GK_SET, r->data, r->key_len, h);
        if (!g) return;
        if (!(g->u.set = state_new(c, g, n))) {
            sd_group_free(c, g);
            return;
        }
    }
    struct set_state *s = g->u.set;
    if (s->nsteps != n) return;
    entries_prune(c, s, t_add(r->t, -dur));
    uint64_t cand = candidate_steps(c, g, r, rule);
    if (cand && entry_push(c, g, r->t, r->seq, cand, r->ev) == 0) {
        cap_candidates(s, cand);
        entries_prune(c, s, t_add(r->t, -dur));
        int *owner = malloc(s->n * sizeof *owner);
        uint8_t *seen = malloc(s->n ? s->n : 1);
        bool done = owner && seen && complete(s, owner, seen);
        if (done) fire(c, g, r, rule, owner);
        free(owner);
        free(seen);
        if (done) {
            sd_group_free(c, g);
            return;
        }
    }
    int64_t until = s->n ? t_add(s->e[s->n - 1].t, dur) : INT64_MIN;
    for (uint32_t b = 0; b < n; b++) {
        sd_cstep_compact(c, g, &s->counts[b]);
        int64_t t = sd_cstep_newest(&s->counts[b]);
        if (t != INT64_MIN && t_add(t, step_dur(rule, b)) > until) until = t_add(t, step_dur(rule, b));
    }
    if (until == INT64_MIN) {
        sd_group_free(c, g);
        return;
    }
    sd_group_touch(c, g);
    sd_group_set_expiry(c, g, until);
}

void sd_set_snap_write(writer *w, const corr *c, const corr_group *g) {
    (void)c;
    const struct set_state *s = g->u.set;
    w_u32(w, s->nsteps);
    w_u32(w, s->n);
    for (uint32_t i = 0; i < s->n; i++) {
        w_i64(w, s->e[i].t);
        w_u64(w, s->e[i].seq);
        w_u64(w, s->e[i].mask);
        w_event(w, s->e[i].ev);
    }
    for (uint32_t b = 0; b < s->nsteps; b++) sd_cstep_write(w, &s->counts[b]);
}

bool sd_set_snap_read(reader *r, corr *c, corr_group *g) {
    uint32_t nsteps = r_u32(r);
    if (r->bad || nsteps == 0 || nsteps > CORR_MAX_STEPS) return false;
    const vm_rule *rule = g ? &c->prog->rules[g->rule] : NULL;
    if (rule) {
        if (!rule->unordered || rule->nsteps != nsteps) return false;
        if (!(g->u.set = state_new(c, g, nsteps))) return false;
    }
    uint32_t n = r_u32(r);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        int64_t t = r_i64(r);
        uint64_t seq = r_u64(r), mask = r_u64(r);
        corr_event *ev = r_event(r, c);
        if (!ev) return false;
        if (g && entry_push(c, g, t, seq, mask, ev) != 0) return false;
    }
    for (uint32_t b = 0; b < nsteps && !r->bad; b++)
        if (!sd_cstep_read(r, c, g, g ? &g->u.set->counts[b] : NULL, rule ? rule->steps[b].count : 1)) return false;
    return !r->bad;
}
