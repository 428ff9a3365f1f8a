/* tune.h — tuning in the language: `tune`, `disable` and a rule's
 * `severity { LEVEL when C; ... }` clause (docs/language.md "Tuning").
 *
 *   tune RULE_OR_GLOB {
 *       except CONDITION [until YYYY-MM-DD] ["reason"]
 *       severity = LEVEL
 *       throttle DUR [by K, ...]
 *       output "TEMPLATE"
 *   }
 *   disable RULE_OR_GLOB ["reason"]
 *
 * A tune changes rules without editing them, so a pack stays as shipped
 * and a local overlay file says what this site does differently. The
 * stages: parser_tune.c parses the declarations and the severity clause
 * into the nodes below; check_tune.c resolves each tune's target (a rule's
 * name, or a glob over the rules that alert), applies the tunes to the
 * rules in file order and checks what they hold; compile_tune.c compiles
 * each rule as its tunes leave it (a view of the rule with the tune's
 * throttle and output) plus its exceptions and severity cases, and writes
 * the explanation `secdet check --explain-tuning` prints.
 *
 * Nothing here owns a rule: a rule's ast_rule_tuning points into the
 * tunes, which the ruleset's ast_tuning owns.
 */
#ifndef SECDET_LANG_TUNE_H
#define SECDET_LANG_TUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secdet.h"
#include "lang/ast.h"
#include "util/diag.h"

/* `LEVEL when CONDITION` in a rule's severity clause. */
typedef struct ast_sev_case {
    secdet_severity level;
    src_loc loc;
    ast_cond *cond;
} ast_sev_case;

/* `except CONDITION [until DATE] ["reason"]` */
typedef struct ast_except {
    ast_cond *cond;
    char *text;       /* the condition as written (one line, spaces squeezed) */
    char *reason;     /* NULL when none */
    char *until;      /* "YYYY-MM-DD", NULL when none */
    int64_t until_ns; /* the first instant (UTC) the exception no longer covers: the next day's start */
    src_loc loc;      /* of `except` */
    src_loc until_loc;
} ast_except;

typedef struct ast_tune {
    char *target; /* a rule's name, or a glob (`*`, `?`) */
    bool glob;
    bool disable; /* `disable TARGET ["reason"]` */
    char *reason; /* disable's reason, or NULL */
    src_loc loc;  /* of the keyword */
    src_loc target_loc;
    ast_except *excepts;
    size_t nexcepts;
    bool has_severity;
    secdet_severity severity;
    src_loc severity_loc;
    bool has_throttle;
    int64_t throttle_ms;
    ast_key *throttle_by;
    size_t nthrottle_by;
    src_loc throttle_loc;
    char *output;
    src_loc output_loc;
    bool broken;     /* a parse error: its target still counts as used, nothing else applies */
    size_t nmatched; /* checker: the rules it names */
} ast_tune;

/* The ruleset's tunes and disables, in file order (ast_ruleset.tuning). */
typedef struct ast_tuning {
    ast_tune **tunes;
    size_t ntunes;
} ast_tuning;

/* What tuning a rule carries (ast_rule.tuning; NULL when none). */
typedef struct ast_rule_tuning {
    ast_sev_case *cases; /* its own severity clause, in order */
    size_t ncases;
    src_loc cases_loc;
    /* Set by the checker: the tunes that name the rule, in file order,
     * and which of them decides each setting (the last one that sets it). */
    const ast_tune **tunes;
    size_t ntunes;
    const ast_tune *severity_by, *throttle_by, *output_by, *disabled_by;
} ast_rule_tuning;

/* ---- parser_tune.c (the parser's state is parser_int.h's) ---- */
struct parser;
/* `tune ...` or `disable ...` at the current token (the keyword). */
void sd_parse_tune(struct parser *p);
/* A rule's `severity { ... }` clause at the current token (`severity`). */
bool sd_parse_severity_clause(struct parser *p, ast_rule *r);
/* Days since 1970-01-01 of "YYYY-MM-DD" (a real date, years 1970-9999); false when it is none. */
bool sd_tune_parse_date(const char *s, size_t n, int64_t *days);
/* The start of day `days` (since 1970-01-01, UTC) in ns; INT64_MAX past what int64 ns can say (2262). */
int64_t sd_tune_day_ns(int64_t days);
void sd_ast_tuning_free(ast_tuning *t);
void sd_ast_rule_tuning_free(ast_rule_tuning *t);

/* ---- check_tune.c ---- */
/* What the checker lends for conditions and keys (check.c's own checks,
 * so names resolve and are counted used exactly as in rules). */
typedef struct tune_check_hooks {
    void (*cond)(void *user, ast_cond *c);
    void (*keys)(void *user, ast_key *keys, size_t n);
    void *user;
} tune_check_hooks;
/* Resolves every tune's target and applies the tunes to the rules in file
 * order; checks severity clauses, exceptions, dates and the tunes' keys.
 * Returns the number of errors (diagnostics in d). */
size_t sd_check_tuning(ast_ruleset *rs, diag_list *d, const tune_check_hooks *hooks);

/* ---- compile_tune.c (the compiler's state is compile_int.h's) ---- */
/* The rule as its tunes leave it: *view is r with the deciding tunes'
 * throttle and output in place of its own; returns view (or r untouched). */
const ast_rule *sd_tune_rule_view(const ast_rule *r, ast_rule *view);
struct compiler;
struct vm_rule;
/* Rule r's exceptions, severity cases, tuned severity and disable, into out. */
void sd_compile_rule_tuning(struct compiler *c, const ast_rule *r, struct vm_rule *out);
/* The explanation of every tune, into the program (program.tuning_text). */
void sd_compile_tuning_text(struct compiler *c);

#endif
