/* span.c — where the parts of JSON text begin and end (see span.h).
 *
 * Most bytes of an event are inside strings, so a string is crossed 16
 * bytes at a time (SSE2) up to its next quote or backslash; outside strings
 * a byte at a time, counting brackets.
 */
#include "event/span.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "util/json.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The first '"' or '\\' at or after i, or n. */
static size_t quote_or_backslash(const unsigned char *s, size_t i, size_t n) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned hits =
            (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
        if (hits) return i + (size_t)__builtin_ctz(hits);
    }
#endif
    while (i < n && s[i] != '"' && s[i] != '\\') i++;
    return i;
}

static bool ends_scalar(unsigned char c) {
    return span_is_ws(c) || c == ',' || c == ':' || c == ']' || c == '}' || c == '[' || c == '{' || c == '"';
}

void sd_span_frame_start(span_frame *f) {
    f->mode = SPAN_START;
    f->depth = 0;
    f->deepest = 0;
}

/* Inside a string at s[i]: the offset past its closing quote, or n with
 * f->mode saying where the string stopped (SPAN_STRING or SPAN_ESCAPE). */
static size_t string_rest(span_frame *f, const unsigned char *s, size_t i, size_t n) {
    for (;;) {
        i = quote_or_backslash(s, i, n);
        if (i >= n) {
            f->mode = SPAN_STRING;
            return n;
        }
        if (s[i] == '"') return i + 1;
        if (i + 1 >= n) { /* the escaped byte comes with the next piece */
            f->mode = SPAN_ESCAPE;
            return n;
        }
        i += 2;
    }
}

/* One byte inside a container (mode SPAN_IN, SPAN_STRING or SPAN_ESCAPE);
 * true when it closed the value. */
static bool container_byte(span_frame *f, unsigned char c) {
    switch (f->mode) {
    case SPAN_ESCAPE: f->mode = SPAN_STRING; break;
    case SPAN_STRING:
        if (c == '\\')
            f->mode = SPAN_ESCAPE;
        else if (c == '"')
            f->mode = SPAN_IN;
        break;
    default:
        if (c == '"') {
            f->mode = SPAN_STRING;
        } else if (c == '{' || c == '[') {
            if (++f->depth > f->deepest) f->deepest = f->depth;
        } else if ((c == '}' || c == ']') && --f->depth == 0) {
            f->mode = SPAN_DONE;
            return true;
        }
    }
    return false;
}

#if defined(__SSE2__)
/* Bit k of the result: s[k] == c (mask: the bytes | 0x20 first). */
static uint64_t bits64(const unsigned char *s, unsigned char c, bool fold) {
    uint64_t m = 0;
    const __m128i want = _mm_set1_epi8((char)c), low = _mm_set1_epi8(0x20);
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + 16 * k));
        if (fold) x = _mm_or_si128(x, low);
        m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, want)) << (16 * k);
    }
    return m;
}

/* Bit k: an odd number of quotes at or before k (k is inside a string, or
 * its opening quote). */
static uint64_t prefix_xor(uint64_t x) {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}
#endif

/* Inside a container at s[i]. 64 bytes at a time where they hold no
 * backslash: which bytes are in strings comes from the quotes' positions
 * (the parity of the quotes before each byte), and only the brackets
 * outside strings are looked at one by one. A block with a backslash, and
 * the last bytes, go a byte at a time. */
static size_t container_rest(span_frame *f, const unsigned char *s, size_t i, size_t n) {
#if defined(__SSE2__)
    while (i + 64 <= n && f->mode != SPAN_ESCAPE) {
        if (bits64(s + i, '\\', false)) break;
        uint64_t quotes = bits64(s + i, '"', false);
        uint64_t in_string = prefix_xor(quotes) ^ (f->mode == SPAN_STRING ? ~(uint64_t)0 : 0);
        uint64_t opens = bits64(s + i, '{', true) & ~in_string;
        uint64_t closes = bits64(s + i, '}', true) & ~in_string;
        for (uint64_t both = opens | closes; both; both &= both - 1) {
            uint64_t bit = both & (~both + 1);
            if (opens & bit) {
                if (++f->depth > f->deepest) f->deepest = f->depth;
            } else if (--f->depth == 0) {
                f->mode = SPAN_DONE;
                return i + (size_t)__builtin_ctzll(bit) + 1;
            }
        }
        f->mode = in_string >> 63 ? SPAN_STRING : SPAN_IN;
        i += 64;
    }
#endif
    for (; i < n; i++)
        if (container_byte(f, s[i])) return i + 1;
    return n;
}

size_t sd_span_frame_run(span_frame *f, const char *text, size_t n) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    if (n == 0 || f->mode == SPAN_DONE) return 0;
    if (f->mode == SPAN_START) {
        if (s[0] == '{' || s[0] == '[') {
            f->depth = f->deepest = 1;
            f->mode = SPAN_IN;
            return container_rest(f, s, 1, n);
        }
        f->mode = s[0] == '"' ? SPAN_STRING : SPAN_SCALAR;
        i = s[0] == '"';
    }
    if (f->mode == SPAN_SCALAR) {
        while (i < n && !ends_scalar(s[i])) i++;
        if (i < n) f->mode = SPAN_DONE;
        return i;
    }
    if (f->depth > 0) return container_rest(f, s, i, n);
    /* The value is a string. */
    if (f->mode == SPAN_ESCAPE) i++; /* the escaped byte: a quote here does not end the string */
    f->mode = SPAN_DONE;
    i = string_rest(f, s, i, n);
    return i;
}

/* ---- members -------------------------------------------------------------- */

static size_t skip_ws(const char *s, size_t n, size_t i) {
    while (i < n && span_is_ws((unsigned char)s[i])) i++;
    return i;
}

int sd_span_walk_start(span_walk *w, const char *s, size_t n) {
    /* A byte order mark first of all, as the parse takes it (util/json.h). */
    size_t i = n >= 5 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    i = skip_ws(s, n, i);
    *w = (span_walk){.s = s, .n = n, .pos = i + 1, .deepest = 1, .state = -1};
    if (i >= n || s[i] != '{') return -1;
    w->state = 0;
    return 0;
}

int sd_span_walk_next(span_walk *w, span_member *m) {
    const char *s = w->s;
    size_t n = w->n;
    if (w->state < 0 || w->state == 2) return w->state < 0 ? -1 : 0;
    size_t i = skip_ws(s, n, w->pos);
    if (i < n && s[i] == '}') {
        /* After the value only JSON's own whitespace, as the decoders'
         * parse allows (cJSON skips any byte up to 0x20 only before it). */
        for (i++; i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'); i++) {}
        w->state = i == n ? 2 : -1;
        return w->state == 2 ? 0 : -1;
    }
    if (w->state == 1) { /* a ',' between members */
        if (i >= n || s[i] != ',') return w->state = -1;
        i = skip_ws(s, n, i + 1);
    }
    if (i >= n || s[i] != '"') return w->state = -1;
    span_frame f;
    sd_span_frame_start(&f);
    m->key = i;
    m->key_len = sd_span_frame_run(&f, s + i, n - i);
    if (f.mode != SPAN_DONE) return w->state = -1;
    m->key_escaped = memchr(s + i, '\\', m->key_len) != NULL || memchr(s + i, 0, m->key_len) != NULL;
    i = skip_ws(s, n, i + m->key_len);
    if (i >= n || s[i] != ':') return w->state = -1;
    i = skip_ws(s, n, i + 1);
    if (i >= n) return w->state = -1;
    sd_span_frame_start(&f);
    m->value = i;
    m->value_len = sd_span_frame_run(&f, s + i, n - i);
    /* A scalar may end with the text; an empty one is no value at all. */
    if (m->value_len == 0 || (f.mode != SPAN_DONE && f.mode != SPAN_SCALAR)) return w->state = -1;
    if (f.deepest + 1 > w->deepest) w->deepest = f.deepest + 1;
    w->pos = i + m->value_len;
    w->state = 1;
    return 1;
}

bool sd_span_key_is(const char *s, const span_member *m, const char *name) {
    size_t len = strlen(name);
    if (!m->key_escaped) return m->key_len == len + 2 && memcmp(s + m->key + 1, name, len) == 0;
    /* An escape spells at most 12 bytes of text per character. */
    if (m->key_len > 12 * len + 2) return false;
    cJSON *k = sd_json_parse(s + m->key, m->key_len, 0, NULL);
    bool same = cJSON_IsString(k) && sd_json_string_len(k) == len && memcmp(k->valuestring, name, len) == 0;
    cJSON_Delete(k);
    return same;
}

int sd_span_first_members(const char *s, size_t n, const char *const *keys, int nkeys, span_member *first, bool *seen) {
    for (int k = 0; k < nkeys; k++) seen[k] = false;
    span_walk w;
    span_member m;
    if (sd_span_walk_start(&w, s, n) != 0) return -1;
    int r;
    while ((r = sd_span_walk_next(&w, &m)) == 1) {
        for (int k = 0; k < nkeys; k++) {
            if (!seen[k] && sd_span_key_is(s, &m, keys[k])) {
                first[k] = m;
                seen[k] = true;
                break;
            }
        }
    }
    return r < 0 ? -1 : 0;
}
