/* seqx.c — ordered sequences with counted steps and `not` steps (absence).
 *
 *   sequence within DUR { a; not b; c: C count >= 5 within 10m; not d }
 *
 * The steps that are not `not` ("positive", 0..m-1 in order) are filled as
 * in sequence.c: per group, slot j holds what has filled the positive steps
 * before j and waits for positive j. A `not` step is a guard of the slot of
 * the positive step that follows it: an event matching it cancels the
 * partials waiting there (they arrived before it; the event that fills the
 * waited step is no guard of it). Leading guards (before the first positive
 * step) are remembered per group — the last such event — and a first step
 * that completes no more than DUR after one starts nothing. Trailing guards
 * (after the last positive step) wait with the completed partial (the
 * "pending" slot) until the watermark is past its start + DUR: then it
 * fires, from its last positive step's record, whose throttle key and aux
 * the group keeps; a guard before that cancels it. Inclusive windows: an
 * event at exactly start + DUR still cancels, so the absence fires only
 * once the watermark is past it (state.c's expiry, driven by the watermark
 * and, before each record, by the record's time, so it fires in event-time
 * order).
 *
 * A counted positive step completes at the event that makes N of its
 * matches fall inside its window (cstep.c); the matches must come after
 * the partial arrived at the step. Several partials may wait at a counted
 * step (an older one may have more matches, a newer more time); a partial
 * is dropped when a newer one started no earlier and no match lies between
 * their arrivals, and at most LIMIT_SEQ_PARTIALS wait. Elsewhere one
 * partial per slot is enough: a newer partial dominates an older one. After
 * an alert the group starts again from zero, as for every sequence.
 */
#include <stdlib.h>
#include <string.h>

#include "correlate/cstep.h"
#include "correlate/seqx_int.h"
#include "util/limits.h"

/* ---- The rule's shape ------------------------------------------------------------------ */

void sd_seqx_shape(const vm_rule *rule, sx_shape *sh) {
    memset(sh, 0, sizeof *sh);
    for (uint32_t i = 0; i < rule->nsteps && i < CORR_MAX_STEPS; i++) {
        if (rule->steps[i].negated) {
            sh->guards[sh->npos] |= (uint64_t)1 << i;
        } else {
            sh->pos[sh->npos++] = i;
        }
    }
    sh->dur = within_ns(rule);
}

static uint64_t step_count(const vm_rule *rule, const sx_shape *sh, uint32_t j) {
    return rule->steps[sh->pos[j]].count;
}

static int64_t step_dur(const vm_rule *rule, const sx_shape *sh, uint32_t j) {
    int64_t ms = rule->steps[sh->pos[j]].count_ms;
    if (ms <= 0) return sh->dur;
    return ms > INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000;
}

/* ---- Partials and slots ------------------------------------------------------------------- */

size_t sd_seqx_partial_size(uint32_t npos) { return sizeof(sx_partial) + npos * sizeof(corr_sample); }

sx_partial *sd_seqx_partial_new(corr *c, corr_group *g, uint32_t npos) {
    return sd_mem_calloc(c, g, sd_seqx_partial_size(npos));
}

/* Frees a partial that has filled `filled` positive steps. */
void sd_seqx_partial_free(corr *c, corr_group *g, sx_partial *p, uint32_t npos, uint32_t filled) {
    for (uint32_t i = 0; i < filled; i++) sd_event_unref(c, p->steps[i].ev);
    sd_mem_free(c, g, p, sd_seqx_partial_size(npos));
}

/* Slot j's partials have filled j positive steps (the pending slot, m of them). */
static void slot_remove(corr *c, corr_group *g, uint32_t j, uint32_t i) {
    seqx_state *x = g->u.x;
    sx_slot *s = &x->slots[j];
    sd_seqx_partial_free(c, g, s->v[i], x->npos, j);
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
    s->n--;
}

static void slot_clear(corr *c, corr_group *g, uint32_t j) {
    while (g->u.x->slots[j].n) slot_remove(c, g, j, g->u.x->slots[j].n - 1);
}

int sd_seqx_slot_append(corr *c, corr_group *g, uint32_t j, sx_partial *p) {
    sx_slot *s = &g->u.x->slots[j];
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 1;
        sx_partial **v = sd_mem_realloc(c, g, s->v, s->cap * sizeof *v, cap * sizeof *v);
        if (!v) return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = p;
    return 0;
}

void sd_seqx_free_state(corr *c, corr_group *g) {
    seqx_state *x = g->u.x;
    if (!x) return;
    for (uint32_t j = 0; j <= x->npos; j++) {
        slot_clear(c, g, j);
        sd_mem_free(c, g, x->slots[j].v, x->slots[j].cap * sizeof(sx_partial *));
    }
    for (uint32_t j = 0; j < x->npos; j++) sd_cstep_free(c, g, &x->counts[j]);
    if (x->pextra) sd_mem_free(c, g, x->pextra, (size_t)x->ptkey_len + x->paux_len);
    sd_mem_free(c, g, x, sd_seqx_state_size(x->npos));
    g->u.x = NULL;
}

size_t sd_seqx_state_size(uint32_t npos) {
    return sizeof(seqx_state) + (npos + 1) * sizeof(sx_slot) + npos * sizeof(cstep);
}

seqx_state *sd_seqx_state_new(corr *c, corr_group *g, uint32_t npos) {
    seqx_state *x = sd_mem_calloc(c, g, sd_seqx_state_size(npos));
    if (!x) return NULL;
    x->npos = npos;
    x->slots = (sx_slot *)(x + 1);
    x->counts = (cstep *)(x->slots + npos + 1);
    return x;
}

/* Keeps what the pending partial's firing record carries. 0, or -1 on OOM. */
int sd_seqx_keep_extra(corr *c, corr_group *g, uint32_t src, const char *tkey, uint32_t tkey_len, const char *aux,
                       uint32_t aux_len) {
    seqx_state *x = g->u.x;
    char *e = NULL;
    if (tkey_len + aux_len) {
        e = sd_mem_alloc(c, g, (size_t)tkey_len + aux_len);
        if (!e) return -1;
        if (tkey_len) memcpy(e, tkey, tkey_len);
        if (aux_len) memcpy(e + tkey_len, aux, aux_len);
    }
    if (x->pextra) sd_mem_free(c, g, x->pextra, (size_t)x->ptkey_len + x->paux_len);
    x->pextra = e;
    x->psrc = src;
    x->ptkey_len = tkey_len;
    x->paux_len = aux_len;
    return 0;
}

/* ---- Firing -------------------------------------------------------------------------------------- */

static void fire(corr *c, corr_group *g, const sx_partial *p, uint32_t src, const char *tkey, uint32_t tkey_len,
                 const char *aux, uint32_t aux_len) {
    uint32_t m = g->u.x->npos;
    uint32_t n = m < c->opts.max_samples ? m : c->opts.max_samples;
    corr_event *evs[n ? n : 1];
    for (uint32_t i = 0; i < n; i++) evs[i] = p->steps[m - n + i].ev;
    corr_fired f = {
        .rule = g->rule,
        .src = src,
        .time_ns = p->steps[m - 1].t,
        .first_ns = p->first,
        .last_ns = p->steps[m - 1].t,
        .count = p->nev,
        .key = g->key,
        .key_len = g->key_len,
        .events = evs,
        .nevents = n,
    };
    sd_corr_fire_kept(c, g->rule, tkey, tkey_len, aux, aux_len, &f);
}

static void fire_pending(corr *c, corr_group *g) {
    seqx_state *x = g->u.x;
    const char *e = x->pextra ? x->pextra : "";
    fire(c, g, x->slots[x->npos].v[0], x->psrc, e, x->ptkey_len, e + x->ptkey_len, x->paux_len);
}

/* ---- Applying a record ---------------------------------------------------------------------------- */

typedef struct ctx {
    corr *c;
    corr_group *g;
    const corr_rec *r;
    const vm_rule *rule;
    const sx_shape *sh;
    int64_t lo; /* partials that started before this cannot finish */
} ctx;

static bool trailing(const sx_shape *sh) { return sh->guards[sh->npos] != 0; }

/* Puts p (which has filled j positive steps, the last with this record)
 * where it waits next: slot j, or the pending slot; false when it fired
 * (the group is then gone). */
static bool place(ctx *k, sx_partial *p, uint32_t j);

/* p has filled positive step j with this record (k matches). */
static bool advance(ctx *k, sx_partial *p, uint32_t j, uint64_t nmatch) {
    sd_event_ref(k->r->ev);
    p->steps[j] = (corr_sample){k->r->t, k->r->ev};
    p->nev += nmatch;
    p->arr_t = k->r->t;
    p->arr_seq = k->r->seq;
    return place(k, p, j + 1);
}

static bool place(ctx *k, sx_partial *p, uint32_t j) {
    corr *c = k->c;
    corr_group *g = k->g;
    seqx_state *x = g->u.x;
    uint32_t m = x->npos;
    if (j == m && !trailing(k->sh)) {
        fire(c, g, p, k->r->src, rec_tkey(k->r), k->r->tkey_len, rec_aux(k->r), k->r->aux_len);
        sd_seqx_partial_free(c, g, p, m, m);
        sd_group_free(c, g);
        return false;
    }
    sx_slot *s = &x->slots[j];
    bool counted = j < m && step_count(k->rule, k->sh, j) > 0;
    if (!counted) {
        /* One waits: the pending one that fires first (the earlier start);
         * elsewhere the newer, which has at least as much time left. */
        if (s->n) {
            bool keep_old = j == m ? s->v[0]->start < p->start : s->v[0]->start > p->start;
            if (keep_old) {
                sd_seqx_partial_free(c, g, p, m, j);
                return true;
            }
            slot_remove(c, g, j, 0);
        }
        if (sd_seqx_slot_append(c, g, j, p) != 0) {
            sd_seqx_partial_free(c, g, p, m, j);
            return true;
        }
        if (j == m)
            (void)sd_seqx_keep_extra(c, g, k->r->src, rec_tkey(k->r), k->r->tkey_len, rec_aux(k->r), k->r->aux_len);
        return true;
    }
    /* A counted step: the one before is dropped when p started no earlier and
     * no match of the step lies between their arrivals. */
    while (s->n) {
        sx_partial *q = s->v[s->n - 1];
        if (q->start > p->start || sd_cstep_any_between(&x->counts[j], q->arr_t, q->arr_seq, p->arr_t, p->arr_seq))
            break;
        slot_remove(c, g, j, s->n - 1);
    }
    if (s->n >= LIMIT_SEQ_PARTIALS) slot_remove(c, g, j, 0);
    if (sd_seqx_slot_append(c, g, j, p) != 0) sd_seqx_partial_free(c, g, p, m, j);
    return true;
}

/* Drops the partials of slot j that started too long ago to finish. */
static void drop_dead(ctx *k, uint32_t j) {
    sx_slot *s = &k->g->u.x->slots[j];
    for (uint32_t i = s->n; i-- > 0;)
        if (s->v[i]->start < k->lo) slot_remove(k->c, k->g, j, i);
}

/* A counted step j the record matches: its hit, and the partials it completes. */
static bool counted_step(ctx *k, uint32_t j) {
    seqx_state *x = k->g->u.x;
    uint64_t need = step_count(k->rule, k->sh, j);
    const char *key;
    uint32_t klen;
    sd_cstep_subkey(k->rule, k->r, k->sh->pos[j], &key, &klen);
    cs_sub *s = sd_cstep_sub(k->c, k->g, &x->counts[j], key, klen);
    if (!s || sd_cstep_push(k->c, k->g, s, k->r->t, k->r->seq, need) != 0) return true;
    sd_cstep_drop_older(s, t_add(k->r->t, -step_dur(k->rule, k->sh, j)));
    if (j > 0) {
        const sx_partial *first = x->slots[j].v[0];
        sd_cstep_drop_upto(s, first->arr_t, first->arr_seq); /* before every arrival: of no use */
    }
    if (s->n < need) return true;
    const cs_hit h = *cs_oldest(s);
    if (j == 0) {
        s->n = 0; /* the step completed: its count starts again from zero */
        sx_partial *p = sd_seqx_partial_new(k->c, k->g, x->npos);
        if (!p) return true;
        p->start = k->r->t;
        p->first = h.t;
        return advance(k, p, 0, need);
    }
    /* The partials that arrived before the oldest of the N matches: the one
     * that started last goes on, the others are dominated by it. */
    sx_slot *sl = &x->slots[j];
    int best = -1;
    for (uint32_t i = 0; i < sl->n; i++)
        if (cs_before(sl->v[i]->arr_t, sl->v[i]->arr_seq, h.t, h.seq) &&
            (best < 0 || sl->v[i]->start >= sl->v[best]->start))
            best = (int)i;
    if (best < 0) return true;
    s->n = 0; /* the step completed: its count starts again from zero */
    sx_partial *p = sl->v[best];
    memmove(&sl->v[best], &sl->v[best + 1], (sl->n - (uint32_t)best - 1) * sizeof *sl->v);
    sl->n--;
    for (uint32_t i = sl->n; i-- > 0;)
        if (cs_before(sl->v[i]->arr_t, sl->v[i]->arr_seq, h.t, h.seq)) slot_remove(k->c, k->g, j, i);
    return advance(k, p, j, need);
}

/* The record as positive step j (j >= 1): false when the group fired and is gone. */
static bool positive_step(ctx *k, uint32_t j) {
    seqx_state *x = k->g->u.x;
    drop_dead(k, j);
    if (!x->slots[j].n) return true;
    if (step_count(k->rule, k->sh, j)) return counted_step(k, j);
    sx_partial *p = x->slots[j].v[0];
    x->slots[j].n = 0;
    return advance(k, p, j, 1);
}

/* The record as the first positive step: false when the group fired. */
static bool first_step(ctx *k) {
    seqx_state *x = k->g->u.x;
    if (x->has_lead && x->lead_t >= k->lo) {
        /* a leading `not` step's event came within DUR before: nothing starts,
         * but a counted first step still counts */
        if (step_count(k->rule, k->sh, 0)) {
            const char *key;
            uint32_t klen;
            sd_cstep_subkey(k->rule, k->r, k->sh->pos[0], &key, &klen);
            cs_sub *s = sd_cstep_sub(k->c, k->g, &x->counts[0], key, klen);
            if (s && sd_cstep_push(k->c, k->g, s, k->r->t, k->r->seq, step_count(k->rule, k->sh, 0)) == 0 &&
                s->n >= step_count(k->rule, k->sh, 0))
                s->n = 0;
        }
        return true;
    }
    if (step_count(k->rule, k->sh, 0)) return counted_step(k, 0);
    sx_partial *p = sd_seqx_partial_new(k->c, k->g, x->npos);
    if (!p) return true;
    p->start = p->first = k->r->t;
    return advance(k, p, 0, 1);
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* When the group is of no more use, or its absence is due (INT64_MIN: empty now). */
static int64_t expiry(const vm_rule *rule, const sx_shape *sh, const seqx_state *x) {
    if (x->slots[x->npos].n) return t_add(x->slots[x->npos].v[0]->start, sh->dur);
    int64_t until = INT64_MIN;
    for (uint32_t j = 1; j < x->npos; j++)
        for (uint32_t i = 0; i < x->slots[j].n; i++) until = max64(until, t_add(x->slots[j].v[i]->start, sh->dur));
    for (uint32_t j = 0; j < x->npos; j++) {
        int64_t t = sd_cstep_newest(&x->counts[j]);
        if (t != INT64_MIN) until = max64(until, t_add(t, step_dur(rule, sh, j)));
    }
    if (x->has_lead) until = max64(until, t_add(x->lead_t, sh->dur));
    return until;
}

static void settle_group(corr *c, corr_group *g, const vm_rule *rule, const sx_shape *sh) {
    for (uint32_t j = 0; j < g->u.x->npos; j++) sd_cstep_compact(c, g, &g->u.x->counts[j]);
    int64_t e = expiry(rule, sh, g->u.x);
    if (e == INT64_MIN) {
        sd_group_free(c, g);
        return;
    }
    sd_group_set_expiry(c, g, e);
}

void sd_seqx_apply(corr *c, const corr_rec *r) {
    const vm_rule *rule = &c->prog->rules[r->rule];
    if (rule->nsteps == 0 || rule->nsteps > CORR_MAX_STEPS) return;
    sx_shape sh;
    sd_seqx_shape(rule, &sh);
    if (sh.npos == 0) return;
    uint64_t mask = r->mask;
    uint64_t first = (uint64_t)1 << sh.pos[0];
    uint64_t h = sd_corr_hash(r->rule, GK_SEQX, r->data, r->key_len);
    corr_group *g = sd_group_find(c, r->rule, GK_SEQX, r->data, r->key_len, h);
    if (!g) {
        if (!(mask & (first | sh.guards[0]))) return;
        g = sd_group_new(c, r->rule, GK_SEQX, r->data, r->key_len, h);
        if (!g) return;
        if (!(g->u.x = sd_seqx_state_new(c, g, sh.npos))) {
            sd_group_free(c, g);
            return;
        }
    }
    if (g->u.x->npos != sh.npos) return;
    seqx_state *x = g->u.x;
    ctx k = {c, g, r, rule, &sh, t_add(r->t, -sh.dur)};
    /* Trailing guards: the pending completion arrived before this event. */
    if ((mask & sh.guards[sh.npos]) && x->slots[sh.npos].n) {
        slot_clear(c, g, sh.npos);
        (void)sd_seqx_keep_extra(c, g, 0, NULL, 0, NULL, 0);
    }
    /* Last slot first, so a partial this record moves on is not looked at
     * again: one event never fills two steps of one partial. */
    for (uint32_t j = sh.npos - 1; j >= 1; j--) {
        if ((mask & ((uint64_t)1 << sh.pos[j])) && !positive_step(&k, j)) return;
        if (mask & sh.guards[j]) slot_clear(c, g, j); /* those left arrived before this event */
    }
    if ((mask & first) && !first_step(&k)) return;
    if (mask & sh.guards[0]) {
        x->has_lead = true;
        x->lead_t = r->t;
        x->lead_seq = r->seq;
    }
    sd_group_touch(c, g);
    settle_group(c, g, rule, &sh);
}

void sd_seqx_expire(corr *c, corr_group *g, int64_t bound) {
    const vm_rule *rule = &c->prog->rules[g->rule];
    seqx_state *x = g->u.x;
    sx_shape sh;
    sd_seqx_shape(rule, &sh);
    if (!x || x->npos != sh.npos) {
        sd_group_free(c, g);
        return;
    }
    if (x->slots[x->npos].n && t_add(x->slots[x->npos].v[0]->start, sh.dur) < bound) {
        fire_pending(c, g); /* no guard came within DUR: the absence holds */
        sd_group_free(c, g);
        return;
    }
    for (uint32_t j = 1; j < x->npos; j++)
        for (uint32_t i = x->slots[j].n; i-- > 0;)
            if (t_add(x->slots[j].v[i]->start, sh.dur) < bound) slot_remove(c, g, j, i);
    for (uint32_t j = 0; j < x->npos; j++)
        for (uint32_t i = 0; i < x->counts[j].nsubs; i++)
            sd_cstep_drop_older(&x->counts[j].subs[i], t_add(bound, -step_dur(rule, &sh, j)));
    if (x->has_lead && t_add(x->lead_t, sh.dur) < bound) x->has_lead = false;
    for (uint32_t j = 0; j < x->npos; j++) sd_cstep_compact(c, g, &x->counts[j]);
    int64_t e = expiry(rule, &sh, x);
    if (e == INT64_MIN || e < bound) {
        sd_group_free(c, g);
        return;
    }
    sd_group_set_expiry(c, g, e);
}
