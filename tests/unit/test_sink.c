/* test_sink.c — the delivery layer through the public API: sinks of the
 * test's own (secdet_sink_new, secdet_sink_callback) that record what they
 * get and fail on command, fed by a real engine and rules. Order, retries
 * and backoff, dead letters, the write-ahead spool across engines, filters,
 * drops without a spool, drain, asynchronous completion, JSON config errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "secdet.h"

static const char *RULES = "rule every {\n"
                           "    meta { severity = high  tags = [\"t.every\", \"attack.x\"] }\n"
                           "    on jsonl\n"
                           "    where .kind == \"e\"\n"
                           "}\n"
                           "rule low_one {\n"
                           "    meta { severity = low  tags = [\"t.low\"] }\n"
                           "    on jsonl\n"
                           "    where .kind == \"l\"\n"
                           "}\n";

/* ---- A recording sink --------------------------------------------------------- */

typedef struct rec {
    pthread_mutex_t mu;
    char **ids;
    size_t n, cap;
    unsigned fail_first;   /* answer RETRY to this many attempts overall */
    unsigned permanent_id; /* answer PERMANENT to the alert pushed with n == this (1-based), 0 = none */
    unsigned attempts;
    bool async; /* complete from another thread */
    bool closed;
} rec;

static void rec_init(rec *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
}

static void sd_rec_free(rec *r) {
    for (size_t i = 0; i < r->n; i++) free(r->ids[i]);
    free(r->ids);
    pthread_mutex_destroy(&r->mu);
}

static size_t rec_count(rec *r) {
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static secdet_sink_result rec_take(rec *r, const secdet_delivery *d) {
    pthread_mutex_lock(&r->mu);
    r->attempts++;
    secdet_sink_result res = SECDET_SINK_OK;
    size_t len;
    const char *json = secdet_delivery_json(d, &len);
    assert_int_equal(strlen(json), len);
    assert_non_null(strstr(json, secdet_delivery_id(d)));
    if (r->fail_first) {
        r->fail_first--;
        res = SECDET_SINK_RETRY;
    } else if (r->permanent_id && strstr(json, "\"n\":") && atoi(strstr(json, "\"n\":") + 4) == (int)r->permanent_id) {
        res = SECDET_SINK_PERMANENT;
    } else {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 64;
            r->ids = realloc(r->ids, r->cap * sizeof *r->ids);
        }
        const char *p = strstr(json, "\"n\":");
        char buf[32];
        snprintf(buf, sizeof buf, "%d", p ? atoi(p + 4) : -1);
        r->ids[r->n++] = strdup(buf);
    }
    pthread_mutex_unlock(&r->mu);
    return res;
}

static secdet_sink_result on_delivery(void *user, const secdet_delivery *d) { return rec_take(user, d); }

typedef struct async_job {
    rec *r;
    secdet_delivery *d;
} async_job;

static void *async_main(void *arg) {
    async_job *j = arg;
    usleep(200);
    secdet_sink_result res = rec_take(j->r, j->d);
    secdet_delivery_result dr = {res, 0, res == SECDET_SINK_OK ? NULL : "async failure"};
    secdet_delivery_done(j->d, &dr);
    free(j);
    return NULL;
}

static void vt_emit(void *self, secdet_delivery *d) {
    rec *r = self;
    async_job *j = malloc(sizeof *j);
    j->r = r;
    j->d = d;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, async_main, j), 0);
    pthread_detach(t);
}

static void vt_close(void *self) { ((rec *)self)->closed = true; }

static const secdet_sink_vtable async_vt = {NULL, vt_emit, NULL, vt_close};

/* ---- Helpers ------------------------------------------------------------------------ */

static secdet_engine *engine_new(void) {
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    assert_int_equal(secdet_load_rules_string(e, "t.secdet", RULES, strlen(RULES), NULL), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    return e;
}

static void push_n(secdet_engine *e, int from, int to, const char *kind) {
    char line[128];
    for (int i = from; i <= to; i++) {
        int n = snprintf(line, sizeof line, "{\"kind\":\"%s\",\"n\":%d}\n", kind, i);
        assert_int_equal(secdet_push(e, "jsonl", line, (size_t)n), SECDET_OK);
    }
}

static void assert_in_order(rec *r, int from, int to) {
    assert_int_equal(r->n, (size_t)(to - from + 1));
    for (int i = from; i <= to; i++) assert_int_equal(atoi(r->ids[i - from]), i);
}

static char *tmpdir(void) {
    char tmpl[] = "/tmp/secdet-sink-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_rf(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static size_t count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* ---- Tests ---------------------------------------------------------------------------- */

static void test_in_order(void **state) {
    rec r;
    rec_init(&r);
    secdet_engine *e = engine_new();
    secdet_sink *s = NULL;
    assert_int_equal(secdet_sink_callback(on_delivery, &r, NULL, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    assert_int_equal(secdet_sink_count(e), 1);
    assert_string_equal(secdet_sink_name(e, 0), "callback-0");
    push_n(e, 1, 500, "e");
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);
    assert_in_order(&r, 1, 500);
    secdet_sink_stats st;
    assert_int_equal(secdet_sink_stats_get(e, 0, &st), SECDET_OK);
    assert_int_equal(st.accepted, 500);
    assert_int_equal(st.delivered, 500);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.dropped, 0);
    secdet_engine_free(e);
    sd_rec_free(&r);
}

static void test_retry_keeps_order(void **state) {
    rec r;
    rec_init(&r);
    r.fail_first = 3;
    secdet_engine *e = engine_new();
    secdet_sink_opts o;
    secdet_sink_opts_init(&o);
    o.backoff_ms = 2;
    o.backoff_max_ms = 8;
    o.max_in_flight = 4;
    secdet_sink *s = NULL;
    assert_int_equal(secdet_sink_callback(on_delivery, &r, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    push_n(e, 1, 50, "e");
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);
    assert_in_order(&r, 1, 50);
    secdet_sink_stats st;
    secdet_sink_stats_get(e, 0, &st);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.delivered, 50);
    assert_int_equal(st.failing, 0);
    assert_string_equal(st.last_error, "callback returned retry");
    secdet_engine_free(e);
    sd_rec_free(&r);
}

static void test_dead_letter(void **state) {
    char *dir = tmpdir();
    char dl[300];
    snprintf(dl, sizeof dl, "%s/dead.jsonl", dir);
    rec r;
    rec_init(&r);
    r.permanent_id = 7;
    secdet_engine *e = engine_new();
    secdet_sink_opts o;
    secdet_sink_opts_init(&o);
    o.dead_letter = dl;
    o.backoff_ms = 1;
    o.backoff_max_ms = 2;
    o.max_attempts = 3;
    secdet_sink *s = NULL;
    assert_int_equal(secdet_sink_callback(on_delivery, &r, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    push_n(e, 1, 10, "e");
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);
    /* 7 is permanent: one attempt, dead-lettered; the rest delivered. */
    assert_int_equal(r.n, 9);
    assert_int_equal(r.attempts, 10);
    r.fail_first = 1000; /* now everything fails: 3 attempts each, then dead */
    push_n(e, 11, 12, "e");
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);
    secdet_sink_stats st;
    secdet_sink_stats_get(e, 0, &st);
    assert_int_equal(st.dead_lettered, 3);
    assert_int_equal(st.retries, 4); /* 2 retried attempts for each of 11 and 12 */
    assert_int_equal(r.attempts, 16);
    secdet_engine_free(e);
    assert_int_equal(count_lines(dl), 3);
    FILE *f = fopen(dl, "r");
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "\"sink\":\"callback-0\""));
    assert_non_null(strstr(line, "\"attempts\":1"));
    assert_non_null(strstr(line, "\"error\":\"callback returned permanent failure\""));
    assert_non_null(strstr(line, "\"n\":7"));
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "gave up after 3 attempts"));
    fclose(f);
    sd_rec_free(&r);
    rm_rf(dir);
    free(dir);
}

/* A sink that is down the whole first run: everything waits in the spool
 * and a second engine on the same directory delivers all of it, in order,
 * before what it gets itself. */
static void test_spool_replay(void **state) {
    char *dir = tmpdir();
    char spool[300];
    snprintf(spool, sizeof spool, "%s/spool", dir);
    rec down, up;
    rec_init(&down);
    rec_init(&up);
    down.fail_first = 1u << 30;
    secdet_sink_opts o;
    secdet_sink_opts_init(&o);
    o.spool_dir = spool;
    o.queue_max = 16; /* most of it only on disk */
    o.backoff_ms = 1;
    o.backoff_max_ms = 5;
    o.max_attempts = 0;
    o.spool_fsync = "never";

    secdet_engine *e = engine_new();
    secdet_sink *s = NULL;
    assert_int_equal(secdet_sink_callback(on_delivery, &down, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    push_n(e, 1, 300, "e");
    /* Draining means delivering: a failing sink with a spool times out (its
     * alerts are safely on disk meanwhile, written before each push returned). */
    assert_int_equal(secdet_drain(e, 100), SECDET_ERR_TIMEOUT);
    secdet_sink_stats st;
    secdet_sink_stats_get(e, 0, &st);
    assert_int_equal(st.pending, 300);
    assert_int_equal(st.dropped, 0);
    assert_true(st.spool_bytes > 300 * 30);
    assert_int_equal(st.failing, 1);
    secdet_engine_free(e);
    assert_int_equal(down.n, 0);

    e = engine_new();
    assert_int_equal(secdet_sink_callback(on_delivery, &up, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    push_n(e, 301, 320, "e");
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);
    assert_in_order(&up, 1, 320);
    secdet_sink_stats_get(e, 0, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.delivered, 320);
    secdet_engine_free(e);

    /* Everything was acked: a third engine replays nothing. */
    rec none;
    rec_init(&none);
    e = engine_new();
    assert_int_equal(secdet_sink_callback(on_delivery, &none, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);
    assert_int_equal(none.n, 0);
    secdet_engine_free(e);
    sd_rec_free(&none);
    sd_rec_free(&down);
    sd_rec_free(&up);
    rm_rf(dir);
    free(dir);
}

/* Without a spool, a full queue drops (and counts) rather than blocking. */
static void test_drop_without_spool(void **state) {
    rec r;
    rec_init(&r);
    r.fail_first = 1u << 30;
    secdet_engine *e = engine_new();
    secdet_sink_opts o;
    secdet_sink_opts_init(&o);
    o.queue_max = 10;
    o.backoff_ms = 60000; /* stays in backoff for the whole test */
    o.max_attempts = 0;
    secdet_sink *s = NULL;
    assert_int_equal(secdet_sink_callback(on_delivery, &r, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    push_n(e, 1, 100, "e");
    assert_int_equal(secdet_drain(e, 50), SECDET_ERR_TIMEOUT);
    secdet_sink_stats st;
    secdet_sink_stats_get(e, 0, &st);
    assert_int_equal(st.accepted, st.pending + st.dropped);
    assert_true(st.dropped >= 100 - 10 - 1);
    secdet_engine_free(e);
    sd_rec_free(&r);
}

static void test_filters(void **state) {
    rec high, tagged, all;
    rec_init(&high);
    rec_init(&tagged);
    rec_init(&all);
    secdet_engine *e = engine_new();
    secdet_sink_opts o;
    secdet_sink *s = NULL;
    secdet_sink_opts_init(&o);
    o.name = "high-only";
    o.min_severity = SECDET_SEVERITY_HIGH;
    assert_int_equal(secdet_sink_callback(on_delivery, &high, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    secdet_sink_opts_init(&o);
    o.name = "low-tag";
    const char *tags[] = {"nope", "t.lo*"};
    o.tags = tags;
    o.ntags = 2;
    assert_int_equal(secdet_sink_callback(on_delivery, &tagged, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    secdet_sink_opts_init(&o);
    o.name = "high-only"; /* taken */
    assert_int_equal(secdet_sink_callback(on_delivery, &all, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_ERR_EXISTS);
    assert_int_equal(secdet_sink_callback(on_delivery, &all, NULL, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    assert_string_equal(secdet_sink_name(e, 2), "callback-2");
    push_n(e, 1, 5, "e");
    push_n(e, 6, 8, "l");
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);
    assert_in_order(&high, 1, 5);
    assert_in_order(&tagged, 6, 8);
    assert_in_order(&all, 1, 8);
    secdet_sink_stats st;
    secdet_sink_stats_get(e, 1, &st);
    assert_int_equal(st.filtered, 5);
    assert_int_equal(st.accepted, 3);
    secdet_engine_free(e);
    sd_rec_free(&high);
    sd_rec_free(&tagged);
    sd_rec_free(&all);
}

static void test_async_vtable(void **state) {
    rec r;
    rec_init(&r);
    r.fail_first = 2;
    secdet_engine *e = engine_new();
    secdet_sink_opts o;
    secdet_sink_opts_init(&o);
    o.max_in_flight = 8;
    o.backoff_ms = 1;
    o.backoff_max_ms = 4;
    secdet_sink *s = NULL;
    assert_int_equal(secdet_sink_new(&async_vt, &r, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    push_n(e, 1, 200, "e");
    assert_int_equal(secdet_drain(e, 20000), SECDET_OK);
    /* Several in flight at once complete out of order, but every one is
     * delivered once, and the ones that failed were retried. */
    assert_int_equal(rec_count(&r), 200);
    int seen[201] = {0};
    for (size_t i = 0; i < r.n; i++) seen[atoi(r.ids[i])]++;
    for (int i = 1; i <= 200; i++) assert_int_equal(seen[i], 1);
    secdet_engine_free(e);
    assert_true(r.closed);
    sd_rec_free(&r);
}

static void test_from_json(void **state) {
    secdet_sink *s = NULL;
    secdet_diagnostics *d = NULL;
    const char *bad[][2] = {
        {"[]", "not a JSON object"},
        {"{\"type\":\"pager\"}", "type: unknown"},
        {"{\"type\":\"file\"}", "path: required"},
        {"{\"type\":\"stdout\",\"colour\":1}", "unknown key \"colour\""},
        {"{\"type\":\"stdout\",\"min_severity\":\"urgent\"}", "min_severity"},
        {"{\"type\":\"stdout\",\"backoff_ms\":100,\"backoff_max_ms\":10}", "backoff_max_ms"},
        {"{\"type\":\"stdout\",\"tags\":[1]}", "tags"},
        {"{\"type\":\"stdout\",\"spool_fsync\":\"sometimes\"}", "spool_fsync"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(secdet_sink_from_json(bad[i][0], strlen(bad[i][0]), &s, &d), SECDET_ERR_INVALID_ARG);
        secdet_diagnostic g;
        assert_int_equal(secdet_diagnostics_get(d, 0, &g), SECDET_OK);
        if (!strstr(g.message, bad[i][1])) fail_msg("%s: got '%s'", bad[i][0], g.message);
        secdet_diagnostics_free(d);
    }
    char *dir = tmpdir();
    char json[512], path[300];
    snprintf(path, sizeof path, "%s/alerts.jsonl", dir);
    snprintf(json, sizeof json,
             "{\"type\":\"file\",\"name\":\"f\",\"path\":\"%s\",\"max_bytes\":400,\"keep\":2,"
             "\"min_severity\":\"high\"}",
             path);
    assert_int_equal(secdet_sink_from_json(json, strlen(json), &s, &d), SECDET_OK);
    assert_null(d);
    secdet_engine *e = engine_new();
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    push_n(e, 1, 20, "e");
    push_n(e, 21, 22, "l");
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);
    secdet_engine_free(e);
    /* Rotation: one alert per file (each is longer than 400/2), keep 2. */
    char p1[320], p3[320];
    snprintf(p1, sizeof p1, "%s.1", path);
    snprintf(p3, sizeof p3, "%s.3", path);
    assert_int_equal(count_lines(path), 1);
    assert_int_equal(count_lines(p1), 1);
    assert_int_equal(access(p3, F_OK), -1);
    FILE *f = fopen(path, "r");
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_non_null(strstr(line, "\"n\":20"));
    rm_rf(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),           cmocka_unit_test(test_retry_keeps_order),
        cmocka_unit_test(test_dead_letter),        cmocka_unit_test(test_spool_replay),
        cmocka_unit_test(test_drop_without_spool), cmocka_unit_test(test_filters),
        cmocka_unit_test(test_async_vtable),       cmocka_unit_test(test_from_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
