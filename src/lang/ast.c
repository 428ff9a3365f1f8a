/* ast.c — ownership of the syntax tree, and the normalised text of expressions.
 *
 * The free functions accept partially built nodes (any pointer may be NULL)
 * so the parser can drop a declaration half way through an error. Recursion
 * follows the tree's depth, which the parser bounds (LIMIT_PARSE_DEPTH, and
 * balanced and/or chains), so freeing cannot overflow the stack.
 *
 * sd_ast_expr_text() is the one place that decides how an expression is
 * written back: it is the `group` key users see in alerts, so it must not
 * depend on how the rule author spaced the source.
 */
#include "lang/ast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/tune.h"
#include "util/buf.h"
#include "util/limits.h"

const char *const sd_ast_fn_names[FN_COUNT] = {"lower",     "upper", "len",  "coalesce",
                                               "b64decode", "text",  "hour", "weekday"};

void sd_ast_ruleset_init(ast_ruleset *rs) { memset(rs, 0, sizeof *rs); }

uint32_t sd_ast_add_file(ast_ruleset *rs, const char *name) {
    char *copy = strdup(name ? name : "");
    char **files = copy ? realloc(rs->files, (rs->nfiles + 1) * sizeof *files) : NULL;
    if (!files) {
        /* Out of memory: locations still need a valid index; reuse the last
         * file's, or 0 (callers see the failure when they add anything else). */
        free(copy);
        return rs->nfiles ? (uint32_t)(rs->nfiles - 1) : 0;
    }
    rs->files = files;
    rs->files[rs->nfiles] = copy;
    return (uint32_t)rs->nfiles++;
}

void sd_ast_lit_free(ast_lit *l) {
    if (!l) return;
    free(l->str);
    for (size_t i = 0; i < l->nitems; i++) sd_ast_lit_free(&l->items[i]);
    free(l->items);
    l->str = NULL;
    l->items = NULL;
    l->nitems = 0;
    l->len = 0;
}

void sd_ast_expr_free(ast_expr *e) {
    if (!e) return;
    sd_path_free(&e->path);
    sd_ast_lit_free(&e->lit);
    for (size_t i = 0; i < e->nargs; i++) sd_ast_expr_free(e->args[i]);
    free(e->args);
    free(e);
}

void sd_ast_cond_free(ast_cond *c) {
    if (!c) return;
    sd_ast_cond_free(c->l);
    sd_ast_cond_free(c->r);
    sd_ast_expr_free(c->lhs);
    sd_ast_expr_free(c->rhs);
    sd_ast_lit_free(&c->lit);
    free(c->name);
    free(c);
}

static void key_free(ast_key *k, size_t n) {
    for (size_t i = 0; i < n; i++) {
        sd_ast_expr_free(k[i].expr);
        free(k[i].text);
    }
    free(k);
}

void sd_ast_rule_free(ast_rule *r) {
    if (!r) return;
    free(r->name);
    for (size_t i = 0; i < r->nmeta; i++) {
        free(r->meta[i].key);
        sd_ast_lit_free(&r->meta[i].value);
    }
    free(r->meta);
    for (size_t i = 0; i < r->non; i++) free(r->on[i]);
    free(r->on);
    free(r->on_loc);
    sd_ast_cond_free(r->where);
    sd_ast_expr_free(r->distinct);
    key_free(r->by, r->nby);
    for (size_t i = 0; i < r->nsteps; i++) {
        free(r->steps[i].name);
        sd_ast_cond_free(r->steps[i].cond);
        key_free(r->steps[i].by, r->steps[i].nby);
    }
    free(r->steps);
    key_free(r->throttle_by, r->nthrottle_by);
    free(r->output);
    sd_ast_rule_tuning_free(r->tuning);
    free(r);
}

void sd_ast_ruleset_free(ast_ruleset *rs) {
    if (!rs) return;
    for (size_t i = 0; i < rs->nfiles; i++) free(rs->files[i]);
    free(rs->files);
    for (size_t i = 0; i < rs->nlists; i++) {
        if (!rs->lists[i]) continue;
        free(rs->lists[i]->name);
        sd_ast_lit_free(&rs->lists[i]->items);
        free(rs->lists[i]);
    }
    free(rs->lists);
    for (size_t i = 0; i < rs->nmacros; i++) {
        if (!rs->macros[i]) continue;
        free(rs->macros[i]->name);
        sd_ast_cond_free(rs->macros[i]->cond);
        free(rs->macros[i]);
    }
    free(rs->macros);
    for (size_t i = 0; i < rs->nrules; i++) sd_ast_rule_free(rs->rules[i]);
    free(rs->rules);
    sd_ast_tuning_free(rs->tuning);
    memset(rs, 0, sizeof *rs);
}

/* Numbers as a person writes them: 5 not 5.0, and the shortest text that
 * reads back as the same double. */
static void put_number(buf *b, double v) {
    if (v == 0) {
        sd_buf_putc(b, '0');
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        sd_buf_printf(b, "%.0f", v);
        return;
    }
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    sd_buf_puts(b, tmp);
}

static void put_expr(buf *b, const ast_expr *e) {
    switch (e->kind) {
    case EXPR_PATH:
        if (e->path.text) {
            sd_buf_puts(b, e->path.text);
        } else {
            char *t = sd_path_to_text(&e->path);
            if (!t)
                b->oom = true;
            else
                sd_buf_puts(b, t);
            free(t);
        }
        break;
    case EXPR_LIT:
        switch (e->lit.kind) {
        case LIT_NULL: sd_buf_puts(b, "null"); break;
        case LIT_BOOL: sd_buf_puts(b, e->lit.b ? "true" : "false"); break;
        case LIT_NUM: put_number(b, e->lit.num); break;
        case LIT_STR: sd_buf_json_string(b, e->lit.str ? e->lit.str : "", e->lit.len); break;
        default: sd_buf_puts(b, "?"); break;
        }
        break;
    case EXPR_CALL:
        sd_buf_puts(b, (unsigned)e->fn < FN_COUNT ? sd_ast_fn_names[e->fn] : "?");
        sd_buf_putc(b, '(');
        for (size_t i = 0; i < e->nargs; i++) {
            if (i) sd_buf_puts(b, ", ");
            put_expr(b, e->args[i]);
        }
        sd_buf_putc(b, ')');
        break;
    }
}

char *sd_ast_expr_text(const ast_expr *e) {
    if (!e) return NULL;
    buf b;
    sd_buf_init(&b);
    put_expr(&b, e);
    if (b.oom) {
        sd_buf_free(&b);
        return NULL;
    }
    return sd_buf_steal(&b);
}
