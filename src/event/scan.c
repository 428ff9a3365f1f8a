/* scan.c — the one-pass JSON scanner (see scan.h for what it promises).
 *
 * One loop over the text with an explicit stack of open containers; each
 * value carries the trie node of the paths that reach it (SCAN_NONE when no
 * planned path goes there, which still gets full validation but records
 * nothing). Before the loop, the text's index (scan_simd.c: a bit for every
 * quote, backslash or control byte, made 32 bytes at a time
 * with AVX2 where the CPU has it, else 16 with SSE2) lets a string end be
 * found from the bits alone; a string with a backslash or a control byte is
 * read byte by byte (16 at a time between escapes, util/json_lex.h), as all
 * strings were before the index. A string holding U+0000 (\u0000) is
 * decoded whole, its length counting every byte. Per event nothing is
 * allocated once the stack, hit list and tree list have grown, except the
 * cJSON trees of recorded containers.
 */
#include <cjson/cJSON.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "event/scan_int.h"
#include "event/scan_simd.h"
#include "util/json.h"
#include "util/json_lex.h"
#include "util/limits.h"

typedef struct scan_frame {
    uint32_t node;
    uint32_t count;    /* members or elements so far */
    uint64_t instance; /* objects: for the duplicate-key stamps */
    size_t start;      /* offset of the opening bracket */
    uint8_t obj;
} scan_frame;

void sd_scan_state_init(scan_state *st) {
    memset(st, 0, sizeof *st);
    st->simd = sd_scan_simd_best();
}

void sd_scan_state_reset(scan_state *st) {
    for (size_t i = 0; i < st->ntrees; i++) cJSON_Delete(st->trees[i]);
    st->ntrees = 0;
    st->nhits = 0;
}

void sd_scan_state_free(scan_state *st) {
    sd_scan_state_reset(st);
    free(st->stamps);
    free(st->stack);
    free(st->hits);
    free(st->trees);
    free(st->index);
    memset(st, 0, sizeof *st);
}

/* ---- lexing --------------------------------------------------------------- */

static inline int is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static inline size_t skip_ws(const unsigned char *s, size_t i, size_t n) {
    if (__builtin_expect(i < n && s[i] > ' ', 1)) return i; /* compact JSON: no whitespace at all */
    while (i < n && is_ws(s[i])) i++;
    return i;
}

static inline int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* \uXXXX at s[i] (the backslash); -1 when not four hex digits. */
static long hex4(const unsigned char *s, size_t i, size_t n) {
    if (n - i < 6 || s[i] != '\\' || s[i + 1] != 'u') return -1;
    long v = 0;
    for (size_t k = 2; k < 6; k++) {
        int h = hexval(s[i + k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

/* One escape at s[i] (a backslash): its length, and the code point or byte
 * it stands for in *cp; 0 when invalid. */
static size_t escape(const unsigned char *s, size_t i, size_t n, unsigned long *cp) {
    if (i + 1 >= n) return 0;
    switch (s[i + 1]) {
    case '"': *cp = '"'; return 2;
    case '\\': *cp = '\\'; return 2;
    case '/': *cp = '/'; return 2;
    case 'b': *cp = '\b'; return 2;
    case 'f': *cp = '\f'; return 2;
    case 'n': *cp = '\n'; return 2;
    case 'r': *cp = '\r'; return 2;
    case 't': *cp = '\t'; return 2;
    case 'u': break;
    default: return 0;
    }
    long a = hex4(s, i, n);
    if (a < 0 || (a >= 0xDC00 && a <= 0xDFFF)) return 0;
    if (a < 0xD800 || a > 0xDBFF) {
        *cp = (unsigned long)a;
        return 6;
    }
    long b = hex4(s, i + 6, n);
    if (b < 0xDC00 || b > 0xDFFF) return 0;
    *cp = 0x10000ul + (((unsigned long)a & 0x3FF) << 10) + ((unsigned long)b & 0x3FF);
    return 12;
}

/* s[i] == '"': the offset past the closing quote, or 0 when invalid; *esc
 * tells whether any escape was seen. */
static inline size_t string_end(const unsigned char *s, size_t i, size_t n, bool *esc) {
    i++;
    for (;;) {
        i = json_find_special(s, i, n);
        if (i >= n) return 0;
        if (s[i] == '"') return i + 1;
        if (s[i] != '\\') return 0; /* a raw control byte */
        *esc = true;
        unsigned long cp;
        size_t k = escape(s, i, n, &cp);
        if (!k) return 0;
        i += k;
    }
}

/* The index of the text being scanned (scan_simd.h). */
typedef struct scan_ix {
    const uint64_t *stop;
    size_t nwords;
} scan_ix;

/* string_end by the index: the next stop byte, when it is the closing
 * quote; otherwise (an escape, a control byte) the bytes decide. */
static inline __attribute__((always_inline)) size_t string_end_ix(const scan_ix *ix, const unsigned char *s, size_t i,
                                                                  size_t n, bool *esc) {
    size_t q = scan_next_bit(ix->stop, ix->nwords, i + 1);
    if (q < n && s[q] == '"') return q + 1;
    return string_end(s, i, n, esc);
}

/* Decodes the validated string body s[a..b) into out (b - a bytes at
 * least); returns the decoded length. */
static size_t unescape_to(const unsigned char *s, size_t a, size_t b, char *out) {
    size_t o = 0;
    for (size_t i = a; i < b;) {
        if (s[i] != '\\') {
            out[o++] = (char)s[i++];
            continue;
        }
        unsigned long cp = 0;
        i += escape(s, i, b, &cp);
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xC0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xE0 | (cp >> 12));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[o++] = (char)(0xF0 | (cp >> 18));
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return o;
}

/* The same into the arena, NUL-terminated. */
static char *unescape(const unsigned char *s, size_t a, size_t b, sd_arena *arena, size_t *len) {
    char *out = sd_arena_alloc(arena, b - a + 1);
    if (!out) return NULL;
    *len = unescape_to(s, a, b, out);
    out[*len] = 0;
    return out;
}

size_t sd_scan_unescape(const char *body, size_t len, char *out) {
    return unescape_to((const unsigned char *)body, 0, len, out);
}

/* A number as RFC 8259 writes it, starting at s[i]: the offset past it, or 0. */
static inline size_t number_end(const unsigned char *s, size_t i, size_t n) {
    size_t start = i;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return 0;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    /* A leading zero followed by a digit ("01") is not JSON; cJSON takes it. */
    if (i < n && s[i] >= '0' && s[i] <= '9') return 0;
    if (i - start > LIMIT_SCAN_NUMBER) return 0;
    return i;
}

/* The value of a validated number, as cJSON computes it (strtod, with the
 * locale's decimal point), short integers without the copy. */
static double number_value(const unsigned char *s, size_t a, size_t b) {
    size_t i = a;
    bool neg = s[i] == '-';
    if (neg) i++;
    if (b - i <= 15) {
        double v = 0;
        size_t k = i;
        while (k < b && s[k] >= '0' && s[k] <= '9') v = v * 10 + (s[k++] - '0');
        if (k == b) return neg ? -v : v;
    }
    char tmp[LIMIT_SCAN_NUMBER + 1];
    memcpy(tmp, s + a, b - a);
    tmp[b - a] = 0;
    const struct lconv *lc = localeconv();
    char dp = lc && lc->decimal_point && lc->decimal_point[0] ? lc->decimal_point[0] : '.';
    if (dp != '.')
        for (char *p = tmp; *p; p++)
            if (*p == '.') *p = dp;
    return strtod(tmp, NULL);
}

double sd_scan_number(const char *text, size_t len) { return number_value((const unsigned char *)text, 0, len); }

/* ---- recording ------------------------------------------------------------ */

static __attribute__((noinline)) int grow_hits(scan_state *st, size_t need) {
    size_t cap = st->cap_hits ? st->cap_hits * 2 : 64;
    while (cap < need) cap *= 2;
    scan_hit *h = realloc(st->hits, cap * sizeof *h);
    if (!h) return -1;
    st->hits = h;
    st->cap_hits = cap;
    return 0;
}

/* The value comes by value and is stored field by field once inlined: built
 * on the stack and copied whole, its 8-byte stores were read back as 16-byte
 * loads, which stall (store forwarding fails) — a tenth of the scan. */
static inline __attribute__((always_inline)) int record(scan_state *st, const scan_node *nd, sd_value v) {
    if (__builtin_expect(st->nhits + nd->nouts > st->cap_hits, 0) && grow_hits(st, st->nhits + nd->nouts) != 0)
        return -1;
    for (uint32_t k = 0; k < nd->nouts; k++) {
        scan_hit *h = &st->hits[st->nhits++];
        h->out = nd->outs[k];
        h->v.type = v.type;
        h->v.b = v.b;
        h->v.num = v.num;
        h->v.str = v.str;
        h->v.len = v.len;
        h->v.node = v.node;
    }
    return 0;
}

static int keep_tree(scan_state *st, cJSON *t) {
    if (st->ntrees == st->cap_trees) {
        size_t cap = st->cap_trees ? st->cap_trees * 2 : 8;
        void **p = realloc(st->trees, cap * sizeof *p);
        if (!p) return -1;
        st->trees = p;
        st->cap_trees = cap;
    }
    st->trees[st->ntrees++] = t;
    return 0;
}

/* Whether two keys of the same length n are equal: keys are short, and a
 * call to memcmp for each key of a planned object cost more than the compare. */
static inline bool key_eq(const char *a, const unsigned char *b, size_t n) {
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return false;
        a += 8, b += 8, n -= 8;
    }
    while (n--)
        if ((unsigned char)*a++ != *b++) return false;
    return true;
}

/* The child of an object's node for key s[a..b) (raw, escapes not decoded
 * unless esc), or SCAN_NONE; a duplicate key of the same object gets none. */
static uint32_t key_child(const scan_plan *p, scan_state *st, const scan_frame *f, const unsigned char *s, size_t a,
                          size_t b, bool esc, sd_arena *arena, int *oom) {
    const scan_node *nd = &p->nodes[f->node];
    const unsigned char *k = s + a;
    size_t len = b - a;
    if (esc) {
        char *d = unescape(s, a, b, arena, &len);
        if (!d) {
            *oom = 1;
            return SCAN_NONE;
        }
        k = (const unsigned char *)d;
    }
    uint32_t e = SCAN_NONE;
    if (nd->khash) {
        uint32_t at = scan_key_hash(k, len) & nd->khash_mask;
        for (uint32_t slot; (slot = nd->khash[at]) != 0; at = (at + 1) & nd->khash_mask) {
            const scan_kedge *ke = &nd->keys[slot - 1];
            if (ke->len == len && key_eq(ke->key, k, len)) {
                e = slot - 1;
                break;
            }
        }
    } else {
        for (uint32_t i = 0; i < nd->nkeys; i++)
            if (nd->keys[i].len == len && key_eq(nd->keys[i].key, k, len)) {
                e = i;
                break;
            }
    }
    if (e == SCAN_NONE) return SCAN_NONE;
    uint64_t *stamp = &st->stamps[nd->edge_base + e];
    if (*stamp == f->instance) return SCAN_NONE; /* the first of duplicate keys wins */
    *stamp = f->instance;
    return nd->keys[e].child;
}

static inline uint32_t elem_child(const scan_plan *p, uint32_t node, uint32_t index) {
    if (node == SCAN_NONE) return SCAN_NONE;
    const scan_node *nd = &p->nodes[node];
    for (uint32_t i = 0; i < nd->nidx; i++)
        if (nd->idx[i].index == index) return nd->idx[i].child;
    return nd->star;
}

/* ---- the scan ------------------------------------------------------------- */

int sd_scan_run(const scan_plan *p, scan_state *st, const char *text, size_t len, uint32_t max_depth, sd_arena *arena) {
    sd_scan_state_reset(st);
    if (!p || !text) return SCAN_BAD;
    uint32_t limit = max_depth ? max_depth : 64;
    if (limit > LIMIT_CJSON_DEPTH) limit = LIMIT_CJSON_DEPTH;
    if (st->nstamps < p->nedges) {
        uint64_t *s2 = realloc(st->stamps, (size_t)p->nedges * sizeof *s2);
        if (!s2) return SCAN_NOMEM;
        memset(s2 + st->nstamps, 0, (size_t)(p->nedges - st->nstamps) * sizeof *s2);
        st->stamps = s2;
        st->nstamps = p->nedges;
    }
    if (st->cap_stack < limit) {
        scan_frame *f = realloc(st->stack, (size_t)limit * sizeof *f);
        if (!f) return SCAN_NOMEM;
        st->stack = f;
        st->cap_stack = limit;
    }
    const unsigned char *s = (const unsigned char *)text;
    const size_t n = len;
    scan_ix ix = {.nwords = scan_index_words(n)};
    if (st->cap_index < ix.nwords) {
        size_t cap = ix.nwords < 64 ? 64 : ix.nwords;
        uint64_t *w = realloc(st->index, cap * sizeof *w);
        if (!w) return SCAN_NOMEM;
        st->index = w;
        st->cap_index = cap;
    }
    ix.stop = st->index;
    sd_scan_index(st->simd, s, n, st->index);
    size_t i = 0;
    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) i = 3; /* cJSON skips a BOM */
    i = skip_ws(s, i, n);
    if (i >= n || s[i] != '{') return SCAN_BAD;

    scan_frame *stack = st->stack;
    uint32_t depth = 0;
    uint32_t vnode = 0; /* the node of the value about to be read */
    int oom = 0;
    sd_value v;

    for (;;) {
        /* ---- a value starts at s[i] (not whitespace) ---- */
        if (i >= n) return SCAN_BAD;
        unsigned char c = s[i];
        const scan_node *nd = vnode == SCAN_NONE ? NULL : &p->nodes[vnode];
        if (c == '{' || c == '[') {
            if (depth >= limit) return SCAN_BAD;
            scan_frame *f = &stack[depth++];
            f->node = vnode;
            f->count = 0;
            f->start = i;
            f->obj = c == '{';
            if (f->obj) f->instance = ++st->instance;
            i = skip_ws(s, i + 1, n);
            if (i >= n) return SCAN_BAD;
            if (s[i] == (f->obj ? '}' : ']')) {
                i++;
                goto close;
            }
            if (f->obj) goto key;
            vnode = elem_child(p, vnode, 0);
            continue;
        }
        if (c == '"') {
            bool esc = false;
            size_t e = string_end_ix(&ix, s, i, n, &esc);
            if (!e) return SCAN_BAD;
            if (nd && nd->nouts) {
                v = (sd_value){.type = SD_STR};
                if (esc) {
                    char *d = unescape(s, i + 1, e - 1, arena, &v.len);
                    if (!d) return SCAN_NOMEM;
                    v.str = d;
                } else {
                    v.str = (const char *)s + i + 1;
                    v.len = e - i - 2;
                }
                if (record(st, nd, v) != 0) return SCAN_NOMEM;
            }
            i = e;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t e = number_end(s, i, n);
            if (!e) return SCAN_BAD;
            if (nd && nd->nouts) {
                v = (sd_value){.type = SD_NUM, .num = number_value(s, i, e)};
                if (record(st, nd, v) != 0) return SCAN_NOMEM;
            }
            i = e;
        } else if (c == 't' && n - i >= 4 && memcmp(s + i, "true", 4) == 0) {
            v = (sd_value){.type = SD_BOOL, .b = 1};
            if (nd && nd->nouts && record(st, nd, v) != 0) return SCAN_NOMEM;
            i += 4;
        } else if (c == 'f' && n - i >= 5 && memcmp(s + i, "false", 5) == 0) {
            v = (sd_value){.type = SD_BOOL, .b = 0};
            if (nd && nd->nouts && record(st, nd, v) != 0) return SCAN_NOMEM;
            i += 5;
        } else if (c == 'n' && n - i >= 4 && memcmp(s + i, "null", 4) == 0) {
            v = (sd_value){.type = SD_NULL};
            if (nd && nd->nouts && record(st, nd, v) != 0) return SCAN_NOMEM;
            i += 4;
        } else {
            return SCAN_BAD;
        }

    after:
        /* ---- a value ended before s[i]; depth > 0 ---- */
        {
            scan_frame *f = &stack[depth - 1];
            f->count++;
            i = skip_ws(s, i, n);
            if (i >= n) return SCAN_BAD;
            if (s[i] == ',') {
                i = skip_ws(s, i + 1, n);
                if (f->obj) goto key;
                vnode = elem_child(p, f->node, f->count);
                continue;
            }
            if (s[i] != (f->obj ? '}' : ']')) return SCAN_BAD;
            i++;
        }

    close:
        /* ---- the container at stack[depth-1] ended before s[i] ---- */
        {
            scan_frame *f = &stack[--depth];
            if (f->node != SCAN_NONE && p->nodes[f->node].nouts) {
                cJSON *t = sd_json_parse((const char *)s + f->start, i - f->start, 0, NULL);
                if (!t || keep_tree(st, t) != 0) {
                    cJSON_Delete(t);
                    return SCAN_NOMEM;
                }
                v = (sd_value){.type = f->obj ? SD_OBJ : SD_ARR, .len = f->count, .node = t};
                if (record(st, &p->nodes[f->node], v) != 0) return SCAN_NOMEM;
            }
            if (depth == 0) {
                i = skip_ws(s, i, n);
                return i == n ? SCAN_OK : SCAN_BAD;
            }
            goto after;
        }

    key:
        /* ---- in the object at stack[depth-1], a key starts at s[i] ---- */
        {
            scan_frame *f = &stack[depth - 1];
            if (i >= n || s[i] != '"') return SCAN_BAD;
            bool esc = false;
            size_t e = string_end_ix(&ix, s, i, n, &esc);
            if (!e) return SCAN_BAD;
            vnode = SCAN_NONE;
            if (f->node != SCAN_NONE && p->nodes[f->node].nkeys) {
                vnode = key_child(p, st, f, s, i + 1, e - 1, esc, arena, &oom);
                if (oom) return SCAN_NOMEM;
            }
            i = skip_ws(s, e, n);
            if (i >= n || s[i] != ':') return SCAN_BAD;
            i = skip_ws(s, i + 1, n);
        }
    }
}
