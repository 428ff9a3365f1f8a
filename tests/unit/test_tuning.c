/* test_tuning.c — LANGUAGE.md Part 2 "Severity, exceptions and tuning" through
 * the public API: `tune`, `except ... until ... "reason"`, `disable`, a
 * rule's `severity { LEVEL when C }`, and what a tune that names no rule or
 * is written wrong is told (include/secdet.h only, plus cJSON to read
 * alerts). Tuning across a reload, the per-rule figures and the explanation
 * are test_tuning_reload.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_tuning_util.h"

/* Compiles text (must fail or warn as asked) and returns its formatted diagnostics, one a line. */
static char *diagnostics_of(const char *text, secdet_status want) {
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_load_rules_string(e, "t.secdet", text, strlen(text), &d), want);
    size_t cap = 4096, len = 0;
    char *out = calloc(1, cap);
    for (size_t i = 0; i < secdet_diagnostics_count(d); i++) {
        char *s = secdet_diagnostics_format(d, i);
        len += (size_t)snprintf(out + len, cap - len, "%s\n", s);
        secdet_free(s);
    }
    secdet_diagnostics_free(d);
    secdet_engine_free(e);
    return out;
}

static const char ROOT_RULE[] = "rule root_login {\n"
                                "    meta { severity = high }\n"
                                "    where .eventName == \"ConsoleLogin\" and .type == \"Root\"\n"
                                "    output \"root from {.ip}\"\n"
                                "}\n";

/* ---- except ------------------------------------------------------------------------ */

static void test_an_except_removes_the_alert_it_holds_for_and_nothing_else(void **state) {
    (void)state;
    got g = {0};
    const char *files[] = {"pack.secdet", ROOT_RULE, "local.secdet",
                           "tune root_login {\n"
                           "    except .ip in cidr(\"192.0.2.0/24\") \"break-glass drill\"\n"
                           "}\n"};
    secdet_engine *e = engine_files(files, 2, &g);
    push(e, "{\"eventTime\":\"2024-03-14T10:00:00Z\",\"eventName\":\"ConsoleLogin\",\"type\":\"Root\",\"ip\":\"192.0.2."
            "7\"}\n"
            "{\"eventTime\":\"2024-03-14T10:00:01Z\",\"eventName\":\"ConsoleLogin\",\"type\":\"Root\",\"ip\":\"198.51."
            "100.9\"}\n"
            "{\"eventTime\":\"2024-03-14T10:00:02Z\",\"eventName\":\"ConsoleLogin\",\"type\":\"Root\",\"ip\":\"192.0.2."
            "8\"}\n");
    assert_int_equal(g.n, 1);
    assert_string_equal(g.message[0], "root from 198.51.100.9");
    secdet_rule_stats st = stats_of(e, "root_login");
    assert_int_equal(st.alerts, 1);
    assert_int_equal(st.excepted, 2);
    assert_int_equal(st.nexcepts, 1);
    secdet_rule_except x;
    assert_int_equal(secdet_rule_except_get(e, rule_index(e, "root_login"), 0, &x), SECDET_OK);
    assert_string_equal(x.file, "local.secdet");
    assert_int_equal(x.line, 2);
    assert_int_equal(x.column, 5);
    assert_string_equal(x.condition, ".ip in cidr(\"192.0.2.0/24\")");
    assert_string_equal(x.reason, "break-glass drill");
    assert_string_equal(x.until, "");
    assert_int_equal(x.until_ns, INT64_MAX);
    assert_int_equal(x.excepted, 2);
    assert_int_equal(secdet_rule_except_get(e, rule_index(e, "root_login"), 1, &x), SECDET_ERR_INVALID_ARG);
    secdet_engine_free(e);
    got_free(&g);
}

static void test_an_except_covers_events_up_to_the_end_of_its_date_and_not_after(void **state) {
    (void)state;
    got g = {0};
    const char *files[] = {"pack.secdet", ROOT_RULE, "local.secdet",
                           "tune root_login { except .ip == \"192.0.2.7\" until 2027-01-31 }\n"};
    secdet_engine *e = engine_files(files, 2, &g);
    push(e, "{\"eventTime\":\"2027-01-31T23:59:59.999Z\",\"eventName\":\"ConsoleLogin\",\"type\":\"Root\","
            "\"ip\":\"192.0.2.7\"}\n"
            "{\"eventTime\":\"2027-02-01T00:00:00Z\",\"eventName\":\"ConsoleLogin\",\"type\":\"Root\",\"ip\":\"192.0.2."
            "7\"}\n");
    assert_int_equal(g.n, 1);
    assert_string_equal(g.message[0], "root from 192.0.2.7");
    secdet_rule_except x;
    assert_int_equal(secdet_rule_except_get(e, 0, 0, &x), SECDET_OK);
    assert_string_equal(x.until, "2027-01-31");
    assert_int_equal(x.until_ns, INT64_C(1801440000) * 1000000000); /* 2027-02-01T00:00:00Z */
    assert_int_equal(x.excepted, 1);
    secdet_engine_free(e);
    got_free(&g);
}

static void test_excepts_of_several_tunes_all_apply_and_the_first_that_holds_is_counted(void **state) {
    (void)state;
    got g = {0};
    const char *files[] = {
        "pack.secdet", ROOT_RULE,
        "a.secdet",    "tune root_login { except .ip startswith \"192.0.2.\" }\n",
        "b.secdet",    "tune root_login {\n    except .ip == \"192.0.2.7\"; except .ip == \"203.0.113.5\"\n}\n"};
    secdet_engine *e = engine_files(files, 3, &g);
    push(e, "{\"eventName\":\"ConsoleLogin\",\"type\":\"Root\",\"ip\":\"192.0.2.7\"}\n"
            "{\"eventName\":\"ConsoleLogin\",\"type\":\"Root\",\"ip\":\"203.0.113.5\"}\n"
            "{\"eventName\":\"ConsoleLogin\",\"type\":\"Root\",\"ip\":\"203.0.113.6\"}\n");
    assert_int_equal(g.n, 1);
    size_t r = rule_index(e, "root_login");
    secdet_rule_except x;
    uint64_t want[] = {1, 0, 1};
    const char *file[] = {"a.secdet", "b.secdet", "b.secdet"};
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(secdet_rule_except_get(e, r, k, &x), SECDET_OK);
        assert_string_equal(x.file, file[k]);
        assert_int_equal(x.excepted, want[k]);
    }
    assert_int_equal(stats_of(e, "root_login").excepted, 2);
    secdet_engine_free(e);
    got_free(&g);
}

/* Falco and Sigma filters work on events: an excepted event is not counted
 * by an aggregation either. */
static void test_an_excepted_event_does_not_enter_a_count_rule(void **state) {
    (void)state;
    got g = {0};
    secdet_engine *e = engine_with("rule burst {\n"
                                   "    where .eventName == \"Fail\"\n"
                                   "    count >= 3 within 10m by .user\n"
                                   "}\n"
                                   "tune burst { except .ip == \"10.0.0.1\" \"the scanner\" }\n",
                                   &g);
    push(e, "{\"eventTime\":\"2024-03-14T10:00:00Z\",\"eventName\":\"Fail\",\"user\":\"u\",\"ip\":\"10.0.0.1\"}\n"
            "{\"eventTime\":\"2024-03-14T10:00:01Z\",\"eventName\":\"Fail\",\"user\":\"u\",\"ip\":\"10.0.0.2\"}\n"
            "{\"eventTime\":\"2024-03-14T10:00:02Z\",\"eventName\":\"Fail\",\"user\":\"u\",\"ip\":\"10.0.0.3\"}\n");
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(g.n, 0);
    push(e, "{\"eventTime\":\"2024-03-14T10:00:03Z\",\"eventName\":\"Fail\",\"user\":\"u\",\"ip\":\"10.0.0.4\"}\n");
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.count[0], 3);
    secdet_rule_stats st = stats_of(e, "burst");
    assert_int_equal(st.excepted, 1);
    assert_int_equal(st.alerts, 1);
    secdet_engine_free(e);
    got_free(&g);
}

static void test_an_except_applies_to_every_step_of_a_sequence(void **state) {
    (void)state;
    got g = {0};
    secdet_engine *e =
        engine_with("rule seq {\n"
                    "    sequence within 1h by .user { a: .eventName == \"A\"; b: .eventName == \"B\" }\n"
                    "}\n"
                    "tune seq { except .lab == true }\n",
                    &g);
    push(e, "{\"eventTime\":\"2024-03-14T10:00:00Z\",\"eventName\":\"A\",\"user\":\"u\"}\n"
            "{\"eventTime\":\"2024-03-14T10:00:01Z\",\"eventName\":\"B\",\"user\":\"u\",\"lab\":true}\n"
            "{\"eventTime\":\"2024-03-14T10:00:02Z\",\"eventName\":\"A\",\"user\":\"v\",\"lab\":true}\n"
            "{\"eventTime\":\"2024-03-14T10:00:03Z\",\"eventName\":\"B\",\"user\":\"v\"}\n");
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(g.n, 0);
    push(e, "{\"eventTime\":\"2024-03-14T10:00:04Z\",\"eventName\":\"B\",\"user\":\"u\"}\n");
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(stats_of(e, "seq").excepted, 2);
    secdet_engine_free(e);
    got_free(&g);
}

/* ---- severity ----------------------------------------------------------------------- */

static void test_the_first_severity_case_that_holds_gives_the_severity_else_meta(void **state) {
    (void)state;
    got g = {0};
    secdet_engine *e = engine_with("rule r {\n"
                                   "    meta { severity = low }\n"
                                   "    where .eventName == \"X\"\n"
                                   "    severity { critical when .n > 10; high when .n > 5; high when .n > 0 }\n"
                                   "    output \"{severity} {.n}\"\n"
                                   "}\n",
                                   &g);
    push(e, "{\"eventName\":\"X\",\"n\":11}\n{\"eventName\":\"X\",\"n\":6}\n{\"eventName\":\"X\",\"n\":0}\n");
    assert_int_equal(g.n, 3);
    assert_string_equal(g.severity[0], "critical");
    assert_int_equal(g.level[0], SECDET_SEVERITY_CRITICAL);
    assert_string_equal(g.message[0], "critical 11");
    assert_string_equal(g.severity[1], "high");
    assert_string_equal(g.severity[2], "low");
    assert_int_equal(g.level[2], SECDET_SEVERITY_LOW);
    assert_string_equal(g.message[2], "low 0");
    secdet_engine_free(e);
    got_free(&g);
}

static void test_an_aggregation_takes_its_severity_from_the_firing_event(void **state) {
    (void)state;
    got g = {0};
    secdet_engine *e = engine_with("rule r {\n"
                                   "    where .eventName == \"X\"\n"
                                   "    severity { critical when .admin == true }\n"
                                   "    count >= 2 within 1h by .user\n"
                                   "    output \"{severity} {.n}\"\n"
                                   "}\n",
                                   &g);
    push(e, "{\"eventTime\":\"2024-03-14T10:00:00Z\",\"eventName\":\"X\",\"user\":\"a\",\"n\":1,\"admin\":true}\n"
            "{\"eventTime\":\"2024-03-14T10:00:01Z\",\"eventName\":\"X\",\"user\":\"a\",\"n\":2}\n"
            "{\"eventTime\":\"2024-03-14T10:00:02Z\",\"eventName\":\"X\",\"user\":\"b\",\"n\":3}\n"
            "{\"eventTime\":\"2024-03-14T10:00:03Z\",\"eventName\":\"X\",\"user\":\"b\",\"n\":4,\"admin\":true}\n");
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.severity[0], "medium"); /* fired by n=2, no case holds */
    assert_string_equal(g.message[0], "medium 2");
    assert_string_equal(g.severity[1], "critical");
    assert_string_equal(g.message[1], "critical 4");
    secdet_engine_free(e);
    got_free(&g);
}

static void test_a_tunes_severity_replaces_the_rules_and_its_cases(void **state) {
    (void)state;
    got g = {0};
    static const char pack[] = "rule r { meta { severity = high } where .eventName == \"X\" "
                               "severity { critical when .n == 1 } }\n";
    const char *files[] = {"pack.secdet", pack, "local.secdet", "tune r { severity = low }\n"};
    secdet_engine *e = engine_files(files, 2, &g);
    push(e, "{\"eventName\":\"X\",\"n\":1}\n{\"eventName\":\"X\",\"n\":2}\n");
    assert_int_equal(g.n, 2);
    assert_string_equal(g.severity[0], "low");
    assert_string_equal(g.severity[1], "low");
    secdet_rule_info info;
    assert_int_equal(secdet_rule_get(e, 0, &info), SECDET_OK);
    assert_int_equal(info.severity, SECDET_SEVERITY_LOW);
    secdet_engine_free(e);
    got_free(&g);
}

static void test_tunes_apply_in_file_order_and_the_last_setting_wins(void **state) {
    (void)state;
    got g = {0};
    const char *files[] = {"pack.secdet", "rule r { where .eventName == \"X\" output \"pack\" }\n",
                           "a.secdet",    "tune r { severity = low; output \"a {.n}\" }\n",
                           "b.secdet",    "tune r* { severity = critical }\n"};
    secdet_engine *e = engine_files(files, 3, &g);
    push(e, "{\"eventName\":\"X\",\"n\":1}\n");
    assert_int_equal(g.n, 1);
    assert_string_equal(g.severity[0], "critical");
    assert_string_equal(g.message[0], "a 1");
    secdet_engine_free(e);
    got_free(&g);
}

/* ---- throttle and output --------------------------------------------------------------- */

static void test_a_tunes_throttle_and_output_work_as_if_the_rule_said_them(void **state) {
    (void)state;
    got g = {0};
    const char *files[] = {"pack.secdet", "rule r { where .eventName == \"X\" }\n", "local.secdet",
                           "tune r {\n    throttle 1h by .user\n    output \"{.user}: {.n}\"\n}\n"};
    secdet_engine *e = engine_files(files, 2, &g);
    push(e, "{\"eventTime\":\"2024-03-14T10:00:00Z\",\"eventName\":\"X\",\"user\":\"a\",\"n\":1}\n"
            "{\"eventTime\":\"2024-03-14T10:10:00Z\",\"eventName\":\"X\",\"user\":\"a\",\"n\":2}\n"
            "{\"eventTime\":\"2024-03-14T10:20:00Z\",\"eventName\":\"X\",\"user\":\"b\",\"n\":3}\n");
    assert_int_equal(g.n, 2);
    assert_string_equal(g.message[0], "a: 1");
    assert_string_equal(g.group[0], "{\".user\":\"a\"}");
    assert_string_equal(g.message[1], "b: 3");
    secdet_rule_stats st = stats_of(e, "r");
    assert_int_equal(st.alerts, 2);
    assert_int_equal(st.suppressed, 1);
    secdet_engine_free(e);
    got_free(&g);
}

/* ---- disable ---------------------------------------------------------------------------- */

static void test_disable_by_glob_silences_the_rules_it_matches_only(void **state) {
    (void)state;
    got g = {0};
    const char *files[] = {"pack.secdet",
                           "rule cis_4_1_a { where .eventName == \"X\" }\n"
                           "rule cis_4_1_b { where .eventName == \"X\" count >= 1 within 1m }\n"
                           "rule cis_4_2 { where .eventName == \"X\" }\n"
                           "rule uses_a { where cis_4_1_a and .n == 1 }\n",
                           "local.secdet", "disable cis_4_1_* \"GuardDuty covers these\"\n"};
    secdet_engine *e = engine_files(files, 2, &g);
    push(e, "{\"eventTime\":\"2024-03-14T10:00:00Z\",\"eventName\":\"X\",\"n\":1}\n");
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.rule[0], "cis_4_2");
    assert_string_equal(g.rule[1], "uses_a"); /* a disabled rule still stands in conditions */
    assert_int_equal(stats_of(e, "cis_4_1_a").disabled, 1);
    assert_int_equal(stats_of(e, "cis_4_1_b").disabled, 1);
    assert_int_equal(stats_of(e, "cis_4_2").disabled, 0);
    secdet_engine_free(e);
    got_free(&g);
}

/* ---- diagnostics ----------------------------------------------------------------------- */

static void test_a_tune_or_disable_naming_no_rule_is_an_error(void **state) {
    (void)state;
    char *d = diagnostics_of("rule root_login { where .a == 1 }\n"
                             "tune root_logn { severity = low }\n"
                             "disable nothing\n",
                             SECDET_ERR_RULES);
    assert_string_equal(d, "t.secdet:2:6: tune 'root_logn' names no rule (did you mean 'root_login'?)\n"
                           "t.secdet:3:9: disable 'nothing' names no rule\n");
    free(d);
}

static void test_a_glob_naming_no_rule_is_a_warning(void **state) {
    (void)state;
    char *d = diagnostics_of("rule a { where .a == 1 }\n"
                             "rule p { where .a == 2 private }\n"
                             "rule q { where p }\n"
                             "disable old_*\n"
                             "tune p* { severity = low }\n",
                             SECDET_OK);
    assert_string_equal(d, "t.secdet:4:9: warning: disable 'old_*' matches no rule that alerts\n"
                           "t.secdet:5:6: warning: tune 'p*' matches no rule that alerts\n");
    free(d);
}

static void test_tune_errors_say_where_and_what_was_expected(void **state) {
    (void)state;
    char *d = diagnostics_of("rule a { where .a == 1 }\n"
                             "tune a {\n"
                             "    except .x == 1 until 2027-02-30\n"
                             "}\n"
                             "tune a {\n"
                             "    exept .y == 2\n"
                             "}\n"
                             "tune a { throttle 0s }\n"
                             "tune a { severity = hgh }\n"
                             "tune a { severity = low; severity = high }\n"
                             "rule tune { where .a == 1 }\n"
                             "rule b { where .a == 1 severity { urgent when .b == 1 } }\n"
                             "disable a b\n",
                             SECDET_ERR_RULES);
    assert_string_equal(
        d, "t.secdet:3:26: expected a date YYYY-MM-DD (like 2027-01-31) after 'until', found '2027-02-30'\n"
           "t.secdet:6:5: expected a tune item (except, severity, throttle, output) or '}' after '{', found 'exept' "
           "(did you mean 'except'?)\n"
           "t.secdet:8:10: 'throttle' needs a positive duration\n"
           "t.secdet:9:21: expected a severity (info, low, medium, high, critical) after '=', found 'hgh' (did you "
           "mean 'high'?)\n"
           "t.secdet:10:26: duplicate 'severity' in tune 'a' (first at 10:10)\n"
           "t.secdet:11:6: 'tune' is a keyword and cannot name a rule\n"
           "t.secdet:12:35: expected a severity (info, low, medium, high, critical) after '{', found 'urgent'\n"
           "t.secdet:13:11: expected a reason string or the next declaration after 'a', found 'b'\n");
    free(d);
}

static void test_a_macro_used_only_in_an_except_counts_as_used(void **state) {
    (void)state;
    char *d = diagnostics_of("macro lab = .account == \"111\"\n"
                             "rule a { where .a == 1 }\n"
                             "tune a { except lab }\n",
                             SECDET_OK);
    assert_string_equal(d, "");
    free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_except_removes_the_alert_it_holds_for_and_nothing_else),
        cmocka_unit_test(test_an_except_covers_events_up_to_the_end_of_its_date_and_not_after),
        cmocka_unit_test(test_excepts_of_several_tunes_all_apply_and_the_first_that_holds_is_counted),
        cmocka_unit_test(test_an_excepted_event_does_not_enter_a_count_rule),
        cmocka_unit_test(test_an_except_applies_to_every_step_of_a_sequence),
        cmocka_unit_test(test_the_first_severity_case_that_holds_gives_the_severity_else_meta),
        cmocka_unit_test(test_an_aggregation_takes_its_severity_from_the_firing_event),
        cmocka_unit_test(test_a_tunes_severity_replaces_the_rules_and_its_cases),
        cmocka_unit_test(test_tunes_apply_in_file_order_and_the_last_setting_wins),
        cmocka_unit_test(test_a_tunes_throttle_and_output_work_as_if_the_rule_said_them),
        cmocka_unit_test(test_disable_by_glob_silences_the_rules_it_matches_only),
        cmocka_unit_test(test_a_tune_or_disable_naming_no_rule_is_an_error),
        cmocka_unit_test(test_a_glob_naming_no_rule_is_a_warning),
        cmocka_unit_test(test_tune_errors_say_where_and_what_was_expected),
        cmocka_unit_test(test_a_macro_used_only_in_an_except_counts_as_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
