/* test_json.c — util/json.c's parser, against cJSON's own.
 *
 * sd_json_parse replaces cJSON's parse functions in the library because those
 * write a process-global error pointer (global_error in cJSON.c) on every
 * call: with events decoded on the pushing thread while the sink delivery
 * thread parses alerts, that was a data race. The contract is cJSON
 * 1.7.15's behaviour, so every check here runs cJSON on the same text
 * (cJSON_ParseWithLengthOpts(.., &end, 0)) and wants the same answer:
 * accepted or not, the same end / error offset, the same tree node for node
 * — except for the two departures of util/json.h, which fuzz/json_oracle.h
 * (shared with fuzz_json) tells from cJSON's answer: a raw control
 * character inside a string is refused, and a string holding U+0000 keeps
 * all its bytes. A few expected values are spelled out too, so that a
 * change in cJSON itself would show. The last test parses on 4 threads at
 * once.
 */
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "util/json.h"
#include "../../fuzz/json_oracle.h"

static void same_tree(const cJSON *got, const cJSON *want, const char *s, size_t len) {
    if (!oracle_same_tree_of_text(got, want, s, len)) fail_msg("text \"%.*s\": the trees differ", (int)len, s);
}

/* Parses s[0..len) both ways; asserts the same outcome (but for a raw
 * control character in a string, which sd_json_parse refuses). Returns 1 when
 * accepted, 0 when refused; *end_out gets sd_json_parse's end offset. */
static int check_len(const char *s, size_t len, size_t *end_out) {
    const char *cend = NULL;
    cJSON *want = cJSON_ParseWithLengthOpts(s, len, &cend, 0);
    size_t want_end = cend ? (size_t)(cend - s) : 0;
    size_t ctl = oracle_first_control(s, len, want_end);
    size_t end = (size_t)-1, err = (size_t)-1;
    int control = -2;
    cJSON *got = sd_json_parse_prefix_control(s, len, 0, &end, &control);
    if (ctl != SIZE_MAX) {
        if (got || end != ctl || control != (unsigned char)s[ctl])
            fail_msg("text \"%.*s\": a control character at %zu, json_parse %s end %zu", (int)len, s, ctl,
                     got ? "accepts" : "refuses", end);
    } else if ((got != NULL) != (want != NULL) || end != want_end || control != -1) {
        fail_msg("text \"%.*s\" (%zu bytes): cJSON %s end %zu, json_parse %s end %zu", (int)len, s, len,
                 want ? "accepts" : "refuses", want_end, got ? "accepts" : "refuses", end);
    }
    cJSON *again = sd_json_parse(s, len, 0, &err);
    assert_true((again != NULL) == (got != NULL));
    if (!again)
        assert_int_equal(err, end);
    else
        assert_int_equal(err, (size_t)-1); /* untouched on success */
    if (got) {
        same_tree(got, want, s, len);
        if (!oracle_has_marks(got)) {
            char *x = cJSON_PrintUnformatted(got), *y = cJSON_PrintUnformatted(want);
            assert_non_null(x);
            assert_non_null(y);
            assert_string_equal(x, y);
            free(x);
            free(y);
        }
    }
    int ok = got != NULL;
    cJSON_Delete(got);
    cJSON_Delete(again);
    cJSON_Delete(want);
    if (end_out) *end_out = end;
    return ok;
}

static int check(const char *s, size_t *end) { return check_len(s, strlen(s), end); }

/* The text, parsed, printed unformatted ("" when refused). */
static char *printed(const char *s, size_t len) {
    cJSON *t = sd_json_parse(s, len, 0, NULL);
    char *p = t ? cJSON_PrintUnformatted(t) : strdup("");
    cJSON_Delete(t);
    assert_non_null(p);
    return p;
}

static void assert_prints(const char *s, const char *want) {
    char *p = printed(s, strlen(s));
    assert_string_equal(p, want);
    free(p);
}

/* The text is one string, sd_json_parse decodes it to want[0..n). */
static void assert_string_value(const char *s, const char *want, size_t n) {
    cJSON *t = sd_json_parse(s, strlen(s), 0, NULL);
    assert_true(cJSON_IsString(t));
    assert_int_equal(sd_json_string_len(t), n);
    assert_memory_equal(t->valuestring, want, n);
    assert_int_equal(t->valuestring[n], 0);
    assert_int_equal(!!(t->type & JSON_STRING_HAS_NUL), memchr(want, 0, n) != NULL);
    cJSON_Delete(t);
}

static void test_numbers(void **state) {
    (void)state;
    static const char *const texts[] = {
        "0",           "-0",
        "01",          "00.5",
        "1.",          "-.5",
        ".5",          "+1",
        "-",           "--1",
        "1e",          "1e+",
        "1E5",         "1e-5",
        "1.5e+3x",     "1+2",
        "[1+2]",       "[1.5.3]",
        "1e400",       "-1e400",
        "1e-400",      "[1e999,-1e999]",
        "2147483647",  "2147483648",
        "-2147483648", "-2147483649",
        "3e9",         "1.7976931348623157e308",
        "0x10",        "[0x10]",
        "-inf",        "NaN",
        "[-]",         "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "[1,-]",       "1e5e5",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) check(texts[i], NULL);

    size_t end;
    assert_true(check("01", &end));
    assert_int_equal(end, 2);
    assert_true(check("1e", &end)); /* strtod takes "1": the "e" is trailing text */
    assert_int_equal(end, 1);
    assert_true(check("1+2", &end));
    assert_int_equal(end, 1);
    assert_false(check("-", &end));
    assert_false(check(".5", &end));
    assert_false(check("+1", &end));
    assert_false(check("[1+2]", &end));
    assert_prints("[01,1.,-.5,1e400,-1e400]", "[1,1,-0.5,null,null]");

    cJSON *t = sd_json_parse("[3e9,-3e9,1e400,2.9,-2.9]", 25, 0, NULL);
    assert_non_null(t);
    static const int ints[] = {INT_MAX, INT_MIN, INT_MAX, 2, -2};
    int k = 0;
    for (const cJSON *c = t->child; c; c = c->next) assert_int_equal(c->valueint, ints[k++]);
    assert_true(isinf(cJSON_GetArrayItem(t, 2)->valuedouble));
    cJSON_Delete(t);
}

static void test_strings(void **state) {
    (void)state;
    static const char *const texts[] = {
        "\"\"",
        "\"abc\"",
        "\"\\b\\f\\n\\r\\t\\\"\\\\\\/\"",
        "\"\\u0041\\u00e9\\u20AC\"",
        "\"\\ud83d\\ude00\"",
        "\"\\uD800\"",
        "\"\\uDC00\"",
        "\"\\uD800\\u0041\"",
        "\"\\uD800x\"",
        "\"\\uDBFF\\uDFFF\"",
        "\"\\u12G4xy\"",
        "\"a\\u0000b\"",
        "\"\\u00\"",
        "\"\\u\"",
        "\"\\x\"",
        "\"\\'\"",
        "\"abc",
        "\"abc\\\"",
        "\"\\",
        "\"",
        "\"\x01\x1f\x7f\xff\xc3\"",
        "\"\\u000\\\"x\"",
        "\"\\uD83D\\uDE0\"",
        "[\"\\uD800\\\"\"]",
        "\"\\/\"",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) check(texts[i], NULL);
    assert_prints("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
    assert_string_value("\"a\\u12G4b\"", "a\0b", 3); /* bad hex decodes as U+0000, as cJSON's */
    assert_string_value("\"a\\u0000b\"", "a\0b", 3);
    size_t end;
    assert_false(check("\"ab\\x\"", &end));
    assert_int_equal(end, 3); /* the backslash of the bad escape */
    assert_false(check("\"abc", &end));
    assert_int_equal(end, 1); /* after the opening quote */
    assert_false(check("\"\\uDC00\"", &end));
    assert_false(check("{a:1}", &end));
    assert_int_equal(end, 2);
}

static void test_whitespace_bom_nul_and_trailing_text(void **state) {
    (void)state;
    static const char *const texts[] = {
        " ",
        "  \t\r\n",
        "\x01\x1f{\x0b}\x20",
        "\xEF\xBB\xBF{}",
        "\xEF\xBB\xBF"
        "1",
        "\xEF\xBB\xBF"
        "12",
        "\xEF\xBB\xBF \"a\"",
        "\xEF\xBB",
        "{} garbage",
        "nullx",
        "[nullx]",
        "true1",
        "[true,false,null]",
        "nul",
        "tru",
        "fals",
        "[",
        "{",
        "[ ",
        "{ ",
        "]",
        "}",
        "[1 2]",
        "[1,]",
        "[,1]",
        "{\"a\":1,",
        "{\"a\":1, ",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":}",
        "{\"a\"",
        "[1,",
        "[1,\n",
        "[[]",
        "{\"a\":[}]",
        ":",
        ",",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) check(texts[i], NULL);
    check_len("", 0, NULL);
    check_len("[1,\0 2]", 7, NULL);               /* NUL is whitespace to cJSON */
    assert_false(check_len("\"a\0b\"", 5, NULL)); /* but refused in a string (cJSON takes it) */
    check_len("nu\0l", 4, NULL);
    assert_false(check_len("{\"a\0\":1}", 8, NULL));
    check_len("1\0", 2, NULL);
    check_len("\0\0\0", 3, NULL);
    assert_prints("[1,\n\x01 2]", "[1,2]");

    size_t end;
    assert_true(check("{\"a\":1} x", &end));
    assert_int_equal(end, 7);
    assert_false(check("{\"a\":1,", &end));
    assert_int_equal(end, 6); /* the comma: nothing after it */
    assert_false(check("  ", &end));
    assert_int_equal(end, 1);
    assert_false(check_len("", 0, &end));
    assert_int_equal(end, 0);
    assert_null(sd_json_parse(NULL, 5, 0, &end));
    assert_int_equal(end, 0);
}

static void test_duplicate_keys_are_kept_in_order(void **state) {
    (void)state;
    assert_true(check("{\"k\":1,\"k\":2,\"j\":{},\"k\":{\"k\":[]}}", NULL));
    cJSON *t = sd_json_parse("{\"k\":1,\"k\":2,\"k\":3}", 19, 0, NULL);
    assert_non_null(t);
    int want = 1;
    for (const cJSON *c = t->child; c; c = c->next, want++) {
        assert_string_equal(c->string, "k");
        assert_int_equal(c->valueint, want);
    }
    assert_int_equal(want, 4);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(t, "k")->valueint, 1);
    cJSON_Delete(t);
}

static void test_raw_control_characters_in_strings_are_refused(void **state) {
    (void)state;
    for (int c = 0; c < 0x20; c++) {
        char text[16];
        int n = snprintf(text, sizeof text, "[\"ab%cc\"]", c == 0 ? 'X' : c); /* NUL patched in below */
        if (c == 0) text[4] = 0;
        size_t end = 0;
        int control = 0;
        cJSON *t = sd_json_parse_prefix_control(text, (size_t)n, 0, &end, &control);
        assert_null(t);
        assert_int_equal(end, 4); /* the control byte itself */
        assert_int_equal(control, c);
        assert_false(check_len(text, (size_t)n, NULL));
        n = snprintf(text, sizeof text, "{\"k%c\":1}", c == 0 ? 'X' : c); /* in a key too */
        if (c == 0) text[3] = 0;
        assert_false(check_len(text, (size_t)n, &end));
        assert_int_equal(end, 3);
    }
    /* outside strings they stay whitespace; escaped, they are fine */
    assert_true(check_len("[1,\x01\n\x1f 2]", 9, NULL));
    assert_true(check("[\"a\\nb\\u0001\\u001f\"]", NULL));
    size_t end = 0;
    int control = 0;
    /* the first one, once cJSON would have found the string closed */
    assert_null(sd_json_parse_prefix_control("{\"a\":\"x\ty\nz\"}", 13, 0, &end, &control));
    assert_int_equal(end, 7);
    assert_int_equal(control, '\t');
    assert_null(sd_json_parse_prefix_control("[\"x\ny", 6, 0, &end, &control)); /* never closed */
    assert_int_equal(end, 2);
    assert_int_equal(control, -1);
    assert_null(sd_json_parse_prefix_control("[1,}", 4, 0, &end, &control));
    assert_int_equal(control, -1);
}

static void test_strings_and_keys_holding_nul_keep_every_byte(void **state) {
    (void)state;
    static const char text[] =
        "{\"a\":\"x\\u0000y\",\"k\\u0000z\":\"\\u0000\",\"k\":2,\"\\u0001\\u0000\":[\"\\u00zz!\"]}";
    assert_true(check(text, NULL));
    cJSON *t = sd_json_parse(text, strlen(text), 0, NULL);
    assert_non_null(t);
    const cJSON *a = sd_json_member(t, "a");
    assert_true(cJSON_IsString(a));
    assert_int_equal(sd_json_string_len(a), 3);
    assert_memory_equal(a->valuestring, "x\0y", 4);
    assert_true(a->type & JSON_STRING_HAS_NUL);
    /* "k\0z" is not "k": the lookup finds the real "k" after it */
    const cJSON *k = sd_json_member(t, "k");
    assert_true(cJSON_IsNumber(k));
    assert_int_equal(k->valueint, 2);
    const cJSON *kz = a->next;
    assert_true(kz->type & JSON_KEY_HAS_NUL);
    assert_int_equal(sd_json_string_len(kz), 1);
    buf tmp;
    sd_buf_init(&tmp);
    size_t n = 0;
    const char *key = sd_json_key_bytes(kz, &tmp, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(key, "k\0z", 3);
    key = sd_json_key_bytes(kz->next->next, &tmp, &n); /* 0x01 0x00: both survive the encoding */
    assert_int_equal(n, 2);
    assert_memory_equal(key, "\x01\0", 2);
    key = sd_json_key_bytes(k, &tmp, &n);
    assert_int_equal(n, 1);
    assert_string_equal(key, "k");
    sd_buf_free(&tmp);
    const cJSON *bad = cJSON_GetArrayItem(kz->next->next, 0);
    assert_int_equal(sd_json_string_len(bad), 2); /* bad hex is U+0000, and the string goes on */
    assert_memory_equal(bad->valuestring, "\0!", 2);

    /* a copy keeps them whole (cJSON_Duplicate would cut the strings) */
    cJSON *dup = sd_json_duplicate(t);
    assert_non_null(dup);
    const cJSON *da = sd_json_member(dup, "a");
    assert_int_equal(sd_json_string_len(da), 3);
    assert_memory_equal(da->valuestring, "x\0y", 4);
    assert_int_equal(sd_json_string_len(cJSON_GetArrayItem(cJSON_GetArrayItem(dup, 3), 0)), 2);
    assert_true(cJSON_GetArrayItem(dup, 1)->type & JSON_KEY_HAS_NUL);
    cJSON_Delete(dup);
    cJSON_Delete(t);
}

static char *nested(size_t depth, const char *open, const char *inner, const char *close) {
    size_t o = strlen(open), c = strlen(close), i = strlen(inner);
    char *s = malloc(depth * (o + c) + i + 1);
    assert_non_null(s);
    char *p = s;
    for (size_t k = 0; k < depth; k++, p += o) memcpy(p, open, o);
    memcpy(p, inner, i);
    p += i;
    for (size_t k = 0; k < depth; k++, p += c) memcpy(p, close, c);
    *p = 0;
    return s;
}

static void test_nesting_limits(void **state) {
    (void)state;
    char *ok = nested(1000, "[", "", "]"), *deep = nested(1001, "[", "", "]");
    char *obj_ok = nested(1000, "{\"a\":", "1", "}"), *obj_deep = nested(1001, "{\"a\":", "1", "}");
    assert_true(check(ok, NULL));
    assert_false(check(deep, NULL));
    assert_true(check(obj_ok, NULL));
    assert_false(check(obj_deep, NULL));

    size_t end = 0;
    cJSON *t = sd_json_parse(deep, strlen(deep), 5000, NULL); /* a limit never raises cJSON's */
    assert_null(t);
    t = sd_json_parse(ok, strlen(ok), 1000, NULL);
    assert_non_null(t);
    cJSON_Delete(t);
    t = sd_json_parse(ok, strlen(ok), 999, &end);
    assert_null(t);
    assert_int_equal(end, 999); /* the opener that is one too deep */

    assert_non_null(t = sd_json_parse("1", 1, 1, NULL)); /* a scalar has depth 0 */
    cJSON_Delete(t);
    assert_non_null(t = sd_json_parse("[]", 2, 1, NULL));
    cJSON_Delete(t);
    assert_null(sd_json_parse("[[]]", 4, 1, &end));
    assert_int_equal(end, 1);
    assert_non_null(t = sd_json_parse("{\"a\":[1],\"b\":{\"c\":2}}", 22, 2, NULL));
    cJSON_Delete(t);
    assert_null(sd_json_parse("{\"a\":[1],\"b\":{\"c\":[2]}}", 24, 2, &end));
    assert_int_equal(end, 18);
    free(ok);
    free(deep);
    free(obj_ok);
    free(obj_deep);
}

static const char DOC[] =
    "\xEF\xBB\xBF{\"Records\":[{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":"
    "\"arn:aws:iam::1:user/al\\u00efce\",\"n\":-12.5e-3},\"eventTime\":\"2024-03-14T09:00:00Z\",\"ok\":true,"
    "\"no\":false,\"nil\":null,\"list\":[1,[2,[]],{},\"\\ud83d\\ude00\\t\"],\"k\":1,\"k\":2}]}  ";

static void test_every_prefix_and_mutation_agrees_with_cjson(void **state) {
    (void)state;
    size_t n = sizeof DOC - 1;
    assert_true(check_len(DOC, n, NULL));
    for (size_t len = 0; len <= n; len++) check_len(DOC, len, NULL);
    static const char bytes[] = {'"', '\\', '{', '}', '[', ']', ',', ':', '0', '-', '.', 'e', 'u', 'x', ' ', 0};
    char *m = malloc(n);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        for (size_t b = 0; b < sizeof bytes; b++) {
            memcpy(m, DOC, n);
            m[i] = bytes[b];
            check_len(m, n, NULL);
        }
    }
    free(m);
}

static void test_decimal_point_does_not_follow_the_locale(void **state) {
    (void)state;
    static const char *const commas[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8"};
    const char *found = NULL;
    for (size_t i = 0; i < sizeof commas / sizeof *commas && !found; i++)
        if (setlocale(LC_NUMERIC, commas[i])) found = commas[i];
    if (!found) {
        setlocale(LC_NUMERIC, "C");
        skip(); /* no locale with a decimal comma is installed */
    }
    size_t end = 0;
    cJSON *t = sd_json_parse_prefix("[1.5,-.25,2.5e1]", 16, 0, &end);
    setlocale(LC_NUMERIC, "C");
    assert_non_null(t);
    assert_int_equal(end, 16);
    assert_true(cJSON_GetArrayItem(t, 0)->valuedouble == 1.5);
    assert_true(cJSON_GetArrayItem(t, 1)->valuedouble == -0.25);
    assert_true(cJSON_GetArrayItem(t, 2)->valuedouble == 25.0);
    cJSON_Delete(t);
}

/* ---- 4 threads at once ------------------------------------------------------ */

#define NTHREADS 4
#define ROUNDS   300

typedef struct job {
    const char *texts[4];
    size_t ends[4]; /* end (valid) or error offset (invalid), computed beforehand */
    char *want[4];  /* printed tree, "" when invalid */
    int mismatches;
} job;

static void *parse_many(void *arg) {
    job *j = arg;
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < 4; k++) {
            size_t end = 0;
            cJSON *t = sd_json_parse_prefix(j->texts[k], strlen(j->texts[k]), 64, &end);
            char *p = t ? cJSON_PrintUnformatted(t) : NULL;
            if (end != j->ends[k] || strcmp(p ? p : "", j->want[k]) != 0) j->mismatches++;
            free(p);
            cJSON_Delete(t);
        }
    }
    return NULL;
}

static void test_parses_on_four_threads_at_once(void **state) {
    (void)state;
    /* With cJSON's parse functions these threads would race on cJSON's
     * global error pointer (a TSan report, and a wrong cJSON_GetErrorPtr);
     * sd_json_parse shares nothing, so each thread must see exactly the
     * results of a lone parse. Valid and invalid texts alternate so every
     * thread takes the error paths too. */
    static const char *const texts[] = {DOC,
                                        "{\"a\":[1,2,{\"b\":\"\\u00e9\"}],\"c\":1e3}",
                                        "{\"a\":1,",
                                        "[\"\\x\"]",
                                        "[1,2,3] tail",
                                        "{\"deep\":[[[[[[[[]]]]]]]]}",
                                        "\"\\uD800\"",
                                        "{}"};
    job jobs[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        memset(&jobs[t], 0, sizeof jobs[t]);
        for (int k = 0; k < 4; k++) {
            const char *s = texts[(t * 2 + k) % 8];
            jobs[t].texts[k] = s;
            jobs[t].want[k] = printed(s, strlen(s));
            check_len(s, strlen(s), &jobs[t].ends[k]); /* the lone parse agrees with cJSON */
        }
    }
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) assert_int_equal(pthread_create(&th[t], NULL, parse_many, &jobs[t]), 0);
    for (int t = 0; t < NTHREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(jobs[t].mismatches, 0);
        for (int k = 0; k < 4; k++) free(jobs[t].want[k]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_whitespace_bom_nul_and_trailing_text),
        cmocka_unit_test(test_duplicate_keys_are_kept_in_order),
        cmocka_unit_test(test_raw_control_characters_in_strings_are_refused),
        cmocka_unit_test(test_strings_and_keys_holding_nul_keep_every_byte),
        cmocka_unit_test(test_nesting_limits),
        cmocka_unit_test(test_every_prefix_and_mutation_agrees_with_cjson),
        cmocka_unit_test(test_decimal_point_does_not_follow_the_locale),
        cmocka_unit_test(test_parses_on_four_threads_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
