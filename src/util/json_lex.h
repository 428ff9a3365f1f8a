/* json_lex.h — the byte search inside JSON strings that the tree parser
 * (util/json.c) and the event scanner (event/scan.c) share.
 *
 * Both walk a string body looking for the bytes that end a plain run: the
 * closing quote, a backslash (an escape follows) or a raw control character
 * (U+0000–U+001F, which JSON requires escaped). Strings are most of an
 * event's bytes, so the search goes 16 bytes at a time with SSE2 where the
 * compiler has it.
 */
#ifndef SECDET_UTIL_JSON_LEX_H
#define SECDET_UTIL_JSON_LEX_H

#include <stddef.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The offset of the first '"', '\\' or control byte of s[i..n), or n. */
static inline size_t json_find_special(const unsigned char *s, size_t i, size_t n) {
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1F);
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, bs)),
                                 _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#endif
    while (i < n && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20) i++;
    return i;
}

#endif
