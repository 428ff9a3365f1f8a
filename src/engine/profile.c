/* profile.c — whose an event is: its source name, its log type, where its
 * time is; its time; its common fields for the alert.
 *
 * A source has a log type (by default the one of its name, else jsonl);
 * a source whose log type is "auto" routes: each event's log type is taken
 * from its shape (event/logtype.h), and the event then belongs to the
 * source named after that log type, as if it had been pushed there —
 * `on okta` sees it and its alert says "source": "okta". An event of no
 * known shape stays with the routing source, as jsonl.
 *
 * `on NAME` holds for an event whose source or log type is NAME, so a
 * configured source "idp" of log type okta is seen by rules `on idp` and
 * `on okta` (the VM compares both program indexes, ev->source and
 * ev->lt_source). jsonl, no profile, is not matched as a log type: `on
 * jsonl` means the source of that name.
 *
 * Time: a source's time_field, when one was given, else its log type's
 * time field, else the format's default (jsonl has none of its own). A
 * time that cannot be read (present but not a time; or absent where the
 * log type has a time field) takes the time of the push, is counted per
 * source name (secdet_source_stats_get, stats.time_unreadable) and said
 * once per source through the error callback (not counted as malformed):
 * never silently. It is read when evaluation needs it (an aggregation or a
 * throttle loaded, or an alert to make), so that is when it is counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "event/time.h"

/* Looked up once per change of the registry, not per event (log types are
 * changed in place and never removed, so the pointer stays good). */
static const sd_logtype *jsonl_type(secdet_engine *e) {
    if (e->jsonl_gen != e->logtypes.gen + 1) {
        const sd_logtype *lt = sd_logtypes_find(&e->logtypes, "jsonl");
        e->jsonl_lt = lt ? lt : e->logtypes.v[e->logtypes.n - 1];
        e->jsonl_gen = e->logtypes.gen + 1;
    }
    return e->jsonl_lt;
}

static uint32_t prog_index(secdet_engine *e, const char *name) {
    return e->rs ? sd_eval_program_source(e->rs->prog, name) : UINT32_MAX;
}

/* A source's program indexes are found by name once per program (and, for
 * its log type, once per log type it sees: a routing source's events change
 * it), not by a string search per event. */
static void source_fresh(secdet_engine *e, engine_source *s) {
    if (s->prog_gen != e->prog_gen) {
        s->prog_source = prog_index(e, s->name);
        s->prog_lt_of = NULL;
        s->prog_gen = e->prog_gen;
    }
}

static uint32_t source_index(secdet_engine *e, engine_source *s) {
    source_fresh(e, s);
    return s->prog_source;
}

static uint32_t lt_index(secdet_engine *e, engine_source *s, const sd_logtype *lt) {
    source_fresh(e, s);
    if (s->prog_lt_of != lt) {
        s->prog_lt = prog_index(e, lt->name);
        s->prog_lt_of = lt;
    }
    return s->prog_lt;
}

static void set_time(event_profile *p, const engine_source *src, const sd_logtype *lt) {
    if (src->explicit_time || lt->field[SD_COMMON_TIME].n == 0) {
        p->time = (lt_paths){(lt_path *)&src->time_path, src->has_time ? 1u : 0u};
        p->time_is_lt = false;
    } else {
        p->time = lt->field[SD_COMMON_TIME];
        p->time_is_lt = true;
    }
}

void sd_engine_profile(secdet_engine *e, engine_source *src, sd_event *ev) {
    event_profile *p = &e->profile;
    const sd_logtype *lt = src->lt;
    p->source = src->name;
    bool routed = false;
    if (src->route) {
        const sd_logtype *found = sd_logtypes_detect(&e->logtypes, ev);
        if (found) {
            lt = found;
            p->source = found->name;
            routed = true;
        }
    }
    if (!lt) lt = jsonl_type(e);
    p->lt = lt;
    set_time(p, src, lt);
    /* jsonl is no profile: `on jsonl` names the source of that name only. */
    p->prog_lt = lt == jsonl_type(e) ? UINT32_MAX : lt_index(e, src, lt);
    p->prog_source = routed ? p->prog_lt : source_index(e, src);
    ev->lt = lt;
    ev->time = &p->time;
    ev->source = p->prog_source;
    ev->lt_source = p->prog_lt;
}

void sd_engine_profile_named(secdet_engine *e, const char *name, sd_event *ev) {
    engine_source *s = sd_engine_find_source(e, name);
    if (s) {
        sd_engine_profile(e, s, ev);
        return;
    }
    engine_source tmp = {.name = (char *)name, .has_time = true, .prog_gen = UINT64_MAX};
    tmp.time_path = e->default_time_path;
    tmp.lt = sd_logtypes_find(&e->logtypes, name);
    sd_engine_profile(e, &tmp, ev);
    /* tmp's time path is the engine's (its copy shares the path): point at that. */
    if (!e->profile.time_is_lt) e->profile.time = (lt_paths){&e->default_time_path, 1};
    e->profile.source = name;
}

/* ---- time ------------------------------------------------------------------------ */

static source_stat *sstat(secdet_engine *e, const char *name) {
    for (size_t i = 0; i < e->nsstats; i++)
        if (strcmp(e->sstats[i].name, name) == 0) return &e->sstats[i];
    if (e->nsstats == e->cap_sstats) {
        size_t cap = e->cap_sstats ? e->cap_sstats * 2 : 4;
        source_stat *v = realloc(e->sstats, cap * sizeof *v);
        if (!v) return NULL;
        e->sstats = v;
        e->cap_sstats = cap;
    }
    source_stat *s = &e->sstats[e->nsstats];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    if (!s->name) return NULL;
    e->nsstats++;
    return s;
}

static void time_unreadable(secdet_engine *e, sd_event *ev, bool present) {
    const event_profile *p = &e->profile;
    e->stats.time_unreadable++;
    source_stat *s = sstat(e, p->source);
    if (!s) return;
    s->time_unreadable++;
    if (s->warned) return;
    s->warned = true;
    char fields[160] = "";
    for (uint32_t i = 0; i < p->time.n; i++) {
        size_t at = strlen(fields);
        snprintf(fields + at, sizeof fields - at, "%s%s", i ? " or " : "", p->time.v[i].p.text);
    }
    char msg[320];
    snprintf(msg, sizeof msg,
             "%s event time (%s) %s; such events take the time of the push (counted in stats.time_unreadable; "
             "said once per source)",
             p->lt->name, fields, present ? "cannot be read as RFC 3339 or epoch time" : "is missing");
    (void)ev;
    sd_engine_report(e, p->source, 0, msg);
}

int64_t sd_engine_event_time(secdet_engine *e, sd_event *ev) {
    int64_t t;
    int r = sd_lt_time(ev, ev->time, &t);
    if (r == 1) return t;
    if (r < 0 || e->profile.time_is_lt) time_unreadable(e, ev, r < 0);
    if (!e->push_time_ns) e->push_time_ns = sd_time_now_ns();
    return e->push_time_ns;
}

secdet_status secdet_source_stats_get(const secdet_engine *e, const char *source, secdet_source_stats *out) {
    if (!e || !source || !out) return SECDET_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < e->nsstats; i++)
        if (strcmp(e->sstats[i].name, source) == 0) out->time_unreadable = e->sstats[i].time_unreadable;
    return SECDET_OK;
}

void sd_engine_profile_free(secdet_engine *e) {
    for (size_t i = 0; i < e->nsstats; i++) free(e->sstats[i].name);
    free(e->sstats);
    e->sstats = NULL;
    e->nsstats = e->cap_sstats = 0;
}

/* ---- the alert's fields ---------------------------------------------------------------- */

void sd_engine_fields_json(sd_event *ev, buf *out) {
    /* type first: it says how to read the rest. */
    static const int order[] = {SD_COMMON_TYPE, SD_COMMON_TIME,    SD_COMMON_ID,     SD_COMMON_IP,
                                SD_COMMON_USER, SD_COMMON_ACCOUNT, SD_COMMON_ACTION, SD_COMMON_OUTCOME};
    sd_buf_putc(out, '{');
    bool first = true;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        sd_values v;
        sd_value one;
        sd_lt_common(ev, order[i], &v, &one);
        if (v.n == 0) continue;
        if (!first) sd_buf_putc(out, ',');
        first = false;
        sd_buf_putc(out, '"');
        sd_buf_puts(out, sd_common_names[order[i]]);
        sd_buf_puts(out, "\":");
        sd_alert_group_value_json(out, &v);
    }
    sd_buf_putc(out, '}');
}

/* ---- the scan plan's extra paths ------------------------------------------------------- */

uint64_t sd_engine_plan_tag(const secdet_engine *e) {
    return ((uint64_t)e->logtypes.gen << 32) ^ ((uint64_t)e->nsources + 1);
}

int sd_engine_plan_setup(secdet_engine *e, sd_event *ev, unsigned mask) {
    size_t nlt = sd_logtypes_path_count(&e->logtypes);
    size_t cap = 1 + DECODE_ENVELOPE_MARKERS + e->nsources + nlt;
    const sd_path **extra = malloc(cap * sizeof *extra);
    lt_path **lts = malloc((nlt ? nlt : 1) * sizeof *lts);
    int rc = -1;
    if (extra && lts) {
        size_t n = 0;
        e->default_time_path.extra = (uint32_t)n;
        extra[n++] = &e->default_time_path.p;
        for (size_t k = 0; k < DECODE_ENVELOPE_MARKERS; k++) extra[n++] = &e->envelope_paths[k];
        for (size_t i = 0; i < e->nsources; i++) {
            if (!e->sources[i].has_time) continue;
            e->sources[i].time_path.extra = (uint32_t)n;
            extra[n++] = &e->sources[i].time_path.p;
        }
        /* Time fields and shapes first, the same for every plan of the
         * engine, so that their indexes hold in each (reader.c's too). */
        size_t k = sd_logtypes_paths(&e->logtypes, true, 0, lts);
        k += sd_logtypes_paths(&e->logtypes, false, mask, lts + k);
        for (size_t j = 0; j < k; j++) {
            lts[j]->extra = (uint32_t)n;
            extra[n++] = &lts[j]->p;
        }
        rc = sd_event_scan_setup(ev, extra, (uint32_t)n, sd_engine_plan_tag(e));
    }
    free(extra);
    free(lts);
    return rc;
}
