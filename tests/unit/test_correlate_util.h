/* test_correlate_util.h — helpers shared by the correlation tests
 * (test_correlate.c, test_correlate_state.c): an engine with given options
 * that collects alerts, events pushed at explicit event times (ms after
 * 2024-01-01T00:00:00Z), and readers of alert fields. */
#ifndef SECDET_TEST_CORRELATE_UTIL_H
#define SECDET_TEST_CORRELATE_UTIL_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "secdet.h"

#define MAX_ALERTS 4096
#define BASE_S     1704067200LL /* 2024-01-01T00:00:00Z */

typedef struct collected {
    size_t n;
    char *json[MAX_ALERTS];
    char *id[MAX_ALERTS];
} collected;

static inline void on_alert(void *user, const secdet_alert *a) {
    collected *c = user;
    if (c->n == MAX_ALERTS) return;
    c->json[c->n] = strdup(secdet_alert_json(a, NULL));
    c->id[c->n] = strdup(secdet_alert_id(a));
    c->n++;
}

static inline void collected_free(collected *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->json[i]);
        free(c->id[i]);
    }
    memset(c, 0, sizeof *c);
}

typedef struct setup {
    int64_t lateness_ms;
    uint32_t max_samples;
    uint64_t max_state_bytes;
} setup;

static inline secdet_engine *engine_with_opts(const char *rules, collected *c, const setup *s) {
    secdet_engine_opts o;
    secdet_engine_opts_init(&o);
    if (s) {
        o.lateness_ms = s->lateness_ms;
        if (s->max_samples) o.max_samples = s->max_samples;
        if (s->max_state_bytes) o.max_state_bytes = s->max_state_bytes;
    }
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(&o, &e), SECDET_OK);
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_load_rules_string(e, "t.secdet", rules, strlen(rules), &d);
    if (st != SECDET_OK) {
        for (size_t i = 0; i < secdet_diagnostics_count(d); i++) {
            char *m = secdet_diagnostics_format(d, i);
            fprintf(stderr, "%s\n", m);
            secdet_free(m);
        }
    }
    assert_int_equal(st, SECDET_OK);
    secdet_diagnostics_free(d);
    memset(c, 0, sizeof *c);
    secdet_set_alert_callback(e, on_alert, c);
    return e;
}

static inline secdet_engine *engine_with(const char *rules, collected *c, int64_t lateness_ms) {
    setup s = {.lateness_ms = lateness_ms};
    return engine_with_opts(rules, c, &s);
}

/* "2024-01-01T00:00:00.000Z" + ms */
static inline void fmt_time(int64_t ms, char *out, size_t n) {
    time_t secs = (time_t)(BASE_S + ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03dZ", b, (int)(ms % 1000));
}

/* Pushes {"eventTime": t, <fields>} (fields: JSON members without braces). */
static inline void push_at(secdet_engine *e, int64_t ms, const char *fields) {
    char t[64], json[1024];
    fmt_time(ms, t, sizeof t);
    snprintf(json, sizeof json, "{\"eventTime\":\"%s\"%s%s}", t, fields[0] ? "," : "", fields);
    assert_int_equal(secdet_push_event(e, "jsonl", json, strlen(json)), SECDET_OK);
}

static inline cJSON *alert_obj(const collected *c, size_t i) {
    assert_true(i < c->n);
    cJSON *j = cJSON_Parse(c->json[i]);
    assert_non_null(j);
    return j;
}

static inline double num_field(const collected *c, size_t i, const char *key) {
    cJSON *j = alert_obj(c, i);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_non_null(f);
    double d = f->valuedouble;
    cJSON_Delete(j);
    return d;
}

static inline char *str_field(const collected *c, size_t i, const char *key) {
    cJSON *j = alert_obj(c, i);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_true(cJSON_IsString(f));
    char *s = strdup(f->valuestring);
    cJSON_Delete(j);
    return s;
}

static inline void assert_str_field(const collected *c, size_t i, const char *key, const char *want) {
    char *s = str_field(c, i, key);
    assert_string_equal(s, want);
    free(s);
}

/* The "n" member of each sample event, joined: "1,2,3". */
static inline void assert_sample_ns(const collected *c, size_t i, const char *want) {
    cJSON *j = alert_obj(c, i);
    const cJSON *evs = cJSON_GetObjectItemCaseSensitive(j, "events");
    char got[256] = "";
    const cJSON *ev;
    cJSON_ArrayForEach(ev, evs) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(ev, "n");
        char one[32];
        snprintf(one, sizeof one, "%s%d", got[0] ? "," : "", n ? n->valueint : -1);
        strncat(got, one, sizeof got - strlen(got) - 1);
    }
    cJSON_Delete(j);
    assert_string_equal(got, want);
}

static inline uint64_t stat_of(secdet_engine *e, size_t offset) {
    secdet_stats s;
    assert_int_equal(secdet_stats_get(e, &s), SECDET_OK);
    return *(const uint64_t *)((const char *)&s + offset);
}
#define STAT(e, field) stat_of((e), offsetof(secdet_stats, field))

/* Two matching events of one .ip within 10 s. */
static const char COUNT2[] __attribute__((unused)) = "rule c { where .k == 1\n count >= 2 within 10s by .ip\n"
                                                     " output \"{count} from {group}: {.n}\" }\n";

#endif
