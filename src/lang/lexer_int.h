/* lexer_int.h — what the two halves of the lexer share.
 *
 * lexer.c drives tokenisation (whitespace, names, numbers, paths,
 * punctuation); lexer_text.c scans the text-like literals that need UTF-8
 * checking and escapes (strings and regexes).
 */
#ifndef SECDET_LANG_LEXER_INT_H
#define SECDET_LANG_LEXER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lang/lexer.h"
#include "util/buf.h"

static inline bool lexer_is_alpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static inline bool lexer_is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline bool lexer_is_ident_char(unsigned char c) { return lexer_is_alpha(c) || lexer_is_digit(c) || c == '_'; }
static inline uint32_t lexer_col_at(const lexer *lx, size_t pos) { return (uint32_t)(pos - lx->line_pos + 1); }

/* Turns *t into an error token; the message's position is `pos` on the current line. */
void sd_lexer_set_error(lexer *lx, lex_token *t, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Length (1..4) of the valid UTF-8 sequence at s, or 0 when it is not one. */
size_t sd_lexer_utf8_len(const unsigned char *s, size_t n);
/* Scans a JSON string starting at the '"' at lx->pos, decoding it into *out.
 * Returns false with *t set to an error; either way the position ends after
 * the string (or at the end of its line when it is unterminated). */
bool sd_lexer_string_body(lexer *lx, lex_token *t, buf *out);
/* Puts the lexer back at the start of *t (which lies on one line) and frees its text. */
void sd_lexer_rewind(lexer *lx, lex_token *t);

#endif
