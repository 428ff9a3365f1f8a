/* parser_tune.c — `tune`, `disable` and a rule's `severity` clause (tune.h).
 *
 *   tune     = "tune" TARGET "{" { item [";"] } "}"
 *   item     = "except" CONDITION [ "until" DATE ] [ STRING ]
 *            | "severity" "=" LEVEL | "throttle" DUR [ "by" K { "," K } ]
 *            | "output" STRING
 *   disable  = "disable" TARGET [ STRING ]
 *   severity = "severity" "{" { LEVEL "when" CONDITION [";"] } "}"     (a rule clause)
 *   TARGET   = a rule name, or a glob of name characters, '*' and '?'
 *   DATE     = YYYY-MM-DD, bare or quoted
 *
 * A glob and a bare date are not tokens of the language (`*` is no
 * character of it, `2027-01-31` lexes as three numbers), so both are read
 * by re-scanning the source from where the lexer put the next token; only
 * what they leave unread goes back to the lexer. Errors are reported as
 * the rule parser reports them, and a broken tune resynchronises at the
 * next item keyword that starts a line, its closing brace, or the next
 * declaration; it stays in the ruleset as `broken`, so its target is not
 * reported again and nothing of it applies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lexer_int.h"
#include "lang/parser_int.h"
#include "lang/tune.h"
#include "util/severity.h"
#include "util/suggest.h"

static const char *const item_words[] = {"except", "severity", "throttle", "output"};
#define NITEMS (sizeof item_words / sizeof item_words[0])

static bool oom(parser *p) {
    sd_parser_error(p, p->tok.line, p->tok.col, "out of memory");
    return false;
}

/* Makes room for one more element in arr (holding n). */
static bool grow(parser *p, void **arr, size_t n, size_t elem) {
    void *q = realloc(*arr, (n + 1) * elem);
    if (!q) return oom(p);
    *arr = q;
    return true;
}

/* Lexes the token after the current one (the keyword `kw`) without
 * reporting it: the caller may read it another way (a glob, a date). */
static void next_unreported(parser *p, const char *kw) {
    snprintf(p->prev, sizeof p->prev, "%s", kw);
    sd_lexer_token_free(&p->tok);
    sd_lexer_next(&p->lx, &p->tok);
}

/* Re-reads the current token from its start as the bytes that `want`
 * accepts, into a TOK_IDENT (kind kept on failure to allocate). */
static void rescan_as_word(parser *p, bool (*want)(unsigned char c)) {
    lex_token *t = &p->tok;
    lexer *lx = &p->lx;
    sd_lexer_rewind(lx, t);
    const unsigned char *s = (const unsigned char *)lx->src;
    size_t end = lx->pos;
    while (end < lx->len && want(s[end])) end++;
    char *word = malloc(end - lx->pos + 1);
    if (!word) {
        sd_lexer_set_error(lx, t, lx->pos, "out of memory");
    } else {
        memcpy(word, s + lx->pos, end - lx->pos);
        word[end - lx->pos] = 0;
        t->kind = TOK_IDENT;
        t->str = word;
        t->str_len = end - lx->pos;
    }
    lx->pos = end;
    t->len = end - t->start;
}

static bool glob_char(unsigned char c) { return lexer_is_ident_char(c) || c == '*' || c == '?'; }
static bool date_char(unsigned char c) { return lexer_is_digit(c) || c == '-'; }

/* TARGET after `tune`/`disable` (the current token). Returns it (owned),
 * or NULL having reported what was found instead. */
static char *take_target(parser *p, const char *kw, bool *glob, src_loc *loc) {
    next_unreported(p, kw);
    const char *src = p->lx.src;
    bool wild = p->tok.kind == TOK_ERROR && (src[p->tok.start] == '*' || src[p->tok.start] == '?');
    if (wild || p->tok.kind == TOK_IDENT) rescan_as_word(p, glob_char);
    *loc = sd_parser_loc(p);
    if (p->tok.kind != TOK_IDENT) {
        if (p->tok.kind == TOK_ERROR)
            sd_parser_report_lex_error(p);
        else
            sd_parser_expected(p, "a rule name or a glob of rule names (like cis_aws_4_*)");
        return NULL;
    }
    char *target = p->tok.str;
    p->tok.str = NULL;
    *glob = strpbrk(target, "*?") != NULL;
    sd_parser_advance(p);
    return target;
}

bool sd_tune_parse_date(const char *s, size_t n, int64_t *days) {
    if (n != 10 || s[4] != '-' || s[7] != '-') return false;
    for (size_t i = 0; i < n; i++)
        if (i != 4 && i != 7 && !lexer_is_digit((unsigned char)s[i])) return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap)) return false;
    /* Days from the civil date (H. Hinnant's algorithm), exact for any year here. */
    int yy = y - (m <= 2);
    int era = yy / 400;
    int yoe = yy - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *days = (int64_t)era * 146097 + doe - 719468;
    return true;
}

int64_t sd_tune_day_ns(int64_t days) {
    const int64_t day = INT64_C(86400) * 1000000000;
    return days > INT64_MAX / day ? INT64_MAX : days * day; /* past 2262: never, as far as int64 ns go */
}

/* `until DATE` (the current token is `until`). */
static bool parse_until(parser *p, ast_except *x) {
    next_unreported(p, "until");
    x->until_loc = sd_parser_loc(p);
    if (p->tok.kind == TOK_NUMBER) rescan_as_word(p, date_char);
    if (p->tok.kind == TOK_ERROR) {
        sd_parser_report_lex_error(p);
        return false;
    }
    int64_t days;
    bool word = p->tok.kind == TOK_IDENT || p->tok.kind == TOK_STRING;
    if (!word || !p->tok.str || !sd_tune_parse_date(p->tok.str, p->tok.str_len, &days)) {
        sd_parser_expected(p, "a date YYYY-MM-DD (like 2027-01-31)");
        return false;
    }
    x->until = p->tok.str;
    p->tok.str = NULL;
    x->until_ns = sd_tune_day_ns(days + 1);
    sd_parser_advance(p);
    return true;
}

/* The source text of [from, to) on one line: each run of white space
 * outside strings becomes one space. */
static char *source_text(const parser *p, size_t from, size_t to) {
    char *out = malloc(to - from + 1);
    if (!out) return NULL;
    size_t n = 0;
    bool in_str = false, esc = false, space = false;
    for (size_t i = from; i < to; i++) {
        char c = p->lx.src[i];
        if (!in_str && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            space = true;
            continue;
        }
        if (space && n) out[n++] = ' ';
        space = false;
        out[n++] = c;
        if (c == '"' && !esc) in_str = !in_str;
        esc = in_str && !esc && c == '\\';
    }
    out[n] = 0;
    return out;
}

static bool parse_except(parser *p, ast_tune *t) {
    ast_except x;
    memset(&x, 0, sizeof x);
    x.loc = sd_parser_loc(p);
    sd_parser_advance(p);
    size_t from = p->tok.start;
    if (!(x.cond = sd_parser_condition(p))) return false;
    /* The previous token ended where this one's white space began. */
    size_t to = p->tok.start;
    while (to > from && strchr(" \t\r\n", p->lx.src[to - 1])) to--;
    x.text = source_text(p, from, to);
    bool ok = x.text != NULL || oom(p);
    if (ok && sd_parser_is_kw(p, "until")) ok = parse_until(p, &x);
    if (ok && p->tok.kind == TOK_STRING) {
        x.reason = p->tok.str;
        p->tok.str = NULL;
        sd_parser_advance(p);
    }
    if (ok) ok = grow(p, (void **)&t->excepts, t->nexcepts, sizeof *t->excepts);
    if (!ok) {
        sd_ast_cond_free(x.cond);
        free(x.text);
        free(x.until);
        free(x.reason);
        return false;
    }
    t->excepts[t->nexcepts++] = x;
    return true;
}

/* A severity level: a bare or quoted name, reported with the nearest one. */
static bool take_level(parser *p, secdet_severity *out) {
    if ((p->tok.kind == TOK_IDENT || p->tok.kind == TOK_STRING) && p->tok.str &&
        sd_severity_parse(p->tok.str, false, out)) {
        sd_parser_advance(p);
        return true;
    }
    const char *names[SEVERITY_COUNT];
    for (int i = 0; i < SEVERITY_COUNT; i++) names[i] = sd_severity_name((secdet_severity)i);
    sd_parser_expected_near(p, "a severity (" SEVERITY_NAMES ")", names, SEVERITY_COUNT);
    return false;
}

/* Item `which` (an index of item_words); every item but except at most once. */
static bool parse_item(parser *p, ast_tune *t, size_t which, src_loc *seen) {
    src_loc at = sd_parser_loc(p);
    if (which >= NITEMS) return false;
    if (which > 0 && seen[which].line) {
        sd_parser_error(p, at.line, at.col, "duplicate '%s' in tune '%s' (first at %u:%u)", item_words[which],
                        t->target, (unsigned)seen[which].line, (unsigned)seen[which].col);
        return false;
    }
    seen[which] = at;
    switch (which) {
    case 0: return parse_except(p, t);
    case 1:
        t->has_severity = true;
        t->severity_loc = at;
        sd_parser_advance(p);
        if (p->tok.kind != TOK_ASSIGN) {
            sd_parser_expected(p, "'='");
            return false;
        }
        sd_parser_advance(p);
        return take_level(p, &t->severity);
    case 2:
        t->has_throttle = true;
        t->throttle_loc = at;
        sd_parser_advance(p);
        return sd_parser_duration(p, &t->throttle_ms) && sd_parser_keys(p, &t->throttle_by, &t->nthrottle_by);
    default:
        sd_parser_advance(p);
        if (p->tok.kind != TOK_STRING) {
            sd_parser_expected(p, "a template string");
            return false;
        }
        t->output_loc = sd_parser_loc(p);
        t->output = p->tok.str;
        p->tok.str = NULL;
        sd_parser_advance(p);
        return true;
    }
}

static int item_index(const parser *p) {
    for (size_t i = 0; i < NITEMS; i++)
        if (sd_parser_is_kw(p, item_words[i])) return (int)i;
    return -1;
}

static bool at_declaration(const parser *p) {
    static const char *const decls[] = {"list", "macro", "rule", "tune", "disable"};
    for (size_t i = 0; i < sizeof decls / sizeof decls[0]; i++)
        if (p->tok.line_start && sd_parser_is_kw(p, decls[i])) return true;
    return false;
}

/* After an error in a tune's body: to the next item keyword starting a
 * line (true: go on), past the closing brace or to a declaration (false). */
static bool resync(parser *p) {
    int depth = p->brace;
    p->brace = 0;
    while (p->tok.kind != TOK_EOF && !at_declaration(p)) {
        if (depth == 0 && p->tok.line_start && item_index(p) >= 0) return true;
        if (p->tok.kind == TOK_LBRACE) depth++;
        if (p->tok.kind == TOK_RBRACE && depth-- == 0) {
            sd_parser_advance(p);
            return false;
        }
        sd_parser_advance(p);
    }
    return false;
}

/* The body `{ item ... }` (the current token is '{'); false after an error. */
static bool parse_tune_body(parser *p, ast_tune *t) {
    sd_parser_advance(p);
    src_loc seen[NITEMS];
    memset(seen, 0, sizeof seen);
    bool failed = false;
    while (p->tok.kind != TOK_RBRACE) {
        if (p->tok.kind == TOK_EOF || at_declaration(p)) {
            char found[64];
            sd_parser_describe(p, found, sizeof found);
            sd_parser_error(p, p->tok.line, p->tok.col, "expected '}' to close tune '%s' opened at %u:%u, found %s",
                            t->target, (unsigned)t->loc.line, (unsigned)t->loc.col, found);
            return false;
        }
        int which = item_index(p);
        size_t at = p->tok.start;
        bool ok;
        if (which < 0) {
            sd_parser_expected_near(p, "a tune item (except, severity, throttle, output) or '}'", item_words, NITEMS);
            ok = false;
        } else {
            ok = parse_item(p, t, (size_t)which, seen);
        }
        if (ok && p->tok.kind == TOK_SEMI) sd_parser_advance(p);
        if (ok) continue;
        failed = true;
        /* An item refused at its keyword (a duplicate) must not be met again:
         * resync stops at an item keyword that starts a line. */
        if (which >= 0 && p->tok.start == at) sd_parser_advance(p);
        if (!resync(p)) return false;
    }
    sd_parser_advance(p);
    return !failed;
}

void sd_parse_tune(parser *p) {
    bool disable = sd_parser_is_kw(p, "disable");
    ast_tune *t = calloc(1, sizeof *t);
    if (!p->rs->tuning) p->rs->tuning = calloc(1, sizeof *p->rs->tuning);
    if (!t || !p->rs->tuning ||
        !grow(p, (void **)&p->rs->tuning->tunes, p->rs->tuning->ntunes, sizeof *p->rs->tuning->tunes)) {
        if (!t || !p->rs->tuning) oom(p);
        free(t);
        sd_parser_advance(p);
        sd_parser_skip_to_decl(p);
        return;
    }
    p->rs->tuning->tunes[p->rs->tuning->ntunes++] = t;
    t->disable = disable;
    t->loc = sd_parser_loc(p);
    t->target = take_target(p, disable ? "disable" : "tune", &t->glob, &t->target_loc);
    if (!t->target) {
        t->broken = true;
        sd_parser_skip_to_decl(p);
        return;
    }
    bool ok = true;
    if (disable) {
        if (p->tok.kind == TOK_STRING) {
            t->reason = p->tok.str;
            p->tok.str = NULL;
            sd_parser_advance(p);
        }
        if (p->tok.kind != TOK_EOF && !at_declaration(p)) {
            sd_parser_expected(p, "a reason string or the next declaration");
            ok = false;
        }
    } else if (p->tok.kind != TOK_LBRACE) {
        sd_parser_expected(p, "'{'");
        ok = false;
    } else {
        ok = parse_tune_body(p, t);
    }
    if (!ok) {
        t->broken = true;
        if (p->tok.kind != TOK_EOF && !at_declaration(p)) sd_parser_skip_to_decl(p);
    }
}

/* ---- a rule's severity clause -------------------------------------------------------- */

bool sd_parse_severity_clause(parser *p, ast_rule *r) {
    if (!r->tuning && !(r->tuning = calloc(1, sizeof *r->tuning))) return oom(p);
    ast_rule_tuning *rt = r->tuning;
    rt->cases_loc = sd_parser_loc(p);
    sd_parser_advance(p);
    if (p->tok.kind != TOK_LBRACE) {
        sd_parser_expected(p, "'{' (severity { critical when CONDITION; high when CONDITION })");
        return false;
    }
    sd_parser_advance(p);
    p->brace = 1;
    while (p->tok.kind != TOK_RBRACE) {
        ast_sev_case k = {.loc = sd_parser_loc(p)};
        if (!take_level(p, &k.level)) return false;
        if (!sd_parser_is_kw(p, "when")) {
            sd_parser_expected(p, "'when'");
            return false;
        }
        sd_parser_advance(p);
        if (!(k.cond = sd_parser_condition(p))) return false;
        if (!grow(p, (void **)&rt->cases, rt->ncases, sizeof *rt->cases)) {
            sd_ast_cond_free(k.cond);
            return false;
        }
        rt->cases[rt->ncases++] = k;
        if (p->tok.kind == TOK_SEMI) sd_parser_advance(p);
    }
    sd_parser_advance(p);
    p->brace = 0;
    return true;
}

/* ---- freeing ------------------------------------------------------------------------- */

static void free_tune(ast_tune *t) {
    if (!t) return;
    free(t->target);
    free(t->reason);
    for (size_t i = 0; i < t->nexcepts; i++) {
        sd_ast_cond_free(t->excepts[i].cond);
        free(t->excepts[i].text);
        free(t->excepts[i].reason);
        free(t->excepts[i].until);
    }
    free(t->excepts);
    for (size_t i = 0; i < t->nthrottle_by; i++) {
        sd_ast_expr_free(t->throttle_by[i].expr);
        free(t->throttle_by[i].text);
    }
    free(t->throttle_by);
    free(t->output);
    free(t);
}

void sd_ast_tuning_free(ast_tuning *t) {
    if (!t) return;
    for (size_t i = 0; i < t->ntunes; i++) free_tune(t->tunes[i]);
    free(t->tunes);
    free(t);
}

void sd_ast_rule_tuning_free(ast_rule_tuning *t) {
    if (!t) return;
    for (size_t i = 0; i < t->ncases; i++) sd_ast_cond_free(t->cases[i].cond);
    free(t->cases);
    free(t->tunes);
    free(t);
}
