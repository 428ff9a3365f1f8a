/* json_oracle.h — what util/json.c's parser must give, told from cJSON's.
 *
 * sd_json_parse's contract is cJSON 1.7.15's behaviour with two departures
 * (util/json.h): a raw control character inside a string is refused, and a
 * string holding U+0000 keeps all its bytes where cJSON cuts it. fuzz_json.c
 * and tests/unit/test_json.c both check sd_json_parse against cJSON; this
 * header is the part of the oracle those departures need, so the two agree:
 *  - oracle_first_control: where sd_json_parse must fail when cJSON would not
 *    (or fails later): the first raw control byte inside a closed string
 *    that starts before cJSON's end or error offset;
 *  - oracle_rewrite_zeros: the text with every \u escape cJSON decodes as
 *    U+0000 (\u0000, or bad hex digits) rewritten to \u000D with another
 *    digit D: cJSON then keeps the whole string, and U+0000 in sd_json_parse's
 *    string must stand exactly where cJSON's has U+000D. Two rewrites (D =
 *    1 and 2) pin every byte: a U+0000 of ours that should be U+0001, or
 *    the reverse, differs from one of them;
 *  - oracle_same_tree: sd_json_parse's tree against cJSON's, node for node.
 * Everything here reads the text as cJSON does: a backslash escapes
 * whatever byte follows, whether or not the escape is valid.
 */
#ifndef SECDET_FUZZ_JSON_ORACLE_H
#define SECDET_FUZZ_JSON_ORACLE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/json.h"

/* The closing quote of the string whose opening quote is s[a], or len when
 * it is not closed. */
static size_t oracle_string_end(const char *s, size_t len, size_t a) {
    size_t j = a + 1;
    while (j < len && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
    return j < len ? j : len;
}

/* The offset of the first raw control byte (0x00-0x1F) inside a closed
 * string that starts before `limit`, or SIZE_MAX. The text before limit is
 * a prefix cJSON accepted, so every quote outside a string there opens one. */
static size_t oracle_first_control(const char *s, size_t len, size_t limit) {
    for (size_t i = 0; i < len && i < limit; i++) {
        if (s[i] != '"') continue;
        size_t b = oracle_string_end(s, len, i);
        if (b == len) return SIZE_MAX;
        for (size_t j = i + 1; j < b; j += s[j] == '\\' ? 2 : 1)
            if ((unsigned char)s[j] < 0x20) return j;
        i = b;
    }
    return SIZE_MAX;
}

/* cJSON's parse_hex4: any byte that is not a hex digit makes it 0. */
static unsigned oracle_hex4(const char *h) {
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = h[k];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return 0;
        v = v << 4 | d;
    }
    return v;
}

/* A copy of s[0..len) with every \u escape that cJSON decodes as U+0000
 * rewritten to \u000<digit>. *found: 0 when there was none, 1 when some were
 * rewritten, -1 when one cannot be (its four bytes hold a quote or a
 * backslash, which the rewrite would unpair). NULL on OOM. */
static char *oracle_rewrite_zeros(const char *s, size_t len, char digit, int *found) {
    char *t = malloc(len ? len : 1);
    if (!t) return NULL;
    if (len) memcpy(t, s, len);
    *found = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '"') continue;
        size_t b = oracle_string_end(s, len, i);
        if (b == len) break;
        /* the escapes as cJSON decodes the body s[i+1..b) */
        for (size_t j = i + 1; j < b;) {
            if (s[j] != '\\') {
                j++;
                continue;
            }
            if (s[j + 1] != 'u') {
                j += 2;
                continue;
            }
            if (b - j < 6) break; /* cJSON refuses the string */
            if (memchr(s + j + 2, '"', 4) || memchr(s + j + 2, '\\', 4)) {
                if (oracle_hex4(s + j + 2) == 0) *found = -1;
                j += 6;
                continue;
            }
            unsigned cp = oracle_hex4(s + j + 2);
            if (cp == 0) {
                memcpy(t + j + 2, "000", 3);
                t[j + 5] = digit;
                if (*found == 0) *found = 1;
            }
            j += cp >= 0xD800 && cp <= 0xDBFF ? 12 : 6; /* a pair's low half is never 0 */
        }
        i = b;
    }
    return t;
}

/* ours[0..n) is want[] (NUL-terminated, no NUL inside) with U+0000 where
 * want has `digit`'s control character, and nothing else differs. */
static bool oracle_same_bytes(const char *ours, size_t n, const char *want, char digit) {
    if (!want || strlen(want) != n) return false;
    for (size_t i = 0; i < n; i++) {
        char c = ours[i] == 0 ? (char)(digit - '0') : ours[i];
        if (c != want[i]) return false;
    }
    return true;
}

#define ORACLE_MARKS (JSON_STRING_HAS_NUL | JSON_KEY_HAS_NUL)

/* ours[0..n) against cJSON's string `want` (its bytes up to the first
 * U+0000) and, when w1 is set, the rewritten texts' strings w1 and w2. */
static bool oracle_same_string(const char *ours, size_t n, bool marked, const char *want, const char *w1,
                               const char *w2, int zeros) {
    bool nul = memchr(ours, 0, n) != NULL;
    if (nul != marked || strcmp(ours, want) != 0) return false;
    if (zeros == 0) return !nul;
    if (zeros < 0) return true; /* not rewritable: cJSON's prefix is all there is to compare */
    return oracle_same_bytes(ours, n, w1, '1') && oracle_same_bytes(ours, n, w2, '2');
}

/* sd_json_parse's node a against cJSON's b. zeros is oracle_rewrite_zeros's
 * *found; when 1, w1 and w2 are cJSON's nodes for the texts rewritten with
 * digits '1' and '2'. Checks types, keys, strings (whole), valueint,
 * valuedouble bits (the length, for a string holding U+0000) and the
 * prev/next links. */
static bool oracle_same_tree(const cJSON *a, const cJSON *b, const cJSON *w1, const cJSON *w2, int zeros) {
    if (zeros > 0 && (!w1 || !w2 || w1->type != b->type || w2->type != b->type)) return false;
    if ((a->type & ~ORACLE_MARKS) != b->type || a->valueint != b->valueint) return false;
    if ((a->string == NULL) != (b->string == NULL) || (a->valuestring == NULL) != (b->valuestring == NULL))
        return false;
    if (a->string) {
        buf tmp;
        sd_buf_init(&tmp);
        size_t n = 0;
        const char *key = sd_json_key_bytes(a, &tmp, &n);
        bool ok = !tmp.oom && oracle_same_string(key, n, a->type & JSON_KEY_HAS_NUL, b->string, w1 ? w1->string : NULL,
                                                 w2 ? w2->string : NULL, zeros);
        sd_buf_free(&tmp);
        if (!ok) return false;
    }
    if (a->valuestring) {
        size_t n = sd_json_string_len(a);
        bool marked = a->type & JSON_STRING_HAS_NUL;
        if (!oracle_same_string(a->valuestring, n, marked, b->valuestring, w1 ? w1->valuestring : NULL,
                                w2 ? w2->valuestring : NULL, zeros))
            return false;
        if (marked && a->valuedouble != (double)n) return false;
    }
    if (!(a->type & JSON_STRING_HAS_NUL) && memcmp(&a->valuedouble, &b->valuedouble, sizeof a->valuedouble) != 0)
        return false;
    const cJSON *x = a->child, *y = b->child;
    const cJSON *y1 = zeros > 0 ? w1->child : NULL, *y2 = zeros > 0 ? w2->child : NULL;
    if ((x == NULL) != (y == NULL)) return false;
    const cJSON *xl = x ? x->prev : NULL, *yl = y ? y->prev : NULL; /* the last child */
    for (; x && y; x = x->next, y = y->next) {
        if ((x->next == NULL) != (y->next == NULL)) return false;
        if (x->next && (x->next->prev != x || y->next->prev != y)) return false;
        if (!x->next && (x != xl || y != yl)) return false;
        if (!oracle_same_tree(x, y, y1, y2, zeros)) return false;
        if (zeros > 0) y1 = y1 ? y1->next : NULL, y2 = y2 ? y2->next : NULL;
    }
    return true;
}

/* cJSON's tree of s with its zero escapes rewritten to \u000<digit>. */
static cJSON *oracle_rewritten_tree(const char *s, size_t len, char digit) {
    int found = 0;
    char *t = oracle_rewrite_zeros(s, len, digit, &found);
    cJSON *tree = t ? cJSON_ParseWithLengthOpts(t, len, NULL, 0) : NULL;
    free(t);
    return tree;
}

/* oracle_same_tree for sd_json_parse's tree `got` of s[0..len), cJSON's `want`:
 * the rewritten texts are parsed here when they are needed. */
static bool oracle_same_tree_of_text(const cJSON *got, const cJSON *want, const char *s, size_t len) {
    int zeros = 0;
    free(oracle_rewrite_zeros(s, len, '1', &zeros));
    cJSON *w1 = zeros > 0 ? oracle_rewritten_tree(s, len, '1') : NULL;
    cJSON *w2 = zeros > 0 ? oracle_rewritten_tree(s, len, '2') : NULL;
    bool same = oracle_same_tree(got, want, w1, w2, zeros);
    cJSON_Delete(w1);
    cJSON_Delete(w2);
    return same;
}

/* Whether a tree holds any marked node (then cJSON_PrintUnformatted of it
 * differs from cJSON's own tree's). */
static bool oracle_has_marks(const cJSON *n) {
    for (; n; n = n->next)
        if ((n->type & ORACLE_MARKS) || oracle_has_marks(n->child)) return true;
    return false;
}

#endif
