/* delivery_hold.c — when a sink's spool cannot take records (a full disk,
 * spool_max_bytes): they wait in memory, in order, and are journaled once
 * the spool takes them again; when queue_max of them wait, the sink is
 * saturated and the engine takes no more input until it has room
 * (backpressure). Also the log lines that tell an operator so, and what is
 * left when the engine is freed.
 *
 * Promises:
 *  - Nothing is dropped for want of spool space: a record the spool could
 *    not take is held, and what a failed write had staged comes back into
 *    memory too (sd_spool_unstage).
 *  - Held records are delivered in seq order with the others, and each is
 *    journaled or delivered: sd_dq_journal_held writes them, oldest first, as
 *    soon as the spool takes records — tried every second, and whenever an
 *    ack freed space (delivery.c: ack).
 *  - Held records live only in memory: a process killed meanwhile loses
 *    them (docs/sinks.md says so); at engine free they get one more try,
 *    and the last log line says how many were lost.
 *  - last_error says what is true now: while held, how many wait in memory
 *    (a failed attempt meanwhile does not replace it: sd_dq_failure_error).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink/delivery_int.h"

#define RETRY_MS      1000  /* journal_held while the spool takes nothing */
#define DROP_LOG_MS   10000 /* at most one line about drops per this */
#define JOURNAL_BATCH 65536

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool sd_dq_holding(dq *q) {
    pthread_mutex_lock(&q->mu);
    bool held = q->held;
    pthread_mutex_unlock(&q->mu);
    return held;
}

void sd_dq_held_update(dq *q) {
    atomic_store_explicit(&q->saturated, q->held && q->unj >= q->cap, memory_order_relaxed);
}

/* unj from the ring: its held records are its newest (mu held). */
static void recount(dq *q) {
    uint32_t n = 0;
    while (n < q->count && q->ring[(q->head + q->count - 1 - n) % q->ring_cap]->seq > q->journaled) n++;
    q->unj = n;
    sd_dq_held_update(q);
}

static void held_error(dq *q) {
    char msg[160];
    snprintf(msg, sizeof msg, "spool: %s: %" PRIu32 " alert(s) held in memory", strerror(q->spool_errno), q->unj);
    sd_dq_set_error(q, msg);
}

/* While held, a failed attempt leaves last_error saying what is held (the
 * count of now), as secdet.h promises: a sink that is down is what fills a
 * spool, so its failures come all the time meanwhile, and a reader of the
 * stats would see one or the other depending on when it looks (the next
 * service wrote the held line again). The failure has its own log line. */
void sd_dq_failure_error(dq *q, const char *why) {
    if (q->held)
        held_error(q);
    else
        sd_dq_set_error(q, why);
}

/* A record a failed write had staged: into the ring, unless it is there
 * already (or was taken, or is done): only records placed only on disk
 * have a seq above the ring's newest. */
static void reclaim(void *user, const spool_rec *r) {
    dq *q = user;
    if (r->seq <= q->last_ring_seq) return;
    secdet_delivery *d = sd_dq_record_new(q, r->seq, (secdet_severity)r->severity, r->id, r->payload, r->len);
    if (d && sd_dq_ring_put(q, d, true)) return;
    sd_dq_record_free(d);
    q->st.pending--;
    q->st.dropped++;
}

void sd_dq_spool_failed(dq *q, int rc) {
    q->held = true;
    atomic_store_explicit(&q->wrote_ok, false, memory_order_relaxed);
    q->spool_errno = rc < 0 ? -rc : EIO;
    sd_spool_unstage(q->sp, reclaim, q);
    q->journaled = sd_spool_last_seq(q->sp);
    q->staged = q->write_wanted = false;
    q->staged_bytes = 0;
    recount(q);
    held_error(q);
}

static void recovered(dq *q, uint32_t n);

/* Appends d unless it is journaled already; commits each JOURNAL_BATCH
 * bytes (so a disk with some room takes part of them). 0 or -errno. */
static int journal_one(dq *q, const secdet_delivery *d, size_t *batch, uint32_t *n) {
    if (d->seq <= q->journaled) return 0;
    int rc = sd_spool_append_at(q->sp, d->seq, (uint8_t)d->severity, d->id, d->json, d->len);
    if (rc) return rc;
    ++*n;
    if ((*batch += d->len + 64) < JOURNAL_BATCH) return 0;
    *batch = 0;
    if ((rc = sd_spool_commit(q->sp)) == 0) q->journaled = d->seq;
    return rc;
}

void sd_dq_journal_held(dq *q) {
    pthread_mutex_lock(&q->mu);
    if (!q->held) {
        pthread_mutex_unlock(&q->mu);
        return;
    }
    /* Taken records come before the ring's, each in seq order. */
    size_t batch = 0;
    uint32_t n = 0;
    int rc = 0;
    for (uint32_t i = 0; i < q->nout && !rc; i++) rc = journal_one(q, q->out[i], &batch, &n);
    for (uint32_t i = 0; i < q->count && !rc; i++)
        rc = journal_one(q, q->ring[(q->head + i) % q->ring_cap], &batch, &n);
    if (!rc && batch) rc = sd_spool_commit(q->sp);
    if (rc) {
        sd_dq_spool_failed(q, rc); /* what was written stays; the rest waits for the next try */
        pthread_mutex_unlock(&q->mu);
        return;
    }
    /* Spooling again. With nothing to write (all of it was delivered from
     * memory meanwhile) that is not proven yet: the next write says (sd_dq_report). */
    q->held = false;
    q->journaled = q->next_seq;
    q->unj = 0;
    sd_dq_held_update(q);
    if (n) atomic_store_explicit(&q->wrote_ok, true, memory_order_relaxed);
    pthread_mutex_unlock(&q->mu);
    if (n) recovered(q, n);
}

static void recovered(dq *q, uint32_t n) {
    pthread_mutex_lock(&q->mu);
    char msg[160];
    snprintf(msg, sizeof msg, "spool: %s (recovered)", strerror(q->spool_errno));
    sd_dq_set_error(q, msg);
    pthread_mutex_unlock(&q->mu);
    q->rep_held = q->rep_saturated = false;
    if (n)
        sd_hub_log(q->h, q->sink->name,
                   "spool: writing again: %" PRIu32 " alert(s) held in memory are in the spool now", n);
    else
        sd_hub_log(q->h, q->sink->name, "spool: writing again (what was held in memory was delivered meanwhile)");
}

static void on_retry(uv_timer_t *t) {
    dq *q = t->data;
    sd_dq_journal_held(q);
    sd_dq_service(q);
    sd_hub_progress(q->h);
}

void sd_dq_report(dq *q) {
    pthread_mutex_lock(&q->mu);
    bool held = q->held, sat = sd_dq_saturated(q);
    uint32_t unj = q->unj;
    int err = q->spool_errno;
    uint64_t dropped = q->st.dropped;
    if (held) held_error(q); /* the count of now */
    pthread_mutex_unlock(&q->mu);
    const char *name = q->sink->name;
    /* One line when the spool fails, one when it writes again, and one the
     * first time the memory queue fills meanwhile: not one per toggle. */
    if (held && !q->rep_held) {
        sd_hub_log(q->h, name, "spool: %s: %" PRIu32 " alert(s) held in memory", strerror(err), unj);
        q->rep_held = true;
    }
    if (sat && !q->rep_saturated) {
        sd_hub_log(q->h, name,
                   "memory queue full: %" PRIu32 " alert(s) wait in memory, not in the spool (queue_max); inputs wait "
                   "until the sink delivers or the spool takes them",
                   unj);
        q->rep_saturated = true;
    }
    if (!held && q->rep_held && atomic_load_explicit(&q->wrote_ok, memory_order_relaxed)) recovered(q, 0);
    if (held && !q->retrying) {
        uv_timer_start(&q->retry, on_retry, RETRY_MS, RETRY_MS);
        q->retrying = true;
    } else if (!held && q->retrying) {
        uv_timer_stop(&q->retry);
        q->retrying = false;
    }
    uint64_t now = mono_ms();
    if (dropped > q->rep_dropped && (!q->rep_drop_ms || now - q->rep_drop_ms >= DROP_LOG_MS)) {
        if (q->sp)
            sd_hub_log(q->h, name, "%" PRIu64 " alert(s) dropped: out of memory (%" PRIu64 " in all)",
                       dropped - q->rep_dropped, dropped);
        else
            sd_hub_log(q->h, name,
                       "%" PRIu64 " alert(s) dropped: the memory queue is full (queue_max %" PRIu32
                       ") and there is no spool (%" PRIu64 " in all)",
                       dropped - q->rep_dropped, q->cap, dropped);
        q->rep_dropped = dropped;
        q->rep_drop_ms = now;
    }
}

void sd_dq_report_left(dq *q) {
    uint64_t lost = q->held_lost;
    pthread_mutex_lock(&q->mu);
    uint64_t pending = q->st.pending, dropped = q->st.dropped;
    if (q->held) {
        lost += q->unj;
        for (uint32_t i = 0; i < q->nout; i++) lost += q->out[i]->seq > q->journaled;
    }
    int err = q->spool_errno;
    pthread_mutex_unlock(&q->mu);
    const char *name = q->sink->name;
    if (dropped > q->rep_dropped) sd_hub_log(q->h, name, "%" PRIu64 " alert(s) dropped in all", dropped);
    if (!pending) return;
    if (!q->sp)
        sd_hub_log(q->h, name, "%" PRIu64 " alert(s) not delivered and lost: no spool", pending);
    else if (!lost)
        sd_hub_log(q->h, name, "%" PRIu64 " alert(s) not delivered; kept in the spool %s for the next start", pending,
                   q->sink->spool_dir);
    else
        sd_hub_log(q->h, name,
                   "%" PRIu64 " alert(s) not delivered: %" PRIu64 " kept in the spool %s for the next start, %" PRIu64
                   " lost (held in memory: the spool could not take them: %s)",
                   pending, pending > lost ? pending - lost : 0, q->sink->spool_dir, lost, strerror(err));
}
