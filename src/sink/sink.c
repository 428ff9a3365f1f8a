/* sink.c — sink objects: options, the typed constructors (stdout, file,
 * callback, a vtable of the user's), and what a sink sees of a delivery.
 * Adding sinks to an engine, draining and stats are in src/engine_sinks.c;
 * JSON configuration in sink_config.c; the delivery layer in delivery.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/sink_int.h"
#include "util/limits.h"

void secdet_sink_opts_init(secdet_sink_opts *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->min_severity = SECDET_SEVERITY_INFO;
    o->queue_max = LIMIT_SINK_QUEUE_DEFAULT;
    o->spool_fsync_ms = 1000;
    o->spool_max_bytes = LIMIT_SPOOL_BYTES_DEFAULT;
    o->max_attempts = LIMIT_SINK_ATTEMPTS_DEFAULT;
    o->backoff_ms = LIMIT_SINK_BACKOFF_MS_DEFAULT;
    o->backoff_max_ms = LIMIT_SINK_BACKOFF_MAX_MS_DEFAULT;
}

static char *dup_or_null(const char *s, bool *oom) {
    if (!s) return NULL;
    char *c = strdup(s);
    if (!c) *oom = true;
    return c;
}

void sd_sink_free_strings(secdet_sink *s) {
    free(s->name);
    sd_sink_filter_free(s);
    free(s->spool_dir);
    free(s->dead_letter);
    free(s->spool_fsync);
}

secdet_status sd_sink_make(const char *type, const sink_def *def, const secdet_sink_opts *opts, secdet_sink **out) {
    secdet_sink_opts d;
    if (!opts) {
        secdet_sink_opts_init(&d);
        opts = &d;
    }
    if (!out || !def || !def->vt || !def->vt->emit || opts->min_severity > SECDET_SEVERITY_CRITICAL ||
        opts->backoff_max_ms < opts->backoff_ms)
        return SECDET_ERR_INVALID_ARG;
    if (opts->spool_fsync && strcmp(opts->spool_fsync, "never") && strcmp(opts->spool_fsync, "interval") &&
        strcmp(opts->spool_fsync, "always"))
        return SECDET_ERR_INVALID_ARG;
    secdet_sink *s = calloc(1, sizeof *s);
    if (!s) return SECDET_ERR_NOMEM;
    bool oom = false;
    s->type = type;
    s->def = *def;
    s->opts = *opts;
    if (!s->opts.max_in_flight) s->opts.max_in_flight = def->max_in_flight ? def->max_in_flight : 1;
    if (!s->opts.queue_max) s->opts.queue_max = 10000;
    s->name = dup_or_null(opts->name, &oom);
    s->spool_dir = dup_or_null(opts->spool_dir, &oom);
    s->spool_fsync = dup_or_null(opts->spool_fsync, &oom);
    if (opts->dead_letter) {
        s->dead_letter = dup_or_null(opts->dead_letter, &oom);
    } else if (opts->spool_dir) {
        size_t n = strlen(opts->spool_dir) + sizeof "/dead-letter.jsonl";
        s->dead_letter = malloc(n);
        if (s->dead_letter)
            snprintf(s->dead_letter, n, "%s/dead-letter.jsonl", opts->spool_dir);
        else
            oom = true;
    }
    secdet_status st = sd_sink_filter_copy(s, opts);
    s->opts.name = s->opts.spool_dir = s->opts.dead_letter = s->opts.spool_fsync = NULL;
    if (st != SECDET_OK) {
        sd_sink_free_strings(s);
        free(s);
        return st;
    }
    if (oom) {
        sd_sink_free_strings(s);
        free(s);
        return SECDET_ERR_NOMEM;
    }
    *out = s;
    return SECDET_OK;
}

void secdet_sink_free(secdet_sink *s) {
    if (!s) return;
    if (s->def.vt && s->def.vt->close && s->def.self) s->def.vt->close(s->def.self);
    sd_sink_free_strings(s);
    free(s);
}

secdet_status secdet_sink_new(const secdet_sink_vtable *vt, void *self, const secdet_sink_opts *opts,
                              secdet_sink **out) {
    sink_def def = {.vt = vt, .self = self};
    return sd_sink_make("custom", &def, opts, out);
}

/* ---- Callback ---------------------------------------------------------------- */

typedef struct cb_sink {
    secdet_sink_fn fn;
    void *user;
} cb_sink;

static void cb_emit(void *self, secdet_delivery *d) {
    cb_sink *c = self;
    secdet_sink_result r = c->fn(c->user, d);
    if (r == SECDET_SINK_OK)
        sd_sink_result(d, r, 0, NULL);
    else
        sd_sink_result(d, r, 0, "callback returned %s", r == SECDET_SINK_RETRY ? "retry" : "permanent failure");
}

static void cb_close(void *self) { free(self); }

static const secdet_sink_vtable cb_vtable = {NULL, cb_emit, NULL, cb_close};

secdet_status secdet_sink_callback(secdet_sink_fn fn, void *user, const secdet_sink_opts *opts, secdet_sink **out) {
    if (!fn || !out) return SECDET_ERR_INVALID_ARG;
    cb_sink *c = malloc(sizeof *c);
    if (!c) return SECDET_ERR_NOMEM;
    c->fn = fn;
    c->user = user;
    sink_def def = {.vt = &cb_vtable, .self = c, .max_in_flight = 1};
    secdet_status st = sd_sink_make("callback", &def, opts, out);
    if (st != SECDET_OK) free(c);
    return st;
}

/* ---- What a sink sees of a delivery -------------------------------------------- */

const char *secdet_delivery_json(const secdet_delivery *d, size_t *len) {
    if (len) *len = d ? d->len : 0;
    return d ? d->json : NULL;
}
const char *secdet_delivery_id(const secdet_delivery *d) { return d ? d->id : NULL; }
secdet_severity secdet_delivery_severity(const secdet_delivery *d) { return d ? d->severity : SECDET_SEVERITY_INFO; }
unsigned secdet_delivery_attempt(const secdet_delivery *d) { return d ? d->attempt : 0; }

void sd_sink_result(secdet_delivery *d, secdet_sink_result r, int64_t retry_after_ms, const char *fmt, ...) {
    char msg[200] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    secdet_delivery_result res = {r, retry_after_ms, msg};
    secdet_delivery_done(d, &res);
}
