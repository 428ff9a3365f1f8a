/* test_digest_format.c — a digest of alerts (src/sink/format_digest.c): by
 * rule, loudest first, with counts, first/last time, highest severity, the
 * latest message and the top groups; the webhook body and the Slack
 * message, parsed back with cJSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/format.h"

#define N 7

static char alert_text[N][512];
static const char *alerts[N];
static size_t lens[N];

/* Five of rule "spray" (groups: 3 × ip 1, 1 × ip 2, 1 × ip 3; one critical),
 * one of "root" and one unreadable, out of time order. */
static void make_alerts(void) {
    static const struct {
        const char *rule, *sev, *time, *ip, *msg;
    } a[] = {
        {"spray", "low", "2024-03-14T10:00:05Z", "192.0.2.1", "spray 1"},
        {"root", "high", "2024-03-14T09:00:00Z", NULL, "root <!channel> used"},
        {"spray", "low", "2024-03-14T10:00:01Z", "192.0.2.2", "spray 2"},
        {"spray", "critical", "2024-03-14T10:00:09Z", "192.0.2.1", "spray 3"},
        {"spray", "low", "2024-03-14T10:00:03Z", "192.0.2.3", "spray 4"},
        {"spray", "low", "2024-03-14T10:00:04.5Z", "192.0.2.1", "spray 5"},
    };
    for (size_t i = 0; i < N - 1; i++) {
        char group[128] = "{}";
        if (a[i].ip) snprintf(group, sizeof group, "{\".sourceIPAddress\":\"%s\"}", a[i].ip);
        snprintf(alert_text[i], sizeof alert_text[i],
                 "{\"rule\":\"%s\",\"title\":\"Title of %s\",\"severity\":\"%s\",\"tags\":[],\"time\":\"%s\","
                 "\"source\":\"cloudtrail\",\"message\":\"%s\",\"group\":%s,\"count\":1,\"id\":\"id%zu\"}",
                 a[i].rule, a[i].rule, a[i].sev, a[i].time, a[i].msg, group, i);
    }
    snprintf(alert_text[N - 1], sizeof alert_text[N - 1], "{not json");
    for (size_t i = 0; i < N; i++) {
        alerts[i] = alert_text[i];
        lens[i] = strlen(alert_text[i]);
    }
}

static cJSON *item(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_non_null(v);
    return (cJSON *)v;
}

static void test_the_webhook_body_sums_up_by_rule_loudest_first(void **state) {
    (void)state;
    make_alerts();
    buf b;
    sd_buf_init(&b);
    digest_fmt_opts o = {.sink = "low-digest", .top_groups = 2};
    assert_int_equal(sd_digest_format_json(&b, alerts, lens, N, &o), 0);
    cJSON *d = cJSON_Parse(b.data);
    assert_non_null(d);
    assert_string_equal(item(d, "type")->valuestring, "digest");
    assert_string_equal(item(d, "sink")->valuestring, "low-digest");
    assert_int_equal(item(d, "alerts")->valueint, 6);
    assert_int_equal(item(d, "rules")->valueint, 2);
    assert_int_equal(item(d, "unreadable")->valueint, 1);
    assert_string_equal(item(d, "first_seen")->valuestring, "2024-03-14T09:00:00Z");
    assert_string_equal(item(d, "last_seen")->valuestring, "2024-03-14T10:00:09Z");
    cJSON *rules = item(d, "by_rule");
    assert_int_equal(cJSON_GetArraySize(rules), 2);
    cJSON *spray = cJSON_GetArrayItem(rules, 0);
    assert_string_equal(item(spray, "rule")->valuestring, "spray");
    assert_string_equal(item(spray, "title")->valuestring, "Title of spray");
    assert_string_equal(item(spray, "severity")->valuestring, "critical");
    assert_int_equal(item(spray, "count")->valueint, 5);
    assert_string_equal(item(spray, "first_seen")->valuestring, "2024-03-14T10:00:01Z");
    assert_string_equal(item(spray, "last_seen")->valuestring, "2024-03-14T10:00:09Z");
    assert_string_equal(item(spray, "message")->valuestring, "spray 3");
    cJSON *top = item(spray, "top_groups");
    assert_int_equal(cJSON_GetArraySize(top), 2);
    char *g0 = cJSON_PrintUnformatted(item(cJSON_GetArrayItem(top, 0), "group"));
    assert_string_equal(g0, "{\".sourceIPAddress\":\"192.0.2.1\"}");
    free(g0);
    assert_int_equal(item(cJSON_GetArrayItem(top, 0), "count")->valueint, 3);
    char *g1 = cJSON_PrintUnformatted(item(cJSON_GetArrayItem(top, 1), "group"));
    assert_string_equal(g1, "{\".sourceIPAddress\":\"192.0.2.2\"}"); /* tie with .3: the first seen */
    free(g1);
    char *ids = cJSON_PrintUnformatted(item(spray, "ids"));
    assert_string_equal(ids, "[\"id0\",\"id2\",\"id3\",\"id4\",\"id5\"]");
    free(ids);
    cJSON *root = cJSON_GetArrayItem(rules, 1);
    assert_string_equal(item(root, "rule")->valuestring, "root");
    assert_int_equal(item(root, "count")->valueint, 1);
    cJSON_Delete(d);
    sd_buf_free(&b);
}

static void test_the_slack_message_escapes_alert_data_and_caps_the_rules(void **state) {
    (void)state;
    make_alerts();
    buf b;
    sd_buf_init(&b);
    digest_fmt_opts o = {.sink = "low-digest", .max_rules = 1, .channel = "#soc"};
    assert_int_equal(sd_digest_format_slack(&b, alerts, lens, N, &o), 0);
    cJSON *m = cJSON_Parse(b.data);
    assert_non_null(m);
    assert_string_equal(item(m, "text")->valuestring, "secdet digest: 6 alerts, 2 rules");
    assert_string_equal(item(m, "channel")->valuestring, "#soc");
    cJSON *att = cJSON_GetArrayItem(item(m, "attachments"), 0);
    assert_string_equal(item(att, "color")->valuestring, "#8B0000"); /* the highest: critical */
    cJSON *blocks = item(att, "blocks");
    /* header, context, one rule (max_rules 1), then "and 1 more rule" */
    assert_int_equal(cJSON_GetArraySize(blocks), 4);
    const char *section = item(item(cJSON_GetArrayItem(blocks, 2), "text"), "text")->valuestring;
    assert_non_null(strstr(section, "*Title of spray*  `spray`  critical\n*5* alerts, 2024-03-14T10:00:01Z"));
    assert_non_null(strstr(section, "Top groups: `{\".sourceIPAddress\":\"192.0.2.1\"}` ×3"));
    const char *more =
        item(cJSON_GetArrayItem(item(cJSON_GetArrayItem(blocks, 3), "elements"), 0), "text")->valuestring;
    assert_string_equal(more, "and 1 more rule (1 alert)");
    cJSON_Delete(m);
    /* The root alert's message, with a ping in it, comes out escaped. */
    sd_buf_reset(&b);
    o.max_rules = 2;
    assert_int_equal(sd_digest_format_slack(&b, alerts, lens, N, &o), 0);
    assert_non_null(strstr(b.data, "root &lt;!channel&gt; used"));
    assert_null(strstr(b.data, "<!channel>"));
    sd_buf_free(&b);
}

static void test_no_readable_alert_still_gives_a_digest(void **state) {
    (void)state;
    const char *bad[] = {"[]"};
    size_t len[] = {2};
    buf b;
    sd_buf_init(&b);
    assert_int_equal(sd_digest_format_json(&b, bad, len, 1, NULL), 0);
    cJSON *d = cJSON_Parse(b.data);
    assert_non_null(d);
    assert_int_equal(item(d, "alerts")->valueint, 0);
    assert_int_equal(item(d, "unreadable")->valueint, 1);
    cJSON_Delete(d);
    sd_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_webhook_body_sums_up_by_rule_loudest_first),
        cmocka_unit_test(test_the_slack_message_escapes_alert_data_and_caps_the_rules),
        cmocka_unit_test(test_no_readable_alert_still_gives_a_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
