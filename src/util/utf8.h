/* utf8.h — validating UTF-8, shared by the lexer and the sink formatters. */
#ifndef SECDET_UTIL_UTF8_H
#define SECDET_UTIL_UTF8_H

#include <stddef.h>

/* Length (1..4) of the valid UTF-8 sequence at s[0..n), n >= 1; 0 when it is
 * invalid (a stray continuation byte, an overlong form, a surrogate, past
 * U+10FFFF, or cut short by n). */
size_t sd_utf8_seq_len(const unsigned char *s, size_t n);

#endif
