/* test_nul.c — strings holding U+0000, from JSON to rules to alerts.
 *
 * An event string "x\u0000y" is three bytes, and every test a rule can make
 * sees all three, whichever way the event was read: by the one-pass scanner
 * (JSON lines), by the tree parser when the scanner leaves a line to it
 * (here: a number with a leading zero), or as a CloudTrail document (always
 * a tree). Alerts carry the string whole, escaped as \u0000. A raw control
 * character inside a string makes the event malformed, with a message that
 * says so, and the next event still runs. Before strings carried their
 * length, "x\u0000y" was "x" to every rule (an evasion: .a == "x" true,
 * .a contains "y" false).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "alert/alert.h"
#include "secdet.h"
#include "sink/format.h"
#include "util/buf.h"
#include "util/json.h"
#include "vm/vm.h"

#define MAX_ALERTS 64

typedef struct collected {
    size_t n;
    char *json[MAX_ALERTS];
    char *rule[MAX_ALERTS];
    char *message[MAX_ALERTS];
    size_t message_len[MAX_ALERTS];
    size_t nerrors;
    char *errors[8];
} collected;

static void on_alert(void *user, const secdet_alert *a) {
    collected *c = user;
    if (c->n == MAX_ALERTS) return;
    size_t len = 0;
    const char *json = secdet_alert_json(a, &len);
    c->json[c->n] = strndup(json, len);
    c->rule[c->n] = strdup(secdet_alert_rule(a));
    c->message_len[c->n] = secdet_alert_message_len(a);
    c->message[c->n] = malloc(c->message_len[c->n] + 1);
    memcpy(c->message[c->n], secdet_alert_message(a), c->message_len[c->n] + 1);
    c->n++;
}

static void on_error(void *user, const char *source, uint64_t where, const char *message) {
    (void)source;
    (void)where;
    collected *c = user;
    if (c->nerrors < 8) c->errors[c->nerrors] = strdup(message);
    c->nerrors++;
}

static void collected_reset(collected *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->json[i]);
        free(c->rule[i]);
        free(c->message[i]);
    }
    for (size_t i = 0; i < c->nerrors && i < 8; i++) free(c->errors[i]);
    memset(c, 0, sizeof *c);
}

static secdet_engine *engine_with(const char *rules, collected *c) {
    secdet_engine *e = NULL;
    secdet_engine_opts o;
    secdet_engine_opts_init(&o);
    o.lateness_ms = 0; /* correlate every event as it comes */
    assert_int_equal(secdet_engine_new(&o, &e), SECDET_OK);
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_load_rules_string(e, "nul.secdet", rules, strlen(rules), &d);
    for (size_t i = 0; st != SECDET_OK && i < secdet_diagnostics_count(d); i++) {
        char *s = secdet_diagnostics_format(d, i);
        fprintf(stderr, "%s\n", s);
        secdet_free(s);
    }
    assert_int_equal(st, SECDET_OK);
    secdet_diagnostics_free(d);
    memset(c, 0, sizeof *c);
    assert_int_equal(secdet_set_alert_callback(e, on_alert, c), SECDET_OK);
    assert_int_equal(secdet_set_error_callback(e, on_error, c), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "cloudtrail", &(secdet_source_opts){.format = SECDET_FMT_CLOUDTRAIL}),
                     SECDET_OK);
    return e;
}

static bool fired(const collected *c, const char *rule) {
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->rule[i], rule) == 0) return true;
    return false;
}

/* ---- every test of the language, on every way an event is read ----------- */

/* One rule per test; `yes` rules must fire on the event below, `no` rules
 * must not (each of those fired when the string was cut at its NUL). */
static const char RULES[] = "rule eq_prefix_no { where .a == \"x\" }\n"
                            "rule ne_prefix_yes { where .a != \"x\" }\n"
                            "rule contains_yes { where .a contains \"y\" }\n"
                            "rule endswith_yes { where .a endswith \"y\" }\n"
                            "rule startswith_yes { where .a startswith \"x\" }\n"
                            "rule like_yes { where .a like \"x*y\" }\n"
                            "rule like_prefix_no { where .a like \"x\" }\n"
                            "rule like_any3_yes { where .a like \"x?y\" }\n"
                            "rule in_no { where .a in [\"x\", \"z\"] }\n"
                            "rule len_yes { where len(.a) == 3 }\n"
                            "rule upper_yes { where upper(.a) endswith \"Y\" }\n"
                            "rule lower_no { where lower(.b) == \"q\" }\n"
                            "rule lower_yes { where lower(.b) endswith \"r\" }\n"
                            "rule coalesce_yes { where coalesce(.missing, .a) contains \"y\" }\n"
                            "rule regex_yes { where .a matches /y$/ }\n"
                            "rule regex_whole_no { where .a matches /^x$/ }\n"
                            "rule cidr_no { where .ip in cidr(\"10.0.0.0/8\") }\n"
                            "rule cidr_plain_yes { where .ip2 in cidr(\"10.0.0.0/8\") }\n"
                            "rule path_eq_no { where .a == .t }\n"
                            "rule object_eq_no { where .o == .p }\n"
                            "rule index_no { where .eventName == \"Console\" }\n"
                            "rule name_contains_yes { where .eventName contains \"Login\" }\n"
                            "rule key_no { where exists .k }\n"
                            "rule ordering_yes { where .a > \"x\" }\n"
                            "rule any_yes { where .l[*] == \"y\" or .l[*] contains \"y\" }\n";

static const char EVENT_FIELDS[] =
    "\"a\":\"x\\u0000y\",\"b\":\"Q\\u0000R\",\"ip\":\"10.0.0.1\\u0000evil\",\"ip2\":\"10.0.0.1\",\"t\":\"x\","
    "\"o\":{\"k\":\"x\\u0000y\"},\"p\":{\"k\":\"x\"},\"eventName\":\"Console\\u0000Login\","
    "\"k\\u0000z\":1,\"l\":[\"n\\u0000y\"]";

static void check_fired(const collected *c, const char *how) {
    static const char *const names[] = {
        "eq_prefix_no",   "ne_prefix_yes",     "contains_yes",   "endswith_yes", "startswith_yes",
        "like_yes",       "like_prefix_no",    "like_any3_yes",  "in_no",        "len_yes",
        "upper_yes",      "lower_no",          "lower_yes",      "coalesce_yes", "regex_yes",
        "regex_whole_no", "cidr_no",           "cidr_plain_yes", "path_eq_no",   "object_eq_no",
        "index_no",       "name_contains_yes", "key_no",         "ordering_yes", "any_yes",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        bool want = strstr(names[i], "_yes") != NULL;
        if (fired(c, names[i]) != want) fail_msg("%s: rule %s %s", how, names[i], want ? "did not fire" : "fired");
    }
}

/* The alert's event holds the string whole. */
static void check_event_json(const collected *c, const char *how) {
    for (size_t i = 0; i < c->n; i++) {
        if (!strstr(c->json[i], "\"a\":\"x\\u0000y\"") || !strstr(c->json[i], "\"k\\u0000z\":1"))
            fail_msg("%s: the alert's event is not whole: %s", how, c->json[i]);
        cJSON *j = sd_json_parse(c->json[i], strlen(c->json[i]), 0, NULL);
        assert_non_null(j);
        const cJSON *ev = cJSON_GetArrayItem(sd_json_member(j, "events"), 0);
        const cJSON *a = sd_json_member(ev, "a");
        assert_int_equal(sd_json_string_len(a), 3);
        assert_memory_equal(a->valuestring, "x\0y", 3);
        cJSON_Delete(j);
    }
}

static void test_every_test_sees_the_whole_string_on_the_scanner_path(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(RULES, &c);
    char line[1024];
    snprintf(line, sizeof line, "{%s}\n", EVENT_FIELDS);
    assert_int_equal(secdet_push(e, "jsonl", line, strlen(line)), SECDET_OK);
    check_fired(&c, "scanner");
    check_event_json(&c, "scanner");
    collected_reset(&c);
    secdet_engine_free(e);
}

static void test_every_test_sees_the_whole_string_on_the_tree_path(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(RULES, &c);
    char line[1024];
    snprintf(line, sizeof line, "{%s,\"pad\":01}\n", EVENT_FIELDS); /* 01: the scanner leaves it to the tree */
    assert_int_equal(secdet_push(e, "jsonl", line, strlen(line)), SECDET_OK);
    check_fired(&c, "tree fallback");
    check_event_json(&c, "tree fallback");
    collected_reset(&c);

    snprintf(line, sizeof line, "{\"Records\":[{%s}]}", EVENT_FIELDS);
    assert_int_equal(secdet_push(e, "cloudtrail", line, strlen(line)), SECDET_OK);
    assert_int_equal(secdet_source_end(e, "cloudtrail"), SECDET_OK);
    check_fired(&c, "cloudtrail");
    check_event_json(&c, "cloudtrail");
    collected_reset(&c);
    secdet_engine_free(e);
}

/* ---- group keys, distinct values, templates -------------------------------- */

static void test_group_keys_and_distinct_values_keep_the_nul(void **state) {
    (void)state;
    static const char rules[] = "rule by_a { where exists .a\n count >= 2 within 1h by .a\n"
                                "  output \"a={.a} group={group}\" }\n"
                                "rule distinct_a { where exists .a\n distinct .a >= 2 within 1h by .g }\n";
    for (int tree = 0; tree < 2; tree++) {
        collected c;
        secdet_engine *e = engine_with(rules, &c);
        const char *pad = tree ? ",\"pad\":01" : "";
        char in[512];
        snprintf(in, sizeof in,
                 "{\"a\":\"x\\u0000y\",\"g\":1%s}\n{\"a\":\"x\",\"g\":1%s}\n{\"a\":\"x\\u0000y\",\"g\":1%s}\n", pad,
                 pad, pad);
        assert_int_equal(secdet_push(e, "jsonl", in, strlen(in)), SECDET_OK);
        /* "x\0y" and "x" are two groups: only the third event completes one */
        assert_int_equal(c.n, 2);
        assert_true(fired(&c, "distinct_a")); /* two distinct values, on the second event */
        assert_string_equal(c.rule[0], "distinct_a");
        assert_string_equal(c.rule[1], "by_a");
        assert_non_null(strstr(c.json[1], "\"group\":{\".a\":\"x\\u0000y\"}"));
        assert_non_null(strstr(c.json[1], "\"message\":\"a=x\\u0000y group=x\\u0000y\""));
        assert_int_equal(c.message_len[1], strlen("a=x") + 1 + strlen("y group=x") + 1 + 1);
        assert_memory_equal(c.message[1], "a=x\0y group=x\0y", c.message_len[1]);
        assert_non_null(strstr(c.json[0], "\"distinct\":2"));
        collected_reset(&c);
        secdet_engine_free(e);
    }
}

/* ---- raw control characters ------------------------------------------------ */

static void test_raw_control_character_in_a_string_is_malformed_and_the_next_line_runs(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule any { where exists .a }\n", &c);
    static const char in[] =
        "{\"a\":\"x\0y\"}\n{\"a\":\"x\ty\"}\n{\"a\":\"ok\",\"b\":\"\x1f\"}\n{\"a\":\"x\\u0000y\"}\n";
    assert_int_equal(secdet_push(e, "jsonl", in, sizeof in - 1), SECDET_ERR_DECODE);
    assert_int_equal(c.nerrors, 3);
    assert_string_equal(c.errors[0], "line 1: control character U+0000 in a string at byte 8; it must be escaped");
    assert_string_equal(c.errors[1], "line 2: control character U+0009 in a string at byte 8; it must be escaped");
    assert_string_equal(c.errors[2], "line 3: control character U+001F in a string at byte 16; it must be escaped");
    assert_int_equal(c.n, 1); /* the last line, escaped, is fine */
    collected_reset(&c);

    /* A CloudTrail record is decoded as soon as it is complete, and one
     * that is malformed does not stop the others. */
    static const char doc[] = "{\"Records\":[{\"a\":\"x\ny\"},{\"a\":\"z\",\"eventTime\":\"2024-01-01T00:00:00Z\"}]}";
    assert_int_equal(secdet_push(e, "cloudtrail", doc, sizeof doc - 1), SECDET_ERR_DECODE);
    assert_int_equal(secdet_source_end(e, "cloudtrail"), SECDET_OK);
    assert_int_equal(c.nerrors, 1);
    assert_string_equal(c.errors[0], "record 1: control character U+000A in a string at byte 8; it must be escaped");
    assert_int_equal(c.n, 1);
    collected_reset(&c);
    secdet_engine_free(e);
}

/* ---- the alert writer, equality of trees, the sink formatters -------------- */

static void test_alert_json_of_a_tree_escapes_nul_in_values_and_keys(void **state) {
    (void)state;
    static const char text[] = "{\"a\\u0000b\":\"x\\u0000y\",\"c\":[\"\\u0000\"],\"\\u0001\":1}";
    cJSON *t = sd_json_parse(text, strlen(text), 0, NULL);
    assert_non_null(t);
    buf b;
    sd_buf_init(&b);
    sd_alert_json_write(&b, t);
    assert_string_equal(b.data, "{\"a\\u0000b\":\"x\\u0000y\",\"c\":[\"\\u0000\"],\"\\u0001\":1}");
    sd_buf_reset(&b);
    assert_int_equal(sd_alert_json_from_text(&b, text, strlen(text)), 0); /* the text path writes the same */
    assert_string_equal(b.data, "{\"a\\u0000b\":\"x\\u0000y\",\"c\":[\"\\u0000\"],\"\\u0001\":1}");
    sd_buf_free(&b);
    cJSON_Delete(t);
}

static void test_containers_differing_after_a_nul_are_not_equal(void **state) {
    (void)state;
    static const char *const pairs[][2] = {
        {"[\"x\\u0000y\"]", "[\"x\"]"},
        {"{\"k\":\"x\\u0000y\"}", "{\"k\":\"x\\u0000z\"}"},
        {"{\"k\\u0000a\":1}", "{\"k\":1}"},
        {"{\"k\\u0000a\":1}", "{\"k\\u0000b\":1}"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        cJSON *x = sd_json_parse(pairs[i][0], strlen(pairs[i][0]), 0, NULL);
        cJSON *y = sd_json_parse(pairs[i][1], strlen(pairs[i][1]), 0, NULL);
        cJSON *x2 = sd_json_parse(pairs[i][0], strlen(pairs[i][0]), 0, NULL);
        sd_value vx, vy, vx2;
        sd_value_from_json(x, &vx);
        sd_value_from_json(y, &vy);
        sd_value_from_json(x2, &vx2);
        if (sd_value_equal(&vx, &vy)) fail_msg("%s == %s", pairs[i][0], pairs[i][1]);
        if (!sd_value_equal(&vx, &vx2)) fail_msg("%s != itself", pairs[i][0]);
        cJSON_Delete(x);
        cJSON_Delete(y);
        cJSON_Delete(x2);
    }
}

static const char ALERT[] =
    "{\"rule\":\"r\",\"title\":\"T\",\"severity\":\"high\",\"tags\":[],\"time\":\"2024-01-01T00:00:00Z\","
    "\"source\":\"s\",\"message\":\"hidden\\u0000after\",\"group\":{},\"count\":1,\"id\":\"0123\","
    "\"events\":[{\"eventName\":\"Get\\u0000Object\",\"requestParameters\":{\"k\":\"v\\u0000w\"}}],\"meta\":{}}";

static void test_slack_and_syslog_show_what_follows_a_nul(void **state) {
    (void)state;
    buf out;
    sd_buf_init(&out);
    assert_int_equal(sd_syslog_format(&out, ALERT, strlen(ALERT), NULL), 0);
    assert_non_null(strstr(out.data, "T: hidden\\x00after"));
    assert_int_equal(strlen(out.data), out.len);
    sd_buf_reset(&out);
    assert_int_equal(sd_slack_format(&out, ALERT, strlen(ALERT), NULL), 0);
    assert_int_equal(strlen(out.data), out.len);
    assert_non_null(strstr(out.data, "hidden\\u0000after"));
    assert_non_null(strstr(out.data, "Get\\u0000Object"));
    assert_non_null(strstr(out.data, "v\\\\u0000w")); /* the code block's JSON, itself in a JSON string */
    sd_buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_test_sees_the_whole_string_on_the_scanner_path),
        cmocka_unit_test(test_every_test_sees_the_whole_string_on_the_tree_path),
        cmocka_unit_test(test_group_keys_and_distinct_values_keep_the_nul),
        cmocka_unit_test(test_raw_control_character_in_a_string_is_malformed_and_the_next_line_runs),
        cmocka_unit_test(test_alert_json_of_a_tree_escapes_nul_in_values_and_keys),
        cmocka_unit_test(test_containers_differing_after_a_nul_are_not_equal),
        cmocka_unit_test(test_slack_and_syslog_show_what_follows_a_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
