/* parser_elem.c — the conditions Part 2 of the language adds: element
 * predicates and string tests against lists.
 *
 *   elem   = ("any" | "all") PATH "(" condition ")"      PATH ends in [*]
 *   strs   = expr OP ( "[" strings "]" | NAME )
 *            OP: =~ contains startswith endswith icontains istartswith iendswith like ilike
 *
 * Inside an element predicate's condition `.x` is relative to the element,
 * `.` is the element itself and `$.x` the event's root: the parser only
 * records how a path was written (`rooted`); the checker and the compiler
 * decide what it reads. What is well-formed but wrong (a path not ending in
 * [*], a list of numbers after `contains`) is the checker's to say.
 */
#include <stdlib.h>
#include <string.h>

#include "lang/parser_int.h"

static const struct {
    const char *word;
    cmp_op op;
} string_ops[] = {
    {"contains", CMP_CONTAINS},   {"startswith", CMP_STARTSWITH},   {"endswith", CMP_ENDSWITH},
    {"icontains", CMP_ICONTAINS}, {"istartswith", CMP_ISTARTSWITH}, {"iendswith", CMP_IENDSWITH},
};

bool sd_parser_string_op(const parser *p, cmp_op *op) {
    *op = CMP_EQ;
    for (size_t i = 0; i < sizeof string_ops / sizeof string_ops[0]; i++)
        if (sd_parser_is_kw(p, string_ops[i].word)) {
            *op = string_ops[i].op;
            return true;
        }
    return false;
}

bool sd_parser_at_list_name(const parser *p) {
    if (p->tok.kind != TOK_IDENT || !p->tok.str || sd_parser_is_reserved(p->tok.str)) return false;
    return strcmp(p->tok.str, "true") != 0 && strcmp(p->tok.str, "false") != 0 && strcmp(p->tok.str, "null") != 0;
}

ast_cond *sd_parser_strs(parser *p, ast_expr *lhs, cmp_op op, src_loc loc) {
    ast_cond *c = calloc(1, sizeof *c);
    if (!c) {
        sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
        sd_ast_expr_free(lhs);
        return NULL;
    }
    c->kind = COND_STRS;
    c->loc = loc;
    c->op = op;
    c->lhs = lhs;
    if (p->tok.kind == TOK_LBRACKET) {
        if (!sd_parser_lit_list(p, &c->lit, false)) {
            sd_ast_cond_free(c);
            return NULL;
        }
        return c;
    }
    c->name = p->tok.str; /* sd_parser_at_list_name said it is a word */
    p->tok.str = NULL;
    sd_parser_advance(p);
    return c;
}

ast_cond *sd_parser_elem(parser *p, bool all, src_loc loc) {
    ast_cond *c = calloc(1, sizeof *c);
    ast_expr *e = calloc(1, sizeof *e);
    if (!c || !e) {
        free(c);
        free(e);
        sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
        return NULL;
    }
    c->kind = all ? COND_ALL : COND_ANY;
    c->loc = loc;
    c->lhs = e;
    e->kind = EXPR_PATH;
    e->loc = sd_parser_loc(p);
    e->path = p->tok.path;
    e->rooted = p->tok.rooted;
    memset(&p->tok.path, 0, sizeof p->tok.path);
    sd_parser_advance(p);
    if (p->tok.kind != TOK_LPAREN) {
        sd_parser_expected(p, all ? "'(' and the condition every element must satisfy"
                                  : "'(' and the condition an element must satisfy");
        sd_ast_cond_free(c);
        return NULL;
    }
    src_loc open = sd_parser_loc(p);
    if (!sd_parser_enter(p)) {
        sd_ast_cond_free(c);
        return NULL;
    }
    sd_parser_advance(p);
    c->l = sd_parser_condition(p);
    sd_parser_leave(p);
    if (!c->l) {
        sd_ast_cond_free(c);
        return NULL;
    }
    if (!sd_parser_close_paren(p, open)) {
        sd_ast_cond_free(c);
        return NULL;
    }
    return c;
}
