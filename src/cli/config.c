/*
 * config.c — loading and checking the `secdet run` configuration (config.h,
 * docs/config.md): the file read (1 MiB at most), its top-level keys, the
 * arrays of rules, sources and sinks walked element by element, the names
 * that must differ, the log types, and the one-kafka-input rule.
 *
 * The checking itself is the walker's (config_walk.c), which keeps the JSON
 * path of the value being checked so that every error names exactly where
 * it is; the sources and inputs are config_sources.c's, the sinks and
 * limits config_sinks.c's. The first error stops the load: the rest of a
 * file with a typo in it is not worth guessing at.
 */
#include "cli/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config_walk.h"
#include "util/json.h"
#include "util/secret.h"

#define MAX_CONFIG_BYTES (1 << 20)

/* Loads an array member of objects with `each`. */
static int load_array(cfg_walker *w, const cJSON *root, const char *key, bool required, void **items, size_t *n,
                      size_t size, int (*each)(cfg_walker *, const cJSON *, void *)) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
    *items = NULL;
    *n = 0;
    size_t old = cfg_enter_key(w, key);
    if (!arr) {
        int rc = required ? cfg_fail(w, "missing (required)") : 0;
        if (rc == 0) cfg_leave(w, old);
        return rc;
    }
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0) return cfg_fail(w, "expected a non-empty array");
    size_t count = (size_t)cJSON_GetArraySize(arr);
    *items = calloc(count, size);
    if (!*items) return cfg_fail(w, "out of memory");
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        size_t o2 = cfg_enter_index(w, i);
        *n = i + 1;
        if (each(w, e, (char *)*items + i * size) != 0) return -1;
        cfg_leave(w, o2);
    }
    cfg_leave(w, old);
    return 0;
}

static int each_source(cfg_walker *w, const cJSON *v, void *out) { return cfg_load_source(w, v, out); }
static int each_sink(cfg_walker *w, const cJSON *v, void *out) { return cfg_load_sink(w, v, out); }
static int each_rule(cfg_walker *w, const cJSON *v, void *out) {
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return cfg_fail(w, "expected a non-empty string (a file or directory)");
    char **p = out;
    *p = cfg_resolve(w, v->valuestring);
    return *p ? 0 : cfg_fail(w, "out of memory");
}

static char *read_all(const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *data = malloc(MAX_CONFIG_BYTES + 1);
    size_t n = data ? fread(data, 1, MAX_CONFIG_BYTES + 1, f) : 0;
    bool bad = ferror(f) != 0;
    fclose(f);
    if (!data || bad || n > MAX_CONFIG_BYTES) {
        snprintf(err, errlen, "%s: %s", path, !data ? "out of memory" : bad ? "cannot read" : "larger than 1 MiB");
        free(data);
        return NULL;
    }
    data[n] = 0;
    *len = n;
    return data;
}

int cfg_load(const char *path, cfg *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    secdet_engine_opts_init(&c->opts);
    size_t len = 0;
    char *text = read_all(path, &len, err, errlen);
    if (!text) return -1;
    int rc = cfg_parse(path, text, len, c, err, errlen);
    free(text);
    return rc;
}

int cfg_parse(const char *path, const char *text, size_t len, cfg *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    secdet_engine_opts_init(&c->opts);
    cfg_walker w = {.file = path, .err = err, .errlen = errlen, .c = c};
    const char *slash = strrchr(path, '/');
    if (slash) w.dir = strndup(path, (size_t)(slash - path) + (slash == path));
    size_t at = 0;
    cJSON *root = sd_json_parse(text, len, 0, &at);
    int rc = 0;
    if (!root) {
        rc = cfg_fail(&w, "invalid JSON near byte %zu", at + 1);
    } else if (!cJSON_IsObject(root)) {
        rc = cfg_fail(&w, "expected a JSON object");
    }
    static const char *const keys[] = {"rules",     "sources",          "sinks",     "limits", "stats_interval",
                                       "spool_dir", "drain_timeout_ms", "log_types", NULL};
    if (rc == 0) rc = cfg_check_keys(&w, root, keys);
    c->drain_timeout_ms = 10000;
    if (rc == 0) rc = cfg_get_path(&w, root, "spool_dir", false, &c->spool_dir);
    w.spool_root = c->spool_dir;
    if (rc == 0) {
        uint64_t u;
        bool present;
        rc = cfg_get_uint(&w, root, "drain_timeout_ms", 86400000.0, &u, &present);
        if (rc == 0 && present) c->drain_timeout_ms = (int64_t)u;
    }
    if (rc == 0) rc = load_array(&w, root, "rules", true, (void **)&c->rules, &c->nrules, sizeof *c->rules, each_rule);
    if (rc == 0)
        rc = load_array(&w, root, "sources", true, (void **)&c->sources, &c->nsources, sizeof *c->sources, each_source);
    if (rc == 0) rc = load_array(&w, root, "sinks", false, (void **)&c->sinks, &c->nsinks, sizeof *c->sinks, each_sink);
    if (rc == 0 && c->nsinks == 0) { /* default: alerts on stdout */
        c->sinks = calloc(1, sizeof *c->sinks);
        if (!c->sinks || !(c->sinks[0].json = strdup("{\"type\":\"stdout\",\"name\":\"stdout-0\"}")) ||
            !(c->sinks[0].name = strdup("stdout-0")))
            rc = cfg_fail(&w, "out of memory");
        c->nsinks = c->sinks ? 1 : 0;
    }
    const cJSON *limits = root ? cJSON_GetObjectItemCaseSensitive(root, "limits") : NULL;
    if (rc == 0 && limits) {
        size_t old = cfg_enter_key(&w, "limits");
        rc = cfg_load_limits(&w, limits, c);
        if (rc == 0) cfg_leave(&w, old);
    }
    const cJSON *si = root ? cJSON_GetObjectItemCaseSensitive(root, "stats_interval") : NULL;
    if (rc == 0 && si) {
        if (!cJSON_IsNumber(si) || si->valuedouble < 0 || si->valuedouble > 86400 * 365) {
            cfg_enter_key(&w, "stats_interval");
            rc = cfg_fail(&w, "expected a number of seconds from 0 to 31536000");
        } else {
            c->stats_interval = si->valuedouble;
        }
    }
    for (size_t i = 0; rc == 0 && i < c->nsources; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->sources[i].name, c->sources[j].name) == 0) {
                cfg_enter_index(&w, i);
                snprintf(w.path, sizeof w.path, "sources[%zu].name", i);
                w.plen = strlen(w.path);
                rc = cfg_fail(&w, "duplicate source name \"%s\" (also sources[%zu])", c->sources[i].name, j);
                break;
            }
        }
    }
    for (size_t i = 0; rc == 0 && i < c->nsinks; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->sinks[i].name, c->sinks[j].name) == 0) {
                snprintf(w.path, sizeof w.path, "sinks[%zu].name", i);
                w.plen = strlen(w.path);
                rc = cfg_fail(&w,
                              "duplicate sink name \"%.60s\" (also sinks[%zu]; a sink without a name is "
                              "called <type>-<index>)",
                              c->sinks[i].name, j);
                break;
            }
        }
    }
    if (rc == 0) {
        char where[64], msg[320];
        if (cfg_log_types_load(root, c, where, sizeof where, msg, sizeof msg) != 0) {
            snprintf(w.path, sizeof w.path, "%s", where);
            w.plen = strlen(w.path);
            rc = cfg_fail(&w, "%s", msg);
        }
    }
    /* A kafka input runs the process's only consumer loop: it must be alone. */
    size_t ninputs = 0;
    for (size_t i = 0; i < c->nsources; i++) {
        ninputs += c->sources[i].ninputs;
        for (size_t j = 0; j < c->sources[i].ninputs; j++)
            if (c->sources[i].inputs[j].type == CFG_IN_KAFKA) c->kafka = &c->sources[i];
    }
    if (rc == 0 && c->kafka && ninputs > 1) {
        snprintf(w.path, sizeof w.path, "sources");
        w.plen = strlen(w.path);
        rc = cfg_fail(&w, "a kafka input must be the only input of the configuration");
    }
    cJSON_Delete(root);
    free(w.dir);
    if (rc != 0) cfg_free(c);
    return rc;
}

void cfg_free(cfg *c) {
    for (size_t i = 0; i < c->nrules; i++) free(c->rules[i]);
    free(c->rules);
    for (size_t i = 0; i < c->nsources; i++) {
        cfg_source *s = &c->sources[i];
        free(s->name);
        free(s->format);
        free(s->time_field);
        free(s->log_type);
        for (size_t j = 0; j < s->ninputs; j++) {
            free(s->inputs[j].path);
            free(s->inputs[j].address);
            free(s->inputs[j].kafka_json);
            free(s->inputs[j].tls_cert);
            free(s->inputs[j].tls_key);
            free(s->inputs[j].tls_client_ca);
            sd_secret_free(s->inputs[j].tls_key_passphrase);
        }
        free(s->inputs);
    }
    free(c->sources);
    for (size_t i = 0; i < c->nsinks; i++) {
        free(c->sinks[i].json);
        free(c->sinks[i].name);
    }
    free(c->sinks);
    free(c->spool_dir);
    for (size_t i = 0; i < c->nlog_types; i++) cJSON_free(c->log_types[i]);
    free(c->log_types);
    for (size_t i = 0; i < c->nwarnings; i++) free(c->warnings[i]);
    free(c->warnings);
    memset(c, 0, sizeof *c);
}
