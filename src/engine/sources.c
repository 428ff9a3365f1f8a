/* sources.c — sources and their formats: adding a source, built-in format
 * names, custom formats registered by the embedding program, the decoder a
 * new source gets; and replacing the whole ruleset (secdet_reload_rules).
 *
 * A custom format is a decode callback behind the decoder's DEC_CUSTOM hook
 * (event/decode.h): the decoder hands it the raw bytes and the callback hands
 * back JSON texts through a secdet_emitter, which wraps the decoder's
 * emitter so the events take the same path as any other (limits, counting,
 * the error callback, evaluation).
 */
#include "engine/sources.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

engine_ext *sd_engine_ext_get(secdet_engine *e) {
    if (!e->ext) {
        e->ext = calloc(1, sizeof *e->ext);
        if (e->ext) e->ext->engine = e;
    }
    return e->ext;
}

void sd_engine_ext_free(secdet_engine *e) {
    engine_ext *x = e ? e->ext : NULL;
    if (!x) return;
    for (size_t i = 0; i < x->nformats; i++) {
        free(x->formats[i]->name);
        free(x->formats[i]);
    }
    free(x->formats);
    free(x);
    e->ext = NULL;
}

/* ---- Formats ---------------------------------------------------------------- */

static custom_format *find_custom(const secdet_engine *e, const char *name) {
    const engine_ext *x = e->ext;
    for (size_t i = 0; x && i < x->nformats; i++)
        if (strcmp(x->formats[i]->name, name) == 0) return x->formats[i];
    return NULL;
}

secdet_status secdet_format_register(secdet_engine *e, const char *name, secdet_decode_fn fn, void *user) {
    if (!e || e->busy || !name || !name[0] || !fn) return SECDET_ERR_INVALID_ARG;
    secdet_format builtin;
    if (secdet_format_parse(name, &builtin) == SECDET_OK || find_custom(e, name)) return SECDET_ERR_EXISTS;
    engine_ext *x = sd_engine_ext_get(e);
    if (!x) return SECDET_ERR_NOMEM;
    if (x->nformats == x->cap_formats) {
        size_t cap = x->cap_formats ? x->cap_formats * 2 : 4;
        custom_format **p = realloc(x->formats, cap * sizeof *p);
        if (!p) return SECDET_ERR_NOMEM;
        x->formats = p;
        x->cap_formats = cap;
    }
    custom_format *cf = calloc(1, sizeof *cf);
    if (!cf || !(cf->name = strdup(name))) {
        free(cf);
        return SECDET_ERR_NOMEM;
    }
    cf->fn = fn;
    cf->user = user;
    cf->ext = x;
    x->formats[x->nformats++] = cf;
    return SECDET_OK;
}

struct secdet_emitter {
    dec_emit *em;
    const secdet_engine *e;
};

secdet_status secdet_emit_event(secdet_emitter *se, const char *json, size_t len) {
    if (!se || (!json && len)) return SECDET_ERR_INVALID_ARG;
    if (len > se->e->opts.max_event_bytes) {
        (void)sd_decoder_emit(se->em, json, len); /* reports it, with its number */
        return SECDET_ERR_LIMIT;
    }
    int rc = sd_decoder_emit(se->em, json ? json : "", len);
    if (rc == 0) return SECDET_OK;
    if (rc == 1) return SECDET_ERR_DECODE;
    return rc < 0 ? SECDET_ERR_NOMEM : SECDET_ERR_INVALID_ARG;
}

void secdet_emit_error(secdet_emitter *se, uint64_t where, const char *message, size_t len) {
    if (!se) return;
    char text[512];
    size_t n = message ? len : 0;
    if (n >= sizeof text) n = sizeof text - 1;
    if (n) memcpy(text, message, n);
    text[n] = 0;
    sd_decoder_emit_error(se->em, where, n ? text : "malformed input");
}

/* The decoder's DEC_CUSTOM hook: one call of the user's function. */
static int custom_decode(void *user, const void *bytes, size_t len, int end, dec_emit *em) {
    custom_format *cf = user;
    secdet_emitter se = {.em = em, .e = cf->ext->engine};
    secdet_status st = cf->fn(cf->user, bytes, len, end, &se);
    if (st == SECDET_OK) return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "format '%s': %s; the rest of the stream is skipped", cf->name, secdet_strerror(st));
    sd_decoder_emit_error(em, 0, msg);
    return st == SECDET_ERR_NOMEM ? -1 : 2; /* any non-zero stops the stream */
}

static dec_format builtin_dec(secdet_format f) {
    switch (f) {
    case SECDET_FMT_JSONL: return DEC_JSONL;
    case SECDET_FMT_CLOUDTRAIL: return DEC_CLOUDTRAIL;
    case SECDET_FMT_CLOUDWATCH_LOGS: return DEC_CLOUDWATCH_LOGS;
    case SECDET_FMT_EVENTBRIDGE: return DEC_EVENTBRIDGE;
    case SECDET_FMT_AUTO: break;
    }
    return DEC_AUTO;
}

static const char *builtin_time(secdet_format f) {
    switch (f) {
    case SECDET_FMT_CLOUDWATCH_LOGS: return "._cloudwatch.time";
    case SECDET_FMT_EVENTBRIDGE: return "._eventbridge.time";
    default: return ".eventTime";
    }
}

secdet_status sd_engine_source_decoder(secdet_engine *e, const secdet_source_opts *o, decoder **dec,
                                       const char **time_default) {
    *dec = NULL;
    decode_limits lim = {.max_event_bytes = e->opts.max_event_bytes, .max_depth = e->opts.max_json_depth};
    secdet_format f = o->format;
    if (o->format_name) {
        custom_format *cf = find_custom(e, o->format_name);
        if (cf) {
            *time_default = ".eventTime";
            *dec = sd_decoder_new_custom(custom_decode, cf, &lim);
            return *dec ? SECDET_OK : SECDET_ERR_NOMEM;
        }
        if (secdet_format_parse(o->format_name, &f) != SECDET_OK) return SECDET_ERR_INVALID_ARG;
    }
    if (!secdet_format_name(f)) return SECDET_ERR_INVALID_ARG;
    *time_default = builtin_time(f);
    *dec = sd_decoder_new(builtin_dec(f), &lim);
    return *dec ? SECDET_OK : SECDET_ERR_NOMEM;
}

/* ---- Sources ------------------------------------------------------------------ */

void sd_engine_source_free(engine_source *s) {
    free(s->name);
    free(s->time_field);
    sd_path_free(&s->time_path.p);
    sd_decoder_free(s->dec);
    memset(s, 0, sizeof *s);
}

engine_source *sd_engine_find_source(secdet_engine *e, const char *name) {
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
    size_t used = sd_path_parse(text, n, out, &err);
    if (used != n || used == 0 || out->common) { /* a time field is a field of the event */
        sd_path_free(out);
        return SECDET_ERR_INVALID_ARG;
    }
    *has = true;
    return SECDET_OK;
}

secdet_status secdet_source_add(secdet_engine *e, const char *name, const secdet_source_opts *opts) {
    if (!e || e->busy || !name || !name[0]) return SECDET_ERR_INVALID_ARG;
    secdet_source_opts o = {.format = SECDET_FMT_AUTO, .time_field = NULL, .format_name = NULL, .log_type = NULL};
    if (opts) o = *opts;
    if (!o.format_name && !secdet_format_name(o.format)) return SECDET_ERR_INVALID_ARG;
    if (sd_engine_find_source(e, name)) return SECDET_ERR_EXISTS;

    engine_source s = {0};
    /* The format's decoder and default time field (below). */
    decoder *dec = NULL;
    const char *time_default = ".eventTime";
    secdet_status st = sd_engine_source_decoder(e, &o, &dec, &time_default);
    if (st != SECDET_OK) return st;
    st = parse_time_field(o.time_field ? o.time_field : time_default, &s.time_path.p, &s.has_time);
    if (st != SECDET_OK) {
        sd_decoder_free(dec);
        return st;
    }
    s.time_path.extra = UINT32_MAX;
    s.explicit_time = o.time_field != NULL;
    /* Its log type: the one named, "auto" (route by shape), else the one of its name. */
    if (o.log_type && strcmp(o.log_type, "auto") == 0) {
        s.route = true;
    } else {
        s.lt = sd_logtypes_find(&e->logtypes, o.log_type ? o.log_type : name);
        if (!s.lt && o.log_type) {
            sd_engine_source_free(&s);
            sd_decoder_free(dec);
            return SECDET_ERR_INVALID_ARG;
        }
    }
    s.format = o.format; /* a built-in format given by name (the bindings do) is that format */
    s.custom = o.format_name != NULL &&
               (find_custom(e, o.format_name) || secdet_format_parse(o.format_name, &s.format) != SECDET_OK);
    s.time_field = o.time_field ? strdup(o.time_field) : NULL;
    s.name = strdup(name);
    s.dec = dec;
    s.prog_gen = UINT64_MAX;
    if (!s.name || !s.dec || (o.time_field && !s.time_field)) {
        sd_engine_source_free(&s);
        return SECDET_ERR_NOMEM;
    }
    if (e->nsources == e->cap_sources) {
        size_t cap = e->cap_sources ? e->cap_sources * 2 : 4;
        engine_source *p = realloc(e->sources, cap * sizeof *p);
        if (!p) {
            sd_engine_source_free(&s);
            return SECDET_ERR_NOMEM;
        }
        e->sources = p;
        e->cap_sources = cap;
    }
    e->sources[e->nsources++] = s;
    return SECDET_OK;
}

bool sd_engine_has_source(const secdet_engine *e, const char *name) {
    return sd_engine_find_source((secdet_engine *)e, name) != NULL;
}

/* ---- Reloading ---------------------------------------------------------------- */

secdet_status secdet_reload_rules(secdet_engine *e, const char *const *paths, size_t npaths,
                                  secdet_diagnostics **diag) {
    if (diag) *diag = NULL;
    if (!e || e->busy || (!paths && npaths)) return SECDET_ERR_INVALID_ARG;
    /* The new set is loaded into a scratch engine first, exactly as the
     * loaders would load it into a fresh one (so the same files give the
     * same result as at start-up); only a set that compiled replaces ours. */
    secdet_engine *scratch = NULL;
    secdet_status st = secdet_engine_new(&e->opts, &scratch);
    if (st != SECDET_OK) return st;
    secdet_diagnostics *last = NULL;
    for (size_t i = 0; st == SECDET_OK && i < npaths; i++) {
        if (!paths[i]) {
            st = SECDET_ERR_INVALID_ARG;
            break;
        }
        secdet_diagnostics_free(last);
        last = NULL;
        struct stat sb;
        bool is_dir = stat(paths[i], &sb) == 0 && S_ISDIR(sb.st_mode);
        st =
            is_dir ? secdet_load_rules_dir(scratch, paths[i], &last) : secdet_load_rules_file(scratch, paths[i], &last);
    }
    if (st == SECDET_OK) {
        /* Take the texts the scratch engine read and compile them here: the
         * swap then remaps this engine's correlation state (rules.c). */
        diag_list d;
        sd_diag_init(&d);
        st = sd_engine_replace_texts(e, scratch->texts, scratch->ntexts, &d);
        free(scratch->texts); /* the texts themselves were taken (or freed) */
        scratch->texts = NULL;
        scratch->ntexts = scratch->cap_texts = 0;
        if (st != SECDET_OK && last) { /* cannot happen unless out of memory; say so */
            for (size_t i = 0; i < d.count; i++)
                sd_diag_add(&last->list, DIAG_ERROR, "", 0, 0, "%s", d.items[i].message ? d.items[i].message : "");
        }
        sd_diag_free(&d);
    }
    secdet_engine_free(scratch);
    if (diag)
        *diag = last;
    else
        secdet_diagnostics_free(last);
    return st;
}
