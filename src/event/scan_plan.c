/* scan_plan.c — builds the scanner's trie from a ruleset's path table.
 *
 * Promises: the plan is immutable once built and may be shared by threads;
 * building recurses at most a small multiple of LIMIT_SCAN_SEGMENTS deep (longer
 * paths make sd_scan_plan_new fail, and the caller keeps using cJSON); every
 * node whose array elements are reached both by [*] and by [N] has its [N]
 * children merged with the [*] child, so an element never needs two nodes.
 */
#include <stdlib.h>
#include <string.h>

#include "event/scan_int.h"
#include "util/limits.h"

static uint32_t node_new(scan_plan *p) {
    if (p->nnodes == p->cap_nodes) {
        uint32_t cap = p->cap_nodes ? p->cap_nodes * 2 : 16;
        scan_node *n = realloc(p->nodes, (size_t)cap * sizeof *n);
        if (!n) return SCAN_NONE;
        p->nodes = n;
        p->cap_nodes = cap;
    }
    scan_node *n = &p->nodes[p->nnodes];
    memset(n, 0, sizeof *n);
    n->star = SCAN_NONE;
    return p->nnodes++;
}

static int add_out(scan_node *n, uint32_t out) {
    for (uint32_t i = 0; i < n->nouts; i++)
        if (n->outs[i] == out) return 0;
    uint32_t *o = realloc(n->outs, ((size_t)n->nouts + 1) * sizeof *o);
    if (!o) return -1;
    o[n->nouts++] = out;
    n->outs = o;
    return 0;
}

static uint32_t find_key(const scan_node *n, const char *k, uint32_t len) {
    for (uint32_t i = 0; i < n->nkeys; i++)
        if (n->keys[i].len == len && memcmp(n->keys[i].key, k, len) == 0) return i;
    return SCAN_NONE;
}

/* Adds key edge k → child to node id; -1 on OOM. */
static int add_key(scan_plan *p, uint32_t id, const char *k, uint32_t len, uint32_t child) {
    scan_node *n = &p->nodes[id];
    scan_kedge *e = realloc(n->keys, ((size_t)n->nkeys + 1) * sizeof *e);
    if (!e) return -1;
    n->keys = e;
    char *copy = malloc((size_t)len + 1);
    if (!copy) return -1;
    if (len) memcpy(copy, k, len);
    copy[len] = 0;
    e[n->nkeys++] = (scan_kedge){copy, len, child};
    /* cppcheck-suppress memleak ; the edge owns copy (scan_plan_free frees it) */
    return 0;
}

static uint32_t find_idx(const scan_node *n, uint32_t index) {
    for (uint32_t i = 0; i < n->nidx; i++)
        if (n->idx[i].index == index) return i;
    return SCAN_NONE;
}

static int add_idx(scan_plan *p, uint32_t id, uint32_t index, uint32_t child) {
    scan_node *n = &p->nodes[id];
    scan_iedge *e = realloc(n->idx, ((size_t)n->nidx + 1) * sizeof *e);
    if (!e) return -1;
    n->idx = e;
    e[n->nidx++] = (scan_iedge){index, child};
    return 0;
}

static int insert(scan_plan *p, const sd_path *path, uint32_t out) {
    uint32_t cur = 0;
    for (uint32_t i = 0; i < path->nsegs; i++) {
        const path_seg *s = &path->segs[i];
        uint32_t next = SCAN_NONE;
        if (s->kind == SEG_KEY) {
            if (!s->key || s->key_len > UINT32_MAX) return -1;
            uint32_t k = find_key(&p->nodes[cur], s->key, (uint32_t)s->key_len);
            if (k != SCAN_NONE) {
                next = p->nodes[cur].keys[k].child;
            } else {
                if ((next = node_new(p)) == SCAN_NONE) return -1;
                if (add_key(p, cur, s->key, (uint32_t)s->key_len, next) != 0) return -1;
            }
        } else if (s->kind == SEG_INDEX) {
            uint32_t k = find_idx(&p->nodes[cur], s->index);
            if (k != SCAN_NONE) {
                next = p->nodes[cur].idx[k].child;
            } else {
                if ((next = node_new(p)) == SCAN_NONE) return -1;
                if (add_idx(p, cur, s->index, next) != 0) return -1;
            }
        } else {
            next = p->nodes[cur].star;
            if (next == SCAN_NONE) {
                if ((next = node_new(p)) == SCAN_NONE) return -1;
                p->nodes[cur].star = next;
            }
        }
        cur = next;
    }
    return add_out(&p->nodes[cur], out);
}

static int normalise(scan_plan *p, uint32_t id, unsigned depth);

/* A new node that is the union of a and b (either may be SCAN_NONE). */
static uint32_t merge(scan_plan *p, uint32_t a, uint32_t b, unsigned depth) {
    if (a == SCAN_NONE) return b;
    if (b == SCAN_NONE || a == b) return a;
    if (depth > 4 * LIMIT_SCAN_SEGMENTS) return SCAN_NONE;
    uint32_t m = node_new(p);
    if (m == SCAN_NONE) return SCAN_NONE;
    /* p->nodes may move while merging: index, never hold pointers. */
    for (int side = 0; side < 2; side++) {
        uint32_t src = side ? b : a;
        for (uint32_t i = 0; i < p->nodes[src].nouts; i++)
            if (add_out(&p->nodes[m], p->nodes[src].outs[i]) != 0) return SCAN_NONE;
        for (uint32_t i = 0; i < p->nodes[src].nkeys; i++) {
            scan_kedge e = p->nodes[src].keys[i];
            uint32_t k = find_key(&p->nodes[m], e.key, e.len);
            if (k == SCAN_NONE) {
                if (add_key(p, m, e.key, e.len, e.child) != 0) return SCAN_NONE;
            } else {
                uint32_t c = merge(p, p->nodes[m].keys[k].child, e.child, depth + 1);
                if (c == SCAN_NONE) return SCAN_NONE;
                p->nodes[m].keys[k].child = c;
            }
        }
        for (uint32_t i = 0; i < p->nodes[src].nidx; i++) {
            scan_iedge e = p->nodes[src].idx[i];
            uint32_t k = find_idx(&p->nodes[m], e.index);
            if (k == SCAN_NONE) {
                if (add_idx(p, m, e.index, e.child) != 0) return SCAN_NONE;
            } else {
                uint32_t c = merge(p, p->nodes[m].idx[k].child, e.child, depth + 1);
                if (c == SCAN_NONE) return SCAN_NONE;
                p->nodes[m].idx[k].child = c;
            }
        }
        uint32_t st = p->nodes[src].star;
        if (st != SCAN_NONE) {
            uint32_t c = merge(p, p->nodes[m].star, st, depth + 1);
            if (c == SCAN_NONE) return SCAN_NONE;
            p->nodes[m].star = c;
        }
    }
    if (normalise(p, m, depth + 1) != 0) return SCAN_NONE;
    return m;
}

/* Makes every [N] child of id (and below) include the [*] child. */
static int normalise(scan_plan *p, uint32_t id, unsigned depth) {
    if (depth > 4 * LIMIT_SCAN_SEGMENTS) return -1;
    if (p->nodes[id].normalised) return 0;
    p->nodes[id].normalised = 1;
    uint32_t star = p->nodes[id].star;
    if (star != SCAN_NONE && normalise(p, star, depth + 1) != 0) return -1;
    for (uint32_t i = 0; i < p->nodes[id].nidx; i++) {
        uint32_t c = p->nodes[id].idx[i].child;
        if (normalise(p, c, depth + 1) != 0) return -1;
        if (star != SCAN_NONE) {
            uint32_t m = merge(p, c, star, depth + 1);
            if (m == SCAN_NONE) return -1;
            p->nodes[id].idx[i].child = m;
        }
    }
    for (uint32_t i = 0; i < p->nodes[id].nkeys; i++)
        if (normalise(p, p->nodes[id].keys[i].child, depth + 1) != 0) return -1;
    return 0;
}

/* Numbers the key edges for the duplicate-key stamps and hashes the keys of
 * nodes with many of them. */
static int finish(scan_plan *p) {
    uint32_t edges = 0;
    for (uint32_t id = 0; id < p->nnodes; id++) {
        scan_node *n = &p->nodes[id];
        n->edge_base = edges;
        if (n->nkeys > UINT32_MAX - edges) return -1;
        edges += n->nkeys;
        if (n->nkeys <= 4) continue;
        uint32_t cap = 8;
        while (cap < 2 * n->nkeys) cap *= 2;
        n->khash = calloc(cap, sizeof *n->khash);
        if (!n->khash) return -1;
        n->khash_mask = cap - 1;
        for (uint32_t k = 0; k < n->nkeys; k++) {
            uint32_t at = scan_key_hash((const unsigned char *)n->keys[k].key, n->keys[k].len) & n->khash_mask;
            while (n->khash[at]) at = (at + 1) & n->khash_mask;
            n->khash[at] = k + 1;
        }
    }
    p->nedges = edges;
    return 0;
}

scan_plan *sd_scan_plan_new(const sd_path *paths, uint32_t npaths, const sd_path *const *extra, uint32_t nextra) {
    if (npaths > UINT32_MAX - nextra) return NULL;
    scan_plan *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->nout = npaths + nextra;
    p->multi = calloc(p->nout ? p->nout : 1, 1);
    if (!p->multi || node_new(p) != 0) goto fail;
    for (uint32_t i = 0; i < p->nout; i++) {
        const sd_path *path = i < npaths ? &paths[i] : extra[i - npaths];
        if (!path || path->nsegs > LIMIT_SCAN_SEGMENTS) goto fail;
        bool star = false;
        for (uint32_t s = 0; s < path->nsegs; s++) star |= path->segs[s].kind == SEG_STAR;
        p->multi[i] = star;
        if (path->common) continue; /* resolved through the log type (event.c), not scanned */
        if (insert(p, path, i) != 0) goto fail;
    }
    if (normalise(p, 0, 0) != 0 || finish(p) != 0) goto fail;
    return p;
fail:
    sd_scan_plan_free(p);
    return NULL;
}

void sd_scan_plan_free(scan_plan *p) {
    if (!p) return;
    for (uint32_t id = 0; id < p->nnodes; id++) {
        scan_node *n = &p->nodes[id];
        for (uint32_t k = 0; k < n->nkeys; k++) free(n->keys[k].key);
        free(n->keys);
        free(n->idx);
        free(n->outs);
        free(n->khash);
    }
    free(p->nodes);
    free(p->multi);
    free(p);
}

uint32_t sd_scan_plan_outputs(const scan_plan *p) { return p ? p->nout : 0; }

const uint8_t *sd_scan_plan_multi_flags(const scan_plan *p) { return p ? p->multi : NULL; }
