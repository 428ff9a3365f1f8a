/*
 * testfile.c — parsing one line of a rule pack's X.tests.jsonl.
 *
 * A test line is a JSON object with a few string members and either one
 * `event` object or an `events` array of objects (a stream, for aggregation
 * rules), and optionally `expect_alerts`, a whole number. We only need the
 * strings decoded and each event's text located (the library parses the
 * events itself), so this is a small strict JSON scanner rather than a JSON
 * library: it checks the whole line is well-formed JSON, decodes the members
 * we use, and skips the others. Nesting is bounded so a hostile test file
 * cannot exhaust the stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/limits.h"

/* Far above any sensible test; keeps the number parse free of overflow. */
#define MAX_EXPECT_ALERTS 1000000000L

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
    while (sc->pos < sc->n &&
           (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' || sc->s[sc->pos] == '\r' || sc->s[sc->pos] == '\n')) {
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

static int sd_scan_number(scanner *sc) {
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
    if (depth >= LIMIT_TEST_JSON_DEPTH) {
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
            return sd_scan_number(sc);
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

/* Appends one event's span to out->events. */
static int add_event(scanner *sc, cli_test_case *out, size_t *cap, size_t start) {
    if (out->event_count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        cli_test_event *grown = realloc(out->events, ncap * sizeof *grown);
        if (grown == NULL) {
            return fail(sc, "out of memory");
        }
        out->events = grown;
        *cap = ncap;
    }
    out->events[out->event_count].json = sc->s + start;
    out->events[out->event_count].len = sc->pos - start;
    out->event_count++;
    return 0;
}

/* "event": one object. */
static int take_event(scanner *sc, cli_test_case *out, size_t *cap) {
    if (sc->pos >= sc->n || sc->s[sc->pos] != '{') {
        return fail(sc, "\"event\" must be a JSON object");
    }
    size_t start = sc->pos;
    if (scan_value(sc, 1) != 0) {
        return -1;
    }
    return add_event(sc, out, cap, start);
}

/* "events": a non-empty array of objects, kept in order. */
static int take_events(scanner *sc, cli_test_case *out, size_t *cap) {
    if (sc->pos >= sc->n || sc->s[sc->pos] != '[') {
        return fail(sc, "\"events\" must be an array of JSON objects");
    }
    sc->pos++;
    skip_ws(sc);
    if (sc->pos < sc->n && sc->s[sc->pos] == ']') {
        return fail(sc, "\"events\" must hold at least one event");
    }
    for (;;) {
        skip_ws(sc);
        if (sc->pos >= sc->n || sc->s[sc->pos] != '{') {
            return fail(sc, "each of \"events\" must be a JSON object");
        }
        size_t start = sc->pos;
        if (scan_value(sc, 2) != 0 || add_event(sc, out, cap, start) != 0) {
            return -1;
        }
        skip_ws(sc);
        if (sc->pos < sc->n && sc->s[sc->pos] == ',') {
            sc->pos++;
            continue;
        }
        if (sc->pos < sc->n && sc->s[sc->pos] == ']') {
            sc->pos++;
            return 0;
        }
        return fail(sc, "expected ',' or ']'");
    }
}

/* "expect_alerts": a whole number, 0 or more, written without fraction or exponent. */
static int take_count(scanner *sc, long *out) {
    size_t start = sc->pos;
    long v = 0;
    while (sc->pos < sc->n && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9') {
        long digit = sc->s[sc->pos] - '0';
        if (v > (MAX_EXPECT_ALERTS - digit) / 10) {
            sc->pos = start;
            return fail(sc, "\"expect_alerts\" is too large");
        }
        v = v * 10 + digit;
        sc->pos++;
    }
    int leading_zero = sc->pos - start > 1 && sc->s[start] == '0';
    int more = sc->pos < sc->n &&
               (sc->s[sc->pos] == '.' || sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E' || sc->s[sc->pos] == '-');
    if (sc->pos == start || leading_zero || more) {
        sc->pos = start;
        return fail(sc, "\"expect_alerts\" must be a whole number, 0 or more");
    }
    *out = v;
    return 0;
}

int cli_test_parse(const char *line, size_t len, cli_test_case *out, char *err, size_t errlen) {
    scanner sc = {line, len, 0, err, errlen};
    char *expect = NULL;
    size_t events_cap = 0;
    int seen_event = 0, seen_events = 0;
    memset(out, 0, sizeof *out);
    out->expect_alerts = -1;
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
        } else if (strcmp(key, "event") == 0 || strcmp(key, "events") == 0) {
            int single = key[5] == '\0';
            if (seen_event || seen_events) {
                rc = fail(&sc, "a test has one \"event\" or one \"events\" array, not both");
            } else {
                rc = single ? take_event(&sc, out, &events_cap) : take_events(&sc, out, &events_cap);
            }
            seen_event |= single;
            seen_events |= !single;
        } else if (strcmp(key, "expect_alerts") == 0) {
            rc = take_count(&sc, &out->expect_alerts);
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
    if (out->event_count == 0) {
        snprintf(err, errlen, "missing \"event\" (or \"events\")");
        goto error;
    }
    out->expect_match = strcmp(expect, "match") == 0;
    if (out->expect_alerts >= 0 && (out->expect_alerts > 0) != out->expect_match) {
        snprintf(err, errlen, "\"expect_alerts\": %ld contradicts \"expect\": \"%s\"", out->expect_alerts, expect);
        goto error;
    }
    out->event = out->events[0].json;
    out->event_len = out->events[0].len;
    free(expect);
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
    free(tc->events);
    memset(tc, 0, sizeof *tc);
}
