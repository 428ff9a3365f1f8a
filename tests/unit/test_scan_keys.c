/* test_scan_keys.c — the scanner's key lookup (scan.c key_child,
 * scan_int.h): a key of the text takes a planned path exactly when its bytes
 * are the path's key.
 *
 * A key is hashed from its length and two words only (its first and last 8
 * bytes, or fewer for short keys), so keys that differ in the middle share a
 * hash and must be told apart by the compare: for every length from 0 to 40
 * the planned key is found, and every key that differs from it in one byte
 * (any position: first word, last word, the middle) or in length is not, in
 * objects with one planned key (a short list, no table) and with many (the
 * hash table).
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event/event.h"
#include "event/path.h"
#include "event/scan.h"
#include "util/buf.h"

#define MAXLEN 40

/* The planned key of length len: letters that differ from one another. */
static void key_of(size_t len, char *out) {
    for (size_t i = 0; i < len; i++) out[i] = (char)('a' + (i * 7 + len) % 26);
    out[len] = 0;
}

/* Plans .o."K" for one key K (or every length at once when len is SIZE_MAX). */
static scan_plan *plan_for(size_t len, sd_path *paths, uint32_t *npaths) {
    uint32_t n = 0;
    for (size_t l = 0; l <= MAXLEN; l++) {
        if (len != SIZE_MAX && l != len) continue;
        char key[MAXLEN + 1], spec[MAXLEN + 8];
        key_of(l, key);
        snprintf(spec, sizeof spec, ".o.\"%s\"", key);
        const char *err = NULL;
        assert_int_equal(sd_path_parse(spec, strlen(spec), &paths[n], &err), strlen(spec));
        n++;
    }
    *npaths = n;
    scan_plan *p = sd_scan_plan_new(paths, n, NULL, 0);
    assert_non_null(p);
    return p;
}

/* Scans {"o":{<near misses of key len>, "<key>": len}} and checks that only
 * the key itself was taken, by output `out`; `shorter` adds the key less its
 * last byte among the misses. */
static void check_length(scan_plan *p, scan_state *st, size_t len, uint32_t out, bool shorter, sd_arena *arena) {
    buf text;
    sd_buf_init(&text);
    char key[MAXLEN + 2];
    key_of(len, key);
    sd_buf_append(&text, "{\"o\":{", 6);
    for (size_t j = 0; j < len; j++) { /* one byte changed, at every position */
        char miss[MAXLEN + 2];
        memcpy(miss, key, len + 1);
        miss[j] = miss[j] == 'z' ? 'y' : (char)(miss[j] + 1);
        sd_buf_putc(&text, '"');
        sd_buf_append(&text, miss, len);
        sd_buf_append(&text, "\":-1,", 5);
    }
    /* one byte more and one less */
    sd_buf_putc(&text, '"');
    sd_buf_append(&text, key, len);
    sd_buf_append(&text, "q\":-2,", 6);
    if (len && shorter) {
        sd_buf_putc(&text, '"');
        sd_buf_append(&text, key, len - 1);
        sd_buf_append(&text, "\":-3,", 5);
    }
    char tail[64];
    int k = snprintf(tail, sizeof tail, "\"%s\":%zu}}", key, len);
    sd_buf_putc(&text, '"');
    sd_buf_append(&text, key, len);
    sd_buf_append(&text, tail + 1 + len, (size_t)k - 1 - len);
    assert_int_equal(sd_scan_run(p, st, text.data, text.len, 0, arena), SCAN_OK);
    if (st->nhits != 1) fail_msg("length %zu: %zu hits in %.*s", len, st->nhits, (int)text.len, text.data);
    assert_int_equal(st->hits[0].out, out);
    assert_int_equal(st->hits[0].v.type, SD_NUM);
    assert_true(st->hits[0].v.num == (double)len);
    sd_buf_free(&text);
}

static void test_each_length_alone_and_among_many(void **state) {
    (void)state;
    sd_arena arena;
    sd_arena_init(&arena);
    scan_state st;
    sd_scan_state_init(&st);
    sd_path paths[MAXLEN + 1];
    uint32_t n;
    for (size_t len = 0; len <= MAXLEN; len++) {
        scan_plan *p = plan_for(len, paths, &n);
        check_length(p, &st, len, 0, true, &arena);
        sd_scan_plan_free(p);
        for (uint32_t i = 0; i < n; i++) sd_path_free(&paths[i]);
    }
    scan_plan *all = plan_for(SIZE_MAX, paths, &n);
    assert_int_equal(n, MAXLEN + 1);
    /* "b" less a byte is the planned key "" (key_of differs by length otherwise) */
    for (size_t len = 0; len <= MAXLEN; len++) check_length(all, &st, len, (uint32_t)len, len >= 2, &arena);
    sd_scan_plan_free(all);
    for (uint32_t i = 0; i < n; i++) sd_path_free(&paths[i]);
    sd_scan_state_free(&st);
    sd_arena_free(&arena);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_length_alone_and_among_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
