/*
 * testfile.c — parsing one line of a rule pack's X.tests.jsonl.
 *
 * A test line is a JSON object with a few string members and one `event`
 * object. We only need the strings decoded and the event's text located (the
 * library parses the event itself), so this is a small strict JSON scanner
 * rather than a JSON library: it checks the whole line is well-formed JSON,
 * decodes the members we use, and skips the others. Nesting is bounded so a
 * hostile test file cannot exhaust the stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define MAX_TEST_JSON_DEPTH 128

typedef struct scanner {
    const char *s;
    size_t n;
    size_t pos;
    char *err;
    size_t errlen;
} scanner;

static int fail(scanner *sc, const char *what) {
    snprintf(sc->err, sc->errlen, "%s at column %zu", what, sc->pos + 1);
    return -1;
}

static void skip_ws(scanner *sc) {
    while (sc->pos < sc->n && (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' ||
                               sc->s[sc->pos] == '\r' || sc->s[sc->pos] == '\n')) {
        sc->pos++;
    }
}

static int hex4(scanner *sc, unsigned *out) {
    if (sc->n - sc->pos < 4) {
        return fail(sc, "truncated \\u escape");
    }
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = sc->s[sc->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return fail(sc, "bad \\u escape");
        }
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at sc->pos (the opening quote). When out is non-NULL, the decoded
 * text is stored there (caller frees). */
static int scan_string(scanner *sc, char **out) {
    if (sc->pos >= sc->n || sc->s[sc->pos] != '"') {
        return fail(sc, "expected a string");
    }
    sc->pos++;
    /* Decoded text is never longer than the encoded text. */
    char *buf = NULL;
    size_t len = 0;
    if (out != NULL) {
        buf = malloc(sc->n - sc->pos + 1);
        if (buf == NULL) {
            return fail(sc, "out of memory");
        }
    }
    for (;;) {
        if (sc->pos >= sc->n) {
            free(buf);
            return fail(sc, "unterminated string");
        }
        unsigned char c = (unsigned char)sc->s[sc->pos++];
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            free(buf);
            return fail(sc, "control character in string");
        }
        if (c != '\\') {
            if (buf) {
                buf[len++] = (char)c;
            }
            continue;
        }
        if (sc->pos >= sc->n) {
            free(buf);
            return fail(sc, "unterminated string");
        }
        char e = sc->s[sc->pos++];
        char plain = 0;
        switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
            unsigned cp;
            if (hex4(sc, &cp) != 0) {
                free(buf);
                return -1;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (sc->n - sc->pos < 2 || sc->s[sc->pos] != '\\' || sc->s[sc->pos + 1] != 'u') {
                    free(buf);
                    return fail(sc, "lone surrogate in \\u escape");
                }
                sc->pos += 2;
                if (hex4(sc, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                    free(buf);
                    return fail(sc, "lone surrogate in \\u escape");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                free(buf);
                return fail(sc, "lone surrogate in \\u escape");
            }
            if (buf) {
                len += put_utf8(buf + len, cp);
            }
            continue;
        }
        default: free(buf); return fail(sc, "bad escape in string");
        }
        if (buf) {
            buf[len++] = plain;
        }
    }
    if (out != NULL) {
        buf[len] = '\0';
        *out = buf;
    }
    return 0;
}

static int scan_number(scanner *sc) {
    size_t start = sc->pos;
    if (sc->pos < sc->n && sc->s[sc->pos] == '-') {
        sc->pos++;
    }
    size_t digits = sc->pos;
    while (sc->pos < sc->n && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9') {
        sc->pos++;
    }
    if (sc->pos == digits || (sc->s[digits] == '0' && sc->pos - digits > 1)) {
        sc->pos = start;
        return fail(sc, "bad number");
    }
    if (sc->pos < sc->n && sc->s[sc->pos] == '.') {
        sc->pos++;
        size_t f = sc->pos;
        while (sc->pos < sc->n && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9') {
            sc->pos++;
        }
        if (sc->pos == f) {
            return fail(sc, "bad number");
        }
    }
    if (sc->pos < sc->n && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
        sc->pos++;
        if (sc->pos < sc->n && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-')) {
            sc->pos++;
        }
        size_t x = sc->pos;
        while (sc->pos < sc->n && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9') {
            sc->pos++;
        }
        if (sc->pos == x) {
            return fail(sc, "bad number");
        }
    }
    return 0;
}

static int scan_value(scanner *sc, int depth);

static int scan_container(scanner *sc, int depth, char open) {
    char close = open == '{' ? '}' : ']';
    if (depth >= MAX_TEST_JSON_DEPTH) {
        return fail(sc, "JSON nested too deeply");
    }
    sc->pos++;
    skip_ws(sc);
    if (sc->pos < sc->n && sc->s[sc->pos] == close) {
        sc->pos++;
        return 0;
    }
    for (;;) {
        skip_ws(sc);
        if (open == '{') {
            if (scan_string(sc, NULL) != 0) {
                return -1;
            }
            skip_ws(sc);
            if (sc->pos >= sc->n || sc->s[sc->pos] != ':') {
                return fail(sc, "expected ':'");
            }
            sc->pos++;
            skip_ws(sc);
        }
        if (scan_value(sc, depth + 1) != 0) {
            return -1;
        }
        skip_ws(sc);
        if (sc->pos < sc->n && sc->s[sc->pos] == ',') {
            sc->pos++;
            continue;
        }
        if (sc->pos < sc->n && sc->s[sc->pos] == close) {
            sc->pos++;
            return 0;
        }
        return fail(sc, open == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int scan_literal(scanner *sc, const char *word) {
    size_t len = strlen(word);
    if (sc->n - sc->pos < len || memcmp(sc->s + sc->pos, word, len) != 0) {
        return fail(sc, "expected a JSON value");
    }
    sc->pos += len;
    return 0;
}

static int scan_value(scanner *sc, int depth) {
    if (sc->pos >= sc->n) {
        return fail(sc, "expected a JSON value");
    }
    char c = sc->s[sc->pos];
    switch (c) {
    case '{':
    case '[': return scan_container(sc, depth, c);
    case '"': return scan_string(sc, NULL);
    case 't': return scan_literal(sc, "true");
    case 'f': return scan_literal(sc, "false");
    case 'n': return scan_literal(sc, "null");
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            return scan_number(sc);
        }
        return fail(sc, "expected a JSON value");
    }
}

/* A member whose value must be a string: replaces *slot. */
static int take_string(scanner *sc, const char *key, char **slot) {
    if (sc->pos >= sc->n || sc->s[sc->pos] != '"') {
        char what[64];
        snprintf(what, sizeof what, "\"%s\" must be a string", key);
        return fail(sc, what);
    }
    char *value;
    if (scan_string(sc, &value) != 0) {
        return -1;
    }
    free(*slot);
    *slot = value;
    return 0;
}

int cli_test_parse(const char *line, size_t len, cli_test_case *out, char *err, size_t errlen) {
    scanner sc = {line, len, 0, err, errlen};
    char *expect = NULL;
    memset(out, 0, sizeof *out);
    skip_ws(&sc);
    if (sc.pos >= sc.n || sc.s[sc.pos] != '{') {
        return fail(&sc, "expected a JSON object");
    }
    sc.pos++;
    skip_ws(&sc);
    int empty = sc.pos < sc.n && sc.s[sc.pos] == '}';
    if (empty) {
        sc.pos++;
    }
    while (!empty) {
        skip_ws(&sc);
        char *key = NULL;
        if (scan_string(&sc, &key) != 0) {
            goto error;
        }
        skip_ws(&sc);
        if (sc.pos >= sc.n || sc.s[sc.pos] != ':') {
            free(key);
            fail(&sc, "expected ':'");
            goto error;
        }
        sc.pos++;
        skip_ws(&sc);
        int rc;
        if (strcmp(key, "rule") == 0) {
            rc = take_string(&sc, key, &out->rule);
        } else if (strcmp(key, "expect") == 0) {
            rc = take_string(&sc, key, &expect);
        } else if (strcmp(key, "source") == 0) {
            rc = take_string(&sc, key, &out->source);
        } else if (strcmp(key, "name") == 0) {
            rc = take_string(&sc, key, &out->name);
        } else if (strcmp(key, "event") == 0) {
            if (sc.pos >= sc.n || sc.s[sc.pos] != '{') {
                rc = fail(&sc, "\"event\" must be a JSON object");
            } else {
                size_t start = sc.pos;
                rc = scan_value(&sc, 1);
                out->event = line + start;
                out->event_len = sc.pos - start;
            }
        } else {
            rc = scan_value(&sc, 1); /* other members (comments, ...) are allowed */
        }
        free(key);
        if (rc != 0) {
            goto error;
        }
        skip_ws(&sc);
        if (sc.pos < sc.n && sc.s[sc.pos] == ',') {
            sc.pos++;
            continue;
        }
        if (sc.pos < sc.n && sc.s[sc.pos] == '}') {
            sc.pos++;
            break;
        }
        fail(&sc, "expected ',' or '}'");
        goto error;
    }
    skip_ws(&sc);
    if (sc.pos != sc.n) {
        fail(&sc, "unexpected text after the JSON object");
        goto error;
    }
    if (out->rule == NULL) {
        snprintf(err, errlen, "missing \"rule\"");
        goto error;
    }
    if (expect == NULL || (strcmp(expect, "match") != 0 && strcmp(expect, "no-match") != 0)) {
        snprintf(err, errlen, "\"expect\" must be \"match\" or \"no-match\"");
        goto error;
    }
    if (out->event == NULL) {
        snprintf(err, errlen, "missing \"event\"");
        goto error;
    }
    out->expect_match = strcmp(expect, "match") == 0;
    free(expect);
    if (out->source == NULL) {
        out->source = strdup("cloudtrail");
        if (out->source == NULL) {
            snprintf(err, errlen, "out of memory");
            cli_test_case_free(out);
            return -1;
        }
    }
    return 0;

error:
    free(expect);
    cli_test_case_free(out);
    return -1;
}

void cli_test_case_free(cli_test_case *tc) {
    free(tc->rule);
    free(tc->source);
    free(tc->name);
    memset(tc, 0, sizeof *tc);
}
