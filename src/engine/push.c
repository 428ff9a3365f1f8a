/* push.c — the push API: bytes of a source through its decoder, one event
 * at a time into evaluation (eval.c), malformed input counted and reported.
 *
 * Every call that evaluates ends in sd_engine_push_done, which writes what the
 * sinks staged for their spools before it returns (write-ahead). A push
 * that finds a sink saturated consumes nothing and answers SECDET_ERR_BUSY
 * (docs/sinks.md "Backpressure"); secdet_source_end never does: it finishes
 * input that accepted pushes gave.
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "engine/engine.h"

typedef struct push_ctx {
    secdet_engine *e;
    engine_source *src;
    const eval_only *only;
    uint64_t malformed;
} push_ctx;

static int on_event(void *user, const cJSON *event, uint64_t where) {
    (void)where;
    push_ctx *pc = user;
    sd_eval_tree(pc->e, pc->src, event, pc->only);
    return 0;
}

static int on_text(void *user, const char *text, size_t len, uint64_t where, unsigned flags) {
    (void)where;
    push_ctx *pc = user;
    return sd_eval_text(pc->e, pc->src, text, len, flags, pc->only) ? 0 : DECODE_TEXT_DECLINED;
}

static void on_error(void *user, uint64_t where, const char *message) {
    push_ctx *pc = user;
    pc->malformed++;
    sd_engine_report_malformed(pc->e, pc->src->name, where, message);
}

static secdet_status push_result(int rc, const push_ctx *pc) {
    if (rc < 0) return SECDET_ERR_NOMEM;
    return pc->malformed ? SECDET_ERR_DECODE : SECDET_OK;
}

void sd_engine_report_malformed(secdet_engine *e, const char *source, uint64_t where, const char *message) {
    e->stats.malformed++;
    if (e->error_fn) e->error_fn(e->error_user, source, where, message);
}

void sd_engine_report(secdet_engine *e, const char *source, uint64_t where, const char *message) {
    if (e->error_fn) e->error_fn(e->error_user, source, where, message);
}

/* Feeds bytes (end: the end of the stream instead) to source s's decoder. */
static secdet_status feed(secdet_engine *e, engine_source *s, const void *bytes, size_t len, bool end) {
    push_ctx pc = {.e = e, .src = s, .only = NULL, .malformed = 0};
    decode_sink sink = {.on_event = on_event, .on_error = on_error, .user = &pc};
    sd_decoder_set_on_text(s->dec, on_text);
    e->busy = true;
    e->push_time_ns = 0;
    int rc;
    if (end) {
        rc = sd_decoder_end(s->dec, &sink);
    } else {
        e->stats.bytes += len;
        rc = len ? sd_decoder_feed(s->dec, bytes, len, &sink) : 0;
    }
    sd_engine_push_done(e);
    return push_result(rc, &pc);
}

secdet_status secdet_push(secdet_engine *e, const char *source, const void *bytes, size_t len) {
    if (!e || e->busy || !source || (!bytes && len)) return SECDET_ERR_INVALID_ARG;
    engine_source *s = sd_engine_find_source(e, source);
    if (!s) return SECDET_ERR_UNKNOWN_SOURCE;
    if (!e->accept_always && sd_engine_sinks_saturated(e)) return SECDET_ERR_BUSY; /* nothing consumed */
    return feed(e, s, bytes, len, false);
}

secdet_status secdet_source_end(secdet_engine *e, const char *source) {
    if (!e || e->busy || !source) return SECDET_ERR_INVALID_ARG;
    engine_source *s = sd_engine_find_source(e, source);
    if (!s) return SECDET_ERR_UNKNOWN_SOURCE;
    return feed(e, s, NULL, 0, true);
}

secdet_status sd_engine_push_message_always(secdet_engine *e, const char *source, const void *bytes, size_t len) {
    bool was = e->accept_always;
    e->accept_always = true;
    secdet_status st = secdet_push(e, source, bytes, len);
    secdet_status st2 = secdet_source_end(e, source);
    e->accept_always = was;
    return st != SECDET_OK ? st : st2;
}

/* One JSON object as one event of `source` (added or not). */
static secdet_status push_one(secdet_engine *e, const char *source, const char *json, size_t len,
                              const eval_only *only) {
    engine_source *s = sd_engine_find_source(e, source);
    /* A source that was never added: its name, the log type of its name
     * (else jsonl), and the default time field. */
    engine_source tmp = {.name = (char *)source, .format = SECDET_FMT_JSONL, .has_time = true, .prog_gen = UINT64_MAX};
    if (!s) {
        tmp.time_path = e->default_time_path;
        tmp.lt = sd_logtypes_find(&e->logtypes, source);
        s = &tmp;
    }
    push_ctx pc = {.e = e, .src = s, .only = only, .malformed = 0};
    e->stats.bytes += len;
    secdet_status st = SECDET_OK;
    e->busy = true;
    e->push_time_ns = 0;
    if (len > e->opts.max_event_bytes) {
        on_error(&pc, 1, "event larger than the event size limit");
        st = SECDET_ERR_LIMIT;
    } else if (!sd_eval_text(e, s, json ? json : "", len, 0, only)) {
        const char *err = NULL;
        cJSON *root = sd_decode_json_object(json ? json : "", len, e->opts.max_json_depth, &err);
        if (!root) {
            on_error(&pc, 1, err ? err : "invalid JSON");
            st = SECDET_ERR_DECODE;
        } else {
            sd_eval_tree(e, s, root, only);
            cJSON_Delete(root);
        }
    }
    sd_engine_push_done(e);
    return st;
}

secdet_status secdet_push_event(secdet_engine *e, const char *source, const char *json, size_t len) {
    if (!e || e->busy || !source || (!json && len)) return SECDET_ERR_INVALID_ARG;
    if (!e->accept_always && sd_engine_sinks_saturated(e)) return SECDET_ERR_BUSY; /* nothing consumed */
    return push_one(e, source, json, len, NULL);
}

secdet_status sd_engine_push_forwarded(secdet_engine *e, const char *source, const char *rule, int64_t time_ns,
                                       const char *json, size_t len) {
    return sd_engine_push_forwarded_group(e, source, rule, NULL, 0, time_ns, json, len);
}

secdet_status sd_engine_push_forwarded_group(secdet_engine *e, const char *source, const char *rule, const char *key,
                                             uint32_t key_len, int64_t time_ns, const char *json, size_t len) {
    if (!e || e->busy || !source || !rule || (!json && len)) return SECDET_ERR_INVALID_ARG;
    const program *p = e->rs ? e->rs->prog : NULL;
    uint32_t r = 0;
    while (p && r < p->nrules && strcmp(p->rules[r].name, rule) != 0) r++;
    if (!p || r == p->nrules || !e->rs->runnable[r]) {
        sd_engine_report_malformed(e, source, 1, "forwarded event for a rule that is not loaded here");
        return SECDET_ERR_INVALID_ARG;
    }
    eval_only only = {.rule = r, .time_ns = time_ns, .key = key, .key_len = key_len};
    return push_one(e, source, json, len, &only);
}
