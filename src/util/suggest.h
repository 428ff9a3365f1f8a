/* suggest.h — "did you mean ...?" for names the user misspelt.
 *
 * The nearest candidate by edit distance (insertions, deletions,
 * substitutions and swaps of two neighbouring characters each cost 1), when
 * it is near enough to be a likely typo: at most a third of the word's
 * length (at least 1) edits away. Ties go to the earlier candidate, so
 * callers list the common words first.
 */
#ifndef SECDET_UTIL_SUGGEST_H
#define SECDET_UTIL_SUGGEST_H

#include <stddef.h>

typedef struct suggest {
    const char *word; /* what the user wrote */
    const char *best; /* the nearest candidate so far, or NULL */
    size_t best_dist;
} suggest;

void sd_suggest_init(suggest *s, const char *word);
/* Offers one candidate (borrowed: it must outlive the suggest). */
void sd_suggest_offer(suggest *s, const char *candidate);
/* Offers every candidate of a list. */
void sd_suggest_offer_all(suggest *s, const char *const *candidates, size_t n);
/* The suggestion, or NULL when nothing is near enough. */
const char *sd_suggest_best(const suggest *s);

#endif
