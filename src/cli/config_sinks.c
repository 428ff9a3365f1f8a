/*
 * config_sinks.c — the "sinks" and "limits" of a `secdet run` configuration
 * (docs/config.md). A sink is handed to the library almost as written and
 * checked by building it once; the limits go into the engine's options and
 * the queue's sizes. Every error names its JSON path (config_walk.h).
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config_walk.h"
#include "sink/sink_secrets.h"

/* ---- sinks and limits ------------------------------------------------------------ */

/* A sink object is handed to the library (secdet_sink_from_json) almost as
 * written: file paths in it are resolved against the config's directory,
 * it gets its default name ("<type>-<index>", as the library would give),
 * and a network sink without its own spool_dir gets <spool_dir>/<name> when
 * the top-level "spool_dir" is set. It is checked here by building it once,
 * so a bad sink stops `secdet run` before anything starts. */
static int resolve_key(cfg_walker *w, cJSON *obj, const char *key) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v)) return 0; /* absent, or the library's error */
    char *r = cfg_resolve(w, v->valuestring);
    if (!r) return cfg_fail(w, "out of memory");
    int ok = cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(r));
    free(r);
    return ok ? 0 : cfg_fail(w, "out of memory");
}

int cfg_load_sink(cfg_walker *w, const cJSON *v, cfg_sink *s) {
    memset(s, 0, sizeof *s);
    size_t index = w->nsink++;
    if (cfg_want_object(w, v) != 0) return -1;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "type");
    if (!cJSON_IsString(t)) {
        cfg_enter_key(w, "type");
        return cfg_fail(w, "missing or not a string (stdout, file, webhook, slack, syslog, kafka or digest)");
    }
    cJSON *obj = cJSON_Duplicate(v, 1);
    if (!obj) return cfg_fail(w, "out of memory");
    int rc = 0;
    static const char *const paths[] = {"path", "spool_dir", "dead_letter", "ca_file"};
    for (size_t i = 0; rc == 0 && i < sizeof paths / sizeof paths[0]; i++) rc = resolve_key(w, obj, paths[i]);
    if (rc == 0) rc = sd_sink_json_each_ref(obj, cfg_absolute_ref, w);
    char name[128];
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, "name");
    if (cJSON_IsString(n))
        snprintf(name, sizeof name, "%s", n->valuestring);
    else
        snprintf(name, sizeof name, "%.60s-%zu", t->valuestring, index);
    if (rc == 0 && !n && !cJSON_AddStringToObject(obj, "name", name)) rc = cfg_fail(w, "out of memory");
    bool network = strcmp(t->valuestring, "webhook") == 0 || strcmp(t->valuestring, "slack") == 0 ||
                   strcmp(t->valuestring, "syslog") == 0 || strcmp(t->valuestring, "kafka") == 0 ||
                   strcmp(t->valuestring, "digest") == 0;
    if (rc == 0 && network && w->spool_root && !cJSON_GetObjectItemCaseSensitive(obj, "spool_dir")) {
        size_t len = strlen(w->spool_root) + strlen(name) + 2;
        char *dir = malloc(len);
        if (dir) snprintf(dir, len, "%s/%s", w->spool_root, name);
        if (!dir || !cJSON_AddStringToObject(obj, "spool_dir", dir)) rc = cfg_fail(w, "out of memory");
        free(dir);
    }
    if (rc == 0 && !(s->json = cJSON_PrintUnformatted(obj))) rc = cfg_fail(w, "out of memory");
    cJSON_Delete(obj);
    if (rc != 0) return rc;
    s->name = strdup(name);
    if (!s->name) return cfg_fail(w, "out of memory");
    secdet_sink *sink = NULL;
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_sink_from_json(s->json, strlen(s->json), &sink, &d);
    /* Entry 0 is the error, if any; then warnings (a secret file every user can read). */
    secdet_diagnostic e;
    for (size_t i = 0; i < secdet_diagnostics_count(d); i++)
        if (secdet_diagnostics_get(d, i, &e) == SECDET_OK && e.severity == SECDET_DIAG_WARNING) cfg_warn(w, e.message);
    if (st != SECDET_OK) {
        if (secdet_diagnostics_count(d) && secdet_diagnostics_get(d, 0, &e) == SECDET_OK)
            rc = cfg_fail(w, "%s", e.message);
        else
            rc = cfg_fail(w, "%s", secdet_strerror(st));
    }
    secdet_diagnostics_free(d);
    secdet_sink_free(sink);
    return rc;
}

int cfg_load_limits(cfg_walker *w, const cJSON *v, cfg *c) {
    static const char *const keys[] = {"max_event_bytes",     "max_json_depth", "vm_budget",   "regex_match_limit",
                                       "max_rule_file_bytes", "max_samples",    "lateness_ms", "max_state_bytes",
                                       "queue_messages",      "queue_bytes",    NULL};
    if (cfg_want_object(w, v) != 0 || cfg_check_keys(w, v, keys) != 0) return -1;
    uint64_t u;
    bool p;
    const double big = 9007199254740991.0; /* 2^53 - 1: exact in a JSON number */
#define LIMIT(key, max, assign)                                                                                        \
    do {                                                                                                               \
        if (cfg_get_uint(w, v, key, max, &u, &p) != 0) return -1;                                                      \
        if (p) assign;                                                                                                 \
    } while (0)
    LIMIT("max_event_bytes", big, c->opts.max_event_bytes = (size_t)u);
    LIMIT("max_json_depth", 100000, c->opts.max_json_depth = (uint32_t)u);
    LIMIT("vm_budget", big, c->opts.vm_budget = u);
    LIMIT("regex_match_limit", 4294967295.0, c->opts.regex_match_limit = (uint32_t)u);
    LIMIT("max_rule_file_bytes", big, c->opts.max_rule_file_bytes = (size_t)u);
    LIMIT("max_samples", 1000000, c->opts.max_samples = (uint32_t)u);
    LIMIT("lateness_ms", big, c->opts.lateness_ms = (int64_t)u);
    LIMIT("max_state_bytes", big, c->opts.max_state_bytes = u);
    LIMIT("queue_messages", big, c->queue_messages = (size_t)u);
    LIMIT("queue_bytes", big, c->queue_bytes = (size_t)u);
#undef LIMIT
    if (c->opts.max_event_bytes == 0 || c->opts.max_json_depth == 0 || c->opts.max_rule_file_bytes == 0) {
        return cfg_fail(w, "max_event_bytes, max_json_depth and max_rule_file_bytes must be at least 1");
    }
    return 0;
}