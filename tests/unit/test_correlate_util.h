/* test_correlate_util.h — helpers shared by the correlation tests
 * (test_correlate*.c, test_corr_*.c, test_stage*.c): an engine with given
 * options that collects alerts, events pushed at explicit event times (ms
 * after 2024-01-01T00:00:00Z), readers of alert fields, rules that must be
 * refused with a given message, and generated streams replayed whole, out
 * of order or cut by a snapshot. */
#ifndef SECDET_TEST_CORRELATE_UTIL_H
#define SECDET_TEST_CORRELATE_UTIL_H

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* push_at with the fields made by printf from fmt. */
static inline void push_fmt(secdet_engine *e, int64_t ms, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void push_fmt(secdet_engine *e, int64_t ms, const char *fmt, ...) {
    char f[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f, sizeof f, fmt, ap);
    va_end(ap);
    push_at(e, ms, f);
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

/* The rules in src must not load, and one diagnostic must say want. */
static inline void assert_rules_refused(const char *src, const char *want) {
    secdet_engine *e = NULL;
    secdet_engine_opts o;
    secdet_engine_opts_init(&o);
    assert_int_equal(secdet_engine_new(&o, &e), SECDET_OK);
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_load_rules_string(e, "t.secdet", src, strlen(src), &d), SECDET_ERR_RULES);
    bool found = false;
    for (size_t k = 0; k < secdet_diagnostics_count(d); k++) {
        char *m = secdet_diagnostics_format(d, k);
        if (strstr(m, want)) found = true;
        secdet_free(m);
    }
    if (!found) fail_msg("no diagnostic says: %s", want);
    secdet_diagnostics_free(d);
    secdet_engine_free(e);
}

/* How many alerts of c are of the rule named rule. */
static inline size_t count_rule(const collected *c, const char *rule) {
    size_t n = 0;
    char want[80];
    snprintf(want, sizeof want, "\"rule\":\"%s\"", rule);
    for (size_t i = 0; i < c->n; i++) n += strstr(c->json[i], want) != NULL;
    return n;
}

static inline int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A file name of this process's own under /tmp (free it). */
static inline char *tmp_path(const char *name) {
    char *p = malloc(256);
    snprintf(p, 256, "/tmp/secdet_test_corr_%d_%s", (int)getpid(), name);
    return p;
}

/* ---- generated streams: each test makes its events (gen_stream) with these -------------------------- */

typedef struct gen_event {
    int64_t t;
    char fields[160];
    uint64_t arrival;
} gen_event;

static inline uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static inline int cmp_arrival(const void *a, const void *b) {
    const gen_event *x = a, *y = b;
    return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

/* Runs events[from, to) into e. */
static inline void run_events(secdet_engine *e, const gen_event *evs, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) push_at(e, evs[i].t, evs[i].fields);
}

/* An engine of rules that has run evs[0, n) into c and flushed (free it). */
static inline secdet_engine *run_stream(const char *rules, int64_t lateness, const gen_event *evs, size_t n,
                                        collected *c) {
    secdet_engine *e = engine_with(rules, c, lateness);
    run_events(e, evs, 0, n);
    secdet_flush(e);
    return e;
}

/* Puts evs in arrival order: each arrives up to max_delay_ms - 1 after its
 * event time (the delays drawn from seed). */
static inline void shuffle_by_arrival(gen_event *evs, size_t n, uint64_t seed, uint64_t max_delay_ms) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) evs[i].arrival = (uint64_t)evs[i].t + rng_next(&s) % max_delay_ms;
    qsort(evs, n, sizeof *evs, cmp_arrival);
}

/* Runs evs[0, cut) on an engine of rules, saves its state to a snapshot,
 * loads it (no diagnostic) into a new engine and runs evs[cut, n) there,
 * then flushes: every alert of both halves goes to split (which the first
 * engine sets up). The file `name` is removed afterwards. */
static inline void run_cut_by_snapshot(const char *rules, int64_t lateness, const gen_event *evs, size_t cut, size_t n,
                                       const char *name, collected *split) {
    char *path = tmp_path(name);
    secdet_engine *e2 = engine_with(rules, split, lateness);
    run_events(e2, evs, 0, cut);
    assert_int_equal(secdet_snapshot_save(e2, path), SECDET_OK);
    secdet_engine_free(e2);
    collected later;
    secdet_engine *e3 = engine_with(rules, &later, lateness);
    secdet_set_alert_callback(e3, on_alert, split); /* the same list as the first half */
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_snapshot_load(e3, path, &d), SECDET_OK);
    assert_int_equal(secdet_diagnostics_count(d), 0);
    secdet_diagnostics_free(d);
    run_events(e3, evs, cut, n);
    secdet_flush(e3);
    unlink(path);
    free(path);
    secdet_engine_free(e3);
}

/* Two matching events of one .ip within 10 s. */
static const char COUNT2[] __attribute__((unused)) = "rule c { where .k == 1\n count >= 2 within 10s by .ip\n"
                                                     " output \"{count} from {group}: {.n}\" }\n";

#endif
