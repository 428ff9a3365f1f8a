/* compile.h — rule sources → checked AST → program (bytecode).
 *
 * sd_compile_sources() is the whole front end: parse every file, check names and
 * types across all of them (one namespace per ruleset), compile. A ruleset
 * with any error yields NULL and every error in `d`; warnings (unused macro
 * or list, a rule that can never match) are added to `d` either way.
 */
#ifndef SECDET_LANG_COMPILE_H
#define SECDET_LANG_COMPILE_H

#include <stddef.h>

#include "lang/ast.h"
#include "util/diag.h"
#include "vm/program.h"

typedef struct compile_input {
    const char *name; /* file name as it appears in diagnostics */
    const char *text;
    size_t len;
} compile_input;

struct sd_logtypes;

typedef struct compile_limits {
    size_t max_source_bytes;    /* per file; 0 = default (16 MiB) */
    uint32_t regex_depth_limit; /* unused at compile time; reserved */
    /* The log types whose known fields the unknown-field warning checks
     * (the engine's); NULL: the built-ins. */
    const struct sd_logtypes *log_types;
} compile_limits;

program *sd_compile_sources(const compile_input *files, size_t nfiles, const compile_limits *lim, diag_list *d);

/* How often `word` appears as a word in the sources (see sd_check_ruleset). */
typedef size_t (*check_mentions_fn)(void *user, const char *word);

/* The stages, exposed for tests. sd_check_ruleset returns the number of errors.
 * After parse errors it still runs over what parsed (declarations that
 * failed are stubs, `broken`: their names are known, their uses are not
 * checked); pass `mentions` then, so that a list, macro or private rule
 * whose name appears in the sources beside its declaration is not called
 * unused (it may be used by what failed to parse). NULL otherwise. */
size_t sd_check_ruleset(ast_ruleset *rs, diag_list *d, check_mentions_fn mentions, void *mentions_user);
program *sd_compile_ruleset(const ast_ruleset *rs, diag_list *d);
/* check_fields.c: warns of a field path no event of the rule's log types
 * has (rules whose `on` names only log types with known fields). */
void sd_check_known_fields(const ast_ruleset *rs, const struct sd_logtypes *log_types, diag_list *d);

#endif
