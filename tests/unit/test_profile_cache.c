/* test_profile_cache.c — `on NAME` after the program or the event's log type
 * changes.
 *
 * profile.c finds a source's program indexes (of its name and of its log
 * type) once per program and per log type seen, not by name per event. Each
 * test here changes what such a cached index means and checks the rules
 * still see the events they should: rules loaded again (the program's list
 * of source names is rebuilt, so "okta" moves to another index), and a
 * routing source (log type "auto") whose events alternate between two log
 * types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "secdet.h"

typedef struct seen {
    char rule[8][64];
    size_t n;
} seen;

static void on_alert(void *user, const secdet_alert *a) {
    seen *s = user;
    if (s->n < 8) snprintf(s->rule[s->n], sizeof s->rule[0], "%s", secdet_alert_rule(a));
    s->n++;
}

static void load(secdet_engine *e, const char *text) {
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_load_rules_string(e, "cache.secdet", text, strlen(text), &d);
    for (size_t i = 0; st != SECDET_OK && i < secdet_diagnostics_count(d); i++) {
        char *m = secdet_diagnostics_format(d, i);
        fprintf(stderr, "%s\n", m);
        secdet_free(m);
    }
    secdet_diagnostics_free(d);
    assert_int_equal(st, SECDET_OK);
}

static const char okta_event[] = "{\"eventType\":\"user.session.start\",\"published\":\"2026-01-01T00:00:00Z\","
                                 "\"actor\":{\"id\":\"u1\"},\"outcome\":{\"result\":\"SUCCESS\"}}\n";
static const char ct_event[] = "{\"eventVersion\":\"1.08\",\"eventSource\":\"iam.amazonaws.com\",\"eventName\":"
                               "\"CreateUser\",\"eventTime\":\"2026-01-01T00:00:00Z\",\"awsRegion\":\"us-east-1\"}\n";

static void push(secdet_engine *e, const char *source, const char *text) {
    assert_int_equal(secdet_push(e, source, text, strlen(text)), SECDET_OK);
    assert_int_equal(secdet_source_end(e, source), SECDET_OK);
}

/* A source of log type okta under a name of its own: `on okta` holds by its
 * log type's index, which the second load moves. */
static void test_log_type_index_follows_a_new_program(void **st) {
    (void)st;
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    seen s = {0};
    assert_int_equal(secdet_set_alert_callback(e, on_alert, &s), SECDET_OK);
    secdet_source_opts o = {.format = SECDET_FMT_JSONL, .log_type = "okta"};
    assert_int_equal(secdet_source_add(e, "idp", &o), SECDET_OK);
    load(e, "rule first { on okta where .eventType == \"user.session.start\" }\n");
    push(e, "idp", okta_event);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.rule[0], "first");
    /* Sources named before okta now: okta's index in the program changes. */
    load(e, "rule a1 { on cloudtrail where .eventName == \"x\" }\n"
            "rule a2 { on gcp-audit where .x == \"x\" }\n"
            "rule second { on okta where .eventType == \"user.session.start\" }\n");
    s.n = 0;
    push(e, "idp", okta_event);
    assert_int_equal(s.n, 2); /* first and second, and no rule of another source */
    assert_true((strcmp(s.rule[0], "first") == 0 && strcmp(s.rule[1], "second") == 0) ||
                (strcmp(s.rule[1], "first") == 0 && strcmp(s.rule[0], "second") == 0));
    secdet_engine_free(e);
}

/* One routing source, events of two log types in turn: each event is seen
 * by the rules of its own log type only. */
static void test_routing_source_alternating_log_types(void **st) {
    (void)st;
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    seen s = {0};
    assert_int_equal(secdet_set_alert_callback(e, on_alert, &s), SECDET_OK);
    secdet_source_opts o = {.format = SECDET_FMT_AUTO, .log_type = "auto"};
    assert_int_equal(secdet_source_add(e, "any", &o), SECDET_OK);
    load(e, "rule ct { on cloudtrail where .eventName == \"CreateUser\" }\n"
            "rule ok { on okta where .eventType == \"user.session.start\" }\n"
            "rule ct_any { on cloudtrail where .eventType == \"user.session.start\" }\n"
            "rule ok_any { on okta where .eventName == \"CreateUser\" }\n");
    for (int round = 0; round < 3; round++) {
        s.n = 0;
        push(e, "any", okta_event);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.rule[0], "ok");
        s.n = 0;
        push(e, "any", ct_event);
        assert_int_equal(s.n, 1);
        assert_string_equal(s.rule[0], "ct");
    }
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_type_index_follows_a_new_program),
        cmocka_unit_test(test_routing_source_alternating_log_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
