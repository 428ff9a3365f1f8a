/* event.c — one event under evaluation: scratch arena, field cache, path resolution.
 *
 * Promises:
 *  - sd_event_field() resolves a path id at most once per event; sd_event_begin()
 *    invalidates every cached slot in O(1) by bumping a generation counter.
 *  - A missing path (absent key, index out of range, a step through a scalar,
 *    [*] on a non-array) gives n == 0; a JSON null is a present SD_NULL value.
 *  - Values are borrowed views: strings point into the cJSON tree, lists of
 *    more than one value live in the event's arena (valid until the next
 *    sd_event_begin). Out of memory while resolving degrades to "missing".
 *  - Nothing here recurses: paths are walked iteratively, segment by segment.
 *  - A text-backed event (sd_event_begin_text) is scanned once (scan.h): every
 *    slot the scan did not fill is missing, values are the same as
 *    sd_path_resolve gives on cJSON's parse of the same text (strings may point
 *    into the text), and the cJSON tree is parsed only for sd_event_root().
 *  - lower()/upper() of a path's single value is folded once per event.
 *  - Strings are (pointer, length): one holding U+0000 is seen whole, on
 *    trees (sd_json_string_len) as on text.
 */
#include "event/event.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event/scan.h"
#include "util/json.h"

/* ---- arena ------------------------------------------------------------- */

struct arena_block {
    struct arena_block *next;
    size_t cap; /* usable bytes after the header */
    size_t used;
};

/* The header is padded to 16 so that data is at least 8-aligned. */
#define ARENA_HDR       (((sizeof(struct arena_block)) + 15u) & ~(size_t)15u)
#define ARENA_MIN_BLOCK ((size_t)4096)
/* Upper bound for the merged first block kept across resets. */
#define ARENA_MAX_KEEP ((size_t)1 << 20)

static unsigned char *block_data(struct arena_block *b) { return (unsigned char *)b + ARENA_HDR; }

static struct arena_block *block_new(size_t cap) {
    if (cap > SIZE_MAX - ARENA_HDR) return NULL;
    struct arena_block *b = malloc(ARENA_HDR + cap);
    if (!b) return NULL;
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

void sd_arena_init(sd_arena *a) {
    a->head = NULL;
    a->cur = NULL;
}

void *sd_arena_alloc(sd_arena *a, size_t n) {
    if (n > SIZE_MAX - 7) return NULL;
    n = (n + 7) & ~(size_t)7;
    struct arena_block *b = a->cur;
    if (b && b->cap - b->used >= n) {
        void *p = block_data(b) + b->used;
        b->used += n;
        return p;
    }
    /* Blocks after the current one exist only transiently; a new block is
     * appended after cur (cur is always the last block). */
    size_t cap = ARENA_MIN_BLOCK;
    if (b) cap = b->cap < ARENA_MAX_KEEP ? b->cap * 2 : b->cap; /* geometric growth within one event */
    if (cap < n) cap = n;
    struct arena_block *nb = block_new(cap);
    if (!nb) return NULL;
    if (b)
        b->next = nb;
    else
        a->head = nb;
    a->cur = nb;
    nb->used = n;
    return block_data(nb);
}

void sd_arena_reset(sd_arena *a) {
    struct arena_block *head = a->head;
    if (!head) return;
    if (head->next) {
        /* The last event needed more than one block: free the others and,
         * so the next event of that size needs one malloc at most, replace
         * the first block by one as big as everything used (capped). */
        size_t total = 0;
        for (struct arena_block *b = head; b; b = b->next) total += b->cap;
        struct arena_block *b = head->next;
        while (b) {
            struct arena_block *next = b->next;
            free(b);
            b = next;
        }
        head->next = NULL;
        if (total > ARENA_MAX_KEEP) total = ARENA_MAX_KEEP;
        if (total > head->cap) {
            struct arena_block *bigger = block_new(total);
            if (bigger) {
                free(head);
                head = bigger;
            }
        }
    }
    head->used = 0;
    a->head = head;
    a->cur = head;
}

void sd_arena_free(sd_arena *a) {
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->cur = NULL;
}

/* ---- values ------------------------------------------------------------ */

void sd_value_from_json(const cJSON *node, sd_value *out) {
    memset(out, 0, sizeof *out);
    out->node = node;
    if (!node) {
        out->type = SD_NULL;
        return;
    }
    if (cJSON_IsString(node)) {
        out->type = SD_STR;
        out->str = node->valuestring ? node->valuestring : "";
        out->len = sd_json_string_len(node); /* a string may hold U+0000 (util/json.h) */
    } else if (cJSON_IsNumber(node)) {
        out->type = SD_NUM;
        out->num = node->valuedouble;
    } else if (cJSON_IsTrue(node)) {
        out->type = SD_BOOL;
        out->b = 1;
    } else if (cJSON_IsFalse(node)) {
        out->type = SD_BOOL;
        out->b = 0;
    } else if (cJSON_IsArray(node) || cJSON_IsObject(node)) {
        out->type = cJSON_IsArray(node) ? SD_ARR : SD_OBJ;
        size_t n = 0;
        for (const cJSON *c = node->child; c; c = c->next) n++;
        out->len = n;
    } else {
        out->type = SD_NULL; /* null, and cJSON_Raw/invalid which parsing never makes */
    }
}

/* ---- path resolution --------------------------------------------------- */

/* One step of a path applied to one node; without [*] at most one result. */
static const cJSON *step_single(const path_seg *s, const cJSON *node) {
    if (!node) return NULL;
    switch (s->kind) {
    case SEG_KEY: return sd_json_member(node, s->key); /* a path's key has no NUL: never one that does */
    case SEG_INDEX: {
        if (!cJSON_IsArray(node)) return NULL;
        uint32_t i = 0;
        for (const cJSON *c = node->child; c; c = c->next, i++)
            if (i == s->index) return c;
        return NULL;
    }
    case SEG_STAR: return NULL;
    }
    return NULL;
}

static void set_missing(sd_values *out) {
    out->n = 0;
    out->v = NULL;
}

/* Paths with [*]: a frontier of nodes in the arena, widened by every [*]. */
static void resolve_fanout(const sd_path *p, const cJSON *root, sd_arena *arena, sd_values *out, sd_value *one) {
    const cJSON *first = root;
    const cJSON **nodes = &first;
    size_t n = 1;
    for (uint32_t i = 0; i < p->nsegs && n > 0; i++) {
        const path_seg *s = &p->segs[i];
        if (s->kind != SEG_STAR) {
            size_t k = 0;
            /* Narrowing in place is safe: k never passes j. */
            for (size_t j = 0; j < n; j++) {
                const cJSON *r = step_single(s, nodes[j]);
                if (r) nodes[k++] = r;
            }
            n = k;
            continue;
        }
        size_t total = 0;
        for (size_t j = 0; j < n; j++) {
            if (!cJSON_IsArray(nodes[j])) continue;
            for (const cJSON *c = nodes[j]->child; c; c = c->next) total++;
        }
        if (total == 0) {
            n = 0;
            break;
        }
        if (total > SIZE_MAX / sizeof *nodes) {
            set_missing(out);
            return;
        }
        const cJSON **next = sd_arena_alloc(arena, total * sizeof *next);
        if (!next) {
            set_missing(out);
            return;
        }
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
            if (!cJSON_IsArray(nodes[j])) continue;
            for (const cJSON *c = nodes[j]->child; c; c = c->next) next[k++] = c;
        }
        nodes = next;
        n = k;
    }
    if (n == 0 || n > UINT32_MAX) {
        set_missing(out);
        return;
    }
    if (n == 1) {
        sd_value_from_json(nodes[0], one);
        out->n = 1;
        out->v = one;
        return;
    }
    if (n > SIZE_MAX / sizeof(sd_value)) {
        set_missing(out);
        return;
    }
    sd_value *vals = sd_arena_alloc(arena, n * sizeof *vals);
    if (!vals) {
        set_missing(out);
        return;
    }
    for (size_t j = 0; j < n; j++) sd_value_from_json(nodes[j], &vals[j]);
    out->n = (uint32_t)n;
    out->v = vals;
}

void sd_path_resolve(const sd_path *p, const cJSON *root, sd_arena *arena, sd_values *out, sd_value *one) {
    if (!p || !root || p->common) { /* a common field needs the event's log type (sd_event_common) */
        set_missing(out);
        return;
    }
    if (p->has_star) {
        resolve_fanout(p, root, arena, out, one);
        return;
    }
    const cJSON *node = root;
    for (uint32_t i = 0; i < p->nsegs && node; i++) {
        /* has_star is a hint from the compiler; a stray [*] still selects nothing here. */
        if (p->segs[i].kind == SEG_STAR) {
            resolve_fanout(p, root, arena, out, one);
            return;
        }
        node = step_single(&p->segs[i], node);
    }
    if (!node) {
        set_missing(out);
        return;
    }
    sd_value_from_json(node, one);
    out->n = 1;
    out->v = one;
}

/* ---- the event and its field cache -------------------------------------- */

int sd_event_init(sd_event *ev, const sd_path *paths, uint32_t npaths) {
    memset(ev, 0, sizeof *ev);
    ev->paths = paths;
    ev->npaths = npaths;
    if (npaths > 0) {
        ev->slots = calloc(npaths, sizeof *ev->slots);
        ev->folds = calloc(npaths, sizeof *ev->folds);
        if (!ev->slots || !ev->folds) {
            free(ev->slots);
            free(ev->folds);
            ev->slots = NULL;
            ev->folds = NULL;
            return -1;
        }
    }
    /* Slots start at gen 0, the event at 1: nothing is valid before sd_event_begin. */
    ev->gen = 1;
    ev->source = ev->lt_source = UINT32_MAX; /* of no source until the engine says */
    sd_arena_init(&ev->arena);
    return 0;
}

/* Forgets the last event's text, its tree and its container trees. */
static void release_text(sd_event *ev) {
    if (ev->owned_root) cJSON_Delete(ev->owned_root);
    ev->owned_root = NULL;
    if (ev->scan) sd_scan_state_reset(ev->scan);
    ev->text_mode = false;
    ev->text = NULL;
    ev->text_len = 0;
}

void sd_event_free(sd_event *ev) {
    if (!ev) return;
    release_text(ev);
    if (ev->scan) sd_scan_state_free(ev->scan);
    free(ev->scan);
    sd_scan_plan_free(ev->plan);
    free(ev->extra);
    free(ev->xslots);
    free(ev->folds);
    free(ev->slots);
    sd_arena_free(&ev->arena);
    memset(ev, 0, sizeof *ev);
}

void sd_event_begin(sd_event *ev, const cJSON *root) {
    release_text(ev);
    ev->root = root;
    ev->gen++;
    sd_arena_reset(&ev->arena);
}

const sd_values *sd_event_field(sd_event *ev, uint32_t id) {
    static const sd_values missing = {0, NULL};
    if (!ev || id >= ev->npaths || !ev->slots) return &missing;
    field_slot *slot = &ev->slots[id];
    if (slot->gen != ev->gen) {
        if (ev->paths[id].common) return sd_event_common(ev, id);
        if (ev->text_mode) return &missing; /* the scan found no value */
        sd_path_resolve(&ev->paths[id], ev->root, &ev->arena, &slot->vals, &slot->one);
        slot->gen = ev->gen;
    }
    return &slot->vals;
}

/* ---- text-backed events --------------------------------------------------- */

int sd_event_scan_setup(sd_event *ev, const sd_path *const *extra, uint32_t nextra, uint64_t tag) {
    if (ev->plan && ev->plan_tag == tag) return 0;
    release_text(ev);
    sd_scan_plan_free(ev->plan);
    ev->plan = NULL;
    free(ev->extra);
    free(ev->xslots);
    ev->extra = NULL;
    ev->xslots = NULL;
    ev->nextra = 0;
    if (!ev->scan) {
        ev->scan = malloc(sizeof *ev->scan);
        if (!ev->scan) return -1;
        sd_scan_state_init(ev->scan);
    }
    if (nextra) {
        ev->extra = malloc((size_t)nextra * sizeof *ev->extra);
        ev->xslots = calloc(nextra, sizeof *ev->xslots);
        if (!ev->extra || !ev->xslots) return -1;
        memcpy(ev->extra, extra, (size_t)nextra * sizeof *ev->extra);
    }
    ev->plan = sd_scan_plan_new(ev->paths, ev->npaths, extra, nextra);
    if (!ev->plan) return -1;
    ev->nextra = nextra;
    ev->plan_tag = tag;
    return 0;
}

static field_slot *out_slot(sd_event *ev, uint32_t out) {
    return out < ev->npaths ? &ev->slots[out] : &ev->xslots[out - ev->npaths];
}

/* Places the scan's values in their slots: a path without [*] takes its one
 * value in place, a [*] path a list in the arena (counted first). */
static int place_hits(sd_event *ev) {
    const scan_hit *h = ev->scan->hits;
    size_t nh = ev->scan->nhits;
    bool multi = false;
    const uint8_t *is_multi = sd_scan_plan_multi_flags(ev->plan); /* every hit's out is an output of the plan */
    for (size_t i = 0; i < nh; i++) {
        field_slot *slot = out_slot(ev, h[i].out);
        if (!is_multi[h[i].out]) {
            slot->one = h[i].v;
            slot->vals = (sd_values){1, &slot->one};
            slot->gen = ev->gen;
            continue;
        }
        multi = true;
        if (slot->gen != ev->gen) {
            slot->gen = ev->gen;
            slot->vals = (sd_values){0, NULL};
            slot->fill = 0;
        }
        slot->vals.n++;
    }
    if (!multi) return 0;
    for (size_t i = 0; i < nh; i++) {
        if (!is_multi[h[i].out]) continue;
        field_slot *slot = out_slot(ev, h[i].out);
        if (!slot->vals.v) {
            if (slot->vals.n == 1) {
                slot->vals.v = &slot->one;
            } else {
                slot->vals.v = sd_arena_alloc(&ev->arena, (size_t)slot->vals.n * sizeof(sd_value));
                if (!slot->vals.v) return -1;
            }
        }
        ((sd_value *)slot->vals.v)[slot->fill++] = h[i].v;
    }
    return 0;
}

int sd_event_begin_text(sd_event *ev, const char *text, size_t len, uint32_t max_depth) {
    release_text(ev);
    ev->root = NULL;
    ev->gen++;
    sd_arena_reset(&ev->arena);
    if (!ev->plan || !ev->scan) return -1;
    int rc = sd_scan_run(ev->plan, ev->scan, text, len, max_depth, &ev->arena);
    if (rc == SCAN_OK) {
        ev->text_mode = true;
        ev->text = text;
        ev->text_len = len;
        if (place_hits(ev) == 0) return 0;
        rc = SCAN_NOMEM;
    }
    /* Nothing of a refused text may be read: every slot stays stale, and
     * sd_event_field on a non-text event with no root finds nothing. */
    release_text(ev);
    ev->gen++;
    return rc == SCAN_BAD ? 1 : -1;
}

const cJSON *sd_event_root(sd_event *ev) {
    if (!ev) return NULL;
    if (!ev->text_mode || ev->root) return ev->root;
    cJSON *t = sd_json_parse(ev->text, ev->text_len, 0, NULL);
    ev->owned_root = t;
    ev->root = t;
    return t;
}

void sd_event_extra_values(sd_event *ev, uint32_t k, sd_values *out, sd_value *one) {
    field_slot *slot = &ev->xslots[k];
    if (slot->gen != ev->gen) {
        set_missing(out);
        return;
    }
    *out = slot->vals;
    if (out->n == 1) {
        *one = out->v[0];
        out->v = one;
    }
}

void sd_event_path_values(sd_event *ev, const sd_path *p, sd_values *out, sd_value *one) {
    if (ev->text_mode) {
        /* The paths the engine reads are its own extras: by pointer first. */
        for (uint32_t k = 0; k < ev->nextra; k++) {
            if (ev->extra[k] != p) continue;
            sd_event_extra_values(ev, k, out, one);
            return;
        }
        for (uint32_t k = 0; k < ev->nextra; k++) {
            if (!sd_path_equal(ev->extra[k], p)) continue;
            sd_event_extra_values(ev, k, out, one);
            return;
        }
    }
    sd_path_resolve(p, sd_event_root(ev), &ev->arena, out, one);
}

/* ASCII case tables: one load per byte instead of compares and branches. */
static const unsigned char fold_table[2][256] = {
    {
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
        0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23,
        0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
        0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
        0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79,
        0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
        0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d,
        0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
        0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1,
        0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3,
        0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5,
        0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
        0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9,
        0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb,
        0xfc, 0xfd, 0xfe, 0xff,
    },
    {
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
        0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23,
        0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
        0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
        0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
        0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b,
        0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x7b, 0x7c, 0x7d,
        0x7e, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
        0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1,
        0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3,
        0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5,
        0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
        0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9,
        0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb,
        0xfc, 0xfd, 0xfe, 0xff,
    },
};

static int fold_list(sd_event *ev, const sd_values *src, bool upper, sd_values *dst, sd_value *one) {
    const unsigned char *t = fold_table[upper ? 1 : 0];
    uint32_t k = 0;
    for (uint32_t i = 0; i < src->n; i++) k += src->v[i].type == SD_STR;
    if (k == 0) {
        set_missing(dst);
        return 0;
    }
    sd_value *out = one;
    if (k > 1) {
        out = sd_arena_alloc(&ev->arena, (size_t)k * sizeof *out);
        if (!out) return -1;
    }
    uint32_t j = 0;
    for (uint32_t i = 0; i < src->n; i++) {
        const sd_value *x = &src->v[i];
        if (x->type != SD_STR) continue;
        char *s = sd_arena_alloc(&ev->arena, x->len + 1);
        if (!s) return -1;
        const unsigned char *in = (const unsigned char *)(x->str ? x->str : "");
        for (size_t b = 0; b < x->len; b++) s[b] = (char)t[in[b]];
        s[x->len] = '\0';
        out[j++] = (sd_value){.type = SD_STR, .str = s, .len = x->len};
    }
    *dst = (sd_values){j, out};
    return 0;
}

int sd_event_fold(sd_event *ev, const sd_values *src, bool upper, sd_values *dst) {
    int u = upper ? 1 : 0;
    /* A path's cached single value is its slot's `one`: the slot says which
     * path, and the fold is cached beside it for the other rules. */
    uintptr_t base = (uintptr_t)ev->slots, at = (uintptr_t)src->v;
    if (src->n == 1 && ev->folds && base && at >= base && at < base + (uintptr_t)ev->npaths * sizeof(field_slot) &&
        (at - base) % sizeof(field_slot) == offsetof(field_slot, one)) {
        size_t id = (at - base) / sizeof(field_slot);
        if (ev->slots[id].gen == ev->gen) {
            fold_slot *f = &ev->folds[id];
            if (f->gen[u] != ev->gen) {
                sd_values tmp;
                if (fold_list(ev, src, upper, &tmp, &f->one[u]) != 0) return -1;
                f->vals[u] = tmp;
                f->gen[u] = ev->gen;
            }
            *dst = f->vals[u];
            return 0;
        }
    }
    sd_value *one = sd_arena_alloc(&ev->arena, sizeof *one);
    if (!one) return -1;
    return fold_list(ev, src, upper, dst, one);
}
