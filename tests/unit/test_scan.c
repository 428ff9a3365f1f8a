/* test_scan.c — the one-pass scanner and text-backed events, against the
 * tree parser.
 *
 * The oracle is sd_json_parse (util/json.h: cJSON's language, checked against
 * cJSON itself in test_json.c, with raw control characters in strings
 * refused and strings holding U+0000 kept whole): for every text the
 * scanner accepts, sd_json_parse must accept it too (with nothing but
 * whitespace after the object), every planned path must give the same
 * values as sd_path_resolve on its tree, and the event JSON alerts carry,
 * written from the text (sd_alert_json_from_text), must be byte for byte the
 * tree's.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "alert/alert.h"
#include "event/event.h"
#include "event/scan.h"
#include "util/buf.h"
#include "util/json.h"

#define MAXP 32

typedef struct fixture {
    sd_path paths[MAXP];
    uint32_t n;
    sd_event ev;
} fixture;

static void setup_paths(fixture *f, const char *const *specs, uint32_t n) {
    memset(f, 0, sizeof *f);
    assert_true(n <= MAXP);
    for (uint32_t i = 0; i < n; i++) {
        const char *err = NULL;
        size_t len = strlen(specs[i]);
        assert_int_equal(sd_path_parse(specs[i], len, &f->paths[i], &err), len);
    }
    f->n = n;
    assert_int_equal(sd_event_init(&f->ev, f->paths, n), 0);
    assert_int_equal(sd_event_scan_setup(&f->ev, NULL, 0, 1), 0);
}

static void teardown(fixture *f) {
    sd_event_free(&f->ev);
    for (uint32_t i = 0; i < f->n; i++) sd_path_free(&f->paths[i]);
}

/* What the tree decoder accepts: one object, only whitespace after it. */
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

static void assert_same_value(const sd_value *a, const sd_value *b, const char *path) {
    if (a->type != b->type) fail_msg("%s: type %d vs %d", path, a->type, b->type);
    switch (a->type) {
    case SD_NULL: break;
    case SD_BOOL: assert_int_equal(a->b != 0, b->b != 0); break;
    case SD_NUM:
        if (!(a->num == b->num || (isnan(a->num) && isnan(b->num))) || signbit(a->num) != signbit(b->num))
            fail_msg("%s: number %.17g vs %.17g", path, a->num, b->num);
        break;
    case SD_STR:
        if (a->len != b->len || memcmp(a->str, b->str, a->len) != 0)
            fail_msg("%s: string \"%.*s\" vs \"%.*s\"", path, (int)a->len, a->str, (int)b->len, b->str);
        break;
    case SD_ARR:
    case SD_OBJ:
        assert_int_equal(a->len, b->len);
        assert_non_null(a->node);
        assert_non_null(b->node);
        {
            /* by their text: cJSON_Compare calls trees with duplicate keys unequal to themselves */
            buf x, y;
            sd_buf_init(&x);
            sd_buf_init(&y);
            sd_alert_json_write(&x, a->node);
            sd_alert_json_write(&y, b->node);
            if (x.len != y.len || memcmp(x.data, y.data, x.len) != 0)
                fail_msg("%s: containers differ: %s vs %s", path, x.data, y.data);
            sd_buf_free(&x);
            sd_buf_free(&y);
        }
        break;
    }
}

/* Scans text and compares every path with the tree; returns sd_event_begin_text's result. */
static int scan_and_compare(fixture *f, const char *text, size_t len, uint32_t max_depth) {
    int rc = sd_event_begin_text(&f->ev, text, len, max_depth);
    if (rc != 0) return rc;
    cJSON *root = tree_accepts(text, len);
    if (!root) fail_msg("scanner accepted what json_parse does not: %.*s", (int)len, text);
    sd_arena arena;
    sd_arena_init(&arena);
    for (uint32_t i = 0; i < f->n; i++) {
        sd_values want, *got = (sd_values *)sd_event_field(&f->ev, i);
        sd_value one;
        sd_path_resolve(&f->paths[i], root, &arena, &want, &one);
        if (got->n != want.n) fail_msg("%s: %u values vs %u in %.*s", f->paths[i].text, got->n, want.n, (int)len, text);
        for (uint32_t k = 0; k < want.n; k++) assert_same_value(&got->v[k], &want.v[k], f->paths[i].text);
    }
    sd_arena_free(&arena);
    /* The alert's copy of the event, written from the text, is the tree's. */
    buf from_text, from_tree;
    sd_buf_init(&from_text);
    sd_buf_init(&from_tree);
    assert_int_equal(sd_alert_json_from_text(&from_text, text, len), 0);
    sd_alert_json_write(&from_tree, root);
    if (from_text.len != from_tree.len || memcmp(from_text.data, from_tree.data, from_tree.len) != 0)
        fail_msg("event JSON differs:\n%s\n%s", from_text.data, from_tree.data);
    sd_buf_free(&from_text);
    sd_buf_free(&from_tree);
    cJSON_Delete(root);
    return 0;
}

static int check(fixture *f, const char *text) { return scan_and_compare(f, text, strlen(text), 64); }

/* ---- tests ---- */

static void test_every_scalar_type_matches_cjson(void **state) {
    (void)state;
    const char *p[] = {".s", ".n", ".t", ".f", ".z", ".o.x", ".missing", ".s.x", ".a[1]", ".a[9]", ".e"};
    fixture f;
    setup_paths(&f, p, 11);
    assert_int_equal(check(&f, "{\"s\":\"str\",\"n\":42,\"t\":true,\"f\":false,\"z\":null,"
                               "\"o\":{\"x\":\"y\"},\"a\":[1,2,3],\"e\":\"\"}"),
                     0);
    assert_int_equal(check(&f, " \t{ \"s\" : \"x\" ,\r\n \"n\" : -1.5 , \"a\" : [ ] } \r\n"), 0);
    assert_int_equal(sd_event_field(&f.ev, 0)->n, 1);
    assert_int_equal(sd_event_field(&f.ev, 6)->n, 0);
    teardown(&f);
}

static void test_escapes_and_surrogate_pairs_decode_like_cjson(void **state) {
    (void)state;
    const char *p[] = {".s", ".\"k\\\"ey\"", ".u"};
    fixture f;
    setup_paths(&f, p, 3);
    assert_int_equal(check(&f, "{\"s\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\\u00e9\\u20AC\\ud83d\\ude00\","
                               "\"k\\\"ey\":1,\"u\":\"\\u0041\\u00DF\"}"),
                     0);
    const sd_values *s = sd_event_field(&f.ev, 0);
    assert_int_equal(s->n, 1);
    assert_memory_equal(s->v[0].str, "a\"b\\c/d\be\ff\ng\rh\ti\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", s->v[0].len);
    assert_int_equal(sd_event_field(&f.ev, 1)->n, 1);
    teardown(&f);
}

static void test_escaped_key_matches_its_decoded_path(void **state) {
    (void)state;
    const char *p[] = {".ab"};
    fixture f;
    setup_paths(&f, p, 1);
    assert_int_equal(check(&f, "{\"a\\u0062\":7}"), 0);
    assert_int_equal(sd_event_field(&f.ev, 0)->n, 1);
    teardown(&f);
}

static void test_lone_surrogates_and_bad_escapes_are_malformed(void **state) {
    (void)state;
    const char *p[] = {".s"};
    fixture f;
    setup_paths(&f, p, 1);
    const char *bad[] = {"{\"s\":\"\\ud800\"}", "{\"s\":\"\\udc00\"}", "{\"s\":\"\\ud800\\u0041\"}",
                         "{\"s\":\"\\x\"}",     "{\"s\":\"\\u12\"}",   "{\"s\":\"\\\"}",
                         "{\"s\":\"a\nb\"}",    "{\"s\":\"\\u00zz\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(check(&f, bad[i]), 1);
    teardown(&f);
}

static void test_nul_in_strings_is_kept_and_raw_control_bytes_refused(void **state) {
    (void)state;
    const char *p[] = {".a", ".k", ".o", ".l[*]"};
    fixture f;
    setup_paths(&f, p, 4);
    /* \u0000 decodes to a NUL inside the value: all three bytes are seen */
    assert_int_equal(check(&f, "{\"a\":\"x\\u0000y\",\"k\\u0000\":1,\"k\":2,\"o\":{\"\\u0000\":\"\\u0000\"},"
                               "\"l\":[\"\\u0000\",\"\"]}"),
                     0);
    const sd_values *v = sd_event_field(&f.ev, 0);
    assert_int_equal(v->n, 1);
    assert_int_equal(v->v[0].len, 3);
    assert_memory_equal(v->v[0].str, "x\0y", 3);
    v = sd_event_field(&f.ev, 1); /* "k\0" is another key than "k" */
    assert_int_equal(v->n, 1);
    assert_int_equal(v->v[0].num, 2);
    v = sd_event_field(&f.ev, 3);
    assert_int_equal(v->n, 2);
    assert_int_equal(v->v[0].len, 1);
    assert_int_equal(v->v[1].len, 0);
    /* a raw control byte in a string is left to the tree decoder, which refuses it */
    for (int c = 0; c < 0x20; c++) {
        char text[32];
        int n = snprintf(text, sizeof text, "{\"a\":\"x%cy\"}", c == 0 ? '.' : c);
        if (c == 0) text[7] = 0;
        assert_int_equal(scan_and_compare(&f, text, (size_t)n, 64), 1);
        assert_null(tree_accepts(text, (size_t)n));
    }
    teardown(&f);
}

static void test_numbers_parse_as_cjson_does(void **state) {
    (void)state;
    const char *p[] = {".a[*]"};
    fixture f;
    setup_paths(&f, p, 1);
    assert_int_equal(check(&f, "{\"a\":[0,-0,1,-1,1.5,-0.25,1e10,1E+2,2e-3,-1.5E-5,123456789012345,"
                               "1234567890123456789,9007199254740993,1e400,-1e400,0.1,3.14159265358979]}"),
                     0);
    const sd_values *v = sd_event_field(&f.ev, 0);
    assert_int_equal(v->n, 17);
    assert_true(signbit(v->v[1].num));
    assert_true(isinf(v->v[13].num));
    const char *bad[] = {"{\"a\":[01]}", "{\"a\":[1.]}",  "{\"a\":[.5]}",  "{\"a\":[-]}",    "{\"a\":[1e]}",
                         "{\"a\":[+1]}", "{\"a\":[--1]}", "{\"a\":[1e+]}", "{\"a\":[0x10]}", "{\"a\":[1.5.3]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(check(&f, bad[i]), 1);
    teardown(&f);
}

static void nest(char *out, int levels) {
    /* {"a":{"a":...{"a":1}...}} with `levels` objects */
    char *p = out;
    for (int i = 0; i < levels; i++) p += sprintf(p, "{\"a\":");
    p += sprintf(p, "1");
    for (int i = 0; i < levels; i++) *p++ = '}';
    *p = 0;
}

static void test_depth_at_the_limit_is_accepted_and_over_it_malformed(void **state) {
    (void)state;
    const char *p[] = {".x", ".a.x"}; /* no deep container: cJSON_Compare is exponential in depth */
    fixture f;
    setup_paths(&f, p, 2);
    char text[8192];
    nest(text, 64);
    assert_int_equal(scan_and_compare(&f, text, strlen(text), 64), 0);
    nest(text, 65);
    assert_int_equal(scan_and_compare(&f, text, strlen(text), 64), 1);
    nest(text, 3);
    assert_int_equal(scan_and_compare(&f, text, strlen(text), 3), 0);
    assert_int_equal(scan_and_compare(&f, text, strlen(text), 2), 1);
    assert_int_equal(scan_and_compare(&f, "{\"a\":[[[1]]]}", 13, 3), 1);
    assert_int_equal(scan_and_compare(&f, "{\"a\":[[1]]}", 11, 3), 0);
    teardown(&f);
}

static void test_first_of_duplicate_keys_wins(void **state) {
    (void)state;
    const char *p[] = {".a", ".o.a", ".o", ".r[*].k"};
    fixture f;
    setup_paths(&f, p, 4);
    assert_int_equal(check(&f, "{\"a\":1,\"a\":2,\"o\":{\"a\":3,\"a\":4},\"o\":{\"a\":5},"
                               "\"r\":[{\"k\":1,\"k\":2},{\"k\":3,\"x\":0,\"k\":4}]}"),
                     0);
    assert_true(sd_event_field(&f.ev, 0)->v[0].num == 1);
    assert_true(sd_event_field(&f.ev, 1)->v[0].num == 3);
    assert_int_equal(sd_event_field(&f.ev, 3)->n, 2);
    teardown(&f);
}

static void test_star_and_index_over_arrays_of_objects(void **state) {
    (void)state;
    const char *p[] = {".r[*].t", ".r[*]", ".r[1]",      ".r[0].t",  ".r[*].t[*]", ".r[4].t[1]",
                       ".r[2].t", ".r",    ".r[*].t[0]", ".m[*][*]", ".m[1][0]"};
    fixture f;
    setup_paths(&f, p, 11);
    assert_int_equal(check(&f, "{\"r\":[{\"t\":\"x\"},{\"u\":1},{\"t\":\"y\"},5,{\"t\":[1,2]},[],{}],"
                               "\"m\":[[1,2],[3],[]]}"),
                     0);
    assert_int_equal(sd_event_field(&f.ev, 0)->n, 3);
    assert_int_equal(sd_event_field(&f.ev, 1)->n, 7);
    assert_int_equal(sd_event_field(&f.ev, 9)->n, 3);
    assert_int_equal(check(&f, "{\"r\":[],\"m\":{}}"), 0);
    assert_int_equal(sd_event_field(&f.ev, 1)->n, 0);
    teardown(&f);
}

static void test_containers_carry_len_and_a_node(void **state) {
    (void)state;
    const char *p[] = {".o", ".a", ".o.in"};
    fixture f;
    setup_paths(&f, p, 3);
    assert_int_equal(check(&f, "{\"o\":{\"x\":1,\"in\":{\"y\":[true,null]}},\"a\":[1,\"2\",{}]}"), 0);
    assert_int_equal(sd_event_field(&f.ev, 0)->v[0].len, 2);
    assert_int_equal(sd_event_field(&f.ev, 1)->v[0].len, 3);
    teardown(&f);
}

static const char sample[] =
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::1:user/a\"},"
    "\"eventTime\":\"2023-07-10T12:11:15Z\",\"eventName\":\"Get\\u004fbject\",\"n\":-12.5e-1,"
    "\"resources\":[{\"ARN\":\"x\",\"type\":\"AWS::S3::Object\"},{\"ARN\":\"y\"}],\"ok\":true,\"z\":null,"
    "\"e\":[],\"o\":{}}";

static void test_truncated_input_is_malformed_at_every_byte(void **state) {
    (void)state;
    const char *p[] = {".eventName", ".resources[*].ARN", ".userIdentity", ".n"};
    fixture f;
    setup_paths(&f, p, 4);
    size_t len = strlen(sample);
    assert_int_equal(scan_and_compare(&f, sample, len, 64), 0);
    for (size_t k = 0; k < len; k++) {
        /* a copy of exactly k bytes, so reading past it is caught by ASan */
        char *c = malloc(k ? k : 1);
        memcpy(c, sample, k);
        if (scan_and_compare(&f, c, k, 64) != 1) fail_msg("prefix of %zu bytes accepted", k);
        free(c);
    }
    teardown(&f);
}

static void test_trailing_garbage_and_non_objects_are_malformed(void **state) {
    (void)state;
    const char *p[] = {".a"};
    fixture f;
    setup_paths(&f, p, 1);
    const char *bad[] = {"{\"a\":1} x",
                         "{\"a\":1}{}",
                         "{\"a\":1},",
                         "[1]",
                         "\"s\"",
                         "1",
                         "null",
                         "",
                         "   ",
                         "{\"a\":1,}",
                         "{,}",
                         "{\"a\" 1}",
                         "{\"a\":1 \"b\":2}",
                         "{\"a\":[1,]}",
                         "{a:1}",
                         "{\"a\":tru}",
                         "{\"a\":nul}",
                         "{\"a\":True}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (check(&f, bad[i]) != 1) fail_msg("accepted: %s", bad[i]);
    assert_int_equal(check(&f, "{\"a\":1} \r\n\t"), 0);
    assert_int_equal(check(&f, "\xEF\xBB\xBF{\"a\":1}"), 0);
    teardown(&f);
}

/* Random byte mutations of the sample: whatever the scanner accepts, cJSON
 * accepts with the same values. */
static void test_mutations_never_make_the_scanner_more_lenient_than_cjson(void **state) {
    (void)state;
    const char *p[] = {
        ".eventName", ".resources[*].ARN", ".resources[1]", ".userIdentity.type", ".n", ".ok", ".z", ".e",
        ".o",         ".eventTime"};
    fixture f;
    setup_paths(&f, p, 10);
    static const char alphabet[] = "{}[]\":,\\ u0123456789abcdefABCDEF-+.eE\ttrue nullfalse\x01\xC3\xA9";
    uint64_t rng = 0x9E3779B97F4A7C15u;
    size_t len = strlen(sample);
    char *mut = malloc(len + 8);
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(mut, sample, len);
        size_t n = len;
        int edits = 1 + (int)(rng % 3);
        for (int e = 0; e < edits; e++) {
            rng = rng * 6364136223846793005u + 1442695040888963407u;
            size_t at = (size_t)(rng >> 33) % n;
            char c = alphabet[(rng >> 20) % (sizeof alphabet - 1)];
            if ((rng >> 60) & 1) {
                mut[at] = c;
            } else if (n > 2) {
                memmove(mut + at, mut + at + 1, n - at - 1); /* delete a byte */
                n--;
            }
        }
        if (scan_and_compare(&f, mut, n, 64) == 0) accepted++;
    }
    free(mut);
    assert_true(accepted > 0);
    teardown(&f);
}

static void test_extra_paths_and_event_root(void **state) {
    (void)state;
    const char *p[] = {".eventName"};
    fixture f;
    setup_paths(&f, p, 1);
    sd_path t;
    const char *err = NULL;
    assert_int_equal(sd_path_parse(".eventTime", 10, &t, &err), 10);
    const sd_path *extra[] = {&t};
    assert_int_equal(sd_event_scan_setup(&f.ev, extra, 1, 2), 0);
    assert_int_equal(sd_event_begin_text(&f.ev, sample, strlen(sample), 64), 0);
    sd_values vals;
    sd_value one;
    sd_event_path_values(&f.ev, &t, &vals, &one);
    assert_int_equal(vals.n, 1);
    assert_memory_equal(vals.v[0].str, "2023-07-10T12:11:15Z", vals.v[0].len);
    const cJSON *root = sd_event_root(&f.ev);
    assert_non_null(root);
    assert_ptr_equal(root, sd_event_root(&f.ev)); /* parsed once */
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "eventName")->valuestring, "GetObject");
    sd_event_free(&f.ev);
    f.ev = (sd_event){0};
    sd_path_free(&t);
    teardown(&f);
}

static void test_fold_of_a_field_is_cached_per_event(void **state) {
    (void)state;
    const char *p[] = {".ua", ".l[*]"};
    fixture f;
    setup_paths(&f, p, 2);
    assert_int_equal(check(&f, "{\"ua\":\"AWS-CLI/2 Python\",\"l\":[\"Ab\",1,\"cD\"]}"), 0);
    sd_values a, b;
    assert_int_equal(sd_event_fold(&f.ev, sd_event_field(&f.ev, 0), false, &a), 0);
    assert_int_equal(sd_event_fold(&f.ev, sd_event_field(&f.ev, 0), false, &b), 0);
    assert_int_equal(a.n, 1);
    assert_ptr_equal(a.v[0].str, b.v[0].str);
    assert_memory_equal(a.v[0].str, "aws-cli/2 python", a.v[0].len);
    assert_int_equal(sd_event_fold(&f.ev, sd_event_field(&f.ev, 0), true, &b), 0);
    assert_memory_equal(b.v[0].str, "AWS-CLI/2 PYTHON", b.v[0].len);
    assert_int_equal(sd_event_fold(&f.ev, sd_event_field(&f.ev, 1), true, &b), 0);
    assert_int_equal(b.n, 2);
    assert_memory_equal(b.v[1].str, "CD", 2);
    /* the next event folds afresh */
    assert_int_equal(check(&f, "{\"ua\":\"Other\"}"), 0);
    assert_int_equal(sd_event_fold(&f.ev, sd_event_field(&f.ev, 0), false, &a), 0);
    assert_memory_equal(a.v[0].str, "other", 5);
    teardown(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_scalar_type_matches_cjson),
        cmocka_unit_test(test_escapes_and_surrogate_pairs_decode_like_cjson),
        cmocka_unit_test(test_escaped_key_matches_its_decoded_path),
        cmocka_unit_test(test_lone_surrogates_and_bad_escapes_are_malformed),
        cmocka_unit_test(test_nul_in_strings_is_kept_and_raw_control_bytes_refused),
        cmocka_unit_test(test_numbers_parse_as_cjson_does),
        cmocka_unit_test(test_depth_at_the_limit_is_accepted_and_over_it_malformed),
        cmocka_unit_test(test_first_of_duplicate_keys_wins),
        cmocka_unit_test(test_star_and_index_over_arrays_of_objects),
        cmocka_unit_test(test_containers_carry_len_and_a_node),
        cmocka_unit_test(test_truncated_input_is_malformed_at_every_byte),
        cmocka_unit_test(test_trailing_garbage_and_non_objects_are_malformed),
        cmocka_unit_test(test_mutations_never_make_the_scanner_more_lenient_than_cjson),
        cmocka_unit_test(test_extra_paths_and_event_root),
        cmocka_unit_test(test_fold_of_a_field_is_cached_per_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
