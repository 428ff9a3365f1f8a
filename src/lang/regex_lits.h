/* regex_lits.h — the literals a regex cannot match without (its prefilter).
 *
 * Promise: when sd_regex_literals() returns true, every match of the pattern
 * (PCRE2 syntax, compiled by the compiler with PCRE2_UTF and the rule's
 * flags) holds at least one of out's strings as a substring — byte for byte,
 * or, when the regex ignores case (flag i), after ASCII lower-casing of the
 * subject, and then only for a subject of ASCII bytes alone (PCRE2 matches
 * `k` with U+212A KELVIN SIGN and `s` with U+017F LONG S under caseless UTF,
 * so a subject with a byte >= 0x80 must always be tested). Anything the
 * reader does not fully understand (inline options, lookarounds,
 * back-references, \Q..\E, most escapes, the x flag, verbs) gives no
 * literals rather than a guess. Every literal is at least 2 bytes (the
 * prefilter's index is by a literal's first two bytes).
 */
#ifndef SECDET_LANG_REGEX_LITS_H
#define SECDET_LANG_REGEX_LITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"

typedef struct regex_lits {
    uint32_t n;
    bool fold; /* lower-cased ASCII: compare with the subject lower-cased */
    uint8_t len[LIMIT_PREFILTER_LITS];
    char s[LIMIT_PREFILTER_LITS][LIMIT_PREFILTER_LIT_LEN];
} regex_lits;

/* The required literals of pattern pat[0..len) with flags (the rule's
 * "imsx" letters, NUL-terminated); false when none are known. */
bool sd_regex_literals(const char *pat, size_t len, const char *flags, regex_lits *out);

#endif
