/* event.h — one event under evaluation, and its field cache.
 *
 * An sd_event wraps a parsed JSON object. Field values are reached only
 * through sd_event_field(), which resolves a path id of the loaded ruleset once
 * per event and caches the result, so that every rule reading .eventName pays
 * for the lookup once. Everything here is per-engine (or per-thread) mutable
 * state; the path table it reads belongs to the immutable compiled ruleset.
 */
#ifndef SECDET_EVENT_EVENT_H
#define SECDET_EVENT_EVENT_H

#include <stdbool.h>
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

void sd_arena_init(sd_arena *a);
void *sd_arena_alloc(sd_arena *a, size_t n); /* 8-aligned; NULL on OOM */
void sd_arena_reset(sd_arena *a);
void sd_arena_free(sd_arena *a);

typedef struct field_slot {
    uint64_t gen; /* == event.gen when valid */
    sd_values vals;
    sd_value one;
    uint32_t fill; /* text-backed events: values placed so far */
} field_slot;

/* lower()/upper() of one path's single string, cached per event ([0] lower, [1] upper). */
typedef struct fold_slot {
    uint64_t gen[2];
    sd_values vals[2];
    sd_value one[2];
} fold_slot;

struct scan_plan;
struct scan_state;
struct sd_logtype;
struct lt_paths;

typedef struct sd_event {
    const cJSON *root;    /* the event object (borrowed) */
    const sd_path *paths; /* the ruleset's path table (borrowed) */
    uint32_t npaths;
    field_slot *slots; /* npaths slots (owned) */
    uint64_t gen;      /* bumped by sd_event_begin: invalidates every slot at once */
    sd_arena arena;
    int64_t time_ns;    /* event time, ns since the Unix epoch (UTC) */
    uint32_t source;    /* the program's index of the event's source name (`on`) */
    uint32_t lt_source; /* ... and of its log type's name (`on` names either) */
    /* Text-backed events (sd_event_begin_text): the slots were filled by one
     * scan of the text, a slot not filled is missing, and the cJSON tree is
     * parsed only when asked for (sd_event_root). */
    bool text_mode;
    const char *text; /* borrowed until the next sd_event_begin* */
    size_t text_len;
    void *owned_root;        /* cJSON *: sd_event_root's parse of text */
    struct scan_plan *plan;  /* owned; built by sd_event_scan_setup */
    struct scan_state *scan; /* owned */
    uint64_t plan_tag;
    const sd_path **extra; /* the plan's extra paths (borrowed paths, owned array) */
    uint32_t nextra;
    field_slot *xslots; /* nextra slots for them */
    fold_slot *folds;   /* npaths fold caches (owned) */
    /* What the engine told of the event before evaluating it: its log type
     * (NULL: none, every common field but @type missing) and the paths its
     * time is read from (@time). Both borrowed; kept across sd_event_begin. */
    const struct sd_logtype *lt;
    const struct lt_paths *time;
} sd_event;

/* Set up for a ruleset's path table; 0 on success, -1 on OOM. */
int sd_event_init(sd_event *ev, const sd_path *paths, uint32_t npaths);
void sd_event_free(sd_event *ev);
/* Start evaluating `root` (borrowed until the next sd_event_begin). */
void sd_event_begin(sd_event *ev, const cJSON *root);
/* Prepares text-backed events: a scan plan for the path table plus
 * extra[0..nextra) (borrowed; they must outlive the plan), rebuilt only when
 * `tag` differs from the last call's. 0 when sd_event_begin_text can be used,
 * -1 when not (out of memory, or a path too long to plan). */
int sd_event_scan_setup(sd_event *ev, const sd_path *const *extra, uint32_t nextra, uint64_t tag);
/* Start evaluating the JSON text[0..len) (borrowed until the next
 * sd_event_begin*): one scan fills every slot. 0 ready; 1 the scanner does not
 * accept the text (invalid, too deep, not an object, or one of the rare
 * forms it leaves to cJSON: decode it with cJSON and use sd_event_begin
 * instead); -1 out of memory or no plan. Only 0 leaves an event to evaluate. */
int sd_event_begin_text(sd_event *ev, const char *text, size_t len, uint32_t max_depth);
/* The event as a cJSON tree: the root given to sd_event_begin, or for a
 * text-backed event its text parsed on first call (kept until the next
 * sd_event_begin*). NULL only when out of memory. */
const cJSON *sd_event_root(sd_event *ev);
/* The values of any path (not only the table's): an extra path of the scan
 * plan from its slot, else resolved on sd_event_root. */
void sd_event_path_values(sd_event *ev, const sd_path *p, sd_values *out, sd_value *one);
/* The values of the plan's extra path k (missing when the scan found none). */
void sd_event_extra_values(sd_event *ev, uint32_t k, sd_values *out, sd_value *one);
/* The values of common field f (common.h) of the event, through its log
 * type: the first present, non-null path of its mapping; @type the log
 * type's name; @time the event's time in RFC 3339 (UTC), missing when it
 * cannot be read. Cached per event like any path. */
const sd_values *sd_event_common(sd_event *ev, uint32_t id);
/* lower()/upper() (ASCII) of the strings in src, non-strings dropped; cached
 * per event when src is a path's single cached value. 0, or -1 on OOM. */
int sd_event_fold(sd_event *ev, const sd_values *src, bool upper, sd_values *dst);
/* The values of path `id` (cached). Never NULL; n == 0 when missing. */
const sd_values *sd_event_field(sd_event *ev, uint32_t id);
/* Resolve any path on a JSON value, uncached (templates, keys at alert time). */
void sd_path_resolve(const sd_path *p, const cJSON *root, sd_arena *arena, sd_values *out, sd_value *one);
/* Converts a cJSON node to a value view. */
void sd_value_from_json(const cJSON *node, sd_value *out);

#endif
