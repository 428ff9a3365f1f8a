/* state.c — the correlator's group table: a chained hash map keyed by
 * (rule, kind, group key bytes), an LRU list across all rules, a min-heap of
 * expiry times driven by the watermark, shared event copies, and the memory
 * accounting behind the cap.
 *
 * Every byte the correlator allocates is added to c->bytes when allocated and
 * taken off when freed, at what malloc takes for it (mem.c), so
 * stats.state_bytes is what is held now. Eviction never runs inside the apply
 * loop (c->applying), so a group being updated is never freed under its
 * caller.
 */
#include <stdlib.h>
#include <string.h>

#include "correlate/corr_int.h"
#include "util/hash.h"
#include "util/limits.h"

corr *sd_corr_new(const corr_opts *opts) {
    corr *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->opts = *opts;
    if (c->opts.max_samples == 0) c->opts.max_samples = 1;
    if (c->opts.max_samples > CORR_MAX_SAMPLES) c->opts.max_samples = CORR_MAX_SAMPLES;
    if (c->opts.lateness_ns < 0) c->opts.lateness_ns = 0;
    c->watermark = INT64_MIN;
    c->nbuckets = 1024;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    sd_mem_account(c, NULL, (int64_t)(sd_mem_cost(sizeof *c) + sd_mem_cost(c->nbuckets * sizeof *c->buckets)));
    return c;
}

void sd_corr_free(corr *c) {
    if (!c) return;
    sd_fired_clear(c);
    sd_recs_clear(c);
    sd_rec_chunks_free(c);
    sd_corr_clear_groups(c);
    sd_zip_free(c);
    free(c->recs);
    free(c->kept);
    free(c->heap);
    free(c->buckets);
    for (uint32_t i = 0; i < c->nsources; i++) free(c->sources[i]);
    free(c->sources);
    free(c);
}

void sd_corr_get_stats(const corr *c, corr_stats *out) {
    out->groups = c->ngroups;
    out->bytes = c->bytes;
    out->evicted = c->evicted;
    out->peak_bytes = c->peak;
}

/* ---- Events and sources --------------------------------------------------- */

static size_t event_size(uint32_t len) { return sizeof(corr_event) + len + 1; }

corr_event *sd_corr_event_new(corr *c, const char *json, size_t len) {
    if (len >= CORR_EV_Z) return NULL; /* (that bit marks a compressed event) */
    corr_event *ev = sd_mem_alloc(c, NULL, event_size((uint32_t)len));
    if (!ev) return NULL;
    ev->refs = 0;
    ev->len = (uint32_t)len;
    ev->snap_gen = 0;
    ev->snap_idx = 0;
    memcpy(ev->json, json, len);
    ev->json[len] = 0;
    return ev;
}

void sd_corr_event_drop(corr *c, corr_event *ev) {
    if (ev && ev->refs == 0) sd_mem_free(c, NULL, ev, sd_event_alloc_size(ev));
}

void sd_event_ref(corr_event *ev) {
    if (ev) ev->refs++;
}

void sd_event_unref(corr *c, corr_event *ev) {
    if (!ev) return;
    if (--ev->refs == 0) {
        corr_event *dict = event_is_z(ev) ? sd_zevent_dict(ev) : NULL;
        sd_mem_free(c, NULL, ev, sd_event_alloc_size(ev));
        sd_event_unref(c, dict);
    }
}

uint32_t sd_corr_source_id(corr *c, const char *name) {
    for (uint32_t i = 0; i < c->nsources; i++)
        if (strcmp(c->sources[i], name) == 0) return i;
    char **p = realloc(c->sources, (c->nsources + 1) * sizeof *p);
    if (!p) return UINT32_MAX;
    c->sources = p;
    p[c->nsources] = strdup(name);
    if (!p[c->nsources]) return UINT32_MAX;
    return c->nsources++;
}

const char *sd_corr_source_name(const corr *c, uint32_t id) { return id < c->nsources ? c->sources[id] : ""; }

/* ---- The table --------------------------------------------------------------- */

uint64_t sd_corr_hash(uint32_t rule, uint8_t kind, const char *key, uint32_t len) {
    uint64_t h = hash_bytes(key, len);
    h ^= ((uint64_t)rule << 8 | kind) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    return h;
}

corr_group *sd_group_find(corr *c, uint32_t rule, uint8_t kind, const char *key, uint32_t len, uint64_t h) {
    for (corr_group *g = c->buckets[h & (c->nbuckets - 1)]; g; g = g->hnext)
        if (g->rule == rule && g->kind == kind && g->key_len == len && memcmp(g->key, key, len) == 0) return g;
    return NULL;
}

/* Doubles the bucket array; on OOM the chains just get longer. */
static void table_grow(corr *c) {
    uint32_t n = c->nbuckets * 2;
    if (n == 0) return;
    corr_group **b = calloc(n, sizeof *b);
    if (!b) return;
    for (uint32_t i = 0; i < c->nbuckets; i++) {
        corr_group *g = c->buckets[i];
        while (g) {
            corr_group *next = g->hnext;
            uint64_t gh = group_hash(g);
            g->hnext = b[gh & (n - 1)];
            b[gh & (n - 1)] = g;
            g = next;
        }
    }
    free(c->buckets);
    sd_mem_account(c, NULL,
                   (int64_t)sd_mem_cost((size_t)n * sizeof *b) - (int64_t)sd_mem_cost((size_t)c->nbuckets * sizeof *b));
    c->buckets = b;
    c->nbuckets = n;
}

static void lru_unlink(corr *c, corr_group *g) {
    if (g->lprev)
        g->lprev->lnext = g->lnext;
    else
        c->lru_head = g->lnext;
    if (g->lnext)
        g->lnext->lprev = g->lprev;
    else
        c->lru_tail = g->lprev;
    g->lprev = g->lnext = NULL;
}

static void lru_push_head(corr *c, corr_group *g) {
    g->lprev = NULL;
    g->lnext = c->lru_head;
    if (c->lru_head)
        c->lru_head->lprev = g;
    else
        c->lru_tail = g;
    c->lru_head = g;
}

void sd_group_touch(corr *c, corr_group *g) {
    sd_cold_touch(c, g);
    if (c->lru_head == g) return;
    lru_unlink(c, g);
    lru_push_head(c, g);
}

corr_group *sd_group_new(corr *c, uint32_t rule, uint8_t kind, const char *key, uint32_t len, uint64_t h) {
    if (c->ngroups >= c->nbuckets && c->nbuckets < (1u << 30)) table_grow(c);
    corr_group *g = calloc(1, sizeof *g + len);
    if (!g) return NULL;
    g->rule = rule;
    g->kind = kind;
    g->key_len = len;
    g->heap_idx = NO_HEAP;
    g->expires = INT64_MAX;
    memcpy(g->key, key, len);
    uint32_t slot = (uint32_t)(h & (c->nbuckets - 1));
    g->hnext = c->buckets[slot];
    c->buckets[slot] = g;
    lru_push_head(c, g);
    c->ngroups++;
    c->nwarm++;
    /* The header's own cost: on g->bytes, taken off with the rest in sd_group_free. */
    sd_mem_account(c, g, (int64_t)sd_mem_cost(sizeof *g + len));
    return g;
}

/* ---- Expiry heap ----------------------------------------------------------------- */

static void heap_swap(corr *c, uint32_t i, uint32_t j) {
    corr_group *t = c->heap[i];
    c->heap[i] = c->heap[j];
    c->heap[j] = t;
    c->heap[i]->heap_idx = i;
    c->heap[j]->heap_idx = j;
}

static void heap_up(corr *c, uint32_t i) {
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (c->heap[p]->expires <= c->heap[i]->expires) break;
        heap_swap(c, i, p);
        i = p;
    }
}

static void heap_down(corr *c, uint32_t i) {
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < c->nheap && c->heap[l]->expires < c->heap[m]->expires) m = l;
        if (r < c->nheap && c->heap[r]->expires < c->heap[m]->expires) m = r;
        if (m == i) break;
        heap_swap(c, i, m);
        i = m;
    }
}

static void heap_remove(corr *c, corr_group *g) {
    uint32_t i = g->heap_idx;
    if (i == NO_HEAP) return;
    uint32_t last = c->nheap - 1;
    if (i != last) heap_swap(c, i, last);
    c->nheap--;
    g->heap_idx = NO_HEAP;
    if (i < c->nheap) {
        heap_up(c, i);
        heap_down(c, i);
    }
}

void sd_group_set_expiry(corr *c, corr_group *g, int64_t expires) {
    g->expires = expires;
    if (expires == INT64_MAX) {
        heap_remove(c, g);
        return;
    }
    if (g->heap_idx == NO_HEAP) {
        if (c->nheap == c->capheap) {
            uint32_t cap = c->capheap ? c->capheap * 2 : 256;
            corr_group **p = sd_mem_realloc(c, NULL, c->heap, c->capheap * sizeof *p, cap * sizeof *p);
            if (!p) return; /* not in the heap: freed by eviction or reset instead */
            c->heap = p;
            c->capheap = cap;
        }
        g->heap_idx = c->nheap;
        c->heap[c->nheap++] = g;
        heap_up(c, g->heap_idx);
    } else {
        heap_up(c, g->heap_idx);
        heap_down(c, g->heap_idx);
    }
}

void sd_group_free(corr *c, corr_group *g) {
    uint32_t slot = (uint32_t)(group_hash(g) & (c->nbuckets - 1));
    for (corr_group **pp = &c->buckets[slot]; *pp; pp = &(*pp)->hnext) {
        if (*pp == g) {
            *pp = g->hnext;
            break;
        }
    }
    sd_cold_forget(c, g);
    lru_unlink(c, g);
    heap_remove(c, g);
    switch (g->kind) {
    case GK_SEQ: sd_seq_free_state(c, g); break;
    case GK_COUNT:
    case GK_DISTINCT: sd_window_free_state(c, g); break;
    case GK_SUM: sd_sum_free_state(c, g); break;
    case GK_SEQX: sd_seqx_free_state(c, g); break;
    case GK_SET: sd_set_free_state(c, g); break;
    default: break;
    }
    if (g->scap > 0) {
        corr_event **ring = sample_ring(g);
        for (uint32_t i = 0; i < g->sn; i++) sd_event_unref(c, ring[(g->shead + i) % g->scap]);
        if (g->scap > 1) sd_mem_free(c, g, g->samples.ring, g->scap * sizeof *ring);
    }
    c->bytes -= g->bytes;
    c->ngroups--;
    free(g);
    /* No compressed sample is left: the dictionaries would be all that is. */
    if (c->ngroups == 0) sd_zip_dicts_clear(c);
}

/* Frees the groups whose state no record at or after the watermark can use. */
void sd_corr_expire(corr *c) { sd_corr_expire_before(c, c->watermark); }

void sd_corr_expire_before(corr *c, int64_t bound) {
    while (c->nheap > 0 && c->heap[0]->expires < bound) {
        corr_group *g = c->heap[0];
        if (g->kind == GK_SEQX) {
            /* An absence may be due: it fires, or the group drops what is too old. */
            bool was = c->applying;
            c->applying = true;
            sd_seqx_expire(c, g, bound);
            c->applying = was;
        } else if (g->kind == GK_THROTTLE && g->u.t.suppressed > 0) {
            /* Its count must reach the next alert: kept (LRU may still evict it). */
            heap_remove(c, g);
            g->expires = INT64_MAX;
        } else {
            sd_group_free(c, g);
        }
    }
}

uint64_t sd_corr_enforce_cap(corr *c) {
    if (c->applying) return 0;
    sd_cold_sweep(c);
    if (c->opts.max_bytes == 0) return 0;
    uint64_t before = c->bytes; /* (what the sweep saved is not eviction) */
    while (c->bytes > c->opts.max_bytes && c->lru_tail) {
        sd_group_free(c, c->lru_tail);
        c->evicted++;
    }
    return before - c->bytes;
}

void sd_corr_clear_groups(corr *c) {
    while (c->lru_head) sd_group_free(c, c->lru_head);
}

/* ---- Samples ------------------------------------------------------------------------- */

/* The ring starts with room for one sample (in the group itself) and
 * doubles up to max_samples: at a million groups most see one event, and a
 * ring of max_samples each would cost them for nothing. */
int sd_samples_push(corr *c, corr_group *g, corr_event *ev) {
    uint32_t max = c->opts.max_samples;
    if (g->sn == g->scap && g->scap < max) {
        uint32_t new_cap = g->scap ? 2u * g->scap : 1u;
        if (new_cap > max) new_cap = max;
        if (new_cap > 1) {
            corr_event **p = sd_mem_alloc(c, g, new_cap * sizeof *p);
            if (!p) return -1;
            corr_event **old = sample_ring(g);
            for (uint32_t i = 0; i < g->sn; i++) p[i] = old[(g->shead + i) % g->scap];
            if (g->scap > 1) sd_mem_free(c, g, g->samples.ring, g->scap * sizeof *p);
            g->samples.ring = p;
        }
        g->scap = (uint16_t)new_cap;
        g->shead = 0;
    }
    corr_event **ring = sample_ring(g);
    uint32_t cap = g->scap;
    sd_event_ref(ev);
    if (g->sn == cap) {
        sd_event_unref(c, ring[g->shead]);
        ring[g->shead] = ev;
        g->shead = (uint16_t)((g->shead + 1) % cap);
    } else {
        ring[(g->shead + g->sn) % cap] = ev;
        g->sn++;
    }
    return 0;
}

void sd_samples_last(const corr *c, const corr_group *g, uint32_t n, corr_event **out) {
    (void)c;
    corr_event *const *ring = sample_ring_c(g);
    uint32_t first = g->sn - n;
    for (uint32_t i = 0; i < n; i++) out[i] = ring[(g->shead + first + i) % g->scap];
}
