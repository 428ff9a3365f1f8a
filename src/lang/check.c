/* check.c — names and types of a parsed ruleset.
 *
 * The checker runs over the whole ruleset (every file loaded into one engine
 * shares one namespace) and resolves every name in place: a COND_NAME becomes
 * a link to its macro or rule, `in NAME` a link to its list. It reports every
 * problem it finds, each with file:line:col, so that one `secdet check` shows
 * all of them: duplicate names (naming both places), unknown names, macro and
 * rule-reference cycles, misuse of aggregation rules in conditions, bad meta,
 * bad aggregation parameters, `[*]` in group keys, literal operands of the
 * wrong type, bad CIDRs. Regexes and templates are checked where they are
 * compiled (compile.c) because that is where PCRE2 and the path table are.
 * Warnings: unused lists and macros, comparisons that can never hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/check_int.h"
#include "lang/compile.h"
#include "lang/tune.h"
#include "util/hash.h"
#include "util/severity.h"
#include "util/suggest.h"
#include "vm/vm.h"
#include "util/limits.h"

static const char *kind_name(sym_kind k) { return k == SYM_LIST ? "list" : k == SYM_MACRO ? "macro" : "rule"; }

static sym *sym_find(checker *c, const char *name) {
    size_t mask = c->nsyms - 1;
    for (size_t i = hash_bytes(name, strlen(name)) & mask;; i = (i + 1) & mask) {
        if (!c->syms[i].name) return &c->syms[i];
        if (strcmp(c->syms[i].name, name) == 0) return &c->syms[i];
    }
}

static void sym_declare(checker *c, const char *name, sym_kind kind, void *decl, src_loc loc) {
    sym *s = sym_find(c, name);
    if (s->name) {
        ERR(c, loc, "duplicate name '%s': %s here, %s already declared at %s:%u:%u", name, kind_name(kind),
            kind_name(s->kind), check_file_of(c->rs, s->loc), s->loc.line, s->loc.col);
        return;
    }
    s->name = name;
    s->kind = kind;
    s->decl = decl;
    s->loc = loc;
}

static const sym *sym_lookup(checker *c, const char *name) {
    sym *s = sym_find(c, name);
    return s->name ? s : NULL;
}

/* " (did you mean 'x'?)" for the declared name of one of the wanted kinds
 * (a bit each: 1 << SYM_LIST, ...) nearest to `name`, or "". */
static const char *nearest_name(checker *c, const char *name, unsigned kinds, char *out, size_t outsz) {
    suggest s;
    sd_suggest_init(&s, name);
    for (size_t i = 0; i < c->nsyms; i++)
        if (c->syms[i].name && (kinds & (1u << c->syms[i].kind))) sd_suggest_offer(&s, c->syms[i].name);
    out[0] = 0;
    if (sd_suggest_best(&s)) snprintf(out, outsz, " (did you mean '%s'?)", sd_suggest_best(&s));
    return out;
}

/* Whether a declaration counts as used: with parse errors, a name written
 * anywhere beside its declaration may be used by what could not be parsed. */
static bool counts_as_used(const checker *c, const char *name, bool used) {
    return used || (c->mentions && c->mentions(c->mentions_user, name) > 1);
}

/* ---- expressions -------------------------------------------------------- */

static bool expr_has_star(const ast_expr *e) {
    if (e->kind == EXPR_PATH) return e->path.has_star;
    if (e->kind == EXPR_CALL)
        for (size_t i = 0; i < e->nargs; i++)
            if (expr_has_star(e->args[i])) return true;
    return false;
}

static bool expr_has_path(const ast_expr *e) {
    if (e->kind == EXPR_PATH) return true;
    if (e->kind == EXPR_CALL)
        for (size_t i = 0; i < e->nargs; i++)
            if (expr_has_path(e->args[i])) return true;
    return false;
}

static void check_expr(checker *c, const ast_expr *e) {
    if (e->kind != EXPR_CALL) return;
    if (e->fn == FN_HOUR || e->fn == FN_WEEKDAY) {
        sd_check_time_call(c, e);
    } else if (e->fn != FN_COALESCE && e->nargs != 1) {
        ERR(c, e->loc, "%s() takes one argument, found %zu", sd_ast_fn_names[e->fn], e->nargs);
    }
    if (e->fn == FN_COALESCE && e->nargs < 1) ERR(c, e->loc, "coalesce() takes at least one argument");
    for (size_t i = 0; i < e->nargs; i++) check_expr(c, e->args[i]);
}

static const char *lit_kind_name(lit_kind k) {
    switch (k) {
    case LIT_NULL: return "null";
    case LIT_BOOL: return "a boolean";
    case LIT_NUM: return "a number";
    case LIT_STR: return "a string";
    case LIT_REGEX: return "a regex";
    case LIT_DURATION: return "a duration";
    case LIT_IDENT: return "a name";
    case LIT_LIST: return "a list";
    }
    return "a value";
}

const char *sd_check_lit_kind_name(lit_kind k) { return lit_kind_name(k); }

static void check_scalar_list(checker *c, const ast_lit *l) {
    for (size_t i = 0; i < l->nitems; i++) {
        lit_kind k = l->items[i].kind;
        if (k != LIT_NULL && k != LIT_BOOL && k != LIT_NUM && k != LIT_STR)
            ERR(c, l->items[i].loc, "a list holds strings, numbers, booleans or null, found %s", lit_kind_name(k));
    }
}

/* ---- conditions --------------------------------------------------------- */

static void check_cond(checker *c, ast_cond *x, int depth);

/* For check_ext.c (check_int.h). */
void sd_check_cond(checker *c, ast_cond *x, int depth) { check_cond(c, x, depth); }
void sd_check_expr(checker *c, const ast_expr *e) { check_expr(c, e); }
const sym *sd_check_lookup(checker *c, const char *name) { return sym_lookup(c, name); }
const char *sd_check_nearest(checker *c, const char *name, unsigned kinds, char *out, size_t outsz) {
    return nearest_name(c, name, kinds, out, outsz);
}

static void check_macro(checker *c, ast_macro *m, src_loc use, int depth) {
    if (m->visiting == 2 || m->broken) return; /* done, or nothing to check */
    if (m->visiting == 1) {
        ERR(c, use, "macro '%s' refers to itself (a cycle through macros)", m->name);
        return;
    }
    m->visiting = 1;
    check_cond(c, m->cond, depth + 1);
    m->visiting = 2;
}

static void check_rule_ref(checker *c, ast_rule *r, src_loc use, int depth) {
    if (r->agg != AGG_NONE) {
        ERR(c, use,
            "rule '%s' has an aggregation (count, distinct, sum or sequence) and cannot stand in a condition "
            "(a count rule may be a whole sequence step: 'step: %s')",
            r->name, r->name);
        return;
    }
    if (r->visiting == 1) {
        ERR(c, use, "rule '%s' refers to itself (a cycle through rule names)", r->name);
        return;
    }
    if (r->visiting == 2 || !r->where || r->broken) return;
    r->visiting = 1;
    check_cond(c, r->where, depth + 1);
    r->visiting = 2;
}

static void check_name(checker *c, ast_cond *x, int depth) {
    const sym *s = sym_lookup(c, x->name);
    if (!s) {
        char hint[80];
        ERR(c, x->loc, "unknown name '%s': not a macro or rule%s", x->name,
            nearest_name(c, x->name, 1u << SYM_MACRO | 1u << SYM_RULE, hint, sizeof hint));
        return;
    }
    if (s->kind == SYM_LIST) {
        ERR(c, x->loc, "'%s' is a list, not a condition (write '.field in %s')", x->name, x->name);
        return;
    }
    if (s->kind == SYM_MACRO) {
        ast_macro *m = s->decl;
        m->used = true;
        if (m->broken) return; /* its parse error was reported; leave the name unresolved */
        x->macro = m;
        check_macro(c, x->macro, x->loc, depth);
    } else {
        ast_rule *r = s->decl;
        r->used = true;
        if (r->broken) return;
        x->rule = r;
        check_rule_ref(c, x->rule, x->loc, depth);
    }
}

static void check_cmp(checker *c, ast_cond *x) {
    check_expr(c, x->lhs);
    check_expr(c, x->rhs);
    if (!expr_has_path(x->lhs) && !expr_has_path(x->rhs)) WARN(c, x->loc, "comparison of two constants");
    const ast_expr *lits[2] = {x->lhs, x->rhs};
    for (int i = 0; i < 2; i++) {
        if (lits[i]->kind != EXPR_LIT) continue;
        lit_kind k = lits[i]->lit.kind;
        bool ordered = x->op >= CMP_LT && x->op <= CMP_GE;
        bool stringy = x->op >= CMP_CONTAINS; /* and =~, the i-forms */
        if (ordered && k != LIT_NUM && k != LIT_STR)
            ERR(c, lits[i]->loc, "ordering compares numbers or strings, found %s", lit_kind_name(k));
        if (stringy && k != LIT_STR) ERR(c, lits[i]->loc, "this test takes a string, found %s", lit_kind_name(k));
    }
    sd_check_never_cmp(c, x);
}

static void check_cond(checker *c, ast_cond *x, int depth) {
    if (!x) return;
    if (depth > LIMIT_RULE_REF_DEPTH) {
        ERR(c, x->loc, "conditions nested deeper than %d through macros and rules", LIMIT_RULE_REF_DEPTH);
        return;
    }
    switch (x->kind) {
    case COND_OR:
    case COND_AND:
        check_cond(c, x->l, depth);
        check_cond(c, x->r, depth);
        break;
    case COND_NOT: check_cond(c, x->l, depth); break;
    case COND_CMP: check_cmp(c, x); break;
    case COND_IN:
        check_expr(c, x->lhs);
        if (x->name) {
            const sym *s = sym_lookup(c, x->name);
            char hint[80];
            if (!s)
                ERR(c, x->loc, "unknown list '%s'%s", x->name,
                    nearest_name(c, x->name, 1u << SYM_LIST, hint, sizeof hint));
            else if (s->kind != SYM_LIST)
                ERR(c, x->loc, "'%s' is a %s, not a list", x->name, kind_name(s->kind));
            else {
                ast_list *l = s->decl;
                l->used = true;
                if (!l->broken) x->list = l;
            }
        } else {
            check_scalar_list(c, &x->lit);
        }
        break;
    case COND_CIDR:
        check_expr(c, x->lhs);
        for (size_t i = 0; i < x->lit.nitems; i++) {
            const ast_lit *it = &x->lit.items[i];
            cidr_range r;
            if (it->kind != LIT_STR)
                ERR(c, it->loc, "cidr() takes strings, found %s", lit_kind_name(it->kind));
            else if (sd_cidr_parse(it->str, it->len, &r) != 0)
                ERR(c, it->loc, "bad CIDR \"%s\": expected an IPv4 or IPv6 address with an optional /prefix", it->str);
        }
        if (x->lit.nitems == 0) ERR(c, x->loc, "cidr() needs at least one range");
        break;
    case COND_LIKE:
        check_expr(c, x->lhs);
        if (x->lit.kind != LIT_STR)
            ERR(c, x->lit.loc, "like takes a string pattern, found %s", lit_kind_name(x->lit.kind));
        break;
    case COND_MATCHES:
        check_expr(c, x->lhs);
        if (x->lit.kind != LIT_REGEX)
            ERR(c, x->lit.loc, "matches takes a regex /.../, found %s", lit_kind_name(x->lit.kind));
        break;
    case COND_EXISTS:
        check_expr(c, x->lhs);
        if (!expr_has_path(x->lhs)) ERR(c, x->loc, "exists takes a field path");
        break;
    case COND_NAME: check_name(c, x, depth); break;
    case COND_ANY:
    case COND_ALL:
    case COND_STRS: sd_check_cond_ext(c, x, depth); break;
    }
}

/* ---- rules -------------------------------------------------------------- */

static void check_keys(checker *c, ast_key *keys, size_t n, const char *clause) {
    for (size_t i = 0; i < n; i++) {
        check_expr(c, keys[i].expr);
        if (expr_has_star(keys[i].expr))
            ERR(c, keys[i].expr->loc, "a '%s' key may not contain [*]: '%s'", clause, keys[i].text);
        if (!expr_has_path(keys[i].expr))
            ERR(c, keys[i].expr->loc, "a '%s' key must read a field: '%s'", clause, keys[i].text);
    }
}

void sd_check_keys(checker *c, ast_key *keys, size_t n, const char *clause) { check_keys(c, keys, n, clause); }

static void check_meta(checker *c, ast_rule *r) {
    for (size_t i = 0; i < r->nmeta; i++) {
        const ast_meta *m = &r->meta[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->meta[j].key, m->key) == 0)
                ERR(c, m->loc, "meta key '%s' given twice in rule '%s'", m->key, r->name);
        if (strcmp(m->key, "title") == 0 && m->value.kind != LIT_STR) ERR(c, m->value.loc, "title must be a string");
        if (strcmp(m->key, "severity") == 0) {
            bool ok = false;
            suggest near;
            sd_suggest_init(&near, "");
            if (m->value.kind == LIT_IDENT || m->value.kind == LIT_STR) {
                secdet_severity level;
                ok = sd_severity_parse(m->value.str, false, &level);
                sd_suggest_init(&near, m->value.str);
                for (int s = 0; s < SEVERITY_COUNT; s++)
                    sd_suggest_offer(&near, sd_severity_get((secdet_severity)s)->name);
            }
            if (!ok && sd_suggest_best(&near))
                ERR(c, m->value.loc, "severity must be one of " SEVERITY_NAMES " (did you mean '%s'?)",
                    sd_suggest_best(&near));
            else if (!ok)
                ERR(c, m->value.loc, "severity must be one of " SEVERITY_NAMES);
        }
        if (strcmp(m->key, "tags") == 0) {
            bool ok = m->value.kind == LIT_LIST;
            for (size_t k = 0; ok && k < m->value.nitems; k++) ok = m->value.items[k].kind == LIT_STR;
            if (!ok) ERR(c, m->value.loc, "tags must be a list of strings");
        }
    }
}

static void check_aggregation(checker *c, ast_rule *r) {
    if (r->agg == AGG_NONE) {
        if (!r->where) ERR(c, r->loc, "rule '%s' has no 'where' condition", r->name);
        return;
    }
    if (r->agg == AGG_COUNT || r->agg == AGG_DISTINCT) {
        if (!r->where) ERR(c, r->loc, "rule '%s' has no 'where' condition", r->name);
        double n = r->threshold;
        if (n != (double)(long long)n || n < (r->agg_gt ? 0 : 1) || n > 1e9)
            ERR(c, r->agg_loc, "the threshold must be a whole number from %d to 1000000000", r->agg_gt ? 0 : 1);
    }
    if (r->agg == AGG_SEQUENCE) {
        if (r->where) ERR(c, r->agg_loc, "a sequence rule takes its conditions in its steps, not in 'where'");
        if (r->nsteps < 2) ERR(c, r->agg_loc, "a sequence needs at least two steps");
        for (size_t i = 0; i < r->nsteps; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(r->steps[i].name, r->steps[j].name) == 0)
                    ERR(c, r->steps[i].loc, "step '%s' named twice in rule '%s'", r->steps[i].name, r->name);
        sd_check_sequence(c, r); /* the steps (check_ext.c) */
    }
    if (r->agg == AGG_SUM) sd_check_sum(c, r);
    if (r->within_ms <= 0) ERR(c, r->agg_loc, "'within' needs a positive duration");
    if (r->agg == AGG_DISTINCT && r->distinct) {
        check_expr(c, r->distinct);
        if (!expr_has_path(r->distinct)) ERR(c, r->distinct->loc, "distinct counts the values of a field path");
    }
    check_keys(c, r->by, r->nby, "by");
}

static void check_rule(checker *c, ast_rule *r) {
    check_meta(c, r);
    for (size_t i = 0; i < r->non; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->on[i], r->on[j]) == 0) WARN(c, r->on_loc[i], "source '%s' named twice", r->on[i]);
    if (r->where && r->visiting != 2) {
        r->visiting = 1;
        check_cond(c, r->where, 0);
        r->visiting = 2;
    }
    check_aggregation(c, r);
    if (r->has_throttle) {
        if (r->throttle_ms <= 0) ERR(c, r->throttle_loc, "'throttle' needs a positive duration");
        check_keys(c, r->throttle_by, r->nthrottle_by, "throttle by");
    }
}

/* The checks tunes borrow (check_tune.c). */
static void tune_cond(void *c, ast_cond *x) { check_cond(c, x, 0); }
static void tune_keys(void *c, ast_key *keys, size_t n) { check_keys(c, keys, n, "throttle by"); }

static int cmp_decl_loc(const void *pa, const void *pb) {
    const src_loc *a = &((const sym *)pa)->loc, *b = &((const sym *)pb)->loc;
    if (a->file != b->file) return a->file < b->file ? -1 : 1;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    return a->col < b->col ? -1 : a->col > b->col;
}

size_t sd_check_ruleset(ast_ruleset *rs, diag_list *d, check_mentions_fn mentions, void *mentions_user) {
    checker c = {.rs = rs, .d = d, .mentions = mentions, .mentions_user = mentions_user};
    size_t total = rs->nlists + rs->nmacros + rs->nrules;
    c.nsyms = 16;
    while (c.nsyms < total * 2) c.nsyms *= 2;
    c.syms = calloc(c.nsyms, sizeof *c.syms);
    if (!c.syms) {
        sd_diag_add(d, DIAG_ERROR, "", 0, 0, "out of memory");
        return 1;
    }
    /* Declarations in source order, so "already declared at" names the first. */
    sym *decls = calloc(total ? total : 1, sizeof *decls);
    if (!decls) {
        free(c.syms);
        sd_diag_add(d, DIAG_ERROR, "", 0, 0, "out of memory");
        return 1;
    }
    size_t nd = 0;
    for (size_t i = 0; i < rs->nlists; i++)
        decls[nd++] = (sym){rs->lists[i]->name, SYM_LIST, rs->lists[i], rs->lists[i]->loc};
    for (size_t i = 0; i < rs->nmacros; i++)
        decls[nd++] = (sym){rs->macros[i]->name, SYM_MACRO, rs->macros[i], rs->macros[i]->loc};
    for (size_t i = 0; i < rs->nrules; i++)
        decls[nd++] = (sym){rs->rules[i]->name, SYM_RULE, rs->rules[i], rs->rules[i]->loc};
    qsort(decls, nd, sizeof *decls, cmp_decl_loc);
    for (size_t i = 0; i < nd; i++) sym_declare(&c, decls[i].name, decls[i].kind, decls[i].decl, decls[i].loc);
    free(decls);

    for (size_t i = 0; i < rs->nlists; i++) check_scalar_list(&c, &rs->lists[i]->items);
    for (size_t i = 0; i < rs->nmacros; i++) check_macro(&c, rs->macros[i], rs->macros[i]->loc, 0);
    for (size_t i = 0; i < rs->nrules; i++)
        if (!rs->rules[i]->broken) check_rule(&c, rs->rules[i]);
    c.errors += sd_check_tuning(rs, d, &(tune_check_hooks){tune_cond, tune_keys, &c});

    for (size_t i = 0; i < rs->nlists; i++) {
        const ast_list *l = rs->lists[i];
        if (!l->broken && !counts_as_used(&c, l->name, l->used)) WARN(&c, l->loc, "list '%s' is never used", l->name);
    }
    for (size_t i = 0; i < rs->nmacros; i++) {
        const ast_macro *m = rs->macros[i];
        if (!m->broken && !counts_as_used(&c, m->name, m->used)) WARN(&c, m->loc, "macro '%s' is never used", m->name);
    }
    for (size_t i = 0; i < rs->nrules; i++) {
        const ast_rule *r = rs->rules[i];
        if (r->is_private && !counts_as_used(&c, r->name, r->used))
            WARN(&c, r->loc, "private rule '%s' is never used by another rule", r->name);
    }
    free(c.syms);
    return c.errors;
}
