/* test_scan_simd.c — the scanner's index made with SSE2 and AVX2 against
 * plain C, and the scanner's results under each.
 *
 * The index (event/scan_simd.c) is one bit per byte for '"', '\\' and bytes
 * below 0x20. Every way available on this CPU must give the reference's bits
 * for texts of every length around the 16-, 32- and 64-byte block edges,
 * with those bytes (and bytes >= 0x80, which must not count) at every offset.
 * Then sd_scan_run is run with the index made each way over tricky texts —
 * escapes, UTF-8, strings crossing block edges, invalid input — and must
 * answer the same (accepted or not, and the same values) each time; that the
 * answers are right is test_scan.c's business (against cJSON).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "event/event.h"
#include "event/scan.h"
#include "event/scan_simd.h"

static const int LEVELS[] = {SCAN_SIMD_SCALAR, SCAN_SIMD_SSE2, SCAN_SIMD_AVX2};
#define NLEVELS (sizeof LEVELS / sizeof LEVELS[0])

static void reference(const unsigned char *s, size_t n, uint64_t *stop) {
    memset(stop, 0, scan_index_words(n) * sizeof *stop);
    for (size_t k = 0; k < n; k++)
        if (s[k] == '"' || s[k] == '\\' || s[k] < 0x20) stop[k / 64] |= (uint64_t)1 << (k % 64);
}

static void check_index(const unsigned char *s, size_t n) {
    uint64_t want[8], got[8];
    assert_true(scan_index_words(n) <= 8);
    reference(s, n, want);
    for (size_t l = 0; l < NLEVELS; l++) {
        if (!sd_scan_simd_available(LEVELS[l])) continue;
        memset(got, 0xA5, sizeof got);
        sd_scan_index(LEVELS[l], s, n, got);
        if (memcmp(got, want, scan_index_words(n) * sizeof *got) != 0)
            fail_msg("level %d differs from the reference for %zu bytes", LEVELS[l], n);
    }
}

static void test_the_best_level_is_available(void **state) {
    (void)state;
    assert_true(sd_scan_simd_available(SCAN_SIMD_SCALAR));
    assert_true(sd_scan_simd_available(sd_scan_simd_best()));
#if defined(__x86_64__)
    assert_true(sd_scan_simd_available(SCAN_SIMD_SSE2));
    assert_true(sd_scan_simd_best() >= SCAN_SIMD_SSE2);
#endif
}

static void test_index_matches_the_reference_at_every_offset(void **state) {
    (void)state;
    static const unsigned char specials[] = {'"', '\\', 0x00, 0x1F, 0x20, 0x7F, 0x80, 0xFF, '\t', 'a'};
    unsigned char bytes[300];
    for (size_t n = 0; n <= 200; n++) {
        memset(bytes, 'x', sizeof bytes);
        check_index(bytes, n);
        for (size_t at = 0; at < n; at++)
            for (size_t k = 0; k < sizeof specials; k++) {
                bytes[at] = specials[k];
                check_index(bytes, n);
                bytes[at] = 'x';
            }
    }
    /* And random bytes, most of them the interesting ones. */
    uint32_t seed = 12345;
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(round % 257);
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            bytes[k] = (r & 3) == 0 ? specials[(r >> 2) % sizeof specials] : (unsigned char)(r >> 8);
        }
        check_index(bytes, n);
    }
}

/* The index must not read past the text: the text ends at a page the test
 * cannot know, so ASan and valgrind watch a heap block of exactly n bytes. */
static void test_index_reads_only_the_text(void **state) {
    (void)state;
    for (size_t n = 1; n <= 130; n++) {
        unsigned char *s = malloc(n);
        assert_non_null(s);
        memset(s, '"', n);
        check_index(s, n);
        free(s);
    }
}

/* ---- the scanner under each level ---- */

typedef struct scanned {
    int rc;
    size_t nhits;
    scan_hit hits[64];
} scanned;

static void scan_with(const scan_plan *plan, int level, const char *text, size_t len, sd_arena *arena, scanned *out) {
    scan_state st;
    sd_scan_state_init(&st);
    st.simd = level;
    out->rc = sd_scan_run(plan, &st, text, len, 0, arena);
    out->nhits = out->rc == SCAN_OK ? st.nhits : 0;
    assert_true(out->nhits <= 64);
    for (size_t i = 0; i < out->nhits; i++) {
        out->hits[i] = st.hits[i];
        if (st.hits[i].v.type == SD_OBJ || st.hits[i].v.type == SD_ARR) out->hits[i].v.node = NULL; /* freed below */
    }
    sd_scan_state_free(&st);
}

static void same_scan(const scanned *a, const scanned *b, const char *text) {
    if (a->rc != b->rc) fail_msg("rc %d vs %d for %s", a->rc, b->rc, text);
    assert_int_equal(a->nhits, b->nhits);
    for (size_t i = 0; i < a->nhits; i++) {
        const sd_value *x = &a->hits[i].v, *y = &b->hits[i].v;
        assert_int_equal(a->hits[i].out, b->hits[i].out);
        assert_int_equal(x->type, y->type);
        if (x->type == SD_STR) {
            assert_int_equal(x->len, y->len);
            assert_memory_equal(x->str, y->str, x->len);
        } else if (x->type == SD_NUM) {
            assert_true(x->num == y->num);
        } else if (x->type != SD_NULL) {
            assert_int_equal(x->len, y->len);
        }
    }
}

static void check_levels(const scan_plan *plan, const char *text, size_t len, int want_rc) {
    sd_arena arena;
    sd_arena_init(&arena);
    scanned ref, got;
    scan_with(plan, SCAN_SIMD_SCALAR, text, len, &arena, &ref);
    if (want_rc >= 0 && ref.rc != want_rc) fail_msg("rc %d, expected %d: %.*s", ref.rc, want_rc, (int)len, text);
    for (size_t l = 1; l < NLEVELS; l++) {
        if (!sd_scan_simd_available(LEVELS[l])) continue;
        scan_with(plan, LEVELS[l], text, len, &arena, &got);
        same_scan(&ref, &got, text);
    }
    sd_arena_free(&arena);
}

static scan_plan *plan_of(const char *const *specs, size_t n, sd_path *paths) {
    for (size_t i = 0; i < n; i++) {
        const char *err = NULL;
        assert_int_equal(sd_path_parse(specs[i], strlen(specs[i]), &paths[i], &err), strlen(specs[i]));
    }
    scan_plan *p = sd_scan_plan_new(paths, (uint32_t)n, NULL, 0);
    assert_non_null(p);
    return p;
}

static void test_tricky_texts_scan_the_same_at_every_level(void **state) {
    (void)state;
    static const char *const specs[] = {".a", ".b", ".c.d", ".e[*]", ".\"k\\\"q\""};
    sd_path paths[5];
    scan_plan *plan = plan_of(specs, 5, paths);
    static const struct {
        const char *text;
        int rc;
    } cases[] = {
        {"{\"a\":\"plain\",\"b\":1,\"c\":{\"d\":true},\"e\":[1,\"x\",null]}", SCAN_OK},
        {"{\"a\":\"esc \\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00\"}", SCAN_OK},
        {"{\"a\":\"caf\xC3\xA9 \xF0\x9F\x98\x80 \xFF raw high bytes pass through\"}", SCAN_OK},
        {"{\"k\\\"q\":\"escaped key\",\"a\":\"\"}", SCAN_OK},
        {"{\"a\":\"\\\\\",\"b\":\"\\\\\\\"\"}", SCAN_OK},
        {"{\"a\":\"unterminated}", SCAN_BAD},
        {"{\"a\":\"bad \\x escape\"}", SCAN_BAD},
        {"{\"a\":\"bad \\u12G4\"}", SCAN_BAD},
        {"{\"a\":\"lone \\udc00\"}", SCAN_BAD},
        {"{\"a\":\"raw\ttab\"}", SCAN_BAD},
        {"{\"a\":\"ends in a backslash\\\"}", SCAN_BAD},
        {"{\"a\":1,}", SCAN_BAD},
        {"{\"a\" \"b\"}", SCAN_BAD},
        {"{\"a\":[1,2}", SCAN_BAD},
        {" \r\n\t{ \"a\" : \"x\" , \"b\" : [ ] } \n", SCAN_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_levels(plan, cases[i].text, strlen(cases[i].text), cases[i].rc);
    sd_scan_plan_free(plan);
    for (size_t i = 0; i < 5; i++) sd_path_free(&paths[i]);
}

/* A string whose escape, quote, control or UTF-8 byte falls on every offset
 * around the 16-, 32- and 64-byte edges, as a value and as a key. */
static void test_strings_crossing_block_edges(void **state) {
    (void)state;
    static const char *const specs[] = {".a", ".zz"};
    sd_path paths[2];
    scan_plan *plan = plan_of(specs, 2, paths);
    static const struct {
        const char *ins;
        int rc;
    } ins[] = {{"\\\"", SCAN_OK}, {"\\\\", SCAN_OK}, {"\\u0041", SCAN_OK}, {"\xC3\xA9", SCAN_OK}, {"\x01", SCAN_BAD},
               {"\\q", SCAN_BAD}, {"\"", SCAN_BAD},  {"\\", SCAN_BAD},     {"\\ud800", SCAN_BAD}, {"", SCAN_OK}};
    char text[512];
    char pad[200];
    memset(pad, 'p', sizeof pad);
    for (int lead = 0; lead < 140; lead++)
        for (size_t k = 0; k < sizeof ins / sizeof ins[0]; k++) {
            int n = snprintf(text, sizeof text, "{\"a\":\"%.*s%sz\",\"zz\":\"y\"}", lead, pad, ins[k].ins);
            check_levels(plan, text, (size_t)n, ins[k].rc);
            n = snprintf(text, sizeof text, "{\"%.*s%s\":1,\"a\":\"x\"}", lead, pad, ins[k].ins);
            check_levels(plan, text, (size_t)n, ins[k].rc);
            /* cut short at every length: never accepted, the same answer at every level */
            n = snprintf(text, sizeof text, "{\"a\":\"%.*s%s\"}", lead, pad, ins[k].ins);
            for (int cut = 1; cut < n; cut++) check_levels(plan, text, (size_t)cut, -1);
        }
    sd_scan_plan_free(plan);
    for (size_t i = 0; i < 2; i++) sd_path_free(&paths[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_best_level_is_available),
        cmocka_unit_test(test_index_matches_the_reference_at_every_offset),
        cmocka_unit_test(test_index_reads_only_the_text),
        cmocka_unit_test(test_tricky_texts_scan_the_same_at_every_level),
        cmocka_unit_test(test_strings_crossing_block_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
