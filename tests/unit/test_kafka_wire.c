/* test_kafka_wire.c — the messages between the Kafka stages
 * (src/kafka/wire.c): what stage 1 writes, stage 2 reads back; what stage 2
 * refuses, with the reason it gives. End to end, over a real broker, in
 * tests/kafka; every input here is fuzzed by fuzz/fuzz_repartition.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/wire.h"

typedef struct msg {
    kwire_header h[8];
    size_t n;
} msg;

static bool get(void *m, const char *name, const char **v, size_t *len) {
    const msg *x = m;
    for (size_t i = x->n; i-- > 0;) {
        if (strcmp(x->h[i].name, name) == 0) {
            *v = x->h[i].value;
            *len = x->h[i].len;
            return true;
        }
    }
    return false;
}

static void add(msg *m, const char *name, const char *value) {
    m->h[m->n++] = (kwire_header){name, value, strlen(value)};
}

/* A forward as stage 1 writes it, with `field` set to `value` instead. */
static msg forward_with(const char *field, const char *value) {
    static const char *const names[] = {"secdet-rule", "secdet-source", "secdet-time", "secdet-origin", "secdet-seq"};
    static const char *const good[] = {"counted", "cloudtrail", "1710406800000000000", "cloudtrail/3", "41:2"};
    msg m = {.n = 0};
    for (int i = 0; i < 5; i++) add(&m, names[i], field && strcmp(field, names[i]) == 0 ? value : good[i]);
    return m;
}

static const char KEY[] = "counted\0\"mallory\"\0";
#define KEY_LEN (sizeof KEY - 1)

static void test_a_forward_written_reads_back_the_same(void **state) {
    (void)state;
    kwire_forward f = {.rule = "counted",
                       .rule_len = 7,
                       .source = "cloudtrail",
                       .source_len = 10,
                       .origin = "ct/0",
                       .origin_len = 4,
                       .group = "\"u\"\0",
                       .group_len = 4,
                       .time_ns = -5,
                       .off = 9223372036854775807,
                       .idx = 4294967295u};
    kwire_text t;
    msg m = {.n = 0};
    m.n = sd_kwire_forward_headers(&f, &t, m.h);
    assert_int_equal(m.n, 5);
    assert_string_equal(t.time, "-5");
    assert_string_equal(t.seq, "9223372036854775807:4294967295");
    buf key;
    sd_buf_init(&key);
    sd_kwire_forward_key(&f, &key);
    kwire_msg w;
    char err[160];
    assert_int_equal(sd_kwire_read(get, &m, key.data, key.len, &w, err, sizeof err), KWIRE_FORWARD);
    assert_int_equal(w.f.time_ns, -5);
    assert_int_equal(w.f.off, INT64_MAX);
    assert_int_equal(w.f.idx, UINT32_MAX);
    assert_int_equal(w.f.group_len, 4);
    assert_memory_equal(w.f.group, "\"u\"\0", 4);
    sd_buf_free(&key);
}

static void test_a_heartbeat_written_reads_back_the_same(void **state) {
    (void)state;
    kwire_heartbeat b = {
        .origin = "ct/1", .origin_len = 4, .origins = "ct/0,ct/1", .origins_len = 9, .any = false, .idle = true};
    kwire_text t;
    msg m = {.n = 0};
    m.n = sd_kwire_heartbeat_headers(&b, &t, m.h);
    kwire_msg w;
    char err[160];
    assert_int_equal(sd_kwire_read(get, &m, NULL, 0, &w, err, sizeof err), KWIRE_HEARTBEAT);
    assert_false(w.h.any);
    assert_true(w.h.idle);
    assert_int_equal(w.h.origins_len, 9);
    b.any = true;
    b.time_ns = INT64_MIN;
    b.origins = NULL;
    m.n = sd_kwire_heartbeat_headers(&b, &t, m.h);
    assert_int_equal(m.n, 3);
    assert_int_equal(sd_kwire_read(get, &m, NULL, 0, &w, err, sizeof err), KWIRE_HEARTBEAT);
    assert_true(w.h.any);
    assert_int_equal(w.h.time_ns, INT64_MIN);
    assert_null(w.h.origins);
}

/* Each field as sscanf/strtoll used to take it, and what is refused now. */
static void test_forward_fields_are_read_strictly(void **state) {
    (void)state;
    static const struct {
        const char *field, *value, *why;
    } cases[] = {
        {"secdet-time", "+5", "secdet-time: expected nanoseconds"},
        {"secdet-time", " 5", "secdet-time: expected nanoseconds"},
        {"secdet-time", "9223372036854775808", "secdet-time: expected nanoseconds"},
        {"secdet-time", "5ns", "secdet-time: expected nanoseconds"},
        {"secdet-seq", "41:2junk", "secdet-seq: expected offset:index"},
        {"secdet-seq", "-1:2", "secdet-seq: expected offset:index"},
        {"secdet-seq", "41:-1", "secdet-seq: expected offset:index"},
        {"secdet-seq", "41:4294967296", "secdet-seq: expected offset:index"},
        {"secdet-seq", " 41: 2", "secdet-seq: expected offset:index"},
        {"secdet-origin", "a/0,b/0", "secdet-origin: expected an origin (1 to 512 bytes, no NUL or comma)"},
        {"secdet-source", "", "secdet-source: expected a source name (1 to 255 bytes, no NUL)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        msg m = forward_with(cases[i].field, cases[i].value);
        kwire_msg w;
        char err[160];
        assert_int_equal(sd_kwire_read(get, &m, KEY, KEY_LEN, &w, err, sizeof err), KWIRE_BAD);
        assert_string_equal(err, cases[i].why);
    }
    msg m = forward_with(NULL, NULL);
    kwire_msg w;
    char err[160];
    assert_int_equal(sd_kwire_read(get, &m, KEY, KEY_LEN, &w, err, sizeof err), KWIRE_FORWARD);
}

/* The rule name becomes a C string in stage 2: "count\0ed" used to select
 * rule "count". */
static void test_a_rule_name_with_a_nul_byte_is_refused(void **state) {
    (void)state;
    msg m = forward_with(NULL, NULL);
    m.h[0] = (kwire_header){"secdet-rule", "count\0ed", 8};
    kwire_msg w;
    char err[160];
    assert_int_equal(sd_kwire_read(get, &m, "count\0ed\0", 9, &w, err, sizeof err), KWIRE_BAD);
    assert_string_equal(err, "secdet-rule: expected a rule name (1 to 255 bytes, no NUL)");
}

static void test_the_key_must_be_the_rules(void **state) {
    (void)state;
    msg m = forward_with(NULL, NULL);
    kwire_msg w;
    char err[160];
    const char *why = "key: expected the rule's name, a NUL byte and the group key";
    assert_int_equal(sd_kwire_read(get, &m, NULL, 0, &w, err, sizeof err), KWIRE_BAD);
    assert_string_equal(err, why);
    assert_int_equal(sd_kwire_read(get, &m, "other\0x", 7, &w, err, sizeof err), KWIRE_BAD);
    assert_int_equal(sd_kwire_read(get, &m, "counted", 7, &w, err, sizeof err), KWIRE_BAD);
    assert_int_equal(sd_kwire_read(get, &m, "counted\0", 8, &w, err, sizeof err), KWIRE_FORWARD);
    assert_int_equal(w.f.group_len, 0);
}

static void test_heartbeat_fields_are_read_strictly(void **state) {
    (void)state;
    static const struct {
        const char *time, *idle, *origins, *why;
    } cases[] = {
        {"soon", "0", "a/0", "secdet-time: expected nanoseconds or \"none\""},
        {NULL, "0", "a/0", "heartbeat without secdet-time"},
        {"5", "yes", "a/0", "secdet-idle: expected 0 or 1"},
        {"5", "0", "a/0,,a/1", "secdet-origins: expected origins separated by commas"},
        {"5", "0", ",a/0", "secdet-origins: expected origins separated by commas"},
        {"5", "0", "a/0,", "secdet-origins: expected origins separated by commas"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        msg m = {.n = 0};
        add(&m, "secdet-watermark", "a/0");
        if (cases[i].time) add(&m, "secdet-time", cases[i].time);
        add(&m, "secdet-idle", cases[i].idle);
        add(&m, "secdet-origins", cases[i].origins);
        kwire_msg w;
        char err[160];
        assert_int_equal(sd_kwire_read(get, &m, NULL, 0, &w, err, sizeof err), KWIRE_BAD);
        assert_string_equal(err, cases[i].why);
    }
}

static void count_name(void *user, const char *name, size_t len) {
    (void)name;
    (void)len;
    (*(int *)user)++;
}

static void test_origins_list_is_all_or_nothing(void **state) {
    (void)state;
    int n = 0;
    assert_true(sd_kwire_origins_each("a/0,b/1,c/2", 11, count_name, &n));
    assert_int_equal(n, 3);
    n = 0;
    assert_false(sd_kwire_origins_each("a/0,b/1,", 8, count_name, &n));
    assert_int_equal(n, 0); /* none handed out before the whole list was checked */
    assert_true(sd_kwire_origins_each("", 0, count_name, &n));
    assert_int_equal(n, 0);
}

static void test_a_message_of_neither_kind_says_so(void **state) {
    (void)state;
    msg m = {.n = 0};
    add(&m, "x-other", "1");
    kwire_msg w;
    char err[160];
    assert_int_equal(sd_kwire_read(get, &m, NULL, 0, &w, err, sizeof err), KWIRE_BAD);
    assert_string_equal(err, "not a forwarded event or a heartbeat (no secdet-rule or secdet-watermark header)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_forward_written_reads_back_the_same),
        cmocka_unit_test(test_a_heartbeat_written_reads_back_the_same),
        cmocka_unit_test(test_forward_fields_are_read_strictly),
        cmocka_unit_test(test_a_rule_name_with_a_nul_byte_is_refused),
        cmocka_unit_test(test_the_key_must_be_the_rules),
        cmocka_unit_test(test_heartbeat_fields_are_read_strictly),
        cmocka_unit_test(test_origins_list_is_all_or_nothing),
        cmocka_unit_test(test_a_message_of_neither_kind_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
