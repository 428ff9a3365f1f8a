/* test_match.c — value equality, globs and CIDR ranges (src/vm/match.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "vm/vm.h"

static sd_value str(const char *s) { return (sd_value){.type = SD_STR, .str = s, .len = strlen(s)}; }
static sd_value num(double d) { return (sd_value){.type = SD_NUM, .num = d}; }

static bool glob(const char *pat, const char *s) { return sd_glob_match(pat, strlen(pat), s, strlen(s)); }

/* ---- equality ---- */

static void test_equality_never_coerces_and_numbers_compare_by_value(void **state) {
    (void)state;
    sd_value one = num(1), onef = num(1.0), two = num(2), s1 = str("1");
    assert_true(sd_value_equal(&one, &onef));
    assert_false(sd_value_equal(&one, &two));
    assert_false(sd_value_equal(&s1, &one));
    assert_false(sd_value_equal(&one, &s1));
    sd_value t = {.type = SD_BOOL, .b = 1}, t2 = {.type = SD_BOOL, .b = 7}, fl = {.type = SD_BOOL, .b = 0};
    assert_true(sd_value_equal(&t, &t2));
    assert_false(sd_value_equal(&t, &fl));
    sd_value n1 = {.type = SD_NULL}, n2 = {.type = SD_NULL};
    assert_true(sd_value_equal(&n1, &n2));
    assert_false(sd_value_equal(&n1, &fl));
    sd_value zero = num(0);
    assert_false(sd_value_equal(&zero, &fl));
}

static void test_strings_compare_bytewise_including_length(void **state) {
    (void)state;
    sd_value a = str("abc"), b = str("abc"), c = str("abd"), d = str("ab"), e = str("");
    sd_value f = {.type = SD_STR, .str = NULL, .len = 0};
    assert_true(sd_value_equal(&a, &b));
    assert_false(sd_value_equal(&a, &c));
    assert_false(sd_value_equal(&a, &d));
    assert_true(sd_value_equal(&e, &f));
    sd_value embedded1 = {.type = SD_STR, .str = "a\0b", .len = 3},
             embedded2 = {.type = SD_STR, .str = "a\0c", .len = 3};
    assert_false(sd_value_equal(&embedded1, &embedded2));
}

static void test_arrays_and_objects_equal_when_same_json(void **state) {
    (void)state;
    cJSON *root = cJSON_Parse("{\"a\":[1,\"x\",{\"k\":true}],\"b\":[1,\"x\",{\"k\":true}],\"c\":[1,\"x\"],"
                              "\"o1\":{\"p\":1,\"q\":2},\"o2\":{\"q\":2,\"p\":1},\"o3\":{\"p\":1,\"q\":3}}");
    sd_value a, b, c, o1, o2, o3;
    sd_value_from_json(cJSON_GetObjectItem(root, "a"), &a);
    sd_value_from_json(cJSON_GetObjectItem(root, "b"), &b);
    sd_value_from_json(cJSON_GetObjectItem(root, "c"), &c);
    sd_value_from_json(cJSON_GetObjectItem(root, "o1"), &o1);
    sd_value_from_json(cJSON_GetObjectItem(root, "o2"), &o2);
    sd_value_from_json(cJSON_GetObjectItem(root, "o3"), &o3);
    assert_true(sd_value_equal(&a, &b));
    assert_true(sd_value_equal(&a, &a));
    assert_false(sd_value_equal(&a, &c));
    assert_true(sd_value_equal(&o1, &o2));
    assert_false(sd_value_equal(&o1, &o3));
    assert_false(sd_value_equal(&a, &o1));
    cJSON_Delete(root);
}

/* ---- glob ---- */

static void test_glob_empty_pattern_matches_only_empty_string(void **state) {
    (void)state;
    assert_true(glob("", ""));
    assert_false(glob("", "a"));
    assert_false(glob("?", ""));
}

static void test_glob_star_alone_matches_everything(void **state) {
    (void)state;
    assert_true(glob("*", ""));
    assert_true(glob("*", "anything at all"));
    assert_true(glob("**", "x"));
}

static void test_glob_is_whole_string_and_case_sensitive(void **state) {
    (void)state;
    assert_true(glob("Access*Denied?", "AccessIsDenied!"));
    assert_true(glob("Access*Denied?", "AccessDenied."));
    assert_false(glob("Access*Denied?", "AccessDenied"));
    assert_false(glob("Access*Denied?", "xAccessDenied."));
    assert_false(glob("access*", "AccessDenied"));
    assert_false(glob("abc", "abcd"));
    assert_false(glob("abcd", "abc"));
}

static void test_glob_question_mark_is_one_code_point(void **state) {
    (void)state;
    assert_true(glob("caf?", "caf\xc3\xa9"));   /* é: 2 bytes */
    assert_true(glob("?", "\xf0\x9f\x98\x80")); /* 4-byte emoji */
    assert_false(glob("??", "\xf0\x9f\x98\x80"));
    assert_false(glob("*??", "\xc3\xa9")); /* one code point cannot fill two ? */
    assert_true(glob("*?", "\xc3\xa9"));
    assert_true(glob("a?c", "a\xe2\x82\xac"
                            "c")); /* € */
    /* Invalid UTF-8 still advances: a stray continuation byte is one code point. */
    assert_true(glob("?", "\x80"));
    assert_true(glob("a?", "a\xff"));
}

static void test_glob_trailing_and_many_stars(void **state) {
    (void)state;
    assert_true(glob("abc*", "abc"));
    assert_true(glob("abc*", "abcdef"));
    assert_true(glob("*b*d*", "abcde"));
    assert_false(glob("*b*d*", "abce"));
    assert_true(glob("a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
    assert_false(glob("a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    assert_true(glob("*.exe", "C:\\a.exe.exe"));
    assert_true(glob("*?*", "x"));
    assert_false(glob("*x", "xy"));
}

static void test_glob_other_characters_are_literal(void **state) {
    (void)state;
    assert_true(glob("[a]", "[a]"));
    assert_false(glob("[a]", "a"));
    assert_true(glob("a\\*", "a\\bc"));
    assert_false(glob("a.c", "abc"));
}

/* ---- CIDR ---- */

static int parse(const char *s, cidr_range *r) { return sd_cidr_parse(s, strlen(s), r); }

static bool in_cidrs(const char *addr, const char *const *cidrs, size_t n) {
    cidr_range ranges[8];
    for (size_t i = 0; i < n; i++) assert_int_equal(parse(cidrs[i], &ranges[i]), 0);
    cidr_set set = {ranges, (uint32_t)n};
    return sd_cidr_contains(&set, addr, strlen(addr));
}

static void test_cidr_parse_ipv4_and_clears_host_bits(void **state) {
    (void)state;
    cidr_range r;
    assert_int_equal(parse("10.1.2.3/8", &r), 0);
    assert_int_equal(r.family, 4);
    assert_int_equal(r.prefix, 8);
    const uint8_t want[4] = {10, 0, 0, 0};
    assert_memory_equal(r.addr, want, 4);
    assert_int_equal(parse("192.168.255.255/20", &r), 0);
    const uint8_t want20[4] = {192, 168, 240, 0};
    assert_memory_equal(r.addr, want20, 4);
    assert_int_equal(parse("1.2.3.4", &r), 0);
    assert_int_equal(r.prefix, 32);
    assert_int_equal(parse("0.0.0.0/0", &r), 0);
    assert_int_equal(r.prefix, 0);
}

static void test_cidr_parse_ipv6_forms(void **state) {
    (void)state;
    cidr_range r;
    assert_int_equal(parse("fd00::/8", &r), 0);
    assert_int_equal(r.family, 6);
    assert_int_equal(r.prefix, 8);
    assert_int_equal(r.addr[0], 0xfd);
    assert_int_equal(parse("2001:db8:ffff::ffff/33", &r), 0);
    assert_int_equal(r.addr[3], 0xb8);
    assert_int_equal(r.addr[4], 0x80); /* 0xff keeps its top bit only */
    assert_int_equal(r.addr[5], 0);
    assert_int_equal(r.addr[15], 0);
    assert_int_equal(parse("::", &r), 0);
    assert_int_equal(r.prefix, 128);
    assert_int_equal(parse("::ffff:10.0.0.1/128", &r), 0);
    assert_int_equal(r.family, 6);
    assert_int_equal(r.addr[12], 10);
}

static void test_cidr_parse_rejects_bad_text(void **state) {
    (void)state;
    cidr_range r;
    const char *bad[] = {"",
                         "/8",
                         "10.0.0.0/",
                         "10.0.0.0/33",
                         "::/129",
                         "10.0.0/8",
                         "10.0.0.0/8x",
                         "10.0.0.0/-1",
                         "10.0.0.0/1234",
                         "256.0.0.1",
                         "fe80::1%eth0",
                         "1:2:3:4:5:6:7:8:9",
                         "hello",
                         "10.0.0.0 /8",
                         "10.0.0.0/8/8"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (parse(bad[i], &r) == 0) fail_msg("accepted %s", bad[i]);
    }
    assert_int_equal(sd_cidr_parse("10.0.0.0/8\0", 11, &r), -1);
}

static void test_cidr_contains_v4_ranges_and_bare_addresses(void **state) {
    (void)state;
    const char *priv[] = {"10.0.0.0/8", "172.16.0.0/12", "192.168.1.7"};
    assert_true(in_cidrs("10.200.3.4", priv, 3));
    assert_true(in_cidrs("172.31.255.255", priv, 3));
    assert_false(in_cidrs("172.32.0.0", priv, 3));
    assert_true(in_cidrs("192.168.1.7", priv, 3));
    assert_false(in_cidrs("192.168.1.8", priv, 3));
    assert_false(in_cidrs("11.0.0.1", priv, 3));
    assert_false(in_cidrs("not an ip", priv, 3));
    assert_false(in_cidrs("10.0.0.1/32", priv, 3));
    assert_false(in_cidrs("", priv, 3));
    const char *all[] = {"0.0.0.0/0"};
    assert_true(in_cidrs("8.8.8.8", all, 1));
    assert_false(in_cidrs("::1", all, 1));
}

static void test_cidr_v4_and_v6_never_cross_match(void **state) {
    (void)state;
    const char *v6[] = {"::/0"};
    assert_false(in_cidrs("1.2.3.4", v6, 1));
    assert_true(in_cidrs("2001:db8::1", v6, 1));
    const char *v4[] = {"1.2.3.0/24"};
    assert_false(in_cidrs("::ffff:1.2.3.4", v4, 1)); /* IPv4-mapped stays IPv6 */
    const char *mapped[] = {"::ffff:0:0/96"};
    assert_true(in_cidrs("::ffff:1.2.3.4", mapped, 1));
    assert_false(in_cidrs("1.2.3.4", mapped, 1));
    const char *ula[] = {"fd00::/8"};
    assert_true(in_cidrs("fd12:3456::1", ula, 1));
    assert_true(in_cidrs("FD12::1", ula, 1));
    assert_false(in_cidrs("fe80::1", ula, 1));
}

static void test_cidr_contains_handles_unterminated_and_long_input(void **state) {
    (void)state;
    cidr_range r;
    assert_int_equal(parse("10.0.0.0/8", &r), 0);
    cidr_set set = {&r, 1};
    const char buf[] = "10.1.1.1XXXX";
    assert_true(sd_cidr_contains(&set, buf, 8));
    assert_false(sd_cidr_contains(&set, buf, 9));
    char longs[200];
    memset(longs, '1', sizeof longs);
    assert_false(sd_cidr_contains(&set, longs, sizeof longs));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equality_never_coerces_and_numbers_compare_by_value),
        cmocka_unit_test(test_strings_compare_bytewise_including_length),
        cmocka_unit_test(test_arrays_and_objects_equal_when_same_json),
        cmocka_unit_test(test_glob_empty_pattern_matches_only_empty_string),
        cmocka_unit_test(test_glob_star_alone_matches_everything),
        cmocka_unit_test(test_glob_is_whole_string_and_case_sensitive),
        cmocka_unit_test(test_glob_question_mark_is_one_code_point),
        cmocka_unit_test(test_glob_trailing_and_many_stars),
        cmocka_unit_test(test_glob_other_characters_are_literal),
        cmocka_unit_test(test_cidr_parse_ipv4_and_clears_host_bits),
        cmocka_unit_test(test_cidr_parse_ipv6_forms),
        cmocka_unit_test(test_cidr_parse_rejects_bad_text),
        cmocka_unit_test(test_cidr_contains_v4_ranges_and_bare_addresses),
        cmocka_unit_test(test_cidr_v4_and_v6_never_cross_match),
        cmocka_unit_test(test_cidr_contains_handles_unterminated_and_long_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
