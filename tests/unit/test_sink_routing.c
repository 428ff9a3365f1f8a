/* test_sink_routing.c — which alerts a sink takes (src/sink/sink_filter.c):
 * severities, rules (globs, '!' to leave out), sources and log types, set
 * through secdet_sink_opts and through a sink's JSON; callback sinks record
 * what reaches them, fed by a real engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secdet.h"

static const char RULES[] = "rule root_login { meta { severity = critical } where .k == \"root\" }\n"
                            "rule noisy_scan { meta { severity = low } where .k == \"scan\" }\n"
                            "rule noisy_probe { meta { severity = medium } where .k == \"probe\" }\n"
                            "rule info_only { meta { severity = info } where .k == \"info\" }\n"
                            "rule two_logins { meta { severity = high } where .k == \"login\"\n"
                            "  count >= 2 within 1h }\n";

static const char EVENTS[] = "{\"k\":\"root\"}\n{\"k\":\"scan\"}\n{\"k\":\"probe\"}\n{\"k\":\"info\"}\n";

typedef struct seen {
    pthread_mutex_t mu;
    char rules[16][32];
    size_t n;
} seen;

static secdet_sink_result on_delivery(void *user, const secdet_delivery *d) {
    seen *s = user;
    size_t len;
    const char *json = secdet_delivery_json(d, &len);
    const char *r = strstr(json, "\"rule\":\"");
    pthread_mutex_lock(&s->mu);
    if (r && s->n < 16) sscanf(r + 8, "%31[^\"]", s->rules[s->n++]);
    pthread_mutex_unlock(&s->mu);
    return SECDET_SINK_OK;
}

/* Events pushed to a source (of log type log_type; NULL: its name's). */
typedef struct push {
    const char *source, *log_type, *events;
} push;

static const push APP_EDR[] = {{"app", NULL, EVENTS}, {"edr", NULL, "{\"k\":\"scan\"}\n"}};

#define OKTA(t, k)                                                                                                     \
    "{\"eventType\":\"user.session.start\",\"published\":\"2026-01-01T00:00:0" t                                       \
    "Z\",\"actor\":{\"alternateId\":\"a\"},"                                                                           \
    "\"k\":\"" k "\"}\n"

/* Three log types: okta (source "idp"; two_logins is an aggregation's
 * alert), gcp-audit (source "gcp") and jsonl (source "app"). */
static const push LOG_TYPES[] = {
    {"idp", "okta", OKTA("0", "root") OKTA("1", "login") OKTA("2", "login")},
    {"gcp", "gcp-audit", "{\"protoPayload\":{},\"timestamp\":\"2026-01-01T00:00:03Z\",\"k\":\"scan\"}\n"},
    {"app", NULL, "{\"k\":\"probe\"}\n"},
};

static secdet_engine *engine_with(const push *p, size_t np) {
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    assert_int_equal(secdet_load_rules_string(e, "r.secdet", RULES, strlen(RULES), NULL), SECDET_OK);
    for (size_t i = 0; i < np; i++) {
        secdet_source_opts so = {.format = SECDET_FMT_JSONL, .log_type = p[i].log_type};
        assert_int_equal(secdet_source_add(e, p[i].source, &so), SECDET_OK);
    }
    return e;
}

static void push_all(secdet_engine *e, const push *p, size_t np) {
    for (size_t i = 0; i < np; i++) {
        assert_int_equal(secdet_push(e, p[i].source, p[i].events, strlen(p[i].events)), SECDET_OK);
        assert_int_equal(secdet_source_end(e, p[i].source), SECDET_OK);
    }
}

/* The rules whose alerts reached each sink, as "a,b,c" per sink, after the
 * pushes p[0..np). */
static void route_pushes(const secdet_sink_opts *opts, size_t n, const push *p, size_t np, char out[][128]) {
    secdet_engine *e = engine_with(p, np);
    seen s[4];
    for (size_t i = 0; i < n; i++) {
        memset(&s[i], 0, sizeof s[i]);
        pthread_mutex_init(&s[i].mu, NULL);
        secdet_sink *sink = NULL;
        assert_int_equal(secdet_sink_callback(on_delivery, &s[i], &opts[i], &sink), SECDET_OK);
        assert_int_equal(secdet_sink_add(e, sink), SECDET_OK);
    }
    push_all(e, p, np);
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);
    secdet_stats es;
    assert_int_equal(secdet_stats_get(e, &es), SECDET_OK);
    for (size_t i = 0; i < n; i++) {
        secdet_sink_stats st;
        assert_int_equal(secdet_sink_stats_get(e, i, &st), SECDET_OK);
        assert_int_equal(st.accepted + st.filtered, es.alerts);
        out[i][0] = 0;
        for (size_t k = 0; k < s[i].n; k++) {
            if (k) strcat(out[i], ",");
            strcat(out[i], s[i].rules[k]);
        }
    }
    secdet_engine_free(e);
    for (size_t i = 0; i < n; i++) pthread_mutex_destroy(&s[i].mu);
}

/* The same after EVENTS were pushed to sources "app" and "edr". */
static void route(const secdet_sink_opts *opts, size_t n, char out[][128]) { route_pushes(opts, n, APP_EDR, 2, out); }

static secdet_sink_opts opts(void) {
    secdet_sink_opts o;
    secdet_sink_opts_init(&o);
    return o;
}

static void test_critical_to_one_sink_everything_to_another_low_ones_to_a_third(void **state) {
    (void)state;
    secdet_sink_opts o[3] = {opts(), opts(), opts()};
    o[0].min_severity = SECDET_SEVERITY_CRITICAL;
    o[2].min_severity = SECDET_SEVERITY_LOW;
    o[2].severities = 1u << SECDET_SEVERITY_LOW | 1u << SECDET_SEVERITY_MEDIUM;
    char got[3][128];
    route(o, 3, got);
    assert_string_equal(got[0], "root_login");
    assert_string_equal(got[1], "root_login,noisy_scan,noisy_probe,info_only,noisy_scan");
    assert_string_equal(got[2], "noisy_scan,noisy_probe,noisy_scan");
}

static void test_rule_globs_take_and_bang_globs_leave_out(void **state) {
    (void)state;
    secdet_sink_opts o[3] = {opts(), opts(), opts()};
    const char *noisy[] = {"noisy_*"};
    const char *not_probe[] = {"!noisy_pro?e"};
    const char *both[] = {"noisy_*", "root_login", "!*scan"};
    o[0].rules = noisy;
    o[0].nrules = 1;
    o[1].rules = not_probe;
    o[1].nrules = 1;
    o[2].rules = both;
    o[2].nrules = 3;
    char got[3][128];
    route(o, 3, got);
    assert_string_equal(got[0], "noisy_scan,noisy_probe,noisy_scan");
    assert_string_equal(got[1], "root_login,noisy_scan,info_only,noisy_scan");
    assert_string_equal(got[2], "root_login,noisy_probe");
}

static void test_sources_choose_by_where_the_firing_event_came_from(void **state) {
    (void)state;
    secdet_sink_opts o[2] = {opts(), opts()};
    const char *edr[] = {"ed?"};
    const char *any[] = {"app", "nothing*"};
    o[0].sources = edr;
    o[0].nsources = 1;
    o[1].sources = any;
    o[1].nsources = 2;
    char got[2][128];
    route(o, 2, got);
    assert_string_equal(got[0], "noisy_scan");
    assert_string_equal(got[1], "root_login,noisy_scan,noisy_probe,info_only");
}

static void test_log_types_choose_by_the_firing_events_log_type(void **state) {
    (void)state;
    secdet_sink_opts o[4] = {opts(), opts(), opts(), opts()};
    const char *okta[] = {"okta"};
    const char *gcp[] = {"nothing", "gcp-*"};
    const char *jsonl[] = {"js?nl"};
    o[0].log_types = okta;
    o[0].nlog_types = 1;
    o[1].log_types = gcp;
    o[1].nlog_types = 2;
    o[2].log_types = jsonl;
    o[2].nlog_types = 1;
    o[3].log_types = okta; /* an empty list takes every log type */
    o[3].nlog_types = 0;
    char got[4][128];
    route_pushes(o, 4, LOG_TYPES, 3, got);
    assert_string_equal(got[0], "root_login,two_logins");
    assert_string_equal(got[1], "noisy_scan");
    assert_string_equal(got[2], "noisy_probe");
    assert_string_equal(got[3], "root_login,noisy_scan,noisy_probe,two_logins"); /* the aggregation's last */
}

/* Not the source's name: source "idp" is of log type okta. */
static void test_a_sink_of_log_type_okta_is_not_one_of_source_okta(void **state) {
    (void)state;
    secdet_sink_opts o[2] = {opts(), opts()};
    const char *okta[] = {"okta"};
    o[0].sources = okta;
    o[0].nsources = 1;
    o[1].log_types = okta;
    o[1].nlog_types = 1;
    char got[2][128];
    route_pushes(o, 2, LOG_TYPES, 3, got);
    assert_string_equal(got[0], "");
    assert_string_equal(got[1], "root_login,two_logins");
}

static void on_alert(void *user, const secdet_alert *a) {
    char *out = user;
    size_t at = strlen(out);
    snprintf(out + at, 256 - at, "%s%s:%s:%s", at ? "," : "", secdet_alert_rule(a), secdet_alert_source(a),
             secdet_alert_log_type(a));
}

/* The accessor, for an event's alert and an aggregation's; NULL-safe. */
static void test_an_alert_says_its_log_type(void **state) {
    (void)state;
    secdet_engine *e = engine_with(LOG_TYPES, 3);
    char got[256] = "";
    assert_int_equal(secdet_set_alert_callback(e, on_alert, got), SECDET_OK);
    push_all(e, LOG_TYPES, 3);
    assert_string_equal(got, "root_login:idp:okta,noisy_scan:gcp:gcp-audit,noisy_probe:app:jsonl,two_logins:idp:okta");
    assert_null(secdet_alert_log_type(NULL));
    secdet_engine_free(e);
}

static void test_a_list_with_a_null_entry_is_refused(void **state) {
    (void)state;
    secdet_sink_opts o = opts();
    const char *bad[] = {"a", NULL};
    o.rules = bad;
    o.nrules = 2;
    secdet_sink *s = NULL;
    seen dummy;
    assert_int_equal(secdet_sink_callback(on_delivery, &dummy, &o, &s), SECDET_ERR_INVALID_ARG);
    o = opts();
    o.log_types = bad;
    o.nlog_types = 2;
    assert_int_equal(secdet_sink_callback(on_delivery, &dummy, &o, &s), SECDET_ERR_INVALID_ARG);
}

/* The JSON keys: max_severity, rules, sources, log_types; and their mistakes. */
static void test_the_json_keys_and_their_errors(void **state) {
    (void)state;
    static const struct {
        const char *json;
        const char *error; /* NULL: made */
    } cases[] = {
        {"{\"type\":\"stdout\",\"max_severity\":\"medium\",\"rules\":[\"a*\",\"!b\"],\"sources\":[\"cloudtrail\"]}",
         NULL},
        {"{\"type\":\"stdout\",\"name\":\"s\",\"max_severity\":\"hgh\"}",
         "sink 's': max_severity: expected info, low, medium, high or critical"},
        {"{\"type\":\"stdout\",\"name\":\"s\",\"rules\":\"a*\"}",
         "sink 's': rules: expected an array of at most 64 strings"},
        {"{\"type\":\"stdout\",\"name\":\"s\",\"sources\":[\"\"]}", "sink 's': sources: expected non-empty strings"},
        {"{\"type\":\"stdout\",\"log_types\":[\"okta\",\"gcp-*\"]}", NULL},
        {"{\"type\":\"stdout\",\"name\":\"s\",\"log_types\":\"okta\"}",
         "sink 's': log_types: expected an array of at most 64 strings"},
        {"{\"type\":\"stdout\",\"name\":\"s\",\"log_types\":[1]}", "sink 's': log_types: expected non-empty strings"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        secdet_sink *s = NULL;
        secdet_diagnostics *d = NULL;
        secdet_status st = secdet_sink_from_json(cases[i].json, strlen(cases[i].json), &s, &d);
        if (!cases[i].error) {
            assert_int_equal(st, SECDET_OK);
        } else {
            assert_int_equal(st, SECDET_ERR_INVALID_ARG);
            secdet_diagnostic e;
            assert_int_equal(secdet_diagnostics_get(d, 0, &e), SECDET_OK);
            assert_string_equal(e.message, cases[i].error);
        }
        secdet_diagnostics_free(d);
        secdet_sink_free(s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_critical_to_one_sink_everything_to_another_low_ones_to_a_third),
        cmocka_unit_test(test_rule_globs_take_and_bang_globs_leave_out),
        cmocka_unit_test(test_sources_choose_by_where_the_firing_event_came_from),
        cmocka_unit_test(test_log_types_choose_by_the_firing_events_log_type),
        cmocka_unit_test(test_a_sink_of_log_type_okta_is_not_one_of_source_okta),
        cmocka_unit_test(test_an_alert_says_its_log_type),
        cmocka_unit_test(test_a_list_with_a_null_entry_is_refused),
        cmocka_unit_test(test_the_json_keys_and_their_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
