/* test_time.c — RFC 3339 parsing and formatting of event times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "event/time.h"

#define NS 1000000000LL

static int64_t parse_ok(const char *s) {
    int64_t ns = -1;
    if (!sd_time_parse_rfc3339(s, strlen(s), &ns)) fail_msg("rejected: %s", s);
    return ns;
}

static bool parses(const char *s) {
    int64_t ns;
    return sd_time_parse_rfc3339(s, strlen(s), &ns);
}

static void test_cloudtrail_form_is_seconds_since_epoch(void **state) {
    (void)state;
    /* 2023-07-10T12:11:15Z: `date -u -d 2023-07-10T12:11:15Z +%s` = 1688991075 */
    assert_int_equal(parse_ok("2023-07-10T12:11:15Z"), 1688991075LL * NS);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1970-01-02T00:00:01Z"), 86401LL * NS);
    assert_int_equal(parse_ok("2000-03-01T00:00:00Z"), 951868800LL * NS);
    assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -1LL * NS);
    assert_int_equal(parse_ok("1900-01-01T00:00:00Z"), -2208988800LL * NS);
}

static void test_separators_and_zone_letters_in_either_case(void **state) {
    (void)state;
    int64_t want = parse_ok("2023-07-10T12:11:15Z");
    assert_int_equal(parse_ok("2023-07-10t12:11:15z"), want);
    assert_int_equal(parse_ok("2023-07-10 12:11:15Z"), want);
}

static void test_fractions_of_one_to_nine_digits(void **state) {
    (void)state;
    int64_t base = parse_ok("2023-07-10T12:11:15Z");
    assert_int_equal(parse_ok("2023-07-10T12:11:15.1Z"), base + 100000000);
    assert_int_equal(parse_ok("2023-07-10T12:11:15.12Z"), base + 120000000);
    assert_int_equal(parse_ok("2023-07-10T12:11:15.123Z"), base + 123000000);
    assert_int_equal(parse_ok("2023-07-10T12:11:15.1234Z"), base + 123400000);
    assert_int_equal(parse_ok("2023-07-10T12:11:15.12345Z"), base + 123450000);
    assert_int_equal(parse_ok("2023-07-10T12:11:15.123456Z"), base + 123456000);
    assert_int_equal(parse_ok("2023-07-10T12:11:15.1234567Z"), base + 123456700);
    assert_int_equal(parse_ok("2023-07-10T12:11:15.12345678Z"), base + 123456780);
    assert_int_equal(parse_ok("2023-07-10T12:11:15.123456789Z"), base + 123456789);
}

static void test_digits_past_nine_are_truncated(void **state) {
    (void)state;
    int64_t base = parse_ok("2023-07-10T12:11:15Z");
    assert_int_equal(parse_ok("2023-07-10T12:11:15.9999999999999Z"), base + 999999999);
    assert_false(parses("2023-07-10T12:11:15.1234567890xZ"));
}

static void test_offsets_give_the_same_utc_instant(void **state) {
    (void)state;
    int64_t utc = parse_ok("2023-07-10T12:11:15Z");
    assert_int_equal(parse_ok("2023-07-10T14:11:15+02:00"), utc);
    assert_int_equal(parse_ok("2023-07-10T06:41:15-05:30"), utc);
    assert_int_equal(parse_ok("2023-07-10T12:11:15+00:00"), utc);
    assert_int_equal(parse_ok("2023-07-10T12:11:15-00:00"), utc);
    /* across a day and a year boundary */
    assert_int_equal(parse_ok("2024-01-01T01:30:00+02:00"), parse_ok("2023-12-31T23:30:00Z"));
    assert_int_equal(parse_ok("2023-12-31T20:00:00.5-05:00"), parse_ok("2024-01-01T01:00:00.5Z"));
}

static void test_invalid_dates_and_times_are_rejected(void **state) {
    (void)state;
    assert_false(parses("2023-02-30T00:00:00Z"));
    assert_false(parses("2023-02-29T00:00:00Z"));
    assert_true(parses("2024-02-29T00:00:00Z"));
    assert_true(parses("2000-02-29T00:00:00Z"));
    assert_false(parses("1900-02-29T00:00:00Z"));
    assert_false(parses("2023-13-01T00:00:00Z"));
    assert_false(parses("2023-00-01T00:00:00Z"));
    assert_false(parses("2023-04-31T00:00:00Z"));
    assert_false(parses("2023-01-00T00:00:00Z"));
    assert_false(parses("2023-01-01T24:00:00Z"));
    assert_false(parses("2023-01-01T00:60:00Z"));
    assert_false(parses("2023-01-01T00:00:61Z"));
    assert_false(parses("2023-01-01T00:00:00+24:00"));
    assert_false(parses("2023-01-01T00:00:00+01:60"));
}

static void test_malformed_text_is_rejected(void **state) {
    (void)state;
    assert_false(parses("2023-07-10T12:11:15"));   /* missing zone */
    assert_false(parses("2023-07-10T12:11:15.Z")); /* empty fraction */
    assert_false(parses("2023-07-10X12:11:15Z"));
    assert_false(parses("2023-07-10T12:11Z"));
    assert_false(parses("2023-7-10T12:11:15Z"));
    assert_false(parses("2023-07-10T12:11:15Z ")); /* the whole text must match */
    assert_false(parses(" 2023-07-10T12:11:15Z"));
    assert_false(parses("2023-07-10T12:11:15+0200"));
    assert_false(parses("2023-07-10T12:11:15+02"));
    assert_false(parses("2023-07-10"));
    assert_false(parses(""));
    assert_false(parses("+023-07-10T12:11:15Z"));
    int64_t ns;
    assert_false(sd_time_parse_rfc3339("2023-07-10T12:11:15Z", 19, &ns)); /* len cuts the Z */
    assert_true(sd_time_parse_rfc3339("2023-07-10T12:11:15Zjunk", 20, &ns));
}

static void test_leap_second_folds_to_end_of_minute(void **state) {
    (void)state;
    int64_t next = parse_ok("2017-01-01T00:00:00Z");
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), next - 1);
    assert_int_equal(parse_ok("2016-12-31T23:59:60.5Z"), next - 1);
    assert_int_equal(parse_ok("2016-12-31T15:59:60-08:00"), next - 1);
}

static void test_out_of_int64_range_is_rejected(void **state) {
    (void)state;
    assert_false(parses("2262-04-12T00:00:00Z"));
    assert_false(parses("1677-09-21T00:00:00Z"));
    assert_false(parses("9999-12-31T23:59:59Z"));
    assert_true(parses("2262-04-11T23:47:16.854775807Z"));
    assert_false(parses("2262-04-11T23:47:16.854775808Z"));
}

static void assert_formats(int64_t ns, const char *want) {
    char out[40];
    size_t n = sd_time_format_rfc3339(ns, out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_format_is_utc_with_shortest_exact_fraction(void **state) {
    (void)state;
    int64_t base = 1688991075LL * NS;
    assert_formats(base, "2023-07-10T12:11:15Z");
    assert_formats(base + 100000000, "2023-07-10T12:11:15.100Z");
    assert_formats(base + 123000000, "2023-07-10T12:11:15.123Z");
    assert_formats(base + 123400000, "2023-07-10T12:11:15.123400Z");
    assert_formats(base + 123456000, "2023-07-10T12:11:15.123456Z");
    assert_formats(base + 1, "2023-07-10T12:11:15.000000001Z");
    assert_formats(0, "1970-01-01T00:00:00Z");
    assert_formats(-1, "1969-12-31T23:59:59.999999999Z");
    assert_formats(-86400LL * NS, "1969-12-31T00:00:00Z");
    assert_formats(951782400LL * NS, "2000-02-29T00:00:00Z");
    assert_formats(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
    assert_formats(INT64_MIN, "1677-09-21T00:12:43.145224192Z");
}

static void test_format_of_parse_round_trips(void **state) {
    (void)state;
    const char *cases[] = {
        "2023-07-10T12:11:15Z",        "2023-07-10T12:11:15.120Z",
        "2023-07-10T12:11:15.123456Z", "2023-07-10T12:11:15.123456789Z",
        "1999-12-31T23:59:59.999Z",    "2024-02-29T00:00:00Z",
        "1970-01-01T00:00:00.000001Z", "1600-03-01T00:00:00Z" /* rejected: before 1677 */,
    };
    for (size_t i = 0; i + 1 < sizeof cases / sizeof *cases; i++) {
        char out[40];
        sd_time_format_rfc3339(parse_ok(cases[i]), out);
        assert_string_equal(out, cases[i]);
    }
    assert_false(parses(cases[sizeof cases / sizeof *cases - 1]));
    /* every day of four years, including a leap day, through both directions */
    int64_t day0 = parse_ok("2023-01-01T00:00:00Z");
    for (int64_t d = 0; d < 4 * 366; d++) {
        char out[40];
        int64_t t = day0 + d * 86400 * NS + 3723 * NS + 5000000;
        sd_time_format_rfc3339(t, out);
        assert_int_equal(parse_ok(out), t);
    }
}

static void test_now_is_after_2023(void **state) {
    (void)state;
    assert_true(sd_time_now_ns() > parse_ok("2023-01-01T00:00:00Z"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cloudtrail_form_is_seconds_since_epoch),
        cmocka_unit_test(test_separators_and_zone_letters_in_either_case),
        cmocka_unit_test(test_fractions_of_one_to_nine_digits),
        cmocka_unit_test(test_digits_past_nine_are_truncated),
        cmocka_unit_test(test_offsets_give_the_same_utc_instant),
        cmocka_unit_test(test_invalid_dates_and_times_are_rejected),
        cmocka_unit_test(test_malformed_text_is_rejected),
        cmocka_unit_test(test_leap_second_folds_to_end_of_minute),
        cmocka_unit_test(test_out_of_int64_range_is_rejected),
        cmocka_unit_test(test_format_is_utc_with_shortest_exact_fraction),
        cmocka_unit_test(test_format_of_parse_round_trips),
        cmocka_unit_test(test_now_is_after_2023),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
