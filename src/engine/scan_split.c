/* scan_split.c — the threads of a split secdet_scan_file (scan_jobs.h).
 *
 * Thread i reads range i of the file with its reader engine. Stateless
 * rules alert there. A stateful rule's match does not go into the reader's
 * state: it is forwarded (outer.h, sd_engine_set_forward, as Kafka's stage 1
 * does) and kept, with the reader's newest event time before it, in the
 * bucket of correlator hash(rule, group key) mod jobs — every match of one
 * group in one bucket, so one correlator holds the whole of each group's
 * state (docs/scale-out.md partitions so too).
 *
 * Once its range is read, thread i is correlator i: it takes bucket i of
 * range 0, then of range 1, ..., waiting for each range to be read, and
 * before each match moves its event time to the reader's newest time before
 * that match (sd_engine_advance), and after each range to the range's
 * newest time. So each correlator sees its groups' matches in the order one
 * engine would have, at the event times one engine would have had: the same
 * lateness, windows, sequences and throttles, hence the same alerts, ids
 * included. Moving straight to a later time, skipping the times between its
 * own matches, delivers what falls due at once rather than step by step:
 * the same alerts. No correlator waits for another, so the tail that one
 * correlator was (issue 22) is spread over every thread.
 *
 * Alerts of every engine and malformed lines go to the caller's engine one
 * at a time (run->mu): its callbacks and sinks see one thread at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "engine/scan_jobs.h"
#include "util/hash.h"

#define SJ_WINDOW ((size_t)4 << 20) /* bytes mapped at a time: one push each */

static int grow(void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * size);
    if (q == NULL) return -1;
    *p = q;
    *cap = n;
    return 0;
}

static void on_forward(void *user, const engine_forward *f) {
    sj_worker *w = user;
    size_t rl = strlen(f->rule) + 1, sl = strlen(f->source) + 1, need = rl + sl + f->key_len + f->len;
    uint64_t h = hash_bytes(f->rule, rl) * 31 + hash_bytes(f->key, f->key_len);
    sj_bucket *b = &w->buckets[h % w->run->jobs];
    if (w->oom || grow((void **)&b->v, &b->cap, b->n + 1, sizeof *b->v) != 0 ||
        grow((void **)&w->arena, &w->acap, w->alen + need, 1) != 0) {
        w->oom = true;
        return;
    }
    sj_fwd *r = &b->v[b->n++];
    if (!sd_engine_newest_time(w->reader, &r->before)) r->before = INT64_MIN;
    r->time_ns = f->time_ns;
    r->at = w->alen;
    r->len = f->len;
    r->key_len = f->key_len;
    char *d = w->arena + w->alen;
    memcpy(d, f->rule, rl);
    memcpy(d + rl, f->source, sl);
    if (f->key_len) memcpy(d + rl + sl, f->key, f->key_len);
    if (f->len) memcpy(d + rl + sl + f->key_len, f->json, f->len);
    w->alen += need;
}

static void on_alert(void *user, const secdet_alert *alert) {
    sj_run *run = user;
    pthread_mutex_lock(&run->mu);
    sd_engine_hand_out(run->e, alert);
    pthread_mutex_unlock(&run->mu);
}

static uint64_t newlines_before(int fd, size_t end) {
    char chunk[65536];
    uint64_t lines = 0;
    for (size_t at = 0; at < end;) {
        size_t want = end - at < sizeof chunk ? end - at : sizeof chunk;
        ssize_t n = pread(fd, chunk, want, (off_t)at);
        if (n <= 0) break;
        for (const char *p = chunk, *stop = chunk + n; (p = memchr(p, '\n', (size_t)(stop - p))) != NULL; p++) {
            lines++;
        }
        at += (size_t)n;
    }
    return lines;
}

/* A malformed line of range i, told with its number in the whole file (the
 * newlines before the range are counted when the first one comes). */
static void on_malformed(void *user, const char *source, uint64_t where, const char *message) {
    sj_worker *w = user;
    if (!w->lines_known) {
        w->lines_before = w->begin ? newlines_before(w->run->fd, w->begin) : 0;
        w->lines_known = true;
    }
    char prefix[32], text[1024];
    int plen = snprintf(prefix, sizeof prefix, "line %llu: ", (unsigned long long)where);
    if (message && where && plen > 0 && strncmp(message, prefix, (size_t)plen) == 0) { /* the decoder's own number */
        snprintf(text, sizeof text, "line %llu: %s", (unsigned long long)(where + w->lines_before), message + plen);
        message = text;
    }
    pthread_mutex_lock(&w->run->mu);
    sd_engine_report(w->run->e, source, where ? where + w->lines_before : 0, message); /* counted by the reader */
    pthread_mutex_unlock(&w->run->mu);
}

static void on_corr_error(void *user, const char *source, uint64_t where, const char *message) {
    sj_run *run = user;
    pthread_mutex_lock(&run->mu);
    sd_engine_report(run->e, source, where, message);
    pthread_mutex_unlock(&run->mu);
}

/* The caller's sinks write what they staged for their spools (write-ahead,
 * as each push does): after each window a reader evaluates, and at the end
 * of a correlator. */
static void commit(sj_run *run) {
    if (!run->e->hub) return;
    pthread_mutex_lock(&run->mu);
    sd_engine_commit(run->e);
    pthread_mutex_unlock(&run->mu);
}

static void wait_sinks(secdet_engine *e) {
    while (sd_engine_sinks_saturated(e)) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int sd_sj_read_range(sj_run *run, secdet_engine *to, size_t begin, size_t end, bool *decode) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t at = begin;
    while (at < end) {
        size_t base = at - at % page;
        size_t len = end - base < SJ_WINDOW ? end - base : SJ_WINDOW;
        void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, run->fd, (off_t)base);
        if (p == MAP_FAILED) return errno ? errno : EIO;
        (void)madvise(p, len, MADV_SEQUENTIAL);
        wait_sinks(run->e);
        secdet_status st = secdet_push(to, run->source, (const unsigned char *)p + (at - base), base + len - at);
        while (st == SECDET_ERR_BUSY) { /* `to` is the caller's engine: its own sinks */
            (void)secdet_drain(to, 100);
            st = secdet_push(to, run->source, (const unsigned char *)p + (at - base), base + len - at);
        }
        munmap(p, len);
        if (to != run->e) commit(run);
        if (st == SECDET_ERR_DECODE)
            *decode = true;
        else if (st != SECDET_OK)
            return -1;
        at = base + len;
    }
    secdet_status st = secdet_source_end(to, run->source);
    if (to != run->e) commit(run);
    if (st == SECDET_ERR_DECODE) *decode = true;
    return st == SECDET_OK || st == SECDET_ERR_DECODE ? 0 : -1;
}

/* Correlator w->index: bucket w->index of every range, in file order. */
static void correlate(sj_worker *w) {
    sj_run *run = w->run;
    for (size_t k = 0; k < run->jobs; k++) {
        sj_worker *from = &run->w[k];
        pthread_mutex_lock(&run->mu);
        while (!from->done) pthread_cond_wait(&run->cv, &run->mu);
        pthread_mutex_unlock(&run->mu);
        const sj_bucket *b = &from->buckets[w->index];
        for (size_t i = 0; i < b->n; i++) {
            const sj_fwd *r = &b->v[i];
            const char *rule = from->arena + r->at;
            const char *source = rule + strlen(rule) + 1;
            const char *key = source + strlen(source) + 1;
            if (r->before != INT64_MIN) sd_engine_advance(w->corr, r->before);
            (void)sd_engine_push_forwarded_group(w->corr, source, rule, key, r->key_len, r->time_ns, key + r->key_len,
                                                 r->len);
        }
        if (from->has_newest) sd_engine_advance(w->corr, from->newest);
    }
    (void)secdet_flush(w->corr);
    commit(run);
}

static void *work(void *arg) {
    sj_worker *w = arg;
    sj_run *run = w->run;
    w->err = sd_sj_read_range(run, w->reader, w->begin, w->end, &w->decode);
    w->has_newest = sd_engine_newest_time(w->reader, &w->newest);
    pthread_mutex_lock(&run->mu);
    w->done = true;
    pthread_cond_broadcast(&run->cv);
    pthread_mutex_unlock(&run->mu);
    if (w->corr) correlate(w);
    return NULL;
}

bool sd_sj_run_threads(sj_run *run) {
    size_t started = 0;
    bool ok = true;
    for (size_t i = 0; i < run->jobs; i++) {
        sj_worker *w = &run->w[i];
        secdet_set_alert_callback(w->reader, on_alert, run);
        secdet_set_error_callback(w->reader, on_malformed, w);
        if (w->corr) {
            sd_engine_set_forward(w->reader, on_forward, w);
            sd_engine_set_forward_late(w->reader, true);
            secdet_set_alert_callback(w->corr, on_alert, run);
            secdet_set_error_callback(w->corr, on_corr_error, run);
        }
    }
    for (; started < run->jobs; started++) {
        if (pthread_create(&run->w[started].thread, NULL, work, &run->w[started]) != 0) {
            ok = false;
            break;
        }
    }
    if (!ok) { /* the correlators started wait for ranges no thread reads: mark them read (nothing) */
        pthread_mutex_lock(&run->mu);
        for (size_t i = started; i < run->jobs; i++) {
            run->w[i].done = true;
            run->w[i].err = -1;
        }
        pthread_cond_broadcast(&run->cv);
        pthread_mutex_unlock(&run->mu);
    }
    for (size_t i = 0; i < started; i++) pthread_join(run->w[i].thread, NULL);
    return ok;
}

void sd_sj_worker_clear(sj_worker *w) {
    if (w->buckets) {
        for (size_t p = 0; p < w->run->jobs; p++) free(w->buckets[p].v);
    }
    free(w->buckets);
    free(w->arena);
    secdet_engine_free(w->reader);
    secdet_engine_free(w->corr);
}
