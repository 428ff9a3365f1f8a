/* test_kafka_conf.c — the messages of a refused librdkafka property
 * (src/kafka/conf.c) name the property and librdkafka's reason but never
 * the value, which may be a password: not when librdkafka quotes it whole,
 * nor when it quotes it cut short (found by fuzz/fuzz_config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "util/kafka_conf.h"

/* sd_kafka_conf_new with one property; its error (the conf must be refused). */
static void refused(const char *name, const char *value, char *err, size_t errlen) {
    cJSON *props = cJSON_CreateObject();
    assert_non_null(cJSON_AddStringToObject(props, name, value));
    err[0] = '\0';
    rd_kafka_conf_t *conf = sd_kafka_conf_new("127.0.0.1:9092", props, NULL, err, errlen);
    cJSON_Delete(props);
    if (conf) rd_kafka_conf_destroy(conf);
    assert_null(conf);
}

static void test_a_quoted_value_is_replaced(void **state) {
    (void)state;
    char err[512];
    refused("security.protocol", "hunter2-pw", err, sizeof err);
    assert_string_equal(err, "properties.security.protocol: Invalid value \"(value)\" for configuration "
                             "property \"security.protocol\"");
}

static void test_a_number_out_of_range_is_not_repeated(void **state) {
    (void)state;
    char err[512];
    refused("session.timeout.ms", "99999999999", err, sizeof err);
    assert_non_null(strstr(err, "outside allowed range 1..3600000"));
    assert_null(strstr(err, "9999"));
}

static void test_a_long_value_cut_short_in_the_reason_is_not_quoted(void **state) {
    (void)state;
    /* librdkafka's reason holds at most 512 bytes: the value in it is cut,
     * so it cannot be found whole; " is " inside it once fooled the range rule. */
    char value[700];
    memset(value, '9', sizeof value);
    memcpy(value, "SASL_", 5);
    memcpy(value + 600, " is hunter2-secret SSL", 22);
    value[622] = '\0';
    char err[512];
    refused("security.protocol", value, err, sizeof err);
    assert_string_equal(err, "properties.security.protocol: invalid value");
    memset(value + 300, 'x', 1);
    memcpy(value + 200, " is hunter2", 11);
    refused("security.protocol", value, err, sizeof err);
    assert_null(strstr(err, "hunter2"));
    assert_null(strstr(err, "9999"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_quoted_value_is_replaced),
        cmocka_unit_test(test_a_number_out_of_range_is_not_repeated),
        cmocka_unit_test(test_a_long_value_cut_short_in_the_reason_is_not_quoted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
