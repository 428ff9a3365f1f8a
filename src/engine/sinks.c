/* sinks.c — the engine's side of sinks: adding them, handing every alert to
 * the callback and each sink, draining, stats. The delivery itself is in
 * src/sink. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "sink/delivery.h"
#include "sink/sink_secrets.h"

secdet_status secdet_set_sink_log(secdet_engine *e, secdet_sink_log_fn fn, void *user) {
    if (!e || e->hub) return SECDET_ERR_INVALID_ARG;
    e->sink_log = fn;
    e->sink_log_user = user;
    return SECDET_OK;
}

secdet_status secdet_sink_add(secdet_engine *e, secdet_sink *s) {
    if (!s) return SECDET_ERR_INVALID_ARG;
    if (!e || e->busy || s->dq) {
        if (!s->dq) secdet_sink_free(s);
        return SECDET_ERR_INVALID_ARG;
    }
    size_t n = sd_hub_count(e->hub);
    if (!s->name) {
        char name[64];
        snprintf(name, sizeof name, "%s-%zu", s->type, n);
        if (!(s->name = strdup(name))) {
            secdet_sink_free(s);
            return SECDET_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(sd_dq_name(sd_hub_queue(e->hub, i)), s->name) == 0) {
            secdet_sink_free(s);
            return SECDET_ERR_EXISTS;
        }
    }
    if (!e->hub && sd_hub_new(&e->hub, e->sink_log, e->sink_log_user) != 0) {
        secdet_sink_free(s);
        return SECDET_ERR_NOMEM;
    }
    secdet_status st = SECDET_OK;
    char err[256];
    dq *q = NULL;
    if (sd_dq_new(s, e->hub, &q, &st, err, sizeof err) != 0) {
        if (e->sink_log) e->sink_log(e->sink_log_user, s->name, err);
        secdet_sink_free(s);
        return st;
    }
    s->dq = q;
    if (sd_hub_add(e->hub, q) != 0) {
        sd_dq_close(q);
        sd_dq_destroy(q);
        return SECDET_ERR_NOMEM;
    }
    return SECDET_OK;
}

void sd_engine_hand_out(secdet_engine *e, const secdet_alert *alert) {
    e->stats.alerts++;
    if (e->alert_fn) e->alert_fn(e->alert_user, alert);
    if (e->hub) sd_engine_sinks_offer(e, alert);
}

void sd_engine_commit(secdet_engine *e) {
    size_t n = sd_hub_count(e->hub);
    for (size_t i = 0; i < n; i++) sd_dq_commit(sd_hub_queue(e->hub, i));
}

void sd_engine_sinks_offer(secdet_engine *e, const secdet_alert *a) {
    size_t n = sd_hub_count(e->hub);
    for (size_t i = 0; i < n; i++) sd_dq_offer(sd_hub_queue(e->hub, i), a);
}

bool sd_engine_sinks_saturated(const secdet_engine *e) {
    size_t n = sd_hub_count(e->hub);
    for (size_t i = 0; i < n; i++)
        if (sd_dq_saturated(sd_hub_queue(e->hub, i))) return true;
    return false;
}

bool sd_engine_sinks_holding(const secdet_engine *e) {
    size_t n = sd_hub_count(e->hub);
    for (size_t i = 0; i < n; i++)
        if (sd_dq_holding(sd_hub_queue(e->hub, i))) return true;
    return false;
}

void sd_engine_push_done(secdet_engine *e) {
    e->busy = false;
    sd_engine_commit(e);
}

secdet_status secdet_drain(secdet_engine *e, int64_t timeout_ms) {
    if (!e || e->busy) return SECDET_ERR_INVALID_ARG;
    if (!e->hub) return SECDET_OK;
    return sd_hub_drain(e->hub, timeout_ms);
}

size_t secdet_sink_count(const secdet_engine *e) { return e ? sd_hub_count(e->hub) : 0; }

const char *secdet_sink_name(const secdet_engine *e, size_t i) {
    dq *q = e ? sd_hub_queue(e->hub, i) : NULL;
    return q ? sd_dq_name(q) : NULL;
}

secdet_status secdet_sink_stats_get(const secdet_engine *e, size_t i, secdet_sink_stats *out) {
    dq *q = e ? sd_hub_queue(e->hub, i) : NULL;
    if (!q || !out) return SECDET_ERR_INVALID_ARG;
    sd_dq_stats(q, out);
    return SECDET_OK;
}

secdet_status sd_engine_sink_reconfigure(secdet_engine *e, size_t i, secdet_sink *next, bool *changed) {
    return sd_sink_reconfigure(e ? e->hub : NULL, i, next, changed);
}
