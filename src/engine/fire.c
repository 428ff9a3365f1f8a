/* fire.c — aggregation alerts: what the correlator made due, built and
 * handed out.
 *
 * The correlator never calls back into the engine. After each step that
 * can make alerts due (an event's sd_corr_advance, a flush, a watermark moved
 * from outside), the engine takes them one by one as values (corr_fired,
 * already throttled by the correlator as they fired) and builds each alert
 * from what it holds: times and counts, the group's key bytes (the alert's
 * `group` object is written from them as they are), the samples' compact
 * JSON, and the aux bytes eval.c made when the firing event became a
 * record — its template texts. Rules are not evaluated again here; only the
 * firing event's common fields are read from its JSON (fired_fields).
 *
 * Records read from a snapshot carry no throttle key or aux (they are not
 * written: they follow from the event and the rules), and a ruleset swap may
 * change them (a new output template, new throttle keys); both remake them
 * for every record held for ordering from its event (sd_engine_remake_aux),
 * once, there.
 */
#include <cjson/cJSON.h>

#include "engine/engine.h"
#include "engine/tuning.h"
#include "util/json.h"

/* The "fields" of the firing event (its JSON last of the samples), by the
 * profile of the source it was attributed to, into e->fieldsbuf: the one
 * thing an aggregation alert reads from its event again, once per alert
 * (records keep no copy, so that correlation state stays small). Returns
 * the event's log type (its "type"), NULL when out of memory. */
static const char *fired_fields(secdet_engine *e, const char *source, const corr_event *last) {
    sd_buf_reset(&e->fieldsbuf);
    cJSON *root = sd_json_parse(last->json, last->len, 0, NULL);
    if (!root) return NULL;
    const char *log_type = NULL;
    sd_event ev;
    if (sd_event_init(&ev, NULL, 0) == 0) {
        sd_event_begin(&ev, root);
        sd_engine_profile_named(e, source, &ev);
        sd_engine_fields_json(&ev, &e->fieldsbuf);
        log_type = ev.lt ? ev.lt->name : NULL;
        sd_event_free(&ev);
    }
    cJSON_Delete(root);
    return log_type;
}

/* Builds and hands out the alert of f. */
static void fire_one(secdet_engine *e, const corr_fired *f) {
    engine_ruleset *rs = e->rs;
    if (!rs || f->rule >= rs->prog->nrules || f->nevents == 0) return;
    const vm_rule *rule = &rs->prog->rules[f->rule];
    if (rule->is_private) return;
    bool stateless = rule->agg == RAGG_NONE; /* a throttled one deferred for ordering (stage 2) */
    const char *texts[f->nevents];
    size_t lens[f->nevents];
    for (uint32_t i = 0; i < f->nevents; i++) {
        texts[i] = f->events[i]->json;
        lens[i] = f->events[i]->len;
    }
    const char *source = sd_corr_source_name(e->corr, f->src);
    const char *log_type = fired_fields(e, source ? source : "", f->events[f->nevents - 1]);
    const char *aux = f->aux;
    uint32_t aux_len = f->aux_len;
    secdet_severity sev = rule->sev;
    bool has_sev = sd_tune_aux_take(rule, &aux, &aux_len, &sev);
    alert_spec spec = {
        .prog = rs->prog,
        .rule = f->rule,
        .source = source,
        .log_type = log_type,
        .fields_json = e->fieldsbuf.oom ? NULL : e->fieldsbuf.data,
        .fields_json_len = e->fieldsbuf.len,
        .time_ns = f->time_ns,
        .first_seen_ns = f->first_ns,
        .last_seen_ns = f->last_ns,
        .count = f->count,
        .has_distinct = f->has_distinct,
        .distinct = f->distinct,
        .has_sum = f->has_sum,
        .sum = f->sum,
        .suppressed = f->suppressed,
        /* A stateless rule's group is its throttle's keys. */
        .keys = stateless ? rule->throttle_by : rule->by,
        .nkeys = stateless ? rule->nthrottle_by : rule->nby,
        .group_json = f->key,
        .group_json_len = f->key_len,
        .aux = aux,
        .aux_len = aux_len,
        .has_severity = has_sev,
        .severity = sev,
        .nevents = f->nevents,
        .event_json = texts,
        .event_json_len = lens,
    };
    secdet_alert alert;
    if (sd_alert_build(&e->alerts, &spec, &alert) != 0) return;
    sd_engine_hand_out(e, &alert);
    sd_tune_count_alert(e, f->rule);
}

void sd_engine_fire_due(secdet_engine *e) {
    corr_fired f;
    while (sd_corr_take_fired(e->corr, &f)) {
        fire_one(e, &f);
        sd_corr_fired_release(e->corr, &f);
    }
}

void sd_engine_remake_aux(secdet_engine *e) {
    if (!e->rs) return;
    size_t n = sd_corr_held_count(e->corr);
    for (size_t i = 0; i < n; i++) {
        uint32_t rule, klen;
        const corr_event *ev;
        const char *key;
        sd_corr_held_get(e->corr, i, &rule, &ev, &key, &klen);
        /* Without its aux an alert still goes out, with "-" for what its
         * template could not take from the event. */
        if (sd_eval_remake_extra(e, rule, ev->json, ev->len, key, klen))
            (void)sd_corr_held_set(e->corr, i, e->tkeybuf.data, (uint32_t)e->tkeybuf.len, e->auxbuf.data,
                                   (uint32_t)e->auxbuf.len);
    }
    sd_alert_ctx_forget_event(&e->alerts);
}
