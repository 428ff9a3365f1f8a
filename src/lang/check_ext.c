/* check_ext.c — the checks of what Part 2 of the language adds (see
 * check.c for the rest): element predicates (`any`/`all` take a path that
 * ends in [*]), string tests against lists (the members are strings; a
 * list's name must name a list), the offsets of hour() and weekday(), and
 * comparisons of those functions that no value passes (a warning).
 */
#include <stdio.h>
#include <string.h>

#include "lang/check_int.h"

bool sd_check_offset(const char *s, size_t n, int *seconds) {
    if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *seconds = 0;
        return true;
    }
    if (n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return false;
    for (size_t i = 1; i < 6; i++)
        if (i != 3 && (s[i] < '0' || s[i] > '9')) return false;
    int h = (s[1] - '0') * 10 + (s[2] - '0'), m = (s[4] - '0') * 10 + (s[5] - '0');
    if (h > 23 || m > 59) return false;
    *seconds = (h * 3600 + m * 60) * (s[0] == '-' ? -1 : 1);
    return true;
}

void sd_check_time_call(checker *c, const ast_expr *e) {
    const char *name = sd_ast_fn_names[e->fn];
    if (e->nargs < 1 || e->nargs > 2) {
        ERR(c, e->loc, "%s() takes a time and an optional UTC offset, found %zu arguments", name, e->nargs);
        return;
    }
    if (e->nargs < 2) return;
    const ast_expr *o = e->args[1];
    int secs;
    if (o->kind != EXPR_LIT || o->lit.kind != LIT_STR || !sd_check_offset(o->lit.str, o->lit.len, &secs))
        ERR(c, o->loc, "%s()'s offset is a string like \"+09:00\", \"-05:30\" or \"Z\"", name);
}

static void check_strs(checker *c, ast_cond *x) {
    const ast_lit *items = &x->lit;
    if (x->name) {
        const sym *s = sd_check_lookup(c, x->name);
        char hint[80];
        if (!s) {
            ERR(c, x->loc, "unknown list '%s'%s", x->name,
                sd_check_nearest(c, x->name, 1u << SYM_LIST, hint, sizeof hint));
            return;
        }
        if (s->kind != SYM_LIST) {
            ERR(c, x->loc, "'%s' is a %s, not a list", x->name, s->kind == SYM_MACRO ? "macro" : "rule");
            return;
        }
        ast_list *l = s->decl;
        l->used = true;
        if (l->broken) return;
        x->list = l;
        items = &l->items;
    }
    for (size_t i = 0; i < items->nitems; i++)
        if (items->items[i].kind != LIT_STR) {
            ERR(c, x->name ? x->loc : items->items[i].loc, "this test takes a list of strings, found %s%s%s",
                sd_check_lit_kind_name(items->items[i].kind), x->name ? " in list " : "", x->name ? x->name : "");
            return;
        }
}

void sd_check_cond_ext(checker *c, ast_cond *x, int depth) {
    sd_check_expr(c, x->lhs);
    if (x->kind == COND_STRS) {
        check_strs(c, x);
        return;
    }
    const ast_expr *p = x->lhs;
    if (p->kind != EXPR_PATH || p->path.nsegs == 0 || p->path.segs[p->path.nsegs - 1].kind != SEG_STAR)
        ERR(c, p->loc, "%s takes a path ending in [*] (the elements to test), like .resources[*]",
            x->kind == COND_ALL ? "all" : "any");
    sd_check_cond(c, x->l, depth);
}

/* The values a function can yield: hour() 0..23, weekday() 1..7. */
static bool fn_range(const ast_expr *e, double *lo, double *hi) {
    if (e->kind != EXPR_CALL) return false;
    if (e->fn == FN_HOUR)
        *lo = 0, *hi = 23;
    else if (e->fn == FN_WEEKDAY)
        *lo = 1, *hi = 7;
    else
        return false;
    return true;
}

void sd_check_never_cmp(checker *c, const ast_cond *x) {
    const ast_expr *f = x->lhs, *k = x->rhs;
    if (k->kind != EXPR_LIT) {
        f = x->rhs;
        k = x->lhs;
    }
    double lo, hi;
    if (k->kind != EXPR_LIT || !fn_range(f, &lo, &hi)) return;
    const char *name = sd_ast_fn_names[f->fn];
    if (k->lit.kind != LIT_NUM) {
        if (x->op == CMP_EQ) WARN(c, x->loc, "this test can never hold: %s() is a number", name);
        return;
    }
    double v = k->lit.num;
    bool lhs_fn = f == x->lhs;
    bool never = false;
    switch (x->op) {
    case CMP_EQ: never = v < lo || v > hi || v != (double)(long long)v; break;
    case CMP_LT: never = lhs_fn ? v <= lo : v >= hi; break;
    case CMP_LE: never = lhs_fn ? v < lo : v > hi; break;
    case CMP_GT: never = lhs_fn ? v >= hi : v <= lo; break;
    case CMP_GE: never = lhs_fn ? v > hi : v < lo; break;
    default: break;
    }
    if (never) WARN(c, x->loc, "this test can never hold: %s() is a whole number from %g to %g", name, lo, hi);
}

/* ---- sequence steps, sum ------------------------------------------------------------------- */

/* The aggregation rule a step's whole condition names, or NULL. */
static ast_rule *step_agg_rule(checker *c, const ast_step *s) {
    if (!s->cond || s->cond->kind != COND_NAME) return NULL;
    const sym *y = sd_check_lookup(c, s->cond->name);
    if (!y || y->kind != SYM_RULE) return NULL;
    ast_rule *r = y->decl;
    return r->agg != AGG_NONE ? r : NULL;
}

static const char *agg_word(agg_kind k) {
    switch (k) {
    case AGG_COUNT: return "count";
    case AGG_DISTINCT: return "distinct";
    case AGG_SUM: return "sum";
    case AGG_SEQUENCE: return "sequence";
    case AGG_NONE: break;
    }
    return "stateless";
}

static void check_agg_step(checker *c, ast_rule *r, ast_step *s, ast_rule *agg) {
    agg->used = true;
    if (agg->broken) return;
    if (agg == r)
        ERR(c, s->cond->loc, "rule '%s' cannot be a step of itself", r->name);
    else if (agg->agg != AGG_COUNT)
        ERR(c, s->cond->loc, "step '%s' names '%s', a %s rule: only a count rule may be a step", s->name, agg->name,
            agg_word(agg->agg));
    else if (s->negated)
        ERR(c, s->loc, "a 'not' step cannot name an aggregation rule ('%s')", agg->name);
    else if (s->has_count)
        ERR(c, s->count_loc, "step '%s' names count rule '%s', which counts already: it takes no count of its own",
            s->name, agg->name);
    else {
        s->agg_rule = agg;
        s->cond->rule = agg;
    }
}

static void check_step_count(checker *c, const ast_step *s) {
    if (!s->has_count) return;
    double n = s->count;
    if (s->negated) ERR(c, s->count_loc, "a 'not' step cannot be counted: it holds when no such event comes");
    if (n != (double)(long long)n || n < (s->count_gt ? 0 : 1) || n > 1e9)
        ERR(c, s->count_loc, "the count must be a whole number from %d to 1000000000", s->count_gt ? 0 : 1);
}

void sd_check_sequence(checker *c, ast_rule *r) {
    size_t npos = 0;
    const ast_step *keyed = NULL;
    for (size_t i = 0; i < r->nsteps; i++) {
        ast_step *s = &r->steps[i];
        ast_rule *agg = step_agg_rule(c, s);
        if (agg)
            check_agg_step(c, r, s, agg);
        else
            sd_check_cond(c, s->cond, 0);
        check_step_count(c, s);
        sd_check_keys(c, s->by, s->nby, "by");
        if (!s->negated) npos++;
        if (s->negated && r->unordered)
            ERR(c, s->loc, "step '%s': an unordered sequence has no order for 'not' to refer to", s->name);
        if (s->nby && !keyed) keyed = s;
    }
    if (r->nsteps && npos == 0) ERR(c, r->agg_loc, "a sequence needs at least one step that is not a 'not' step");
    if (!keyed) return;
    if (r->nby)
        ERR(c, r->by[0].expr->loc, "rule '%s' has keys on its steps, so the sequence itself takes none", r->name);
    for (size_t i = 0; i < r->nsteps; i++) {
        const ast_step *s = &r->steps[i];
        if (!s->nby)
            ERR(c, s->loc, "step '%s' has no 'by': when one step has keys, every step has as many (%zu)", s->name,
                keyed->nby);
        else if (s->nby != keyed->nby)
            ERR(c, s->by[0].expr->loc, "step '%s' has %zu keys and step '%s' %zu: every step has as many", s->name,
                s->nby, keyed->name, keyed->nby);
    }
}

void sd_check_sum(checker *c, ast_rule *r) {
    if (!r->where) ERR(c, r->loc, "rule '%s' has no 'where' condition", r->name);
    if (!r->distinct) return;
    sd_check_expr(c, r->distinct);
    const ast_expr *e = r->distinct;
    bool path = e->kind == EXPR_PATH;
    for (size_t i = 0; !path && e->kind == EXPR_CALL && i < e->nargs; i++) path = e->args[i]->kind != EXPR_LIT;
    if (!path) ERR(c, e->loc, "sum adds up the values of a field path");
}
