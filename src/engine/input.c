/* engine_input.c — sources, decoding, and the evaluation of each event.
 *
 * The hot path: for every decoded event, pick the candidate rules (the
 * compiler's dispatch index on constant string equalities, plus the rules
 * that are in no index), run each at most once and in rule order, and build
 * and deliver an alert for each match. Per event it allocates nothing once
 * the buffers have grown: the field cache, the candidate bitmap, the key
 * value slots and the alert buffers are all reused.
 *
 * Event time is the source's time field (RFC 3339), else the time of the
 * push. Without aggregation or throttled rules it is taken lazily, when the
 * first alert of an event needs it; with them, for every event, since it
 * moves the correlator's watermark and decides whether the event is late.
 *
 * Aggregation rules: when one matches (or a sequence step does), the event
 * becomes a record for the correlator (src/correlate/): group key bytes,
 * distinct values, step mask and the event's compact JSON, serialised once
 * per event whatever number of rules take it. Their alerts come back through
 * engine_fire, possibly while a later event is evaluated.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/sources.h"
#include "event/time.h"
#include "util/hash.h"
#include "util/json.h"

void engine_source_free(engine_source *s) {
    free(s->name);
    path_free(&s->time_path);
    decoder_free(s->dec);
    memset(s, 0, sizeof *s);
}

static engine_source *find_source(secdet_engine *e, const char *name) {
    for (size_t i = 0; i < e->nsources; i++)
        if (strcmp(e->sources[i].name, name) == 0) return &e->sources[i];
    return NULL;
}

/* "" means: no time field, every event takes the time of its push. */
static secdet_status parse_time_field(const char *text, sd_path *out, bool *has) {
    memset(out, 0, sizeof *out);
    *has = false;
    if (!text[0]) return SECDET_OK;
    const char *err = NULL;
    size_t n = strlen(text);
    size_t used = path_parse(text, n, out, &err);
    if (used != n || used == 0) {
        path_free(out);
        return SECDET_ERR_INVALID_ARG;
    }
    *has = true;
    return SECDET_OK;
}

secdet_status secdet_source_add(secdet_engine *e, const char *name, const secdet_source_opts *opts) {
    if (!e || e->busy || !name || !name[0]) return SECDET_ERR_INVALID_ARG;
    secdet_source_opts o = {.format = SECDET_FMT_AUTO, .time_field = NULL};
    if (opts) o = *opts;
    if (!o.format_name && !secdet_format_name(o.format)) return SECDET_ERR_INVALID_ARG;
    if (find_source(e, name)) return SECDET_ERR_EXISTS;

    engine_source s = {0};
    /* The format's decoder and default time field: engine_sources.c. */
    decoder *dec = NULL;
    const char *time_default = ".eventTime";
    secdet_status st = engine_source_decoder(e, &o, &dec, &time_default);
    if (st != SECDET_OK) return st;
    st = parse_time_field(o.time_field ? o.time_field : time_default, &s.time_path, &s.has_time);
    if (st != SECDET_OK) {
        decoder_free(dec);
        return st;
    }
    s.format = o.format;
    s.name = strdup(name);
    s.dec = dec;
    s.prog_gen = UINT64_MAX;
    if (!s.name || !s.dec) {
        engine_source_free(&s);
        return SECDET_ERR_NOMEM;
    }
    if (e->nsources == e->cap_sources) {
        size_t cap = e->cap_sources ? e->cap_sources * 2 : 4;
        engine_source *p = realloc(e->sources, cap * sizeof *p);
        if (!p) {
            engine_source_free(&s);
            return SECDET_ERR_NOMEM;
        }
        e->sources = p;
        e->cap_sources = cap;
    }
    e->sources[e->nsources++] = s;
    return SECDET_OK;
}

/* ---- Evaluation ----------------------------------------------------------- */

static uint32_t program_source_id(const program *p, const char *name) {
    for (uint32_t i = 0; i < p->nsources; i++)
        if (strcmp(p->source_names[i], name) == 0) return i;
    return UINT32_MAX;
}

static uint32_t source_id(secdet_engine *e, engine_source *s) {
    if (s->prog_gen != e->prog_gen) {
        s->prog_source = program_source_id(e->rs->prog, s->name);
        s->prog_gen = e->prog_gen;
    }
    return s->prog_source;
}

static int64_t event_time(secdet_engine *e, const engine_source *s, sd_event *ev) {
    if (s->has_time) {
        sd_values vals;
        sd_value one;
        event_path_values(ev, &s->time_path, &vals, &one);
        int64_t t;
        if (vals.n >= 1 && vals.v[0].type == SD_STR && time_parse_rfc3339(vals.v[0].str, vals.v[0].len, &t))
            return t;
    }
    if (!e->push_time_ns) e->push_time_ns = time_now_ns();
    return e->push_time_ns;
}

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
        const sd_values *vals = event_field(ev, ix->path);
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

typedef struct eval_ctx {
    secdet_engine *e;
    engine_source *src;
    bool have_time;
    bool late;          /* older than the watermark: no correlation */
    corr_event *cev;    /* this event's JSON for the correlator, made on first use */
} eval_ctx;

/* Appends one key's value as group key bytes: its JSON, then a NUL (which
 * JSON text never holds), so key tuples compare as bytes. */
static void key_bytes_put(buf *b, const sd_values *vals) {
    alert_group_value_json(b, vals);
    buf_append(b, "", 1);
}

/* Serialises key values computed into vals[0..n). false on OOM. */
static bool key_bytes(buf *b, const sd_values *vals, uint32_t n) {
    buf_reset(b);
    for (uint32_t k = 0; k < n; k++) key_bytes_put(b, &vals[k]);
    if (b->oom) {
        buf_free(b);
        buf_init(b);
        return false;
    }
    return true;
}

/* Runs key programs on ev into vals; false when the budget ran out. */
static bool run_keys(vm_ctx *vm, sd_event *ev, const rule_key *keys, uint32_t n, sd_values *vals) {
    for (uint32_t k = 0; k < n; k++) {
        vm_status st = vm_run_value(vm, ev, keys[k].code, &vals[k]);
        if (st == VM_BUDGET) return false;
        if (st != VM_OK) vals[k] = (sd_values){0, NULL};
    }
    return true;
}

static int64_t throttle_ns(const vm_rule *r) {
    int64_t ms = r->throttle_ms < 0 ? 0 : r->throttle_ms;
    return ms > INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000;
}

/* The event's compact JSON in e->evbuf, as alert_json_write writes its
 * tree (alerts and correlation samples carry it; the alert id hashes it),
 * made once per event: from a scanned event's text directly, else from the
 * tree. False on OOM. */
static bool event_json(secdet_engine *e, sd_event *ev) {
    if (e->evbuf_ev == ev && e->evbuf_gen == ev->gen) return true;
    e->evbuf_ev = NULL;
    buf_reset(&e->evbuf);
    bool ok = ev->text_mode && alert_json_from_text(&e->evbuf, ev->text, ev->text_len) == 0;
    if (!ok) {
        buf_free(&e->evbuf);
        buf_init(&e->evbuf);
        const cJSON *root = event_root(ev);
        if (!root) return false;
        alert_json_write(&e->evbuf, root);
    }
    if (e->evbuf.oom || !e->evbuf.data) {
        buf_free(&e->evbuf);
        buf_init(&e->evbuf);
        return false;
    }
    e->evbuf_ev = ev;
    e->evbuf_gen = ev->gen;
    return true;
}

void engine_hand_out(secdet_engine *e, const secdet_alert *alert) {
    e->stats.alerts++;
    if (e->alert_fn) e->alert_fn(e->alert_user, alert);
    if (e->hub) engine_sinks_offer(e, alert);
}

/* Stage 1: hands the match of rule r to the forwarder (e->keybuf holds its
 * key bytes). Always true: a lost forward (OOM) does not stop the event. */
static bool forward_match(eval_ctx *x, uint32_t r) {
    secdet_engine *e = x->e;
    sd_event *ev = &e->rs->ev;
    if (!event_json(e, ev)) return true;
    engine_forward f = {
        .rule = e->rs->prog->rules[r].name,
        .source = x->src->name,
        .key = e->keybuf.data ? e->keybuf.data : "",
        .key_len = (uint32_t)e->keybuf.len,
        .time_ns = ev->time_ns,
        .json = e->evbuf.data,
        .len = e->evbuf.len,
    };
    e->fwd_fn(e->fwd_user, &f);
    return true;
}

/* The event's shared JSON for correlation records, made on first use. */
static corr_event *record_event(eval_ctx *x) {
    secdet_engine *e = x->e;
    if (!x->cev && event_json(e, &e->rs->ev)) x->cev = corr_event_new(e->corr, e->evbuf.data, e->evbuf.len);
    return x->cev;
}

/* A throttled stateless rule in a scale-out: stage 1 forwards the match by
 * its throttle keys; stage 2 makes it a record, so that it fires (and is
 * throttled) in event-time order like the aggregations beside it. */
static bool defer_stateless(eval_ctx *x, uint32_t r, uint32_t nkeys) {
    secdet_engine *e = x->e;
    if (!key_bytes(&e->keybuf, e->rs->key_vals, nkeys)) return true;
    if (e->fwd_fn) return forward_match(x, r);
    if (x->late || !record_event(x)) return true;
    uint32_t src = corr_source_id(e->corr, x->src->name);
    if (src == UINT32_MAX) return true;
    (void)corr_add(e->corr, r, src, e->rs->ev.time_ns, e->keybuf.data ? e->keybuf.data : "",
                   (uint32_t)e->keybuf.len, "", 0, 0, 0, x->cev);
    return true;
}

/* Builds and delivers the alert of a stateless rule that matched. Returns
 * false when the event must stop (instruction budget). */
static bool deliver(eval_ctx *x, uint32_t r) {
    secdet_engine *e = x->e;
    engine_ruleset *rs = e->rs;
    const vm_rule *rule = &rs->prog->rules[r];
    sd_event *ev = &rs->ev;
    /* A stateless rule's group is its throttle's keys (LANGUAGE.md). */
    const rule_key *keys = rule->has_throttle ? rule->throttle_by : NULL;
    uint32_t nkeys = rule->has_throttle ? rule->nthrottle_by : 0;
    if (!run_keys(&rs->vm, ev, keys, nkeys, rs->key_vals)) return false;
    if (!x->have_time) {
        ev->time_ns = e->only ? e->only_time : event_time(e, x->src, ev);
        x->have_time = true;
    }
    if (rule->has_throttle && (e->fwd_fn || e->stage2)) return defer_stateless(x, r, nkeys);
    uint64_t suppressed = 0;
    if (rule->has_throttle && key_bytes(&e->keybuf, rs->key_vals, nkeys) &&
        !corr_throttle(e->corr, r, e->keybuf.data ? e->keybuf.data : "", (uint32_t)e->keybuf.len, ev->time_ns,
                       throttle_ns(rule), &suppressed))
        return true;
    if (!event_json(e, ev)) return true; /* OOM: this alert is lost, go on */
    const char *texts[1] = {e->evbuf.data};
    size_t lens[1] = {e->evbuf.len};
    alert_spec spec = {
        .prog = rs->prog,
        .rule = r,
        .source = x->src->name,
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
    };
    secdet_alert alert;
    if (alert_build(&e->alerts, &spec, &alert) != 0) return true; /* OOM: this alert is lost, go on */
    engine_hand_out(e, &alert);
    return true;
}

static bool source_ok(const vm_rule *rule, uint32_t source) {
    if (rule->nsources == 0) return true;
    for (uint32_t i = 0; i < rule->nsources; i++)
        if (rule->sources[i] == source) return true;
    return false;
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
    if (rule->agg == RAGG_SEQUENCE) {
        if (!source_ok(rule, ev->source) || rule->nsteps == 0 || rule->nsteps > CORR_MAX_STEPS) return true;
        for (uint32_t i = 0; i < rule->nsteps; i++) {
            bool ok = false;
            vm_status st = vm_run_cond(&rs->vm, ev, rule->steps[i].code, &ok);
            if (st == VM_BUDGET) return false;
            if (st == VM_OK && ok) mask |= (uint64_t)1 << i;
        }
        if (!mask) return true;
    } else {
        bool matched = false;
        vm_status st = vm_rule_matches(&rs->vm, ev, r, &matched);
        if (st == VM_BUDGET) return false;
        if (st != VM_OK || !matched) return true;
    }
    if (!run_keys(&rs->vm, ev, rule->by, rule->nby, rs->key_vals)) return false;
    if (!key_bytes(&e->keybuf, rs->key_vals, rule->nby)) return true;
    if (e->fwd_fn) return forward_match(x, r);
    uint32_t nvals = 0;
    buf_reset(&e->valbuf);
    if (rule->agg == RAGG_DISTINCT) {
        sd_values vals = {0, NULL};
        vm_status st = vm_run_value(&rs->vm, ev, rule->distinct, &vals);
        if (st == VM_BUDGET) return false;
        if (st != VM_OK || vals.n == 0) return true; /* P missing: ignored by the rule */
        for (uint32_t i = 0; i < vals.n && i < CORR_MAX_VALUES; i++) {
            buf_reset(&e->scratch);
            alert_value_json(&e->scratch, &vals.v[i]);
            corr_vals_put(&e->valbuf, e->scratch.data ? e->scratch.data : "", (uint32_t)e->scratch.len);
            nvals++;
        }
        if (e->valbuf.oom || e->scratch.oom) {
            buf_free(&e->valbuf);
            buf_free(&e->scratch);
            return true;
        }
    }
    if (!record_event(x)) return true;
    uint32_t src = corr_source_id(e->corr, x->src->name);
    if (src == UINT32_MAX) return true;
    (void)corr_add(e->corr, r, src, ev->time_ns, e->keybuf.data ? e->keybuf.data : "", (uint32_t)e->keybuf.len,
                   e->valbuf.data ? e->valbuf.data : "", (uint32_t)e->valbuf.len, nvals, mask, x->cev);
    return true;
}

/* Runs rule r; false when the event must stop. */
static bool run_rule(eval_ctx *x, uint32_t r) {
    engine_ruleset *rs = x->e->rs;
    bool matched = false;
    x->e->stats.rules_run++;
    if (rs->prog->rules[r].agg != RAGG_NONE) return correlate_rule(x, r);
    vm_status st = vm_rule_matches(&rs->vm, &rs->ev, r, &matched);
    if (st == VM_BUDGET) return false;
    if (st != VM_OK || !matched) return true;
    return deliver(x, r);
}

/* Evaluates the event rs->ev was just begun on. */
static void run_event(secdet_engine *e, engine_source *src) {
    engine_ruleset *rs = e->rs;
    sd_event *ev = &rs->ev;
    e->evbuf_ev = NULL; /* its JSON is made afresh for every event */
    ev->source = source_id(e, src);
    ev->time_ns = 0;
    vm_begin_event(&rs->vm);
    eval_ctx x = {.e = e, .src = src, .have_time = false, .late = false, .cev = NULL};
    if (rs->stateful) {
        ev->time_ns = e->only ? e->only_time : event_time(e, src, ev);
        x.have_time = true;
        x.late = !e->fwd_fn && corr_is_late(e->corr, ev->time_ns); /* stage 1 holds no state */
        if (x.late) e->stats.late++;
        if (!e->batch_any || ev->time_ns > e->batch_max) e->batch_max = ev->time_ns;
        e->batch_any = true;
    }

    bool go_on = true;
    if (e->only) {
        go_on = run_rule(&x, e->only_rule);
    } else if (!mark_indexed(rs, ev)) {
        /* No index hit: the rules in no index are all there is, already in order. */
        for (uint32_t i = 0; go_on && i < rs->nalways_run; i++) go_on = run_rule(&x, rs->always_run[i]);
    } else {
        for (uint32_t i = 0; i < rs->nalways_run; i++) {
            uint32_t r = rs->always_run[i];
            rs->cand_bits[r >> 6] |= (uint64_t)1 << (r & 63);
        }
        for (uint32_t w = 0; w < rs->nwords; w++) {
            uint64_t bits = rs->cand_bits[w];
            rs->cand_bits[w] = 0;
            while (go_on && bits) {
                uint32_t r = w * 64 + (uint32_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                go_on = run_rule(&x, r);
            }
        }
    }
    if (!go_on) e->stats.budget_exceeded++;
    if (rs->stateful) {
        int64_t t = ev->time_ns;
        if (x.cev) corr_event_drop(e->corr, x.cev); /* frees it only when no record took it */
        corr_advance(e->corr, t);
    }
}

static void evaluate(secdet_engine *e, engine_source *src, const cJSON *root) {
    e->stats.events++;
    engine_ruleset *rs = e->rs;
    if (!rs) return;
    event_begin(&rs->ev, root);
    run_event(e, src);
}

/* Readies rs->ev for text-backed events: a scan plan for the rules' paths,
 * every source's time field and the envelope markers, rebuilt when sources
 * are added. False when the plan cannot be made (events then go through
 * cJSON). */
static bool text_ready(secdet_engine *e, engine_ruleset *rs) {
    uint64_t tag = (uint64_t)e->nsources + 1;
    if (rs->ev.plan && rs->ev.plan_tag == tag) return true;
    if (rs->scan_bad_tag == tag) return false;
    size_t n = 0;
    const sd_path **extra = malloc((e->nsources + 1 + DECODE_ENVELOPE_MARKERS) * sizeof *extra);
    if (extra) {
        extra[n++] = &e->default_time_path;
        for (size_t k = 0; k < DECODE_ENVELOPE_MARKERS; k++) extra[n++] = &e->envelope_paths[k];
        for (size_t i = 0; i < e->nsources; i++)
            if (e->sources[i].has_time) extra[n++] = &e->sources[i].time_path;
    }
    bool ok = extra && event_scan_setup(&rs->ev, extra, (uint32_t)n, tag) == 0;
    free(extra);
    if (!ok) rs->scan_bad_tag = tag;
    return ok;
}

/* Whether the scanned event has a member that may make it an envelope. */
static bool has_envelope_marker(secdet_engine *e, sd_event *ev) {
    for (size_t k = 0; k < DECODE_ENVELOPE_MARKERS; k++) {
        sd_values vals;
        sd_value one;
        event_path_values(ev, &e->envelope_paths[k], &vals, &one);
        if (vals.n) return true;
    }
    return false;
}

/* Scans and evaluates one event's JSON text; false when the scanner does
 * not take it (then it goes through cJSON, which also words any error), or
 * when `flags` ask to decline a possible envelope and it is one. */
static bool evaluate_text(secdet_engine *e, engine_source *src, const char *text, size_t len, unsigned flags) {
    engine_ruleset *rs = e->rs;
    if (!rs || !text_ready(e, rs)) return false;
    if (event_begin_text(&rs->ev, text, len, e->opts.max_json_depth) != 0) return false;
    if ((flags & DECODE_TEXT_MAY_BE_ENVELOPE) && has_envelope_marker(e, &rs->ev)) return false;
    e->stats.events++;
    e->stats.text_events++;
    run_event(e, src);
    return true;
}

/* ---- Aggregation alerts ------------------------------------------------------ */

void engine_fire(void *user, const corr_fire *f) {
    secdet_engine *e = user;
    engine_ruleset *rs = e->rs;
    if (!rs || f->rule >= rs->prog->nrules || f->nevents == 0) return;
    const vm_rule *rule = &rs->prog->rules[f->rule];
    if (rule->is_private) return;
    /* {.path} and the group's values come from the firing event: parse its
     * sample copy (alerts are rare; events are not). */
    const corr_event *last = f->events[f->nevents - 1];
    cJSON *root = json_parse(last->json, last->len, 0, NULL);
    if (!root) return;
    sd_event *ev = &rs->alert_ev;
    event_begin(ev, root);
    ev->time_ns = f->time_ns;
    const char *source = corr_source_name(e->corr, f->src);
    ev->source = program_source_id(rs->prog, source);
    /* Keys are evaluated outside the per-event budget of the event under way. */
    uint64_t used = rs->vm.used;
    rs->vm.used = 0;
    (void)run_keys(&rs->vm, ev, rule->by, rule->nby, rs->key_vals);
    bool go = true;
    bool stateless = rule->agg == RAGG_NONE;
    uint64_t suppressed = 0;
    if (rule->has_throttle) {
        (void)run_keys(&rs->vm, ev, rule->throttle_by, rule->nthrottle_by, rs->tkey_vals);
        if (key_bytes(&e->keybuf, rs->tkey_vals, rule->nthrottle_by))
            go = corr_throttle(e->corr, f->rule, e->keybuf.data ? e->keybuf.data : "", (uint32_t)e->keybuf.len,
                               f->time_ns, throttle_ns(rule), &suppressed);
    }
    rs->vm.used = used;
    if (go) {
        const char *texts[f->nevents];
        size_t lens[f->nevents];
        for (uint32_t i = 0; i < f->nevents; i++) {
            texts[i] = f->events[i]->json;
            lens[i] = f->events[i]->len;
        }
        alert_spec spec = {
            .prog = rs->prog,
            .rule = f->rule,
            .source = source,
            .time_ns = f->time_ns,
            .first_seen_ns = f->first_ns,
            .last_seen_ns = f->last_ns,
            .count = f->count,
            .has_distinct = f->has_distinct,
            .distinct = f->distinct,
            .suppressed = suppressed,
            /* A stateless rule's group is its throttle's keys (a stage-2 deferred match). */
            .keys = stateless ? rule->throttle_by : rule->by,
            .key_vals = stateless ? rs->tkey_vals : rs->key_vals,
            .nkeys = stateless ? rule->nthrottle_by : rule->nby,
            .nevents = f->nevents,
            .event_json = texts,
            .event_json_len = lens,
            .ev = ev,
        };
        secdet_alert alert;
        if (alert_build(&e->alerts, &spec, &alert) == 0) engine_hand_out(e, &alert);
    }
    cJSON_Delete(root);
}

/* ---- Decoding --------------------------------------------------------------- */

typedef struct push_ctx {
    secdet_engine *e;
    engine_source *src;
    uint64_t malformed;
} push_ctx;

static int on_event(void *user, const cJSON *event, uint64_t where) {
    (void)where;
    push_ctx *pc = user;
    evaluate(pc->e, pc->src, event);
    return 0;
}

static int on_text(void *user, const char *text, size_t len, uint64_t where, unsigned flags) {
    (void)where;
    push_ctx *pc = user;
    return evaluate_text(pc->e, pc->src, text, len, flags) ? 0 : DECODE_TEXT_DECLINED;
}

static void on_error(void *user, uint64_t where, const char *message) {
    push_ctx *pc = user;
    pc->e->stats.malformed++;
    pc->malformed++;
    if (pc->e->error_fn) pc->e->error_fn(pc->e->error_user, pc->src->name, where, message);
}

static secdet_status push_result(int rc, const push_ctx *pc) {
    if (rc < 0) return SECDET_ERR_NOMEM;
    return pc->malformed ? SECDET_ERR_DECODE : SECDET_OK;
}

secdet_status secdet_push(secdet_engine *e, const char *source, const void *bytes, size_t len) {
    if (!e || e->busy || !source || (!bytes && len)) return SECDET_ERR_INVALID_ARG;
    engine_source *s = find_source(e, source);
    if (!s) return SECDET_ERR_UNKNOWN_SOURCE;
    if (!e->accept_always && engine_sinks_saturated(e)) return SECDET_ERR_BUSY; /* nothing consumed */
    push_ctx pc = {.e = e, .src = s, .malformed = 0};
    decode_sink sink = {.on_event = on_event, .on_error = on_error, .user = &pc};
    decoder_set_on_text(s->dec, on_text);
    e->busy = true;
    e->push_time_ns = 0;
    e->stats.bytes += len;
    int rc = len ? decoder_feed(s->dec, bytes, len, &sink) : 0;
    engine_push_done(e);
    return push_result(rc, &pc);
}

secdet_status secdet_source_end(secdet_engine *e, const char *source) {
    if (!e || e->busy || !source) return SECDET_ERR_INVALID_ARG;
    engine_source *s = find_source(e, source);
    if (!s) return SECDET_ERR_UNKNOWN_SOURCE;
    push_ctx pc = {.e = e, .src = s, .malformed = 0};
    decode_sink sink = {.on_event = on_event, .on_error = on_error, .user = &pc};
    decoder_set_on_text(s->dec, on_text);
    e->busy = true;
    e->push_time_ns = 0;
    int rc = decoder_end(s->dec, &sink);
    engine_push_done(e);
    return push_result(rc, &pc);
}

/* One JSON object as one event of `source` (added or not). */
static secdet_status push_one(secdet_engine *e, const char *source, const char *json, size_t len) {
    engine_source *s = find_source(e, source);
    /* A source that was never added: its name, and the default time field. */
    engine_source tmp = {.name = (char *)source, .format = SECDET_FMT_JSONL, .has_time = true,
                         .prog_gen = UINT64_MAX};
    if (!s) {
        tmp.time_path = e->default_time_path;
        s = &tmp;
    }
    push_ctx pc = {.e = e, .src = s, .malformed = 0};
    e->stats.bytes += len;
    secdet_status st = SECDET_OK;
    e->busy = true;
    e->push_time_ns = 0;
    if (len > e->opts.max_event_bytes) {
        on_error(&pc, 1, "event larger than the event size limit");
        st = SECDET_ERR_LIMIT;
    } else if (!evaluate_text(e, s, json ? json : "", len, 0)) {
        const char *err = NULL;
        cJSON *root = decode_json_object(json ? json : "", len, e->opts.max_json_depth, &err);
        if (!root) {
            on_error(&pc, 1, err ? err : "invalid JSON");
            st = SECDET_ERR_DECODE;
        } else {
            evaluate(e, s, root);
            cJSON_Delete(root);
        }
    }
    engine_push_done(e);
    return st;
}

secdet_status secdet_push_event(secdet_engine *e, const char *source, const char *json, size_t len) {
    if (!e || e->busy || !source || (!json && len)) return SECDET_ERR_INVALID_ARG;
    if (!e->accept_always && engine_sinks_saturated(e)) return SECDET_ERR_BUSY; /* nothing consumed */
    return push_one(e, source, json, len);
}

secdet_status engine_push_forwarded(secdet_engine *e, const char *source, const char *rule, int64_t time_ns,
                                    const char *json, size_t len) {
    if (!e || e->busy || !source || !rule || (!json && len)) return SECDET_ERR_INVALID_ARG;
    const program *p = e->rs ? e->rs->prog : NULL;
    uint32_t r = 0;
    while (p && r < p->nrules && strcmp(p->rules[r].name, rule) != 0) r++;
    if (!p || r == p->nrules || !e->rs->runnable[r]) {
        e->stats.malformed++;
        if (e->error_fn) e->error_fn(e->error_user, source, 1, "forwarded event for a rule that is not loaded here");
        return SECDET_ERR_INVALID_ARG;
    }
    e->only = true;
    e->only_rule = r;
    e->only_time = time_ns;
    secdet_status st = push_one(e, source, json, len);
    e->only = false;
    return st;
}
