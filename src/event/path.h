/* path.h — field paths (.a.b[0]."c d"[*]) and their resolution on an event.
 *
 * The rule compiler interns every distinct path of a ruleset in a path table;
 * the event layer resolves a path id at most once per event (the field cache,
 * event.h) and every rule shares the result.
 */
#ifndef SECDET_EVENT_PATH_H
#define SECDET_EVENT_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SEG_KEY, SEG_INDEX, SEG_STAR } seg_kind;

typedef struct path_seg {
    seg_kind kind;
    char *key; /* SEG_KEY: owned, NUL-terminated (keys cannot hold NUL) */
    size_t key_len;
    uint32_t index; /* SEG_INDEX */
} path_seg;

typedef struct sd_path {
    path_seg *segs;
    uint32_t nsegs;
    bool has_star; /* any SEG_STAR */
    char *text;    /* canonical text, e.g. .a.b[0]."c d"[*] (owned) */
    /* A common field (@ip, ...: common.h) instead of segments: 1 + its
     * sd_common; 0 for an ordinary path. The event resolves it through its
     * log type (event.c); its text is "@ip". */
    uint8_t common;
} sd_path;

void sd_path_free(sd_path *p);
/* Canonical text: keys that are identifiers ([A-Za-z_][A-Za-z0-9_]*) bare, others quoted with JSON escapes. */
char *sd_path_to_text(const sd_path *p);
bool sd_path_equal(const sd_path *a, const sd_path *b);

/* Parses a path from text (".a.b[0].\"c d\"[*]", or a common field "@ip"), as the rule language
 * writes it, stopping at the first byte that cannot continue it. Returns the
 * number of bytes consumed (0 with *err set when it is not a path; then *out
 * holds nothing). Used for templates, time fields and configuration; the rule
 * lexer has its own, position-tracking copy of this grammar. */
size_t sd_path_parse(const char *s, size_t len, sd_path *out, const char **err);

#endif
