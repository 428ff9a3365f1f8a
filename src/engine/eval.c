/* eval.c — evaluation: the hot path from one decoded event to its alerts
 * and correlation records.
 *
 * For every event, pick the candidate rules (the compiler's dispatch index
 * on constant string equalities, plus the rules that are in no index), run
 * each at most once and in rule order, and:
 *  - a stateless rule that matches: build its alert and hand it out (after
 *    its throttle, when it has one);
 *  - an aggregation rule whose `where` holds (a sequence: any of its steps):
 *    make the event a record for the correlator (src/correlate): group key
 *    bytes, distinct values, step mask, the aux its alert would need if this
 *    event fired it (fire.c), and the event's compact JSON, serialised once
 *    per event whatever number of rules take it. The correlator applies
 *    records in event-time order; the alerts it makes due are built after
 *    the event, by sd_engine_fire_due.
 * Per event nothing is allocated once the buffers have grown: the field
 * cache, the candidate bitmap, the key value slots and the alert buffers
 * are all reused.
 *
 * Whose the event is — its source name, its log type, where its time is —
 * profile.c decides first. Event time is read by that profile, else the
 * time of the push. Without aggregation or throttled rules it is taken
 * lazily, when the first alert of an event needs it; with them, for every
 * event, since it moves the correlator's watermark and decides whether the
 * event is late.
 *
 * Scale-out (stage.c): in stage 1, an aggregation's match (and a throttled
 * stateless rule's) is forwarded instead of kept; in stage 2 an event is
 * evaluated for one rule only (eval_only) and throttled stateless rules
 * become records too, so their throttle runs in event-time order. With
 * sd_engine_set_forward_records (`secdet scan -j`), stage 1 forwards the
 * aggregation's record itself (add_record), which stage 2 keeps as it is.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/eval_int.h"
#include "engine/tuning.h"
#include "event/time.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/limits.h"
#include "vm/prefilter.h"

uint32_t sd_eval_program_source(const program *p, const char *name) {
    for (uint32_t i = 0; i < p->nsources; i++)
        if (strcmp(p->source_names[i], name) == 0) return i;
    return UINT32_MAX;
}

/* ---- Dispatch ------------------------------------------------------------------ */

static const index_entry *index_find(const path_index *ix, const char *s, size_t len) {
    /* The compiler's table: a power-of-two size, linear probing from the
     * low bits of hash_bytes (compile_index.c). */
    if (ix->nslots == 0 || (ix->nslots & (ix->nslots - 1)) != 0) return NULL;
    uint32_t mask = ix->nslots - 1;
    uint32_t i = (uint32_t)hash_bytes(s, len) & mask;
    for (uint32_t probes = 0; probes < ix->nslots; probes++, i = (i + 1) & mask) {
        const index_entry *en = &ix->slots[i];
        if (!en->value) return NULL;
        if (en->len == len && memcmp(en->value, s, len) == 0) return en;
    }
    return NULL;
}

/* Marks the runnable rules listed under the event's values of each indexed
 * path; true when any was marked. */
static bool mark_indexed(engine_ruleset *rs, sd_event *ev) {
    const program *p = rs->prog;
    bool any = false;
    for (uint32_t i = 0; i < p->nindexes; i++) {
        const path_index *ix = &p->indexes[i];
        const sd_values *vals = sd_event_field(ev, ix->path);
        for (uint32_t k = 0; k < vals->n; k++) {
            if (vals->v[k].type != SD_STR) continue;
            const index_entry *en = index_find(ix, vals->v[k].str, vals->v[k].len);
            if (!en) continue;
            for (uint32_t j = 0; j < en->nrules; j++) {
                uint32_t r = en->rules[j];
                if (r < p->nrules && rs->runnable[r]) {
                    rs->cand_bits[r >> 6] |= (uint64_t)1 << (r & 63);
                    any = true;
                }
            }
        }
    }
    return any;
}

/* ---- Keys and the event's JSON ------------------------------------------------------ */

/* Serialises key values vals[0..n) as group key bytes: each one's JSON,
 * then a NUL (which JSON text never holds), so key tuples compare as bytes
 * and the alert's `group` object is written from them as they are. */
static bool key_bytes(buf *b, const sd_values *vals, uint32_t n) {
    sd_buf_reset(b);
    for (uint32_t k = 0; k < n; k++) {
        sd_alert_group_value_json(b, &vals[k]);
        sd_buf_append(b, "", 1);
    }
    if (b->oom) {
        sd_buf_free(b);
        sd_buf_init(b);
        return false;
    }
    return true;
}

/* Runs key programs on ev into vals; false when the budget ran out. */
static bool run_keys(vm_ctx *vm, sd_event *ev, const rule_key *keys, uint32_t n, sd_values *vals) {
    for (uint32_t k = 0; k < n; k++) {
        vm_status st = sd_vm_run_value(vm, ev, keys[k].code, &vals[k]);
        if (st == VM_BUDGET) return false;
        if (st != VM_OK) vals[k] = (sd_values){0, NULL};
    }
    return true;
}

static int64_t throttle_ns(const vm_rule *r) {
    int64_t ms = r->throttle_ms < 0 ? 0 : r->throttle_ms;
    return ms > INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000;
}

/* The event's compact JSON in e->evbuf, as sd_alert_json_write writes its
 * tree (alerts and correlation samples carry it; the alert id hashes it),
 * made once per event: from a scanned event's text directly, else from the
 * tree. False on OOM. */
static bool event_json(secdet_engine *e, sd_event *ev) {
    if (e->evbuf_ev == ev && e->evbuf_gen == ev->gen) return true;
    e->evbuf_ev = NULL;
    sd_buf_reset(&e->evbuf);
    bool ok = ev->text_mode && sd_alert_json_from_text(&e->evbuf, ev->text, ev->text_len) == 0;
    if (!ok) {
        sd_buf_free(&e->evbuf);
        sd_buf_init(&e->evbuf);
        const cJSON *root = sd_event_root(ev);
        if (!root) return false;
        sd_alert_json_write(&e->evbuf, root);
    }
    if (e->evbuf.oom || !e->evbuf.data) {
        sd_buf_free(&e->evbuf);
        sd_buf_init(&e->evbuf);
        return false;
    }
    e->evbuf_ev = ev;
    e->evbuf_gen = ev->gen;
    return true;
}

/* ---- Records and forwards ----------------------------------------------------------- */

/* Stage 1: hands the match of rule r to the forwarder (e->keybuf holds its
 * key bytes). Always true: a lost forward (OOM) does not stop the event. */
static bool forward_match(eval_ctx *x, uint32_t r) {
    secdet_engine *e = x->e;
    sd_event *ev = &e->rs->ev;
    if (!event_json(e, ev)) return true;
    engine_forward f = {
        .rule = e->rs->prog->rules[r].name,
        .source = x->sname,
        .key = e->keybuf.data ? e->keybuf.data : "",
        .key_len = (uint32_t)e->keybuf.len,
        .time_ns = ev->time_ns,
        .json = e->evbuf.data,
        .len = e->evbuf.len,
    };
    e->stage.fwd_fn(e->stage.fwd_user, &f);
    return true;
}

/* Stage 1 forwarding matches (for the next stage to evaluate again), not
 * records (sd_engine_set_forward_records: those go on to add_record). */
static bool forwards_matches(const secdet_engine *e) { return e->stage.fwd_fn && !e->stage.fwd_records; }

/* Stage 1 forwarding records: hands the record add_record would keep to the
 * forwarder, with the event's compact JSON. Always true. */
static bool forward_record(eval_ctx *x, const corr_input *in) {
    secdet_engine *e = x->e;
    if (!event_json(e, &e->rs->ev)) return true;
    engine_forward f = {
        .rule = e->rs->prog->rules[in->rule].name,
        .source = x->sname,
        .key = in->key,
        .key_len = in->key_len,
        .time_ns = in->t,
        .json = e->evbuf.data,
        .len = e->evbuf.len,
        .record = true,
        .throttled = e->rs->prog->rules[in->rule].has_throttle,
        .rule_index = in->rule,
        .vals = in->vals,
        .vals_len = in->vals_len,
        .nvals = in->nvals,
        .mask = in->mask,
        .tkey = in->tkey ? in->tkey : "",
        .tkey_len = in->tkey_len,
        .aux = in->aux ? in->aux : "",
        .aux_len = in->aux_len,
    };
    e->stage.fwd_fn(e->stage.fwd_user, &f);
    return true;
}

/* The event's shared JSON for correlation records, made on first use. */
static corr_event *record_event(eval_ctx *x) {
    secdet_engine *e = x->e;
    if (!x->cev && event_json(e, &e->rs->ev)) x->cev = sd_corr_event_new(e->corr, e->evbuf.data, e->evbuf.len);
    return x->cev;
}

static bool text_ready(secdet_engine *e, engine_ruleset *rs);

/* What a record of rule r needs beyond its group key, for event ev whose
 * group values are group[0..ngroup) (key bytes in e->keybuf): its
 * throttle's key in e->tkeybuf (an aggregation's `throttle by` keys; a
 * stateless rule's throttle key is its group key) and its aux in
 * e->auxbuf (sd_alert_aux_write). False when the budget ran out. */
static bool make_extra(secdet_engine *e, const vm_rule *rule, sd_event *ev, const sd_values *group, uint32_t ngroup) {
    engine_ruleset *rs = e->rs;
    sd_buf_reset(&e->auxbuf);
    sd_buf_reset(&e->tkeybuf);
    if (rule->has_throttle && rule->agg != RAGG_NONE) {
        if (!run_keys(&rs->vm, ev, rule->throttle_by, rule->nthrottle_by, rs->tkey_vals)) return false;
        (void)key_bytes(&e->tkeybuf, rs->tkey_vals, rule->nthrottle_by);
    } else if (rule->has_throttle) {
        sd_buf_append(&e->tkeybuf, e->keybuf.data ? e->keybuf.data : "", e->keybuf.len);
    }
    if (sd_tune_has_cases(rule)) sd_tune_aux_severity(e, rule, ev);
    if (sd_alert_aux_needed(rule)) sd_alert_aux_write(&e->auxbuf, rule, ev, group, ngroup);
    return true;
}

bool sd_eval_remake_extra(secdet_engine *e, uint32_t r, const char *json, size_t len, const char *key,
                          uint32_t key_len) {
    engine_ruleset *rs = e->rs;
    if (!rs || r >= rs->prog->nrules) return false;
    const vm_rule *rule = &rs->prog->rules[r];
    sd_buf_reset(&e->auxbuf);
    sd_buf_reset(&e->tkeybuf);
    if (!sd_alert_aux_needed(rule) && !rule->has_throttle && !sd_tune_has_cases(rule)) return true;
    cJSON *root = NULL;
    if (!text_ready(e, rs) || sd_event_begin_text(&rs->ev, json, len, e->opts.max_json_depth) != 0) {
        root = sd_json_parse(json, len, e->opts.max_json_depth, NULL);
        if (!root) return false;
        sd_event_begin(&rs->ev, root);
    }
    sd_vm_begin_event(&rs->vm);
    e->evbuf_ev = NULL;
    /* A record's group: an aggregation's `by` keys (a sequence's: those of
     * the step that made the key), a stateless rule's throttle keys. */
    const rule_key *keys = rule->agg != RAGG_NONE ? sd_eval_record_keys(e, rule, key, key_len) : rule->throttle_by;
    uint32_t n = rule->agg != RAGG_NONE ? rule->nby : rule->nthrottle_by;
    bool ok = run_keys(&rs->vm, &rs->ev, keys, n, rs->key_vals) && key_bytes(&e->keybuf, rs->key_vals, n) &&
              make_extra(e, rule, &rs->ev, rs->key_vals, n);
    cJSON_Delete(root);
    return ok && !e->auxbuf.oom && !e->tkeybuf.oom;
}

/* Makes the event a record of rule r for the correlator: key bytes in
 * e->keybuf, group values vals[0..nvals_key) for its aux, distinct values
 * in e->valbuf (nvals of them), sequence steps in mask. False when the
 * budget ran out (the record is lost with the event's other work). */
static bool add_record(eval_ctx *x, uint32_t r, const sd_values *group, uint32_t ngroup, uint32_t nvals,
                       uint64_t mask) {
    secdet_engine *e = x->e;
    sd_event *ev = &e->rs->ev;
    const vm_rule *rule = &e->rs->prog->rules[r];
    if (!make_extra(e, rule, ev, group, ngroup)) return false;
    if (e->auxbuf.oom || e->tkeybuf.oom) return true;
    corr_input in = {
        .rule = r,
        .t = ev->time_ns,
        .key = e->keybuf.data ? e->keybuf.data : "",
        .key_len = (uint32_t)e->keybuf.len,
        .vals = e->valbuf.data ? e->valbuf.data : "",
        .vals_len = nvals ? (uint32_t)e->valbuf.len : 0,
        .nvals = nvals,
        .mask = mask,
        .tkey = e->tkeybuf.data,
        .tkey_len = (uint32_t)e->tkeybuf.len,
        .aux = e->auxbuf.data,
        .aux_len = (uint32_t)e->auxbuf.len,
    };
    if (e->stage.fwd_fn) return forward_record(x, &in);
    if (!record_event(x) || (in.src = sd_corr_source_id(e->corr, x->sname)) == UINT32_MAX) return true;
    in.ev = x->cev;
    (void)sd_corr_add(e->corr, &in);
    return true;
}

/* A throttled stateless rule in a scale-out: stage 1 forwards the match by
 * its throttle keys; stage 2 makes it a record, so that it fires (and is
 * throttled) in event-time order like the aggregations beside it. */
static bool defer_stateless(eval_ctx *x, uint32_t r, uint32_t nkeys) {
    secdet_engine *e = x->e;
    if (!key_bytes(&e->keybuf, e->rs->key_vals, nkeys)) return true;
    /* A match even when records are forwarded: the next stage throttles it as
     * it comes, as one engine would, and builds its alert from the event. */
    if (e->stage.fwd_fn) return forward_match(x, r);
    if (x->late) return true;
    return add_record(x, r, e->rs->key_vals, nkeys, 0, 0);
}

/* ---- Rules ---------------------------------------------------------------------------- */

/* The event's time, taken when first needed (see the top). */
static void need_time(eval_ctx *x) {
    if (x->have_time) return;
    sd_event *ev = &x->e->rs->ev;
    ev->time_ns = x->only ? x->only->time_ns : sd_engine_event_time(x->e, ev);
    x->have_time = true;
}

/* Whether an exception of a tune takes the matched event out of rule r
 * (counted): 1 yes, 0 no, -1 out of budget. */
static int excepted(eval_ctx *x, uint32_t r) {
    if (!sd_tune_has_excepts(&x->e->rs->prog->rules[r])) return 0;
    need_time(x); /* an exception may have a date */
    return sd_tune_except(x->e, r, &x->e->rs->ev);
}

/* Builds and delivers the alert of a stateless rule that matched. Returns
 * false when the event must stop (instruction budget). */
static bool deliver(eval_ctx *x, uint32_t r) {
    secdet_engine *e = x->e;
    engine_ruleset *rs = e->rs;
    const vm_rule *rule = &rs->prog->rules[r];
    sd_event *ev = &rs->ev;
    /* A stateless rule's group is its throttle's keys (docs/language.md). */
    const rule_key *keys = rule->has_throttle ? rule->throttle_by : NULL;
    uint32_t nkeys = rule->has_throttle ? rule->nthrottle_by : 0;
    if (!run_keys(&rs->vm, ev, keys, nkeys, rs->key_vals)) return false;
    need_time(x);
    if (rule->has_throttle && (e->stage.fwd_fn || e->stage.external_wm)) return defer_stateless(x, r, nkeys);
    uint64_t suppressed = 0;
    if (rule->has_throttle && key_bytes(&e->keybuf, rs->key_vals, nkeys) &&
        !sd_corr_throttle(e->corr, r, e->keybuf.data ? e->keybuf.data : "", (uint32_t)e->keybuf.len, ev->time_ns,
                          throttle_ns(rule), &suppressed))
        return true;
    if (!event_json(e, ev)) return true; /* OOM: this alert is lost, go on */
    sd_buf_reset(&e->fieldsbuf);
    sd_engine_fields_json(ev, &e->fieldsbuf);
    secdet_severity sev = rule->sev;
    bool has_sev = sd_tune_has_cases(rule) && sd_tune_severity(e, rule, ev, &sev);
    const char *texts[1] = {e->evbuf.data};
    size_t lens[1] = {e->evbuf.len};
    alert_spec spec = {
        .prog = rs->prog,
        .rule = r,
        .source = x->sname,
        .log_type = ev->lt ? ev->lt->name : NULL,
        .fields_json = e->fieldsbuf.oom ? NULL : e->fieldsbuf.data,
        .fields_json_len = e->fieldsbuf.len,
        .time_ns = ev->time_ns,
        .first_seen_ns = ev->time_ns,
        .last_seen_ns = ev->time_ns,
        .count = 1,
        .suppressed = suppressed,
        .keys = keys,
        .key_vals = rs->key_vals,
        .nkeys = nkeys,
        .event_json = texts,
        .event_json_len = lens,
        .nevents = 1,
        .ev = ev,
        .has_severity = has_sev,
        .severity = sev,
    };
    secdet_alert alert;
    if (sd_alert_build(&e->alerts, &spec, &alert) != 0) return true; /* OOM: this alert is lost, go on */
    sd_engine_hand_out(e, &alert);
    sd_tune_count_alert(e, r);
    return true;
}

bool sd_eval_source_ok(const vm_rule *rule, const sd_event *ev) {
    if (rule->nsources == 0) return true;
    for (uint32_t i = 0; i < rule->nsources; i++)
        if (rule->sources[i] == ev->source || rule->sources[i] == ev->lt_source) return true;
    return false;
}

/* The distinct values of rule r in e->valbuf; how many (0: P is missing,
 * and the event is ignored by the rule), or -1 when the budget ran out. */
static int64_t distinct_values(secdet_engine *e, const vm_rule *rule) {
    engine_ruleset *rs = e->rs;
    sd_buf_reset(&e->valbuf);
    sd_values vals = {0, NULL};
    vm_status st = sd_vm_run_value(&rs->vm, &rs->ev, rule->distinct, &vals);
    if (st == VM_BUDGET) return -1;
    if (st != VM_OK) return 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < vals.n && i < CORR_MAX_VALUES; i++) {
        sd_buf_reset(&e->scratch);
        sd_alert_value_json(&e->scratch, &vals.v[i]);
        sd_corr_vals_put(&e->valbuf, e->scratch.data ? e->scratch.data : "", (uint32_t)e->scratch.len);
        n++;
    }
    if (e->valbuf.oom || e->scratch.oom) {
        sd_buf_free(&e->valbuf);
        sd_buf_free(&e->scratch);
        return 0;
    }
    return n;
}

/* An aggregation rule: when the event matches (a sequence: any step), hand
 * the correlator a record. False when the event must stop (budget). */
static bool correlate_rule(eval_ctx *x, uint32_t r) {
    secdet_engine *e = x->e;
    engine_ruleset *rs = e->rs;
    const vm_rule *rule = &rs->prog->rules[r];
    sd_event *ev = &rs->ev;
    if (x->late) return true;
    uint64_t mask = 0;
    if (rule->agg == RAGG_SEQUENCE && sd_eval_sequence_apart(rule)) return sd_eval_sequence(x, r);
    if (rule->agg == RAGG_SEQUENCE) {
        if (!sd_eval_source_ok(rule, ev) || rule->nsteps == 0 || rule->nsteps > CORR_MAX_STEPS) return true;
        for (uint32_t i = 0; i < rule->nsteps; i++) {
            bool ok = false;
            vm_status st = sd_vm_run_cond(&rs->vm, ev, rule->steps[i].code, &ok);
            if (st == VM_BUDGET) return false;
            if (st == VM_OK && ok) mask |= (uint64_t)1 << i;
        }
        if (!mask) return true;
    } else {
        bool matched = false;
        vm_status st = sd_vm_rule_matches(&rs->vm, ev, r, &matched);
        if (st == VM_BUDGET) return false;
        if (st != VM_OK || !matched) return true;
    }
    int ex = excepted(x, r); /* an excepted event does not enter the rule's correlation */
    if (ex) return ex > 0;
    if (!run_keys(&rs->vm, ev, rule->by, rule->nby, rs->key_vals)) return false;
    if (!key_bytes(&e->keybuf, rs->key_vals, rule->nby)) return true;
    if (forwards_matches(e)) return forward_match(x, r);
    int64_t nvals = 0;
    if (rule->agg == RAGG_DISTINCT) {
        nvals = distinct_values(e, rule);
        if (nvals < 0) return false;
        if (nvals == 0) return true; /* P missing: ignored by the rule */
    }
    if (rule->agg == RAGG_SUM) {
        nvals = sd_eval_sum_value(e, rule);
        if (nvals < 0) return false;
        if (nvals == 0) return true; /* no number in P: ignored by the rule */
    }
    return add_record(x, r, rs->key_vals, rule->nby, (uint32_t)nvals, mask);
}

/* For eval_seq.c (eval_int.h). */
bool sd_eval_key_bytes(buf *b, const sd_values *vals, uint32_t n) { return key_bytes(b, vals, n); }
bool sd_eval_run_keys(vm_ctx *vm, sd_event *ev, const rule_key *keys, uint32_t n, sd_values *vals) {
    return run_keys(vm, ev, keys, n, vals);
}
bool sd_eval_forward(eval_ctx *x, uint32_t r) { return forward_match(x, r); }
bool sd_eval_forwards_matches(const secdet_engine *e) { return forwards_matches(e); }
bool sd_eval_add_record(eval_ctx *x, uint32_t r, const sd_values *group, uint32_t ngroup, uint32_t nvals,
                        uint64_t mask) {
    return add_record(x, r, group, ngroup, nvals, mask);
}

/* Runs rule r; false when the event must stop. picked: the dispatch index
 * picked r for the event, so the VM may skip the conjunct it settled. */
static bool run_rule(eval_ctx *x, uint32_t r, bool picked) {
    engine_ruleset *rs = x->e->rs;
    bool matched = false;
    x->e->stats.rules_run++;
    if (rs->prog->rules[r].agg != RAGG_NONE) return correlate_rule(x, r);
    vm_status st = picked ? sd_vm_rule_matches_settled(&rs->vm, &rs->ev, r, &matched)
                          : sd_vm_rule_matches(&rs->vm, &rs->ev, r, &matched);
    if (st == VM_BUDGET) return false;
    if (st != VM_OK || !matched) return true;
    int ex = excepted(x, r);
    if (ex) return ex > 0;
    return deliver(x, r);
}

/* Whether rule r (in no index) can match the event: false only when it has
 * a literal guard (lang/compile_guard.c) that sd_vm_guards found failing. */
static bool guard_passes(const engine_ruleset *rs, uint32_t r) {
    const program *p = rs->prog;
    if (!p->guard_of || !rs->vm.guard_pass || r >= p->nrules || p->guard_of[r] >= p->nguards) return true;
    uint32_t g = p->guard_of[r];
    return rs->vm.guard_pass[g >> 6] >> (g & 63) & 1;
}

/* Runs the candidates of the event: the indexed rules it hits and the rules
 * in no index whose guard passes, each once, in rule order; false when the
 * budget ran out. */
static bool run_candidates(eval_ctx *x) {
    engine_ruleset *rs = x->e->rs;
    bool go_on = true;
    if (rs->prog->nguards > 0) sd_vm_guards(&rs->vm, &rs->ev);
    if (!mark_indexed(rs, &rs->ev)) {
        /* No index hit: the rules in no index are all there is, already in order. */
        for (uint32_t i = 0; go_on && i < rs->nalways_run; i++)
            if (guard_passes(rs, rs->always_run[i])) go_on = run_rule(x, rs->always_run[i], false);
        return go_on;
    }
    for (uint32_t i = 0; i < rs->nalways_run; i++) {
        uint32_t r = rs->always_run[i];
        if (guard_passes(rs, r)) rs->cand_bits[r >> 6] |= (uint64_t)1 << (r & 63);
    }
    for (uint32_t w = 0; w < rs->nwords; w++) {
        uint64_t bits = rs->cand_bits[w];
        rs->cand_bits[w] = 0; /* all zero again when the event is done, whatever the budget says */
        while (go_on && bits) {
            uint32_t r = w * 64 + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            go_on = run_rule(x, r, true); /* a rule in no index has no settled conjunct */
        }
    }
    return go_on;
}

/* Evaluates the event rs->ev was just begun on. */
static void run_event(secdet_engine *e, engine_source *src, const eval_only *only) {
    engine_ruleset *rs = e->rs;
    sd_event *ev = &rs->ev;
    e->evbuf_ev = NULL; /* its JSON is made afresh for every event */
    sd_engine_profile(e, src, ev);
    ev->time_ns = 0;
    sd_vm_begin_event(&rs->vm);
    eval_ctx x = {
        .e = e, .src = src, .sname = e->profile.source, .only = only, .have_time = false, .late = false, .cev = NULL};
    if (rs->stateful) {
        ev->time_ns = only ? only->time_ns : sd_engine_event_time(e, ev);
        x.have_time = true;
        /* Stage 1 holds no state; what is late by its own events is late downstream too (fwd_late). */
        x.late = (!e->stage.fwd_fn || e->stage.fwd_late) && sd_corr_is_late(e->corr, ev->time_ns);
        if (x.late) e->stats.late++;
        if (!e->stage.batch_any || ev->time_ns > e->stage.batch_max) e->stage.batch_max = ev->time_ns;
        e->stage.batch_any = true;
    }
    bool go_on = only ? run_rule(&x, only->rule, false) : run_candidates(&x);
    if (!go_on) e->stats.budget_exceeded++;
    if (rs->stateful) {
        if (x.cev) sd_corr_event_drop(e->corr, x.cev); /* frees it only when no record took it */
        sd_corr_advance(e->corr, ev->time_ns);
        sd_engine_fire_due(e);
    }
}

void sd_eval_tree(secdet_engine *e, engine_source *src, const cJSON *root, const eval_only *only) {
    e->stats.events++;
    engine_ruleset *rs = e->rs;
    if (!rs) return;
    sd_event_begin(&rs->ev, root);
    run_event(e, src, only);
}

/* Readies rs->ev for text-backed events: a scan plan for the rules' paths
 * and what the engine reads besides (sd_engine_plan_setup), rebuilt when
 * sources or log types change. False when the plan cannot be made (events
 * then go through cJSON). */
static bool text_ready(secdet_engine *e, engine_ruleset *rs) {
    uint64_t tag = sd_engine_plan_tag(e);
    if (rs->ev.plan && rs->ev.plan_tag == tag) return true;
    if (rs->scan_bad_tag == tag) return false;
    /* Every common field, not only those the rules read: each alert carries
     * them all (sd_engine_fields_json), and one not in the plan is read by
     * parsing the whole event with cJSON, alert after alert (issue 22). */
    unsigned mask = (1u << SD_NCOMMON) - 1;
    bool ok = sd_engine_plan_setup(e, &rs->ev, mask) == 0;
    if (!ok) rs->scan_bad_tag = tag;
    return ok;
}

/* Whether the scanned event has a member that may make it an envelope. */
static bool has_envelope_marker(secdet_engine *e, sd_event *ev) {
    for (size_t k = 0; k < DECODE_ENVELOPE_MARKERS; k++) {
        sd_values vals;
        sd_value one;
        sd_event_path_values(ev, &e->envelope_paths[k], &vals, &one);
        if (vals.n) return true;
    }
    return false;
}

bool sd_eval_text(secdet_engine *e, engine_source *src, const char *text, size_t len, unsigned flags,
                  const eval_only *only) {
    engine_ruleset *rs = e->rs;
    if (!rs || !text_ready(e, rs)) return false;
    if (sd_event_begin_text(&rs->ev, text, len, e->opts.max_json_depth) != 0) return false;
    if ((flags & DECODE_TEXT_MAY_BE_ENVELOPE) && has_envelope_marker(e, &rs->ev)) return false;
    e->stats.events++;
    e->stats.text_events++;
    run_event(e, src, only);
    return true;
}
