/* delivery.h — the delivery layer behind every sink (delivery.c) and the
 * thread it runs on (hub.c). Internal to src/sink and the engine.
 *
 * A dq (delivery queue) belongs to one sink. Producers (the thread that
 * pushes events) call sd_dq_offer; everything else runs on the hub's thread:
 * taking records from the in-memory ring or, past it, from the spool, in
 * seq order; calling the sink's emit; retries with backoff and jitter;
 * dead letters; acking the spool. docs/sinks.md tells the whole story.
 */
#ifndef SECDET_SINK_DELIVERY_H
#define SECDET_SINK_DELIVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "secdet.h"
#include "sink/sink_int.h"

typedef struct dq dq;

/* ---- delivery.c ---- */
/* Makes the queue of `sink` (opening its spool; replay starts when the hub
 * pumps it). 0, or -1 with a message in err (SECDET_ERR_* in *st). */
int sd_dq_new(secdet_sink *sink, hub *h, dq **out, secdet_status *st, char *err, size_t errlen);
/* Producer side, any thread: filter, journal, queue. Never blocks on I/O
 * of the sink. */
void sd_dq_offer(dq *q, const secdet_alert *alert);
/* Producer side, at the end of a push: writes the spool records staged by
 * sd_dq_offer (one write for the whole push). */
void sd_dq_commit(dq *q);
/* Hub thread: handle completions, then emit while the sink has room. */
void sd_dq_service(dq *q);
/* Any thread: nothing pending (every record delivered or dead-lettered). */
bool sd_dq_quiet(dq *q);
/* Any thread, cheap: the spool takes no records and queue_max of them wait
 * in memory: the engine takes no more input until this clears. */
bool sd_dq_saturated(dq *q);
/* Any thread: the spool takes no records now, so records accepted since it
 * failed may be only in memory (held) until it writes them again. */
bool sd_dq_holding(dq *q);
void sd_dq_stats(dq *q, secdet_sink_stats *out);
/* Hub thread, at shutdown: stop emitting; true while emits are outstanding. */
bool sd_dq_stop(dq *q);
/* Hub thread: call the sink's flush (and fsync the spool). */
void sd_dq_flush(dq *q);
/* Hub thread, at shutdown after sd_dq_stop: close the sink and the queue's
 * timer (completions may still arrive while the loop runs their closes). */
void sd_dq_close(dq *q);
/* Once the loop has closed every handle: free every record and the queue. */
void sd_dq_destroy(dq *q);
/* Hub thread: a sink that retries on its own (a digest: many records, one
 * request) tells of a failed attempt, for the stats (retries, failing,
 * last_error). While failing the queue emits one record at a time, so no
 * more join a digest that cannot be delivered; its first success ends it. */
void sd_dq_attempt_failed(dq *q, const char *why);
/* Hub thread (sink_swap.c): the queue's sink; the configuration waiting to
 * replace its type's part (NULL: none); setting it returns the one it
 * replaces. sd_dq_service installs it once no emit is in flight. */
secdet_sink *sd_dq_sink(dq *q);
secdet_sink *sd_dq_swap_pending(dq *q);
secdet_sink *sd_dq_set_swap(dq *q, secdet_sink *next);
/* delivery_hold.c. Hub thread (or at shutdown, the thread freeing the hub):
 * writes the records held in memory to the spool if it takes them now. */
void sd_dq_journal_held(dq *q);
/* At shutdown, once the loop is closed: one log line on what was not
 * delivered and where it is kept (or that it is lost). */
void sd_dq_report_left(dq *q);

/* ---- hub.c ---- */
int sd_hub_new(hub **out, secdet_sink_log_fn log, void *log_user);
/* Adds a queue (the hub services it from now on). 0 or -1. */
int sd_hub_add(hub *h, dq *q);
/* Wakes the hub thread (any thread). */
void sd_hub_wake(hub *h);
/* True on the hub's thread. */
bool sd_hub_on_thread(const hub *h);
/* Runs fn(arg) on the hub thread and waits for it. */
void sd_hub_call(hub *h, void (*fn)(void *arg), void *arg);
/* Waits (any thread but the hub's) until every queue is quiet; then flushes
 * every sink and syncs the spools. SECDET_OK or SECDET_ERR_TIMEOUT. */
secdet_status sd_hub_drain(hub *h, int64_t timeout_ms);
/* Tells waiters in sd_hub_drain to look again (hub thread, after progress). */
void sd_hub_progress(hub *h);
void sd_hub_log(hub *h, const char *sink, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Stops delivery and the thread, closes every sink, says what each left
 * undelivered and where (the log), frees everything. */
void sd_hub_free(hub *h);
size_t sd_hub_count(const hub *h);
dq *sd_hub_queue(const hub *h, size_t i);
const char *sd_dq_name(const dq *q);

#endif
