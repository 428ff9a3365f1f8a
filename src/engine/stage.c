/* stage.c — the engine's side of a two-stage scale-out (docs/scale-out.md;
 * src/kafka drives it through outer.h).
 *
 * Stage 1 evaluates every rule's stateless part and hands each match of an
 * aggregation (or of a throttled stateless rule) to a forward callback
 * instead of keeping state (eval.c: forward_match). Stage 2 gets
 * those matches back, one rule per event (sd_engine_push_forwarded), keeps the
 * state, and moves its watermark only when told: its events come from many
 * upstream streams, and only the driver knows how far each has got. The
 * driver keeps one engine per partition it owns, so a partition's state is
 * one snapshot (sd_engine_snapshot_bytes) that moves with the partition.
 *
 * `secdet scan -j` (scan_split.c) forwards records instead
 * (sd_engine_set_forward_records): its stage 2 engines were compiled from the
 * same rules in the same process, so the record stage 1 computed — keys,
 * values, steps, aux — is kept as it is (sd_engine_push_record) and the event
 * is parsed and its rule run once, not twice.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

void sd_engine_set_forward(secdet_engine *e, engine_forward_fn fn, void *user) {
    e->stage.fwd_fn = fn;
    e->stage.fwd_user = user;
}

void sd_engine_set_forward_late(secdet_engine *e, bool drop) { e->stage.fwd_late = drop; }

void sd_engine_set_forward_records(secdet_engine *e, bool records) { e->stage.fwd_records = records; }

/* What run_event (eval.c) does with an event's record, from the record:
 * the late test, the record kept with the event's JSON as its sample, the
 * time moved, what fell due delivered. */
secdet_status sd_engine_push_record(secdet_engine *e, const engine_forward *f) {
    if (!e || e->busy || !f || !f->record || !f->source || (!f->json && f->len)) return SECDET_ERR_INVALID_ARG;
    const engine_ruleset *rs = e->rs;
    uint32_t r = f->rule_index;
    if (!rs || !rs->stateful || r >= rs->prog->nrules || !rs->runnable[r] ||
        strcmp(rs->prog->rules[r].name, f->rule ? f->rule : "") != 0) {
        sd_engine_report_malformed(e, f->source, 1, "forwarded record for a rule that is not loaded here");
        return SECDET_ERR_INVALID_ARG;
    }
    e->busy = true;
    e->push_time_ns = 0;
    if (sd_corr_is_late(e->corr, f->time_ns)) {
        e->stats.late++;
    } else {
        corr_input in = {
            .rule = r,
            .src = sd_corr_source_id(e->corr, f->source),
            .t = f->time_ns,
            .key = f->key ? f->key : "",
            .key_len = f->key_len,
            .vals = f->vals ? f->vals : "",
            .vals_len = f->vals_len,
            .nvals = f->nvals,
            .mask = f->mask,
            .tkey = f->tkey,
            .tkey_len = f->tkey_len,
            .aux = f->aux,
            .aux_len = f->aux_len,
            .ev = sd_corr_event_new(e->corr, f->json ? f->json : "", f->len),
        };
        if (in.ev && in.src != UINT32_MAX) (void)sd_corr_add(e->corr, &in);
        if (in.ev) sd_corr_event_drop(e->corr, in.ev); /* frees it only when no record took it */
    }
    if (!e->stage.batch_any || f->time_ns > e->stage.batch_max) e->stage.batch_max = f->time_ns;
    e->stage.batch_any = true;
    sd_corr_advance(e->corr, f->time_ns);
    sd_engine_fire_due(e);
    sd_engine_push_done(e);
    return SECDET_OK;
}

void sd_engine_advance(secdet_engine *e, int64_t t) {
    if (e->busy || !e->rs || !e->rs->stateful) return;
    e->busy = true;
    sd_corr_advance(e->corr, t);
    sd_engine_fire_due(e);
    sd_engine_push_done(e);
}

bool sd_engine_is_stateful(const secdet_engine *e) { return e->rs != NULL && e->rs->stateful; }

bool sd_engine_forwards_to(const secdet_engine *e, const void *user) {
    return e->stage.fwd_fn && e->stage.fwd_user == user;
}

void sd_engine_set_external_watermark(secdet_engine *e) {
    e->stage.external_wm = true;
    sd_corr_set_external_watermark(e->corr, true);
}

void sd_engine_set_watermark(secdet_engine *e, int64_t wm_ns) {
    if (e->busy) return;
    e->busy = true;
    sd_corr_set_watermark(e->corr, wm_ns);
    sd_engine_fire_due(e);
    sd_engine_push_done(e);
}

bool sd_engine_take_batch_time(secdet_engine *e, int64_t *out) {
    bool any = e->stage.batch_any;
    *out = e->stage.batch_max;
    e->stage.batch_any = false;
    return any;
}

bool sd_engine_newest_time(const secdet_engine *e, int64_t *out) { return sd_corr_newest_time(e->corr, out); }

secdet_status sd_engine_snapshot_bytes(secdet_engine *e, buf *out) {
    if (e->busy) return SECDET_ERR_INVALID_ARG;
    if (sd_corr_snapshot_write(e->corr, out) != 0 || out->oom) return SECDET_ERR_NOMEM;
    return SECDET_OK;
}

secdet_status sd_engine_restore_bytes(secdet_engine *e, const char *data, size_t len, const char *name, diag_list *d) {
    if (e->busy) return SECDET_ERR_INVALID_ARG;
    int rc = sd_corr_snapshot_read(e->corr, data ? data : "", len, name, d);
    if (rc == 0) sd_engine_remake_aux(e);
    return rc == 0 ? SECDET_OK : rc == -2 ? SECDET_ERR_NOMEM : SECDET_ERR_DECODE;
}

secdet_status sd_engine_copy_rules(secdet_engine *dst, const secdet_engine *src, diag_list *d) {
    if (dst->busy || dst->ntexts) return SECDET_ERR_INVALID_ARG;
    size_t n = src->ntexts;
    rule_text *t = calloc(n ? n : 1, sizeof *t);
    if (!t) return SECDET_ERR_NOMEM;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        t[i].name = strdup(src->texts[i].name);
        t[i].text = malloc(src->texts[i].len + 1);
        t[i].len = src->texts[i].len;
        ok = t[i].name && t[i].text;
        if (t[i].text) {
            memcpy(t[i].text, src->texts[i].text, src->texts[i].len);
            t[i].text[t[i].len] = '\0';
        }
    }
    secdet_status st = ok ? sd_engine_replace_texts(dst, t, n, d) : SECDET_ERR_NOMEM;
    if (!ok) {
        for (size_t i = 0; i < n; i++) {
            free(t[i].name);
            free(t[i].text);
        }
    }
    free(t);
    return st;
}
