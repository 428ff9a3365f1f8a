/* delivery_offer.c — the producer side of a delivery queue (delivery.h):
 * what the thread that pushes does for each alert, on its own thread, never
 * waiting for the sink: filter (routing: sink_filter.c), number, journal (staged; one commit per
 * push), put in the ring — or only on disk when the ring is full or older
 * records are only there (`overflow`), or held in memory when the spool
 * cannot take it (delivery_hold.c) — and wake the hub once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/delivery_int.h"

secdet_delivery *sd_dq_record_new(dq *q, uint64_t seq, secdet_severity sev, const char *id, const char *json,
                                  size_t len) {
    secdet_delivery *d = calloc(1, sizeof *d);
    char *copy = malloc(len + 1);
    if (!d || !copy) {
        free(d);
        free(copy);
        return NULL;
    }
    memcpy(copy, json, len);
    copy[len] = 0;
    d->q = q;
    d->seq = seq;
    d->severity = sev;
    snprintf(d->id, sizeof d->id, "%s", id ? id : "");
    d->json = copy;
    d->len = len;
    return d;
}

void sd_dq_record_free(secdet_delivery *d) {
    if (!d) return;
    free(d->json);
    free(d);
}

bool sd_dq_ring_put(dq *q, secdet_delivery *d, bool grow) {
    if (q->count == q->ring_cap) {
        if (!grow || q->ring_cap > UINT32_MAX / 2) return false;
        uint32_t nc = q->ring_cap * 2;
        secdet_delivery **r = malloc((size_t)nc * sizeof *r);
        if (!r) return false;
        for (uint32_t i = 0; i < q->count; i++) r[i] = q->ring[(q->head + i) % q->ring_cap];
        free(q->ring);
        q->ring = r;
        q->ring_cap = nc;
        q->head = 0;
    }
    q->ring[(q->head + q->count) % q->ring_cap] = d;
    q->count++;
    q->last_ring_seq = d->seq;
    return true;
}

/* An accepted record that cannot be kept anywhere (mu held). */
static void lose(dq *q, const char *why) {
    q->st.pending--;
    q->st.dropped++;
    sd_dq_set_error(q, why);
}

void sd_dq_offer(dq *q, const secdet_alert *a) {
    secdet_severity sev = secdet_alert_severity(a);
    size_t len = 0;
    const char *json = secdet_alert_json(a, &len);
    const char *id = secdet_alert_id(a);
    pthread_mutex_lock(&q->mu);
    if (!sd_sink_filter_wants(q->sink, a)) {
        q->st.filtered++;
        pthread_mutex_unlock(&q->mu);
        return;
    }
    uint64_t seq = ++q->next_seq;
    q->st.accepted++;
    q->st.pending++;
    bool queued = false, want_write = false;
    if (q->sp && !q->held) {
        int rc = sd_spool_append_at(q->sp, seq, (uint8_t)sev, id, json, len);
        if (rc == 0) {
            q->staged = true;
            if ((q->staged_bytes += len + 64) >= 65536 && !q->write_wanted) {
                q->write_wanted = want_write = true;
                q->staged_bytes = 0;
            }
            if (!q->overflow && q->count < q->cap) {
                secdet_delivery *d = sd_dq_record_new(q, seq, sev, id, json, len);
                queued = d && sd_dq_ring_put(q, d, false);
                if (d && !queued) sd_dq_record_free(d);
            }
            if (!queued) q->overflow = true; /* read back from the spool in order */
            queued = true;
        } else {
            sd_dq_spool_failed(q, rc); /* held from now on, this one too */
        }
    }
    if (!queued) {
        secdet_delivery *d = sd_dq_record_new(q, seq, sev, id, json, len);
        if (q->sp) { /* held: memory is all it has, past queue_max too (the engine pushes no more) */
            queued = d && sd_dq_ring_put(q, d, true);
            if (queued) {
                q->unj++;
                sd_dq_held_update(q);
            } else {
                lose(q, "out of memory holding an alert the spool could not take: dropped");
            }
        } else {
            queued = d && q->count < q->cap && sd_dq_ring_put(q, d, false);
            if (!queued) lose(q, "queue full and no spool: alert dropped");
        }
        if (d && !queued) sd_dq_record_free(d);
    }
    /* One wake until the hub services the queue: not a syscall per alert
     * (a drop wakes it too, for its log line). */
    bool wake = want_write || !q->wake_pending;
    if (wake) q->wake_pending = true;
    pthread_mutex_unlock(&q->mu);
    if (wake) sd_hub_wake(q->h);
}

void sd_dq_commit(dq *q) {
    pthread_mutex_lock(&q->mu);
    bool staged = q->staged;
    q->staged = false;
    pthread_mutex_unlock(&q->mu);
    if (!staged) return;
    int rc = sd_spool_commit(q->sp);
    if (rc == 0) atomic_store_explicit(&q->wrote_ok, true, memory_order_relaxed);
    if (rc < 0) {
        pthread_mutex_lock(&q->mu);
        sd_dq_spool_failed(q, rc);
        bool wake = !q->wake_pending;
        q->wake_pending = true;
        pthread_mutex_unlock(&q->mu);
        if (wake) sd_hub_wake(q->h); /* for the log line */
    }
}

bool sd_dq_saturated(dq *q) { return atomic_load_explicit(&q->saturated, memory_order_relaxed); }
