/* test_alert.c — the alert stage: JSON shape, group, id, event serialisation.
 *
 * Programs are filled by hand here (no compiler needed): one rule, its meta,
 * its throttle keys, and the path table its template reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "event/time.h"

typedef struct fixture {
    program prog;
    vm_rule rule;
    meta_kv meta[4];
    char *tags[2];
    sd_path paths[2];
    sd_event ev;
    alert_ctx ac;
    cJSON *event;
    rule_key keys[2];
    sd_values key_vals[2];
    sd_value key_one[2];
} fixture;

static const char *const EVENT =
    "{\"eventName\":\"ConsoleLogin\",\"n\":5,\"f\":1.5,\"u\":\"caf\xC3\xA9 \\\"q\\\"\\n\",\"arr\":[1,null,true],"
    "\"obj\":{\"a\":{}},\"eventTime\":\"2023-07-10T12:11:15Z\"}";

static void fixture_setup(fixture *f, const char *event_json) {
    memset(f, 0, sizeof *f);
    const char *err = NULL;
    assert_true(sd_path_parse(".eventName", 10, &f->paths[0], &err) == 10);
    assert_true(sd_path_parse(".n", 2, &f->paths[1], &err) == 2);
    f->prog.paths = f->paths;
    f->prog.npaths = 2;
    f->tags[0] = "cis-aws-4.2";
    f->tags[1] = "attack.initial_access";
    f->meta[0] = (meta_kv){"title", "\"Console login\""};
    f->meta[1] = (meta_kv){"severity", "\"high\""};
    f->meta[2] = (meta_kv){"description", "\"Someone signed in\""};
    f->meta[3] = (meta_kv){"references", "[\"https://example.com/a\",\"b\"]"};
    f->rule = (vm_rule){.name = "console_login",
                        .title = "Console login",
                        .sev = SECDET_SEVERITY_HIGH,
                        .tags = f->tags,
                        .ntags = 2,
                        .meta = f->meta,
                        .nmeta = 4};
    f->prog.rules = &f->rule;
    f->prog.nrules = 1;
    assert_int_equal(sd_event_init(&f->ev, f->paths, 2), 0);
    sd_alert_ctx_init(&f->ac);
    f->event = cJSON_Parse(event_json);
    assert_non_null(f->event);
    sd_event_begin(&f->ev, f->event);
    f->keys[0] = (rule_key){.text = ".sourceIPAddress"};
    f->keys[1] = (rule_key){.text = "lower(.user)"};
}

static void fixture_teardown(fixture *f) {
    sd_alert_ctx_free(&f->ac);
    sd_event_free(&f->ev);
    sd_path_free(&f->paths[0]);
    sd_path_free(&f->paths[1]);
    cJSON_Delete(f->event);
}

static alert_spec stateless_spec(fixture *f, const cJSON *const *events) {
    int64_t t = 0;
    assert_true(sd_time_parse_rfc3339("2023-07-10T12:11:15Z", 20, &t));
    return (alert_spec){.prog = &f->prog,
                        .rule = 0,
                        .source = "cloudtrail",
                        .time_ns = t,
                        .first_seen_ns = t,
                        .last_seen_ns = t,
                        .count = 1,
                        .events = events,
                        .nevents = 1,
                        .ev = &f->ev};
}

static cJSON *build_and_parse(fixture *f, const alert_spec *spec, secdet_alert *a) {
    assert_int_equal(sd_alert_build(&f->ac, spec, a), 0);
    assert_int_equal(strlen(a->json), a->json_len);
    cJSON *j = cJSON_Parse(a->json);
    assert_non_null(j);
    return j;
}

static const char *str_field(const cJSON *j, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double num_field(const cJSON *j, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void test_stateless_alert_has_every_contract_field(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, EVENT);
    const cJSON *events[1] = {f.event};
    alert_spec spec = stateless_spec(&f, events);
    secdet_alert a;
    cJSON *j = build_and_parse(&f, &spec, &a);

    assert_string_equal(str_field(j, "rule"), "console_login");
    assert_string_equal(str_field(j, "title"), "Console login");
    assert_string_equal(str_field(j, "severity"), "high");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    assert_int_equal(cJSON_GetArraySize(tags), 2);
    assert_string_equal(cJSON_GetArrayItem(tags, 1)->valuestring, "attack.initial_access");
    assert_string_equal(str_field(j, "time"), "2023-07-10T12:11:15Z");
    assert_string_equal(str_field(j, "first_seen"), "2023-07-10T12:11:15Z");
    assert_string_equal(str_field(j, "last_seen"), "2023-07-10T12:11:15Z");
    assert_string_equal(str_field(j, "source"), "cloudtrail");
    assert_string_equal(str_field(j, "message"), "Console login"); /* no template: the title */
    const cJSON *group = cJSON_GetObjectItemCaseSensitive(j, "group");
    assert_true(cJSON_IsObject(group));
    assert_null(group->child);
    assert_int_equal((int)num_field(j, "count"), 1);
    assert_int_equal((int)num_field(j, "suppressed"), 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "distinct"));
    const char *id = str_field(j, "id");
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    assert_string_equal(id, a.id);
    const cJSON *evs = cJSON_GetObjectItemCaseSensitive(j, "events");
    assert_int_equal(cJSON_GetArraySize(evs), 1);
    assert_true(cJSON_Compare(cJSON_GetArrayItem(evs, 0), f.event, 1));
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "meta");
    assert_string_equal(str_field(meta, "description"), "Someone signed in");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(meta, "references")), 2);
    assert_null(cJSON_GetObjectItemCaseSensitive(meta, "title"));
    assert_null(cJSON_GetObjectItemCaseSensitive(meta, "severity"));
    assert_null(cJSON_GetObjectItemCaseSensitive(meta, "tags"));

    assert_string_equal(a.rule, "console_login");
    assert_string_equal(a.source, "cloudtrail");
    assert_int_equal(a.severity, SECDET_SEVERITY_HIGH);
    assert_true(a.time_ns == spec.time_ns);
    cJSON_Delete(j);
    fixture_teardown(&f);
}

static void test_alert_fields_appear_in_contract_order(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, EVENT);
    const cJSON *events[1] = {f.event};
    alert_spec spec = stateless_spec(&f, events);
    secdet_alert a;
    assert_int_equal(sd_alert_build(&f.ac, &spec, &a), 0);
    static const char *const order[] = {"\"rule\"",  "\"title\"",      "\"severity\"",  "\"tags\"",
                                        "\"time\"",  "\"source\"",     "\"message\"",   "\"group\"",
                                        "\"count\"", "\"first_seen\"", "\"last_seen\"", "\"suppressed\"",
                                        "\"id\"",    "\"events\"",     "\"meta\""};
    const char *prev = a.json;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *p = strstr(a.json, order[i]);
        assert_non_null(p);
        assert_true(p >= prev);
        prev = p;
    }
    fixture_teardown(&f);
}

static void test_group_holds_keys_with_missing_as_null(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, EVENT);
    const cJSON *events[1] = {f.event};
    alert_spec spec = stateless_spec(&f, events);
    f.key_one[0] = (sd_value){.type = SD_STR, .str = "10.0.0.1", .len = 8};
    f.key_vals[0] = (sd_values){1, &f.key_one[0]};
    f.key_vals[1] = (sd_values){0, NULL};
    spec.keys = f.keys;
    spec.key_vals = f.key_vals;
    spec.nkeys = 2;
    secdet_alert a;
    cJSON *j = build_and_parse(&f, &spec, &a);
    const cJSON *group = cJSON_GetObjectItemCaseSensitive(j, "group");
    assert_string_equal(str_field(group, ".sourceIPAddress"), "10.0.0.1");
    const cJSON *missing = cJSON_GetObjectItemCaseSensitive(group, "lower(.user)");
    assert_non_null(missing);
    assert_true(cJSON_IsNull(missing));
    cJSON_Delete(j);
    fixture_teardown(&f);
}

static void test_id_is_sha256_of_rule_group_and_event(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, "{\"a\":1,\"b\":\"x\"}");
    const cJSON *events[1] = {f.event};
    alert_spec spec = stateless_spec(&f, events);
    secdet_alert a;
    assert_int_equal(sd_alert_build(&f.ac, &spec, &a), 0);
    static const char input[] = "console_login\0{}\0{\"a\":1,\"b\":\"x\"}";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    assert_int_equal(EVP_Digest(input, sizeof input - 1, md, &mdlen, EVP_sha256(), NULL), 1);
    char hex[33];
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(a.id, hex);
    fixture_teardown(&f);
}

static void test_id_is_stable_across_contexts_and_changes_with_input(void **state) {
    (void)state;
    fixture f, g;
    fixture_setup(&f, EVENT);
    fixture_setup(&g, EVENT);
    const cJSON *ef[1] = {f.event}, *eg[1] = {g.event};
    alert_spec sf = stateless_spec(&f, ef), sg = stateless_spec(&g, eg);
    secdet_alert a, b;
    assert_int_equal(sd_alert_build(&f.ac, &sf, &a), 0);
    char id1[33];
    strcpy(id1, a.id);
    assert_int_equal(sd_alert_build(&g.ac, &sg, &b), 0);
    assert_string_equal(id1, b.id); /* same input on another context */

    g.rule.name = "other_rule";
    assert_int_equal(sd_alert_build(&g.ac, &sg, &b), 0);
    assert_string_not_equal(id1, b.id);
    g.rule.name = "console_login";

    g.key_vals[0] = (sd_values){0, NULL};
    sg.keys = g.keys;
    sg.key_vals = g.key_vals;
    sg.nkeys = 1;
    assert_int_equal(sd_alert_build(&g.ac, &sg, &b), 0);
    assert_string_not_equal(id1, b.id); /* the group is part of the id */
    fixture_teardown(&f);
    fixture_teardown(&g);
}

static void test_consecutive_events_are_not_served_from_a_stale_cache(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, "{\"a\":1}");
    const cJSON *events[1] = {f.event};
    alert_spec spec = stateless_spec(&f, events);
    secdet_alert a;
    assert_int_equal(sd_alert_build(&f.ac, &spec, &a), 0);
    assert_non_null(strstr(a.json, "\"events\":[{\"a\":1}]"));
    cJSON *second = cJSON_Parse("{\"a\":2}");
    sd_event_begin(&f.ev, second);
    events[0] = second;
    assert_int_equal(sd_alert_build(&f.ac, &spec, &a), 0);
    assert_non_null(strstr(a.json, "\"events\":[{\"a\":2}]"));
    cJSON_Delete(second);
    fixture_teardown(&f);
}

static void test_event_serialisation_round_trips(void **state) {
    (void)state;
    static const char *const docs[] = {
        "{\"a\":[1,2.5,-3,1e300,0.1,-0.000001],\"b\":{\"c\":null,\"d\":[]},\"e\":true,\"f\":false}",
        "{\"s\":\"tab\\there \\u0001 \\u00e9 \\ud83d\\ude00 \\\\ \\/ \\\"\"}",
        "{\"big\":12345678901234567890,\"neg\":-9007199254740991,\"tiny\":5e-324}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        cJSON *in = cJSON_Parse(docs[i]);
        assert_non_null(in);
        buf b;
        sd_buf_init(&b);
        sd_alert_json_write(&b, in);
        assert_false(b.oom);
        cJSON *out = cJSON_Parse(b.data);
        assert_non_null(out);
        assert_true(cJSON_Compare(in, out, 1));
        cJSON_Delete(out);
        cJSON_Delete(in);
        sd_buf_free(&b);
    }
}

static void test_numbers_have_no_needless_fraction(void **state) {
    (void)state;
    static const struct {
        double d;
        const char *text;
    } cases[] = {{5.0, "5"},
                 {-3.0, "-3"},
                 {1.5, "1.5"},
                 {0.1, "0.1"},
                 {0.0, "0"},
                 {1e21, "1e+21"},
                 {123456789012.0, "123456789012"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf b;
        sd_buf_init(&b);
        sd_alert_number_write(&b, cases[i].d);
        assert_string_equal(b.data, cases[i].text);
        sd_buf_free(&b);
    }
}

static void test_distinct_appears_only_for_distinct_rules(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, EVENT);
    const cJSON *events[1] = {f.event};
    alert_spec spec = stateless_spec(&f, events);
    spec.has_distinct = true;
    spec.distinct = 7;
    spec.count = 9;
    secdet_alert a;
    cJSON *j = build_and_parse(&f, &spec, &a);
    assert_int_equal((int)num_field(j, "distinct"), 7);
    assert_int_equal((int)num_field(j, "count"), 9);
    cJSON_Delete(j);
    fixture_teardown(&f);
}

static void test_several_events_are_listed_firing_one_last(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, EVENT);
    cJSON *first = cJSON_Parse("{\"k\":1}");
    const cJSON *events[2] = {first, f.event};
    alert_spec spec = stateless_spec(&f, events);
    spec.nevents = 2;
    secdet_alert a;
    cJSON *j = build_and_parse(&f, &spec, &a);
    const cJSON *evs = cJSON_GetObjectItemCaseSensitive(j, "events");
    assert_int_equal(cJSON_GetArraySize(evs), 2);
    assert_true(cJSON_Compare(cJSON_GetArrayItem(evs, 0), first, 1));
    assert_true(cJSON_Compare(cJSON_GetArrayItem(evs, 1), f.event, 1));
    cJSON_Delete(j);
    cJSON_Delete(first);
    fixture_teardown(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stateless_alert_has_every_contract_field),
        cmocka_unit_test(test_alert_fields_appear_in_contract_order),
        cmocka_unit_test(test_group_holds_keys_with_missing_as_null),
        cmocka_unit_test(test_id_is_sha256_of_rule_group_and_event),
        cmocka_unit_test(test_id_is_stable_across_contexts_and_changes_with_input),
        cmocka_unit_test(test_consecutive_events_are_not_served_from_a_stale_cache),
        cmocka_unit_test(test_event_serialisation_round_trips),
        cmocka_unit_test(test_numbers_have_no_needless_fraction),
        cmocka_unit_test(test_distinct_appears_only_for_distinct_rules),
        cmocka_unit_test(test_several_events_are_listed_firing_one_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
