/* casefold.h — Unicode simple case folding, for the case-insensitive tests
 * of the rule language (`=~`, `icontains`, `istartswith`, `iendswith`,
 * `ilike`).
 *
 * Simple folding maps one code point to one code point (CaseFolding.txt,
 * status C and S): `É` and `é` fold alike, `K` (U+212A KELVIN SIGN) folds
 * to `k`, `ß` stays `ß` (only full folding makes it `ss`). A byte that is
 * not part of valid UTF-8 folds to itself, so folding never fails and a
 * string with invalid bytes is still compared byte for byte there.
 */
#ifndef SECDET_UTIL_CASEFOLD_H
#define SECDET_UTIL_CASEFOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The simple case folding of code point cp (cp itself when it has none). */
uint32_t sd_casefold_cp(uint32_t cp);

/* The most bytes the fold of an n-byte string takes (a code point's fold
 * never takes more than twice its bytes). */
static inline size_t sd_casefold_max(size_t n) { return n * 2; }

/* Writes the fold of s[0..n) to out (room for sd_casefold_max(n) bytes);
 * returns its length. */
size_t sd_casefold(const char *s, size_t n, char *out);

/* Whether s[0..n) has nothing that folds to something else (it is its own
 * fold): such a string needs no copy. */
bool sd_casefold_is_folded(const char *s, size_t n);

/* Whether the fold of s[0..n) equals f[0..fn), which is already folded;
 * no copy is made. */
bool sd_casefold_equal(const char *s, size_t n, const char *f, size_t fn);

#endif
