/* event.c — one event under evaluation: scratch arena, field cache, path resolution.
 *
 * Promises:
 *  - event_field() resolves a path id at most once per event; event_begin()
 *    invalidates every cached slot in O(1) by bumping a generation counter.
 *  - A missing path (absent key, index out of range, a step through a scalar,
 *    [*] on a non-array) gives n == 0; a JSON null is a present SD_NULL value.
 *  - Values are borrowed views: strings point into the cJSON tree, lists of
 *    more than one value live in the event's arena (valid until the next
 *    event_begin). Out of memory while resolving degrades to "missing".
 *  - Nothing here recurses: paths are walked iteratively, segment by segment.
 */
#include "event/event.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

void arena_init(sd_arena *a) {
    a->head = NULL;
    a->cur = NULL;
}

void *arena_alloc(sd_arena *a, size_t n) {
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
    if (b)
        cap = b->cap < ARENA_MAX_KEEP ? b->cap * 2 : b->cap; /* geometric growth within one event */
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

void arena_reset(sd_arena *a) {
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

void arena_free(sd_arena *a) {
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

void value_from_json(const cJSON *node, sd_value *out) {
    memset(out, 0, sizeof *out);
    out->node = node;
    if (!node) {
        out->type = SD_NULL;
        return;
    }
    if (cJSON_IsString(node)) {
        out->type = SD_STR;
        out->str = node->valuestring ? node->valuestring : "";
        out->len = strlen(out->str);
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
    case SEG_KEY:
        if (!cJSON_IsObject(node) || !s->key) return NULL;
        return cJSON_GetObjectItemCaseSensitive(node, s->key);
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
static void resolve_fanout(const sd_path *p, const cJSON *root, sd_arena *arena, sd_values *out,
                           sd_value *one) {
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
        const cJSON **next = arena_alloc(arena, total * sizeof *next);
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
        value_from_json(nodes[0], one);
        out->n = 1;
        out->v = one;
        return;
    }
    if (n > SIZE_MAX / sizeof(sd_value)) {
        set_missing(out);
        return;
    }
    sd_value *vals = arena_alloc(arena, n * sizeof *vals);
    if (!vals) {
        set_missing(out);
        return;
    }
    for (size_t j = 0; j < n; j++) value_from_json(nodes[j], &vals[j]);
    out->n = (uint32_t)n;
    out->v = vals;
}

void path_resolve(const sd_path *p, const cJSON *root, sd_arena *arena, sd_values *out,
                  sd_value *one) {
    if (!p || !root) {
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
    value_from_json(node, one);
    out->n = 1;
    out->v = one;
}

/* ---- the event and its field cache -------------------------------------- */

int event_init(sd_event *ev, const sd_path *paths, uint32_t npaths) {
    memset(ev, 0, sizeof *ev);
    ev->paths = paths;
    ev->npaths = npaths;
    if (npaths > 0) {
        ev->slots = calloc(npaths, sizeof *ev->slots);
        if (!ev->slots) return -1;
    }
    /* Slots start at gen 0, the event at 1: nothing is valid before event_begin. */
    ev->gen = 1;
    arena_init(&ev->arena);
    return 0;
}

void event_free(sd_event *ev) {
    if (!ev) return;
    free(ev->slots);
    arena_free(&ev->arena);
    memset(ev, 0, sizeof *ev);
}

void event_begin(sd_event *ev, const cJSON *root) {
    ev->root = root;
    ev->gen++;
    arena_reset(&ev->arena);
}

const sd_values *event_field(sd_event *ev, uint32_t id) {
    static const sd_values missing = {0, NULL};
    if (!ev || id >= ev->npaths || !ev->slots) return &missing;
    field_slot *slot = &ev->slots[id];
    if (slot->gen != ev->gen) {
        path_resolve(&ev->paths[id], ev->root, &ev->arena, &slot->vals, &slot->one);
        slot->gen = ev->gen;
    }
    return &slot->vals;
}
