/* delivery.c — one sink's delivery queue: at least once, in order, bounded.
 * The producer side is in delivery_offer.c, this is the hub side: taking
 * records in seq order, emitting, outcomes, acking, the life cycle.
 *
 * Records get a seq when offered. With a spool, every record is journaled
 * first (write-ahead) and the spool is acked up to the highest seq below
 * which everything is delivered or dead-lettered, so a restart replays
 * exactly the unfinished tail. In memory, a ring holds up to queue_max
 * records ready to emit; a record that finds it full (or arrives while older
 * ones are only on disk: `overflow`) stays only in the spool and is read back
 * in order. Without a spool it is dropped (counted, logged). When the spool
 * cannot take a record (a full disk, spool_max_bytes) the record is held in
 * the ring instead, and so is every later one until the spool takes them
 * again: delivery_hold.c, and delivery_int.h for where a record lives.
 *
 * On the hub thread, records taken for delivery live in `out` (in flight, or
 * waiting for a retry) until done. A failure puts the whole sink in backoff
 * (one timer): ordering is kept, and a dead endpoint sees one probe per
 * backoff, not a storm; while failing, only one emit is in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "sink/delivery_int.h"
#include "sink/sink_secrets.h"
#include "util/buf.h"

const char *sd_dq_name(const dq *q) { return q->sink->name; }
secdet_sink *sd_dq_sink(dq *q) { return q->sink; }
secdet_sink *sd_dq_swap_pending(dq *q) { return q->swap; }
secdet_sink *sd_dq_set_swap(dq *q, secdet_sink *next) {
    secdet_sink *prev = q->swap;
    q->swap = next;
    return prev;
}

void sd_dq_set_error(dq *q, const char *msg) {
    size_t n = strlen(msg);
    if (n >= sizeof q->st.last_error) n = sizeof q->st.last_error - 1;
    memcpy(q->st.last_error, msg, n);
    q->st.last_error[n] = 0;
}

void sd_dq_attempt_failed(dq *q, const char *why) {
    pthread_mutex_lock(&q->mu);
    q->st.retries++;
    q->st.failing = 1;
    sd_dq_set_error(q, why);
    pthread_mutex_unlock(&q->mu);
}

/* ---- Hub side: taking, acking ------------------------------------------------------ */

/* Takes the ring's head (mu held). */
static secdet_delivery *pop_head(dq *q) {
    secdet_delivery *d = q->ring[q->head];
    q->head = (q->head + 1) % q->ring_cap;
    q->count--;
    if (d->seq > q->journaled && q->unj) {
        q->unj--;
        sd_dq_held_update(q);
    }
    return d;
}

/* The next record to emit that has not been taken, in seq order, or NULL:
 * the ring's head, or the first record after last_taken on disk when older
 * records may be only there (`overflow`), whichever seq comes first. Seqs
 * are consecutive, so a head that follows last_taken needs no disk read. */
static secdet_delivery *take(dq *q) {
    for (;;) {
        pthread_mutex_lock(&q->mu);
        secdet_delivery *d = q->count ? q->ring[q->head] : NULL;
        bool overflow = q->overflow;
        if (d && (!overflow || d->seq == q->last_taken + 1)) {
            pop_head(q);
            pthread_mutex_unlock(&q->mu);
            q->last_taken = d->seq;
            return d;
        }
        pthread_mutex_unlock(&q->mu);
        if (!overflow) return NULL;
        /* Read the last seq first: if nothing is found after last_taken, we
         * are caught up unless a producer appended since (after a recovery,
         * seqs at the end may be missing: last_seq is then never reached). */
        pthread_mutex_lock(&q->mu);
        uint64_t last = sd_spool_last_seq(q->sp);
        pthread_mutex_unlock(&q->mu);
        spool_rec rec;
        int rc = sd_spool_next(q->sp, q->last_taken, &rec);
        if (rc == 1) {
            pthread_mutex_lock(&q->mu);
            d = q->count && q->ring[q->head]->seq <= rec.seq ? pop_head(q) : NULL;
            pthread_mutex_unlock(&q->mu);
            if (d) { /* the ring's head comes first (or is the same record) */
                free(rec.payload);
                q->last_taken = d->seq;
                return d;
            }
            if (!(d = calloc(1, sizeof *d))) {
                free(rec.payload);
                return NULL;
            }
            d->q = q;
            d->seq = rec.seq;
            d->severity = (secdet_severity)rec.severity;
            memcpy(d->id, rec.id, sizeof d->id);
            d->json = rec.payload;
            d->len = rec.len;
            q->last_taken = rec.seq;
            return d;
        }
        if (rc < 0) {
            /* Reading writes what is staged first: when that fails, the
             * records come back to memory and the read is tried again. */
            pthread_mutex_lock(&q->mu);
            bool staged = sd_spool_staged(q->sp) > 0;
            if (staged) sd_dq_spool_failed(q, rc);
            pthread_mutex_unlock(&q->mu);
            if (staged) continue;
            return NULL; /* a read error: try again on the next service */
        }
        pthread_mutex_lock(&q->mu);
        bool caught_up = sd_spool_last_seq(q->sp) == last;
        if (caught_up) {
            q->overflow = false;
            uint64_t skip = last; /* skip the missing tail, never a record in the ring */
            if (q->count && q->ring[q->head]->seq <= skip) skip = q->ring[q->head]->seq - 1;
            if (skip > q->last_taken) q->last_taken = skip;
        }
        pthread_mutex_unlock(&q->mu);
    }
}

static void ack(dq *q) {
    if (!q->sp) return;
    uint64_t low = q->nout ? q->out[0]->seq - 1 : q->last_taken;
    if (low > q->acked) {
        uint64_t before = sd_spool_bytes(q->sp);
        if (sd_spool_ack(q->sp, low) == 0) q->acked = low;
        /* Room again on a full disk: the held records need not wait for the
         * retry timer. */
        if (q->retrying && sd_spool_bytes(q->sp) < before) sd_dq_journal_held(q);
    }
}

static void out_remove(dq *q, secdet_delivery *d) {
    for (uint32_t i = 0; i < q->nout; i++) {
        if (q->out[i] == d) {
            memmove(q->out + i, q->out + i + 1, (q->nout - i - 1) * sizeof *q->out);
            q->nout--;
            return;
        }
    }
}

/* ---- Outcomes ---------------------------------------------------------------------- */

/* Opened like the spool's own files: 0600, alerts are not for everyone. */
static FILE *open_dead_letter(const char *path) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (fd >= 0 && !f) close(fd);
    return f;
}

static void dead_letter(dq *q, secdet_delivery *d, const char *why) {
    const char *path = q->sink->dead_letter;
    if (path && !q->dead) q->dead = open_dead_letter(path);
    if (q->dead) {
        buf b;
        sd_buf_init(&b);
        sd_buf_puts(&b, "{\"sink\":");
        sd_buf_json_string(&b, q->sink->name, strlen(q->sink->name));
        sd_buf_puts(&b, ",\"id\":");
        sd_buf_json_string(&b, d->id, strlen(d->id));
        sd_buf_printf(&b, ",\"attempts\":%u,\"error\":", d->attempt);
        sd_buf_json_string(&b, why, strlen(why));
        sd_buf_printf(&b, ",\"time\":%lld,\"alert\":", (long long)time(NULL));
        sd_buf_append(&b, d->json, d->len);
        sd_buf_puts(&b, "}\n");
        if (!b.oom) fwrite(b.data, 1, b.len, q->dead);
        fflush(q->dead);
        sd_buf_free(&b);
    }
    sd_hub_log(q->h, q->sink->name, "alert %s dead-lettered after %u attempt(s): %s", d->id, d->attempt, why);
    pthread_mutex_lock(&q->mu);
    q->st.dead_lettered++;
    q->st.pending--;
    pthread_mutex_unlock(&q->mu);
}

static uint64_t next_rand(dq *q) {
    q->rng ^= q->rng << 13;
    q->rng ^= q->rng >> 7;
    q->rng ^= q->rng << 17;
    return q->rng;
}

/* Exponential backoff with jitter: the delay for the given attempt, in
 * [cap/2, cap] where cap = min(backoff_max, backoff * 2^(attempt-1)). */
static uint64_t backoff_ms(dq *q, unsigned attempt) {
    uint64_t cap = q->sink->opts.backoff_ms ? q->sink->opts.backoff_ms : 1;
    for (unsigned i = 1; i < attempt && cap < q->sink->opts.backoff_max_ms; i++) cap *= 2;
    if (cap > q->sink->opts.backoff_max_ms) cap = q->sink->opts.backoff_max_ms;
    return cap / 2 + next_rand(q) % (cap - cap / 2 + 1);
}

static void on_timer(uv_timer_t *t) {
    dq *q = t->data;
    q->backoff = false;
    sd_dq_service(q);
    sd_hub_progress(q->h);
}

static void start_backoff(dq *q, uint64_t delay) {
    q->backoff = true;
    uv_timer_start(&q->timer, on_timer, delay, 0);
}

static void finish(dq *q, secdet_delivery *d) {
    q->nflight--;
    const char *why = d->error[0] ? d->error : "failed";
    if (d->result == SECDET_SINK_OK) {
        out_remove(q, d);
        pthread_mutex_lock(&q->mu);
        q->st.delivered++;
        q->st.pending--;
        q->st.failing = 0;
        pthread_mutex_unlock(&q->mu);
        sd_dq_record_free(d);
    } else if (d->result == SECDET_SINK_PERMANENT ||
               (q->sink->opts.max_attempts && d->attempt >= q->sink->opts.max_attempts) || q->stopping) {
        if (q->stopping) { /* shutting down: it stays in the spool for the next start */
            if (q->sp && d->seq > q->journaled) q->held_lost++; /* ... unless it was held */
            out_remove(q, d);
            sd_dq_record_free(d);
            return;
        }
        out_remove(q, d);
        char msg[260];
        if (d->result == SECDET_SINK_PERMANENT)
            snprintf(msg, sizeof msg, "%s", why);
        else
            snprintf(msg, sizeof msg, "gave up after %u attempts: %s", d->attempt, why);
        pthread_mutex_lock(&q->mu);
        sd_dq_set_error(q, msg);
        pthread_mutex_unlock(&q->mu);
        dead_letter(q, d, msg);
        sd_dq_record_free(d);
    } else {
        uint64_t delay = backoff_ms(q, d->attempt);
        if (d->retry_after_ms > 0 && (uint64_t)d->retry_after_ms > delay) delay = (uint64_t)d->retry_after_ms;
        pthread_mutex_lock(&q->mu);
        q->st.retries++;
        q->st.failing = 1;
        sd_dq_set_error(q, why);
        pthread_mutex_unlock(&q->mu);
        sd_hub_log(q->h, q->sink->name, "alert %s attempt %u failed: %s; retrying in %" PRIu64 " ms", d->id, d->attempt,
                   why, delay);
        d->waiting = true;
        if (!q->backoff || uv_timer_get_due_in(&q->timer) < delay) start_backoff(q, delay);
    }
    ack(q);
}

static void drain_done(dq *q) {
    pthread_mutex_lock(&q->mu);
    secdet_delivery *d = q->done_head;
    q->done_head = q->done_tail = NULL;
    pthread_mutex_unlock(&q->mu);
    while (d) {
        secdet_delivery *next = d->next;
        d->next = NULL;
        finish(q, d);
        d = next;
    }
}

void secdet_delivery_done(secdet_delivery *d, const secdet_delivery_result *r) {
    if (!d) return;
    dq *q = d->q;
    d->result = r ? r->result : SECDET_SINK_RETRY;
    d->retry_after_ms = r ? r->retry_after_ms : 0;
    snprintf(d->error, sizeof d->error, "%s", r && r->error ? r->error : "");
    pthread_mutex_lock(&q->mu);
    if (q->done_tail)
        q->done_tail->next = d;
    else
        q->done_head = d;
    q->done_tail = d;
    pthread_mutex_unlock(&q->mu);
    /* Also from the hub thread (an HTTP completion): the wake is what makes
     * the queue look at its completions and emit the next record. */
    sd_hub_wake(q->h);
}

/* ---- Pumping ------------------------------------------------------------------------ */

static bool out_push(dq *q, secdet_delivery *d) {
    if (q->nout == q->cap_out) {
        uint32_t cap = q->cap_out ? q->cap_out * 2 : 8;
        secdet_delivery **o = realloc(q->out, cap * sizeof *o);
        if (!o) return false;
        q->out = o;
        q->cap_out = cap;
    }
    q->out[q->nout++] = d; /* taken in seq order: stays sorted */
    return true;
}

/* The oldest record waiting for a retry, else a new one. */
static secdet_delivery *next_to_emit(dq *q, uint32_t window) {
    for (uint32_t i = 0; i < q->nout; i++)
        if (q->out[i]->waiting) return q->out[i];
    /* A new one only while fewer than `window` records lie between the
     * oldest unfinished (the ack stops before it) and the newest taken: a
     * restart repeats at most that many, even when a slow request holds
     * the ack back while later ones complete. */
    if (q->nout && q->last_taken - q->out[0]->seq + 1 >= window) return NULL;
    secdet_delivery *d = take(q);
    if (d && !out_push(q, d)) { /* out of memory: it is still in the spool, if any */
        sd_dq_record_free(d);
        return NULL;
    }
    return d;
}

void sd_dq_service(dq *q) {
    if (!q->timer_init) { /* made here: the hub thread owns the loop */
        uv_timer_init(sd_hub_loop(q->h), &q->timer);
        uv_timer_init(sd_hub_loop(q->h), &q->retry);
        q->timer.data = q->retry.data = q;
        q->timer_init = true;
    }
    drain_done(q);
    pthread_mutex_lock(&q->mu);
    bool write = q->write_wanted;
    q->write_wanted = false;
    pthread_mutex_unlock(&q->mu);
    /* A failure stays staged: the next commit tries again and reports it. */
    if (write && sd_spool_write_behind(q->sp) == 0) atomic_store_explicit(&q->wrote_ok, true, memory_order_relaxed);
    if (!q->stopping) sd_dq_report(q);
    if (q->swap && !q->stopping) {
        if (q->nflight) return; /* the old part's emits end first; each end wakes the hub */
        sd_sink_swap_install(q->sink, q->swap);
        q->swap = NULL;
        q->attached = q->opened = false;
        sd_hub_log(q->h, q->sink->name, "reconfigured: delivering with the new configuration");
        if (q->backoff) { /* the new configuration is tried at once */
            uv_timer_stop(&q->timer);
            q->backoff = false;
        }
    }
    if (q->stopping || q->backoff) return; /* the timer services it; wakes stay pending */
    pthread_mutex_lock(&q->mu);
    q->wake_pending = false;
    pthread_mutex_unlock(&q->mu);
    if (!q->opened) {
        const secdet_sink_vtable *vt = q->sink->def.vt;
        secdet_status st = SECDET_OK;
        if (q->sink->def.attach && !q->attached) {
            if (q->sink->def.attach(q->sink->def.self, q->h) == 0)
                q->attached = true;
            else
                st = SECDET_ERR_NOMEM;
        }
        if (st == SECDET_OK && vt->open) st = vt->open(q->sink->def.self);
        if (st != SECDET_OK) {
            pthread_mutex_lock(&q->mu);
            q->st.failing = 1;
            sd_dq_set_error(q, "open failed");
            pthread_mutex_unlock(&q->mu);
            sd_hub_log(q->h, q->sink->name, "open failed: %s", secdet_strerror(st));
            start_backoff(q, backoff_ms(q, 1));
            return;
        }
        q->opened = true;
    }
    uint32_t max = q->sink->opts.max_in_flight ? q->sink->opts.max_in_flight : 1;
    unsigned budget = 4096; /* then yield to the other sinks and come back */
    while (budget-- && !q->backoff) {
        pthread_mutex_lock(&q->mu);
        bool failing = q->st.failing;
        pthread_mutex_unlock(&q->mu);
        if (q->nflight >= (failing ? 1 : max)) break;
        secdet_delivery *d = next_to_emit(q, max);
        if (!d) break;
        d->waiting = false;
        d->attempt++;
        d->result = SECDET_SINK_RETRY;
        d->error[0] = 0;
        q->nflight++;
        q->sink->def.vt->emit(q->sink->def.self, d);
        drain_done(q);
    }
    if (budget == (unsigned)-1) sd_hub_wake(q->h);
    ack(q);
}

/* ---- Life cycle ---------------------------------------------------------------------- */

int sd_dq_new(secdet_sink *sink, hub *h, dq **out, secdet_status *st, char *err, size_t errlen) {
    dq *q = calloc(1, sizeof *q);
    if (!q) goto nomem;
    q->sink = sink;
    q->h = h;
    q->cap = q->ring_cap = sink->opts.queue_max ? sink->opts.queue_max : 10000;
    q->ring = calloc(q->cap, sizeof *q->ring);
    if (!q->ring) goto nomem;
    pthread_mutex_init(&q->mu, NULL);
    q->rng = (uint64_t)(uintptr_t)q ^ (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
    if (!q->rng) q->rng = 1;
    if (sink->spool_dir) {
        spool_opts so = {0};
        const char *f = sink->spool_fsync ? sink->spool_fsync : "interval";
        so.fsync = strcmp(f, "never") == 0    ? SPOOL_FSYNC_NEVER
                   : strcmp(f, "always") == 0 ? SPOOL_FSYNC_ALWAYS
                                              : SPOOL_FSYNC_INTERVAL;
        so.fsync_ms = sink->opts.spool_fsync_ms;
        so.max_bytes = sink->opts.spool_max_bytes;
        int rc = sd_spool_open(sink->spool_dir, &so, &q->sp, err, errlen);
        if (rc < 0) {
            *st = rc == -ENOMEM ? SECDET_ERR_NOMEM : SECDET_ERR_IO;
            pthread_mutex_destroy(&q->mu);
            free(q->ring);
            free(q);
            return -1;
        }
        q->acked = q->last_taken = sd_spool_acked(q->sp);
        q->next_seq = q->journaled = sd_spool_last_seq(q->sp);
        q->st.pending = sd_spool_pending(q->sp);
        q->overflow = q->st.pending > 0;
        if (q->st.pending) sd_hub_log(h, sink->name, "replaying %" PRIu64 " alert(s) from the spool", q->st.pending);
    }
    *out = q;
    return 0;
nomem:
    if (q) free(q->ring);
    free(q);
    *st = SECDET_ERR_NOMEM;
    snprintf(err, errlen, "out of memory");
    return -1;
}

bool sd_dq_quiet(dq *q) {
    pthread_mutex_lock(&q->mu);
    bool quiet = q->st.pending == 0;
    pthread_mutex_unlock(&q->mu);
    return quiet;
}

void sd_dq_stats(dq *q, secdet_sink_stats *out) {
    pthread_mutex_lock(&q->mu);
    *out = q->st;
    out->in_flight = q->nflight; /* read racily: a snapshot */
    pthread_mutex_unlock(&q->mu);
    if (q->sp) {
        out->spool_bytes = sd_spool_bytes(q->sp);
        out->spool_corrupt = sd_spool_corrupt(q->sp);
    }
}

void sd_dq_flush(dq *q) {
    drain_done(q);
    if (q->opened && q->sink->def.vt->flush) q->sink->def.vt->flush(q->sink->def.self);
    if (q->sp) sd_spool_sync(q->sp);
    if (q->dead) fflush(q->dead);
}

bool sd_dq_stop(dq *q) {
    /* A sink holding records that are not in flight (a digest) lets them go first. */
    if (!q->stopping && q->sink->def.stopping && q->sink->def.self) q->sink->def.stopping(q->sink->def.self);
    q->stopping = true;
    drain_done(q);
    return q->nflight > 0;
}

void sd_dq_close(dq *q) {
    drain_done(q);
    secdet_sink_free(q->swap); /* never opened */
    q->swap = NULL;
    if (q->sink->def.vt->close) q->sink->def.vt->close(q->sink->def.self);
    q->sink->def.self = NULL;
    if (q->timer_init) {
        uv_close((uv_handle_t *)&q->timer, NULL);
        uv_close((uv_handle_t *)&q->retry, NULL);
    }
}

void sd_dq_destroy(dq *q) {
    drain_done(q);
    for (uint32_t i = 0; i < q->nout; i++) sd_dq_record_free(q->out[i]);
    free(q->out);
    for (uint32_t i = 0; i < q->count; i++) sd_dq_record_free(q->ring[(q->head + i) % q->ring_cap]);
    free(q->ring);
    if (q->sp) sd_spool_close(q->sp);
    if (q->dead) fclose(q->dead);
    pthread_mutex_destroy(&q->mu);
    sd_sink_free_strings(q->sink);
    free(q->sink);
    free(q);
}
