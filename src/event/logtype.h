/* logtype.h — log types: what the engine knows about a kind of log by name.
 *
 * A log type (LANGUAGE.md Part 2, "Log types") is data, not code: how to
 * recognise its events by their shape, where their time is, where each
 * common field (@ip, @user, ...: common.h) is, and which fields exist (for
 * the checker's unknown-field warning). The built-in ones (cloudtrail,
 * guardduty, gcp-audit, gworkspace, okta, crowdstrike, jsonl) are written in
 * the same JSON a program registers its own with (logtype_builtin.c,
 * logtype_json.c), so nothing about a vendor is a code path here.
 *
 * Each engine has its own registry (no global state): the built-ins, then
 * whatever it was given. Defining a log type whose name exists overrides
 * the members the definition gives and keeps the others, in place: the
 * pointers sources and events hold stay valid for the engine's life.
 *
 * A log type's paths are sd_paths the scan plan reads as extra paths; the
 * engine tells each its index among the plan's extras (lt_path.extra), so
 * reading one is a slot lookup, not a search (sd_lt_values).
 */
#ifndef SECDET_EVENT_LOGTYPE_H
#define SECDET_EVENT_LOGTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/common.h"
#include "event/event.h"
#include "event/path.h"
#include "util/suggest.h"

typedef struct lt_path {
    sd_path p;
    uint32_t extra; /* its index in the event's plan extras, when ev->extra[extra] == &p */
} lt_path;

/* Paths tried in order; the first present and not null gives the value. */
typedef struct lt_paths {
    lt_path *v;
    uint32_t n;
} lt_paths;

/* One test of a recognition alternative: the path is present (equals NULL)
 * or is the string equals[0..len). */
typedef struct lt_test {
    lt_path path;
    char *equals;
    size_t equals_len;
} lt_test;

/* Every test holds. */
typedef struct lt_shape {
    lt_test *tests;
    uint32_t n;
} lt_shape;

typedef struct sd_logtype {
    char *name;
    bool builtin;
    lt_paths field[SD_NCOMMON]; /* [SD_COMMON_TIME] is the time field; [SD_COMMON_TYPE] is unused */
    lt_shape *shapes;           /* recognition: any alternative; none = never detected */
    uint32_t nshapes;
    char **known; /* known field paths as texts (".a.b", ".a[*].b", ".c.*" open); NULL: not known */
    uint32_t nknown;
    bool has_known;
} sd_logtype;

typedef struct sd_logtypes {
    sd_logtype **v; /* each allocated alone: pointers stay valid */
    uint32_t n, cap;
    uint64_t gen; /* bumped by every change (the scan plan depends on the paths) */
} sd_logtypes;

/* The built-ins' descriptions, in detection order, NULL-terminated (logtype_builtin.c). */
extern const char *const sd_logtype_builtin_json[];
/* The built-ins. 0, or -1 out of memory. */
int sd_logtypes_init(sd_logtypes *r);
void sd_logtypes_free(sd_logtypes *r);
/* Defines a log type from its JSON description (docs/log-types.md
 * "Defining a log type"): a new one, or an override of the members given
 * when one of that name exists. 0, or -1 with the reason in err (sized
 * errlen: "fields.ip: \"x\" is not a field path"); nothing changes then. */
int sd_logtypes_define(sd_logtypes *r, const char *json, size_t len, char *err, size_t errlen);
/* The log type as it is now (overrides included), in the JSON of
 * sd_logtypes_define; cJSON_free it. NULL when out of memory. */
char *sd_logtype_to_json(const sd_logtype *lt);
/* The log type of that name, or NULL. */
sd_logtype *sd_logtypes_find(const sd_logtypes *r, const char *name);
/* The first log type whose shape the event has: the defined ones in the
 * order they were defined, then the built-ins in their order; NULL when
 * none. Reads the shapes' paths (they must be in the scan plan's extras for
 * a text-backed event, else the tree is parsed). */
const sd_logtype *sd_logtypes_detect(const sd_logtypes *r, sd_event *ev);
/* Whether a name may be a log type's: what `on` may name unquoted
 * ([a-z0-9_] parts joined by '-', starting with a letter), not "auto". */
bool sd_logtype_name_ok(const char *name);

/* The values of a log type's path on the event (missing when absent). */
void sd_lt_values(sd_event *ev, const lt_path *lp, sd_values *out, sd_value *one);
/* The first of the paths that is present and not null (its non-null values). */
void sd_lt_first(sd_event *ev, const lt_paths *ps, sd_values *out, sd_value *one);

/* Common field f (common.h) of the event, uncached (event.h's
 * sd_event_common says what each is). */
void sd_lt_common(sd_event *ev, int f, sd_values *out, sd_value *one);
/* The event's time from paths ps: 1 read (*ns set), 0 no path is present,
 * -1 present but not a time (a time_value.c form). The first path present
 * and not null decides. */
int sd_lt_time(sd_event *ev, const lt_paths *ps, int64_t *ns);

/* The paths the log types read: their time fields and shapes (when
 * time_and_shapes), and the mappings of the common fields in `mask` (bit
 * 1 << sd_common). Appends pointers to out (room for
 * sd_logtypes_path_count), returns how many. */
size_t sd_logtypes_paths(const sd_logtypes *r, bool time_and_shapes, unsigned mask, lt_path **out);
size_t sd_logtypes_path_count(const sd_logtypes *r);

/* ---- Known fields (the checker's warning) ---------------------------------- */

/* Whether the log type has path p: p (its keys; indexes and [*] skipped) is
 * a known path, leads to one, or lies below an open one (".a.*"). Common
 * fields and log types without known fields always have it. */
bool sd_logtype_has_path(const sd_logtype *lt, const sd_path *p);
/* Offers the known paths to a "did you mean" (util/suggest.h; the texts
 * live as long as the log type). */
void sd_logtype_offer_paths(const sd_logtype *lt, suggest *s);

#endif
