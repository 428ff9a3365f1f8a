/* hub.c — the delivery thread: one per engine that has sinks.
 *
 * The thread runs a libuv loop that owns every sink's I/O (the HTTP client
 * of http.c, syslog sockets, backoff timers). Other threads talk to it in
 * two ways only: sd_hub_wake (a uv_async: "new records, or completions, look at
 * the queues") and sd_hub_call (run a function on the thread and wait for it:
 * adding a sink, flushing). sd_hub_drain waits on a condition variable that the
 * thread signals whenever a queue made progress.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "sink/delivery.h"

typedef struct hub_job {
    void (*fn)(void *arg);
    void *arg;
    bool done;
    struct hub_job *next;
} hub_job;

struct hub {
    uv_loop_t loop;
    uv_async_t wake;
    uv_thread_t thread;
    http_client *http;
    pthread_mutex_t mu;  /* jobs, stopping, queue list growth */
    pthread_cond_t cond; /* jobs done, progress */
    hub_job *jobs;
    bool hurry; /* a drain asks the sinks that hold records to send them (hurry_all), without waiting */
    bool stopping;
    uint64_t progress; /* bumped on every sd_hub_progress */
    dq **queues;
    size_t nqueues, cap;
    secdet_sink_log_fn log;
    void *log_user;
};

uv_loop_t *sd_hub_loop(hub *h) { return &h->loop; }
http_client *sd_hub_http(hub *h) { return h->http; }
size_t sd_hub_count(const hub *h) { return h ? h->nqueues : 0; }
dq *sd_hub_queue(const hub *h, size_t i) { return h && i < h->nqueues ? h->queues[i] : NULL; }

bool sd_hub_on_thread(const hub *h) {
    uv_thread_t self = uv_thread_self();
    return uv_thread_equal(&self, &h->thread) != 0;
}

void sd_hub_log(hub *h, const char *sink, const char *fmt, ...) {
    if (!h->log) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    h->log(h->log_user, sink, msg);
}

void sd_hub_progress(hub *h) {
    pthread_mutex_lock(&h->mu);
    h->progress++;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
}

void sd_hub_wake(hub *h) { uv_async_send(&h->wake); }

static void hurry_all(void *arg);

static void run_jobs(hub *h) {
    pthread_mutex_lock(&h->mu);
    hub_job *j = h->jobs;
    h->jobs = NULL;
    bool hurry = h->hurry;
    h->hurry = false;
    pthread_mutex_unlock(&h->mu);
    if (hurry) hurry_all(h);
    while (j) {
        hub_job *next = j->next; /* j lives on the caller's stack: read next first */
        j->fn(j->arg);
        pthread_mutex_lock(&h->mu);
        j->done = true;
        pthread_cond_broadcast(&h->cond);
        pthread_mutex_unlock(&h->mu);
        j = next;
    }
}

static void on_wake(uv_async_t *a) {
    hub *h = a->data;
    run_jobs(h);
    pthread_mutex_lock(&h->mu);
    bool stopping = h->stopping;
    pthread_mutex_unlock(&h->mu);
    if (stopping) {
        uv_stop(&h->loop);
        return;
    }
    for (size_t i = 0; i < h->nqueues; i++) sd_dq_service(h->queues[i]);
    sd_hub_progress(h);
}

static void thread_main(void *arg) {
    hub *h = arg;
    /* Process signals (SIGPIPE from a closed socket, SIGTERM, ...) are the
     * application's business, on its own threads. */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
}

int sd_hub_new(hub **out, secdet_sink_log_fn log, void *log_user) {
    hub *h = calloc(1, sizeof *h);
    if (!h) return -1;
    h->log = log;
    h->log_user = log_user;
    if (uv_loop_init(&h->loop) != 0) {
        free(h);
        return -1;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cond, NULL);
    h->http = sd_http_client_new(&h->loop);
    if (!h->http || uv_async_init(&h->loop, &h->wake, on_wake) != 0) goto fail;
    h->wake.data = h;
    if (uv_thread_create(&h->thread, thread_main, h) != 0) {
        uv_close((uv_handle_t *)&h->wake, NULL);
        goto fail;
    }
    *out = h;
    return 0;
fail:
    if (h->http) sd_http_client_free(h->http);
    while (uv_run(&h->loop, UV_RUN_NOWAIT) != 0) {}
    uv_loop_close(&h->loop);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cond);
    free(h);
    return -1;
}

void sd_hub_call(hub *h, void (*fn)(void *arg), void *arg) {
    if (sd_hub_on_thread(h)) {
        fn(arg);
        return;
    }
    hub_job j = {fn, arg, false, NULL};
    pthread_mutex_lock(&h->mu);
    j.next = h->jobs;
    /* cppcheck-suppress autoVariables ; j lives until the hub thread has run it: we wait for done below */
    h->jobs = &j;
    pthread_mutex_unlock(&h->mu);
    uv_async_send(&h->wake);
    pthread_mutex_lock(&h->mu);
    while (!j.done) pthread_cond_wait(&h->cond, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

typedef struct add_job {
    hub *h;
    dq *q;
    int rc;
} add_job;

static void add_on_thread(void *arg) {
    add_job *a = arg;
    hub *h = a->h;
    if (h->nqueues == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 4;
        dq **qs = realloc(h->queues, cap * sizeof *qs);
        if (!qs) {
            a->rc = -1;
            return;
        }
        /* Readers on other threads (stats, drain) take h->mu. */
        pthread_mutex_lock(&h->mu);
        h->queues = qs;
        h->cap = cap;
        pthread_mutex_unlock(&h->mu);
    }
    pthread_mutex_lock(&h->mu);
    h->queues[h->nqueues++] = a->q;
    pthread_mutex_unlock(&h->mu);
    sd_dq_service(a->q);
    a->rc = 0;
}

int sd_hub_add(hub *h, dq *q) {
    add_job a = {h, q, -1};
    sd_hub_call(h, add_on_thread, &a);
    return a.rc;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void flush_all(void *arg) {
    hub *h = arg;
    for (size_t i = 0; i < h->nqueues; i++) sd_dq_flush(h->queues[i]);
}

/* A drain wants everything delivered now: sinks that hold records (a
 * digest) send them instead of waiting for their time. Each queue is
 * serviced first, so what was accepted before the drain has reached its
 * sink; and the drain asks again while it waits, for what reached a sink
 * later or waited behind a send in flight. */
static void hurry_all(void *arg) {
    hub *h = arg;
    for (size_t i = 0; i < h->nqueues; i++) {
        const secdet_sink *s = sd_dq_sink(h->queues[i]);
        if (!s->def.hurry || !s->def.self) continue;
        sd_dq_service(h->queues[i]);
        s->def.hurry(s->def.self);
    }
}

secdet_status sd_hub_drain(hub *h, int64_t timeout_ms) {
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
    secdet_status st = SECDET_OK;
    for (;;) {
        /* Asked, not waited for: the hub thread may be busy delivering (a
         * slow callback), and the deadline must hold all the same. */
        pthread_mutex_lock(&h->mu);
        h->hurry = true;
        pthread_mutex_unlock(&h->mu);
        uv_async_send(&h->wake);
        bool all = true;
        size_t n = sd_hub_count(h);
        for (size_t i = 0; i < n && all; i++) all = sd_dq_quiet(h->queues[i]);
        if (all) break;
        int64_t now = now_ms();
        if (now >= deadline) {
            st = SECDET_ERR_TIMEOUT;
            break;
        }
        /* Wait for progress, at most 50 ms at a time (a backoff timer may be
         * the next thing to happen, and it does not signal). */
        int64_t wait = deadline - now < 50 ? deadline - now : 50;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        ts.tv_sec += wait / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&h->mu);
        uint64_t seen = h->progress;
        while (h->progress == seen) {
            if (pthread_cond_timedwait(&h->cond, &h->mu, &ts) == ETIMEDOUT) break;
        }
        pthread_mutex_unlock(&h->mu);
    }
    sd_hub_call(h, flush_all, h);
    return st;
}

/* ---- Shutdown ------------------------------------------------------------------ */

static void close_walk(uv_handle_t *handle, void *arg) {
    if (!uv_is_closing(handle)) uv_close(handle, NULL);
}

void sd_hub_free(hub *h) {
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_mutex_unlock(&h->mu);
    uv_async_send(&h->wake);
    uv_thread_join(&h->thread);
    /* The thread is gone: this thread owns the loop now. Give emits already
     * started up to two seconds to finish, then abort HTTP transfers, close
     * every sink, and run the loop until every handle has closed. */
    run_jobs(h);
    /* A last try for records held in memory, while all of them are. */
    for (size_t i = 0; i < h->nqueues; i++) sd_dq_journal_held(h->queues[i]);
    int64_t grace = now_ms() + 2000;
    for (;;) {
        bool busy = false;
        for (size_t i = 0; i < h->nqueues; i++) busy |= sd_dq_stop(h->queues[i]);
        if (!busy || now_ms() >= grace) break;
        uv_run(&h->loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
    sd_http_client_free(h->http);
    h->http = NULL;
    for (size_t i = 0; i < h->nqueues; i++) sd_dq_stop(h->queues[i]);
    for (size_t i = 0; i < h->nqueues; i++) sd_dq_close(h->queues[i]);
    uv_close((uv_handle_t *)&h->wake, NULL);
    while (uv_run(&h->loop, UV_RUN_NOWAIT) != 0) {}
    uv_walk(&h->loop, close_walk, NULL);
    while (uv_run(&h->loop, UV_RUN_NOWAIT) != 0) {}
    uv_loop_close(&h->loop);
    for (size_t i = 0; i < h->nqueues; i++) sd_dq_report_left(h->queues[i]);
    for (size_t i = 0; i < h->nqueues; i++) sd_dq_destroy(h->queues[i]);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cond);
    free(h->queues);
    free(h);
}
