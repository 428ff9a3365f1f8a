/* scan.h — one-pass JSON scanner that extracts only the paths rules read.
 *
 * A scan_plan is built once per ruleset from its path table (plus extra
 * paths the engine needs, such as source time fields): a trie of the path
 * segments. sd_scan_run() then reads an event's JSON text once, validating all
 * of it, and records the values of the planned paths only, without building
 * a tree:
 *  - strings without escapes point into the text (zero copy); strings with
 *    escapes are decoded into the event's arena (\u0000 included: a value's
 *    length counts every byte, and a key holding U+0000 matches no path);
 *  - numbers are converted only when recorded;
 *  - an array or object that a path selects is recorded with its element or
 *    member count and a cJSON node parsed from its text span (owned by the
 *    scan_state, freed by the next sd_scan_state_reset);
 *  - [N] and [*] segments work as sd_path_resolve's do, values in document
 *    order; of duplicate keys the first wins (as
 *    cJSON_GetObjectItemCaseSensitive).
 *
 * Validity: what sd_scan_run accepts, sd_json_parse (util/json.h: cJSON's
 * language, except that raw control bytes in strings are refused and a
 * string holding U+0000 keeps all its bytes) accepts with the same values,
 * the top level is an object, nothing but JSON whitespace follows it, and
 * the nesting is within max_depth. sd_scan_run is stricter than that on purpose
 * in a few rare corners (leading zeros such as 01, bad hex in \u escapes,
 * numbers longer than 63 bytes, whitespace other than space/tab/CR/LF):
 * those texts, and raw control bytes in strings, are reported as SCAN_BAD,
 * and the caller decides with the tree decoder, which also words the error
 * message. Nothing recurses while scanning.
 */
#ifndef SECDET_EVENT_SCAN_H
#define SECDET_EVENT_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "event/path.h"
#include "event/value.h"

typedef struct scan_plan scan_plan;

/* One recorded value of output `out`. */
typedef struct scan_hit {
    uint32_t out;
    sd_value v;
} scan_hit;

/* Per-event mutable state of a scanner (one per sd_event). */
typedef struct scan_state {
    uint64_t *stamps; /* per key edge: the object instance that last took it */
    uint32_t nstamps;
    uint64_t instance; /* object instances opened so far */
    struct scan_frame *stack;
    uint32_t cap_stack;
    scan_hit *hits; /* this event's values, in document order */
    size_t nhits, cap_hits;
    void **trees; /* cJSON trees of recorded containers, this event */
    size_t ntrees, cap_trees;
    uint64_t *index;  /* this event's stop bits (scan_simd.h) */
    size_t cap_index; /* words */
    int simd;         /* SCAN_SIMD_*: how the index is made (sd_scan_simd_best) */
} scan_state;

enum { SCAN_OK = 0, SCAN_BAD = 1, SCAN_NOMEM = -1 };

scan_plan *sd_scan_plan_new(const sd_path *paths, uint32_t npaths, const sd_path *const *extra, uint32_t nextra);
void sd_scan_plan_free(scan_plan *p);
uint32_t sd_scan_plan_outputs(const scan_plan *p);
/* Per output (sd_scan_plan_outputs entries; NULL for no plan): whether it
 * may take several values (its path has [*]). An array rather than a call
 * per output: per hit, a call cost more than placing the value. */
const uint8_t *sd_scan_plan_multi_flags(const scan_plan *p);

void sd_scan_state_init(scan_state *st);
/* Frees the previous event's container trees and forgets its hits. */
void sd_scan_state_reset(scan_state *st);
void sd_scan_state_free(scan_state *st);

/* Scans text[0..len) (max_depth 0 = 64; at most 1000). SCAN_OK with
 * st->hits filled, SCAN_BAD when not accepted (see above), SCAN_NOMEM. */
int sd_scan_run(const scan_plan *p, scan_state *st, const char *text, size_t len, uint32_t max_depth, sd_arena *arena);

/* For re-writing text sd_scan_run accepted (alert.c): the decoded bytes of a
 * string body (between its quotes; out has room for len bytes), and the
 * value of a number token, both as cJSON would have them. */
size_t sd_scan_unescape(const char *body, size_t len, char *out);
double sd_scan_number(const char *text, size_t len);

#endif
