/* sink_swap.c — a running sink takes a new configuration (sink_secrets.h).
 *
 * Why swap rather than remove and add: a sink's queue, spool, pending
 * retries and counters belong to the sink, not to its URL or secret. When a
 * secret rotates, what must change is only what the type's create function
 * built from the configuration (sink_def); the delivery layer's state stays.
 *
 * Everything runs on the delivery thread: the comparison (the running
 * sink's configuration digest is written there by a swap) and the swap
 * itself, which the queue performs at the first service where none of the
 * old part's emits is outstanding (sd_dq_service), so no callback of the old
 * part can come after it is closed.
 */
#include <string.h>

#include "sink/delivery.h"
#include "sink/sink_secrets.h"

typedef struct swap_job {
    dq *q;
    secdet_sink *next;
    bool changed;
    secdet_status st;
} swap_job;

static void swap_on_thread(void *arg) {
    swap_job *j = arg;
    const secdet_sink *cur = sd_dq_swap_pending(j->q) ? sd_dq_swap_pending(j->q) : sd_dq_sink(j->q);
    if (!cur->has_conf_digest || !j->next->has_conf_digest || strcmp(cur->type, j->next->type) != 0) {
        secdet_sink_free(j->next);
        j->st = SECDET_ERR_INVALID_ARG;
        return;
    }
    if (memcmp(cur->conf_digest, j->next->conf_digest, sizeof cur->conf_digest) == 0) {
        secdet_sink_free(j->next); /* the same configuration: nothing to do */
        return;
    }
    /* A configuration waiting for its turn is outdated by this one; it was
     * never opened, so closing it costs nothing. */
    secdet_sink_free(sd_dq_set_swap(j->q, j->next));
    j->changed = true;
    sd_dq_service(j->q); /* at once when nothing is in flight */
}

secdet_status sd_sink_reconfigure(hub *h, size_t i, secdet_sink *next, bool *changed) {
    *changed = false;
    if (!next) return SECDET_ERR_INVALID_ARG;
    dq *q = h ? sd_hub_queue(h, i) : NULL;
    if (!q || next->dq) {
        if (!next->dq) secdet_sink_free(next);
        return SECDET_ERR_INVALID_ARG;
    }
    swap_job j = {q, next, false, SECDET_OK};
    sd_hub_call(h, swap_on_thread, &j);
    *changed = j.changed;
    return j.st;
}

void sd_sink_swap_install(secdet_sink *s, secdet_sink *next) {
    if (s->def.vt && s->def.vt->close && s->def.self) s->def.vt->close(s->def.self);
    s->def = next->def;
    memcpy(s->conf_digest, next->conf_digest, sizeof s->conf_digest);
    s->has_conf_digest = next->has_conf_digest;
    next->def.self = NULL; /* s owns it now */
    secdet_sink_free(next);
}
