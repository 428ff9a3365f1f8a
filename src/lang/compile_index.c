/* compile_index.c — the dispatch index: which rules can match an event.
 *
 * Most rules require one field to hold one of a few constant strings
 * (`.eventName == "X"`, `.eventName in [...]`, or an `or` of such tests on
 * one field), as a conjunct of their `where`. Such a rule is filed under each
 * of those strings; at run time the engine looks the event's value of that
 * field up once and runs only the rules filed under it, plus the rules that
 * have no such conjunct (`always`). Where a rule offers several candidate
 * fields, the one most rules share is taken, so an event costs few lookups.
 * A sequence rule has no `where` and is always run.
 */
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "util/hash.h"

typedef struct eqset {
    const ast_cond *node; /* the conjunct it comes from */
    uint32_t path;
    const ast_lit **vals; /* borrowed string literals */
    size_t n;
} eqset;

typedef struct cands {
    eqset *items;
    size_t n;
} cands;

static void eqset_free(eqset *e) {
    free(e->vals);
    memset(e, 0, sizeof *e);
}

static bool plain_path(const ast_expr *e) { return e->kind == EXPR_PATH && !e->path.has_star; }

static bool eqset_add(eqset *e, const ast_lit *l) {
    const ast_lit **v = realloc(e->vals, (e->n + 1) * sizeof *v);
    if (!v) return false;
    e->vals = v;
    e->vals[e->n++] = l;
    return true;
}

/* Whether cond holds only when one plain path equals one of some strings. */
static bool eqset_of(compiler *c, const ast_cond *x, eqset *out, int depth) {
    memset(out, 0, sizeof *out);
    if (depth > 64) return false;
    switch (x->kind) {
    case COND_CMP: {
        if (x->op != CMP_EQ) return false;
        const ast_expr *p = x->lhs, *l = x->rhs;
        if (p->kind == EXPR_LIT) {
            p = x->rhs;
            l = x->lhs;
        }
        if (!plain_path(p) || l->kind != EXPR_LIT || l->lit.kind != LIT_STR) return false;
        out->path = sd_pool_path(c, &p->path);
        return eqset_add(out, &l->lit);
    }
    case COND_IN: {
        const ast_lit *items = x->list ? &x->list->items : &x->lit;
        if (!plain_path(x->lhs) || items->nitems == 0) return false;
        for (size_t i = 0; i < items->nitems; i++)
            if (items->items[i].kind != LIT_STR) return false;
        out->path = sd_pool_path(c, &x->lhs->path);
        for (size_t i = 0; i < items->nitems; i++)
            if (!eqset_add(out, &items->items[i])) {
                eqset_free(out);
                return false;
            }
        return true;
    }
    case COND_OR: {
        eqset a, b;
        if (!eqset_of(c, x->l, &a, depth + 1)) return false;
        if (!eqset_of(c, x->r, &b, depth + 1) || a.path != b.path) {
            eqset_free(&a);
            eqset_free(&b);
            return false;
        }
        *out = a;
        for (size_t i = 0; i < b.n; i++)
            if (!eqset_add(out, b.vals[i])) {
                eqset_free(out);
                eqset_free(&b);
                return false;
            }
        eqset_free(&b);
        return true;
    }
    case COND_NAME: return x->macro && eqset_of(c, x->macro->cond, out, depth + 1);
    default: return false;
    }
}

/* Every conjunct of x that is an eqset. */
static void collect(compiler *c, const ast_cond *x, cands *out, int depth) {
    if (depth > 64) return;
    if (x->kind == COND_AND) {
        collect(c, x->l, out, depth + 1);
        collect(c, x->r, out, depth + 1);
        return;
    }
    if (x->kind == COND_NAME && x->macro && x->macro->cond->kind == COND_AND) {
        collect(c, x->macro->cond, out, depth + 1);
        return;
    }
    eqset e;
    if (!eqset_of(c, x, &e, depth)) return;
    e.node = x;
    eqset *items = realloc(out->items, (out->n + 1) * sizeof *items);
    if (!items) {
        eqset_free(&e);
        return;
    }
    out->items = items;
    out->items[out->n++] = e;
}

const ast_cond *sd_lead_conjunct(const ast_cond *x) {
    while (x && x->kind == COND_AND) x = x->l;
    return x;
}

/* Whether the index settles rule i's leading conjunct: the index files the
 * rule under that very conjunct (so an event it picks the rule for holds it),
 * and its code is straight-line instructions that each cost one step of the
 * budget and cannot fail, so skipping them and charging their count is the
 * same as running them (vm.c). Otherwise the rule has no settled entry. */
static bool settles(const program *p, const ast_rule *r, const vm_rule *vr, const eqset *chosen) {
    if (!r->where || chosen->node != sd_lead_conjunct(r->where)) return false;
    if (vr->settled == 0 || vr->settled >= vr->where.len) return false;
    for (uint32_t pc = vr->where.start; pc < vr->where.start + vr->settled; pc++) {
        vm_opcode op = (vm_opcode)p->code[pc].op;
        if (op != OP_LOADP && op != OP_EQK && op != OP_INSET) return false;
    }
    return true;
}

static index_entry *entry_for(path_index *ix, const char *s, size_t len) {
    uint32_t mask = ix->nslots - 1;
    for (uint32_t j = (uint32_t)hash_bytes(s, len) & mask;; j = (j + 1) & mask) {
        index_entry *e = &ix->slots[j];
        if (!e->value) return e;
        if (e->len == len && memcmp(e->value, s, len) == 0) return e;
    }
}

static int file_rule(path_index *ix, const ast_lit *val, uint32_t rule) {
    index_entry *e = entry_for(ix, val->str, val->len);
    if (!e->value) {
        e->value = malloc(val->len + 1);
        if (!e->value) return -1;
        memcpy(e->value, val->str, val->len);
        e->value[val->len] = 0;
        e->len = val->len;
    }
    if (e->nrules && e->rules[e->nrules - 1] == rule) return 0; /* a value listed twice */
    uint32_t *r = realloc(e->rules, (e->nrules + 1) * sizeof *r);
    if (!r) return -1;
    e->rules = r;
    e->rules[e->nrules++] = rule;
    return 0;
}

static bool disjoint(const eqset *a, const eqset *b) {
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < b->n; j++)
            if (a->vals[i]->len == b->vals[j]->len && memcmp(a->vals[i]->str, b->vals[j]->str, a->vals[i]->len) == 0)
                return false;
    return true;
}

/* Two required conjuncts on one field with no value in common: the rule can never match. */
static void warn_never_matches(compiler *c, const ast_rule *r, const cands *cs) {
    for (size_t k = 0; k < cs->n; k++)
        for (size_t l = k + 1; l < cs->n; l++)
            if (cs->items[k].path == cs->items[l].path && disjoint(&cs->items[k], &cs->items[l])) {
                CWARN(c, r->loc, "rule '%s' can never match: %s cannot equal both \"%s\" and \"%s\"", r->name,
                      c->p->paths[cs->items[k].path].text, cs->items[k].vals[0]->str, cs->items[l].vals[0]->str);
                return;
            }
}

void sd_build_index(compiler *c) {
    program *p = c->p;
    uint32_t n = p->nrules;
    cands *cs = calloc(n ? n : 1, sizeof *cs);
    int32_t *chosen = malloc((n ? n : 1) * sizeof *chosen);
    uint32_t *freq = calloc(p->npaths + 1, sizeof *freq);
    p->always = malloc((n ? n : 1) * sizeof *p->always);
    if (!cs || !chosen || !freq || !p->always) {
        c->oom = true;
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        const ast_rule *r = c->rs->rules[i];
        if (r->where) collect(c, r->where, &cs[i], 0);
        warn_never_matches(c, r, &cs[i]); /* sound after errors too: unresolved names add no test */
    }
    /* sd_pool_path may have grown the path table during collect */
    uint32_t *f2 = realloc(freq, (p->npaths + 1) * sizeof *freq);
    if (!f2) {
        c->oom = true;
        goto done;
    }
    freq = f2;
    memset(freq, 0, (p->npaths + 1) * sizeof *freq);
    for (uint32_t i = 0; i < n; i++)
        for (size_t k = 0; k < cs[i].n; k++) freq[cs[i].items[k].path]++;
    uint32_t *ix_of_path = malloc((p->npaths + 1) * sizeof *ix_of_path);
    uint32_t *count_of_path = calloc(p->npaths + 1, sizeof *count_of_path);
    if (!ix_of_path || !count_of_path) {
        free(ix_of_path);
        free(count_of_path);
        c->oom = true;
        goto done;
    }
    memset(ix_of_path, 0xFF, (p->npaths + 1) * sizeof *ix_of_path);
    for (uint32_t i = 0; i < n; i++) {
        chosen[i] = -1;
        for (size_t k = 0; k < cs[i].n; k++) {
            const eqset *e = &cs[i].items[k];
            if (chosen[i] < 0) {
                chosen[i] = (int32_t)k;
                continue;
            }
            const eqset *best = &cs[i].items[chosen[i]];
            if (freq[e->path] > freq[best->path] || (freq[e->path] == freq[best->path] && e->n < best->n))
                chosen[i] = (int32_t)k;
        }
        if (chosen[i] < 0 || !settles(p, c->rs->rules[i], &p->rules[i], &cs[i].items[chosen[i]]))
            p->rules[i].settled = 0;
        if (chosen[i] < 0)
            p->always[p->nalways++] = i;
        else
            count_of_path[cs[i].items[chosen[i]].path] += (uint32_t)cs[i].items[chosen[i]].n;
    }
    for (uint32_t path = 0; path < p->npaths; path++) {
        if (!count_of_path[path]) continue;
        path_index *ixs = realloc(p->indexes, (p->nindexes + 1) * sizeof *ixs);
        if (!ixs) {
            c->oom = true;
            break;
        }
        p->indexes = ixs;
        path_index *ix = &p->indexes[p->nindexes];
        ix->path = path;
        ix->nslots = 16;
        while (ix->nslots < count_of_path[path] * 2) ix->nslots *= 2;
        ix->slots = calloc(ix->nslots, sizeof *ix->slots);
        if (!ix->slots) {
            c->oom = true;
            break;
        }
        ix_of_path[path] = p->nindexes++;
    }
    for (uint32_t i = 0; i < n && !c->oom; i++) {
        if (chosen[i] < 0) continue;
        const eqset *e = &cs[i].items[chosen[i]];
        path_index *ix = &p->indexes[ix_of_path[e->path]];
        for (size_t k = 0; k < e->n; k++)
            if (file_rule(ix, e->vals[k], i)) {
                c->oom = true;
                break;
            }
    }
    free(ix_of_path);
    free(count_of_path);
done:
    if (cs)
        for (uint32_t i = 0; i < n; i++) {
            for (size_t k = 0; k < cs[i].n; k++) eqset_free(&cs[i].items[k]);
            free(cs[i].items);
        }
    free(cs);
    free(chosen);
    free(freq);
}
