/* logtypes.c — log types in the public API: defining one, listing them,
 * and asking what the engine makes of one event (its source, log type and
 * time) without evaluating it; and the engine reader (outer.h) that decodes
 * a source's bytes into such events for `secdet scan`'s merge.
 *
 * Peeking uses an event of its own (engine_peek) with a scan plan of the
 * engine's extra paths only (time fields, shapes, envelope markers), laid out
 * as the rules' plan lays them out, so that the log types' paths keep one
 * index in both (profile.c); evaluation's event is never touched.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/sources.h"
#include "util/json.h"

struct engine_peek {
    sd_event ev;
    cJSON *root; /* the tree of the last event peeked, when it took one */
};

secdet_status secdet_log_type_define(secdet_engine *e, const char *json, size_t len, char **error) {
    if (error) *error = NULL;
    if (!e || e->busy || !json) return SECDET_ERR_INVALID_ARG;
    char msg[256];
    if (sd_logtypes_define(&e->logtypes, json, len, msg, sizeof msg) == 0) return SECDET_OK;
    if (error) *error = strdup(msg);
    return strcmp(msg, "out of memory") == 0 ? SECDET_ERR_NOMEM : SECDET_ERR_INVALID_ARG;
}

size_t secdet_log_type_count(const secdet_engine *e) { return e ? e->logtypes.n : 0; }

const char *secdet_log_type_name(const secdet_engine *e, size_t i) {
    return e && i < e->logtypes.n ? e->logtypes.v[i]->name : NULL;
}

secdet_status secdet_log_type_json(const secdet_engine *e, const char *name, char **out) {
    if (out) *out = NULL;
    if (!e || !name || !out) return SECDET_ERR_INVALID_ARG;
    const sd_logtype *lt = sd_logtypes_find(&e->logtypes, name);
    if (!lt) return SECDET_ERR_INVALID_ARG;
    char *text = sd_logtype_to_json(lt);
    *out = text ? strdup(text) : NULL; /* the caller frees with secdet_free (free), not cJSON's */
    cJSON_free(text);
    return *out ? SECDET_OK : SECDET_ERR_NOMEM;
}

/* ---- peeking ------------------------------------------------------------------------ */

static sd_event *peek_event(secdet_engine *e) {
    if (!e->peek) {
        e->peek = calloc(1, sizeof *e->peek);
        if (!e->peek || sd_event_init(&e->peek->ev, NULL, 0) != 0) {
            free(e->peek);
            e->peek = NULL;
            return NULL;
        }
    }
    return &e->peek->ev;
}

void sd_engine_peek_free(secdet_engine *e) {
    if (!e->peek) return;
    sd_event_free(&e->peek->ev);
    cJSON_Delete(e->peek->root);
    free(e->peek);
    e->peek = NULL;
}

/* Begins the peek event on json (text, else its tree): 0, or SECDET_ERR_DECODE
 * (*why set) / SECDET_ERR_NOMEM. */
static secdet_status peek_begin(secdet_engine *e, const char *json, size_t len, const char **why) {
    sd_event *ev = peek_event(e);
    if (!ev) return SECDET_ERR_NOMEM;
    cJSON_Delete(e->peek->root);
    e->peek->root = NULL;
    bool planned = (ev->plan && ev->plan_tag == sd_engine_plan_tag(e)) || sd_engine_plan_setup(e, ev, 0) == 0;
    if (planned && sd_event_begin_text(ev, json, len, e->opts.max_json_depth) == 0) return SECDET_OK;
    e->peek->root = sd_decode_json_object(json, len, e->opts.max_json_depth, why);
    if (!e->peek->root) return SECDET_ERR_DECODE;
    sd_event_begin(ev, e->peek->root);
    return SECDET_OK;
}

/* The profile of the peeked event as source `source` (added or not). */
static void peek_profile(secdet_engine *e, const char *source, secdet_event_info *out) {
    sd_event *ev = &e->peek->ev;
    sd_engine_profile_named(e, source, ev);
    int64_t t = 0;
    out->source = e->profile.source;
    out->log_type = e->profile.lt->name;
    out->has_time = sd_lt_time(ev, ev->time, &t) == 1;
    out->time_ns = out->has_time ? t : 0;
}

secdet_status secdet_event_inspect(secdet_engine *e, const char *source, const char *json, size_t len,
                                   secdet_event_info *out) {
    if (!e || e->busy || !source || !out || (!json && len)) return SECDET_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    const char *why = NULL;
    secdet_status st = peek_begin(e, json ? json : "", len, &why);
    if (st != SECDET_OK) return st;
    peek_profile(e, source, out);
    return SECDET_OK;
}

/* ---- the reader (outer.h) ------------------------------------------------------------------ */

struct engine_reader {
    secdet_engine *e;
    char *source;
    decoder *dec;
    buf text; /* a tree event written out */
    engine_read_fn fn;
    void *user;
    bool malformed;
    bool quiet; /* malformed input neither counted nor reported */
};

void sd_engine_reader_set_quiet(engine_reader *r, bool quiet) {
    if (r) r->quiet = quiet;
}

engine_reader *sd_engine_reader_new(secdet_engine *e, const char *source) {
    engine_source *s = e ? sd_engine_find_source(e, source) : NULL;
    if (!s) return NULL;
    engine_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    const char *time_default = NULL;
    secdet_source_opts o = {.format = s->format};
    r->e = e;
    r->source = strdup(source);
    sd_buf_init(&r->text);
    if (!r->source || sd_engine_source_decoder(e, &o, &r->dec, &time_default) != SECDET_OK) {
        sd_engine_reader_free(r);
        return NULL;
    }
    return r;
}

void sd_engine_reader_free(engine_reader *r) {
    if (!r) return;
    sd_decoder_free(r->dec);
    free(r->source);
    sd_buf_free(&r->text);
    free(r);
}

static int read_one(engine_reader *r, const char *json, size_t len, uint64_t where) {
    secdet_event_info info;
    peek_profile(r->e, r->source, &info);
    engine_read_event ev = {.json = json,
                            .len = len,
                            .source = info.source,
                            .time_ns = info.time_ns,
                            .has_time = info.has_time != 0,
                            .where = where};
    return r->fn(r->user, &ev);
}

static int reader_on_text(void *user, const char *text, size_t len, uint64_t where, unsigned flags) {
    engine_reader *r = user;
    secdet_engine *e = r->e;
    sd_event *ev = peek_event(e);
    if (!ev) return -1;
    cJSON_Delete(e->peek->root);
    e->peek->root = NULL;
    if (!(ev->plan && ev->plan_tag == sd_engine_plan_tag(e)) && sd_engine_plan_setup(e, ev, 0) != 0)
        return DECODE_TEXT_DECLINED;
    if (sd_event_begin_text(ev, text, len, e->opts.max_json_depth) != 0) return DECODE_TEXT_DECLINED;
    if (flags & DECODE_TEXT_MAY_BE_ENVELOPE) {
        for (size_t k = 0; k < DECODE_ENVELOPE_MARKERS; k++) {
            sd_values v;
            sd_value one;
            sd_event_path_values(ev, &e->envelope_paths[k], &v, &one);
            if (v.n) return DECODE_TEXT_DECLINED;
        }
    }
    return read_one(r, text, len, where);
}

static int reader_on_event(void *user, const cJSON *event, uint64_t where) {
    engine_reader *r = user;
    secdet_engine *e = r->e;
    sd_event *ev = peek_event(e);
    if (!ev) return -1;
    sd_buf_reset(&r->text);
    sd_alert_json_write(&r->text, event);
    if (r->text.oom) return -1;
    cJSON_Delete(e->peek->root);
    e->peek->root = NULL;
    sd_event_begin(ev, event);
    return read_one(r, r->text.data, r->text.len, where);
}

static void reader_on_error(void *user, uint64_t where, const char *message) {
    engine_reader *r = user;
    r->malformed = true;
    if (!r->quiet) sd_engine_report_malformed(r->e, r->source, where, message);
}

secdet_status sd_engine_reader_feed(engine_reader *r, const void *bytes, size_t len, bool end, engine_read_fn fn,
                                    void *user) {
    if (!r) return SECDET_ERR_INVALID_ARG;
    r->fn = fn;
    r->user = user;
    r->malformed = false;
    decode_sink sink = {.on_event = reader_on_event, .on_error = reader_on_error, .user = r};
    sd_decoder_set_on_text(r->dec, reader_on_text);
    int rc = end ? sd_decoder_end(r->dec, &sink) : sd_decoder_feed(r->dec, bytes, len, &sink);
    if (rc < 0) return SECDET_ERR_NOMEM;
    return r->malformed ? SECDET_ERR_DECODE : SECDET_OK;
}
