/* sd_path_parse.c — field path text → sd_path.
 *
 * Grammar (LANGUAGE.md "Values and field paths"):
 *   path    = 1*( "." key | "[" digits "]" | "[*]" ) , starting with "."
 *   key     = identifier | JSON string
 * A quoted key takes JSON's escapes; \u0000 is refused (keys are C strings).
 */
#include <stdlib.h>
#include <string.h>

#include "event/common.h"
#include "event/path.h"
#include "util/buf.h"
#include "util/utf8.h"

static bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_ident(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

static int hex4(const char *s, size_t len, size_t i, unsigned *out) {
    if (i + 4 > len) return -1;
    unsigned v = 0;
    for (size_t k = 0; k < 4; k++) {
        char c = s[i + k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* A JSON string starting at s[i] == '"'; returns the index after the closing quote, 0 on error. */
static size_t parse_quoted(const char *s, size_t len, size_t i, buf *out, const char **err) {
    for (i++; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') return i + 1;
        if (c < 0x20) {
            *err = "control character in a quoted key";
            return 0;
        }
        if (c != '\\') {
            sd_buf_putc(out, (char)c);
            continue;
        }
        if (++i >= len) break;
        unsigned cp;
        switch (s[i]) {
        case '"': sd_buf_putc(out, '"'); break;
        case '\\': sd_buf_putc(out, '\\'); break;
        case '/': sd_buf_putc(out, '/'); break;
        case 'b': sd_buf_putc(out, '\b'); break;
        case 'f': sd_buf_putc(out, '\f'); break;
        case 'n': sd_buf_putc(out, '\n'); break;
        case 'r': sd_buf_putc(out, '\r'); break;
        case 't': sd_buf_putc(out, '\t'); break;
        case 'u':
            if (hex4(s, len, i + 1, &cp)) {
                *err = "bad \\u escape in a quoted key";
                return 0;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (i + 2 >= len || s[i + 1] != '\\' || s[i + 2] != 'u' || hex4(s, len, i + 3, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF) {
                    *err = "lone surrogate in a quoted key";
                    return 0;
                }
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                *err = "lone surrogate in a quoted key";
                return 0;
            }
            if (cp == 0) {
                *err = "\\u0000 in a quoted key";
                return 0;
            }
            sd_utf8_put(out, cp);
            break;
        default: *err = "invalid escape in a quoted key"; return 0;
        }
    }
    *err = "unterminated quoted key";
    return 0;
}

static int add_seg(sd_path *p, path_seg seg) {
    path_seg *segs = realloc(p->segs, (p->nsegs + 1) * sizeof *segs);
    if (!segs) return -1;
    p->segs = segs;
    p->segs[p->nsegs++] = seg;
    if (seg.kind == SEG_STAR) p->has_star = true;
    return 0;
}

size_t sd_path_parse(const char *s, size_t len, sd_path *out, const char **err) {
    memset(out, 0, sizeof *out);
    *err = NULL;
    size_t i = 0;
    if (len > 0 && s[0] == '@') return sd_path_parse_common(s, len, out, err);
    if (len == 0 || s[0] != '.') {
        *err = "a field path starts with '.'";
        return 0;
    }
    while (i < len && (s[i] == '.' || s[i] == '[')) {
        path_seg seg = {0};
        if (s[i] == '.') {
            i++;
            buf key;
            sd_buf_init(&key);
            if (i < len && s[i] == '"') {
                size_t next = parse_quoted(s, len, i, &key, err);
                if (!next) {
                    sd_buf_free(&key);
                    goto fail;
                }
                i = next;
            } else if (i < len && is_ident_start(s[i])) {
                size_t st = i;
                while (i < len && is_ident(s[i])) i++;
                sd_buf_append(&key, s + st, i - st);
            } else {
                *err = "expected a key name or a quoted key after '.'";
                sd_buf_free(&key);
                goto fail;
            }
            if (key.oom) {
                sd_buf_free(&key);
                *err = "out of memory";
                goto fail;
            }
            seg.kind = SEG_KEY;
            seg.key_len = key.len;
            seg.key = sd_buf_steal(&key);
        } else {
            i++;
            if (i < len && s[i] == '*') {
                seg.kind = SEG_STAR;
                i++;
            } else {
                uint64_t n = 0;
                size_t st = i;
                while (i < len && s[i] >= '0' && s[i] <= '9' && n <= UINT32_MAX) n = n * 10 + (uint64_t)(s[i++] - '0');
                if (i == st || n > UINT32_MAX) {
                    *err = "expected an index or '*' inside '[ ]'";
                    goto fail;
                }
                seg.kind = SEG_INDEX;
                seg.index = (uint32_t)n;
            }
            if (i >= len || s[i] != ']') {
                *err = "expected ']'";
                goto fail;
            }
            i++;
        }
        if (add_seg(out, seg)) {
            free(seg.key);
            *err = "out of memory";
            goto fail;
        }
    }
    out->text = sd_path_to_text(out);
    if (!out->text) {
        *err = "out of memory";
        goto fail;
    }
    return i;
fail:
    sd_path_free(out);
    memset(out, 0, sizeof *out);
    return 0;
}
