/* utf8_oracle.h — what "valid UTF-8" means to the fuzz targets' checks.
 *
 * One strict reader (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF, no cut sequence), written apart from the library's own
 * UTF-8 code so that a property checked with it does not lean on the code
 * under test. fuzz_syslog.c, fuzz_template.c and fuzz_slack.c use it:
 *  - oracle_utf8_valid: the whole text is valid UTF-8 (U+0000 allowed);
 *  - oracle_utf8_clean: valid and without U+0000 (what a C string keeps);
 *  - oracle_utf16_units: its length in UTF-16 code units (Slack's limits are
 *    counted so), or SIZE_MAX when it is not valid.
 */
#ifndef SECDET_FUZZ_UTF8_ORACLE_H
#define SECDET_FUZZ_UTF8_ORACLE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The length (1 to 4) of the well-formed sequence at s[i], its code point in
 * *cp; 0 when the bytes there are not one. */
static inline size_t oracle_utf8_next(const unsigned char *s, size_t n, size_t i, unsigned *cp) {
    unsigned char c = s[i];
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        *cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        *cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        *cp = c & 0x07u;
    } else
        return 0;
    if (n - i < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[i + k] & 0xC0) != 0x80) return 0;
        *cp = (*cp << 6) | (s[i + k] & 0x3Fu);
    }
    if ((len == 3 && (*cp < 0x800 || (*cp >= 0xD800 && *cp <= 0xDFFF))) ||
        (len == 4 && (*cp < 0x10000 || *cp > 0x10FFFF)))
        return 0;
    return len;
}

/* UTF-16 units of s when it is valid UTF-8, else SIZE_MAX. */
static inline size_t oracle_utf16_units(const unsigned char *s, size_t n) {
    size_t units = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        size_t len = oracle_utf8_next(s, n, i, &cp);
        if (len == 0) return SIZE_MAX;
        units += len == 4 ? 2 : 1;
        i += len;
    }
    return units;
}

static inline bool oracle_utf8_valid(const unsigned char *s, size_t n) { return oracle_utf16_units(s, n) != SIZE_MAX; }

static inline bool oracle_utf8_clean(const unsigned char *s, size_t n) {
    return !memchr(s, 0, n) && oracle_utf8_valid(s, n);
}

#endif
