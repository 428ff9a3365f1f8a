/* fuzz_scan.c — libFuzzer target: the one-pass JSON scanner against cJSON.
 *
 * The engine reads events with scan.c (sd_event_begin_text): a validating
 * scanner that extracts only the paths rules read, and writes the alert's
 * copy of the event from the text (sd_alert_json_from_text). Its contract is
 * the tree parser's, sd_json_parse (cJSON's language, which fuzz_json checks,
 * with raw control characters in strings refused and strings holding U+0000
 * kept whole), so that is the oracle (as in tests/unit/test_scan.c):
 *  - whatever the scanner accepts, sd_json_parse accepts too (one object, only
 *    whitespace after it);
 *  - every planned path has the same values (strings byte for byte, U+0000
 *    included), in the same order, as sd_path_resolve gives on its tree;
 *  - the event JSON written from the text is byte for byte the tree's;
 *  - the scan gives the same answer with its index made each way the CPU
 *    has (plain C, SSE2, AVX2: event/scan_simd.c).
 * Input: a first line of field paths separated by spaces (at most 16; ones
 * that do not parse are skipped; none at all means a fixed set), then the
 * JSON text. Byte 0 of the line, when it is a digit d, sets max_depth to
 * 2^d (else 64) and is not part of the paths.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "event/event.h"
#include "event/scan.h"
#include "event/scan_simd.h"
#include "util/buf.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXP 16

/* the last two: keys past 8 and past 16 bytes, which the key hash reads by
 * their first and last words only (event/scan_int.h) */
static const char *const DEFAULT_PATHS[] = {".a",         ".a[*]", ".a[0].b",      ".a[*].b[*]",
                                            ".s",         ".n",    ".o.x",         ".\"k y\"",
                                            ".eventTime", ".o",    ".abcdefghijk", ".o.abcdefghijklmnopqrstu"};

static cJSON *tree_accepts(const char *s, size_t len) {
    size_t end = 0;
    cJSON *root = len ? sd_json_parse_prefix(s, len, 0, &end) : NULL;
    if (!root) return NULL;
    for (const char *p = s + end; p < s + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            return NULL;
        }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static int depth_of(const cJSON *n) {
    int d = 0;
    for (const cJSON *c = n ? n->child : NULL; c; c = c->next) {
        int k = depth_of(c);
        if (k > d) d = k;
    }
    return n && (cJSON_IsArray(n) || cJSON_IsObject(n)) ? d + 1 : d;
}

static void same_value(const sd_value *a, const sd_value *b) {
    if (a->type != b->type) __builtin_trap();
    switch (a->type) {
    case SD_NULL: break;
    case SD_BOOL:
        if ((a->b != 0) != (b->b != 0)) __builtin_trap();
        break;
    case SD_NUM:
        if (!(a->num == b->num || (isnan(a->num) && isnan(b->num))) || signbit(a->num) != signbit(b->num))
            __builtin_trap();
        break;
    case SD_STR:
        if (a->len != b->len || (a->len && memcmp(a->str, b->str, a->len) != 0)) __builtin_trap();
        break;
    case SD_ARR:
    case SD_OBJ: {
        if (a->len != b->len || !a->node || !b->node) __builtin_trap();
        /* by their text: cJSON_Compare calls trees with duplicate keys unequal to themselves */
        buf x, y;
        sd_buf_init(&x);
        sd_buf_init(&y);
        sd_alert_json_write(&x, a->node);
        sd_alert_json_write(&y, b->node);
        if (!x.oom && !y.oom && (x.len != y.len || memcmp(x.data, y.data, x.len) != 0)) __builtin_trap();
        sd_buf_free(&x);
        sd_buf_free(&y);
        break;
    }
    }
}

/* The scanner with its index made each way this CPU has (event/scan_simd.c)
 * answers as the event's own scan did: accepted or not, the same values. */
static void same_at_every_level(const sd_event *ev, const char *text, size_t len, uint32_t max_depth, int rc) {
    static const int levels[] = {SCAN_SIMD_SCALAR, SCAN_SIMD_SSE2, SCAN_SIMD_AVX2};
    for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
        if (!sd_scan_simd_available(levels[l])) continue;
        scan_state st;
        sd_scan_state_init(&st);
        st.simd = levels[l];
        sd_arena arena;
        sd_arena_init(&arena);
        int r = sd_scan_run(ev->plan, &st, text, len, max_depth, &arena);
        if (r != SCAN_NOMEM && rc != -1) {
            if ((r == SCAN_OK) != (rc == 0)) __builtin_trap();
            if (r == SCAN_OK) {
                if (st.nhits != ev->scan->nhits) __builtin_trap();
                for (size_t i = 0; i < st.nhits; i++) {
                    if (st.hits[i].out != ev->scan->hits[i].out) __builtin_trap();
                    same_value(&st.hits[i].v, &ev->scan->hits[i].v);
                }
            }
        }
        sd_scan_state_free(&st);
        sd_arena_free(&arena);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    if (!nl) return 0;
    const char *line = s, *line_end = nl;
    uint32_t max_depth = 64;
    if (line < line_end && *line >= '0' && *line <= '9') {
        max_depth = 1u << (*line - '0');
        line++;
    }
    const char *text = nl + 1;
    size_t len = size - (size_t)(text - s);

    sd_path paths[MAXP];
    uint32_t n = 0;
    while (line < line_end && n < MAXP) {
        while (line < line_end && *line == ' ') line++;
        const char *w = line;
        while (line < line_end && *line != ' ') line++;
        if (line == w) break;
        const char *err = NULL;
        if (sd_path_parse(w, (size_t)(line - w), &paths[n], &err) == (size_t)(line - w))
            n++;
        else
            sd_path_free(&paths[n]);
    }
    if (n == 0) {
        for (; n < sizeof DEFAULT_PATHS / sizeof DEFAULT_PATHS[0]; n++) {
            const char *err = NULL;
            if (sd_path_parse(DEFAULT_PATHS[n], strlen(DEFAULT_PATHS[n]), &paths[n], &err) == 0) __builtin_trap();
        }
    }

    sd_event ev;
    memset(&ev, 0, sizeof ev);
    if (sd_event_init(&ev, paths, n) != 0 || sd_event_scan_setup(&ev, NULL, 0, 1) != 0) {
        sd_event_free(&ev);
        for (uint32_t i = 0; i < n; i++) sd_path_free(&paths[i]);
        return 0;
    }
    int rc = sd_event_begin_text(&ev, text, len, max_depth);
    same_at_every_level(&ev, text, len, max_depth, rc);
    if (rc == 0) {
        cJSON *root = tree_accepts(text, len);
        if (!root) __builtin_trap(); /* accepted what sd_json_parse does not */
        if (depth_of(root) > (int)(max_depth > 1000 ? 1000 : max_depth)) __builtin_trap();
        sd_arena arena;
        sd_arena_init(&arena);
        for (uint32_t i = 0; i < n; i++) {
            sd_values want;
            sd_value one;
            const sd_values *got = sd_event_field(&ev, i);
            sd_path_resolve(&paths[i], root, &arena, &want, &one);
            if (got->n != want.n) __builtin_trap();
            for (uint32_t k = 0; k < want.n; k++) same_value(&got->v[k], &want.v[k]);
        }
        sd_arena_free(&arena);
        buf from_text, from_tree;
        sd_buf_init(&from_text);
        sd_buf_init(&from_tree);
        if (sd_alert_json_from_text(&from_text, text, len) == 0) {
            sd_alert_json_write(&from_tree, root);
            if (!from_text.oom && !from_tree.oom &&
                (from_text.len != from_tree.len || memcmp(from_text.data, from_tree.data, from_tree.len) != 0))
                __builtin_trap();
        }
        sd_buf_free(&from_text);
        sd_buf_free(&from_tree);
        cJSON_Delete(root);
    }
    sd_event_free(&ev);
    for (uint32_t i = 0; i < n; i++) sd_path_free(&paths[i]);
    return 0;
}
