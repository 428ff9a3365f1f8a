/* lexer_text.c — string and regex literals: escapes and UTF-8 checking.
 *
 * Promises: a string token holds valid UTF-8 without NUL (JSON escapes
 * decoded, surrogate pairs joined, lone surrogates and \u0000 refused); a
 * regex token holds the pattern as written except that `\/` became `/`,
 * valid UTF-8 without NUL, and flags from "imsx" at most once each. The first
 * error of a literal is reported at its exact byte; scanning still runs to
 * the literal's end so lexing resumes after it.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lexer_int.h"
#include "util/utf8.h"

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t sd_lexer_utf8_len(const unsigned char *s, size_t n) { return sd_utf8_seq_len(s, n); }

static char *vformat(const char *fmt, va_list ap) {
    buf b;
    sd_buf_init(&b);
    sd_buf_vprintf(&b, fmt, ap);
    if (b.oom) {
        sd_buf_free(&b);
        return NULL;
    }
    return sd_buf_steal(&b);
}

void sd_lexer_set_error(lexer *lx, lex_token *t, size_t pos, const char *fmt, ...) {
    free(t->str);
    sd_path_free(&t->path);
    t->kind = TOK_ERROR;
    va_list ap;
    va_start(ap, fmt);
    t->str = vformat(fmt, ap);
    va_end(ap);
    t->str_len = t->str ? strlen(t->str) : 0;
    t->err_line = lx->line;
    t->err_col = lexer_col_at(lx, pos);
}

bool sd_lexer_string_body(lexer *lx, lex_token *t, buf *out) {
    const unsigned char *s = (const unsigned char *)lx->src;
    size_t open = lx->pos;
    lx->pos++;
    bool failed = false; /* the first error wins; keep scanning to the closing quote */
    while (true) {
        if (lx->pos >= lx->len || s[lx->pos] == '\n' ||
            (s[lx->pos] == '\r' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '\n')) {
            if (!failed) sd_lexer_set_error(lx, t, open, "unterminated string");
            return false;
        }
        size_t at = lx->pos;
        unsigned char c = s[at];
        if (c == '"') {
            lx->pos++;
            break;
        }
        if (c == '\\') {
            if (at + 1 >= lx->len || s[at + 1] == '\n') {
                lx->pos++;
                continue; /* reported as unterminated on the next turn */
            }
            unsigned char e = s[at + 1];
            lx->pos += 2;
            char simple = 0;
            switch (e) {
            case '"': simple = '"'; break;
            case '\\': simple = '\\'; break;
            case '/': simple = '/'; break;
            case 'b': simple = '\b'; break;
            case 'f': simple = '\f'; break;
            case 'n': simple = '\n'; break;
            case 'r': simple = '\r'; break;
            case 't': simple = '\t'; break;
            case 'u': break;
            default:
                if (!failed) {
                    if (e >= 0x21 && e < 0x7F)
                        sd_lexer_set_error(lx, t, at, "invalid escape '\\%c' in string", e);
                    else
                        sd_lexer_set_error(lx, t, at, "invalid escape in string");
                }
                failed = true;
                continue;
            }
            if (simple) {
                if (!failed) sd_buf_putc(out, simple);
                continue;
            }
            /* \uXXXX, possibly a surrogate pair */
            uint32_t cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = lx->pos < lx->len ? hex_value(s[lx->pos]) : -1;
                if (h < 0) {
                    if (!failed)
                        sd_lexer_set_error(lx, t, at, "invalid \\u escape in string (expected four hex digits)");
                    failed = true;
                    break;
                }
                cp = cp * 16 + (uint32_t)h;
                lx->pos++;
            }
            if (failed) continue;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo = 0;
                bool pair = lx->pos + 6 <= lx->len && s[lx->pos] == '\\' && s[lx->pos + 1] == 'u';
                for (int i = 0; pair && i < 4; i++) {
                    int h = hex_value(s[lx->pos + 2 + (size_t)i]);
                    if (h < 0)
                        pair = false;
                    else
                        lo = lo * 16 + (uint32_t)h;
                }
                if (!pair || lo < 0xDC00 || lo > 0xDFFF) {
                    if (!failed) sd_lexer_set_error(lx, t, at, "lone surrogate \\u%04X in string", (unsigned)cp);
                    failed = true;
                    continue;
                }
                lx->pos += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                if (!failed) sd_lexer_set_error(lx, t, at, "lone surrogate \\u%04X in string", (unsigned)cp);
                failed = true;
                continue;
            } else if (cp == 0) {
                if (!failed) sd_lexer_set_error(lx, t, at, "\\u0000 (NUL) is not allowed in a string");
                failed = true;
                continue;
            }
            sd_utf8_put(out, cp);
            continue;
        }
        if (c < 0x20) {
            if (!failed) sd_lexer_set_error(lx, t, at, "control character U+%04X in string (write it as an escape)", c);
            failed = true;
            lx->pos++;
            continue;
        }
        size_t l = sd_lexer_utf8_len(s + at, lx->len - at);
        if (l == 0) {
            if (!failed) sd_lexer_set_error(lx, t, at, "invalid UTF-8 byte 0x%02X in string", c);
            failed = true;
            lx->pos++;
            continue;
        }
        if (!failed) sd_buf_append(out, s + at, l);
        lx->pos += l;
    }
    if (failed) return false;
    if (out->oom) {
        sd_lexer_set_error(lx, t, open, "out of memory");
        return false;
    }
    return true;
}

void sd_lexer_rewind(lexer *lx, lex_token *t) {
    free(t->str);
    t->str = NULL;
    t->str_len = 0;
    sd_path_free(&t->path);
    lx->pos = t->start;
    lx->line = t->line;
    lx->line_pos = t->start - (t->col - 1);
}

void sd_lexer_rescan_regex(lexer *lx, lex_token *t) {
    if (t->kind == TOK_EOF || lx->src[t->start] != '/') return;
    sd_lexer_rewind(lx, t);
    const unsigned char *s = (const unsigned char *)lx->src;
    buf b;
    sd_buf_init(&b);
    size_t open = lx->pos++;
    bool failed = false;
    while (true) {
        if (lx->pos >= lx->len || s[lx->pos] == '\n') {
            if (!failed) sd_lexer_set_error(lx, t, open, "unterminated regex");
            failed = true;
            break;
        }
        size_t at = lx->pos;
        unsigned char c = s[at];
        if (c == '/') {
            lx->pos++;
            break;
        }
        if (c == '\\' && at + 1 < lx->len && s[at + 1] == '/') {
            sd_buf_putc(&b, '/');
            lx->pos += 2;
            continue;
        }
        if (c == '\\' && at + 1 < lx->len && s[at + 1] < 0x80 && s[at + 1] != '\n' && s[at + 1] != 0) {
            sd_buf_append(&b, s + at, 2);
            lx->pos += 2;
            continue;
        }
        if (c == 0) {
            if (!failed) sd_lexer_set_error(lx, t, at, "NUL byte in regex");
            failed = true;
            lx->pos++;
            continue;
        }
        size_t l = sd_lexer_utf8_len(s + at, lx->len - at);
        if (l == 0) {
            if (!failed) sd_lexer_set_error(lx, t, at, "invalid UTF-8 byte 0x%02X in regex", c);
            failed = true;
            lx->pos++;
            continue;
        }
        sd_buf_append(&b, s + at, l);
        lx->pos += l;
    }
    char flags[5] = {0};
    size_t nflags = 0;
    while (!failed && lx->pos < lx->len && lexer_is_ident_char(s[lx->pos])) {
        unsigned char f = s[lx->pos];
        if (f != 'i' && f != 'm' && f != 's' && f != 'x') {
            sd_lexer_set_error(lx, t, lx->pos, "invalid regex flag '%c' (allowed: i, m, s, x)", f);
            failed = true;
        } else if (memchr(flags, f, nflags)) {
            sd_lexer_set_error(lx, t, lx->pos, "duplicate regex flag '%c'", f);
            failed = true;
        } else {
            flags[nflags++] = (char)f;
        }
        lx->pos++;
    }
    while (lx->pos < lx->len && lexer_is_ident_char(s[lx->pos])) lx->pos++;
    t->len = lx->pos - t->start;
    if (!failed && b.oom) {
        sd_lexer_set_error(lx, t, open, "out of memory");
        failed = true;
    }
    if (failed) {
        sd_buf_free(&b);
        return;
    }
    t->kind = TOK_REGEX;
    t->str_len = b.len;
    t->str = sd_buf_steal(&b);
    memcpy(t->flags, flags, sizeof flags);
}
