/* test_alert_fields_scan.c — an alert of a text-backed event is built from
 * the one scan of its text: its common fields (the alert's "fields": id, ip,
 * user, account, action, outcome) come from the scan plan, not from a cJSON
 * parse of the whole event.
 *
 * Those fields were planned only when a rule read them, so every alert of a
 * rule that did not (most rules) parsed its event again with cJSON — a sixth of
 * `secdet scan` with the CIS pack (issue 22). The engine's event keeps the
 * tree it parses (owned_root); after an alert it must have none, and the
 * alert must still carry the fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "secdet.h"

typedef struct seen {
    int alerts;
    char fields[512];
} seen;

static void on_alert(void *user, const secdet_alert *a) {
    seen *s = user;
    s->alerts++;
    const char *json = a->json, *f = strstr(json, "\"fields\":");
    if (f) snprintf(s->fields, sizeof s->fields, "%.*s", (int)strcspn(f, "}") + 1, f);
}

static void test_an_alert_does_not_parse_its_event_again(void **state) {
    (void)state;
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    static const char rules[] = "rule delete_trail {\n"
                                "    meta { severity = high }\n"
                                "    on cloudtrail\n"
                                "    where .eventName == \"DeleteTrail\"\n"
                                "}\n";
    assert_int_equal(secdet_load_rules_string(e, "t.secdet", rules, strlen(rules), NULL), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "cloudtrail", &(secdet_source_opts){.format = SECDET_FMT_CLOUDTRAIL}),
                     SECDET_OK);
    seen s = {0};
    assert_int_equal(secdet_set_alert_callback(e, on_alert, &s), SECDET_OK);
    static const char line[] =
        "{\"Records\":[{\"eventTime\":\"2024-03-01T10:00:00Z\",\"eventSource\":\"cloudtrail.amazonaws.com\","
        "\"eventName\":\"DeleteTrail\",\"eventID\":\"e-1\",\"sourceIPAddress\":\"203.0.113.9\","
        "\"recipientAccountId\":\"123456789012\",\"userIdentity\":{\"arn\":\"arn:aws:iam::123456789012:user/"
        "alice\"}}]}\n";
    assert_int_equal(secdet_push(e, "cloudtrail", line, strlen(line)), SECDET_OK);
    assert_int_equal(s.alerts, 1);
    assert_non_null(e->rs);
    assert_true(e->rs->ev.text_mode);
    assert_null(e->rs->ev.owned_root); /* no cJSON tree of the event was made */
    assert_non_null(strstr(s.fields, "203.0.113.9"));
    assert_non_null(strstr(s.fields, "123456789012"));
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_alert_does_not_parse_its_event_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
