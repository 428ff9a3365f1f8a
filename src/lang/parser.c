/* parser.c — rule source text → AST: declarations, rules and their clauses.
 *
 *   file   = { list | macro | rule | tune | disable }      (tune, disable: parser_tune.c)
 *   list   = "list" NAME "=" "[" lits "]"
 *   macro  = "macro" NAME "=" condition
 *   rule   = "rule" NAME "{" { clause } "}"
 *   clause = meta {..} | on SRC,.. | where COND | count (>=|>) N window
 *          | distinct EXPR (>=|>) N window | sum EXPR (>=|>) N window
 *          | sequence ["unordered"] window "{" { STEP [";"] } "}"       (parser_seq.c)
 *          | throttle DUR [by keys] | output STRING | private
 *          | severity { LEVEL when COND ... }               (parser_tune.c)
 *   window = "within" DUR [ "by" EXPR { "," EXPR } ]
 *
 * Clauses may come in any order, each at most once (count, distinct and
 * sequence share one slot). Promises: every error of a file is reported, in
 * source order, as "expected X after 'Y', found Z" where that fits; after an
 * error the parser resynchronises at the next clause keyword that starts a
 * line, the rule's closing brace, or the next declaration keyword that starts
 * a line. A declaration with an error is replaced by a stub that keeps only
 * its name and place (`broken`), so the checker can still run over the rest
 * and report its errors and warnings without calling the stub's name unknown.
 * What is well-formed but wrong (a rule without `where`, `where` beside
 * `sequence`, a meta key given twice, thresholds) is the checker's to say.
 */
#include "lang/parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/parser_int.h"
#include "lang/tune.h"
#include "util/buf.h"
#include "util/suggest.h"
#include "util/limits.h"

/* ---- the token cursor and reporting ---------------------------------- */

/* Copies source text for a message, cut at a character boundary. */
static void copy_excerpt(const char *s, size_t n, char *out, size_t outsz) {
    size_t max = outsz - 4;
    bool cut = n > max;
    if (cut) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    }
    memcpy(out, s, n);
    if (cut) memcpy(out + n, "...", 3), n += 3;
    out[n] = 0;
}

void sd_parser_report_lex_error(parser *p) {
    const lex_token *t = &p->tok;
    sd_parser_error(p, t->err_line, t->err_col, "%s", t->str ? t->str : "out of memory");
}

void sd_parser_advance(parser *p) {
    if (p->tok.kind != TOK_EOF || p->tok.len)
        copy_excerpt(p->lx.src + p->tok.start, p->tok.len, p->prev, sizeof p->prev);
    sd_lexer_token_free(&p->tok);
    sd_lexer_next(&p->lx, &p->tok);
    if (p->tok.kind == TOK_ERROR) sd_parser_report_lex_error(p);
}

void sd_parser_error(parser *p, uint32_t line, uint32_t col, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sd_diag_add(p->d, DIAG_ERROR, p->file, line, col, "%s", msg);
    p->errors++;
}

void sd_parser_describe(const parser *p, char *out, size_t outsz) {
    if (p->tok.kind == TOK_EOF) {
        snprintf(out, outsz, "end of file");
        return;
    }
    char ex[40];
    copy_excerpt(p->lx.src + p->tok.start, p->tok.len, ex, sizeof ex);
    snprintf(out, outsz, "'%s'", ex);
}

bool sd_parser_close_paren(parser *p, src_loc open) {
    if (p->tok.kind == TOK_RPAREN) {
        sd_parser_advance(p);
        return true;
    }
    if (p->tok.kind != TOK_ERROR) { /* a lexer error is reported already */
        char found[64];
        sd_parser_describe(p, found, sizeof found);
        sd_parser_error(p, p->tok.line, p->tok.col, "expected ')' to close '(' opened at %u:%u, found %s",
                        (unsigned)open.line, (unsigned)open.col, found);
    }
    return false;
}

void sd_parser_expected(parser *p, const char *what) { sd_parser_expected_near(p, what, NULL, 0); }

void sd_parser_expected_near(parser *p, const char *what, const char *const *words, size_t nwords) {
    if (p->tok.kind == TOK_ERROR) return; /* reported when it was lexed */
    char found[64];
    sd_parser_describe(p, found, sizeof found);
    char hint[64] = "";
    if (p->tok.kind == TOK_IDENT && p->tok.str) {
        suggest s;
        sd_suggest_init(&s, p->tok.str);
        sd_suggest_offer_all(&s, words, nwords);
        if (sd_suggest_best(&s)) snprintf(hint, sizeof hint, " (did you mean '%s'?)", sd_suggest_best(&s));
    }
    if (p->prev[0])
        sd_parser_error(p, p->tok.line, p->tok.col, "expected %s after '%s', found %s%s", what, p->prev, found, hint);
    else
        sd_parser_error(p, p->tok.line, p->tok.col, "expected %s, found %s%s", what, found, hint);
}

src_loc sd_parser_loc(const parser *p) {
    src_loc l = {p->file_idx, p->tok.line, p->tok.col};
    return l;
}

bool sd_parser_is_kw(const parser *p, const char *kw) {
    return p->tok.kind == TOK_IDENT && p->tok.str && strcmp(p->tok.str, kw) == 0;
}

static bool word_in(const char *w, const char *const *words, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(w, words[i]) == 0) return true;
    return false;
}

bool sd_parser_is_reserved(const char *word) {
    static const char *const words[] = {
        "list", "macro", "rule", "meta", "on", "where", "count", "distinct", "sequence", "within", "by", "throttle",
        "output", "private", "and", "or", "not", "in", "cidr", "contains", "startswith", "endswith", "like", "matches",
        "exists", "lower", "upper", "len", "coalesce", "true", "false", "null",
        /* Part 2 (any, all and unordered are words only where they stand: a rule may be named `all`) */
        "sum", "icontains", "istartswith", "iendswith", "ilike", "b64decode", "text", "hour", "weekday"};
    /* The declarations of tune.h. */
    if (strcmp(word, "tune") == 0 || strcmp(word, "disable") == 0) return true;
    return word_in(word, words, sizeof words / sizeof words[0]);
}

bool sd_parser_enter(parser *p) {
    if (p->depth >= LIMIT_PARSE_DEPTH) {
        sd_parser_error(p, p->tok.line, p->tok.col, "nesting deeper than %d", LIMIT_PARSE_DEPTH);
        return false;
    }
    p->depth++;
    return true;
}

void sd_parser_leave(parser *p) { p->depth--; }

static bool at_decl_keyword(const parser *p) {
    return sd_parser_is_kw(p, "list") || sd_parser_is_kw(p, "macro") || sd_parser_is_kw(p, "rule") ||
           sd_parser_is_kw(p, "tune") || sd_parser_is_kw(p, "disable");
}

static const char *const clause_words[] = {"meta",     "on",     "where",   "count", "distinct", "sequence",
                                           "throttle", "output", "private", "sum",   "severity"};
#define NCLAUSES (sizeof clause_words / sizeof clause_words[0])

static int clause_index(const parser *p) {
    if (p->tok.kind != TOK_IDENT) return -1;
    for (size_t i = 0; i < NCLAUSES; i++)
        if (strcmp(p->tok.str, clause_words[i]) == 0) return (int)i;
    return -1;
}

/* Skips to the next declaration keyword that starts a line (or the end). */
static void skip_to_decl(parser *p) {
    while (p->tok.kind != TOK_EOF && !(p->tok.line_start && at_decl_keyword(p))) sd_parser_advance(p);
}

typedef enum { SYNC_CLOSE, SYNC_CLAUSE, SYNC_END } sync_stop;

/* Skips a broken clause: to a clause keyword starting a line in the rule
 * body, past the rule's closing brace, or to the next declaration. */
static sync_stop skip_in_rule(parser *p) {
    int depth = p->brace;
    p->brace = 0;
    while (true) {
        if (p->tok.kind == TOK_EOF) return SYNC_END;
        if (p->tok.line_start && at_decl_keyword(p)) return SYNC_END;
        if (depth == 0 && p->tok.line_start && clause_index(p) >= 0) return SYNC_CLAUSE;
        if (p->tok.kind == TOK_LBRACE) {
            depth++;
        } else if (p->tok.kind == TOK_RBRACE) {
            if (depth == 0) {
                sd_parser_advance(p);
                return SYNC_CLOSE;
            }
            depth--;
        }
        sd_parser_advance(p);
    }
}

/* A declared name (list, macro, rule, step): an identifier that is not a keyword. */
static char *take_name(parser *p, const char *kind) { return sd_parser_take_name(p, kind); }

char *sd_parser_take_name(parser *p, const char *kind) {
    if (p->tok.kind == TOK_IDENT && sd_parser_is_reserved(p->tok.str)) {
        sd_parser_error(p, p->tok.line, p->tok.col, "'%s' is a keyword and cannot name a %s", p->tok.str, kind);
        return NULL;
    }
    if (p->tok.kind != TOK_IDENT) {
        char what[64];
        snprintf(what, sizeof what, "a %s name", kind);
        sd_parser_expected(p, what);
        return NULL;
    }
    char *name = p->tok.str;
    p->tok.str = NULL;
    sd_parser_advance(p);
    return name;
}

static bool expect(parser *p, tok_kind k, const char *what) {
    if (p->tok.kind != k) {
        sd_parser_expected(p, what);
        return false;
    }
    sd_parser_advance(p);
    return true;
}

static bool out_of_memory(parser *p) {
    sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
    return false;
}

/* Makes room for one more element in arr (holding n); false, reported, when
 * memory runs out (arr is then unchanged). */
#define GROW(p, arr, n)                                                                                                \
    (((p)->scratch = realloc((arr), ((n) + 1) * sizeof *(arr))) != NULL ? ((arr) = (p)->scratch, true)                 \
                                                                        : out_of_memory(p))

/* ---- list and macro --------------------------------------------------- */

static void parse_list(parser *p) {
    ast_list *l = calloc(1, sizeof *l);
    if (!l) {
        sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
        skip_to_decl(p);
        return;
    }
    l->loc = sd_parser_loc(p);
    sd_parser_advance(p);
    bool named = (l->name = take_name(p, "list")) != NULL;
    if (!named || !expect(p, TOK_ASSIGN, "'='") || !sd_parser_lit_list(p, &l->items, false)) {
        sd_ast_lit_free(&l->items);
        memset(&l->items, 0, sizeof l->items);
        l->items.kind = LIT_LIST;
        l->broken = true;
        skip_to_decl(p);
    }
    if (!named || !GROW(p, p->rs->lists, p->rs->nlists)) {
        free(l->name);
        sd_ast_lit_free(&l->items);
        free(l);
        return;
    }
    p->rs->lists[p->rs->nlists++] = l;
}

static void parse_macro(parser *p) {
    ast_macro *m = calloc(1, sizeof *m);
    if (!m) {
        sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
        skip_to_decl(p);
        return;
    }
    m->loc = sd_parser_loc(p);
    sd_parser_advance(p);
    bool named = (m->name = take_name(p, "macro")) != NULL;
    bool ok = named && expect(p, TOK_ASSIGN, "'='") && (m->cond = sd_parser_condition(p));
    if (ok && p->tok.kind != TOK_EOF && !at_decl_keyword(p)) {
        sd_parser_expected(p, "'and', 'or' or the next declaration");
        ok = false;
    }
    if (!ok) {
        sd_ast_cond_free(m->cond);
        m->cond = NULL;
        m->broken = true;
        skip_to_decl(p);
    }
    if (!named || !GROW(p, p->rs->macros, p->rs->nmacros)) {
        free(m->name);
        sd_ast_cond_free(m->cond);
        free(m);
        return;
    }
    p->rs->macros[p->rs->nmacros++] = m;
}

/* ---- rule clauses ------------------------------------------------------ */

static bool parse_meta(parser *p, ast_rule *r) {
    sd_parser_advance(p);
    if (!expect(p, TOK_LBRACE, "'{'")) return false;
    p->brace = 1;
    while (p->tok.kind != TOK_RBRACE) {
        if (p->tok.kind != TOK_IDENT) {
            sd_parser_expected(p, "a meta key or '}'");
            return false;
        }
        ast_meta m;
        memset(&m, 0, sizeof m);
        m.loc = sd_parser_loc(p);
        m.key = p->tok.str;
        p->tok.str = NULL;
        sd_parser_advance(p);
        bool ok =
            expect(p, TOK_ASSIGN, "'='") && (p->tok.kind == TOK_LBRACKET ? sd_parser_lit_list(p, &m.value, true)
                                                                         : sd_parser_scalar_lit(p, &m.value, true));
        if (!ok || !GROW(p, r->meta, r->nmeta)) {
            free(m.key);
            sd_ast_lit_free(&m.value);
            return false;
        }
        r->meta[r->nmeta++] = m;
        if (p->tok.kind == TOK_COMMA || p->tok.kind == TOK_SEMI) sd_parser_advance(p);
    }
    sd_parser_advance(p);
    p->brace = 0;
    return true;
}

static bool parse_on(parser *p, ast_rule *r) {
    sd_parser_advance(p);
    while (true) {
        src_loc loc = sd_parser_loc(p);
        if (p->tok.kind == TOK_IDENT && !sd_parser_is_reserved(p->tok.str)) {
            sd_lexer_rescan_hyphen_name(&p->lx, &p->tok);
            if (p->tok.kind == TOK_ERROR) {
                sd_parser_report_lex_error(p);
                return false;
            }
        } else if (p->tok.kind != TOK_STRING) {
            sd_parser_expected(p, "a source name");
            return false;
        }
        if (!GROW(p, r->on, r->non) || !GROW(p, r->on_loc, r->non)) return false;
        r->on[r->non] = p->tok.str;
        r->on_loc[r->non++] = loc;
        p->tok.str = NULL;
        sd_parser_advance(p);
        if (p->tok.kind != TOK_COMMA) return true;
        sd_parser_advance(p);
    }
}

static bool parse_keys(parser *p, ast_key **keys, size_t *nkeys) { return sd_parser_keys(p, keys, nkeys); }

bool sd_parser_keys(parser *p, ast_key **keys, size_t *nkeys) {
    if (!sd_parser_is_kw(p, "by")) return true;
    sd_parser_advance(p);
    while (true) {
        ast_expr *e = sd_parser_expr(p);
        if (!e) return false;
        char *text = sd_ast_expr_text(e);
        if (!text || !GROW(p, *keys, *nkeys)) {
            if (!text) sd_parser_error(p, e->loc.line, e->loc.col, "out of memory");
            sd_ast_expr_free(e);
            free(text);
            return false;
        }
        (*keys)[*nkeys].expr = e;
        (*keys)[(*nkeys)++].text = text;
        if (p->tok.kind != TOK_COMMA) return true;
        sd_parser_advance(p);
    }
}

bool sd_parser_duration(parser *p, int64_t *ms) {
    if (p->tok.kind != TOK_DURATION) {
        sd_parser_expected(p, "a duration (like 500ms, 30s, 10m, 1h or 7d)");
        return false;
    }
    *ms = (int64_t)p->tok.num;
    sd_parser_advance(p);
    return true;
}

/* "within DUR [by K, ...]" */
bool sd_parser_window(parser *p, ast_rule *r) {
    if (!sd_parser_is_kw(p, "within")) {
        sd_parser_expected(p, "'within'");
        return false;
    }
    sd_parser_advance(p);
    return sd_parser_duration(p, &r->within_ms) && parse_keys(p, &r->by, &r->nby);
}

/* "(>= | >) N" */
bool sd_parser_threshold(parser *p, ast_rule *r) {
    if (p->tok.kind != TOK_GE && p->tok.kind != TOK_GT) {
        sd_parser_expected(p, "'>=' or '>'");
        return false;
    }
    r->agg_gt = p->tok.kind == TOK_GT;
    sd_parser_advance(p);
    if (p->tok.kind != TOK_NUMBER) {
        sd_parser_expected(p, "a number");
        return false;
    }
    r->threshold = p->tok.num;
    sd_parser_advance(p);
    return true;
}

static bool parse_clause(parser *p, ast_rule *r, int which) {
    switch (which) {
    case 0: return parse_meta(p, r);
    case 1: return parse_on(p, r);
    case 2: sd_parser_advance(p); return (r->where = sd_parser_condition(p)) != NULL;
    case 3:
        r->agg = AGG_COUNT;
        sd_parser_advance(p);
        return sd_parser_threshold(p, r) && sd_parser_window(p, r);
    case 4:
        r->agg = AGG_DISTINCT;
        sd_parser_advance(p);
        return (r->distinct = sd_parser_expr(p)) && sd_parser_threshold(p, r) && sd_parser_window(p, r);
    case 5: r->agg = AGG_SEQUENCE; return sd_parser_sequence(p, r);
    case 9:
        r->agg = AGG_SUM;
        sd_parser_advance(p);
        return (r->distinct = sd_parser_expr(p)) && sd_parser_threshold(p, r) && sd_parser_window(p, r);
    case 6:
        r->has_throttle = true;
        sd_parser_advance(p);
        return sd_parser_duration(p, &r->throttle_ms) && parse_keys(p, &r->throttle_by, &r->nthrottle_by);
    case 10: return sd_parse_severity_clause(p, r);
    case 7:
        r->output_loc = sd_parser_loc(p); /* of the keyword; moved to the string below */
        sd_parser_advance(p);
        if (p->tok.kind != TOK_STRING) {
            sd_parser_expected(p, "a template string");
            return false;
        }
        r->output_loc = sd_parser_loc(p);
        r->output = p->tok.str;
        p->tok.str = NULL;
        sd_parser_advance(p);
        return true;
    case 8:
    default:
        r->is_private = true;
        sd_parser_advance(p);
        return true;
    }
}

/* Which clauses were seen, and where: count, distinct, sum and sequence share one slot. */
static size_t clause_slot(int which) { return (which >= 3 && which <= 5) || which == 9 ? 3 : (size_t)which; }

static void parse_rule(parser *p) {
    ast_rule *r = calloc(1, sizeof *r);
    if (!r) {
        sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
        skip_to_decl(p);
        return;
    }
    r->loc = sd_parser_loc(p);
    sd_parser_advance(p);
    if (!(r->name = take_name(p, "rule")) || !expect(p, TOK_LBRACE, "'{'")) {
        sd_ast_rule_free(r);
        skip_to_decl(p);
        return;
    }
    src_loc seen[NCLAUSES];
    memset(seen, 0, sizeof seen);
    bool failed = false;
    while (true) {
        if (p->tok.kind == TOK_RBRACE) {
            sd_parser_advance(p);
            break;
        }
        if (p->tok.kind == TOK_EOF || (p->tok.line_start && at_decl_keyword(p))) {
            char found[64];
            sd_parser_describe(p, found, sizeof found);
            sd_parser_error(p, p->tok.line, p->tok.col, "expected '}' to close rule '%s' opened at %u:%u, found %s",
                            r->name, (unsigned)r->loc.line, (unsigned)r->loc.col, found);
            failed = true;
            break;
        }
        int which = clause_index(p);
        bool ok;
        if (which < 0) {
            /* A typo here is usually a clause keyword, or 'and'/'or' after a condition. */
            static const char *const near[] = {"meta", "on",       "where",    "count",  "distinct",
                                               "sum",  "sequence", "throttle", "output", "private",
                                               "and",  "or",       "severity"};
            sd_parser_expected_near(
                p, "a rule clause (meta, on, where, count, distinct, sum, sequence, throttle, output, private) or '}'",
                near, sizeof near / sizeof near[0]);
            ok = false;
        } else if (seen[clause_slot(which)].line) {
            src_loc first = seen[clause_slot(which)];
            if (clause_slot(which) == 3)
                sd_parser_error(p, p->tok.line, p->tok.col,
                                "rule '%s' already has an aggregation (count, distinct, sum or sequence) at %u:%u",
                                r->name, (unsigned)first.line, (unsigned)first.col);
            else
                sd_parser_error(p, p->tok.line, p->tok.col, "duplicate '%s' in rule '%s' (first at %u:%u)",
                                clause_words[which], r->name, (unsigned)first.line, (unsigned)first.col);
            sd_parser_advance(p);
            ok = false;
        } else {
            seen[clause_slot(which)] = sd_parser_loc(p);
            if (clause_slot(which) == 3) r->agg_loc = sd_parser_loc(p);
            if (which == 6) r->throttle_loc = sd_parser_loc(p);
            ok = parse_clause(p, r, which);
        }
        if (ok) continue;
        failed = true;
        sync_stop stop = skip_in_rule(p);
        if (stop != SYNC_CLAUSE) break;
    }
    if (failed) { /* keep a stub: the name and place only */
        ast_rule *stub = calloc(1, sizeof *stub);
        if (stub) {
            stub->name = r->name;
            r->name = NULL;
            stub->loc = r->loc;
            stub->broken = true;
        }
        sd_ast_rule_free(r);
        r = stub;
    }
    if (!r || !GROW(p, p->rs->rules, p->rs->nrules)) {
        sd_ast_rule_free(r);
        return;
    }
    p->rs->rules[p->rs->nrules++] = r;
}

/* For parser_tune.c (keys and durations are shared above). */
void sd_parser_skip_to_decl(parser *p) { skip_to_decl(p); }

/* ---- the file ---------------------------------------------------------- */

size_t sd_parse_source(ast_ruleset *rs, const char *filename, const char *src, size_t len, diag_list *d) {
    parser p;
    memset(&p, 0, sizeof p);
    p.rs = rs;
    p.d = d;
    p.file = filename ? filename : "";
    p.file_idx = sd_ast_add_file(rs, p.file);
    sd_lexer_init(&p.lx, src, len);
    sd_lexer_next(&p.lx, &p.tok);
    if (p.tok.kind == TOK_ERROR) sd_parser_report_lex_error(&p);
    while (p.tok.kind != TOK_EOF) {
        if (sd_parser_is_kw(&p, "list")) {
            parse_list(&p);
        } else if (sd_parser_is_kw(&p, "macro")) {
            parse_macro(&p);
        } else if (sd_parser_is_kw(&p, "rule")) {
            parse_rule(&p);
        } else if (sd_parser_is_kw(&p, "tune") || sd_parser_is_kw(&p, "disable")) {
            sd_parse_tune(&p);
        } else {
            if (p.tok.kind != TOK_ERROR) {
                /* "after 'x'" would only name the end of the previous declaration */
                static const char *const decls[] = {"rule", "macro", "list"};
                p.prev[0] = 0;
                sd_parser_expected_near(&p, "'list', 'macro' or 'rule'", decls, 3);
            }
            sd_parser_advance(&p);
            skip_to_decl(&p);
        }
    }
    sd_lexer_token_free(&p.tok);
    return p.errors;
}
