/* lexer.h — rule source text → tokens, pulled one at a time by the parser.
 *
 * Every token carries its 1-based line and column (columns count bytes) and
 * its byte span in the source. The lexer never reports diagnostics itself: a
 * lexical error comes back as a TOK_ERROR token whose message and exact
 * position (err_line, err_col) the parser reports, so an error is reported
 * once, where the parser meets it.
 *
 * Two forms depend on context and are lexed on request by re-scanning the
 * current token from its start:
 *   - a regex literal `/.../flags` (the parser asks after `matches`; in other
 *     places `/` is the TOK_SLASH token, which no rule may contain);
 *   - a source name joined by hyphens (`cloudwatch-logs`, after `on`).
 * A field path (`.a."b c"[0][*]`) is one TOK_PATH token holding the parsed
 * path; its pieces must touch (no spaces inside a path). `$.a` is a path
 * marked `rooted`; a lone `.` (or `.[0]`, `.[*]`) is a path whose first
 * piece is no key: the element of an any/all (the parser says where).
 *
 * Keywords are plain identifiers; the parser recognises them in context.
 * Tokens own their decoded text and path; sd_lexer_token_free() releases them,
 * and a consumer may take ownership by setting the fields to NULL/zero.
 */
#ifndef SECDET_LANG_LEXER_H
#define SECDET_LANG_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/path.h"

typedef enum {
    TOK_EOF,
    TOK_ERROR,    /* str = message; err_line/err_col = exact position */
    TOK_IDENT,    /* letters, digits, '_' (not starting with a digit); also keywords and hyphenated names */
    TOK_STRING,   /* str/str_len = decoded value (UTF-8, no NUL) */
    TOK_NUMBER,   /* num */
    TOK_DURATION, /* num = milliseconds (whole) */
    TOK_REGEX,    /* str/str_len = pattern (`\/` turned into `/`), flags = subset of "imsx" */
    TOK_PATH,     /* path */
    TOK_LBRACE,
    TOK_RBRACE,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_COMMA,
    TOK_SEMI,
    TOK_COLON,
    TOK_ASSIGN,
    TOK_EQ,
    TOK_NE,
    TOK_LT,
    TOK_LE,
    TOK_GT,
    TOK_GE,
    TOK_SLASH,  /* only meaningful as the start of a regex (see sd_lexer_rescan_regex) */
    TOK_FOLDEQ, /* =~ */
} tok_kind;

typedef struct lex_token {
    tok_kind kind;
    uint32_t line, col; /* of the first byte */
    size_t start, len;  /* byte span in the source */
    bool line_start;    /* first token on its line */
    char *str;          /* owned; see tok_kind */
    size_t str_len;
    double num;
    char flags[5];
    sd_path path; /* TOK_PATH, owned */
    bool rooted;  /* TOK_PATH written `$.x`: the event's root inside any/all */
    uint32_t err_line, err_col;
} lex_token;

typedef struct lexer {
    const char *src;
    size_t len;
    size_t pos;
    uint32_t line;
    size_t line_pos;    /* offset of the current line's first byte */
    bool at_line_start; /* no token yet on the current line */
} lexer;

void sd_lexer_init(lexer *lx, const char *src, size_t len);
/* Lexes the next token into *t (which must hold no owned data). */
void sd_lexer_next(lexer *lx, lex_token *t);
/* Re-lexes *t (the token just returned by sd_lexer_next) as a regex literal. */
void sd_lexer_rescan_regex(lexer *lx, lex_token *t);
/* Re-lexes *t (an identifier just returned) as a name whose parts may be
 * joined by '-' (cloudwatch-logs). */
void sd_lexer_rescan_hyphen_name(lexer *lx, lex_token *t);
void sd_lexer_token_free(lex_token *t);
/* A short name of a token kind for messages ("a string", "end of file"). */
const char *sd_lexer_kind_name(tok_kind k);

#endif
