/* sink_secrets.h — what secret references mean for sinks beyond reading
 * them (sink_config.c does that): where in a sink object they may stand,
 * and replacing a running sink's configuration when a re-read changed it
 * (secdet run's SIGHUP; sink_swap.c). Internal to the library and the CLI.
 */
#ifndef SECDET_SINK_SINK_SECRETS_H
#define SECDET_SINK_SINK_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "secdet.h"

struct hub;

typedef struct cJSON cJSON;

/* Calls fn on every reference in a sink object where secdet_sink_from_json
 * reads one (a top-level member; a member of "headers" or "properties"),
 * e.g. to make a relative {"file": ...} path absolute. Stops at, and
 * returns, the first non-zero fn result. */
int sd_sink_json_each_ref(cJSON *sink, int (*fn)(cJSON *ref, void *arg), void *arg);

/*
 * Gives sink i of the engine the configuration of `next` (a sink made by
 * secdet_sink_from_json from the same object, its references read again;
 * never added), when it differs from the one the sink runs with: *changed
 * says whether it did. The engine owns `next` from the call on.
 *
 * The sink keeps its name, delivery options, queue, spool, pending alerts
 * and counters; only its type's part (URL, secret, headers, properties...)
 * is replaced, on the delivery thread, once none of the old part's
 * deliveries is in flight (new ones wait meanwhile), so an attempt never
 * mixes the two. A sink waiting in backoff is tried again at once. A
 * second call before the swap replaces the waiting configuration.
 * SECDET_ERR_INVALID_ARG when i is out of range or the sinks are not of
 * the same type, or were not made from JSON. Any thread but the delivery
 * thread; not from a sink's callback.
 */
secdet_status sd_sink_reconfigure(struct hub *h, size_t i, secdet_sink *next, bool *changed);

/* Delivery thread, no emit of s in flight (delivery.c): closes s's type
 * part and moves next's into s; frees next. */
void sd_sink_swap_install(secdet_sink *s, secdet_sink *next);

#endif
