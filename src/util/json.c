/* json.c — JSON text to cJSON tree without cJSON's global error state.
 *
 * A recursive-descent parser (at most CJSON_NESTING_LIMIT containers deep,
 * as cJSON's own) whose every rule mirrors cJSON 1.7.15's, including where
 * its parse offset stands when it fails: that offset is the "near byte" of
 * the decoders' messages. All state lives in a `parser` on the caller's
 * stack; the tree is built with cJSON_Create* and cJSON_AddItemTo*. Strings
 * and numbers are decoded onto one scratch buf, used as a stack: an object
 * key waits there, NUL-terminated, while its value is parsed above it.
 * See json.h for the accepted language.
 *
 * Two departures from cJSON, both so that no string content is hidden:
 *  - A raw control character (U+0000-U+001F) inside a string is refused
 *    (cJSON takes it): JSON requires it escaped, and a raw NUL would cut the
 *    string for every reader that stops at NUL.
 *  - A string holding U+0000 (from \u0000, or a \u escape with bad hex
 *    digits, which cJSON decodes as U+0000) keeps all its bytes. cJSON's
 *    nodes have no length, so the length has to live somewhere a reader can
 *    find it. Only such strings are touched — every other node is exactly
 *    cJSON's, so the differential tests against cJSON stay exact and code
 *    that reads valuestring as a C string is right for every string without
 *    a NUL. A string value: valuestring holds every byte plus a NUL,
 *    valuedouble (unused by cJSON for strings) its byte length, and the type
 *    bit JSON_STRING_HAS_NUL says so. A side table would not travel with the
 *    tree (decoders hand bare cJSON nodes on), and decoding lazily from the
 *    text would need the text kept alive beside every tree. An object key has
 *    no free field beside it (a number value uses both valueint and
 *    valuedouble), so a key holding U+0000 is stored encoded without NUL
 *    bytes (0x00 as 0x01 '0', 0x01 as 0x01 '1') and its member marked
 *    JSON_KEY_HAS_NUL: cJSON_Duplicate and cJSON_Delete handle it as any
 *    key, a lookup by a name without 0x01 can never match it, and
 *    sd_json_key_bytes decodes it for the writers.
 */
#include "util/json.h"

#include <langinfo.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/json_lex.h"

typedef struct parser {
    const unsigned char *s;
    size_t len;
    size_t off; /* moved the way cJSON moves its offset */
    size_t depth, limit;
    buf scratch;
    bool nul;    /* the string parse_string just decoded holds U+0000 */
    int control; /* the raw control byte that failed the parse (at off), or -1 */
} parser;

static cJSON *parse_value(parser *p);

/* Is there a byte at off + k? */
static bool at(const parser *p, size_t k) { return p->off + k < p->len; }

static bool byte_is(const parser *p, unsigned char c) { return at(p, 0) && p->s[p->off] == c; }

/* cJSON's whitespace: every byte <= 32. When the skip runs off the end, the
 * offset steps back onto the last byte (which then matches nothing). */
static void skip_ws(parser *p) {
    if (!at(p, 0)) return;
    while (at(p, 0) && p->s[p->off] <= 32) p->off++;
    if (p->off == p->len) p->off--;
}

/* NUL-terminates the scratch buffer at its length; false when out of memory. */
static bool scratch_terminate(parser *p) {
    if (!sd_buf_reserve(&p->scratch, 0)) return false;
    p->scratch.data[p->scratch.len] = 0;
    return true;
}

/* Four hex digits; 0 when any of them is not one (as cJSON). */
static unsigned hex4(const unsigned char *h) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = h[i], lc = c | 0x20u, d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (lc >= 'a' && lc <= 'f')
            d = lc - 'a' + 10;
        else
            return 0;
        v = v << 4 | d;
    }
    return v;
}

static void put_utf8(buf *b, unsigned long cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        n = 4;
    }
    for (size_t k = 1; k < n; k++) u[k] = (char)(0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3F));
    sd_buf_append(b, u, n);
}

/* The \u escape at s[i] of a string whose closing quote is s[e]: appends
 * its UTF-8 and returns the escape's length (6, or 12 for a surrogate
 * pair), or 0 when it is invalid. */
static size_t unicode_escape(parser *p, size_t i, size_t e) {
    const unsigned char *u = p->s + i;
    if (e - i < 6) return 0;
    unsigned long cp = hex4(u + 2);
    if (cp >= 0xDC00 && cp <= 0xDFFF) return 0; /* a lone low surrogate */
    if (cp < 0xD800 || cp > 0xDBFF) {
        if (cp == 0) p->nul = true;
        put_utf8(&p->scratch, cp);
        return 6;
    }
    if (e - i - 6 < 6 || u[6] != '\\' || u[7] != 'u') return 0;
    unsigned lo = hex4(u + 8);
    if (lo < 0xDC00 || lo > 0xDFFF) return 0;
    put_utf8(&p->scratch, 0x10000 + ((cp & 0x3FF) << 10 | (lo & 0x3FF)));
    return 12;
}

/* Decodes the string literal at off onto the scratch buffer, NUL-terminated
 * (its length there is the decoded length; p->nul tells whether a \u escape
 * decoded to U+0000 inside it). Like cJSON, first finds the closing quote (a
 * backslash escapes whatever byte follows), then decodes up to it. On
 * failure off is the byte after the opening quote, or the backslash of the
 * bad escape, or — for a closed string holding a raw control byte, which
 * cJSON would take — that byte (p->control set). */
static bool parse_string(parser *p) {
    const unsigned char *s = p->s;
    size_t start = p->off, e = start + 1, ctl = SIZE_MAX;
    bool escapes = false;
    p->nul = false;
    if (!byte_is(p, '"')) goto bad_literal;
    for (;;) {
        e = json_find_special(s, e, p->len);
        if (e >= p->len) goto bad_literal;
        if (s[e] == '"') break;
        if (s[e] == '\\') {
            if (e + 1 >= p->len) goto bad_literal;
            escapes = true;
            e += 2;
        } else {
            if (ctl == SIZE_MAX) ctl = e; /* refused once the string is closed, as cJSON sees it */
            e++;
        }
    }
    if (ctl != SIZE_MAX) {
        p->off = ctl;
        p->control = s[ctl];
        return false;
    }
    size_t i = start + 1;
    if (!escapes) sd_buf_append(&p->scratch, s + i, e - i);
    while (escapes && i < e) {
        size_t run = i;
        while (run < e && s[run] != '\\') run++;
        sd_buf_append(&p->scratch, s + i, run - i);
        if (run >= e) break;
        i = run; /* s[i + 1] exists: at worst it is the closing quote */
        char c;
        switch (s[i + 1]) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case '"':
        case '\\':
        case '/': c = (char)s[i + 1]; break;
        case 'u': {
            size_t n = unicode_escape(p, i, e);
            if (n == 0) goto bad_escape;
            i += n;
            continue;
        }
        default: goto bad_escape;
        }
        sd_buf_putc(&p->scratch, c);
        i += 2;
    }
    if (!scratch_terminate(p)) return false;
    p->off = e + 1;
    return true;
bad_escape:
    p->off = i;
    return false;
bad_literal:
    p->off = start + 1;
    return false;
}

static bool is_number_byte(unsigned char c) {
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

/* The number at off: the run of number bytes, of which strtod takes the
 * longest prefix it can. strtod reads the locale's radix, so each '.' of
 * the copy becomes that radix (nl_langinfo is thread-safe in glibc). */
static cJSON *parse_number(parser *p) {
    size_t start = p->off, n = 0;
    bool dot = false;
    while (at(p, n) && is_number_byte(p->s[start + n])) dot |= p->s[start + n++] == '.';
    const char *radix = dot ? nl_langinfo(RADIXCHAR) : ".";
    if (!radix || !*radix) radix = ".";
    size_t rlen = strlen(radix), mark = p->scratch.len;
    if (rlen == 1 && *radix == '.') {
        sd_buf_append(&p->scratch, p->s + start, n);
    } else {
        for (size_t k = 0; k < n; k++) {
            if (p->s[start + k] == '.')
                sd_buf_append(&p->scratch, radix, rlen);
            else
                sd_buf_putc(&p->scratch, (char)p->s[start + k]);
        }
    }
    if (!scratch_terminate(p)) return NULL;
    char *copy = p->scratch.data + mark, *stop = copy;
    double v = strtod(copy, &stop);
    size_t used = (size_t)(stop - copy), k = 0;
    p->scratch.len = mark;
    if (used == 0) return NULL;
    for (size_t c = 0; c < used; k++) c += p->s[start + k] == '.' ? rlen : 1;
    p->off = start + k;
    return cJSON_CreateNumber(v); /* valueint saturates as cJSON's parser's does */
}

/* ---- strings and keys holding U+0000 (see the top of the file) ---------- */

#define KEY_ESCAPE 0x01 /* encoded keys: 0x00 is 0x01 '0', 0x01 is 0x01 '1' */

/* A string node of len bytes with a NUL among them: cJSON_CreateString would
 * copy only up to it. */
static cJSON *string_with_nul(const char *bytes, size_t len) {
    cJSON *n = cJSON_CreateNull();
    char *copy = len < SIZE_MAX ? cJSON_malloc(len + 1) : NULL;
    if (!n || !copy) {
        cJSON_Delete(n);
        cJSON_free(copy);
        return NULL;
    }
    memcpy(copy, bytes, len);
    copy[len] = 0;
    n->type = cJSON_String | JSON_STRING_HAS_NUL;
    n->valuestring = copy;
    n->valuedouble = (double)len;
    return n;
}

/* The decoded key at scratch[mark..len) holds a NUL: appends its encoding
 * after it (past the key's own NUL), NUL-terminated, and sets *key to where
 * it starts. The scratch length then covers both. */
static bool encode_key(parser *p, size_t mark, size_t *key) {
    size_t n = p->scratch.len - mark;
    p->scratch.len++; /* past the decoded key's NUL */
    *key = p->scratch.len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p->scratch.data[mark + i];
        if (c == 0 || c == KEY_ESCAPE) {
            sd_buf_putc(&p->scratch, KEY_ESCAPE);
            c = c == 0 ? '0' : '1';
        }
        sd_buf_putc(&p->scratch, (char)c);
    }
    return scratch_terminate(p);
}

size_t sd_json_string_len(const cJSON *node) {
    if (!node || !node->valuestring) return 0;
    if (node->type & JSON_STRING_HAS_NUL) return (size_t)node->valuedouble;
    return strlen(node->valuestring);
}

const char *sd_json_key_bytes(const cJSON *member, buf *tmp, size_t *len) {
    const char *k = member && member->string ? member->string : "";
    if (!member || !(member->type & JSON_KEY_HAS_NUL)) {
        *len = strlen(k);
        return k;
    }
    sd_buf_reset(tmp);
    for (size_t i = 0; k[i]; i++) {
        if (k[i] == KEY_ESCAPE && (k[i + 1] == '0' || k[i + 1] == '1'))
            sd_buf_putc(tmp, k[++i] == '0' ? 0 : KEY_ESCAPE);
        else
            sd_buf_putc(tmp, k[i]);
    }
    *len = tmp->oom ? 0 : tmp->len;
    return tmp->oom || !tmp->data ? "" : tmp->data;
}

const cJSON *sd_json_member(const cJSON *object, const char *key) {
    if (!cJSON_IsObject(object) || !key) return NULL;
    for (const cJSON *c = object->child; c; c = c->next)
        if (!(c->type & JSON_KEY_HAS_NUL) && c->string && strcmp(c->string, key) == 0) return c;
    return NULL;
}

/* cJSON_Duplicate copied every string up to its first NUL: gives the copies
 * of orig's strings that hold one all their bytes back. */
static bool restore_nul_strings(cJSON *copy, const cJSON *orig) {
    for (; copy && orig; copy = copy->next, orig = orig->next) {
        if ((orig->type & JSON_STRING_HAS_NUL) && orig->valuestring) {
            size_t n = sd_json_string_len(orig);
            char *s = cJSON_malloc(n + 1);
            if (!s) return false;
            memcpy(s, orig->valuestring, n + 1);
            cJSON_free(copy->valuestring);
            copy->valuestring = s;
        }
        if (orig->child && !restore_nul_strings(copy->child, orig->child)) return false;
    }
    return true;
}

cJSON *sd_json_duplicate(const cJSON *node) {
    cJSON *copy = node ? cJSON_Duplicate(node, true) : NULL;
    if (copy && !restore_nul_strings(copy, node)) {
        cJSON_Delete(copy);
        return NULL;
    }
    return copy;
}

/* ---- containers ------------------------------------------------------------ */

static cJSON *parse_array(parser *p) {
    if (p->depth >= p->limit) return NULL;
    p->depth++;
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return NULL;
    p->off++;
    skip_ws(p);
    if (!byte_is(p, ']')) {
        if (!at(p, 0)) {
            p->off--;
            goto fail;
        }
        for (;;) {
            cJSON *v = parse_value(p);
            if (!v) goto fail;
            cJSON_AddItemToArray(arr, v);
            skip_ws(p);
            if (!byte_is(p, ',')) break;
            p->off++;
            skip_ws(p);
        }
        if (!byte_is(p, ']')) goto fail;
    }
    p->depth--;
    p->off++;
    return arr;
fail:
    cJSON_Delete(arr);
    return NULL;
}

static cJSON *parse_object(parser *p) {
    if (p->depth >= p->limit) return NULL;
    p->depth++;
    cJSON *obj = cJSON_CreateObject();
    if (!obj) return NULL;
    p->off++;
    skip_ws(p);
    if (!byte_is(p, '}')) {
        if (!at(p, 0)) {
            p->off--;
            goto fail;
        }
        for (;;) {
            size_t mark = p->scratch.len, key = mark;
            if (!parse_string(p)) goto fail;
            bool key_nul = p->nul;
            if (key_nul && !encode_key(p, mark, &key)) goto fail;
            p->scratch.len++; /* keep the key and its NUL below the value's strings */
            skip_ws(p);
            if (!byte_is(p, ':')) goto fail;
            p->off++;
            skip_ws(p);
            cJSON *v = parse_value(p);
            if (!v) goto fail;
            /* duplicates kept, in order */
            if (!cJSON_AddItemToObject(obj, p->scratch.data + key, v)) {
                cJSON_Delete(v);
                goto fail;
            }
            if (key_nul) v->type |= JSON_KEY_HAS_NUL;
            p->scratch.len = mark;
            skip_ws(p);
            if (!byte_is(p, ',')) break;
            if (!at(p, 1)) goto fail; /* nothing after the comma: Debian's fix of CVE-2023-53154 */
            p->off++;
            skip_ws(p);
        }
        if (!byte_is(p, '}')) goto fail;
    }
    p->depth--;
    p->off++;
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}

/* null, false, true: cJSON does not look at the byte after the word. */
static cJSON *literal(parser *p, size_t n, cJSON *item) {
    p->off += n;
    return item;
}

static cJSON *parse_value(parser *p) {
    size_t left = p->off < p->len ? p->len - p->off : 0;
    const unsigned char *s = p->s + p->off;
    if (left >= 4 && memcmp(s, "null", 4) == 0) return literal(p, 4, cJSON_CreateNull());
    if (left >= 5 && memcmp(s, "false", 5) == 0) return literal(p, 5, cJSON_CreateFalse());
    if (left >= 4 && memcmp(s, "true", 4) == 0) {
        cJSON *t = cJSON_CreateTrue();
        if (t) t->valueint = 1; /* as cJSON's parser sets it */
        return literal(p, 4, t);
    }
    if (left == 0) return NULL;
    if (*s == '"') {
        size_t mark = p->scratch.len;
        if (!parse_string(p)) return NULL;
        const char *d = p->scratch.data + mark;
        cJSON *str = p->nul ? string_with_nul(d, p->scratch.len - mark) : cJSON_CreateString(d);
        p->scratch.len = mark;
        return str;
    }
    if (*s == '-' || (*s >= '0' && *s <= '9')) return parse_number(p);
    if (*s == '[') return parse_array(p);
    if (*s == '{') return parse_object(p);
    return NULL;
}

cJSON *sd_json_parse_prefix_control(const char *s, size_t len, size_t max_depth, size_t *end, int *control) {
    parser p = {.s = (const unsigned char *)s, .len = s ? len : 0, .limit = CJSON_NESTING_LIMIT, .control = -1};
    if (max_depth > 0 && max_depth < p.limit) p.limit = max_depth;
    sd_buf_init(&p.scratch);
    cJSON *root = NULL;
    if (p.len > 0) {
        if (p.len >= 5 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) p.off = 3; /* a UTF-8 BOM */
        skip_ws(&p);
        root = parse_value(&p);
    }
    sd_buf_free(&p.scratch);
    if (end) *end = root || p.off < p.len ? p.off : p.len ? p.len - 1 : 0;
    if (control) *control = root ? -1 : p.control;
    return root;
}

cJSON *sd_json_parse_prefix(const char *s, size_t len, size_t max_depth, size_t *end) {
    return sd_json_parse_prefix_control(s, len, max_depth, end, NULL);
}

cJSON *sd_json_parse(const char *s, size_t len, size_t max_depth, size_t *err_offset) {
    size_t end = 0;
    cJSON *root = sd_json_parse_prefix(s, len, max_depth, &end);
    if (!root && err_offset) *err_offset = end;
    return root;
}
