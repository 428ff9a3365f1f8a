/* window.c — count and distinct windows.
 *
 * Per group a ring of the events inside the window (only their times for
 * count; times and values for distinct), plus a ring of the last
 * max_samples events' JSON. A record at time t first drops the entries older
 * than t − DUR (so t and t + DUR share a span: inclusive), is then added, and
 * when the threshold is reached the alert fires and the group is freed (it
 * "starts again from zero"). Records arrive in event-time order (reorder.c),
 * so the oldest entry is always at the front of the ring.
 *
 * The samples are the last min(max_samples, events in the window) events:
 * those are exactly the newest events of the window.
 */
#include <stdlib.h>
#include <string.h>

#include "correlate/corr_int.h"
#include "util/hash.h"
#include "util/limits.h"

void sd_window_free_state(corr *c, corr_group *g) {
    if (g->kind == GK_COUNT) {
        if (g->u.c.times != g->u.c.in) sd_mem_free(c, g, g->u.c.times, g->u.c.cap * sizeof(int64_t));
        g->u.c.times = NULL;
        g->u.c.n = g->u.c.cap = 0;
        return;
    }
    for (uint32_t i = 0; i < g->u.d.n; i++) {
        dentry *e = &g->u.d.ents[(g->u.d.head + i) % g->u.d.cap];
        if (e->n > 1) sd_mem_free(c, g, e->v.many, e->n * sizeof(dval *));
    }
    sd_mem_free(c, g, g->u.d.ents, g->u.d.cap * sizeof(dentry));
    for (uint32_t i = 0; i < g->u.d.nvals; i++) sd_mem_free(c, g, g->u.d.vals[i], sizeof(dval) + g->u.d.vals[i]->len);
    sd_mem_free(c, g, g->u.d.vals, g->u.d.capvals * sizeof(dval *));
    memset(&g->u.d, 0, sizeof g->u.d);
}

static corr_group *get_group(corr *c, const corr_rec *r, uint8_t kind) {
    uint64_t h = sd_corr_hash(r->rule, kind, r->data, r->key_len);
    corr_group *g = sd_group_find(c, r->rule, kind, r->data, r->key_len, h);
    return g ? g : sd_group_new(c, r->rule, kind, r->data, r->key_len, h);
}

/* Fires the alert of a count or distinct group and frees the group. */
void sd_window_fire(corr *c, corr_group *g, const corr_rec *r, corr_fired *f) {
    uint32_t n = g->sn < f->count ? g->sn : (uint32_t)f->count;
    corr_event *evs[n ? n : 1];
    sd_samples_last(c, g, n, evs);
    f->rule = r->rule;
    f->src = r->src;
    f->time_ns = r->t;
    f->last_ns = r->t;
    f->key = g->key;
    f->key_len = g->key_len;
    f->events = evs;
    f->nevents = n;
    sd_corr_fire(c, r, f);
    sd_group_free(c, g);
}

/* ---- count ------------------------------------------------------------------- */

/* Moves a ring of n elements (head at *head, capacity old_cap) into a new
 * array of new_cap, oldest first, and accounts the change to the group. */
int sd_ring_resize(corr *c, corr_group *g, void **ring, uint32_t *head, uint32_t n, uint32_t *cap, uint32_t new_cap,
                   size_t elem) {
    char *p = sd_mem_alloc(c, g, (size_t)new_cap * elem);
    if (!p) return -1;
    const char *old = *ring;
    for (uint32_t i = 0; i < n; i++) memcpy(p + (size_t)i * elem, old + (size_t)((*head + i) % *cap) * elem, elem);
    sd_mem_free(c, g, *ring, (size_t)*cap * elem);
    *ring = p;
    *cap = new_cap;
    *head = 0;
    return 0;
}

static int times_grow(corr *c, corr_group *g) {
    /* The ring never holds more than the threshold (the group fires and
     * resets when it gets there), so it never grows past it. */
    uint64_t limit = c->prog->rules[g->rule].threshold;
    /* The first two times are kept in the group itself (most groups of a
     * large table see one event); then grow by half: most groups never
     * fill, and a tight ring keeps them small. */
    if (!g->u.c.times) {
        g->u.c.times = g->u.c.in;
        g->u.c.cap = 2;
        g->u.c.head = 0;
        return 0;
    }
    uint32_t cap = g->u.c.cap + g->u.c.cap / 2;
    if (limit && cap > limit) cap = (uint32_t)limit;
    if (cap <= g->u.c.n) cap = g->u.c.n + 1;
    if (g->u.c.times == g->u.c.in) {
        int64_t *p = sd_mem_alloc(c, g, (size_t)cap * sizeof *p);
        if (!p) return -1;
        for (uint32_t i = 0; i < g->u.c.n; i++) p[i] = g->u.c.in[(g->u.c.head + i) % g->u.c.cap];
        g->u.c.times = p;
        g->u.c.cap = cap;
        g->u.c.head = 0;
        return 0;
    }
    void *ring = g->u.c.times;
    int rc = sd_ring_resize(c, g, &ring, &g->u.c.head, g->u.c.n, &g->u.c.cap, cap, sizeof *g->u.c.times);
    g->u.c.times = ring;
    return rc;
}

void sd_count_apply(corr *c, const corr_rec *r) {
    const vm_rule *rule = &c->prog->rules[r->rule];
    int64_t dur = within_ns(rule);
    corr_group *g = get_group(c, r, GK_COUNT);
    if (!g) return;
    int64_t lo = t_add(r->t, -dur);
    while (g->u.c.n > 0 && g->u.c.times[g->u.c.head] < lo) {
        g->u.c.head = (g->u.c.head + 1) % g->u.c.cap;
        g->u.c.n--;
    }
    if (sd_count_push(c, g, r->t) != 0) return;
    if (sd_samples_push(c, g, r->ev) != 0) return;
    sd_group_touch(c, g);
    if (g->u.c.n >= rule->threshold) {
        sd_window_fire(c, g, r, &(corr_fired){.first_ns = g->u.c.times[g->u.c.head], .count = g->u.c.n});
        return;
    }
    sd_group_set_expiry(c, g, t_add(r->t, dur));
}

/* ---- distinct ------------------------------------------------------------------- */

static void dval_release(corr *c, corr_group *g, dval *v) {
    if (--v->refs > 0) return;
    for (uint32_t i = 0; i < g->u.d.nvals; i++) {
        if (g->u.d.vals[i] == v) {
            g->u.d.vals[i] = g->u.d.vals[--g->u.d.nvals];
            break;
        }
    }
    sd_mem_free(c, g, v, sizeof *v + v->len);
}

static void dentry_drop(corr *c, corr_group *g, dentry *e) {
    if (e->n == 1) {
        dval_release(c, g, e->v.one);
    } else {
        for (uint32_t i = 0; i < e->n; i++) dval_release(c, g, e->v.many[i]);
        sd_mem_free(c, g, e->v.many, e->n * sizeof(dval *));
    }
    e->n = 0;
}

/* The live value with these bytes, created (refs 0) when new; NULL on OOM. */
static dval *dval_get(corr *c, corr_group *g, const char *s, uint32_t len) {
    uint64_t h = hash_bytes(s, len);
    for (uint32_t i = 0; i < g->u.d.nvals; i++) {
        dval *v = g->u.d.vals[i];
        if (v->hash == h && v->len == len && memcmp(v->bytes, s, len) == 0) return v;
    }
    if (g->u.d.nvals == g->u.d.capvals) {
        uint32_t cap = g->u.d.capvals ? g->u.d.capvals * 2 : 4;
        dval **p = sd_mem_realloc(c, g, g->u.d.vals, g->u.d.capvals * sizeof *p, cap * sizeof *p);
        if (!p) return NULL;
        g->u.d.vals = p;
        g->u.d.capvals = cap;
    }
    dval *v = sd_mem_alloc(c, g, sizeof *v + len);
    if (!v) return NULL;
    v->hash = h;
    v->refs = 0;
    v->len = len;
    memcpy(v->bytes, s, len);
    g->u.d.vals[g->u.d.nvals++] = v;
    return v;
}

static int ents_grow(corr *c, corr_group *g) {
    uint32_t cap = g->u.d.cap ? g->u.d.cap * 2 : 4;
    void *ring = g->u.d.ents;
    int rc = sd_ring_resize(c, g, &ring, &g->u.d.head, g->u.d.n, &g->u.d.cap, cap, sizeof *g->u.d.ents);
    g->u.d.ents = ring;
    return rc;
}

static uint32_t get_u32(const char *p) {
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

void sd_corr_vals_put(buf *b, const char *json, uint32_t len) {
    unsigned char l[4] = {(unsigned char)len, (unsigned char)(len >> 8), (unsigned char)(len >> 16),
                          (unsigned char)(len >> 24)};
    sd_buf_append(b, l, 4);
    sd_buf_append(b, json, len);
}

/* Adds an entry of `nvals` values (blob: sd_corr_vals_put format) at time t to
 * a distinct group, each value once. 1 added; 0 nothing to add (no value);
 * -1 OOM (nothing added). */
int sd_distinct_push(corr *c, corr_group *g, int64_t t, const char *blob, uint32_t blob_len, uint32_t nvals) {
    if (nvals > blob_len / 4) nvals = blob_len / 4; /* each value has a 4-byte length */
    if (nvals > CORR_MAX_VALUES) nvals = CORR_MAX_VALUES;
    if (g->u.d.n == g->u.d.cap && ents_grow(c, g) != 0) return -1;
    dval *tmp[nvals ? nvals : 1];
    uint32_t n = 0;
    bool failed = false;
    const char *p = blob, *end = blob_len ? blob + blob_len : blob; /* a snapshot's empty entry has no blob */
    for (uint32_t i = 0; i < nvals && end - p >= 4; i++) {
        uint32_t len = get_u32(p);
        p += 4;
        if ((size_t)(end - p) < len) break;
        dval *v = dval_get(c, g, p, len);
        p += len;
        if (!v) {
            failed = true;
            break;
        }
        bool seen = false;
        for (uint32_t k = 0; k < n && !seen; k++) seen = tmp[k] == v;
        if (!seen) {
            v->refs++;
            tmp[n++] = v;
        }
    }
    dentry e = {.t = t, .n = n};
    if (n == 1) {
        e.v.one = tmp[0];
    } else if (n > 1 && !failed) {
        e.v.many = sd_mem_alloc(c, g, n * sizeof *e.v.many);
        if (e.v.many) {
            memcpy(e.v.many, tmp, n * sizeof *tmp);
        } else {
            failed = true;
        }
    }
    if (n == 0 || failed) {
        for (uint32_t k = 0; k < n; k++) dval_release(c, g, tmp[k]);
        /* Values created for nothing (refs 0) are still listed: drop them. */
        for (uint32_t i = g->u.d.nvals; i-- > 0;) {
            if (g->u.d.vals[i]->refs == 0) {
                g->u.d.vals[i]->refs = 1;
                dval_release(c, g, g->u.d.vals[i]);
            }
        }
        return failed ? -1 : 0;
    }
    g->u.d.ents[(g->u.d.head + g->u.d.n) % g->u.d.cap] = e;
    g->u.d.n++;
    return 1;
}

int sd_count_push(corr *c, corr_group *g, int64_t t) {
    if (g->u.c.n == g->u.c.cap && times_grow(c, g) != 0) return -1;
    g->u.c.times[(g->u.c.head + g->u.c.n) % g->u.c.cap] = t;
    g->u.c.n++;
    return 0;
}

void sd_distinct_apply(corr *c, const corr_rec *r) {
    const vm_rule *rule = &c->prog->rules[r->rule];
    int64_t dur = within_ns(rule);
    if (r->nvals == 0) return; /* P missing: the rule ignores the event */
    corr_group *g = get_group(c, r, GK_DISTINCT);
    if (!g) return;
    int64_t lo = t_add(r->t, -dur);
    while (g->u.d.n > 0 && g->u.d.ents[g->u.d.head].t < lo) {
        dentry_drop(c, g, &g->u.d.ents[g->u.d.head]);
        g->u.d.head = (g->u.d.head + 1) % g->u.d.cap;
        g->u.d.n--;
    }
    if (sd_distinct_push(c, g, r->t, r->data + r->key_len, r->vals_len, r->nvals) != 1) {
        if (g->u.d.n == 0 && g->sn == 0) sd_group_free(c, g);
        return;
    }
    if (sd_samples_push(c, g, r->ev) != 0) return;
    sd_group_touch(c, g);
    if (g->u.d.nvals >= rule->threshold) {
        sd_window_fire(c, g, r,
                       &(corr_fired){.first_ns = g->u.d.ents[g->u.d.head].t,
                                     .count = g->u.d.n,
                                     .has_distinct = true,
                                     .distinct = g->u.d.nvals});
        return;
    }
    sd_group_set_expiry(c, g, t_add(r->t, dur));
}
