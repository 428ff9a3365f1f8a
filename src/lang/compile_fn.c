/* compile_fn.c — code for what Part 2 of the language adds to conditions:
 * paths read from an any/all element, the functions b64decode, text, hour
 * and weekday, the case-folded tests (=~ and the i-forms), string tests
 * against lists, and the element predicates themselves.
 *
 *   any P[*] (C):  <P into r>  ANY r -> end  <C, its paths from the element>  end:
 *
 * The body follows its ANY/ALL and ends where the jump points; the VM runs
 * it once per element (jumps stay forward). Constants of a folded test are
 * folded here, once, so the VM folds only the event's side. A single
 * string after an i-form is a list of one.
 */
#include <stdlib.h>
#include <string.h>

#include "lang/check_int.h"
#include "lang/compile_int.h"
#include "util/casefold.h"
#include "util/limits.h"

/* ---- Pools: element paths, string lists ---------------------------------------------- */

static bool path_copy(const sd_path *src, sd_path *dst) {
    memset(dst, 0, sizeof *dst);
    dst->segs = calloc(src->nsegs ? src->nsegs : 1, sizeof *dst->segs);
    dst->text = strdup(src->text ? src->text : ".");
    if (!dst->segs || !dst->text) goto fail;
    for (uint32_t i = 0; i < src->nsegs; i++) {
        dst->segs[i] = src->segs[i];
        if (src->segs[i].kind == SEG_KEY && !(dst->segs[i].key = strdup(src->segs[i].key))) goto fail;
        dst->nsegs++;
    }
    dst->has_star = src->has_star;
    return true;
fail:
    sd_path_free(dst);
    return false;
}

uint32_t sd_pool_epath(compiler *c, const sd_path *path) {
    program *p = c->p;
    for (uint32_t i = 0; i < p->nepaths; i++)
        if (strcmp(p->epaths[i].text, path->text ? path->text : ".") == 0) return i;
    sd_path *arr = sd_compile_grow(p->epaths, &c->cap_epaths, p->nepaths + 1, sizeof *arr, &c->oom);
    if (!arr) return 0;
    p->epaths = arr;
    if (!path_copy(path, &p->epaths[p->nepaths])) {
        c->oom = true;
        return 0;
    }
    return p->nepaths++;
}

/* A string list of the members' texts (folded when `fold`). */
static uint32_t pool_strs(compiler *c, const ast_lit *items, size_t n, bool fold) {
    program *p = c->p;
    str_list *arr = sd_compile_grow(p->strs, &c->cap_strs, p->nstrs + 1, sizeof *arr, &c->oom);
    if (!arr) return 0;
    p->strs = arr;
    str_list *l = &p->strs[p->nstrs++];
    memset(l, 0, sizeof *l);
    l->s = calloc(n ? n : 1, sizeof *l->s);
    l->len = calloc(n ? n : 1, sizeof *l->len);
    if (!l->s || !l->len) {
        c->oom = true;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = items[i].str ? items[i].str : "";
        size_t len = items[i].len;
        char *m = malloc((fold ? sd_casefold_max(len) : len) + 1);
        if (!m) {
            c->oom = true;
            return 0;
        }
        if (fold) {
            len = sd_casefold(s, len, m);
        } else {
            memcpy(m, s, len);
        }
        m[len] = 0;
        l->s[l->n] = m;
        l->len[l->n++] = len;
    }
    return p->nstrs - 1;
}

/* ---- Paths and functions ------------------------------------------------------------- */

/* A common field (@ip) has no segments but is the event's, never an element's. */
static bool keyless(const sd_path *p) { return !p->common && (p->nsegs == 0 || p->segs[0].kind != SEG_KEY); }

void sd_compile_path(compiler *c, const ast_expr *e, uint32_t dst) {
    if (c->elem > 0 && !e->rooted && !e->path.common) {
        sd_compile_emit(c, OP_LOADE, dst, 0, sd_pool_epath(c, &e->path), e->loc);
        return;
    }
    if (keyless(&e->path)) {
        CERR(c, e->loc, "'%s' reads the element of an any/all, and stands only inside one",
             e->path.text ? e->path.text : ".");
        return;
    }
    sd_compile_emit(c, OP_LOADP, dst, 0, sd_pool_path(c, &e->path), e->loc);
}

void sd_compile_fn_call(compiler *c, const ast_expr *e, uint32_t dst) {
    if (e->nargs < 1) return; /* reported by the checker */
    uint32_t r = sd_compile_expr(c, e->args[0]);
    switch (e->fn) {
    case FN_B64DECODE: sd_compile_emit(c, OP_B64DECODE, dst, r, 0, e->loc); break;
    case FN_TEXT: sd_compile_emit(c, OP_TEXT, dst, r, 0, e->loc); break;
    case FN_HOUR:
    case FN_WEEKDAY: {
        int secs = 0;
        if (e->nargs > 1 && e->args[1]->kind == EXPR_LIT && e->args[1]->lit.kind == LIT_STR)
            (void)sd_check_offset(e->args[1]->lit.str, e->args[1]->lit.len, &secs);
        sd_value off = {.type = SD_NUM, .num = secs};
        sd_compile_emit(c, e->fn == FN_HOUR ? OP_HOUR : OP_WEEKDAY, dst, r, sd_pool_const(c, &off), e->loc);
        break;
    }
    default: break;
    }
}

/* ---- Case-folded tests and lists --------------------------------------------------------- */

static int strs_test(cmp_op op) {
    switch (op) {
    case CMP_CONTAINS: return STRS_CONTAINS;
    case CMP_STARTSWITH: return STRS_STARTSWITH;
    case CMP_ENDSWITH: return STRS_ENDSWITH;
    case CMP_ICONTAINS: return STRS_CONTAINS | STRS_FOLD;
    case CMP_ISTARTSWITH: return STRS_STARTSWITH | STRS_FOLD;
    case CMP_IENDSWITH: return STRS_ENDSWITH | STRS_FOLD;
    case CMP_LIKE: return STRS_LIKE;
    case CMP_ILIKE: return STRS_LIKE | STRS_FOLD;
    default: return -1; /* =~ */
    }
}

/* `lhs =~ one of items`: the fold of lhs in a set of folded members. */
static void compile_fold_in(compiler *c, uint32_t r, const ast_lit *items, size_t n, src_loc loc) {
    ast_lit *folded = calloc(n ? n : 1, sizeof *folded);
    if (!folded) {
        c->oom = true;
        return;
    }
    for (size_t i = 0; i < n && !c->oom; i++) {
        folded[i].kind = LIT_STR;
        folded[i].str = malloc(sd_casefold_max(items[i].len) + 1);
        if (!folded[i].str) {
            c->oom = true;
            break;
        }
        folded[i].len = sd_casefold(items[i].str ? items[i].str : "", items[i].len, folded[i].str);
        folded[i].str[folded[i].len] = 0;
    }
    if (!c->oom) sd_compile_emit(c, OP_FINSET, r, 0, sd_pool_set(c, folded, n, false, false), loc);
    for (size_t i = 0; i < n; i++) free(folded[i].str);
    free(folded);
}

void sd_compile_fold_cmp(compiler *c, const ast_cond *x) {
    const ast_expr *lhs = x->lhs, *rhs = x->rhs;
    if (x->op == CMP_FEQ && lhs->kind == EXPR_LIT && rhs->kind != EXPR_LIT) {
        const ast_expr *t = lhs; /* =~ is symmetric: the constant goes right */
        lhs = rhs;
        rhs = t;
    }
    if (rhs->kind == EXPR_LIT && rhs->lit.kind == LIT_STR) {
        uint32_t r = sd_compile_expr(c, lhs);
        if (x->op == CMP_FEQ) {
            compile_fold_in(c, r, &rhs->lit, 1, x->loc);
            return;
        }
        sd_compile_emit(c, OP_STRS, r, (uint32_t)strs_test(x->op), pool_strs(c, &rhs->lit, 1, true), x->loc);
        return;
    }
    static const vm_opcode ops[] = {[CMP_FEQ] = OP_FEQ,
                                    [CMP_ICONTAINS] = OP_FCONTAINS,
                                    [CMP_ISTARTSWITH] = OP_FSTARTSWITH,
                                    [CMP_IENDSWITH] = OP_FENDSWITH};
    uint32_t a = sd_compile_expr(c, lhs), b = sd_compile_expr(c, rhs);
    sd_compile_emit(c, ops[x->op], a, b, 0, x->loc);
}

void sd_compile_strs(compiler *c, const ast_cond *x) {
    const ast_lit *items = x->list ? &x->list->items : &x->lit;
    size_t n = items->kind == LIT_LIST ? items->nitems : 1;
    const ast_lit *first = items->kind == LIT_LIST ? items->items : items;
    cmp_op op = x->kind == COND_LIKE ? CMP_ILIKE : x->op; /* COND_LIKE comes here for ilike only */
    if (n == 0) {
        sd_compile_emit(c, OP_SETF, 0, 0, 0, x->loc); /* no member: nothing holds */
        return;
    }
    uint32_t r = sd_compile_expr(c, x->lhs);
    int test = strs_test(op);
    if (test < 0) {
        compile_fold_in(c, r, first, n, x->loc);
        return;
    }
    sd_compile_emit(c, OP_STRS, r, (uint32_t)test, pool_strs(c, first, n, (test & STRS_FOLD) != 0), x->loc);
}

/* ---- any / all ------------------------------------------------------------------------------- */

void sd_compile_elem(compiler *c, const ast_cond *x, int depth) {
    if (c->elem >= LIMIT_VM_ELEM_DEPTH) {
        CERR(c, x->loc, "any/all nested deeper than %u", LIMIT_VM_ELEM_DEPTH);
        return;
    }
    uint32_t r = sd_compile_expr(c, x->lhs);
    uint32_t at = sd_compile_emit(c, x->kind == COND_ALL ? OP_ALL : OP_ANY, r, 0, 0, x->loc);
    c->elem++;
    sd_compile_cond(c, x->l, depth + 1);
    c->elem--;
    if (!c->oom) c->p->code[at].c = c->p->ncode;
}
