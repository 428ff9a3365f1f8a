/* parser_cond.c — conditions, expressions and literals of the rule language.
 *
 *   condition  = and_cond { "or" and_cond }
 *   and_cond   = not_cond { "and" not_cond }
 *   not_cond   = "not" not_cond | primary
 *   primary    = "(" condition ")" | "exists" expr | NAME | expr compare
 *              | ("any" | "all") PATH "(" condition ")"          (parser_elem.c)
 *   compare    = (== != < <= > >= =~ contains startswith endswith
 *                 icontains istartswith iendswith) expr
 *              | (=~ contains ... iendswith) ( "[" strings "]" | NAME )   (parser_elem.c)
 *              | "in" ( "[" lits "]" | NAME | "cidr" "(" strings ")" )
 *              | ("like" | "ilike") ( STRING | "[" strings "]" | NAME ) | "matches" REGEX
 *   expr       = PATH | STRING | NUMBER | true | false | null
 *              | FUNCTION "(" expr {"," expr} ")"
 *
 * Chains of one operator (a or b or c ...) become balanced trees, keeping the
 * operands' left-to-right order, so a rule with thousands of alternatives
 * still gives a tree of logarithmic depth: every later stage may recurse.
 * Each location is the operator's (or, for names and `exists`, the first
 * token's).
 */
#include <stdlib.h>
#include <string.h>

#include "lang/parser_int.h"
#include "util/suggest.h"

static void *new_node(parser *p, size_t size) {
    void *n = calloc(1, size);
    if (!n) sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
    return n;
}

static ast_cond *new_cond(parser *p, cond_kind k, src_loc loc) {
    ast_cond *c = new_node(p, sizeof *c);
    if (c) {
        c->kind = k;
        c->loc = loc;
    }
    return c;
}

/* true/false/null and the functions start an expression, not a name. */
#define functions     sd_ast_fn_names
#define NFUNCTIONS    ((size_t)FN_COUNT)
#define FUNCTION_LIST AST_FN_LIST

static bool is_value_word(const char *w) {
    if (strcmp(w, "true") == 0 || strcmp(w, "false") == 0 || strcmp(w, "null") == 0) return true;
    for (size_t i = 0; i < NFUNCTIONS; i++)
        if (strcmp(w, functions[i]) == 0) return true;
    return false;
}

/* `name(` where name is no function: says so, with the nearest function.
 * The current token is the '(' after the name. */
static void unknown_function(parser *p, const char *name, src_loc loc) {
    suggest s;
    sd_suggest_init(&s, name);
    sd_suggest_offer_all(&s, functions, NFUNCTIONS);
    if (sd_suggest_best(&s))
        sd_parser_error(p, loc.line, loc.col,
                        "unknown function '%s' (did you mean '%s'?); the functions are " FUNCTION_LIST, name,
                        sd_suggest_best(&s));
    else
        sd_parser_error(p, loc.line, loc.col, "unknown function '%s'; the functions are " FUNCTION_LIST, name);
}

static bool starts_expr(const parser *p) {
    tok_kind k = p->tok.kind;
    return k == TOK_PATH || k == TOK_STRING || k == TOK_NUMBER || (k == TOK_IDENT && is_value_word(p->tok.str));
}

static void take_string(parser *p, ast_lit *l) {
    l->kind = LIT_STR;
    l->loc = sd_parser_loc(p);
    l->str = p->tok.str;
    l->len = p->tok.str_len;
    p->tok.str = NULL;
}

bool sd_parser_scalar_lit(parser *p, ast_lit *out, bool meta) {
    memset(out, 0, sizeof *out);
    out->loc = sd_parser_loc(p);
    switch (p->tok.kind) {
    case TOK_STRING: take_string(p, out); break;
    case TOK_NUMBER:
        out->kind = LIT_NUM;
        out->num = p->tok.num;
        break;
    case TOK_DURATION:
        if (!meta) {
            sd_parser_expected(p, "a string, number, true, false or null");
            return false;
        }
        out->kind = LIT_DURATION;
        out->num = p->tok.num;
        break;
    case TOK_IDENT:
        if (strcmp(p->tok.str, "true") == 0 || strcmp(p->tok.str, "false") == 0) {
            out->kind = LIT_BOOL;
            out->b = p->tok.str[0] == 't';
        } else if (strcmp(p->tok.str, "null") == 0) {
            out->kind = LIT_NULL;
        } else if (meta) {
            out->kind = LIT_IDENT;
            out->str = p->tok.str;
            out->len = p->tok.str_len;
            p->tok.str = NULL;
        } else {
            sd_parser_expected(p, "a string, number, true, false or null");
            return false;
        }
        break;
    default: sd_parser_expected(p, meta ? "a value" : "a string, number, true, false or null"); return false;
    }
    sd_parser_advance(p);
    return true;
}

static bool lit_push(parser *p, ast_lit *list, ast_lit *item) {
    ast_lit *n = realloc(list->items, (list->nitems + 1) * sizeof *n);
    if (!n) {
        sd_parser_error(p, item->loc.line, item->loc.col, "out of memory");
        sd_ast_lit_free(item);
        return false;
    }
    list->items = n;
    list->items[list->nitems++] = *item;
    return true;
}

bool sd_parser_lit_list(parser *p, ast_lit *out, bool meta) {
    memset(out, 0, sizeof *out);
    out->kind = LIT_LIST;
    out->loc = sd_parser_loc(p);
    if (p->tok.kind != TOK_LBRACKET) {
        sd_parser_expected(p, "'['");
        return false;
    }
    sd_parser_advance(p);
    while (p->tok.kind != TOK_RBRACKET) {
        ast_lit item;
        if (!sd_parser_scalar_lit(p, &item, meta) || !lit_push(p, out, &item)) goto fail;
        if (p->tok.kind == TOK_COMMA) {
            sd_parser_advance(p);
        } else if (p->tok.kind != TOK_RBRACKET) {
            sd_parser_expected(p, "',' or ']'");
            goto fail;
        }
    }
    sd_parser_advance(p);
    return true;
fail:
    sd_ast_lit_free(out);
    return false;
}

static ast_expr *parse_call(parser *p) {
    ast_expr *e = new_node(p, sizeof *e);
    if (!e) return NULL;
    e->kind = EXPR_CALL;
    e->loc = sd_parser_loc(p);
    for (size_t i = 0; i < NFUNCTIONS; i++)
        if (strcmp(p->tok.str, functions[i]) == 0) e->fn = (ast_fn)i;
    const char *name = functions[e->fn];
    sd_parser_advance(p);
    if (p->tok.kind != TOK_LPAREN) {
        sd_parser_expected(p, "'('");
        sd_ast_expr_free(e);
        return NULL;
    }
    if (!sd_parser_enter(p)) {
        sd_ast_expr_free(e);
        return NULL;
    }
    sd_parser_advance(p);
    while (true) {
        ast_expr *arg = sd_parser_expr(p);
        if (!arg) goto fail;
        ast_expr **args = realloc(e->args, (e->nargs + 1) * sizeof *args);
        if (!args) {
            sd_ast_expr_free(arg);
            sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
            goto fail;
        }
        e->args = args;
        e->args[e->nargs++] = arg;
        if (p->tok.kind == TOK_COMMA) {
            sd_parser_advance(p);
            continue;
        }
        if (p->tok.kind == TOK_RPAREN) break;
        sd_parser_expected(p, "',' or ')'");
        goto fail;
    }
    sd_parser_advance(p);
    sd_parser_leave(p);
    if ((e->fn == FN_HOUR || e->fn == FN_WEEKDAY) && e->nargs > 2) {
        sd_parser_error(p, e->loc.line, e->loc.col, "%s() takes a time and an optional offset, not %zu arguments", name,
                        e->nargs);
        sd_ast_expr_free(e);
        return NULL;
    }
    if (e->fn != FN_COALESCE && e->fn != FN_HOUR && e->fn != FN_WEEKDAY && e->nargs != 1) {
        sd_parser_error(p, e->loc.line, e->loc.col, "%s() takes exactly one argument, not %zu", name, e->nargs);
        sd_ast_expr_free(e);
        return NULL;
    }
    return e;
fail:
    sd_parser_leave(p);
    sd_ast_expr_free(e);
    return NULL;
}

ast_expr *sd_parser_expr(parser *p) {
    if (p->tok.kind == TOK_IDENT && is_value_word(p->tok.str) && strcmp(p->tok.str, "true") != 0 &&
        strcmp(p->tok.str, "false") != 0 && strcmp(p->tok.str, "null") != 0)
        return parse_call(p);
    if (p->tok.kind == TOK_IDENT && !is_value_word(p->tok.str) && !sd_parser_is_reserved(p->tok.str)) {
        /* A word where a value goes: a misspelt function, or a field without its dot. */
        src_loc loc = sd_parser_loc(p);
        char *name = p->tok.str;
        p->tok.str = NULL;
        sd_parser_advance(p);
        if (p->tok.kind == TOK_LPAREN)
            unknown_function(p, name, loc);
        else
            sd_parser_error(p, loc.line, loc.col,
                            "expected a field path or a value, found '%s' (write '.%s' for the field)", name, name);
        free(name);
        return NULL;
    }
    if (!starts_expr(p)) {
        sd_parser_expected(p, "a field path or a value");
        return NULL;
    }
    ast_expr *e = new_node(p, sizeof *e);
    if (!e) return NULL;
    e->loc = sd_parser_loc(p);
    if (p->tok.kind == TOK_PATH) {
        e->kind = EXPR_PATH;
        e->path = p->tok.path;
        e->rooted = p->tok.rooted;
        memset(&p->tok.path, 0, sizeof p->tok.path);
        sd_parser_advance(p);
        return e;
    }
    e->kind = EXPR_LIT;
    if (!sd_parser_scalar_lit(p, &e->lit, false)) {
        sd_ast_expr_free(e);
        return NULL;
    }
    return e;
}

/* `in` followed by a literal list, a list's name, or cidr("...", ...). */
static ast_cond *parse_in(parser *p, ast_expr *lhs, src_loc loc) {
    ast_cond *c = NULL;
    if (p->tok.kind == TOK_LBRACKET) {
        c = new_cond(p, COND_IN, loc);
        if (c && !sd_parser_lit_list(p, &c->lit, false)) goto fail;
    } else if (sd_parser_is_kw(p, "cidr")) {
        c = new_cond(p, COND_CIDR, loc);
        if (!c) goto fail;
        sd_parser_advance(p);
        c->lit.kind = LIT_LIST;
        c->lit.loc = sd_parser_loc(p);
        if (p->tok.kind != TOK_LPAREN) {
            sd_parser_expected(p, "'('");
            goto fail;
        }
        sd_parser_advance(p);
        while (true) {
            if (p->tok.kind != TOK_STRING) {
                sd_parser_expected(p, "a CIDR range string");
                goto fail;
            }
            ast_lit item;
            memset(&item, 0, sizeof item);
            take_string(p, &item);
            sd_parser_advance(p);
            if (!lit_push(p, &c->lit, &item)) goto fail;
            if (p->tok.kind == TOK_COMMA) {
                sd_parser_advance(p);
                continue;
            }
            if (p->tok.kind == TOK_RPAREN) break;
            sd_parser_expected(p, "',' or ')'");
            goto fail;
        }
        sd_parser_advance(p);
    } else if (p->tok.kind == TOK_IDENT && !sd_parser_is_reserved(p->tok.str)) {
        c = new_cond(p, COND_IN, loc);
        if (!c) goto fail;
        c->name = p->tok.str;
        p->tok.str = NULL;
        sd_parser_advance(p);
    } else {
        sd_parser_expected(p, "a list, a list name or cidr(...)");
        goto fail;
    }
    if (!c) goto fail;
    c->lhs = lhs;
    return c;
fail:
    sd_ast_expr_free(lhs);
    sd_ast_cond_free(c);
    return NULL;
}

static ast_cond *parse_comparison(parser *p) {
    ast_expr *lhs = sd_parser_expr(p);
    if (!lhs) return NULL;
    src_loc loc = sd_parser_loc(p);
    cmp_op op;
    bool is_cmp = true;
    switch (p->tok.kind) {
    case TOK_EQ: op = CMP_EQ; break;
    case TOK_NE: op = CMP_NE; break;
    case TOK_LT: op = CMP_LT; break;
    case TOK_LE: op = CMP_LE; break;
    case TOK_GT: op = CMP_GT; break;
    case TOK_GE: op = CMP_GE; break;
    case TOK_FOLDEQ: op = CMP_FEQ; break;
    default: is_cmp = sd_parser_string_op(p, &op);
    }
    if (is_cmp) {
        sd_parser_advance(p);
        if (op >= CMP_CONTAINS && (p->tok.kind == TOK_LBRACKET || sd_parser_at_list_name(p)))
            return sd_parser_strs(p, lhs, op, loc);
        ast_expr *rhs = sd_parser_expr(p);
        ast_cond *c = rhs ? new_cond(p, COND_CMP, loc) : NULL;
        if (!c) {
            sd_ast_expr_free(lhs);
            sd_ast_expr_free(rhs);
            return NULL;
        }
        c->op = op;
        c->lhs = lhs;
        c->rhs = rhs;
        return c;
    }
    if (sd_parser_is_kw(p, "in")) {
        sd_parser_advance(p);
        return parse_in(p, lhs, loc);
    }
    ast_cond *c = NULL;
    if (sd_parser_is_kw(p, "like") || sd_parser_is_kw(p, "ilike")) {
        bool fold = sd_parser_is_kw(p, "ilike");
        sd_parser_advance(p);
        if (p->tok.kind == TOK_LBRACKET || sd_parser_at_list_name(p))
            return sd_parser_strs(p, lhs, fold ? CMP_ILIKE : CMP_LIKE, loc);
        if (p->tok.kind != TOK_STRING) {
            sd_parser_expected(p, "a glob pattern string, a list or a list name");
            goto fail;
        }
        if (!(c = new_cond(p, COND_LIKE, loc))) goto fail;
        c->fold = fold;
        take_string(p, &c->lit);
        sd_parser_advance(p);
    } else if (sd_parser_is_kw(p, "matches")) {
        sd_parser_advance(p);
        if (p->tok.kind == TOK_SLASH) {
            sd_lexer_rescan_regex(&p->lx, &p->tok);
            if (p->tok.kind == TOK_ERROR) {
                sd_parser_report_lex_error(p);
                goto fail;
            }
        }
        if (p->tok.kind != TOK_REGEX) {
            sd_parser_expected(p, "a regex /.../");
            goto fail;
        }
        if (!(c = new_cond(p, COND_MATCHES, loc))) goto fail;
        c->lit.kind = LIT_REGEX;
        c->lit.loc = sd_parser_loc(p);
        c->lit.str = p->tok.str;
        c->lit.len = p->tok.str_len;
        memcpy(c->lit.flags, p->tok.flags, sizeof c->lit.flags);
        p->tok.str = NULL;
        sd_parser_advance(p);
    } else {
        sd_parser_expected(p, "a comparison operator (==, !=, <, <=, >, >=, =~, in, contains, startswith, endswith, "
                              "like, matches, icontains, istartswith, iendswith, ilike)");
        goto fail;
    }
    c->lhs = lhs;
    return c;
fail:
    sd_ast_expr_free(lhs);
    sd_ast_cond_free(c);
    return NULL;
}

static ast_cond *parse_primary(parser *p) {
    src_loc loc = sd_parser_loc(p);
    if (p->tok.kind == TOK_LPAREN) {
        sd_parser_advance(p);
        ast_cond *c = sd_parser_condition(p);
        if (!c) return NULL;
        if (!sd_parser_close_paren(p, loc)) {
            sd_ast_cond_free(c);
            return NULL;
        }
        return c;
    }
    if (sd_parser_is_kw(p, "exists")) {
        sd_parser_advance(p);
        ast_expr *e = sd_parser_expr(p);
        ast_cond *c = e ? new_cond(p, COND_EXISTS, loc) : NULL;
        if (!c) {
            sd_ast_expr_free(e);
            return NULL;
        }
        c->lhs = e;
        return c;
    }
    if (p->tok.kind == TOK_IDENT && !is_value_word(p->tok.str)) {
        if (sd_parser_is_reserved(p->tok.str)) {
            sd_parser_expected(p, "a condition");
            return NULL;
        }
        ast_cond *c = new_cond(p, COND_NAME, loc);
        if (!c) return NULL;
        c->name = p->tok.str;
        p->tok.str = NULL;
        sd_parser_advance(p);
        /* `any`/`all` are words only before a path: a rule may be named `all` */
        if (p->tok.kind == TOK_PATH && (strcmp(c->name, "any") == 0 || strcmp(c->name, "all") == 0)) {
            bool all = c->name[1] == 'l';
            sd_ast_cond_free(c);
            return sd_parser_elem(p, all, loc);
        }
        if (p->tok.kind == TOK_LPAREN) {
            unknown_function(p, c->name, loc);
            sd_ast_cond_free(c);
            return NULL;
        }
        tok_kind k = p->tok.kind;
        cmp_op ignored;
        if (k == TOK_EQ || k == TOK_NE || k == TOK_LT || k == TOK_LE || k == TOK_GT || k == TOK_GE || k == TOK_FOLDEQ ||
            sd_parser_is_kw(p, "in") || sd_parser_string_op(p, &ignored) || sd_parser_is_kw(p, "like") ||
            sd_parser_is_kw(p, "ilike") || sd_parser_is_kw(p, "matches")) {
            sd_parser_error(p, loc.line, loc.col,
                            "'%s' is a macro or rule name, not a field; write '.%s' for the field", c->name, c->name);
            sd_ast_cond_free(c);
            return NULL;
        }
        return c;
    }
    if (!starts_expr(p)) {
        sd_parser_expected(p, "a condition");
        return NULL;
    }
    return parse_comparison(p);
}

static ast_cond *parse_not(parser *p) {
    if (!sd_parser_is_kw(p, "not")) return parse_primary(p);
    src_loc loc = sd_parser_loc(p);
    if (!sd_parser_enter(p)) return NULL;
    sd_parser_advance(p);
    ast_cond *inner = parse_not(p);
    sd_parser_leave(p);
    if (!inner) return NULL;
    ast_cond *c = new_cond(p, COND_NOT, loc);
    if (!c) {
        sd_ast_cond_free(inner);
        return NULL;
    }
    c->l = inner;
    return c;
}

/* Joins items[lo..hi] into a balanced tree from the preallocated inner
 * nodes; the node over items[mid] and items[mid+1] takes the location of the
 * operator written between them (after[mid]). */
static ast_cond *balance(ast_cond **items, const src_loc *after, size_t lo, size_t hi, ast_cond **pool, size_t *used,
                         cond_kind kind) {
    if (lo == hi) return items[lo];
    size_t mid = lo + (hi - lo) / 2;
    ast_cond *node = pool[(*used)++];
    node->kind = kind;
    node->loc = after[mid];
    node->l = balance(items, after, lo, mid, pool, used, kind);
    node->r = balance(items, after, mid + 1, hi, pool, used, kind);
    return node;
}

static ast_cond *parse_chain(parser *p, bool is_or) {
    const char *word = is_or ? "or" : "and";
    ast_cond *item = is_or ? parse_chain(p, false) : parse_not(p);
    if (!item || !sd_parser_is_kw(p, word)) return item;
    ast_cond **items = NULL, **pool = NULL;
    src_loc *after = NULL; /* after[i]: the operator between items[i] and items[i+1] */
    size_t n = 0, cap = 0;
    while (true) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            ast_cond **ni = realloc(items, cap * sizeof *ni);
            if (ni) items = ni;
            src_loc *na = ni ? realloc(after, cap * sizeof *na) : NULL;
            if (na) after = na;
            if (!ni || !na) {
                sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
                sd_ast_cond_free(item);
                goto fail;
            }
        }
        items[n++] = item;
        if (!sd_parser_is_kw(p, word)) break;
        after[n - 1] = sd_parser_loc(p);
        sd_parser_advance(p);
        item = is_or ? parse_chain(p, false) : parse_not(p);
        if (!item) goto fail;
    }
    /* Every inner node is allocated before any is linked, so a failure leaves
     * the operands alone and sd_ast_cond_free later works node by node. */
    pool = calloc(n - 1, sizeof *pool);
    for (size_t i = 0; pool && i < n - 1; i++) {
        pool[i] = calloc(1, sizeof **pool);
        if (!pool[i]) {
            for (size_t j = 0; j < i; j++) free(pool[j]);
            free(pool);
            pool = NULL;
        }
    }
    if (!pool) {
        sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
        goto fail;
    }
    size_t used = 0;
    ast_cond *root = balance(items, after, 0, n - 1, pool, &used, is_or ? COND_OR : COND_AND);
    free(pool);
    free(items);
    free(after);
    return root;
fail:
    for (size_t i = 0; i < n; i++) sd_ast_cond_free(items[i]);
    free(items);
    free(after);
    return NULL;
}

ast_cond *sd_parser_condition(parser *p) {
    if (!sd_parser_enter(p)) return NULL;
    ast_cond *c = parse_chain(p, true);
    sd_parser_leave(p);
    return c;
}
