/* vm_fn.c — the instructions Part 2 of the language added: paths read from
 * an any/all element, the functions b64decode, text, hour and weekday, and
 * the case-folded string tests (=~, icontains, istartswith, iendswith,
 * ilike, and the list forms of contains, startswith, endswith, like).
 *
 * Promises: what a function cannot read (a non-string for b64decode, a
 * value that is no time for hour) is dropped, so a test of it is false, as
 * for a missing path; results live in the event's arena; folding is Unicode
 * simple case folding (util/casefold.h), and a string that needs none is
 * not copied. A list test charges each member tested beyond the first to
 * the instruction budget, so a long list over a many-valued field is
 * bounded like everything else.
 */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "event/time.h"
#include "event/value_text.h"
#include "util/casefold.h"
#include "util/utf8.h"
#include "vm/vm_int.h"

static bool is_str(const sd_value *v) { return v->type == SD_STR; }

int sd_vm_elem_path(sd_event *ev, const sd_path *p, const sd_value *elem, sd_values *out) {
    if (p->nsegs == 0) {
        *out = (sd_values){1, elem};
        return 0;
    }
    if (!elem->node || (elem->type != SD_ARR && elem->type != SD_OBJ)) {
        *out = (sd_values){0, NULL};
        return 0;
    }
    sd_value *one = sd_arena_alloc(&ev->arena, sizeof *one);
    if (!one) return -1;
    sd_path_resolve(p, elem->node, &ev->arena, out, one);
    return 0;
}

/* ---- Functions ------------------------------------------------------------------ */

static int b64_digit(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decodes base64 (standard or URL-safe alphabet, padding optional) into
 * out (room for n * 3 / 4 + 3 bytes); -1 when it is not base64. */
static long b64_decode(const char *s, size_t n, unsigned char *out) {
    while (n > 0 && s[n - 1] == '=') n--;
    if (n % 4 == 1) return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int d = b64_digit((unsigned char)s[i]);
        if (d < 0) return -1;
        acc = (acc << 6) | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)o;
}

/* Whether b[0..n) is UTF-16LE text as the language means it: even length,
 * valid (surrogates paired), at least one ASCII character, and every unit
 * whose low byte is ASCII has a zero high byte (what ASCII text written as
 * UTF-16LE always has, and UTF-8 text almost never). */
static bool is_utf16le(const unsigned char *b, size_t n) {
    if (n == 0 || n % 2) return false;
    bool ascii = false;
    for (size_t i = 0; i < n; i += 2) {
        unsigned u = b[i] | (unsigned)b[i + 1] << 8;
        if (b[i] < 0x80 && b[i + 1] != 0) return false;
        if (u < 0x80) ascii = true;
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (i + 3 >= n) return false;
            unsigned lo = b[i + 2] | (unsigned)b[i + 3] << 8;
            if (lo < 0xDC00 || lo > 0xDFFF) return false;
            i += 2;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            return false;
        }
    }
    return ascii;
}

static bool valid_utf8(const unsigned char *b, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t l = sd_utf8_seq_len(b + i, n - i);
        if (l == 0) return false;
        i += l;
    }
    return true;
}

/* The text of decoded bytes, in the arena: UTF-16LE turned into UTF-8, or
 * UTF-8 as it is (a leading byte order mark dropped); false when neither. */
static bool decoded_text(sd_event *ev, const unsigned char *b, size_t n, sd_value *out) {
    if (is_utf16le(b, n)) {
        size_t i = n >= 2 && b[0] == 0xFF && b[1] == 0xFE ? 2 : 0;
        char *s = sd_arena_alloc(&ev->arena, (n - i) / 2 * 3 + 1); /* a unit: at most 3 bytes; a pair: 4 */
        if (!s) return false;
        size_t o = 0;
        for (; i < n; i += 2) {
            uint32_t cp = b[i] | (uint32_t)b[i + 1] << 8;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((b[i + 2] | (uint32_t)b[i + 3] << 8) - 0xDC00);
                i += 2;
            }
            o += sd_utf8_encode(cp, s + o);
        }
        *out = (sd_value){.type = SD_STR, .str = s, .len = o};
        return true;
    }
    if (!valid_utf8(b, n)) return false;
    size_t skip = n >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    *out = (sd_value){.type = SD_STR, .str = (const char *)b + skip, .len = n - skip};
    return true;
}

static bool b64decode_one(sd_event *ev, const sd_value *x, sd_value *out) {
    if (!is_str(x)) return false;
    unsigned char *b = sd_arena_alloc(&ev->arena, x->len / 4 * 3 + 4);
    if (!b) return false;
    long n = b64_decode(x->str ? x->str : "", x->len, b);
    return n >= 0 && decoded_text(ev, b, (size_t)n, out);
}

static bool text_one(vm_ctx *vm, sd_event *ev, const sd_value *x, sd_value *out) {
    if (is_str(x)) {
        *out = *x;
        return true;
    }
    if (!vm->scratch) {
        vm->scratch = malloc(sizeof *vm->scratch);
        if (!vm->scratch) return false;
        sd_buf_init(vm->scratch);
    }
    buf *b = vm->scratch;
    sd_buf_reset(b);
    sd_value_text(b, x);
    if (b->oom) {
        sd_buf_free(b);
        return false;
    }
    char *s = sd_arena_alloc(&ev->arena, b->len + 1);
    if (!s) return false;
    memcpy(s, b->data ? b->data : "", b->len);
    s[b->len] = 0;
    *out = (sd_value){.type = SD_STR, .str = s, .len = b->len};
    return true;
}

/* Epoch seconds or milliseconds, told apart by size (10^11 seconds is in
 * the year 5138); false outside what nanoseconds since 1970 in 64 bits hold
 * (1677-09-21 to 2262-04-11, as every event time). */
static bool epoch_ns(double v, int64_t *ns) {
    if (!isfinite(v)) return false;
    double s = fabs(v) < 1e11 ? v : v / 1000;
    if (s <= -9223372036.0 || s >= 9223372036.0) return false;
    *ns = (int64_t)floor(s * 1e9);
    return true;
}

/* The event time a value holds: RFC 3339, or epoch seconds / milliseconds
 * as a number or a string of digits. */
static bool time_of(const sd_value *x, int64_t *ns) {
    if (x->type == SD_NUM) return epoch_ns(x->num, ns);
    if (!is_str(x) || x->len == 0) return false;
    bool digits = x->len <= 18;
    for (size_t i = 0; i < x->len && digits; i++) digits = x->str[i] >= '0' && x->str[i] <= '9';
    if (digits) return epoch_ns(strtod(x->str, NULL), ns);
    return sd_time_parse_rfc3339(x->str, x->len, ns);
}

static bool timepart_one(const sd_value *x, double offset_s, bool weekday, sd_value *out) {
    int64_t ns;
    if (!time_of(x, &ns)) return false;
    int64_t s = ns / 1000000000 - (ns % 1000000000 < 0) + (int64_t)offset_s;
    int64_t days = s / 86400 - (s % 86400 < 0);
    int64_t in_day = s - days * 86400;
    /* 1970-01-01 was a Thursday (4) */
    double v = weekday ? (double)(((days % 7) + 7 + 3) % 7 + 1) : (double)(in_day / 3600);
    *out = (sd_value){.type = SD_NUM, .num = v};
    return true;
}

int sd_vm_function(vm_ctx *vm, sd_event *ev, uint8_t op, const sd_values *src, const sd_value *k, sd_values *dst) {
    *dst = (sd_values){0, NULL};
    if (src->n == 0) return 0;
    sd_value *out = sd_arena_alloc(&ev->arena, (size_t)src->n * sizeof *out);
    if (!out) return -1;
    double offset = k && k->type == SD_NUM ? k->num : 0;
    uint32_t j = 0;
    for (uint32_t i = 0; i < src->n; i++) {
        const sd_value *x = &src->v[i];
        bool ok = false;
        switch (op) {
        case OP_B64DECODE: ok = b64decode_one(ev, x, &out[j]); break;
        case OP_TEXT: ok = text_one(vm, ev, x, &out[j]); break;
        case OP_HOUR: ok = timepart_one(x, offset, false, &out[j]); break;
        case OP_WEEKDAY: ok = timepart_one(x, offset, true, &out[j]); break;
        default: return -1;
        }
        j += ok;
    }
    *dst = (sd_values){j, j ? out : NULL};
    return 0;
}

/* ---- Case-folded tests ------------------------------------------------------------ */

/* The fold of string x: x itself when it needs none, else a copy in the arena. */
static bool folded(sd_event *ev, const sd_value *x, const char **s, size_t *n) {
    const char *str = x->str ? x->str : "";
    if (sd_casefold_is_folded(str, x->len)) {
        *s = str;
        *n = x->len;
        return true;
    }
    char *out = sd_arena_alloc(&ev->arena, sd_casefold_max(x->len) + 1);
    if (!out) return false;
    *n = sd_casefold(str, x->len, out);
    *s = out;
    return true;
}

static bool bytes_test(int test, const char *s, size_t n, const char *m, size_t mn) {
    switch (test) {
    case STRS_CONTAINS: return mn == 0 || (mn <= n && memmem(s, n, m, mn) != NULL);
    case STRS_STARTSWITH: return mn <= n && (mn == 0 || memcmp(s, m, mn) == 0);
    case STRS_ENDSWITH: return mn <= n && (mn == 0 || memcmp(s + n - mn, m, mn) == 0);
    case STRS_LIKE: return sd_glob_match(m, mn, s, n);
    }
    return false;
}

bool sd_vm_fold_pair(sd_event *ev, uint8_t op, const sd_value *x, const sd_value *y) {
    const char *ys, *xs;
    size_t yn, xn;
    if (!folded(ev, y, &ys, &yn)) return false;
    if (op == OP_FEQ) return sd_casefold_equal(x->str ? x->str : "", x->len, ys, yn);
    if (!folded(ev, x, &xs, &xn)) return false;
    int test = op == OP_FCONTAINS ? STRS_CONTAINS : op == OP_FSTARTSWITH ? STRS_STARTSWITH : STRS_ENDSWITH;
    return bytes_test(test, xs, xn, ys, yn);
}

/* Charges n more steps; false when the budget is spent. */
static bool charge(vm_ctx *vm, uint64_t n) {
    vm->used += n;
    return !vm->budget || vm->used <= vm->budget;
}

vm_status sd_vm_fold_test(vm_ctx *vm, sd_event *ev, const vm_insn *in, const sd_values *a, bool *f) {
    const program *prog = vm->prog;
    *f = false;
    bool first = true;
    for (uint32_t i = 0; i < a->n && !*f; i++) {
        const sd_value *x = &a->v[i];
        if (!is_str(x)) continue;
        if (in->op == OP_FEQK) {
            const sd_value *k = &prog->consts[in->c];
            *f = is_str(k) && sd_casefold_equal(x->str ? x->str : "", x->len, k->str, k->len);
            continue;
        }
        const char *s = x->str ? x->str : "";
        size_t n = x->len;
        if ((in->op == OP_FINSET || (in->b & STRS_FOLD)) && !folded(ev, x, &s, &n)) return VM_ERROR;
        if (in->op == OP_FINSET) {
            sd_value v = {.type = SD_STR, .str = s, .len = n};
            *f = sd_vm_set_has(&prog->sets[in->c], &v);
            continue;
        }
        const str_list *l = &prog->strs[in->c];
        for (uint32_t m = 0; m < l->n && !*f; m++) {
            if (!first && !charge(vm, 1)) return VM_BUDGET;
            first = false;
            *f = bytes_test(in->b & ~STRS_FOLD, s, n, l->s[m], l->len[m]);
        }
    }
    return VM_OK;
}
