/* ast.h — the syntax tree of a ruleset, as the parser builds it.
 *
 * The parser fills it, the checker (check.c) resolves names and types in
 * place, the compiler turns it into bytecode. Every node carries where it came
 * from (file index, line, column; 1-based) so any later stage can report
 * `file:line:col: message`. All strings are owned by the tree; ast_free()
 * releases everything.
 */
#ifndef SECDET_LANG_AST_H
#define SECDET_LANG_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/path.h"

typedef struct src_loc {
    uint32_t file; /* index into ast_ruleset.files */
    uint32_t line, col;
} src_loc;

typedef enum {
    LIT_NULL,
    LIT_BOOL,
    LIT_NUM,
    LIT_STR,
    LIT_REGEX,    /* str = pattern, flags = "imsx" subset */
    LIT_DURATION, /* num = milliseconds */
    LIT_IDENT,    /* a bare word in meta (severity = high) */
    LIT_LIST,     /* items */
} lit_kind;

typedef struct ast_lit {
    lit_kind kind;
    src_loc loc;
    bool b;
    double num;
    char *str; /* decoded (escapes processed), owned; may hold no NUL */
    size_t len;
    char flags[5];
    struct ast_lit *items; /* LIT_LIST */
    size_t nitems;
} ast_lit;

typedef enum { FN_LOWER, FN_UPPER, FN_LEN, FN_COALESCE, FN_B64DECODE, FN_TEXT, FN_HOUR, FN_WEEKDAY, FN_COUNT } ast_fn;
/* The functions' names, in ast_fn order. */
extern const char *const sd_ast_fn_names[FN_COUNT];
/* The names joined for messages: "lower, upper, ...". */
#define AST_FN_LIST "lower, upper, len, coalesce, b64decode, text, hour, weekday"

typedef enum { EXPR_PATH, EXPR_LIT, EXPR_CALL } expr_kind;

typedef struct ast_expr {
    expr_kind kind;
    src_loc loc;
    sd_path path; /* EXPR_PATH */
    bool rooted;  /* EXPR_PATH written `$.x`: the event's root inside any/all */
    ast_lit lit;  /* EXPR_LIT: null/bool/num/str only */
    ast_fn fn;    /* EXPR_CALL */
    struct ast_expr **args;
    size_t nargs;
} ast_expr;

typedef enum {
    COND_OR,
    COND_AND,
    COND_NOT,
    COND_CMP,     /* op, lhs, rhs */
    COND_IN,      /* lhs in list literal (list) or list name (name) */
    COND_CIDR,    /* lhs in cidr(list of strings) */
    COND_LIKE,    /* lhs like pattern (lit, LIT_STR) */
    COND_MATCHES, /* lhs matches regex (lit, LIT_REGEX) */
    COND_EXISTS,  /* exists lhs */
    COND_NAME,    /* a macro or rule name (name); resolved by the checker */
    COND_ANY,     /* any lhs (a path ending in [*]) (l): some element satisfies l */
    COND_ALL,     /* all lhs (l): there are elements and every one satisfies l */
    COND_STRS,    /* lhs op a list (lit, LIT_LIST of strings, or a list's name): any member holds */
} cond_kind;

typedef enum {
    CMP_EQ,
    CMP_NE,
    CMP_LT,
    CMP_LE,
    CMP_GT,
    CMP_GE,
    CMP_CONTAINS,
    CMP_STARTSWITH,
    CMP_ENDSWITH,
    CMP_FEQ,       /* =~ : equal under Unicode simple case folding */
    CMP_ICONTAINS, /* the same three under that folding */
    CMP_ISTARTSWITH,
    CMP_IENDSWITH,
    CMP_LIKE, /* COND_STRS only: a glob member (`like [..]`) */
    CMP_ILIKE,
} cmp_op;

struct ast_macro;
struct ast_rule;

typedef struct ast_cond {
    cond_kind kind;
    src_loc loc;            /* of the operator or first token */
    struct ast_cond *l, *r; /* OR/AND: l, r; NOT: l */
    cmp_op op;
    ast_expr *lhs, *rhs;
    ast_lit lit; /* IN (LIT_LIST), CIDR (LIT_LIST of LIT_STR), LIKE, MATCHES, STRS */
    char *name;  /* COND_NAME, COND_IN / COND_STRS with a list name */
    bool fold;   /* COND_LIKE: ilike */
    /* set by the checker for COND_NAME: exactly one is non-NULL */
    struct ast_macro *macro;
    struct ast_rule *rule;
    /* set by the checker for COND_IN and COND_STRS with a list name */
    struct ast_list *list;
} ast_cond;

typedef struct ast_list {
    char *name;
    src_loc loc;
    ast_lit items; /* LIT_LIST */
    bool used;
    bool broken; /* a stub: its definition had a parse error (see parser.c) */
} ast_list;

typedef struct ast_macro {
    char *name;
    src_loc loc;
    ast_cond *cond;
    bool used;
    bool broken;  /* a stub: its definition had a parse error (see parser.c) */
    int visiting; /* checker: cycle detection */
} ast_macro;

typedef struct ast_meta {
    char *key;
    src_loc loc;
    ast_lit value;
} ast_meta;

typedef enum { AGG_NONE, AGG_COUNT, AGG_DISTINCT, AGG_SEQUENCE, AGG_SUM } agg_kind;

typedef struct ast_key {
    ast_expr *expr;
    char *text; /* normalised expression text, e.g. lower(coalesce(.a, .b)) */
} ast_key;

typedef struct ast_step {
    char *name;
    src_loc loc;
    ast_cond *cond;
    bool negated; /* `not name: ...`: an absence */
    ast_key *by;  /* per-step keys */
    size_t nby;
    bool has_count; /* `count >= N [within DUR]` */
    src_loc count_loc;
    bool count_gt;             /* `count > N` */
    double count;              /* N as written */
    int64_t within_ms;         /* 0: the sequence's */
    struct ast_rule *agg_rule; /* checker: the aggregation rule the step names, if it is one */
} ast_step;

typedef struct ast_rule {
    char *name;
    src_loc loc;
    ast_meta *meta;
    size_t nmeta;
    char **on; /* source names */
    src_loc *on_loc;
    size_t non;
    ast_cond *where; /* NULL for a sequence rule */

    agg_kind agg;
    src_loc agg_loc;
    bool agg_gt;      /* count > N (stored as threshold N+1 by the checker) */
    double threshold; /* N as written */
    int64_t within_ms;
    ast_expr *distinct; /* AGG_DISTINCT, AGG_SUM: the value P */
    bool unordered;     /* sequence unordered */
    ast_key *by;
    size_t nby;
    ast_step *steps; /* AGG_SEQUENCE */
    size_t nsteps;

    bool has_throttle;
    src_loc throttle_loc;
    int64_t throttle_ms;
    ast_key *throttle_by;
    size_t nthrottle_by;

    char *output; /* raw template text (escapes of the string literal processed) */
    src_loc output_loc;
    bool is_private;
    bool used;    /* named by another rule */
    bool broken;  /* a stub: its definition had a parse error (see parser.c) */
    int visiting; /* checker: cycle detection through rule references */
    /* lang/tune.h: its severity cases, the tunes naming it; NULL when none */
    struct ast_rule_tuning *tuning;
} ast_rule;

typedef struct ast_ruleset {
    char **files; /* file names, index = src_loc.file */
    size_t nfiles;
    ast_list **lists;
    size_t nlists;
    ast_macro **macros;
    size_t nmacros;
    ast_rule **rules;
    size_t nrules;
    /* lang/tune.h: the tune and disable declarations; NULL when none */
    struct ast_tuning *tuning;
} ast_ruleset;

void sd_ast_ruleset_init(ast_ruleset *rs);
void sd_ast_ruleset_free(ast_ruleset *rs);
/* Adds a file name, returns its index. */
uint32_t sd_ast_add_file(ast_ruleset *rs, const char *name);
void sd_ast_lit_free(ast_lit *l);
void sd_ast_expr_free(ast_expr *e);
void sd_ast_cond_free(ast_cond *c);
/* Frees a rule not (or no longer) held by a ruleset, and everything it owns. */
void sd_ast_rule_free(ast_rule *r);
/* Normalised text of an expression: no spaces but one after each comma. */
char *sd_ast_expr_text(const ast_expr *e);

#endif
