/* scan_simd.h — the scanner's index of a text: where the bytes are that end
 * a plain run of a string (a quote, a backslash, a control byte), one bit per
 * byte, made 16 or 32 bytes at a time.
 *
 * sd_scan_run (scan.c) makes the index of each event first, then finds the
 * end of a string from the next bit instead of reading the string's bytes;
 * when that bit is a backslash or a control byte and not the closing quote,
 * the string is read byte by byte as before (escapes checked, control bytes
 * refused), so the index changes how fast a text is read, never what is
 * accepted.
 *
 * Three ways to make the same index: plain C (every platform), SSE2 (every
 * x86-64), AVX2 (chosen at run time when the CPU has it; the function is
 * compiled for AVX2 alone with a target attribute, so the rest of the
 * library still runs on any x86-64). The unit tests compare them bit for
 * bit, and the scanner's results under each.
 */
#ifndef SECDET_EVENT_SCAN_SIMD_H
#define SECDET_EVENT_SCAN_SIMD_H

#include <stddef.h>
#include <stdint.h>

enum { SCAN_SIMD_SCALAR = 0, SCAN_SIMD_SSE2 = 1, SCAN_SIMD_AVX2 = 2 };

/* The fastest way this CPU and this build have. */
int sd_scan_simd_best(void);
/* Whether `level` can run here (the tests ask before forcing one). */
int sd_scan_simd_available(int level);

/* Words of index for n bytes: one bit per byte, 64 to a word. */
static inline size_t scan_index_words(size_t n) { return (n + 63) / 64; }

/* Fills stop[] (bit k: s[k] is '"', '\\' or below 0x20: a byte that ends a
 * plain run of a string), scan_index_words(n) words; bits past n are 0. A
 * level that cannot run here falls back to one that can. */
void sd_scan_index(int level, const unsigned char *s, size_t n, uint64_t *stop);

/* The first set bit at or after `from` among words[0..nwords), or SIZE_MAX. */
static inline size_t scan_next_bit(const uint64_t *words, size_t nwords, size_t from) {
    size_t w = from >> 6;
    if (w >= nwords) return SIZE_MAX;
    uint64_t x = words[w] & (~(uint64_t)0 << (from & 63));
    while (!x) {
        if (++w >= nwords) return SIZE_MAX;
        x = words[w];
    }
    return w * 64 + (size_t)__builtin_ctzll(x);
}

#endif
