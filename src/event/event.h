/* event.h — one event under evaluation, and its field cache.
 *
 * An sd_event wraps a parsed JSON object. Field values are reached only
 * through event_field(), which resolves a path id of the loaded ruleset once
 * per event and caches the result, so that every rule reading .eventName pays
 * for the lookup once. Everything here is per-engine (or per-thread) mutable
 * state; the path table it reads belongs to the immutable compiled ruleset.
 */
#ifndef SECDET_EVENT_EVENT_H
#define SECDET_EVENT_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "event/path.h"
#include "event/value.h"

typedef struct cJSON cJSON;

/* A bump arena for per-event scratch (lower()/upper() results, [*] lists).
 * Reset, not freed, between events. */
typedef struct sd_arena {
    struct arena_block *head;
    struct arena_block *cur;
} sd_arena;

void arena_init(sd_arena *a);
void *arena_alloc(sd_arena *a, size_t n); /* 8-aligned; NULL on OOM */
void arena_reset(sd_arena *a);
void arena_free(sd_arena *a);

typedef struct field_slot {
    uint64_t gen;   /* == event.gen when valid */
    sd_values vals;
    sd_value one;
} field_slot;

typedef struct sd_event {
    const cJSON *root;       /* the event object (borrowed) */
    const sd_path *paths;    /* the ruleset's path table (borrowed) */
    uint32_t npaths;
    field_slot *slots;       /* npaths slots (owned) */
    uint64_t gen;            /* bumped by event_begin: invalidates every slot at once */
    sd_arena arena;
    int64_t time_ns;         /* event time, ns since the Unix epoch (UTC) */
    uint32_t source;         /* index of the source in the engine */
} sd_event;

/* Set up for a ruleset's path table; 0 on success, -1 on OOM. */
int event_init(sd_event *ev, const sd_path *paths, uint32_t npaths);
void event_free(sd_event *ev);
/* Start evaluating `root` (borrowed until the next event_begin). */
void event_begin(sd_event *ev, const cJSON *root);
/* The values of path `id` (cached). Never NULL; n == 0 when missing. */
const sd_values *event_field(sd_event *ev, uint32_t id);
/* Resolve any path on a JSON value, uncached (templates, keys at alert time). */
void path_resolve(const sd_path *p, const cJSON *root, sd_arena *arena, sd_values *out, sd_value *one);
/* Converts a cJSON node to a value view. */
void value_from_json(const cJSON *node, sd_value *out);

#endif
