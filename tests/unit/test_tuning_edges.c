/* test_tuning_edges.c — the tuning grammar at its edges, each found by
 * fuzz_compile (fuzz/corpus/compile/regress-tune-*): a duplicate tune item
 * that starts a line, and an `until` date past what int64 nanoseconds can
 * say (2262-04-11). Through the public API only (include/secdet.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secdet.h"

static size_t alerts;

static void on_alert(void *user, const secdet_alert *a) {
    (void)user;
    (void)a;
    alerts++;
}

/* Loads text into a new engine; returns the status and the diagnostics, one a line, in *diags. */
static secdet_status load(secdet_engine **e, const char *text, char *diags, size_t cap) {
    assert_int_equal(secdet_engine_new(NULL, e), SECDET_OK);
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_load_rules_string(*e, "t.secdet", text, strlen(text), &d);
    size_t len = 0;
    diags[0] = 0;
    for (size_t i = 0; i < secdet_diagnostics_count(d); i++) {
        char *s = secdet_diagnostics_format(d, i);
        len += (size_t)snprintf(diags + len, cap - len, "%s\n", s);
        secdet_free(s);
    }
    secdet_diagnostics_free(d);
    return st;
}

static void test_a_duplicate_item_starting_a_line_is_reported_once_not_for_ever(void **state) {
    (void)state;
    /* The parser used to stop at the duplicate keyword, resynchronise to
     * it (an item keyword starting a line) and read it again, for ever.
     * The alarm turns such a loop into a failure of this test. */
    alarm(60);
    secdet_engine *e = NULL;
    char d[2048];
    secdet_status st = load(&e,
                            "rule a { where .a == 1 }\n"
                            "tune a {\n"
                            "    severity = low\n"
                            "    severity = high\n"
                            "    throttle 1m\n"
                            "    throttle 2m\n"
                            "    output \"{rule}\"\n"
                            "    output\n"
                            "}\n"
                            "tune a { except .b == 1 }\n",
                            d, sizeof d);
    alarm(0);
    assert_int_equal(st, SECDET_ERR_RULES);
    assert_string_equal(d, "t.secdet:4:5: duplicate 'severity' in tune 'a' (first at 3:5)\n"
                           "t.secdet:6:5: duplicate 'throttle' in tune 'a' (first at 5:5)\n"
                           "t.secdet:8:5: duplicate 'output' in tune 'a' (first at 7:5)\n");
    secdet_engine_free(e);
}

static void test_an_until_date_past_2262_never_expires(void **state) {
    (void)state;
    secdet_engine *e = NULL;
    char d[2048];
    assert_int_equal(load(&e,
                          "rule a { where .a == 1 }\n"
                          "rule b { where .a == 1 }\n"
                          "tune a { except .ip == \"192.0.2.7\" until 9977-01-31 \"far\" }\n"
                          "tune b { except .ip == \"192.0.2.7\" until \"9999-12-31\" }\n",
                          d, sizeof d),
                     SECDET_OK);
    assert_string_equal(d, "");
    for (size_t i = 0; i < 2; i++) {
        secdet_rule_except x;
        assert_int_equal(secdet_rule_except_get(e, i, 0, &x), SECDET_OK);
        assert_string_equal(x.until, i == 0 ? "9977-01-31" : "9999-12-31");
        assert_int_equal(x.until_ns, INT64_MAX);
    }
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    secdet_set_alert_callback(e, on_alert, NULL);
    alerts = 0;
    const char *lines = "{\"eventTime\":\"2024-03-14T10:00:00Z\",\"a\":1,\"ip\":\"192.0.2.7\"}\n"
                        "{\"eventTime\":\"2261-12-31T23:59:59Z\",\"a\":1,\"ip\":\"192.0.2.7\"}\n"
                        "{\"eventTime\":\"2024-03-14T10:00:00Z\",\"a\":1,\"ip\":\"198.51.100.9\"}\n";
    assert_int_equal(secdet_push(e, "jsonl", lines, strlen(lines)), SECDET_OK);
    assert_int_equal(secdet_source_end(e, "jsonl"), SECDET_OK);
    assert_int_equal(alerts, 2); /* a and b for 198.51.100.9 only */
    for (size_t i = 0; i < 2; i++) {
        secdet_rule_stats st;
        assert_int_equal(secdet_rule_stats_get(e, i, &st), SECDET_OK);
        assert_int_equal(st.excepted, 2);
        assert_int_equal(st.alerts, 1);
    }
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_duplicate_item_starting_a_line_is_reported_once_not_for_ever),
        cmocka_unit_test(test_an_until_date_past_2262_never_expires),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
