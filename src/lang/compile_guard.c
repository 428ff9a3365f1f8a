/* compile_guard.c — literal guards: when a rule in no index need not run.
 *
 * A rule the dispatch index cannot place (compile_index.c) runs on every
 * event. Many such rules still need a literal in one field: a conjunct of
 * their `where` is `P matches /re/` with required literals
 * (lang/regex_lits.h), or `P contains "lit"`, `P startswith "lit"`,
 * `lower(P) contains "lit"`, with P a plain path. Such a rule gets a guard
 * (program.h, rule_guard): the engine runs it only when one of the literals
 * occurs in a string value of P, which the VM finds for all guards and
 * regexes on that field in one pass (vm/prefilter.h).
 *
 * Soundness: the conjunct must hold for the rule to match, and it cannot
 * hold unless a string value of P holds one of the literals — byte for
 * byte (table 0), or ignoring ASCII case (table 1: `lower` folds ASCII
 * only, and a caseless regex's literals are checked so, with a non-ASCII
 * value always passing). Only stateless rules get guards: an aggregation
 * rule's run does more than test its `where`.
 */
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "lang/regex_lits.h"
#include "vm/prefilter.h"

typedef struct guard_cand {
    bool ok;
    uint32_t path;
    uint8_t table;
    uint32_t nlits;
    uint32_t lits[LIMIT_PREFILTER_LITS];
    uint32_t minlen;
} guard_cand;

static bool plain_path(const ast_expr *e) { return e && e->kind == EXPR_PATH && !e->path.has_star; }

/* The guard conjunct x offers, if any. */
static bool cand_of(compiler *c, const ast_cond *x, guard_cand *g) {
    memset(g, 0, sizeof *g);
    regex_lits l;
    const ast_expr *lhs = x->lhs;
    if (x->kind == COND_MATCHES && plain_path(lhs) && x->lit.kind == LIT_REGEX) {
        if (!sd_regex_literals(x->lit.str, x->lit.len, x->lit.flags, &l)) return false;
    } else if (x->kind == COND_CMP && (x->op == CMP_CONTAINS || x->op == CMP_STARTSWITH) && x->rhs &&
               x->rhs->kind == EXPR_LIT && x->rhs->lit.kind == LIT_STR && x->rhs->lit.len >= 2 &&
               x->rhs->lit.len <= LIMIT_PREFILTER_LIT_LEN) {
        bool lower = lhs && lhs->kind == EXPR_CALL && lhs->fn == FN_LOWER && lhs->nargs == 1;
        if (lower) lhs = lhs->args[0];
        if (!plain_path(lhs) || (lower && x->op != CMP_CONTAINS)) return false;
        memset(&l, 0, sizeof l);
        l.n = 1;
        l.fold = lower;
        l.len[0] = (uint8_t)x->rhs->lit.len;
        for (size_t i = 0; i < x->rhs->lit.len; i++) {
            char ch = x->rhs->lit.str[i];
            l.s[0][i] = lower && ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
        }
    } else {
        return false;
    }
    g->path = sd_pool_path(c, &lhs->path);
    g->table = l.fold;
    g->nlits = l.n;
    g->minlen = UINT32_MAX;
    for (uint32_t k = 0; k < l.n; k++) {
        g->lits[k] = sd_lits_add(&c->p->lits[l.fold], l.s[k], l.len[k]);
        if (g->lits[k] == UINT32_MAX) {
            c->oom = true;
            return false;
        }
        if (l.len[k] < g->minlen) g->minlen = l.len[k];
    }
    g->ok = true;
    return true;
}

/* The best guard among the conjuncts of x: the longest shortest literal. */
static void best_guard(compiler *c, const ast_cond *x, guard_cand *best, int depth) {
    if (depth > 64 || c->oom) return;
    if (x->kind == COND_AND) {
        best_guard(c, x->l, best, depth + 1);
        best_guard(c, x->r, best, depth + 1);
        return;
    }
    if (x->kind == COND_NAME && x->macro) {
        best_guard(c, x->macro->cond, best, depth + 1);
        return;
    }
    guard_cand g;
    if (cand_of(c, x, &g) && (!best->ok || g.minlen > best->minlen)) *best = g;
}

/* The group of (path, table), made when new; UINT32_MAX out of memory. */
static uint32_t group_of(compiler *c, uint32_t path, uint8_t table) {
    program *p = c->p;
    for (uint32_t i = 0; i < p->nguard_groups; i++)
        if (p->guard_groups[i].path == path && p->guard_groups[i].table == table) return i;
    guard_group *gg = realloc(p->guard_groups, (p->nguard_groups + 1) * sizeof *gg);
    if (!gg) {
        c->oom = true;
        return UINT32_MAX;
    }
    p->guard_groups = gg;
    gg[p->nguard_groups] = (guard_group){path, table};
    return p->nguard_groups++;
}

void sd_build_guards(compiler *c) {
    program *p = c->p;
    if (p->nalways == 0) return;
    p->guard_of = malloc(p->nrules * sizeof *p->guard_of);
    if (!p->guard_of) {
        c->oom = true;
        return;
    }
    memset(p->guard_of, 0xFF, p->nrules * sizeof *p->guard_of);
    for (uint32_t i = 0; i < p->nalways && !c->oom; i++) {
        uint32_t r = p->always[i];
        const ast_rule *ar = c->rs->rules[r];
        if (r >= p->nrules || p->rules[r].agg != RAGG_NONE || !ar->where) continue;
        guard_cand g = {0};
        best_guard(c, ar->where, &g, 0);
        if (!g.ok) continue;
        rule_guard *gs = realloc(p->guards, (p->nguards + 1) * sizeof *gs);
        uint32_t *lits = malloc(g.nlits * sizeof *lits);
        if (gs) p->guards = gs;
        if (!gs || !lits) {
            free(lits);
            c->oom = true;
            return;
        }
        memcpy(lits, g.lits, g.nlits * sizeof *lits);
        uint32_t group = group_of(c, g.path, g.table);
        if (group == UINT32_MAX) {
            free(lits);
            return;
        }
        p->guards[p->nguards] = (rule_guard){g.path, g.table, group, g.nlits, lits};
        p->guard_of[r] = p->nguards++;
    }
}
