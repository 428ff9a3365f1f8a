/* compile.c — checked AST → bytecode.
 *
 * Conditions compile to short-circuit code around one flag register `f`:
 *   a and b:  <a>  JMPF end  <b>  end:
 *   a or b:   <a>  JMPT end  <b>  end:
 *   not a:    <a>  NOT
 * Jumps only go forward, so every program terminates. Expressions load into
 * registers (value lists); a comparison with a literal uses the constant
 * forms (EQK, INSET, ...) so the common `.eventName == "X"` is one load and
 * one test. Macros are inlined at each use; a rule named in a condition is a
 * RULE instruction whose result the VM memoizes per event.
 * Some tests are rewritten into cheaper equivalents: `lower(P) == "x"` into
 * a case-insensitive EQK_CI (no allocation), globs without wildcards into
 * equality, `x*` / `*x` / `*x*` into startswith / endswith / contains.
 */
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "lang/lexer.h"
#include "lang/parser.h"
#include "lang/tune.h"
#include "util/limits.h"
#include "vm/prefilter.h"

uint32_t sd_compile_emit(compiler *c, vm_opcode op, uint32_t a, uint32_t b, uint32_t cc, src_loc loc) {
    program *p = c->p;
    uint32_t cap = c->cap_code;
    void *code = sd_compile_grow(p->code, &cap, p->ncode + 1, sizeof *p->code, &c->oom);
    if (!code) return 0;
    p->code = code;
    cap = c->cap_code;
    void *lines = sd_compile_grow(p->lines, &cap, p->ncode + 1, sizeof *p->lines, &c->oom);
    if (!lines) return 0;
    p->lines = lines;
    cap = c->cap_code;
    void *files = sd_compile_grow(p->files, &cap, p->ncode + 1, sizeof *p->files, &c->oom);
    if (!files) return 0;
    p->files = files;
    c->cap_code = cap;
    p->code[p->ncode] = (vm_insn){.op = (uint8_t)op, .a = (uint8_t)a, .b = (uint16_t)b, .c = cc};
    p->lines[p->ncode] = loc.line;
    p->files[p->ncode] = loc.file;
    return p->ncode++;
}

static void patch(compiler *c, uint32_t at) {
    if (!c->oom) c->p->code[at].c = c->p->ncode;
}

static uint32_t new_reg(compiler *c, src_loc loc) {
    if (c->next_reg >= LIMIT_VM_REGS) {
        if (c->next_reg == LIMIT_VM_REGS) CERR(c, loc, "expression too complex: more than %d registers", LIMIT_VM_REGS);
        c->next_reg = LIMIT_VM_REGS + 1;
        return 0;
    }
    uint32_t r = c->next_reg++;
    if (c->next_reg > c->max_reg) c->max_reg = c->next_reg;
    return r;
}

/* ---- expressions -------------------------------------------------------- */

/* Compiles e so that its value ends up in register dst. */
static void compile_into(compiler *c, const ast_expr *e, uint32_t dst) {
    switch (e->kind) {
    case EXPR_PATH: sd_compile_path(c, e, dst); break;
    case EXPR_LIT: sd_compile_emit(c, OP_LOADK, dst, 0, sd_pool_const_lit(c, &e->lit), e->loc); break;
    case EXPR_CALL:
        if (e->fn >= FN_B64DECODE) {
            sd_compile_fn_call(c, e, dst);
        } else if (e->fn == FN_COALESCE) {
            /* COALESCE reads consecutive registers: reserve them first */
            uint32_t first = c->next_reg;
            for (size_t i = 0; i < e->nargs; i++) new_reg(c, e->loc);
            for (size_t i = 0; i < e->nargs; i++) compile_into(c, e->args[i], first + (uint32_t)i);
            sd_compile_emit(c, OP_COALESCE, dst, first, (uint32_t)e->nargs, e->loc);
        } else {
            uint32_t src = new_reg(c, e->loc);
            compile_into(c, e->args[0], src);
            vm_opcode op = e->fn == FN_LOWER ? OP_LOWER : e->fn == FN_UPPER ? OP_UPPER : OP_LEN;
            sd_compile_emit(c, op, dst, src, 0, e->loc);
        }
        break;
    }
}

static uint32_t compile_expr(compiler *c, const ast_expr *e) {
    uint32_t r = new_reg(c, e->loc);
    compile_into(c, e, r);
    return r;
}

/* For compile_fn.c (compile_int.h). */
uint32_t sd_compile_new_reg(compiler *c, src_loc loc) { return new_reg(c, loc); }
uint32_t sd_compile_expr(compiler *c, const ast_expr *e) { return compile_expr(c, e); }

/* ---- conditions --------------------------------------------------------- */

static void compile_cond(compiler *c, const ast_cond *x, int depth);
void sd_compile_cond(compiler *c, const ast_cond *x, int depth) { compile_cond(c, x, depth); }

static bool is_fold_call(const ast_expr *e, ast_fn fn) { return e->kind == EXPR_CALL && e->fn == fn && e->nargs == 1; }

/* Whether folding s changes it (then lower(P) == s can never hold). */
static bool changed_by_fold(const char *s, size_t n, bool lower) {
    for (size_t i = 0; i < n; i++) {
        if (lower && s[i] >= 'A' && s[i] <= 'Z') return true;
        if (!lower && s[i] >= 'a' && s[i] <= 'z') return true;
    }
    return false;
}

static void compile_eq(compiler *c, const ast_expr *lhs, const ast_expr *rhs, src_loc loc) {
    if (lhs->kind == EXPR_LIT && rhs->kind != EXPR_LIT) {
        const ast_expr *t = lhs;
        lhs = rhs;
        rhs = t;
    }
    if (rhs->kind == EXPR_LIT) {
        bool lower = is_fold_call(lhs, FN_LOWER), upper = is_fold_call(lhs, FN_UPPER);
        if ((lower || upper) && rhs->lit.kind == LIT_STR) {
            if (changed_by_fold(rhs->lit.str, rhs->lit.len, lower)) {
                CWARN(c, loc, "this test can never hold: %s() never yields \"%s\"", lower ? "lower" : "upper",
                      rhs->lit.str);
                sd_compile_emit(c, OP_SETF, 0, 0, 0, loc);
                return;
            }
            uint32_t r = compile_expr(c, lhs->args[0]);
            sd_compile_emit(c, OP_EQK_CI, r, 0, sd_pool_const_lit(c, &rhs->lit), loc);
            return;
        }
        uint32_t r = compile_expr(c, lhs);
        sd_compile_emit(c, OP_EQK, r, 0, sd_pool_const_lit(c, &rhs->lit), loc);
        return;
    }
    uint32_t a = compile_expr(c, lhs), b = compile_expr(c, rhs);
    sd_compile_emit(c, OP_EQ, a, b, 0, loc);
}

static void compile_cmp(compiler *c, const ast_cond *x) {
    const ast_expr *lhs = x->lhs, *rhs = x->rhs;
    cmp_op op = x->op;
    if (op >= CMP_FEQ) {
        sd_compile_fold_cmp(c, x);
        return;
    }
    if (op == CMP_EQ || op == CMP_NE) {
        compile_eq(c, lhs, rhs, x->loc);
        if (op == CMP_NE) sd_compile_emit(c, OP_NOT, 0, 0, 0, x->loc);
        return;
    }
    uint32_t a = compile_expr(c, lhs), b = compile_expr(c, rhs);
    static const vm_opcode ops[] = {
        [CMP_LT] = OP_LT,
        [CMP_LE] = OP_LE,
        [CMP_GT] = OP_GT,
        [CMP_GE] = OP_GE,
        [CMP_CONTAINS] = OP_CONTAINS,
        [CMP_STARTSWITH] = OP_STARTSWITH,
        [CMP_ENDSWITH] = OP_ENDSWITH,
    };
    sd_compile_emit(c, ops[op], a, b, 0, x->loc);
}

static void compile_in(compiler *c, const ast_cond *x) {
    const ast_lit *items = x->list ? &x->list->items : &x->lit;
    if (items->nitems == 0) {
        sd_compile_emit(c, OP_SETF, 0, 0, 0, x->loc);
        return;
    }
    bool lower = is_fold_call(x->lhs, FN_LOWER), upper = is_fold_call(x->lhs, FN_UPPER);
    uint32_t r = compile_expr(c, x->lhs);
    if (items->nitems == 1 && !lower && !upper) {
        sd_compile_emit(c, OP_EQK, r, 0, sd_pool_const_lit(c, &items->items[0]), x->loc);
        return;
    }
    sd_compile_emit(c, OP_INSET, r, 0, sd_pool_set(c, items->items, items->nitems, lower, upper), x->loc);
}

/* A glob with `*` only at its ends and no `?` is a plain string test. */
static void compile_like(compiler *c, const ast_cond *x) {
    const char *s = x->lit.str;
    size_t n = x->lit.len;
    bool lead = n > 0 && s[0] == '*';
    bool trail = n > 1 && s[n - 1] == '*';
    const char *mid = s + lead;
    size_t mlen = n - lead - trail;
    bool plain = n > 0 && memchr(mid, '*', mlen) == NULL && memchr(mid, '?', mlen) == NULL;
    uint32_t r = compile_expr(c, x->lhs);
    if (!plain || (lead && mlen == 0)) {
        sd_compile_emit(c, OP_LIKE, r, 0, sd_pool_glob(c, s, n), x->loc);
        return;
    }
    sd_value v = {.type = SD_STR, .str = mid, .len = mlen};
    uint32_t k = sd_pool_const(c, &v);
    if (!lead && !trail) {
        sd_compile_emit(c, OP_EQK, r, 0, k, x->loc);
        return;
    }
    uint32_t kr = new_reg(c, x->loc);
    sd_compile_emit(c, OP_LOADK, kr, 0, k, x->loc);
    vm_opcode op = lead && trail ? OP_CONTAINS : lead ? OP_ENDSWITH : OP_STARTSWITH;
    sd_compile_emit(c, op, r, kr, 0, x->loc);
}

static uint32_t rule_index(const compiler *c, const ast_rule *r) {
    for (size_t i = 0; i < c->rs->nrules; i++)
        if (c->rs->rules[i] == r) return (uint32_t)i;
    return 0;
}

static void compile_cond(compiler *c, const ast_cond *x, int depth) {
    if (depth > LIMIT_COMPILE_DEPTH) {
        /* after checker errors this is a macro cycle, already reported */
        if (!c->after_errors) CERR(c, x->loc, "condition too deeply nested");
        return;
    }
    uint32_t mark = c->next_reg; /* registers of a test are temporaries */
    switch (x->kind) {
    case COND_AND:
    case COND_OR: {
        compile_cond(c, x->l, depth + 1);
        uint32_t j = sd_compile_emit(c, x->kind == COND_AND ? OP_JMPF : OP_JMPT, 0, 0, 0, x->loc);
        compile_cond(c, x->r, depth + 1);
        patch(c, j);
        break;
    }
    case COND_NOT:
        compile_cond(c, x->l, depth + 1);
        sd_compile_emit(c, OP_NOT, 0, 0, 0, x->loc);
        break;
    case COND_CMP: compile_cmp(c, x); break;
    case COND_IN: compile_in(c, x); break;
    case COND_CIDR: {
        uint32_t r = compile_expr(c, x->lhs);
        sd_compile_emit(c, OP_CIDR, r, 0, sd_pool_cidr(c, x->lit.items, x->lit.nitems), x->loc);
        break;
    }
    case COND_LIKE:
        if (x->fold)
            sd_compile_strs(c, x);
        else
            compile_like(c, x);
        break;
    case COND_STRS: sd_compile_strs(c, x); break;
    case COND_ANY:
    case COND_ALL: sd_compile_elem(c, x, depth); break;
    case COND_MATCHES: {
        uint32_t r = compile_expr(c, x->lhs);
        sd_compile_emit(c, OP_MATCH, r, 0, sd_pool_regex(c, &x->lit), x->loc);
        break;
    }
    case COND_EXISTS: {
        uint32_t r = compile_expr(c, x->lhs);
        sd_compile_emit(c, OP_EXISTS, r, 0, 0, x->loc);
        break;
    }
    case COND_NAME:
        if (x->macro)
            compile_cond(c, x->macro->cond, depth + 1);
        else if (x->rule)
            sd_compile_emit(c, OP_RULE, 0, 0, rule_index(c, x->rule), x->loc);
        break;
    }
    c->next_reg = mark;
    if (x == c->lead) c->lead_end = c->p->ncode;
}

code_span sd_compile_cond_program(compiler *c, const ast_cond *cond, src_loc loc) {
    code_span s = {.start = c->p->ncode};
    c->next_reg = 0;
    compile_cond(c, cond, 0);
    sd_compile_emit(c, OP_RET, 0, 0, 0, loc);
    s.len = c->p->ncode - s.start;
    return s;
}

code_span sd_compile_value_program(compiler *c, const ast_expr *e) {
    code_span s = {.start = c->p->ncode};
    c->next_reg = 0;
    uint32_t r = compile_expr(c, e);
    sd_compile_emit(c, OP_RETV, r, 0, 0, e->loc);
    s.len = c->p->ncode - s.start;
    return s;
}

/* ---- rules and the whole ruleset ---------------------------------------- */

static rule_key *compile_keys(compiler *c, const ast_key *keys, size_t n) { return sd_compile_keys(c, keys, n); }

rule_key *sd_compile_keys(compiler *c, const ast_key *keys, size_t n) {
    if (!n) return NULL;
    rule_key *out = calloc(n, sizeof *out);
    if (!out) {
        c->oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[i].code = sd_compile_value_program(c, keys[i].expr);
        out[i].text = strdup(keys[i].text ? keys[i].text : "");
    }
    return out;
}

static void compile_one_rule(compiler *c, const ast_rule *r, vm_rule *out) {
    c->max_reg = 0;
    out->name = strdup(r->name);
    out->file = strdup(r->loc.file < c->rs->nfiles ? c->rs->files[r->loc.file] : "");
    out->line = r->loc.line;
    out->is_private = r->is_private;
    sd_compile_rule_meta(c, r, out);
    if (r->non) {
        out->sources = calloc(r->non, sizeof *out->sources);
        if (!out->sources) c->oom = true;
        for (size_t i = 0; out->sources && i < r->non; i++) out->sources[out->nsources++] = sd_pool_source(c, r->on[i]);
    }
    if (r->where) {
        /* The code of the leftmost conjunct comes first: the index may settle it (sd_build_index). */
        c->lead = sd_lead_conjunct(r->where);
        c->lead_end = 0;
        out->where = sd_compile_cond_program(c, r->where, r->loc);
        if (c->lead_end > out->where.start) out->settled = c->lead_end - out->where.start;
        c->lead = NULL;
    }
    static const rule_agg aggs[] = {[AGG_NONE] = RAGG_NONE,
                                    [AGG_COUNT] = RAGG_COUNT,
                                    [AGG_DISTINCT] = RAGG_DISTINCT,
                                    [AGG_SEQUENCE] = RAGG_SEQUENCE,
                                    [AGG_SUM] = RAGG_SUM};
    out->agg = aggs[r->agg];
    if (r->agg != AGG_SUM) out->threshold = (uint64_t)r->threshold + (r->agg_gt ? 1 : 0); /* sum: a double */
    out->within_ms = r->within_ms;
    if ((r->agg == AGG_DISTINCT || r->agg == AGG_SUM) && r->distinct)
        out->distinct = sd_compile_value_program(c, r->distinct);
    out->by = compile_keys(c, r->by, r->nby);
    out->nby = out->by ? (uint32_t)r->nby : 0;
    if (r->nsteps) {
        out->steps = calloc(r->nsteps, sizeof *out->steps);
        if (!out->steps) c->oom = true;
        for (size_t i = 0; out->steps && i < r->nsteps; i++) {
            out->steps[i].name = strdup(r->steps[i].name);
            out->steps[i].code = sd_compile_cond_program(c, r->steps[i].cond, r->steps[i].loc);
            out->nsteps++;
        }
    }
    sd_compile_rule_ext(c, r, out); /* Part 2: steps' keys and counts, unordered, sum */
    out->has_throttle = r->has_throttle;
    out->throttle_ms = r->throttle_ms;
    out->throttle_by = compile_keys(c, r->throttle_by, r->nthrottle_by);
    out->nthrottle_by = out->throttle_by ? (uint32_t)r->nthrottle_by : 0;
    sd_compile_template(c, r, out);
    sd_compile_rule_tuning(c, r, out);
    out->nregs = c->max_reg;
    if (c->max_reg > c->p->max_regs) c->p->max_regs = c->max_reg;
}

program *sd_compile_ruleset(const ast_ruleset *rs, diag_list *d) { return sd_compile_ruleset_ex(rs, d, false); }

program *sd_compile_ruleset_ex(const ast_ruleset *rs, diag_list *d, bool after_errors) {
    compiler c = {.rs = rs, .d = d, .after_errors = after_errors};
    c.p = calloc(1, sizeof *c.p);
    if (!c.p) goto oom;
    c.p->file_names = calloc(rs->nfiles ? rs->nfiles : 1, sizeof *c.p->file_names);
    c.p->rules = calloc(rs->nrules ? rs->nrules : 1, sizeof *c.p->rules);
    if (!c.p->file_names || !c.p->rules) goto oom;
    for (size_t i = 0; i < rs->nfiles; i++) c.p->file_names[c.p->nfiles++] = strdup(rs->files[i]);
    for (size_t i = 0; i < rs->nrules && !c.oom; i++) {
        c.p->nrules++; /* counted first, so sd_program_free releases a half-built rule */
        ast_rule view;
        compile_one_rule(&c, sd_tune_rule_view(rs->rules[i], &view), &c.p->rules[i]);
    }
    if (!c.oom) sd_compile_tuning_text(&c);
    if (!c.oom) sd_build_index(&c);
    if (!c.oom) sd_build_guards(&c);
    for (uint32_t t = 0; t < 2 && !c.oom; t++)
        if (sd_lits_finish(&c.p->lits[t], t == 1) != 0 ||
            sd_lits_index_guards(&c.p->lits[t], t, c.p->guards, c.p->nguards) != 0)
            c.oom = true;
    if (c.p->max_regs == 0) c.p->max_regs = 1;
    sd_pool_free_tabs(&c);
    if (c.oom) goto oom;
    if (c.errors) {
        sd_program_free(c.p);
        return NULL;
    }
    return c.p;
oom:
    sd_diag_add(d, DIAG_ERROR, "", 0, 0, "out of memory while compiling rules");
    if (c.p) {
        sd_pool_free_tabs(&c);
        sd_program_free(c.p);
    }
    return NULL;
}

/* The sources, for sd_check_ruleset's word counts after parse errors. */
typedef struct mention_src {
    const compile_input *files;
    size_t nfiles;
} mention_src;

/* Counts `word` among the identifier tokens of every source: a plain lexing
 * pass, run only after parse errors and only for names nothing parsed uses. */
static size_t count_mentions(void *user, const char *word) {
    const mention_src *m = user;
    size_t n = 0;
    for (size_t i = 0; i < m->nfiles; i++) {
        lexer lx;
        lex_token t;
        sd_lexer_init(&lx, m->files[i].text, m->files[i].len);
        size_t last = SIZE_MAX;
        for (sd_lexer_next(&lx, &t); t.kind != TOK_EOF && lx.pos != last; sd_lexer_next(&lx, &t)) {
            last = lx.pos;
            if (t.kind == TOK_IDENT && t.str && strcmp(t.str, word) == 0) n++;
            sd_lexer_token_free(&t);
        }
        sd_lexer_token_free(&t);
    }
    return n;
}

/* Frees the stubs of declarations that failed to parse (nothing links to
 * them once checked), so the compiler sees only whole declarations. */
static void drop_broken(ast_ruleset *rs) {
    size_t k = 0;
    for (size_t i = 0; i < rs->nrules; i++) {
        if (rs->rules[i]->broken)
            sd_ast_rule_free(rs->rules[i]);
        else
            rs->rules[k++] = rs->rules[i];
    }
    rs->nrules = k;
    k = 0;
    for (size_t i = 0; i < rs->nmacros; i++) {
        if (rs->macros[i]->broken) {
            free(rs->macros[i]->name);
            free(rs->macros[i]);
        } else {
            rs->macros[k++] = rs->macros[i];
        }
    }
    rs->nmacros = k;
    k = 0;
    for (size_t i = 0; i < rs->nlists; i++) {
        if (rs->lists[i]->broken) {
            free(rs->lists[i]->name);
            sd_ast_lit_free(&rs->lists[i]->items);
            free(rs->lists[i]);
        } else {
            rs->lists[k++] = rs->lists[i];
        }
    }
    rs->nlists = k;
}

program *sd_compile_sources(const compile_input *files, size_t nfiles, const compile_limits *lim, diag_list *d) {
    size_t max = lim && lim->max_source_bytes ? lim->max_source_bytes : (size_t)16 << 20;
    ast_ruleset rs;
    sd_ast_ruleset_init(&rs);
    size_t errors = 0, first_diag = d->count;
    for (size_t i = 0; i < nfiles; i++) {
        if (files[i].len > max) {
            sd_diag_add(d, DIAG_ERROR, files[i].name, 0, 0, "rule file is %zu bytes, larger than the limit of %zu",
                        files[i].len, max);
            errors++;
            continue;
        }
        errors += sd_parse_source(&rs, files[i].name, files[i].text, files[i].len, d);
    }
    /* Check and compile even after errors, to report every error and warning
     * the rest of the ruleset has (the compiler alone sees regexes and
     * templates); then drop the result. */
    mention_src ms = {files, nfiles};
    errors += sd_check_ruleset(&rs, d, errors ? count_mentions : NULL, &ms);
    sd_check_known_fields(&rs, lim ? lim->log_types : NULL, d);
    drop_broken(&rs);
    program *p = sd_compile_ruleset_ex(&rs, d, errors > 0);
    if (errors) {
        sd_program_free(p);
        p = NULL;
    }
    sd_ast_ruleset_free(&rs);
    /* Reported in source order: by file as given, line, column. */
    const char **names = malloc((nfiles ? nfiles : 1) * sizeof *names);
    for (size_t i = 0; names && i < nfiles; i++) names[i] = files[i].name;
    if (names) sd_diag_sort(d, first_diag, names, nfiles);
    free(names);
    return p;
}
