/* regex_lits.c — reads a regex for the literals every match must hold.
 *
 * A small reader of the PCRE2 syntax the rule language's regexes use. Each
 * part of the pattern gets two sets of strings:
 *   exact — every string the part can match, when it is a finite few
 *           (a literal run, `(a|b)c`, an alternation of literals);
 *   req   — a set such that every match of the part holds one of them.
 * A concatenation extends its run of exact parts by cross product; any part
 * that is not exact (a class, `.`, `\w`, an optional or repeated group, an
 * anchor) ends the run, and each ended run and each part's own req are
 * candidates, the one with the longest shortest string kept. An alternation
 * needs a req in every branch and takes their union. `x?`, `x*`, `x{0,n}`
 * match without x: they require nothing.
 *
 * Soundness is the point (lang/regex_lits.h): whatever is not understood
 * gives up for the whole pattern, since a misread `(` or `|` (inside \Q..\E,
 * a class, a comment) would turn into a wrong requirement. Breaking a run
 * is always safe (a substring of a required string is required), so anchors,
 * classes and character types just end it.
 */
#include "lang/regex_lits.h"

#include <string.h>

typedef struct lset {
    bool ok; /* the set is known (else: unknown, or too large) */
    uint32_t n;
    uint8_t len[LIMIT_PREFILTER_LITS];
    char s[LIMIT_PREFILTER_LITS][LIMIT_PREFILTER_LIT_LEN];
} lset;

typedef struct info {
    lset exact, req;
} info;

typedef struct reader {
    const unsigned char *p;
    size_t n, i;
    bool fold;
    bool fail; /* something not understood: no literals at all */
    int depth;
} reader;

static void set_unknown(lset *s) {
    s->ok = false;
    s->n = 0;
}

static void set_one(lset *s, const char *str, size_t len) {
    s->ok = true;
    s->n = 1;
    s->len[0] = (uint8_t)len;
    if (len) memcpy(s->s[0], str, len);
}

static bool set_has(const lset *s, const char *str, size_t len) {
    for (uint32_t k = 0; k < s->n; k++)
        if (s->len[k] == len && memcmp(s->s[k], str, len) == 0) return true;
    return false;
}

/* a = a ∪ b; unknown when either is, or when it outgrows the cap. */
static void set_union(lset *a, const lset *b) {
    if (!a->ok || !b->ok) {
        set_unknown(a);
        return;
    }
    for (uint32_t k = 0; k < b->n; k++) {
        if (set_has(a, b->s[k], b->len[k])) continue;
        if (a->n == LIMIT_PREFILTER_LITS) {
            set_unknown(a);
            return;
        }
        a->len[a->n] = b->len[k];
        memcpy(a->s[a->n], b->s[k], b->len[k]);
        a->n++;
    }
}

/* *out = every x+y (x from a, y from b); false when it would outgrow the caps. */
static bool set_cross(lset *out, const lset *a, const lset *b) {
    if ((uint64_t)a->n * b->n > LIMIT_PREFILTER_LITS) return false;
    out->ok = true;
    out->n = 0;
    for (uint32_t i = 0; i < a->n; i++)
        for (uint32_t j = 0; j < b->n; j++) {
            size_t len = (size_t)a->len[i] + b->len[j];
            if (len > LIMIT_PREFILTER_LIT_LEN) return false;
            char tmp[LIMIT_PREFILTER_LIT_LEN];
            memcpy(tmp, a->s[i], a->len[i]);
            memcpy(tmp + a->len[i], b->s[j], b->len[j]);
            if (set_has(out, tmp, len)) continue;
            out->len[out->n] = (uint8_t)len;
            memcpy(out->s[out->n], tmp, len);
            out->n++;
        }
    return true;
}

static uint32_t set_min_len(const lset *s) {
    uint32_t m = UINT32_MAX;
    for (uint32_t k = 0; k < s->n; k++)
        if (s->len[k] < m) m = s->len[k];
    return m;
}

/* Keeps cand in *best when it is usable (known, every string at least 2
 * bytes) and better: a longer shortest string, then fewer strings. */
static void consider(lset *best, const lset *cand) {
    if (!cand->ok || cand->n == 0 || set_min_len(cand) < 2) return;
    if (best->ok && best->n > 0) {
        uint32_t mb = set_min_len(best), mc = set_min_len(cand);
        if (mc < mb || (mc == mb && cand->n >= best->n)) return;
    }
    *best = *cand;
}

static int peek(const reader *r, size_t ahead) { return r->i + ahead < r->n ? r->p[r->i + ahead] : -1; }

static void parse_alt(reader *r, info *out);

/* Skips a class [...] (r->i at its '['). POSIX classes give up. */
static void skip_class(reader *r) {
    r->i++;
    if (peek(r, 0) == '^') r->i++;
    if (peek(r, 0) == ']') r->i++; /* a leading ']' is a member */
    for (;;) {
        int c = peek(r, 0);
        if (c < 0 || c == '[') { /* unterminated, or [:alpha:] and kin */
            r->fail = true;
            return;
        }
        r->i += c == '\\' ? 2 : 1;
        if (c == ']') return;
    }
}

static int read_num(reader *r, bool *any) {
    int v = 0;
    *any = false;
    while (peek(r, 0) >= '0' && peek(r, 0) <= '9') {
        if (v < 100000) v = v * 10 + (peek(r, 0) - '0');
        r->i++;
        *any = true;
    }
    return v;
}

/* A quantifier after an atom: what it leaves of the atom's sets. */
static void quantifier(reader *r, info *a) {
    int c = peek(r, 0);
    int min = 1, max = 1;
    if (c == '?' || c == '*') {
        min = 0;
        max = -1;
        r->i++;
    } else if (c == '+') {
        max = -1;
        r->i++;
    } else if (c == '{') {
        /* Only {n}, {n,} and {n,m}; any other brace (a literal, or a newer
         * form such as {,m}) gives up rather than be misread. */
        r->i++;
        bool any;
        min = read_num(r, &any);
        if (!any) {
            r->fail = true;
            return;
        }
        max = min;
        if (peek(r, 0) == ',') {
            r->i++;
            bool many;
            max = read_num(r, &many);
            if (!many) max = -1;
        }
        if (peek(r, 0) != '}') {
            r->fail = true;
            return;
        }
        r->i++;
    } else {
        return;
    }
    if (peek(r, 0) == '?' || peek(r, 0) == '+') r->i++; /* lazy, possessive */
    if (min == 0) {
        set_unknown(&a->exact);
        set_unknown(&a->req);
        return;
    }
    if (!(min == 1 && max == 1)) set_unknown(&a->exact);
}

/* One atom and its quantifier. */
static void parse_atom(reader *r, info *a) {
    set_unknown(&a->exact);
    set_unknown(&a->req);
    int c = peek(r, 0);
    char lit[4];
    size_t litlen = 0;
    if (c == '(') {
        if (peek(r, 1) == '?' && peek(r, 2) == ':') {
            r->i += 3;
        } else if (peek(r, 1) == '?' || peek(r, 1) == '*') {
            r->fail = true; /* inline options, lookarounds, named groups, verbs... */
            return;
        } else {
            r->i++;
        }
        if (++r->depth > LIMIT_PREFILTER_DEPTH) {
            r->fail = true;
            return;
        }
        parse_alt(r, a);
        r->depth--;
        if (r->fail || peek(r, 0) != ')') {
            r->fail = true;
            return;
        }
        r->i++;
    } else if (c == '[') {
        skip_class(r);
    } else if (c == '.' || c == '^' || c == '$') {
        r->i++;
    } else if (c == '\\') {
        int e = peek(r, 1);
        if (e < 0 || e >= 0x80) {
            r->fail = true;
            return;
        }
        r->i += 2;
        bool alnum = (e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z');
        if (!alnum) {
            lit[litlen++] = (char)e; /* an escaped punctuation mark is itself */
        } else if (!strchr("dDwWsShHvVRbBAzZG", e)) {
            r->fail = true; /* \x, \p, \Q, \K, \1, \n...: not read */
            return;
        }
    } else if (c == '*' || c == '+' || c == '?' || c == '{' || c < 0) {
        r->fail = true;
        return;
    } else if (c < 0x80) {
        lit[litlen++] = (char)(r->fold && c >= 'A' && c <= 'Z' ? c + 32 : c);
        r->i++;
    } else {
        /* A code point of several bytes is one atom (a quantifier repeats it
         * whole). Under caseless matching it may equal other code points: no literal. */
        size_t k = 1;
        while (k < 4 && (peek(r, k) & 0xC0) == 0x80) k++;
        if (!r->fold) {
            memcpy(lit, r->p + r->i, k);
            litlen = k;
        }
        r->i += k;
    }
    if (litlen) set_one(&a->exact, lit, litlen);
    consider(&a->req, &a->exact);
    quantifier(r, a);
}

static void parse_concat(reader *r, info *out) {
    lset run, best;
    set_one(&run, "", 0);
    set_unknown(&best);
    bool whole = true;
    while (!r->fail && peek(r, 0) >= 0 && peek(r, 0) != '|' && peek(r, 0) != ')') {
        info a;
        parse_atom(r, &a);
        if (r->fail) break;
        if (a.exact.ok) {
            lset t;
            if (set_cross(&t, &run, &a.exact)) {
                run = t;
                continue;
            }
            consider(&best, &run);
            run = a.exact;
            whole = false;
            continue;
        }
        consider(&best, &run);
        consider(&best, &a.req);
        set_one(&run, "", 0);
        whole = false;
    }
    consider(&best, &run);
    if (whole)
        out->exact = run;
    else
        set_unknown(&out->exact);
    out->req = best;
}

static void parse_alt(reader *r, info *out) {
    parse_concat(r, out);
    while (!r->fail && peek(r, 0) == '|') {
        r->i++;
        info b;
        parse_concat(r, &b);
        set_union(&out->exact, &b.exact);
        if (!out->req.ok || out->req.n == 0 || !b.req.ok || b.req.n == 0)
            set_unknown(&out->req);
        else
            set_union(&out->req, &b.req);
    }
}

bool sd_regex_literals(const char *pat, size_t len, const char *flags, regex_lits *out) {
    memset(out, 0, sizeof *out);
    if (!pat || !flags || strchr(flags, 'x')) return false; /* x: spaces and # comments are not literal */
    for (size_t i = 0; i + 1 < len; i++)
        if (pat[i] == '\\' && (pat[i + 1] == 'Q' || pat[i + 1] == 'E')) return false;
    reader r = {(const unsigned char *)pat, len, 0, strchr(flags, 'i') != NULL, false, 0};
    info top;
    parse_alt(&r, &top);
    if (r.fail || r.i != len) return false; /* a stray ')' or anything unread */
    lset best;
    set_unknown(&best);
    consider(&best, &top.req);
    consider(&best, &top.exact);
    if (!best.ok || best.n == 0) return false;
    out->n = best.n;
    out->fold = r.fold;
    memcpy(out->len, best.len, sizeof out->len);
    memcpy(out->s, best.s, sizeof out->s);
    return true;
}
