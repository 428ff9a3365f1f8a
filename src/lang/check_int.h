/* check_int.h — what the checker's files share: check.c (names,
 * conditions, rules), check_ext.c (what Part 2 of the language adds:
 * element predicates, string lists, time offsets, the new sequence steps
 * and sum) and check_tune.c (tune and disable), and how they report: each
 * keeps a context `c` with the ruleset (`rs`), the diagnostics (`d`) and an
 * error count (`errors`); a diagnostic names the file of its place, "" for
 * a place in no file. */
#ifndef SECDET_LANG_CHECK_INT_H
#define SECDET_LANG_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "lang/compile.h"

typedef enum { SYM_LIST, SYM_MACRO, SYM_RULE } sym_kind;

typedef struct sym {
    const char *name;
    sym_kind kind;
    void *decl;
    src_loc loc;
} sym;

typedef struct checker {
    ast_ruleset *rs;
    diag_list *d;
    sym *syms;    /* open addressing, name == NULL = empty */
    size_t nsyms; /* capacity, power of two */
    size_t errors;
    check_mentions_fn mentions; /* set when the sources had parse errors */
    void *mentions_user;
} checker;

static inline const char *check_file_of(const ast_ruleset *rs, src_loc l) {
    return l.file < rs->nfiles ? rs->files[l.file] : "";
}

#define ERR(c, loc, ...)                                                                                               \
    do {                                                                                                               \
        (c)->errors++;                                                                                                 \
        sd_diag_add((c)->d, DIAG_ERROR, check_file_of((c)->rs, (loc)), (loc).line, (loc).col, __VA_ARGS__);            \
    } while (0)
#define WARN(c, loc, ...)                                                                                              \
    sd_diag_add((c)->d, DIAG_WARNING, check_file_of((c)->rs, (loc)), (loc).line, (loc).col, __VA_ARGS__)

/* check.c */
void sd_check_cond(checker *c, ast_cond *x, int depth);
void sd_check_expr(checker *c, const ast_expr *e);
void sd_check_keys(checker *c, ast_key *keys, size_t n, const char *clause);
const sym *sd_check_lookup(checker *c, const char *name);
/* " (did you mean 'x'?)" for the nearest declared name of the kinds (bits 1 << SYM_*), or "". */
const char *sd_check_nearest(checker *c, const char *name, unsigned kinds, char *out, size_t outsz);
const char *sd_check_lit_kind_name(lit_kind k);

/* check_ext.c */
/* COND_ANY, COND_ALL, COND_STRS. */
void sd_check_cond_ext(checker *c, ast_cond *x, int depth);
/* hour() and weekday(): one or two arguments, the second a literal offset. */
void sd_check_time_call(checker *c, const ast_expr *e);
/* Warnings for comparisons no value passes (hour() == 24). */
void sd_check_never_cmp(checker *c, const ast_cond *x);
/* A sequence rule's steps: their conditions, keys, counts, `not`, and a
 * count rule named as a step. */
void sd_check_sequence(checker *c, ast_rule *r);
/* A sum rule's value and threshold. */
void sd_check_sum(checker *c, ast_rule *r);
/* Parses a UTC offset "+09:00", "-05:30" or "Z" into seconds. */
bool sd_check_offset(const char *s, size_t n, int *seconds);

#endif
