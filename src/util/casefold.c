/* casefold.c — see casefold.h. The table (casefold_table.h) is generated
 * from the Unicode data by tools/gen_casefold.pl; ASCII is folded here. */
#include "util/casefold.h"

#include <string.h>

#include "util/casefold_table.h"
#include "util/utf8.h"

#define NPAIRS (sizeof casefold_pairs / sizeof casefold_pairs[0])

uint32_t sd_casefold_cp(uint32_t cp) {
    if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    size_t lo = 0, hi = NPAIRS;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (casefold_pairs[mid][0] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < NPAIRS && casefold_pairs[lo][0] == cp ? casefold_pairs[lo][1] : cp;
}

/* The code point at s[0..n) (n >= 1) and its length; an invalid byte is
 * returned as itself with length 1 and *valid false. */
static size_t next_cp(const unsigned char *s, size_t n, uint32_t *cp, bool *valid) {
    size_t len = sd_utf8_seq_len(s, n);
    *valid = len != 0;
    if (len <= 1) {
        *cp = s[0];
        return 1;
    }
    uint32_t v = s[0] & (len == 2 ? 0x1Fu : len == 3 ? 0x0Fu : 0x07u);
    for (size_t i = 1; i < len; i++) v = (v << 6) | (s[i] & 0x3Fu);
    *cp = v;
    return len;
}

/* The fold of the piece at s (a code point, or an invalid byte) into o; its length in *used. */
static size_t fold_piece(const unsigned char *s, size_t n, size_t *used, char *o) {
    if (s[0] < 0x80) {
        *used = 1;
        o[0] = (char)(s[0] >= 'A' && s[0] <= 'Z' ? s[0] + 32 : s[0]);
        return 1;
    }
    uint32_t cp;
    bool valid;
    *used = next_cp(s, n, &cp, &valid);
    if (!valid) {
        o[0] = (char)s[0];
        return 1;
    }
    return sd_utf8_encode(sd_casefold_cp(cp), o);
}

size_t sd_casefold(const char *s, size_t n, char *out) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        size_t used;
        o += fold_piece(u + i, n - i, &used, out + o);
        i += used;
    }
    return o;
}

bool sd_casefold_is_folded(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            if (u[i] >= 'A' && u[i] <= 'Z') return false;
            i++;
            continue;
        }
        uint32_t cp;
        bool valid;
        size_t used = next_cp(u + i, n - i, &cp, &valid);
        if (valid && sd_casefold_cp(cp) != cp) return false;
        i += used;
    }
    return true;
}

bool sd_casefold_equal(const char *s, size_t n, const char *f, size_t fn) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, j = 0;
    while (i < n) {
        char piece[4];
        size_t used;
        size_t k = fold_piece(u + i, n - i, &used, piece);
        if (k > fn - j || memcmp(piece, f + j, k) != 0) return false;
        i += used;
        j += k;
    }
    return j == fn;
}
