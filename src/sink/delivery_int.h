/* delivery_int.h — the insides of a delivery queue, shared by
 * delivery_offer.c (the producer side), delivery.c (taking, outcomes, life
 * cycle) and delivery_hold.c (what happens when the spool cannot take
 * records: holding them in memory, journaling them later, backpressure, and
 * the log lines that say so).
 *
 * Seqs: every accepted record gets the next seq (next_seq), with or without
 * a spool, journaled or not, so the hub delivers in seq order whether a
 * record is in the ring, only on disk, or both.
 *
 * Where a record lives:
 *  - journaled (seq <= journaled, or appended while !held) and in the ring;
 *  - journaled and only on disk (`overflow`: the ring was full, or older
 *    records were only on disk), read back in order;
 *  - held: not in the spool (seq > journaled), only in the ring — while
 *    `held`, every new record is held, so held seqs always come after the
 *    journaled ones; journal_held writes them once the spool takes records
 *    again. `unj` counts the held records in the ring; at queue_max of them
 *    the sink is saturated and the engine refuses new pushes (SECDET_ERR_BUSY)
 *    until delivery or the spool makes room.
 */
#ifndef SECDET_SINK_DELIVERY_INT_H
#define SECDET_SINK_DELIVERY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "sink/delivery.h"
#include "sink/spool.h"

struct dq {
    secdet_sink *sink;
    hub *h;
    spool *sp;
    pthread_mutex_t mu; /* ring, overflow, seqs, held state, stats, done list */
    secdet_delivery **ring;
    uint32_t cap;      /* queue_max */
    uint32_t ring_cap; /* slots: cap, more only while held records need them */
    uint32_t head, count;
    bool overflow;
    bool wake_pending;      /* a wake was sent that no service has answered yet */
    bool staged;            /* spool appends not yet committed */
    bool write_wanted;      /* enough staged for a background write: the hub writes it */
    size_t staged_bytes;    /* appended since the last write_wanted */
    uint64_t next_seq;      /* the last seq given out */
    uint64_t last_ring_seq; /* the newest record put in the ring */
    /* Held records (delivery_hold.c). */
    bool held;          /* the spool takes no records now: new ones are held */
    int spool_errno;    /* why (held) */
    uint64_t journaled; /* every record up to this seq is in the spool, or done */
    uint32_t unj;       /* held records in the ring */
    atomic_bool saturated;
    atomic_bool wrote_ok;                   /* a spool write succeeded since the last failure */
    secdet_delivery *done_head, *done_tail; /* finished attempts, FIFO */
    secdet_sink_stats st;
    /* Hub thread only. */
    secdet_delivery **out; /* taken, not finished, ascending seq */
    uint32_t nout, cap_out;
    _Atomic uint32_t nflight; /* written here only; sd_dq_stats reads it on any thread */
    uint64_t last_taken, acked;
    uv_timer_t timer; /* backoff */
    uv_timer_t retry; /* journal_held while held */
    bool timer_init, backoff, attached, opened, stopping, retrying;
    bool rep_held, rep_saturated; /* said by the log: the spool failing; the memory queue full (once a failure) */
    uint64_t rep_dropped, rep_drop_ms;
    uint64_t held_lost; /* held records given up at shutdown (finish, stopping) */
    uint64_t rng;
    FILE *dead;
    secdet_sink *swap; /* a new configuration for the sink, waiting for no emit in flight (sink_swap.c) */
};

/* delivery_offer.c (and delivery.c: sd_dq_set_error) */
secdet_delivery *sd_dq_record_new(dq *q, uint64_t seq, secdet_severity sev, const char *id, const char *json,
                                  size_t len);
void sd_dq_record_free(secdet_delivery *d);
void sd_dq_set_error(dq *q, const char *msg); /* mu held */
/* Puts d at the ring's tail (mu held). With `grow`, past queue_max too. */
bool sd_dq_ring_put(dq *q, secdet_delivery *d, bool grow);

/* delivery_hold.c (and sd_dq_journal_held, sd_dq_report_left in delivery.h) */
/* A spool write failed with rc (mu held): the records it could not write
 * come back into the ring, and from now on records are held. */
void sd_dq_spool_failed(dq *q, int rc);
/* A failed attempt's message into last_error (mu held); while held,
 * last_error keeps saying how many alerts wait in memory instead. */
void sd_dq_failure_error(dq *q, const char *why);
/* The saturated flag from held and unj (mu held). */
void sd_dq_held_update(dq *q);
/* Hub thread, every service: log lines for the state changes (the spool
 * failing or recovering, the memory queue full, drops), and the retry timer
 * while held. */
void sd_dq_report(dq *q);

#endif
