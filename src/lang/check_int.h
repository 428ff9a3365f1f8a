/* check_int.h — how the checkers (check.c, check_tune.c) report.
 *
 * Both keep a context `c` with the ruleset (`rs`), the diagnostics (`d`)
 * and an error count (`errors`); a diagnostic names the file of its place,
 * "" for a place in no file.
 */
#ifndef SECDET_LANG_CHECK_INT_H
#define SECDET_LANG_CHECK_INT_H

#include "lang/ast.h"
#include "util/diag.h"

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

#endif
