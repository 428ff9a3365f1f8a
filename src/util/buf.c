/* buf.c — growable byte buffer (see buf.h). */
#include "util/buf.h"

#include <errno.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sd_buf_init(buf *b) { memset(b, 0, sizeof *b); }

void sd_buf_free(buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

void sd_buf_reset(buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = 0;
}

bool sd_buf_reserve(buf *b, size_t extra) {
    if (b->oom) return false;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void sd_buf_append(buf *b, const void *p, size_t n) {
    if (!sd_buf_reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void sd_buf_puts(buf *b, const char *s) { sd_buf_append(b, s, strlen(s)); }

void sd_buf_putc(buf *b, char c) {
    if (!sd_buf_reserve(b, 1)) return;
    b->data[b->len++] = c;
    b->data[b->len] = 0;
}

void sd_buf_vprintf(buf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !sd_buf_reserve(b, (size_t)n)) return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void sd_buf_printf(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sd_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

void sd_buf_json_string(buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    if (!sd_buf_reserve(b, n + 2)) return;
    sd_buf_putc(b, '"');
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_valid_len(u + i, n - i);
            if (l) {
                i += l;
                continue;
            }
        }
        sd_buf_append(b, s + run, i - run);
        switch (c) {
        case '"': sd_buf_puts(b, "\\\""); break;
        case '\\': sd_buf_puts(b, "\\\\"); break;
        case '\n': sd_buf_puts(b, "\\n"); break;
        case '\r': sd_buf_puts(b, "\\r"); break;
        case '\t': sd_buf_puts(b, "\\t"); break;
        case '\b': sd_buf_puts(b, "\\b"); break;
        case '\f': sd_buf_puts(b, "\\f"); break;
        default:
            if (c < 0x20) {
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                sd_buf_append(b, esc, 6);
            } else {
                sd_buf_puts(b, "\xEF\xBF\xBD"); /* invalid UTF-8 byte → U+FFFD */
            }
        }
        i++;
        run = i;
    }
    sd_buf_append(b, s + run, n - run);
    sd_buf_putc(b, '"');
}

int sd_buf_read_file(buf *b, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -errno;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sd_buf_append(b, chunk, n);
    int rc = ferror(f) ? -EIO : b->oom ? -ENOMEM : 0;
    fclose(f);
    return rc;
}

char *sd_buf_steal(buf *b) {
    char *p = b->data;
    if (!p) p = calloc(1, 1);
    memset(b, 0, sizeof *b);
    return p;
}
