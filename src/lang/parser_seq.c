/* parser_seq.c — a sequence clause and its steps.
 *
 *   sequence = "sequence" ["unordered"] "within" DUR ["by" keys] "{" { step [";"] } "}"
 *   step     = ["not"] NAME ":" condition ["by" keys] ["count" (">=" | ">") N ["within" DUR]]
 *
 * A step's condition ends where `by` or `count` starts (both are keywords,
 * never operators). What is well-formed but wrong — a `not` step with a
 * count, steps whose keys differ in number, an unordered sequence with a
 * `not` step — is the checker's to say (check_ext.c).
 */
#include <stdlib.h>
#include <string.h>

#include "lang/parser_int.h"

static bool expect_tok(parser *p, tok_kind k, const char *what) {
    if (p->tok.kind != k) {
        sd_parser_expected(p, what);
        return false;
    }
    sd_parser_advance(p);
    return true;
}

/* "count (>= | >) N [within DUR]" after a step's condition. */
static bool parse_step_count(parser *p, ast_step *s) {
    s->has_count = true;
    s->count_loc = sd_parser_loc(p);
    sd_parser_advance(p);
    if (p->tok.kind != TOK_GE && p->tok.kind != TOK_GT) {
        sd_parser_expected(p, "'>=' or '>'");
        return false;
    }
    s->count_gt = p->tok.kind == TOK_GT;
    sd_parser_advance(p);
    if (p->tok.kind != TOK_NUMBER) {
        sd_parser_expected(p, "a number");
        return false;
    }
    s->count = p->tok.num;
    sd_parser_advance(p);
    if (!sd_parser_is_kw(p, "within")) return true;
    sd_parser_advance(p);
    return sd_parser_duration(p, &s->within_ms);
}

static void step_free(ast_step *s) {
    free(s->name);
    sd_ast_cond_free(s->cond);
    for (size_t i = 0; i < s->nby; i++) {
        sd_ast_expr_free(s->by[i].expr);
        free(s->by[i].text);
    }
    free(s->by);
}

static bool parse_step(parser *p, ast_step *s) {
    memset(s, 0, sizeof *s);
    s->loc = sd_parser_loc(p);
    if (sd_parser_is_kw(p, "not")) {
        s->negated = true;
        sd_parser_advance(p);
    }
    if (!(s->name = sd_parser_take_name(p, "step"))) return false;
    if (!expect_tok(p, TOK_COLON, "':'") || !(s->cond = sd_parser_condition(p))) return false;
    if (!sd_parser_keys(p, &s->by, &s->nby)) return false;
    if (sd_parser_is_kw(p, "count") && !parse_step_count(p, s)) return false;
    return true;
}

bool sd_parser_sequence(parser *p, ast_rule *r) {
    sd_parser_advance(p);
    if (sd_parser_is_kw(p, "unordered")) {
        r->unordered = true;
        sd_parser_advance(p);
    }
    if (!sd_parser_window(p, r) || !expect_tok(p, TOK_LBRACE, "'{'")) return false;
    p->brace = 1;
    while (p->tok.kind != TOK_RBRACE) {
        ast_step s;
        bool ok = parse_step(p, &s);
        ast_step *steps = ok ? realloc(r->steps, (r->nsteps + 1) * sizeof *steps) : NULL;
        if (!steps) {
            if (ok) sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
            step_free(&s);
            return false;
        }
        r->steps = steps;
        r->steps[r->nsteps++] = s;
        if (p->tok.kind == TOK_SEMI) {
            sd_parser_advance(p);
        } else if (p->tok.kind != TOK_RBRACE) {
            sd_parser_expected(p, "';' or '}'");
            return false;
        }
    }
    sd_parser_advance(p);
    p->brace = 0;
    return true;
}
