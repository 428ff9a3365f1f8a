/* buf.h — a growable byte buffer, the one string builder of the project.
 *
 * Every function keeps the buffer NUL-terminated (data[len] == 0) so the
 * contents can be handed to C string APIs; allocation failure is sticky
 * (buf->oom set, further appends are no-ops) so callers check once at the end.
 */
#ifndef SECDET_UTIL_BUF_H
#define SECDET_UTIL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct buf {
    char *data;  /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    bool oom;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
void buf_reset(buf *b); /* len = 0, keeps the memory */
bool buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included; invalid UTF-8 bytes
 * become U+FFFD so the output is always valid JSON. */
void buf_json_string(buf *b, const char *s, size_t n);
/* Takes the data out of the buffer (caller frees); the buffer is reset. */
char *buf_steal(buf *b);

#endif
