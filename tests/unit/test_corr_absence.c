/* test_corr_absence.c — Part 2's absence steps (`not`) through the public
 * API, at every boundary the contract names: `{ a; not b }` fires once the
 * watermark is past a + DUR and never earlier (a b at exactly a + DUR still
 * counts: windows are inclusive); `{ not a; b }` fires at b when no a came in
 * the DUR before it (ties by arrival); `{ a; not b; c }`; lateness; the end
 * of input leaves an open window open; the alert is built from the first
 * step's record. Times are ms after 2024-01-01T00:00:00Z. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_correlate_util.h"

#define MIN (60 * 1000)

static const char GD[] = "rule gd_not_quarantined {\n"
                         "    sequence within 60m by .ip {\n"
                         "        finding: .kind == \"finding\";\n"
                         "        not quarantine: .kind == \"quarantine\"\n"
                         "    }\n"
                         "    output \"finding {.n} on {.ip} not quarantined ({group})\"\n"
                         "}\n";

static void test_absence_fires_once_the_watermark_is_past_a_plus_dur(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(GD, &c, 0);
    push_at(e, 0, "\"kind\":\"finding\",\"ip\":\"10.0.0.1\",\"n\":1");
    push_at(e, 60 * MIN, "\"kind\":\"other\"");
    assert_int_equal(c.n, 0); /* the watermark is at a + DUR: a quarantine now would still count */
    push_at(e, 60 * MIN + 1, "\"kind\":\"other\"");
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "rule", "gd_not_quarantined");
    /* built from the first step's record: its time, its fields, its group */
    assert_str_field(&c, 0, "time", "2024-01-01T00:00:00Z");
    assert_str_field(&c, 0, "message", "finding 1 on 10.0.0.1 not quarantined (10.0.0.1)");
    assert_int_equal((int)num_field(&c, 0, "count"), 1);
    assert_sample_ns(&c, 0, "1");
    push_at(e, 200 * MIN, "\"kind\":\"other\"");
    assert_int_equal(c.n, 1); /* once */
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_absence_window_is_inclusive(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(GD, &c, 0);
    /* a quarantine at exactly a + DUR cancels; one a millisecond later does not */
    push_at(e, 0, "\"kind\":\"finding\",\"ip\":\"a\"");
    push_at(e, 0, "\"kind\":\"finding\",\"ip\":\"b\"");
    push_at(e, 60 * MIN, "\"kind\":\"quarantine\",\"ip\":\"a\"");
    push_at(e, 60 * MIN + 1, "\"kind\":\"quarantine\",\"ip\":\"b\"");
    push_at(e, 120 * MIN, "\"kind\":\"other\"");
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "finding - on b not quarantined (b)");
    /* another group's quarantine is no quarantine of this one */
    push_at(e, 130 * MIN, "\"kind\":\"finding\",\"ip\":\"c\"");
    push_at(e, 140 * MIN, "\"kind\":\"quarantine\",\"ip\":\"d\"");
    push_at(e, 191 * MIN, "\"kind\":\"other\"");
    assert_int_equal(c.n, 2);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_absence_respects_lateness(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(GD, &c, 15 * MIN);
    push_at(e, 0, "\"kind\":\"finding\",\"ip\":\"a\"");
    /* the newest time passes a + DUR, but the watermark (newest - 15m) does not yet */
    push_at(e, 70 * MIN, "\"kind\":\"other\"");
    /* a quarantine that arrives late, within the lateness, still counts */
    push_at(e, 59 * MIN, "\"kind\":\"quarantine\",\"ip\":\"a\"");
    push_at(e, 200 * MIN, "\"kind\":\"other\"");
    assert_int_equal(c.n, 0);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_the_end_of_input_leaves_an_open_window_open(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(GD, &c, 15 * MIN);
    push_at(e, 0, "\"kind\":\"finding\",\"ip\":\"a\"");
    push_at(e, 30 * MIN, "\"kind\":\"finding\",\"ip\":\"b\"");
    push_at(e, 75 * MIN, "\"kind\":\"other\"");
    secdet_flush(e); /* the watermark moves to 75m: a's window (to 60m) is closed, b's (to 90m) is not */
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "finding - on a not quarantined (a)");
    assert_true(STAT(e, groups) >= 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_two_findings_one_alert_per_window(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(GD, &c, 0);
    /* after an alert the group starts again from zero: the second finding, waiting
     * in the same group, goes with it */
    push_at(e, 0, "\"kind\":\"finding\",\"ip\":\"a\",\"n\":1");
    push_at(e, 10 * MIN, "\"kind\":\"finding\",\"ip\":\"a\",\"n\":2");
    push_at(e, 61 * MIN, "\"kind\":\"other\"");
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "finding 1 on a not quarantined (a)");
    /* a quarantine between the two findings cancels the first only */
    push_at(e, 100 * MIN, "\"kind\":\"finding\",\"ip\":\"b\",\"n\":3");
    push_at(e, 105 * MIN, "\"kind\":\"quarantine\",\"ip\":\"b\"");
    push_at(e, 110 * MIN, "\"kind\":\"finding\",\"ip\":\"b\",\"n\":4");
    push_at(e, 171 * MIN, "\"kind\":\"other\"");
    assert_int_equal(c.n, 2);
    assert_str_field(&c, 1, "message", "finding 4 on b not quarantined (b)");
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- { not a; b } -------------------------------------------------------------------------------- */

static const char NO_SSO[] = "rule console_without_sso {\n"
                             "    sequence within 30m by .user {\n"
                             "        not sso: .kind == \"sso\";\n"
                             "        login: .kind == \"login\"\n"
                             "    }\n"
                             "    output \"{.user} signed in at {.n} without SSO\"\n"
                             "}\n";

static void test_leading_absence_fires_at_b(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(NO_SSO, &c, 0);
    push_at(e, 0, "\"kind\":\"login\",\"user\":\"ann\",\"n\":1");
    assert_int_equal(c.n, 1); /* nothing came before: it fires at b, with no waiting */
    assert_str_field(&c, 0, "message", "ann signed in at 1 without SSO");
    assert_str_field(&c, 0, "time", "2024-01-01T00:00:00Z");
    /* an SSO exactly DUR before counts; one a millisecond earlier does not */
    push_at(e, 100 * MIN, "\"kind\":\"sso\",\"user\":\"bob\"");
    push_at(e, 100 * MIN, "\"kind\":\"sso\",\"user\":\"cy\"");
    push_at(e, 130 * MIN, "\"kind\":\"login\",\"user\":\"bob\",\"n\":2");
    push_at(e, 130 * MIN + 1, "\"kind\":\"login\",\"user\":\"cy\",\"n\":3");
    assert_int_equal(c.n, 2);
    assert_str_field(&c, 1, "message", "cy signed in at 3 without SSO");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_leading_absence_ties_are_broken_by_arrival(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(NO_SSO, &c, 0);
    /* same time: an SSO that arrived first came before the sign-in; one that arrived after did not */
    push_at(e, 0, "\"kind\":\"sso\",\"user\":\"ann\"");
    push_at(e, 0, "\"kind\":\"login\",\"user\":\"ann\",\"n\":1");
    push_at(e, 0, "\"kind\":\"login\",\"user\":\"bob\",\"n\":2");
    push_at(e, 0, "\"kind\":\"sso\",\"user\":\"bob\"");
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "bob signed in at 2 without SSO");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_leading_absence_in_event_time_order(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(NO_SSO, &c, 10 * MIN);
    /* the SSO arrives after the sign-in but happened before it (within the lateness) */
    push_at(e, 5 * MIN, "\"kind\":\"login\",\"user\":\"ann\",\"n\":1");
    push_at(e, 1 * MIN, "\"kind\":\"sso\",\"user\":\"ann\"");
    push_at(e, 60 * MIN, "\"kind\":\"noise\"");
    assert_int_equal(c.n, 0);
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- { a; not b; c } -------------------------------------------------------------------------------- */

static const char ABC[] = "rule r {\n"
                          "    sequence within 10m by .u {\n"
                          "        a: .k == \"a\";\n"
                          "        not b: .k == \"b\" or .kb == true;\n"
                          "        c: .k == \"c\"\n"
                          "    }\n"
                          "    output \"{.n}\"\n"
                          "}\n";

static void test_absence_between_two_steps(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(ABC, &c, 0);
    push_at(e, 0, "\"k\":\"a\",\"u\":\"x\"");
    push_at(e, 1 * MIN, "\"k\":\"b\",\"u\":\"x\"");
    push_at(e, 2 * MIN, "\"k\":\"c\",\"u\":\"x\",\"n\":1");
    assert_int_equal(c.n, 0); /* a b came between */
    push_at(e, 20 * MIN, "\"k\":\"a\",\"u\":\"x\"");
    push_at(e, 21 * MIN, "\"k\":\"c\",\"u\":\"x\",\"n\":2");
    assert_int_equal(c.n, 1); /* no b: it fires at c, at once */
    assert_str_field(&c, 0, "message", "2");
    assert_int_equal((int)num_field(&c, 0, "count"), 2);
    /* the event that is the c is no b between a and c */
    push_at(e, 40 * MIN, "\"k\":\"a\",\"u\":\"x\"");
    push_at(e, 41 * MIN, "\"k\":\"c\",\"kb\":true,\"u\":\"x\",\"n\":3");
    assert_int_equal(c.n, 2);
    /* a b before a does not matter; c past DUR is too late */
    push_at(e, 60 * MIN, "\"k\":\"b\",\"u\":\"x\"");
    push_at(e, 61 * MIN, "\"k\":\"a\",\"u\":\"x\"");
    push_at(e, 71 * MIN + 1, "\"k\":\"c\",\"u\":\"x\",\"n\":4");
    assert_int_equal(c.n, 2);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_a_later_a_after_b_starts_again(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(ABC, &c, 0);
    push_at(e, 0, "\"k\":\"a\",\"u\":\"x\"");
    push_at(e, 1 * MIN, "\"k\":\"b\",\"u\":\"x\"");
    push_at(e, 2 * MIN, "\"k\":\"a\",\"u\":\"x\"");
    push_at(e, 3 * MIN, "\"k\":\"c\",\"u\":\"x\",\"n\":5");
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "first_seen", "2024-01-01T00:02:00Z");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_absence_checks(void **state) {
    (void)state;
    const struct {
        const char *src, *want;
    } bad[] = {
        {"rule r { sequence within 1m { not a: .x == 1; not b: .y == 1 } }",
         "a sequence needs at least one step that is not a 'not' step"},
        {"rule r { sequence unordered within 1m { a: .x == 1; not b: .y == 1 } }",
         "an unordered sequence has no order for 'not' to refer to"},
        {"rule r { sequence within 1m { a: .x == 1; not b: .y == 1 count >= 2 } }", "a 'not' step cannot be counted"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_rules_refused(bad[i].src, bad[i].want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absence_fires_once_the_watermark_is_past_a_plus_dur),
        cmocka_unit_test(test_absence_window_is_inclusive),
        cmocka_unit_test(test_absence_respects_lateness),
        cmocka_unit_test(test_the_end_of_input_leaves_an_open_window_open),
        cmocka_unit_test(test_two_findings_one_alert_per_window),
        cmocka_unit_test(test_leading_absence_fires_at_b),
        cmocka_unit_test(test_leading_absence_ties_are_broken_by_arrival),
        cmocka_unit_test(test_leading_absence_in_event_time_order),
        cmocka_unit_test(test_absence_between_two_steps),
        cmocka_unit_test(test_a_later_a_after_b_starts_again),
        cmocka_unit_test(test_absence_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
