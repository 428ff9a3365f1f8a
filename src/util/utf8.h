/* utf8.h — validating and writing UTF-8, shared by the lexer, the path
 * parser and the sink formatters. */
#ifndef SECDET_UTIL_UTF8_H
#define SECDET_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Length (1..4) of the valid UTF-8 sequence at s[0..n), n >= 1; 0 when it is
 * invalid (a stray continuation byte, an overlong form, a surrogate, past
 * U+10FFFF, or cut short by n). */
size_t sd_utf8_seq_len(const unsigned char *s, size_t n);

/* Writes code point cp (at most U+10FFFF) as UTF-8 into o (4 bytes of
 * room); returns how many bytes it took. */
size_t sd_utf8_encode(uint32_t cp, char *o);

/* Appends code point cp (at most U+10FFFF; the callers decode \u escapes,
 * surrogate pairs joined) as UTF-8. */
void sd_utf8_put(buf *b, uint32_t cp);

#endif
