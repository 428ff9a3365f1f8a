/* test_format_fields.c — the alert's common fields (its "fields" object,
 * docs/log-types.md) in the syslog line: SD-PARAMs log_type, ip, user,
 * account, action, outcome, event_id for those it has, escaped as every
 * PARAM-VALUE; none without "fields". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/format.h"

static char *line_of(const char *alert) {
    buf b;
    sd_buf_init(&b);
    assert_int_equal(sd_syslog_format(&b, alert, strlen(alert), NULL), 0);
    return sd_buf_steal(&b);
}

static void test_okta_fields_are_sd_params(void **state) {
    (void)state;
    char *l = line_of("{\"rule\":\"r\",\"title\":\"T\",\"severity\":\"high\",\"time\":\"2020-11-25T21:27:03.496Z\","
                      "\"source\":\"okta\",\"fields\":{\"type\":\"okta\",\"time\":\"2020-11-25T21:27:03.496Z\","
                      "\"id\":\"u-1\",\"ip\":\"136.24.229.58\",\"user\":\"jack@acme.io\",\"action\":\"x.grant\","
                      "\"outcome\":\"SUC]CESS\"},\"message\":\"m\",\"id\":\"abc\",\"count\":1}");
    assert_non_null(strstr(l, " source=\"okta\" count=\"1\" log_type=\"okta\" ip=\"136.24.229.58\" "
                              "user=\"jack@acme.io\" action=\"x.grant\" outcome=\"SUC\\]CESS\" event_id=\"u-1\"] "));
    assert_null(strstr(l, "account=")); /* Okta has none */
    free(l);
}

static void test_no_fields_no_params(void **state) {
    (void)state;
    char *l = line_of("{\"rule\":\"r\",\"title\":\"T\",\"severity\":\"low\",\"time\":\"2024-01-01T00:00:00Z\","
                      "\"source\":\"app\",\"message\":\"m\",\"id\":\"abc\",\"count\":1}");
    assert_non_null(strstr(l, " count=\"1\"] "));
    assert_null(strstr(l, "log_type="));
    free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_okta_fields_are_sd_params),
        cmocka_unit_test(test_no_fields_no_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
