/* parser.h — rule source text → AST.
 *
 * Recursive descent over the lexer's tokens. On an error it reports
 * `file:line:col: expected X, found Y` and resynchronises at the next
 * declaration keyword (list/macro/rule at the start of a line, or the rule's
 * closing brace), so one run reports every error of a file.
 * Nesting depth is bounded (conditions, expressions) so hostile input cannot
 * overflow the stack.
 */
#ifndef SECDET_LANG_PARSER_H
#define SECDET_LANG_PARSER_H

#include <stddef.h>

#include "lang/ast.h"
#include "util/diag.h"

/* Parses `src` (len bytes, UTF-8) named `filename`, appending its
 * declarations to `rs`. Returns the number of errors added to `d`. */
size_t sd_parse_source(ast_ruleset *rs, const char *filename, const char *src, size_t len, diag_list *d);

#endif
