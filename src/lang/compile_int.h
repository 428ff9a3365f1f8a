/* compile_int.h — the compiler's working state, shared by compile*.c only.
 *
 * compile.c emits code for conditions and expressions; compile_pool.c interns
 * paths and constants and builds sets; compile_rule.c fills each rule's
 * metadata and template; compile_index.c builds the dispatch index.
 */
#ifndef SECDET_LANG_COMPILE_INT_H
#define SECDET_LANG_COMPILE_INT_H

#include "lang/compile.h"

typedef struct intern_tab {
    uint32_t *slots; /* id + 1, 0 = empty */
    uint32_t cap;    /* power of two */
    uint32_t count;
} intern_tab;

typedef struct compiler {
    const ast_ruleset *rs;
    diag_list *d;
    program *p;
    size_t errors;
    uint32_t cap_code, cap_consts, cap_sets, cap_cidrs, cap_globs, cap_regexes, cap_paths, cap_sources;
    uint32_t cap_epaths, cap_strs;
    intern_tab path_tab, const_tab;
    /* per program being emitted */
    uint32_t cur_file;
    uint32_t next_reg, max_reg;
    uint32_t elem; /* any/all bodies the code being emitted is inside */
    /* The leading conjunct of the where being compiled, and where its code ends. */
    const struct ast_cond *lead;
    uint32_t lead_end;
    bool oom;
    bool after_errors; /* the checker failed: compile only to find more errors */
} compiler;

#define CERR(c, loc, ...)                                                                                              \
    do {                                                                                                               \
        (c)->errors++;                                                                                                 \
        sd_diag_add((c)->d, DIAG_ERROR, (loc).file < (c)->rs->nfiles ? (c)->rs->files[(loc).file] : "", (loc).line,    \
                    (loc).col, __VA_ARGS__);                                                                           \
    } while (0)

#define CWARN(c, loc, ...)                                                                                             \
    sd_diag_add((c)->d, DIAG_WARNING, (loc).file < (c)->rs->nfiles ? (c)->rs->files[(loc).file] : "", (loc).line,      \
                (loc).col, __VA_ARGS__)

/* compile_pool.c */
void *sd_compile_grow(void *arr, uint32_t *cap, uint32_t need, size_t elem, bool *oom);
uint32_t sd_pool_path(compiler *c, const sd_path *path);
uint32_t sd_pool_const(compiler *c, const sd_value *v);
uint32_t sd_pool_const_lit(compiler *c, const ast_lit *lit);
uint32_t sd_pool_set(compiler *c, const ast_lit *items, size_t n, bool fold_lower, bool fold_upper);
uint32_t sd_pool_cidr(compiler *c, const ast_lit *items, size_t n);
uint32_t sd_pool_glob(compiler *c, const char *pat, size_t len);
uint32_t sd_pool_regex(compiler *c, const ast_lit *re);
uint32_t sd_pool_source(compiler *c, const char *name);
void sd_pool_free_tabs(compiler *c);

/* compile_guard.c: the literal guards of the rules in no index (after sd_build_index) */
void sd_build_guards(compiler *c);

/* compile.c */
program *sd_compile_ruleset_ex(const ast_ruleset *rs, diag_list *d, bool after_errors);
uint32_t sd_compile_emit(compiler *c, vm_opcode op, uint32_t a, uint32_t b, uint32_t cc, src_loc loc);
uint32_t sd_compile_new_reg(compiler *c, src_loc loc);
/* A register holding the value of e. */
uint32_t sd_compile_expr(compiler *c, const ast_expr *e);
void sd_compile_cond(compiler *c, const ast_cond *x, int depth);
code_span sd_compile_cond_program(compiler *c, const ast_cond *cond, src_loc loc);
code_span sd_compile_value_program(compiler *c, const ast_expr *e);

/* compile_rule.c */
void sd_compile_rule_meta(compiler *c, const ast_rule *r, vm_rule *out);
void sd_compile_template(compiler *c, const ast_rule *r, vm_rule *out);

/* compile_fn.c: what Part 2 of the language adds to expressions and tests. */
uint32_t sd_pool_epath(compiler *c, const sd_path *path);
/* A path's value into dst: from the event, or inside any/all from the element. */
void sd_compile_path(compiler *c, const ast_expr *e, uint32_t dst);
/* b64decode, text, hour, weekday into dst. */
void sd_compile_fn_call(compiler *c, const ast_expr *e, uint32_t dst);
/* A COND_CMP whose op is =~ or an i-form. */
void sd_compile_fold_cmp(compiler *c, const ast_cond *x);
/* COND_STRS, and COND_LIKE with ilike. */
void sd_compile_strs(compiler *c, const ast_cond *x);
/* COND_ANY, COND_ALL. */
void sd_compile_elem(compiler *c, const ast_cond *x, int depth);

/* compile.c: `by` keys as value programs (NULL for none). */
rule_key *sd_compile_keys(compiler *c, const ast_key *keys, size_t n);

/* compile_seq.c: a rule's Part 2 fields (after its steps are compiled). */
void sd_compile_rule_ext(compiler *c, const ast_rule *r, vm_rule *out);

/* compile_index.c */
void sd_build_index(compiler *c);
/* The conjunct of x whose code comes first: x itself unless x is an `and`. */
const ast_cond *sd_lead_conjunct(const ast_cond *x);

#endif
