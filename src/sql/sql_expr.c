/*
 * sql_expr.c — a rule's condition as an SQL boolean, exactly or not at all.
 *
 * The four rules of evaluation (docs/language.md) carried over: a test of
 * a missing value is false (every test is wrapped in COALESCE(..., FALSE),
 * so NULL never reaches a NOT), `!=` is NOT of `==`, and there is no
 * coercion — a string column never equals a number (the table's columns
 * hold the event's strings; a comparison with a number there is FALSE),
 * and a path below a JSON-text column is read through the dialect's JSON
 * functions only when its JSON type is the literal's (a number 5 does not
 * equal "5"). What no dialect says alike is refused: regexes (PCRE2 is not
 * RE2 nor Java's), CIDR tests, [*] paths, len() of a JSON member and a JSON
 * member compared with another value (either may be any type).
 * lower()/upper() fold ASCII only, as the engine does: translate(), not
 * SQL's lower(), which folds all of Unicode; of a JSON member they read it
 * as a string only, since the engine's drop what is not one. Values,
 * common fields and times are read in sql_json.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "event/common.h"
#include "sql/sql_int.h"

int sd_sqlc_refuse(sqlc *c, const char *fmt, ...) {
    if (c->why[0]) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return -1;
}

void sd_sql_quote(buf *o, const char *s, size_t n) {
    sd_buf_putc(o, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') sd_buf_putc(o, '\'');
        sd_buf_putc(o, s[i]);
    }
    sd_buf_putc(o, '\'');
}

static void put_num(buf *o, double v) { sd_buf_printf(o, "CAST(%.17g AS DOUBLE)", v); }

/* ---- values -------------------------------------------------------------------- */

static void ascii_fold(buf *o, int up) {
    static const char lowers[] = "abcdefghijklmnopqrstuvwxyz", uppers[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    sd_buf_printf(o, ", '%s', '%s')", up ? lowers : uppers, up ? uppers : lowers);
}

/* Part 2's functions have no exact SQL in every dialect (base64 to UTF-16LE
 * or UTF-8, the engine's compact JSON, RFC 3339 or epoch hours with an
 * offset): a rule that uses one is refused, never approximated. */
static int refuse_part2_fn(sqlc *c, const ast_expr *e) {
    if (e->kind != EXPR_CALL || e->fn <= FN_COALESCE) return 0;
    return sd_sqlc_refuse(c, "%s() is not compiled to SQL", sd_ast_fn_names[e->fn]);
}

int sd_sql_string_value(sqlc *c, const ast_expr *e, buf *o) {
    if (refuse_part2_fn(c, e) != 0) return -1;
    switch (e->kind) {
    case EXPR_LIT:
        if (e->lit.kind != LIT_STR) return sd_sqlc_refuse(c, "a literal that is not a string where a string is");
        sd_sql_quote(o, e->lit.str, e->lit.len);
        return 0;
    case EXPR_PATH: {
        if (e->path.common) return sd_sql_common(c, e->path.common - 1, o);
        if (e->path.has_star) return sd_sqlc_refuse(c, "%s: [*] paths are not compiled to SQL", e->path.text);
        sql_ref r;
        if (sd_sql_ref(c, &e->path, &r) != 0) return -1;
        /* lower()/upper() drop what is not a string, as a typed read does. */
        if (r.kind == COL_JSON && c->fn_arg) {
            sd_sql_ref_value(c, &r, W_STR, o);
            return 0;
        }
        if (r.kind != COL_STRING)
            return sd_sqlc_refuse(c, "%s may be of any JSON type in the table; a function of it is not exact",
                                  e->path.text);
        sd_buf_puts(o, r.column);
        return 0;
    }
    case EXPR_CALL:
        if (e->fn == FN_LOWER || e->fn == FN_UPPER) {
            sd_buf_puts(o, "translate(");
            int was = c->fn_arg;
            c->fn_arg = 1;
            int rc = sd_sql_string_value(c, e->args[0], o);
            c->fn_arg = was;
            if (rc != 0) return -1;
            ascii_fold(o, e->fn == FN_UPPER);
            return 0;
        }
        if (e->fn == FN_COALESCE) {
            /* coalesce() takes its first present argument whatever its type. */
            c->fn_arg = 0;
            int rc = sd_sql_coalesce_typed(c, e, W_STR, o);
            if (rc != 0) return rc < 0 ? -1 : 0;
            sd_buf_puts(o, "COALESCE(");
            for (size_t i = 0; i < e->nargs; i++) {
                if (i) sd_buf_puts(o, ", ");
                if (sd_sql_string_value(c, e->args[i], o) != 0) return -1;
            }
            sd_buf_putc(o, ')');
            return 0;
        }
        return sd_sqlc_refuse(c, "len() of a value is a number, not a string");
    }
    return -1;
}

/* A value read as w. Functions: strings only (len: a number). */
static int value(sqlc *c, const ast_expr *e, sql_want w, buf *o) {
    if (refuse_part2_fn(c, e) != 0) return -1;
    if (e->kind == EXPR_PATH && !e->path.common) {
        if (e->path.has_star) return sd_sqlc_refuse(c, "%s: [*] paths are not compiled to SQL", e->path.text);
        sql_ref r;
        if (sd_sql_ref(c, &e->path, &r) != 0) return -1;
        sd_sql_ref_value(c, &r, w, o);
        return 0;
    }
    /* A common field is its first path present and not null, read as w. */
    if (e->kind == EXPR_PATH && e->path.common != SD_COMMON_TYPE + 1)
        return sd_sql_common_typed(c, e->path.common - 1, w, o);
    if (e->kind == EXPR_CALL && e->fn == FN_LEN) {
        if (w != W_NUM) {
            sd_buf_puts(o, w == W_STR ? "CAST(NULL AS VARCHAR)" : "CAST(NULL AS VARCHAR)");
            return 0;
        }
        sd_buf_puts(o, "CAST(length(");
        if (sd_sql_string_value(c, e->args[0], o) != 0) return -1;
        sd_buf_puts(o, ") AS DOUBLE)");
        return 0;
    }
    if (w != W_STR) {
        /* Every other function gives strings (or drops the value): never a number or a boolean. */
        if (e->kind == EXPR_CALL && e->fn != FN_COALESCE) {
            sd_buf_puts(o, w == W_NUM ? "CAST(NULL AS DOUBLE)" : "CAST(NULL AS VARCHAR)");
            return 0;
        }
        if (e->kind == EXPR_PATH && e->path.common == SD_COMMON_TYPE + 1) {
            sd_buf_puts(o, w == W_NUM ? "CAST(NULL AS DOUBLE)" : "CAST(NULL AS VARCHAR)");
            return 0;
        }
        int rc = sd_sql_coalesce_typed(c, e, w, o);
        if (rc != 0) return rc < 0 ? -1 : 0;
        return sd_sqlc_refuse(c, "coalesce() compared with a number or boolean is not exact");
    }
    return sd_sql_string_value(c, e, o);
}

int sd_sql_number(sqlc *c, const ast_expr *e, buf *o) { return value(c, e, W_NUM, o); }

/* ---- tests --------------------------------------------------------------------- */

static size_t code_points(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xc0) != 0x80;
    return k;
}

static const char *sql_op(cmp_op op) {
    switch (op) {
    case CMP_EQ: return "=";
    case CMP_LT: return "<";
    case CMP_LE: return "<=";
    case CMP_GT: return ">";
    case CMP_GE: return ">=";
    default: return NULL;
    }
}

static cmp_op flipped(cmp_op op) {
    switch (op) {
    case CMP_LT: return CMP_GT;
    case CMP_LE: return CMP_GE;
    case CMP_GT: return CMP_LT;
    case CMP_GE: return CMP_LE;
    default: return op;
    }
}

/* v OP literal, never NULL. */
static int cmp_lit(sqlc *c, const ast_expr *v, cmp_op op, const ast_lit *lit, buf *o) {
    if (op == CMP_NE) {
        sd_buf_puts(o, "(NOT ");
        if (cmp_lit(c, v, CMP_EQ, lit, o) != 0) return -1;
        sd_buf_putc(o, ')');
        return 0;
    }
    sd_buf_puts(o, "COALESCE(");
    if (lit->kind == LIT_STR) {
        size_t n = lit->len;
        switch (op) {
        case CMP_CONTAINS:
        case CMP_STARTSWITH:
        case CMP_ENDSWITH:
            if (n == 0) {
                if (value(c, v, W_STR, o) != 0) return -1;
                sd_buf_puts(o, " IS NOT NULL");
            } else if (op == CMP_CONTAINS) {
                sd_buf_puts(o, "strpos(");
                if (value(c, v, W_STR, o) != 0) return -1;
                sd_buf_puts(o, ", ");
                sd_sql_quote(o, lit->str, n);
                sd_buf_puts(o, ") > 0");
            } else if (op == CMP_STARTSWITH) {
                sd_buf_puts(o, "starts_with(");
                if (value(c, v, W_STR, o) != 0) return -1;
                sd_buf_puts(o, ", ");
                sd_sql_quote(o, lit->str, n);
                sd_buf_putc(o, ')');
            } else {
                buf x;
                sd_buf_init(&x);
                int rc = value(c, v, W_STR, &x);
                size_t k = code_points(lit->str, n);
                sd_buf_printf(o, "length(%s) >= %zu AND substr(%s, length(%s) - %zu) = ", x.data ? x.data : "", k,
                              x.data ? x.data : "", x.data ? x.data : "", k - 1);
                sd_sql_quote(o, lit->str, n);
                sd_buf_free(&x);
                if (rc != 0) return -1;
            }
            break;
        default:
            if (value(c, v, W_STR, o) != 0) return -1;
            sd_buf_printf(o, " %s ", sql_op(op));
            sd_sql_quote(o, lit->str, n);
        }
    } else if (lit->kind == LIT_NUM) {
        if (!sql_op(op)) {
            sd_buf_puts(o, "FALSE"); /* contains/startswith/endswith a number: never */
        } else {
            if (value(c, v, W_NUM, o) != 0) return -1;
            sd_buf_printf(o, " %s ", sql_op(op));
            put_num(o, lit->num);
        }
    } else if (lit->kind == LIT_BOOL && op == CMP_EQ) {
        if (value(c, v, W_BOOL, o) != 0) return -1;
        sd_buf_printf(o, " = '%s'", lit->b ? "true" : "false");
    } else if (lit->kind == LIT_NULL && op == CMP_EQ) {
        if (c->d != SQL_DUCKDB || v->kind != EXPR_PATH || v->path.common)
            return sd_sqlc_refuse(c,
                                  "== null: the table's columns hold a JSON null as SQL NULL, like a missing member");
        sql_ref r;
        if (sd_sql_ref(c, &v->path, &r) != 0) return -1;
        if (r.kind != COL_JSON)
            return sd_sqlc_refuse(c,
                                  "== null: the table's columns hold a JSON null as SQL NULL, like a missing member");
        sd_buf_printf(o, "json_type(%s, '%s') = 'NULL'", r.column, r.jsonpath);
    } else {
        return sd_sqlc_refuse(c, "a comparison of this kind with this literal");
    }
    sd_buf_puts(o, ", FALSE)");
    return 0;
}

static int cond_cmp(sqlc *c, const ast_cond *k, buf *o) {
    const ast_expr *l = k->lhs, *r = k->rhs;
    if (k->op >= CMP_FEQ)
        return sd_sqlc_refuse(c,
                              "=~ and the i-forms fold case by Unicode's simple folding, which SQL's lower() is not");
    if (r->kind == EXPR_LIT) return cmp_lit(c, l, k->op, &r->lit, o);
    if (l->kind == EXPR_LIT && sql_op(flipped(k->op)) != NULL) return cmp_lit(c, r, flipped(k->op), &l->lit, o);
    if (l->kind == EXPR_LIT || (k->op != CMP_EQ && k->op != CMP_NE && !sql_op(k->op)))
        return sd_sqlc_refuse(c, "a string test between two values");
    /* Two values: only strings compare exactly. */
    sd_buf_puts(o, k->op == CMP_NE ? "(NOT COALESCE(" : "COALESCE(");
    if (sd_sql_string_value(c, l, o) != 0) return -1;
    sd_buf_printf(o, " %s ", k->op == CMP_NE ? "=" : sql_op(k->op));
    if (sd_sql_string_value(c, r, o) != 0) return -1;
    sd_buf_puts(o, k->op == CMP_NE ? ", FALSE))" : ", FALSE)");
    return 0;
}

static int cond_in(sqlc *c, const ast_expr *v, const ast_lit *list, buf *o) {
    /* Each type of member against the value read as that type. */
    static const lit_kind kinds[] = {LIT_STR, LIT_NUM, LIT_BOOL};
    sd_buf_puts(o, "(FALSE");
    for (size_t t = 0; t < 3; t++) {
        size_t n = 0;
        for (size_t i = 0; i < list->nitems; i++) n += list->items[i].kind == kinds[t];
        if (!n) continue;
        sd_buf_puts(o, " OR COALESCE(");
        if (value(c, v, t == 0 ? W_STR : t == 1 ? W_NUM : W_BOOL, o) != 0) return -1;
        sd_buf_puts(o, " IN (");
        size_t k = 0;
        for (size_t i = 0; i < list->nitems; i++) {
            const ast_lit *it = &list->items[i];
            if (it->kind != kinds[t]) continue;
            if (k++) sd_buf_puts(o, ", ");
            if (t == 0)
                sd_sql_quote(o, it->str, it->len);
            else if (t == 1)
                put_num(o, it->num);
            else
                sd_buf_puts(o, it->b ? "'true'" : "'false'");
        }
        sd_buf_puts(o, "), FALSE)");
    }
    for (size_t i = 0; i < list->nitems; i++)
        if (list->items[i].kind == LIT_NULL)
            return sd_sqlc_refuse(c, "in [..., null]: the table holds a JSON null as SQL NULL, like a missing member");
    sd_buf_putc(o, ')');
    return 0;
}

/* A glob as LIKE: * and ? become % and _, the rest stands for itself. */
static void like_pattern(buf *o, const char *g, size_t n) {
    buf p;
    sd_buf_init(&p);
    for (size_t i = 0; i < n; i++) {
        char ch = g[i];
        if (ch == '*') {
            sd_buf_putc(&p, '%');
        } else if (ch == '?') {
            sd_buf_putc(&p, '_');
        } else {
            if (ch == '%' || ch == '_' || ch == '\\') sd_buf_putc(&p, '\\');
            sd_buf_putc(&p, ch);
        }
    }
    sd_sql_quote(o, p.data ? p.data : "", p.len);
    sd_buf_puts(o, " ESCAPE '\\'");
    sd_buf_free(&p);
}

static int cond_exists(sqlc *c, const ast_expr *e, buf *o) {
    if (e->kind == EXPR_PATH && !e->path.common) {
        if (e->path.has_star) return sd_sqlc_refuse(c, "%s: [*] paths are not compiled to SQL", e->path.text);
        sql_ref r;
        if (sd_sql_ref(c, &e->path, &r) != 0) return -1;
        if (r.kind != COL_JSON) {
            sd_buf_printf(o, "(%s IS NOT NULL)", r.column);
        } else if (c->d == SQL_DUCKDB) {
            sd_buf_printf(o, "COALESCE(json_exists(%s, '%s'), FALSE)", r.column, r.jsonpath);
        } else {
            /* json_extract gives JSON null for a null member, SQL NULL for a missing one (and
             * json_exists is not in every Trino). */
            sd_buf_printf(o, "(json_extract(%s, '%s') IS NOT NULL)", r.column, r.jsonpath);
        }
        return 0;
    }
    sd_buf_putc(o, '(');
    if (sd_sql_string_value(c, e, o) != 0) return -1;
    sd_buf_puts(o, " IS NOT NULL)");
    return 0;
}

static int same_table(sqlc *c, const ast_rule *r) {
    for (size_t i = 0; i < r->non; i++)
        if (strcmp(r->on[i], c->log_type) != 0)
            return sd_sqlc_refuse(c, "rule %s (named in the condition) reads log type %s, not %s", r->name, r->on[i],
                                  c->log_type);
    return 0;
}

int sd_sql_cond(sqlc *c, const ast_cond *k, buf *o) {
    switch (k->kind) {
    case COND_OR:
    case COND_AND:
        sd_buf_putc(o, '(');
        if (sd_sql_cond(c, k->l, o) != 0) return -1;
        sd_buf_puts(o, k->kind == COND_OR ? " OR " : " AND ");
        if (sd_sql_cond(c, k->r, o) != 0) return -1;
        sd_buf_putc(o, ')');
        return 0;
    case COND_NOT:
        sd_buf_puts(o, "(NOT ");
        if (sd_sql_cond(c, k->l, o) != 0) return -1;
        sd_buf_putc(o, ')');
        return 0;
    case COND_CMP: return cond_cmp(c, k, o);
    case COND_IN: return cond_in(c, k->lhs, k->list ? &k->list->items : &k->lit, o);
    case COND_LIKE:
        if (k->fold)
            return sd_sqlc_refuse(c, "ilike folds case by Unicode's simple folding, which SQL's lower() is not");
        sd_buf_puts(o, "COALESCE(");
        if (value(c, k->lhs, W_STR, o) != 0) return -1;
        sd_buf_puts(o, " LIKE ");
        like_pattern(o, k->lit.str, k->lit.len);
        sd_buf_puts(o, ", FALSE)");
        return 0;
    case COND_MATCHES:
        return sd_sqlc_refuse(c, "matches /%s/: PCRE2 regexes are not the SQL engines' (RE2, Java)", k->lit.str);
    case COND_CIDR: return sd_sqlc_refuse(c, "in cidr(...): no SQL test of an address string that all dialects share");
    case COND_EXISTS: return cond_exists(c, k->lhs, o);
    case COND_ANY:
    case COND_ALL: return sd_sqlc_refuse(c, "any/all over the elements of an array are not compiled to SQL");
    case COND_STRS: return sd_sqlc_refuse(c, "a string test against a list is not compiled to SQL");
    case COND_NAME:
        if (k->macro) {
            sd_buf_putc(o, '(');
            if (sd_sql_cond(c, k->macro->cond, o) != 0) return -1;
            sd_buf_putc(o, ')');
            return 0;
        }
        if (k->rule && k->rule->where) {
            if (same_table(c, k->rule) != 0) return -1;
            sd_buf_putc(o, '(');
            if (sd_sql_cond(c, k->rule->where, o) != 0) return -1;
            sd_buf_putc(o, ')');
            return 0;
        }
        return sd_sqlc_refuse(c, "unresolved name %s", k->name);
    }
    return -1;
}
