/* parser_int.h — what the two halves of the parser share.
 *
 * parser.c holds the token cursor, error reporting and the declarations
 * (list, macro, rule and its clauses); parser_cond.c holds conditions,
 * expressions and literals. Every parse function either returns its node
 * having consumed it, or returns NULL/false having reported exactly one
 * error (none when the offending token was a lexical error, which was
 * reported when it was lexed); callers then only propagate the failure, and
 * the declaration level resynchronises.
 */
#ifndef SECDET_LANG_PARSER_INT_H
#define SECDET_LANG_PARSER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "lang/ast.h"
#include "lang/lexer.h"
#include "lang/parser.h"
#include "util/diag.h"
#include "util/limits.h"

typedef struct parser {
    lexer lx;
    lex_token tok; /* the current token */
    char prev[48]; /* source text of the previous token, for "after 'x'" */
    ast_ruleset *rs;
    const char *file;
    uint32_t file_idx;
    diag_list *d;
    size_t errors;
    int depth;     /* nesting of conditions and calls, bounded by LIMIT_PARSE_DEPTH */
    int brace;     /* braces opened inside the current rule body (meta, sequence) */
    void *scratch; /* GROW's temporary */
} parser;

void sd_parser_advance(parser *p);
void sd_parser_error(parser *p, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "expected WHAT after 'PREV', found THIS", at the current token. */
void sd_parser_expected(parser *p, const char *what);
/* The same, adding "(did you mean 'w'?)" when the current token is a word
 * near one of words[0..nwords). */
void sd_parser_expected_near(parser *p, const char *what, const char *const *words, size_t nwords);
/* Reports the current TOK_ERROR token (a lexical error). */
void sd_parser_report_lex_error(parser *p);
/* Describes the current token for messages: 'text' or "end of file". */
void sd_parser_describe(const parser *p, char *out, size_t outsz);
/* At the ')' closing a '(' opened at `open`: consumes it and returns true,
 * or reports "expected ')' to close '(' opened at L:C" (unless the lexer
 * reported the token already) and returns false. */
bool sd_parser_close_paren(parser *p, src_loc open);
src_loc sd_parser_loc(const parser *p);
bool sd_parser_is_kw(const parser *p, const char *kw);
/* Words that cannot name a list, macro or rule (they mean something in a condition or rule). */
bool sd_parser_is_reserved(const char *word);
bool sd_parser_enter(parser *p);
/* Skips to the next declaration keyword that starts a line (or the end). */
void sd_parser_skip_to_decl(parser *p);
void sd_parser_leave(parser *p);

ast_cond *sd_parser_condition(parser *p);
ast_expr *sd_parser_expr(parser *p);
/* A literal value; `meta` also admits bare words (LIT_IDENT) and durations. */
bool sd_parser_scalar_lit(parser *p, ast_lit *out, bool meta);
/* `[ lit, ... ]` (a trailing comma is allowed). */
bool sd_parser_lit_list(parser *p, ast_lit *out, bool meta);

/* parser.c, for parser_seq.c */
/* A declared name (not a keyword), taken from the token; NULL reported. */
char *sd_parser_take_name(parser *p, const char *kind);
/* "[by K, ...]" */
bool sd_parser_keys(parser *p, ast_key **keys, size_t *nkeys);
/* A duration literal into *ms. */
bool sd_parser_duration(parser *p, int64_t *ms);
/* "within DUR [by K, ...]" of a rule. */
bool sd_parser_window(parser *p, ast_rule *r);
/* "(>= | >) N" of a rule. */
bool sd_parser_threshold(parser *p, ast_rule *r);

/* parser_seq.c: "sequence [unordered] within DUR [by K, ...] { STEP; ... }" (the keyword current). */
bool sd_parser_sequence(parser *p, ast_rule *r);

/* parser_elem.c: Part 2's conditions. */
/* Whether the current token is a string test's keyword (contains,
 * startswith, endswith and their i-forms); *op says which. */
bool sd_parser_string_op(const parser *p, cmp_op *op);
/* Whether the current token is a word that may name a list. */
bool sd_parser_at_list_name(const parser *p);
/* `lhs OP [..]` or `lhs OP NAME` (the operator consumed). Takes lhs. */
ast_cond *sd_parser_strs(parser *p, ast_expr *lhs, cmp_op op, src_loc loc);
/* `any PATH (C)` / `all PATH (C)`, the keyword consumed (the path is current). */
ast_cond *sd_parser_elem(parser *p, bool all, src_loc loc);

#endif
