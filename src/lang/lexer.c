/* lexer.c — rule source text → tokens (see lexer.h for the contract).
 *
 * Promises: every byte of the input is either part of a token, whitespace,
 * or a comment; a lexical error never stops the lexer (it returns a
 * TOK_ERROR token and resumes after the bad piece, so the parser can go on
 * and report later errors); no recursion; strings and regexes are checked to
 * be valid UTF-8 without NUL, so later stages may treat them as C strings.
 */
#include "lang/lexer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "event/common.h"
#include "lang/lexer_int.h"
#include "util/buf.h"
#include "util/limits.h"

void sd_lexer_init(lexer *lx, const char *src, size_t len) {
    memset(lx, 0, sizeof *lx);
    lx->src = src ? src : "";
    lx->len = src ? len : 0;
    lx->line = 1;
    lx->at_line_start = true;
    /* A UTF-8 byte order mark is not part of the text; columns start after it. */
    if (lx->len >= 3 && memcmp(lx->src, "\xEF\xBB\xBF", 3) == 0) lx->pos = lx->line_pos = 3;
}

void sd_lexer_token_free(lex_token *t) {
    free(t->str);
    sd_path_free(&t->path);
    memset(t, 0, sizeof *t);
}

/* Skips whitespace and comments. Returns false with *t set to an error when a
 * comment holds invalid UTF-8 (the rest of that comment is skipped). */
static bool skip_space(lexer *lx, lex_token *t) {
    const unsigned char *s = (const unsigned char *)lx->src;
    while (lx->pos < lx->len) {
        unsigned char c = s[lx->pos];
        if (c == '\n') {
            lx->pos++;
            lx->line++;
            lx->line_pos = lx->pos;
            lx->at_line_start = true;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            lx->pos++;
        } else if (c == '#') {
            size_t bad = SIZE_MAX;
            while (lx->pos < lx->len && s[lx->pos] != '\n') {
                size_t l = sd_lexer_utf8_len(s + lx->pos, lx->len - lx->pos);
                if (l == 0 || s[lx->pos] == 0) {
                    if (bad == SIZE_MAX) bad = lx->pos;
                    l = 1;
                }
                lx->pos += l;
            }
            if (bad != SIZE_MAX) {
                t->kind = TOK_ERROR;
                t->line = lx->line;
                t->col = lexer_col_at(lx, bad);
                t->start = bad;
                t->len = 1;
                if (s[bad] == 0)
                    sd_lexer_set_error(lx, t, bad, "NUL byte in comment");
                else
                    sd_lexer_set_error(lx, t, bad, "invalid UTF-8 byte 0x%02X in comment", s[bad]);
                return false;
            }
        } else {
            break;
        }
    }
    return true;
}

static void lex_string(lexer *lx, lex_token *t) {
    buf b;
    sd_buf_init(&b);
    if (sd_lexer_string_body(lx, t, &b)) {
        t->kind = TOK_STRING;
        t->str_len = b.len;
        t->str = sd_buf_steal(&b);
        return;
    }
    sd_buf_free(&b);
}

static void lex_number(lexer *lx, lex_token *t) {
    const unsigned char *s = (const unsigned char *)lx->src;
    size_t start = lx->pos, p = lx->pos;
    if (s[p] == '-') p++;
    while (p < lx->len && lexer_is_digit(s[p])) p++;
    if (p < lx->len && s[p] == '.') {
        if (p + 1 >= lx->len || !lexer_is_digit(s[p + 1])) {
            lx->pos = p + 1;
            sd_lexer_set_error(lx, t, p + 1, "expected a digit after the decimal point");
            return;
        }
        p++;
        while (p < lx->len && lexer_is_digit(s[p])) p++;
    }
    if (p < lx->len && (s[p] == 'e' || s[p] == 'E')) {
        size_t q = p + 1;
        if (q < lx->len && (s[q] == '+' || s[q] == '-')) q++;
        if (q < lx->len && lexer_is_digit(s[q])) {
            p = q;
            while (p < lx->len && lexer_is_digit(s[p])) p++;
        }
    }
    size_t num_end = p;
    size_t unit_start = p;
    while (p < lx->len && lexer_is_ident_char(s[p])) p++;
    lx->pos = p;
    if (num_end - start >= LIMIT_NUMBER_LITERAL) {
        sd_lexer_set_error(lx, t, start, "number too long");
        return;
    }
    char tmp[LIMIT_NUMBER_LITERAL];
    memcpy(tmp, s + start, num_end - start);
    tmp[num_end - start] = 0;
    double v = strtod(tmp, NULL);
    if (!isfinite(v)) {
        sd_lexer_set_error(lx, t, start, "number out of range");
        return;
    }
    t->num = v;
    if (unit_start == p) {
        t->kind = TOK_NUMBER;
        return;
    }
    size_t ulen = p - unit_start;
    const char *u = (const char *)s + unit_start;
    double factor = 0;
    if (ulen == 2 && memcmp(u, "ms", 2) == 0)
        factor = 1;
    else if (ulen == 1 && u[0] == 's')
        factor = 1000;
    else if (ulen == 1 && u[0] == 'm')
        factor = 60000;
    else if (ulen == 1 && u[0] == 'h')
        factor = 3600000;
    else if (ulen == 1 && u[0] == 'd')
        factor = 86400000;
    if (factor == 0) {
        sd_lexer_set_error(lx, t, unit_start, "invalid duration unit '%.*s' (expected ms, s, m, h or d)",
                           (int)(ulen > 32 ? 32 : ulen), u);
        return;
    }
    if (v < 0) {
        sd_lexer_set_error(lx, t, start, "a duration cannot be negative");
        return;
    }
    double ms = v * factor;
    if (ms > LIMIT_DURATION_MS) {
        sd_lexer_set_error(lx, t, start, "duration too large");
        return;
    }
    if (ms != floor(ms)) {
        sd_lexer_set_error(lx, t, start, "a duration must be a whole number of milliseconds");
        return;
    }
    t->kind = TOK_DURATION;
    t->num = ms;
}

static bool path_push(sd_path *path, path_seg seg) {
    path_seg *n = realloc(path->segs, (path->nsegs + 1u) * sizeof *n);
    if (!n) return false;
    path->segs = n;
    path->segs[path->nsegs++] = seg;
    if (seg.kind == SEG_STAR) path->has_star = true;
    return true;
}

/* A field path: '.' key ( '.' key | '[' N ']' | '[' '*' ']' )*, pieces touching. */
static void lex_path(lexer *lx, lex_token *t) {
    const unsigned char *s = (const unsigned char *)lx->src;
    sd_path path;
    memset(&path, 0, sizeof path);
    bool first = true;
    while (true) {
        /* at '.' */
        lx->pos++;
        path_seg seg;
        memset(&seg, 0, sizeof seg);
        seg.kind = SEG_KEY;
        bool keyless = first && !(lx->pos < lx->len && (lexer_is_ident_char(s[lx->pos]) || s[lx->pos] == '"'));
        first = false;
        if (keyless) {
            /* `.` itself, or `.[0]`: no key before the first index */
        } else if (lx->pos < lx->len && lexer_is_ident_char(s[lx->pos])) {
            size_t b = lx->pos;
            while (lx->pos < lx->len && lexer_is_ident_char(s[lx->pos])) lx->pos++;
            seg.key_len = lx->pos - b;
            seg.key = malloc(seg.key_len + 1);
            if (seg.key) {
                memcpy(seg.key, s + b, seg.key_len);
                seg.key[seg.key_len] = 0;
            }
        } else if (lx->pos < lx->len && s[lx->pos] == '"') {
            buf b;
            sd_buf_init(&b);
            if (!sd_lexer_string_body(lx, t, &b)) {
                sd_buf_free(&b);
                sd_path_free(&path);
                return;
            }
            seg.key_len = b.len;
            seg.key = sd_buf_steal(&b);
        } else {
            sd_path_free(&path);
            sd_lexer_set_error(lx, t, lx->pos, "expected a field name after '.'");
            return;
        }
        if (!keyless && (!seg.key || !path_push(&path, seg))) {
            free(seg.key);
            sd_path_free(&path);
            sd_lexer_set_error(lx, t, lx->pos, "out of memory");
            return;
        }
        /* index and wildcard pieces */
        while (lx->pos < lx->len && s[lx->pos] == '[') {
            size_t open = lx->pos++;
            memset(&seg, 0, sizeof seg);
            if (lx->pos < lx->len && s[lx->pos] == '*') {
                seg.kind = SEG_STAR;
                lx->pos++;
            } else if (lx->pos < lx->len && lexer_is_digit(s[lx->pos])) {
                uint64_t v = 0;
                while (lx->pos < lx->len && lexer_is_digit(s[lx->pos])) {
                    v = v * 10 + (uint64_t)(s[lx->pos] - '0');
                    if (v > UINT32_MAX) {
                        sd_path_free(&path);
                        sd_lexer_set_error(lx, t, open + 1, "array index too large");
                        while (lx->pos < lx->len && lexer_is_digit(s[lx->pos])) lx->pos++;
                        return;
                    }
                    lx->pos++;
                }
                seg.kind = SEG_INDEX;
                seg.index = (uint32_t)v;
            } else {
                sd_path_free(&path);
                sd_lexer_set_error(lx, t, lx->pos, "expected an index or '*' after '[' in a field path");
                return;
            }
            if (lx->pos >= lx->len || s[lx->pos] != ']') {
                sd_path_free(&path);
                sd_lexer_set_error(lx, t, lx->pos, "expected ']' to close '[' at column %u",
                                   (unsigned)lexer_col_at(lx, open));
                return;
            }
            lx->pos++;
            if (!path_push(&path, seg)) {
                sd_path_free(&path);
                sd_lexer_set_error(lx, t, open, "out of memory");
                return;
            }
        }
        if (lx->pos < lx->len && s[lx->pos] == '.') {
            if (keyless && path.nsegs == 0) {
                sd_lexer_set_error(lx, t, lx->pos, "expected a field name after '.'");
                return;
            }
            continue;
        }
        break;
    }
    path.text = sd_path_to_text(&path);
    if (path.text && (path.nsegs == 0 || path.segs[0].kind != SEG_KEY)) {
        char *dotted = malloc(strlen(path.text) + 2);
        if (dotted) {
            dotted[0] = '.';
            strcpy(dotted + 1, path.text);
        }
        free(path.text);
        path.text = dotted;
    }
    if (!path.text) {
        sd_path_free(&path);
        sd_lexer_set_error(lx, t, t->start, "out of memory");
        return;
    }
    t->kind = TOK_PATH;
    t->path = path;
}

/* A common field, "@ip" (event/common.h): a path of its own kind. */
static void lex_common(lexer *lx, lex_token *t) {
    const unsigned char *s = (const unsigned char *)lx->src;
    size_t b = ++lx->pos;
    while (lx->pos < lx->len && lexer_is_ident_char(s[lx->pos])) lx->pos++;
    const char *err = NULL;
    if (sd_path_parse_common(lx->src + b - 1, lx->pos - b + 1, &t->path, &err) != lx->pos - b + 1) {
        const char *near = sd_common_suggest(lx->src + b, lx->pos - b);
        sd_lexer_set_error(lx, t, b - 1,
                           "unknown common field '@%.*s'%s%s%s; the common fields are @time, @id, @ip, @user, "
                           "@account, @action, @outcome, @type",
                           (int)(lx->pos - b), lx->src + b, near ? " (did you mean '@" : "", near ? near : "",
                           near ? "'?)" : "");
        return;
    }
    t->kind = TOK_PATH;
}

static void lex_ident(lexer *lx, lex_token *t) {
    const unsigned char *s = (const unsigned char *)lx->src;
    size_t b = lx->pos;
    while (lx->pos < lx->len && lexer_is_ident_char(s[lx->pos])) lx->pos++;
    t->str_len = lx->pos - b;
    t->str = malloc(t->str_len + 1);
    if (!t->str) {
        sd_lexer_set_error(lx, t, b, "out of memory");
        return;
    }
    memcpy(t->str, s + b, t->str_len);
    t->str[t->str_len] = 0;
    t->kind = TOK_IDENT;
}

void sd_lexer_next(lexer *lx, lex_token *t) {
    memset(t, 0, sizeof *t);
    if (!skip_space(lx, t)) {
        t->line_start = lx->at_line_start;
        lx->at_line_start = false;
        return;
    }
    const unsigned char *s = (const unsigned char *)lx->src;
    t->line = lx->line;
    t->start = lx->pos;
    t->col = lexer_col_at(lx, lx->pos);
    t->line_start = lx->at_line_start;
    if (lx->pos >= lx->len) {
        t->kind = TOK_EOF;
        return;
    }
    lx->at_line_start = false;
    unsigned char c = s[lx->pos];
    unsigned char next = lx->pos + 1 < lx->len ? s[lx->pos + 1] : 0;
    if (lexer_is_alpha(c) || c == '_')
        lex_ident(lx, t);
    else if (lexer_is_digit(c) || (c == '-' && lexer_is_digit(next)))
        lex_number(lx, t);
    else if (c == '"')
        lex_string(lx, t);
    else if (c == '.')
        lex_path(lx, t);
    else if (c == '@')
        lex_common(lx, t);
    else if (c == '$' && next == '.') {
        lx->pos++;
        lex_path(lx, t);
        t->rooted = t->kind == TOK_PATH;
    } else {
        tok_kind k = TOK_ERROR;
        size_t n = 1;
        switch (c) {
        case '{': k = TOK_LBRACE; break;
        case '}': k = TOK_RBRACE; break;
        case '(': k = TOK_LPAREN; break;
        case ')': k = TOK_RPAREN; break;
        case '[': k = TOK_LBRACKET; break;
        case ']': k = TOK_RBRACKET; break;
        case ',': k = TOK_COMMA; break;
        case ';': k = TOK_SEMI; break;
        case ':': k = TOK_COLON; break;
        case '/': k = TOK_SLASH; break;
        case '=':
            k = next == '=' ? TOK_EQ : next == '~' ? TOK_FOLDEQ : TOK_ASSIGN;
            n = next == '=' || next == '~' ? 2 : 1;
            break;
        case '<':
            k = next == '=' ? TOK_LE : TOK_LT;
            n = next == '=' ? 2 : 1;
            break;
        case '>':
            k = next == '=' ? TOK_GE : TOK_GT;
            n = next == '=' ? 2 : 1;
            break;
        case '!':
            if (next == '=') {
                k = TOK_NE;
                n = 2;
            }
            break;
        default: break;
        }
        if (k != TOK_ERROR) {
            t->kind = k;
            lx->pos += n;
        } else if (c == '!') {
            sd_lexer_set_error(lx, t, lx->pos, "unexpected '!' (write '!=' or 'not')");
            lx->pos++;
        } else if (c >= 0x80) {
            size_t l = sd_lexer_utf8_len(s + lx->pos, lx->len - lx->pos);
            if (l == 0)
                sd_lexer_set_error(lx, t, lx->pos, "invalid UTF-8 byte 0x%02X", c);
            else
                sd_lexer_set_error(lx, t, lx->pos, "unexpected character '%.*s'", (int)l, (const char *)s + lx->pos);
            lx->pos += l ? l : 1;
        } else if (c < 0x20 || c == 0x7F) {
            sd_lexer_set_error(lx, t, lx->pos, "unexpected control character U+%04X", c);
            lx->pos++;
        } else {
            sd_lexer_set_error(lx, t, lx->pos, "unexpected character '%c'", c);
            lx->pos++;
        }
    }
    t->len = lx->pos - t->start;
}

void sd_lexer_rescan_hyphen_name(lexer *lx, lex_token *t) {
    if (t->kind != TOK_IDENT) return;
    sd_lexer_rewind(lx, t);
    const unsigned char *s = (const unsigned char *)lx->src;
    size_t p = lx->pos;
    while (p < lx->len && lexer_is_ident_char(s[p])) p++;
    while (p + 1 < lx->len && s[p] == '-' && lexer_is_ident_char(s[p + 1])) {
        p++;
        while (p < lx->len && lexer_is_ident_char(s[p])) p++;
    }
    t->str_len = p - lx->pos;
    t->str = malloc(t->str_len + 1);
    if (!t->str) {
        sd_lexer_set_error(lx, t, lx->pos, "out of memory");
        lx->pos = p;
        t->len = p - t->start;
        return;
    }
    memcpy(t->str, s + lx->pos, t->str_len);
    t->str[t->str_len] = 0;
    lx->pos = p;
    t->len = p - t->start;
    t->kind = TOK_IDENT;
}

const char *sd_lexer_kind_name(tok_kind k) {
    switch (k) {
    case TOK_EOF: return "end of file";
    case TOK_ERROR: return "an invalid token";
    case TOK_IDENT: return "a name";
    case TOK_STRING: return "a string";
    case TOK_NUMBER: return "a number";
    case TOK_DURATION: return "a duration";
    case TOK_REGEX: return "a regex";
    case TOK_PATH: return "a field path";
    case TOK_LBRACE: return "'{'";
    case TOK_RBRACE: return "'}'";
    case TOK_LPAREN: return "'('";
    case TOK_RPAREN: return "')'";
    case TOK_LBRACKET: return "'['";
    case TOK_RBRACKET: return "']'";
    case TOK_COMMA: return "','";
    case TOK_SEMI: return "';'";
    case TOK_COLON: return "':'";
    case TOK_ASSIGN: return "'='";
    case TOK_EQ: return "'=='";
    case TOK_NE: return "'!='";
    case TOK_LT: return "'<'";
    case TOK_LE: return "'<='";
    case TOK_GT: return "'>'";
    case TOK_GE: return "'>='";
    case TOK_SLASH: return "'/'";
    case TOK_FOLDEQ: return "'=~'";
    }
    return "a token";
}
