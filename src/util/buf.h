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
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    bool oom;
} buf;

void sd_buf_init(buf *b);
void sd_buf_free(buf *b);
void sd_buf_reset(buf *b); /* len = 0, keeps the memory */
bool sd_buf_reserve(buf *b, size_t extra);
void sd_buf_append(buf *b, const void *p, size_t n);
void sd_buf_puts(buf *b, const char *s);
void sd_buf_putc(buf *b, char c);
void sd_buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sd_buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included; invalid UTF-8 bytes
 * become U+FFFD so the output is always valid JSON. */
void sd_buf_json_string(buf *b, const char *s, size_t n);
/* Appends the whole file at path. 0, or -errno (the buffer keeps what was read). */
int sd_buf_read_file(buf *b, const char *path);
/* Takes the data out of the buffer (caller frees); the buffer is reset. */
char *sd_buf_steal(buf *b);

#endif
