/* span.h — where the parts of JSON text begin and end, without parsing it.
 *
 * The decoders cut a stream into events, and envelopes into their parts,
 * before anything parses them: the events then go to the one-pass scanner
 * (scan.h) as text, and no cJSON tree is built for them. Two tools:
 *
 *  - span_frame finds where one JSON value ends: bracket depth, strings and
 *    their escapes, nothing else. It is resumable: a value may arrive in
 *    pieces (a stream fed in chunks) and each byte is looked at once.
 *  - span_walk steps through the members of an object whose whole text is
 *    at hand: each key and the extent of its value.
 *
 * Neither validates a value: `{"a":tru}` frames as well as `{"a":true}`.
 * What they cut out is handed to the scanner or to cJSON, which decide
 * whether it is JSON (and word the error when it is not); the framing —
 * keys, ':' and ',' between members — is checked here. Like cJSON, any byte
 * up to 0x20 counts as whitespace before and inside a value; after an
 * object span_walk allows JSON's four, as the decoders' parse does.
 */
#ifndef SECDET_EVENT_SPAN_H
#define SECDET_EVENT_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool span_is_ws(unsigned char c) { return c <= 0x20; }

/* ---- the end of one value, resumable ------------------------------------ */

typedef enum {
    SPAN_START,  /* nothing seen yet */
    SPAN_IN,     /* inside a container, outside strings */
    SPAN_STRING, /* inside a string */
    SPAN_ESCAPE, /* after a backslash in a string */
    SPAN_SCALAR, /* a number, true, false, null (or junk): ends before a delimiter */
    SPAN_DONE,   /* the value ended */
} span_mode;

typedef struct span_frame {
    span_mode mode;
    uint32_t depth;   /* containers open */
    uint32_t deepest; /* the most that were open at once: the value's nesting */
} span_frame;

/* Readies f for a value whose first byte (not whitespace) is the next one
 * given to sd_span_frame_run. */
void sd_span_frame_start(span_frame *f);
/* Reads bytes of the value from s[0..n) and returns how many belong to it.
 * When the value ended among them, f->mode is SPAN_DONE: a container or a
 * string ends with its last byte consumed; a scalar ends before the byte
 * that ends it (whitespace or one of , : ] } [ { "), which is not consumed.
 * A scalar can also end with the input: the caller decides that. A first
 * byte that cannot start anything (, : ] }) gives a scalar of 0 bytes. */
size_t sd_span_frame_run(span_frame *f, const char *s, size_t n);

/* ---- the members of an object ------------------------------------------- */

typedef struct span_member {
    size_t key;       /* offset of the key's opening quote */
    size_t key_len;   /* the key token, quotes included */
    bool key_escaped; /* it holds a backslash or a NUL: cJSON's reading of it is not its bytes */
    size_t value;     /* offset of the value's first byte */
    size_t value_len;
} span_member;

typedef struct span_walk {
    const char *s;
    size_t n;
    size_t pos;
    uint32_t deepest; /* nesting of the object (1 + its deepest member) */
    int state;        /* 0 before the first member, 1 after one, 2 ended, -1 broken */
} span_walk;

/* Starts walking the object that is the whole of s[0..n) (a UTF-8 BOM at
 * its very start, then whitespace, allowed before it, as util/json.h's
 * parse allows). -1 when s does not start with '{'. */
int sd_span_walk_start(span_walk *w, const char *s, size_t n);
/* The next member: 1 with *m filled; 0 at the object's end (then nothing
 * but whitespace may follow it, else -1); -1 when the framing is broken. */
int sd_span_walk_next(span_walk *w, span_member *m);
/* Whether member m's key is `name` (a NUL-free ASCII name). A key with
 * escapes (or a NUL) is decoded as cJSON decodes it, so "R\u0065cords" is
 * "Records". */
bool sd_span_key_is(const char *s, const span_member *m, const char *name);
/* The first top-level member of each of keys[0..nkeys) in the object
 * s[0..n): seen[k] tells whether keys[k] has one, first[k] is it. 0, or -1
 * when s is not an object (what an envelope test needs to tell envelopes
 * apart without parsing). */
int sd_span_first_members(const char *s, size_t n, const char *const *keys, int nkeys, span_member *first, bool *seen);

#endif
