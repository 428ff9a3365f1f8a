/* scan_split.c — the threads of a split secdet_scan_file (scan_jobs.h).
 *
 * The file is cut into more ranges than threads (scan_jobs.c), and each
 * thread, with its own reader engine, reads the next range not yet taken,
 * in file order. Stateless rules alert there. A stateful rule's match does
 * not go into the reader's state: the record the reader's correlator would
 * have kept of it (group key, values, steps, throttle key, the alert's
 * template texts, the event's compact JSON as its sample) is forwarded
 * (outer.h, sd_engine_set_forward_records) and kept, with the reader's
 * newest event time before it, in the range's bucket of correlator
 * hash(rule, group key) mod jobs — every record of one group in one bucket,
 * so one correlator holds the whole of each group's state (docs/scale-out.md
 * partitions so too). The correlator keeps the record as it is
 * (sd_engine_push_record): the event is parsed and its rule run once, by
 * the reader. Two exceptions: an aggregation with a throttle goes to one
 * bucket by rule alone (its throttle's state spans its groups), and a
 * throttled stateless rule's match is forwarded as a match, evaluated again
 * by its correlator (one engine throttles it as each event comes, and builds
 * its alert from the event).
 *
 * Correlator p takes bucket p of range 0, then of range 1, ..., each once
 * the range is read, and before each record moves its event time to the
 * reader's newest time before that record (sd_engine_advance), and after
 * each range to the reader's newest time then. A reader reads its ranges
 * in file order, so its newest time is never past the newest of the file
 * so far, and a correlator's time, the greatest of these, is that newest:
 * each correlator sees its groups' matches in the order one engine would,
 * at the event times one engine would have had — the same lateness,
 * windows, sequences and throttles, hence the same alerts, ids included.
 * (Moving straight to a later time rather than through the times between
 * its own matches delivers what falls due at once rather than step by step:
 * the same alerts.) An event late by its reader's newest time is late for
 * one engine too: the reader drops it (sd_engine_set_forward_late).
 *
 * A free thread feeds a correlator a range when it can (no other thread
 * feeding that correlator, the range read), else reads the next range. So
 * correlation runs beside the reading, and once everything is read only the
 * last ranges' matches are left to correlate: the serial tail one
 * correlator after the readers was (issue 22) is gone, even when one group
 * takes most matches (a partition cannot be split, but its work is spread
 * over the run).
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

/* Copies n bytes to d (n may be 0 with s NULL); the byte after them. */
static char *put(char *d, const char *s, size_t n) {
    if (n) memcpy(d, s, n);
    return d + n;
}

static void on_forward(void *user, const engine_forward *f) {
    sj_range *w = user;
    size_t rl = strlen(f->rule) + 1, sl = strlen(f->source) + 1;
    size_t need = rl + sl + f->key_len + f->vals_len + f->tkey_len + f->aux_len + f->len;
    /* A throttled aggregation's throttle spans its groups: the rule goes to one correlator whole. */
    uint64_t h = hash_bytes(f->rule, rl) * 31 + (f->throttled ? 0 : hash_bytes(f->key, f->key_len));
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
    r->record = f->record;
    r->rule_index = f->rule_index;
    r->vals_len = f->vals_len;
    r->nvals = f->nvals;
    r->mask = f->mask;
    r->tkey_len = f->tkey_len;
    r->aux_len = f->aux_len;
    char *d = put(w->arena + w->alen, f->rule, rl);
    d = put(put(d, f->source, sl), f->key, f->key_len);
    d = put(put(put(d, f->vals, f->vals_len), f->tkey, f->tkey_len), f->aux, f->aux_len);
    (void)put(d, f->json, f->len);
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

/* A malformed line of a range, told with its number in the whole file (the
 * newlines before the range are counted when the first one comes). */
static void on_malformed(void *user, const char *source, uint64_t where, const char *message) {
    sj_range *w = user;
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

int sd_sj_read_range(sj_run *run, secdet_engine *to, const char *source, size_t begin, size_t end, bool *decode) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t at = begin;
    while (at < end) {
        size_t base = at - at % page;
        size_t len = end - base < SJ_WINDOW ? end - base : SJ_WINDOW;
        void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, run->fd, (off_t)base);
        if (p == MAP_FAILED) return errno ? errno : EIO;
        (void)madvise(p, len, MADV_SEQUENTIAL);
        wait_sinks(run->e);
        secdet_status st = secdet_push(to, source, (const unsigned char *)p + (at - base), base + len - at);
        while (st == SECDET_ERR_BUSY) { /* `to` is the caller's engine: its own sinks */
            (void)secdet_drain(to, 100);
            st = secdet_push(to, source, (const unsigned char *)p + (at - base), base + len - at);
        }
        munmap(p, len);
        if (to != run->e) commit(run);
        if (st == SECDET_ERR_DECODE)
            *decode = true;
        else if (st != SECDET_OK)
            return -1;
        at = base + len;
    }
    secdet_status st = secdet_source_end(to, source);
    if (to != run->e) commit(run);
    if (st == SECDET_ERR_DECODE) *decode = true;
    return st == SECDET_OK || st == SECDET_ERR_DECODE ? 0 : -1;
}

/* Feeds correlator p the matches of range r (read), and ends it after the
 * last range. Without the run's lock. */
static void correlate(sj_run *run, sj_part *part, sj_range *from, size_t p) {
    const sj_bucket *b = &from->buckets[p];
    for (size_t i = 0; part->corr && i < b->n; i++) {
        const sj_fwd *r = &b->v[i];
        const char *rule = from->arena + r->at;
        const char *source = rule + strlen(rule) + 1;
        engine_forward f = {.rule = rule, .source = source, .time_ns = r->time_ns, .record = true};
        f.key = source + strlen(source) + 1;
        f.key_len = r->key_len;
        f.vals = f.key + r->key_len;
        f.vals_len = r->vals_len;
        f.nvals = r->nvals;
        f.mask = r->mask;
        f.tkey = f.vals + r->vals_len;
        f.tkey_len = r->tkey_len;
        f.aux = f.tkey + r->tkey_len;
        f.aux_len = r->aux_len;
        f.json = f.aux + r->aux_len;
        f.len = r->len;
        f.rule_index = r->rule_index;
        if (r->before != INT64_MIN) sd_engine_advance(part->corr, r->before);
        if (r->record)
            (void)sd_engine_push_record(part->corr, &f);
        else /* a throttled stateless rule's match */
            (void)sd_engine_push_forwarded_group(part->corr, source, rule, f.key, f.key_len, f.time_ns, f.json, f.len);
    }
    if (part->corr && from->has_newest) sd_engine_advance(part->corr, from->newest);
    free(from->buckets[p].v);
    from->buckets[p].v = NULL;
    if (part->corr && from == &run->ranges[run->nranges - 1]) {
        (void)secdet_flush(part->corr);
    }
    commit(run);
}

/* Reads range r with this thread's reader (NULL: it could not be made). */
static void read_one(sj_run *run, secdet_engine *reader, sj_range *r) {
    if (!reader) {
        r->err = -1;
        return;
    }
    r->reader = reader;
    secdet_set_error_callback(reader, on_malformed, r);
    if (run->stateful) sd_engine_set_forward(reader, on_forward, r); /* records: sd_engine_set_forward_records */
    r->err = sd_sj_read_range(run, reader, run->src->name, r->begin, r->end, &r->decode);
    r->has_newest = sd_engine_newest_time(reader, &r->newest);
}

/* The next correlation a free thread can do: part p, not being fed, whose
 * next range is read. Under run->mu. */
static sj_part *correlation_ready(sj_run *run, size_t *p) {
    if (!run->stateful) return NULL;
    for (size_t i = 0; i < run->jobs; i++) {
        sj_part *part = &run->parts[i];
        if (part->ready && !part->busy && part->next < run->nranges && run->ranges[part->next].done) {
            *p = i;
            return part;
        }
    }
    return NULL;
}

static bool all_correlated(const sj_run *run) {
    if (!run->stateful) return true;
    for (size_t i = 0; i < run->jobs; i++)
        if (run->parts[i].next < run->nranges) return false;
    return true;
}

typedef struct sj_thread {
    sj_run *run;
    size_t index;
} sj_thread;

static void *work(void *arg) {
    sj_thread *t = arg;
    sj_run *run = t->run;
    /* Each thread makes its own engines: the rules compile in parallel. */
    secdet_engine *reader = sd_sj_engine_like(run);
    if (reader) {
        secdet_set_alert_callback(reader, on_alert, run);
        if (run->stateful) {
            sd_engine_set_forward_late(reader, true);
            sd_engine_set_forward_records(reader, true); /* the correlator keeps them as they are: no second parse */
        }
    }
    secdet_engine *correlator = NULL;
    if (run->stateful) {
        correlator = sd_sj_engine_like(run);
        if (correlator) {
            secdet_set_alert_callback(correlator, on_alert, run);
            secdet_set_error_callback(correlator, on_corr_error, run);
        }
    }
    pthread_mutex_lock(&run->mu);
    run->readers[t->index] = reader;
    if (!reader || (run->stateful && !correlator)) run->nomem = true;
    if (run->stateful) {
        run->parts[t->index].corr = correlator;
        run->parts[t->index].ready = true;
        pthread_cond_broadcast(&run->cv);
    }
    for (;;) {
        size_t p;
        sj_part *part = correlation_ready(run, &p);
        if (part) { /* first: it is what the end of the run waits for, and it frees the matches */
            sj_range *from = &run->ranges[part->next];
            part->busy = true;
            pthread_mutex_unlock(&run->mu);
            correlate(run, part, from, p);
            pthread_mutex_lock(&run->mu);
            part->busy = false;
            part->next++;
            if (--from->corr_left == 0) {
                free(from->arena);
                from->arena = NULL;
            }
            pthread_cond_broadcast(&run->cv);
        } else if (run->next_range < run->nranges) {
            sj_range *r = &run->ranges[run->next_range++];
            pthread_mutex_unlock(&run->mu);
            read_one(run, reader, r);
            pthread_mutex_lock(&run->mu);
            r->done = true;
            pthread_cond_broadcast(&run->cv);
        } else if (all_correlated(run)) {
            break;
        } else {
            pthread_cond_wait(&run->cv, &run->mu);
        }
    }
    pthread_mutex_unlock(&run->mu);
    return NULL;
}

bool sd_sj_run_threads(sj_run *run) {
    sj_thread *t = calloc(run->jobs, sizeof *t);
    pthread_t *th = calloc(run->jobs, sizeof *th);
    size_t started = 0;
    bool ok = t && th;
    for (; ok && started < run->jobs; started++) {
        t[started] = (sj_thread){run, started};
        if (pthread_create(&th[started], NULL, work, &t[started]) != 0) ok = false;
        if (!ok) break;
    }
    if (started < run->jobs) { /* partitions no thread makes: mark them made, without a correlator */
        pthread_mutex_lock(&run->mu);
        for (size_t i = started; run->stateful && i < run->jobs; i++) run->parts[i].ready = true;
        run->nomem = true;
        pthread_cond_broadcast(&run->cv);
        pthread_mutex_unlock(&run->mu);
        if (started == 0) { /* nothing runs: no range is read */
            for (size_t i = 0; i < run->nranges; i++) run->ranges[i].err = -1;
        }
    }
    for (size_t i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(t);
    free(th);
    return ok;
}
