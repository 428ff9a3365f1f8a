/* engine.c — the public engine object: options, life cycle, callbacks,
 * stats, flush and snapshots, rule descriptions; and the parts outside the
 * engine hang their state on it (outer.h).
 *
 * Loading rules is in rules.c, sources in sources.c, pushing in push.c and
 * evaluation in eval.c. Nothing here keeps global state: every table is
 * static const, and all mutable state hangs off a secdet_engine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "sink/delivery.h"
#include "util/limits.h"

const char *secdet_version(void) { return SECDET_VERSION_STRING; }

const char *secdet_strerror(secdet_status status) {
    switch (status) {
    case SECDET_OK: return "success";
    case SECDET_ERR_INVALID_ARG: return "invalid argument";
    case SECDET_ERR_NOMEM: return "out of memory";
    case SECDET_ERR_IO: return "input/output error";
    case SECDET_ERR_RULES: return "rules did not compile";
    case SECDET_ERR_UNKNOWN_SOURCE: return "unknown source";
    case SECDET_ERR_EXISTS: return "source already exists";
    case SECDET_ERR_DECODE: return "malformed input";
    case SECDET_ERR_LIMIT: return "limit exceeded";
    case SECDET_ERR_TIMEOUT: return "timed out";
    case SECDET_ERR_BUSY: return "sinks cannot take more alerts now (retry later)";
    }
    return "unknown status";
}

void secdet_free(void *p) { free(p); }

void secdet_engine_opts_init(secdet_engine_opts *opts) {
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->vm_budget = LIMIT_VM_BUDGET_DEFAULT;
    opts->regex_match_limit = LIMIT_REGEX_MATCH_DEFAULT;
    opts->max_json_depth = LIMIT_JSON_DEPTH_DEFAULT;
    opts->max_event_bytes = LIMIT_EVENT_BYTES_DEFAULT;
    opts->max_rule_file_bytes = LIMIT_RULE_FILE_BYTES_DEFAULT;
    opts->max_samples = LIMIT_SAMPLES_DEFAULT;
    opts->lateness_ms = LIMIT_LATENESS_MS_DEFAULT;
    opts->max_state_bytes = LIMIT_STATE_BYTES_DEFAULT;
    opts->max_message_bytes = LIMIT_MESSAGE_BYTES_DEFAULT;
}

secdet_status secdet_engine_new(const secdet_engine_opts *opts, secdet_engine **out) {
    if (!out) return SECDET_ERR_INVALID_ARG;
    *out = NULL;
    secdet_engine_opts o;
    if (opts)
        o = *opts;
    else
        secdet_engine_opts_init(&o);
    if (o.lateness_ms < 0 || o.max_json_depth == 0 || o.max_event_bytes == 0 || o.max_rule_file_bytes == 0)
        return SECDET_ERR_INVALID_ARG;

    secdet_engine *e = calloc(1, sizeof *e);
    if (!e) return SECDET_ERR_NOMEM;
    if (o.max_state_bytes == 0) o.max_state_bytes = LIMIT_STATE_BYTES_DEFAULT;
    e->opts = o;
    sd_alert_ctx_init(&e->alerts);
    e->alerts.max_message = o.max_message_bytes; /* 0: the alert stage's default */
    sd_buf_init(&e->keybuf);
    sd_buf_init(&e->tkeybuf);
    sd_buf_init(&e->auxbuf);
    sd_buf_init(&e->valbuf);
    sd_buf_init(&e->evbuf);
    sd_buf_init(&e->scratch);
    sd_buf_init(&e->fieldsbuf);
    if (sd_logtypes_init(&e->logtypes) != 0) {
        secdet_engine_free(e);
        return SECDET_ERR_NOMEM;
    }
    corr_opts co = {
        .lateness_ns = o.lateness_ms > INT64_MAX / 1000000 ? INT64_MAX : o.lateness_ms * 1000000,
        .max_bytes = o.max_state_bytes,
        .max_samples = o.max_samples,
    };
    e->corr = sd_corr_new(&co);
    if (!e->corr) {
        secdet_engine_free(e);
        return SECDET_ERR_NOMEM;
    }
    const char *err = NULL;
    static const char default_time[] = ".eventTime";
    if (sd_path_parse(default_time, sizeof default_time - 1, &e->default_time_path.p, &err) !=
        sizeof default_time - 1) {
        secdet_engine_free(e);
        return SECDET_ERR_NOMEM;
    }
    e->default_time_path.extra = UINT32_MAX;
    for (size_t k = 0; k < DECODE_ENVELOPE_MARKERS; k++) {
        char text[64];
        int n = snprintf(text, sizeof text, ".\"%s\"", sd_decode_envelope_markers[k]);
        if (sd_path_parse(text, (size_t)n, &e->envelope_paths[k], &err) != (size_t)n) {
            secdet_engine_free(e);
            return SECDET_ERR_NOMEM;
        }
    }
    *out = e;
    return SECDET_OK;
}

void secdet_engine_free(secdet_engine *e) {
    if (!e) return;
    /* The parts outside first (inputs): nothing may push while the rest goes. */
    for (int k = 0; k < ENGINE_NPARTS; k++)
        if (e->parts[k].state && e->parts[k].ops->free) e->parts[k].ops->free(e->parts[k].state);
    sd_engine_ext_free(e);
    sd_hub_free(e->hub); /* then delivery: what is not delivered stays in the spools */
    sd_engine_ruleset_free(e->rs);
    for (size_t i = 0; i < e->ntexts; i++) {
        free(e->texts[i].name);
        free(e->texts[i].text);
    }
    free(e->texts);
    for (size_t i = 0; i < e->nsources; i++) sd_engine_source_free(&e->sources[i]);
    free(e->sources);
    sd_path_free(&e->default_time_path.p);
    sd_engine_peek_free(e);
    sd_logtypes_free(&e->logtypes);
    sd_engine_profile_free(e);
    sd_buf_free(&e->fieldsbuf);
    for (size_t k = 0; k < DECODE_ENVELOPE_MARKERS; k++) sd_path_free(&e->envelope_paths[k]);
    sd_alert_ctx_free(&e->alerts);
    sd_corr_free(e->corr);
    sd_buf_free(&e->keybuf);
    sd_buf_free(&e->tkeybuf);
    sd_buf_free(&e->auxbuf);
    sd_buf_free(&e->valbuf);
    sd_buf_free(&e->evbuf);
    sd_buf_free(&e->scratch);
    free(e);
}

secdet_status secdet_set_alert_callback(secdet_engine *e, secdet_alert_fn fn, void *user) {
    if (!e || e->busy) return SECDET_ERR_INVALID_ARG;
    e->alert_fn = fn;
    e->alert_user = user;
    return SECDET_OK;
}

secdet_status secdet_set_error_callback(secdet_engine *e, secdet_error_fn fn, void *user) {
    if (!e || e->busy) return SECDET_ERR_INVALID_ARG;
    e->error_fn = fn;
    e->error_user = user;
    return SECDET_OK;
}

secdet_status secdet_stats_get(const secdet_engine *e, secdet_stats *out) {
    if (!e || !out) return SECDET_ERR_INVALID_ARG;
    *out = e->stats;
    if (e->corr) {
        corr_stats cs;
        sd_corr_get_stats(e->corr, &cs);
        out->groups = cs.groups;
        out->state_bytes = cs.bytes;
        out->evicted = cs.evicted + e->evicted_more;
    }
    for (int k = 0; k < ENGINE_NPARTS; k++)
        if (e->parts[k].state && e->parts[k].ops->stats) e->parts[k].ops->stats(e->parts[k].state, out);
    return SECDET_OK;
}

/* ---- What the parts outside see (outer.h) -------------------------------------- */

const secdet_engine_opts *sd_engine_opts(const secdet_engine *e) { return &e->opts; }

bool sd_engine_busy(const secdet_engine *e) { return e->busy; }

void *sd_engine_part(const secdet_engine *e, engine_part_kind kind) {
    return (unsigned)kind < ENGINE_NPARTS ? e->parts[kind].state : NULL;
}

secdet_status sd_engine_part_set(secdet_engine *e, engine_part_kind kind, void *state, const engine_part_ops *ops) {
    if ((unsigned)kind >= ENGINE_NPARTS || !ops) return SECDET_ERR_INVALID_ARG;
    if (e->parts[kind].state) return SECDET_ERR_EXISTS;
    e->parts[kind].state = state;
    e->parts[kind].ops = ops;
    return SECDET_OK;
}

/* ---- Correlation: flush and snapshots ---------------------------------------- */

secdet_status secdet_flush(secdet_engine *e) {
    if (!e || e->busy) return SECDET_ERR_INVALID_ARG;
    e->busy = true;
    sd_corr_flush(e->corr);
    sd_engine_fire_due(e);
    sd_engine_push_done(e);
    return SECDET_OK;
}

secdet_status secdet_snapshot_save(secdet_engine *e, const char *path) {
    if (!e || e->busy || !path) return SECDET_ERR_INVALID_ARG;
    buf b;
    sd_buf_init(&b);
    if (sd_corr_snapshot_write(e->corr, &b) != 0 || b.oom) {
        sd_buf_free(&b);
        return SECDET_ERR_NOMEM;
    }
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        sd_buf_free(&b);
        return SECDET_ERR_NOMEM;
    }
    snprintf(tmp, n, "%s.tmp", path);
    secdet_status st = SECDET_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = SECDET_ERR_IO;
    } else {
        bool ok = fwrite(b.data, 1, b.len, f) == b.len;
        ok = fflush(f) == 0 && ok;
        ok = fsync(fileno(f)) == 0 && ok;
        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path) != 0) {
            remove(tmp);
            st = SECDET_ERR_IO;
        }
    }
    free(tmp);
    sd_buf_free(&b);
    return st;
}

static secdet_status read_whole(const char *path, buf *out, diag_list *d) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        sd_diag_add(d, DIAG_ERROR, path, 0, 0, "cannot open: %s", strerror(errno));
        return SECDET_ERR_IO;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sd_buf_append(out, chunk, n);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        sd_diag_add(d, DIAG_ERROR, path, 0, 0, "cannot read: %s", strerror(errno));
        return SECDET_ERR_IO;
    }
    return out->oom ? SECDET_ERR_NOMEM : SECDET_OK;
}

secdet_status secdet_snapshot_load(secdet_engine *e, const char *path, secdet_diagnostics **report) {
    if (report) *report = NULL;
    if (!e || e->busy || !path) return SECDET_ERR_INVALID_ARG;
    diag_list d;
    sd_diag_init(&d);
    buf b;
    sd_buf_init(&b);
    secdet_status st = read_whole(path, &b, &d);
    if (st == SECDET_OK) {
        int rc = sd_corr_snapshot_read(e->corr, b.data ? b.data : "", b.len, path, &d);
        if (rc == 0) sd_engine_remake_aux(e);
        st = rc == 0 ? SECDET_OK : rc == -2 ? SECDET_ERR_NOMEM : SECDET_ERR_DECODE;
    }
    sd_buf_free(&b);
    if (report) {
        secdet_diagnostics *out = malloc(sizeof *out);
        if (out) {
            out->list = d;
            *report = out;
            return st;
        }
    }
    sd_diag_free(&d);
    return st;
}

/* ---- Rules -------------------------------------------------------------- */

size_t secdet_rule_count(const secdet_engine *e) { return e && e->rs ? e->rs->prog->nrules : 0; }

secdet_status secdet_rule_get(const secdet_engine *e, size_t i, secdet_rule_info *out) {
    if (!e || !out || !e->rs || i >= e->rs->prog->nrules) return SECDET_ERR_INVALID_ARG;
    const vm_rule *r = &e->rs->prog->rules[i];
    out->name = r->name;
    out->title = r->title ? r->title : r->name;
    out->severity = (secdet_severity)r->sev;
    out->file = r->file ? r->file : "";
    out->line = r->line;
    out->is_private = r->is_private ? 1 : 0;
    out->is_aggregate = r->agg != RAGG_NONE ? 1 : 0;
    return SECDET_OK;
}

const char *secdet_rule_source(const secdet_engine *e, size_t i, size_t k) {
    if (!e || !e->rs || i >= e->rs->prog->nrules) return NULL;
    const vm_rule *r = &e->rs->prog->rules[i];
    if (k >= r->nsources || r->sources[k] >= e->rs->prog->nsources) return NULL;
    return e->rs->prog->source_names[r->sources[k]];
}

secdet_status secdet_disasm(const secdet_engine *e, char **out) {
    if (!e || !out) return SECDET_ERR_INVALID_ARG;
    *out = e->rs ? sd_program_disasm(e->rs->prog) : calloc(1, 1);
    return *out ? SECDET_OK : SECDET_ERR_NOMEM;
}
