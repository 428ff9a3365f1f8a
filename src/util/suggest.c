/* suggest.c — nearest-word suggestions (suggest.h).
 *
 * Optimal string alignment distance over bytes, computed with three rows
 * and cut short once a row's minimum passes the limit: names are short, and
 * most candidates are rejected after a couple of rows.
 */
#include "util/suggest.h"
#include "util/limits.h"

#include <stdlib.h>
#include <string.h>

static size_t limit_for(size_t len) { return len < 6 ? 1 : len / 3; }

static size_t min3(size_t a, size_t b, size_t c) {
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* The distance between a and b, or limit + 1 when it is larger than limit. */
static size_t distance(const char *a, size_t n, const char *b, size_t m, size_t limit) {
    size_t rows[3][LIMIT_SUGGEST_WORD + 1];
    size_t *two = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++) prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        size_t row_min = cur[0];
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && two[j - 2] + 1 < cur[j])
                cur[j] = two[j - 2] + 1;
            if (cur[j] < row_min) row_min = cur[j];
        }
        if (row_min > limit) return limit + 1;
        size_t *t = two;
        two = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

void sd_suggest_init(suggest *s, const char *word) {
    s->word = word;
    s->best = NULL;
    s->best_dist = 0;
}

void sd_suggest_offer(suggest *s, const char *candidate) {
    size_t n = strlen(s->word), m = strlen(candidate);
    if (n > LIMIT_SUGGEST_WORD || m > LIMIT_SUGGEST_WORD || strcmp(s->word, candidate) == 0) return;
    size_t limit = limit_for(n);
    if (s->best && s->best_dist - 1 < limit) limit = s->best_dist - 1; /* only a strictly better one */
    if ((n > m ? n - m : m - n) > limit) return;
    size_t d = distance(s->word, n, candidate, m, limit);
    if (d <= limit) {
        s->best = candidate;
        s->best_dist = d;
    }
}

void sd_suggest_offer_all(suggest *s, const char *const *candidates, size_t n) {
    for (size_t i = 0; i < n; i++) sd_suggest_offer(s, candidates[i]);
}

const char *sd_suggest_best(const suggest *s) { return s->best; }
