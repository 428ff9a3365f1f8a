/* test_corr_steps.c — Part 2's "More correlation" besides absence, through
 * the public API: counted steps (the N-th match completes the step, inside
 * its window, after the step before; one arriving late within the lateness
 * still counts), a count rule named as a step (its keys count apart),
 * per-step keys (one address as .client.ipAddress in Okta and
 * .sourceIPAddress in CloudTrail), unordered sequences, and sum. Times are
 * ms after 2024-01-01T00:00:00Z. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_correlate_util.h"

#define MIN (60 * 1000)

/* ---- counted steps --------------------------------------------------------------------------------- */

static const char FIVE_THEN_OK[] = "rule r {\n"
                                   "    sequence within 1h by .user {\n"
                                   "        fails: .kind == \"fail\" count >= 5 within 10m;\n"
                                   "        ok: .kind == \"ok\"\n"
                                   "    }\n"
                                   "    output \"{count} for {group} at {.n}\"\n"
                                   "}\n";

static void push_kind(secdet_engine *e, int64_t ms, const char *kind, const char *user, int n) {
    push_fmt(e, ms, "\"kind\":\"%s\",\"user\":\"%s\",\"n\":%d", kind, user, n);
}

static void test_counted_first_step(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(FIVE_THEN_OK, &c, 0);
    for (int i = 0; i < 4; i++) push_kind(e, i * MIN, "fail", "bob", i);
    push_kind(e, 5 * MIN, "ok", "bob", 10);
    assert_int_equal(c.n, 0); /* four failures are not five */
    push_kind(e, 6 * MIN, "fail", "bob", 11);
    push_kind(e, 7 * MIN, "ok", "bob", 12);
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "6 for bob at 12");
    assert_int_equal((int)num_field(&c, 0, "count"), 6);
    /* first_seen is the first of the five failures (the oldest inside the window) */
    assert_str_field(&c, 0, "first_seen", "2024-01-01T00:00:00Z");
    assert_sample_ns(&c, 0, "11,12");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_counted_step_window_is_inclusive(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(FIVE_THEN_OK, &c, 0);
    /* five failures spanning exactly 10m count; spanning 10m + 1ms do not */
    for (int i = 0; i < 4; i++) push_kind(e, i * MIN, "fail", "ann", i);
    push_kind(e, 10 * MIN, "fail", "ann", 4);
    push_kind(e, 11 * MIN, "ok", "ann", 5);
    for (int i = 0; i < 4; i++) push_kind(e, 100 * MIN + i * MIN, "fail", "cy", i);
    push_kind(e, 110 * MIN + 1, "fail", "cy", 4);
    push_kind(e, 111 * MIN, "ok", "cy", 5);
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "6 for ann at 5");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_counted_step_whose_nth_match_arrives_late(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(FIVE_THEN_OK, &c, 15 * MIN);
    for (int i = 0; i < 4; i++) push_kind(e, i * MIN, "fail", "bob", i);
    push_kind(e, 6 * MIN, "ok", "bob", 10);
    /* the fifth failure happened before the success but arrives after it */
    push_kind(e, 5 * MIN, "fail", "bob", 4);
    secdet_flush(e);
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "6 for bob at 10");
    collected_free(&c);
    secdet_engine_free(e);
}

static const char LOGIN_THEN_DOWNLOADS[] = "rule r {\n"
                                           "    sequence within 1h by .user {\n"
                                           "        login: .kind == \"login\";\n"
                                           "        dl: .kind == \"dl\" count >= 3 within 5m\n"
                                           "    }\n"
                                           "}\n";

static void test_counted_later_step_counts_only_after_the_step_before(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(LOGIN_THEN_DOWNLOADS, &c, 0);
    push_kind(e, 0, "dl", "u", 0);
    push_kind(e, 1 * MIN, "dl", "u", 1);
    push_kind(e, 2 * MIN, "login", "u", 2);
    push_kind(e, 3 * MIN, "dl", "u", 3);
    push_kind(e, 4 * MIN, "dl", "u", 4);
    assert_int_equal(c.n, 0); /* the downloads before the sign-in do not count */
    push_kind(e, 5 * MIN, "dl", "u", 5);
    assert_int_equal(c.n, 1);
    assert_int_equal((int)num_field(&c, 0, "count"), 4);
    assert_sample_ns(&c, 0, "2,5");
    /* an older sign-in waiting with more downloads than a newer one is not lost */
    push_kind(e, 100 * MIN, "login", "v", 10);
    push_kind(e, 101 * MIN, "dl", "v", 11);
    push_kind(e, 102 * MIN, "dl", "v", 12);
    push_kind(e, 103 * MIN, "login", "v", 13);
    push_kind(e, 104 * MIN, "dl", "v", 14);
    assert_int_equal(c.n, 2);
    assert_str_field(&c, 1, "first_seen", "2024-01-01T01:40:00Z");
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- a count rule as a step ------------------------------------------------------------------------------ */

static const char AGG_STEP[] = "rule okta_fails { where .kind == \"fail\" count >= 3 within 10m by .user private }\n"
                               "rule fails_then_ok {\n"
                               "    sequence within 1h by .ip {\n"
                               "        fails: okta_fails;\n"
                               "        ok: .kind == \"ok\"\n"
                               "    }\n"
                               "    output \"{count} from {group}\"\n"
                               "}\n";

static void push_ip(secdet_engine *e, int64_t ms, const char *kind, const char *user, const char *ip) {
    push_fmt(e, ms, "\"kind\":\"%s\",\"user\":\"%s\",\"ip\":\"%s\"", kind, user, ip);
}

static void test_a_count_rule_as_a_step_counts_by_its_own_keys(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(AGG_STEP, &c, 0);
    /* from one address, two users fail twice each: okta_fails never alerts */
    push_ip(e, 0, "fail", "a", "1.1.1.1");
    push_ip(e, 1 * MIN, "fail", "b", "1.1.1.1");
    push_ip(e, 2 * MIN, "fail", "a", "1.1.1.1");
    push_ip(e, 3 * MIN, "fail", "b", "1.1.1.1");
    push_ip(e, 4 * MIN, "ok", "a", "1.1.1.1");
    assert_int_equal(c.n, 0);
    /* a third failure of a: okta_fails would alert, and the success completes */
    push_ip(e, 5 * MIN, "fail", "a", "1.1.1.1");
    push_ip(e, 6 * MIN, "ok", "a", "1.1.1.1");
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "4 from 1.1.1.1");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_aggregation_rule_step_checks(void **state) {
    (void)state;
    const struct {
        const char *src, *want;
    } bad[] = {
        {"rule d { where .a == 1 distinct .u >= 2 within 1m }\nrule s { sequence within 1h { a: d; b: .b == 1 } }",
         "step 'a' names 'd', a distinct rule: only a count rule may be a step"},
        {"rule d { where .a == 1 count >= 2 within 1m }\nrule s { sequence within 1h { a: d count >= 2; b: .b == 1 } }",
         "which counts already"},
        {"rule d { where .a == 1 count >= 2 within 1m }\nrule s { where d }",
         "rule 'd' has an aggregation (count, distinct, sum or sequence) and cannot stand in a condition"},
        {"rule s { sequence within 1h { a: .a == 1 by .x; b: .b == 1 } }",
         "step 'b' has no 'by': when one step has keys, every step has as many (1)"},
        {"rule s { sequence within 1h by .y { a: .a == 1 by .x; b: .b == 1 by .z } }",
         "has keys on its steps, so the sequence itself takes none"},
        {"rule s { sequence within 1h { a: .a == 1 by .x; b: .b == 1 by .z, .w } }", "every step has as many"},
        {"rule s { sequence within 1h { a: .a == 1 count >= 0; b: .b == 1 } }",
         "the count must be a whole number from 1 to 1000000000"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_rules_refused(bad[i].src, bad[i].want);
}

/* ---- per-step keys ------------------------------------------------------------------------------------- */

static const char XSRC[] = "rule r {\n"
                           "    sequence within 1h {\n"
                           "        fail: .src == \"okta\" and .outcome == \"FAILURE\" by .client.ipAddress;\n"
                           "        login: .src == \"aws\" and .eventName == \"ConsoleLogin\" by .sourceIPAddress\n"
                           "    }\n"
                           "    output \"{group} at {.n}\"\n"
                           "}\n";

static void test_per_step_keys_follow_one_address(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(XSRC, &c, 0);
    push_at(e, 0, "\"src\":\"okta\",\"outcome\":\"FAILURE\",\"client\":{\"ipAddress\":\"9.9.9.9\"}");
    push_at(e, 1 * MIN, "\"src\":\"aws\",\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"8.8.8.8\",\"n\":1");
    assert_int_equal(c.n, 0);
    push_at(e, 2 * MIN, "\"src\":\"aws\",\"eventName\":\"ConsoleLogin\",\"sourceIPAddress\":\"9.9.9.9\",\"n\":2");
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "9.9.9.9 at 2");
    /* the group is named by the first step's keys */
    cJSON *j = alert_obj(&c, 0);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "group");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(g, ".client.ipAddress")->valuestring, "9.9.9.9");
    cJSON_Delete(j);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_one_event_in_two_groups(void **state) {
    (void)state;
    collected c;
    /* An event both steps take, with different keys: each key its own group
     * (what coalesce cannot do once an event has both fields). */
    const char *rules = "rule r {\n"
                        "    sequence within 1h {\n"
                        "        a: .k == \"a\" by .x;\n"
                        "        b: .k2 == \"b\" by .y\n"
                        "    }\n"
                        "    output \"{group} {.n}\"\n"
                        "}\n";
    secdet_engine *e = engine_with(rules, &c, 0);
    push_at(e, 0, "\"k\":\"a\",\"x\":\"p\",\"n\":1");
    push_at(e, 1 * MIN, "\"k\":\"a\",\"k2\":\"b\",\"x\":\"q\",\"y\":\"p\",\"n\":2");
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "p 2");
    push_at(e, 2 * MIN, "\"k2\":\"b\",\"y\":\"q\",\"n\":3");
    assert_int_equal(c.n, 2);
    assert_str_field(&c, 1, "message", "q 3");
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- unordered ------------------------------------------------------------------------------------------- */

static const char UNORDERED[] = "rule r {\n"
                                "    sequence unordered within 10m by .u {\n"
                                "        x: .k == \"x\" or .k == \"xy\";\n"
                                "        y: .k == \"y\" or .k == \"xy\";\n"
                                "        z: .k == \"z\"\n"
                                "    }\n"
                                "}\n";

static void push_k(secdet_engine *e, int64_t ms, const char *k, const char *u, int n) {
    push_fmt(e, ms, "\"k\":\"%s\",\"u\":\"%s\",\"n\":%d", k, u, n);
}

static void test_unordered_in_any_order(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(UNORDERED, &c, 0);
    push_k(e, 0, "z", "a", 1);
    push_k(e, 1 * MIN, "y", "a", 2);
    push_k(e, 2 * MIN, "x", "a", 3);
    assert_int_equal(c.n, 1);
    assert_int_equal((int)num_field(&c, 0, "count"), 3);
    assert_str_field(&c, 0, "first_seen", "2024-01-01T00:00:00Z");
    assert_sample_ns(&c, 0, "1,2,3");
    /* inclusive: the three within exactly 10m */
    push_k(e, 100 * MIN, "x", "b", 4);
    push_k(e, 105 * MIN, "y", "b", 5);
    push_k(e, 110 * MIN, "z", "b", 6);
    assert_int_equal(c.n, 2);
    /* 10m + 1ms apart: the first no longer counts */
    push_k(e, 200 * MIN, "x", "c", 7);
    push_k(e, 205 * MIN, "y", "c", 8);
    push_k(e, 210 * MIN + 1, "z", "c", 9);
    assert_int_equal(c.n, 2);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_unordered_one_event_fills_one_step(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(UNORDERED, &c, 0);
    push_k(e, 0, "xy", "a", 1);
    push_k(e, 1 * MIN, "z", "a", 2);
    assert_int_equal(c.n, 0); /* xy may be x or y, not both */
    push_k(e, 2 * MIN, "xy", "a", 3);
    assert_int_equal(c.n, 1); /* two of them are x and y */
    push_k(e, 10 * MIN, "x", "b", 4);
    push_k(e, 11 * MIN, "xy", "b", 5);
    push_k(e, 12 * MIN, "z", "b", 6);
    assert_int_equal(c.n, 2); /* the xy is the y */
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- sum ---------------------------------------------------------------------------------------------------- */

static const char BYTES_OUT[] = "rule r {\n"
                                "    where .kind == \"xfer\"\n"
                                "    sum .bytes >= 1000 within 1h by .user\n"
                                "    output \"{sum} bytes by {group} in {count}\"\n"
                                "}\n";

static void test_sum_of_bytes_out_per_user(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(BYTES_OUT, &c, 0);
    push_at(e, 0, "\"kind\":\"xfer\",\"user\":\"a\",\"bytes\":400");
    push_at(e, 1 * MIN, "\"kind\":\"xfer\",\"user\":\"b\",\"bytes\":900");
    push_at(e, 2 * MIN, "\"kind\":\"xfer\",\"user\":\"a\",\"bytes\":\"5000\""); /* not a number: ignored */
    push_at(e, 3 * MIN, "\"kind\":\"xfer\",\"user\":\"a\"");                    /* missing: ignored */
    push_at(e, 4 * MIN, "\"kind\":\"xfer\",\"user\":\"a\",\"bytes\":599.5");
    assert_int_equal(c.n, 0);
    push_at(e, 60 * MIN, "\"kind\":\"xfer\",\"user\":\"a\",\"bytes\":0.5"); /* 400 is still inside: inclusive */
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "1000 bytes by a in 3");
    assert_int_equal((int)num_field(&c, 0, "sum"), 1000);
    assert_int_equal((int)num_field(&c, 0, "count"), 3);
    /* the group starts again from zero; old values leave the window */
    push_at(e, 200 * MIN, "\"kind\":\"xfer\",\"user\":\"b\",\"bytes\":200");
    assert_int_equal(c.n, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_sum_strict_and_every_value_of_a_star_path(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule r { where .k == 1 sum .b[*] > 10 within 1m }\n", &c, 0);
    push_at(e, 0, "\"k\":1,\"b\":[4,6]");
    assert_int_equal(c.n, 0); /* 10 is not more than 10 */
    push_at(e, 1000, "\"k\":1,\"b\":[\"x\",0.5,null]");
    assert_int_equal(c.n, 1);
    assert_true(num_field(&c, 0, "sum") == 10.5);
    collected_free(&c);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counted_first_step),
        cmocka_unit_test(test_counted_step_window_is_inclusive),
        cmocka_unit_test(test_counted_step_whose_nth_match_arrives_late),
        cmocka_unit_test(test_counted_later_step_counts_only_after_the_step_before),
        cmocka_unit_test(test_a_count_rule_as_a_step_counts_by_its_own_keys),
        cmocka_unit_test(test_aggregation_rule_step_checks),
        cmocka_unit_test(test_per_step_keys_follow_one_address),
        cmocka_unit_test(test_one_event_in_two_groups),
        cmocka_unit_test(test_unordered_in_any_order),
        cmocka_unit_test(test_unordered_one_event_fills_one_step),
        cmocka_unit_test(test_sum_of_bytes_out_per_user),
        cmocka_unit_test(test_sum_strict_and_every_value_of_a_star_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
