/* test_sink_busy_stress.c — backpressure under contention: what
 * test_sink_busy.c checks once, here while the delivery thread keeps
 * failing attempts and the pushing thread keeps reading the stats.
 *
 * While the spool cannot write, secdet.h promises that last_error says so
 * ("spool: <reason>: N alert(s) held in memory"). A sink that is down is
 * what fills a spool, so attempts fail all along meanwhile; each used to
 * write its own message into last_error until the next service wrote the
 * held line again, and a reader saw one or the other depending on when it
 * looked (test_sink_busy failed so once on a loaded machine). The push
 * loops check, round after round, that every alert arrives once, in order,
 * whatever the timing of the two threads. Each test is bounded by counts of
 * attempts and pushes, not by time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secdet.h"

static const char *RULES = "rule every {\n"
                           "    meta { severity = high }\n"
                           "    on jsonl\n"
                           "    where .kind == \"e\"\n"
                           "}\n";

enum { MAX_GOT = 4096 };

/* A sink that is down until told otherwise, recording what it gets; with
 * `jitter`, some calls sleep a little so the two threads interleave
 * differently from round to round. */
typedef struct rec {
    pthread_mutex_t mu;
    atomic_bool down;
    atomic_uint seed;
    bool jitter;
    int got[MAX_GOT];
    size_t n;
} rec;

/* What a test uses; freed by the teardown even when the test failed, engine
 * first (its delivery thread writes into r), after the helper thread. */
typedef struct fixture {
    rec r;
    secdet_engine *e;
    char dir[64];
    pthread_t helper;
    bool helper_started;
} fixture;

static unsigned next_rand(rec *r) {
    unsigned x = atomic_load(&r->seed);
    x = x * 1103515245u + 12345u;
    atomic_store(&r->seed, x);
    return x >> 16;
}

static secdet_sink_result on_delivery(void *user, const secdet_delivery *d) {
    rec *r = user;
    if (r->jitter && next_rand(r) % 8 == 0) usleep(next_rand(r) % 500);
    if (atomic_load(&r->down)) return SECDET_SINK_RETRY;
    size_t len;
    const char *json = secdet_delivery_json(d, &len);
    const char *p = strstr(json, "\"n\":");
    pthread_mutex_lock(&r->mu);
    if (r->n < MAX_GOT) r->got[r->n++] = p ? atoi(p + 4) : -1;
    pthread_mutex_unlock(&r->mu);
    return SECDET_SINK_OK;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    pthread_mutex_init(&f->r.mu, NULL);
    atomic_store(&f->r.down, true);
    *state = f;
    return 0;
}

static void end_round(fixture *f) {
    if (f->helper_started) pthread_join(f->helper, NULL);
    f->helper_started = false;
    secdet_engine_free(f->e);
    f->e = NULL;
    if (f->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        int rc = system(cmd);
        (void)rc;
        f->dir[0] = 0;
    }
}

static int teardown(void **state) {
    fixture *f = *state;
    end_round(f);
    pthread_mutex_destroy(&f->r.mu);
    free(f);
    return 0;
}

/* A fresh engine whose one sink is down: its spool, spool_max bytes; its
 * memory, queue_max held alerts. */
static secdet_engine *start_round(fixture *f, uint32_t queue_max, uint64_t spool_max) {
    snprintf(f->dir, sizeof f->dir, "/tmp/secdet-busy-stress-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    pthread_mutex_lock(&f->r.mu);
    f->r.n = 0;
    pthread_mutex_unlock(&f->r.mu);
    atomic_store(&f->r.down, true);
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    f->e = e;
    assert_int_equal(secdet_load_rules_string(e, "t.secdet", RULES, strlen(RULES), NULL), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    secdet_sink_opts o;
    secdet_sink_opts_init(&o);
    o.name = "s";
    o.spool_dir = f->dir;
    o.spool_fsync = "never";
    o.spool_max_bytes = spool_max;
    o.queue_max = queue_max;
    o.backoff_ms = 1; /* attempts fail as often as the sink allows */
    o.backoff_max_ms = 2;
    o.max_attempts = 0;
    secdet_sink *s = NULL;
    assert_int_equal(secdet_sink_callback(on_delivery, &f->r, &o, &s), SECDET_OK);
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

static void assert_says_held(const secdet_sink_stats *k, uint64_t attempts) {
    if (!strstr(k->last_error, "held in memory"))
        fail_msg("held in memory, %llu failed attempt(s) later, last_error said: %s", (unsigned long long)attempts,
                 k->last_error);
}

/* ---- Tests ----------------------------------------------------------------------- */

static void test_last_error_says_held_while_attempts_keep_failing(void **state) {
    fixture *f = *state;
    secdet_engine *e = start_round(f, 5, 2048);
    int n = 0;
    secdet_status st = SECDET_OK;
    while (n < 2000 && (st = push_one(e, n + 1)) == SECDET_OK) n++;
    assert_int_equal(st, SECDET_ERR_BUSY);
    /* Read the stats as fast as this thread can while the sink fails 300
     * more attempts (one every 1-2 ms): every read says what is held. */
    secdet_sink_stats k = sink_stats(e);
    uint64_t start = k.retries;
    long reads = 0;
    while (k.retries < start + 300) {
        assert_says_held(&k, k.retries - start);
        reads++;
        if ((reads & 15) == 0) sched_yield();
        k = sink_stats(e);
    }
    assert_says_held(&k, k.retries - start);
    assert_true(k.failing);
    assert_int_equal(k.pending, (uint64_t)n);
    assert_int_equal(push_one(e, n + 1), SECDET_ERR_BUSY); /* still held, still refused */

    /* Back: everything once, in order, and last_error no longer says held. */
    atomic_store(&f->r.down, false);
    assert_int_equal(secdet_drain(e, 20000), SECDET_OK);
    k = sink_stats(e);
    assert_null(strstr(k.last_error, "held in memory"));
    assert_int_equal(k.delivered, (uint64_t)n);
    assert_int_equal(f->r.n, (size_t)n);
    for (int i = 0; i < n; i++) assert_int_equal(f->r.got[i], i + 1);
}

static void *bring_back(void *arg) {
    rec *r = arg;
    usleep(20000 + next_rand(r) % 60000);
    atomic_store(&r->down, false);
    return NULL;
}

/* The push loop of `secdet scan` and the bindings (on BUSY: drain a little,
 * the same bytes again), with the sink coming back on another thread at a
 * different moment each round, sometimes slowed: at every BUSY while the
 * sink is down, last_error says what is held; in the end every alert
 * arrived once, in order. */
static void test_push_loops_that_wait_on_busy_lose_and_repeat_nothing(void **state) {
    fixture *f = *state;
    static const uint32_t queue_max[] = {3, 10, 20, 7, 10, 1};
    static const uint64_t spool_max[] = {4096, 4096, 8192, 2048, 16384, 4096};
    enum { ALERTS = 600 };
    atomic_store(&f->r.seed, (unsigned)getpid());
    for (size_t round = 0; round < sizeof queue_max / sizeof queue_max[0]; round++) {
        f->r.jitter = round % 2 == 1;
        secdet_engine *e = start_round(f, queue_max[round], spool_max[round]);
        assert_int_equal(pthread_create(&f->helper, NULL, bring_back, &f->r), 0);
        f->helper_started = true;
        for (int i = 1; i <= ALERTS; i++) {
            secdet_status st;
            while ((st = push_one(e, i)) == SECDET_ERR_BUSY) {
                secdet_sink_stats k = sink_stats(e);
                if (atomic_load(&f->r.down)) assert_says_held(&k, k.retries);
                (void)secdet_drain(e, 2);
            }
            assert_int_equal(st, SECDET_OK);
        }
        assert_int_equal(secdet_drain(e, 20000), SECDET_OK);
        secdet_sink_stats k = sink_stats(e);
        assert_int_equal(k.dropped, 0);
        assert_int_equal(k.delivered, ALERTS);
        pthread_mutex_lock(&f->r.mu);
        size_t got = f->r.n;
        pthread_mutex_unlock(&f->r.mu);
        assert_int_equal(got, ALERTS);
        for (int i = 0; i < ALERTS; i++) assert_int_equal(f->r.got[i], i + 1);
        end_round(f);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_last_error_says_held_while_attempts_keep_failing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_loops_that_wait_on_busy_lose_and_repeat_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
