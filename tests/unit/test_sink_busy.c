/* test_sink_busy.c — backpressure through the public API: a sink whose spool
 * cannot take more (spool_max_bytes) and which is down holds alerts in
 * memory up to queue_max; then secdet_push and secdet_push_event return
 * SECDET_ERR_BUSY and consume nothing; once the sink is back, delivery
 * clears it by itself, the held alerts are journaled or delivered, and every
 * alert arrives once, in order. The sink log says when the spool failed,
 * when memory filled and when the spool wrote again. Without a spool a full
 * queue never refuses input: it drops, counts and logs.
 *
 * Each test's engine, records and spool live in a fixture that the teardown
 * frees even when the test failed: a failed test once left its engine
 * running, and its delivery thread wrote the failed test's alerts into the
 * next test's records (on the stack where the failed test's had been). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "secdet.h"

static const char *RULES = "rule every {\n"
                           "    meta { severity = high }\n"
                           "    on jsonl\n"
                           "    where .kind == \"e\"\n"
                           "}\n";

/* ---- A sink that is down until told otherwise, recording what it gets ---- */

typedef struct rec {
    pthread_mutex_t mu;
    atomic_bool down;
    int got[4096];
    size_t n;
    char log[8192];
    size_t loglen;
} rec;

static secdet_sink_result on_delivery(void *user, const secdet_delivery *d) {
    rec *r = user;
    if (atomic_load(&r->down)) return SECDET_SINK_RETRY;
    size_t len;
    const char *json = secdet_delivery_json(d, &len);
    const char *p = strstr(json, "\"n\":");
    pthread_mutex_lock(&r->mu);
    if (r->n < sizeof r->got / sizeof r->got[0]) r->got[r->n++] = p ? atoi(p + 4) : -1;
    pthread_mutex_unlock(&r->mu);
    return SECDET_SINK_OK;
}

static void on_log(void *user, const char *sink, const char *message) {
    rec *r = user;
    pthread_mutex_lock(&r->mu);
    int n = snprintf(r->log + r->loglen, sizeof r->log - r->loglen, "%s: %s\n", sink, message);
    if (n > 0 && (size_t)n < sizeof r->log - r->loglen) r->loglen += (size_t)n;
    pthread_mutex_unlock(&r->mu);
}

static bool logged(rec *r, const char *what) {
    pthread_mutex_lock(&r->mu);
    bool yes = strstr(r->log, what) != NULL;
    pthread_mutex_unlock(&r->mu);
    return yes;
}

/* What a test uses; made by setup, freed by teardown (engine first: its
 * delivery thread writes into r). */
typedef struct fixture {
    rec r;
    secdet_engine *e;
    char *dir;
    pthread_t helper; /* a thread of the test's that uses r: joined first */
    bool helper_started;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    pthread_mutex_init(&f->r.mu, NULL);
    atomic_store(&f->r.down, true);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (f->helper_started) pthread_join(f->helper, NULL);
    secdet_engine_free(f->e);
    if (f->dir) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        int rc = system(cmd);
        free(f->dir);
        if (rc != 0) return -1;
    }
    pthread_mutex_destroy(&f->r.mu);
    free(f);
    return 0;
}

/* The engine ends inside the test when the test looks at what it says at
 * the end (the teardown then has nothing to free). */
static void free_engine(fixture *f) {
    secdet_engine_free(f->e);
    f->e = NULL;
}

/* Lines come from the delivery thread when it gets to them: wait (bounded). */
static bool logged_soon(rec *r, const char *what) {
    for (int i = 0; i < 1000 && !logged(r, what); i++) usleep(10000);
    return logged(r, what);
}

static char *tmpdir(fixture *f) {
    char tmpl[] = "/tmp/secdet-busy-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    f->dir = strdup(tmpl);
    assert_non_null(f->dir);
    return f->dir;
}

static secdet_engine *engine_with_sink(fixture *f, const char *spool, uint32_t queue_max, uint64_t spool_max) {
    rec *r = &f->r;
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    f->e = e;
    assert_int_equal(secdet_load_rules_string(e, "t.secdet", RULES, strlen(RULES), NULL), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    assert_int_equal(secdet_set_sink_log(e, on_log, r), SECDET_OK);
    secdet_sink_opts o;
    secdet_sink_opts_init(&o);
    o.name = "s";
    o.spool_dir = spool;
    o.spool_fsync = "never";
    o.spool_max_bytes = spool_max;
    o.queue_max = queue_max;
    o.backoff_ms = 1;
    o.backoff_max_ms = 4;
    o.max_attempts = 0;
    secdet_sink *s = NULL;
    assert_int_equal(secdet_sink_callback(on_delivery, r, &o, &s), SECDET_OK);
    assert_int_equal(secdet_sink_add(e, s), SECDET_OK);
    return e;
}

static secdet_status push_one(secdet_engine *e, int n) {
    char line[96];
    int len = snprintf(line, sizeof line, "{\"kind\":\"e\",\"n\":%d}\n", n);
    return secdet_push(e, "jsonl", line, (size_t)len);
}

static secdet_sink_stats sink_stats(secdet_engine *e) {
    secdet_sink_stats st;
    assert_int_equal(secdet_sink_stats_get(e, 0, &st), SECDET_OK);
    return st;
}

/* ---- Tests ----------------------------------------------------------------------- */

static void test_push_is_refused_when_spool_and_memory_are_full_and_consumes_nothing(void **state) {
    fixture *f = *state;
    rec *r = &f->r;
    char *dir = tmpdir(f);
    /* A few dozen alerts fit in 8 KiB of spool: 20 in the ring as well, the
     * rest only on disk; then 20 more are held in memory. */
    secdet_engine *e = engine_with_sink(f, dir, 20, 8192);
    int n = 0;
    secdet_status st = SECDET_OK;
    while (n < 2000 && (st = push_one(e, n + 1)) == SECDET_OK) n++;
    assert_int_equal(st, SECDET_ERR_BUSY);
    secdet_sink_stats k = sink_stats(e);
    assert_int_equal(k.accepted, (uint64_t)n);
    assert_int_equal(k.pending, (uint64_t)n);
    assert_int_equal(k.dropped, 0);
    assert_true(k.spool_bytes <= 8192);
    assert_non_null(strstr(k.last_error, "held in memory"));
    assert_true(n > 20 && n < 200);

    /* Refused again, and nothing was consumed: not the bytes, not an event,
     * not a partial line kept for later. */
    secdet_stats before, after;
    secdet_stats_get(e, &before);
    assert_int_equal(push_one(e, n + 1), SECDET_ERR_BUSY);
    assert_int_equal(secdet_push(e, "jsonl", "{\"kind\":\"e\",", 12), SECDET_ERR_BUSY);
    assert_int_equal(secdet_push_event(e, "jsonl", "{\"kind\":\"e\",\"n\":0}", 18), SECDET_ERR_BUSY);
    assert_int_equal(secdet_source_end(e, "jsonl"), SECDET_OK); /* ends what was accepted: nothing */
    secdet_stats_get(e, &after);
    assert_int_equal(after.bytes, before.bytes);
    assert_int_equal(after.events, before.events);
    assert_int_equal(sink_stats(e).accepted, (uint64_t)n);
    assert_int_equal(secdet_drain(e, 20), SECDET_ERR_TIMEOUT);
    assert_true(logged_soon(r, "s: spool: No space left on device: "));
    assert_true(logged_soon(r, "s: memory queue full: "));

    /* The sink is back: the engine takes input again by itself. */
    atomic_store(&r->down, false);
    assert_int_equal(secdet_drain(e, 20000), SECDET_OK);
    assert_int_equal(push_one(e, n + 1), SECDET_OK);
    assert_int_equal(secdet_drain(e, 20000), SECDET_OK);
    k = sink_stats(e);
    assert_int_equal(k.delivered, (uint64_t)n + 1);
    assert_int_equal(k.pending, 0);
    assert_int_equal(k.dropped, 0);
    /* Once, in order: ring, disk-only and held alerts merged by seq. */
    assert_int_equal(r->n, (size_t)n + 1);
    for (int i = 0; i < n + 1; i++) assert_int_equal(r->got[i], i + 1);
    free_engine(f);
    assert_true(logged(r, "s: spool: writing again"));
    assert_false(logged(r, "not delivered"));
}

/* The caller's side of backpressure: retry the same bytes after a short
 * drain, as `secdet scan` and the bindings do. Nothing is lost while the
 * sink comes back on another thread. */
static void *bring_back(void *arg) {
    rec *r = arg;
    struct timespec ts = {0, 150 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(&r->down, false);
    return NULL;
}

static void test_a_push_loop_that_waits_on_busy_loses_nothing(void **state) {
    fixture *f = *state;
    rec *r = &f->r;
    char *dir = tmpdir(f);
    secdet_engine *e = engine_with_sink(f, dir, 10, 4096);
    assert_int_equal(pthread_create(&f->helper, NULL, bring_back, r), 0);
    f->helper_started = true;
    int busy = 0;
    for (int i = 1; i <= 1000; i++) {
        secdet_status st;
        while ((st = push_one(e, i)) == SECDET_ERR_BUSY) {
            busy++;
            (void)secdet_drain(e, 10);
        }
        assert_int_equal(st, SECDET_OK);
    }
    pthread_join(f->helper, NULL);
    f->helper_started = false;
    assert_int_equal(secdet_drain(e, 20000), SECDET_OK);
    assert_true(busy > 0);
    assert_int_equal(r->n, 1000);
    for (int i = 0; i < 1000; i++) assert_int_equal(r->got[i], i + 1);
    assert_int_equal(sink_stats(e).dropped, 0);
    free_engine(f);
}

/* Engine free while alerts are held: one last try to journal them (the
 * spool still cannot), then a line says how many are kept and how many lost. */
static void test_engine_free_says_what_is_left_and_where(void **state) {
    fixture *f = *state;
    rec *r = &f->r;
    char *dir = tmpdir(f);
    secdet_engine *e = engine_with_sink(f, dir, 20, 4096);
    int n = 0;
    while (n < 2000 && push_one(e, n + 1) == SECDET_OK) n++;
    secdet_sink_stats k = sink_stats(e);
    free_engine(f);
    char want[512];
    snprintf(want, sizeof want, "s: %d alert(s) not delivered: ", n);
    assert_true(logged(r, want));
    snprintf(want, sizeof want, " kept in the spool %s for the next start, ", dir);
    assert_true(logged(r, want));
    assert_true(logged(r, " lost (held in memory: the spool could not take them: No space left on device)"));
    assert_int_equal(k.dropped, 0);
}

/* Without a spool a full memory queue drops (counted, and said in the log,
 * at most once per 10 s): input is never refused on account of such a sink. */
static void test_without_a_spool_a_full_queue_drops_and_says_so(void **state) {
    fixture *f = *state;
    rec *r = &f->r;
    secdet_engine *e = engine_with_sink(f, NULL, 10, 0);
    for (int i = 1; i <= 100; i++) assert_int_equal(push_one(e, i), SECDET_OK);
    secdet_sink_stats k = sink_stats(e);
    assert_true(k.dropped >= 100 - 10 - 1);
    assert_int_equal(k.accepted, k.pending + k.dropped);
    assert_true(logged_soon(r, "alert(s) dropped: the memory queue is full (queue_max 10) and there is no spool"));
    free_engine(f);
    assert_true(logged(r, "alert(s) not delivered and lost: no spool"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_push_is_refused_when_spool_and_memory_are_full_and_consumes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_push_loop_that_waits_on_busy_loses_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_free_says_what_is_left_and_where, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_a_spool_a_full_queue_drops_and_says_so, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
