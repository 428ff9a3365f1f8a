/* sink_config.c — a built-in sink from one JSON object.
 *
 * The delivery keys (those of secdet_sink_opts) are read here; the type's
 * own keys by its create function through the sink_cfg getters, which mark
 * each key as known. Any key left unmarked is an error, so a typo never
 * silently leaves a default in place. Messages name the sink and the key,
 * never a value: values may be URLs with tokens, secrets or headers.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine_internal.h"
#include "sink/sink_int.h"
#include "util/json.h"

struct sink_cfg {
    const cJSON *obj;
    bool used[64];      /* per member, in order; objects with more members are refused */
    char name[96];
    char err[300];
    bool failed;
};

const char *sink_cfg_name(const sink_cfg *c) { return c->name; }

int sink_cfg_fail(sink_cfg *c, const char *fmt, ...) {
    if (c->failed) return -1; /* keep the first */
    int n = snprintf(c->err, sizeof c->err, "sink '%s': ", c->name);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof c->err) vsnprintf(c->err + n, sizeof c->err - (size_t)n, fmt, ap);
    va_end(ap);
    c->failed = true;
    return -1;
}

static const cJSON *get(sink_cfg *c, const char *key) {
    int i = 0;
    for (const cJSON *it = c->obj->child; it; it = it->next, i++) {
        if (it->string && strcmp(it->string, key) == 0) {
            if (i < 64) c->used[i] = true;
            return it;
        }
    }
    return NULL;
}

int sink_cfg_str(sink_cfg *c, const char *key, bool required, const char **out) {
    const cJSON *v = get(c, key);
    *out = NULL;
    if (!v) return required ? sink_cfg_fail(c, "%s: required", key) : 0;
    if (!cJSON_IsString(v)) return sink_cfg_fail(c, "%s: expected a string", key);
    *out = v->valuestring;
    return 0;
}

int sink_cfg_uint(sink_cfg *c, const char *key, uint64_t min, uint64_t max, uint64_t *out) {
    const cJSON *v = get(c, key);
    if (!v) return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    /* Range first: converting a negative or too large double is undefined. */
    if (!(d >= 0 && d < 18446744073709551616.0) || d != floor(d) || (uint64_t)d < min || (uint64_t)d > max)
        return sink_cfg_fail(c, "%s: expected a whole number from %llu to %llu", key, (unsigned long long)min,
                             (unsigned long long)max);
    *out = (uint64_t)d;
    return 0;
}

int sink_cfg_bool(sink_cfg *c, const char *key, bool *out) {
    const cJSON *v = get(c, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return sink_cfg_fail(c, "%s: expected true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

void sink_cfg_free_lines(char **lines, size_t n) {
    for (size_t i = 0; lines && i < n; i++) free(lines[i]);
    free(lines);
}

int sink_cfg_object(sink_cfg *c, const char *key, const cJSON **out) {
    const cJSON *v = get(c, key);
    *out = NULL;
    if (!v) return 0;
    if (!cJSON_IsObject(v)) return sink_cfg_fail(c, "%s: expected an object", key);
    *out = v;
    return 0;
}

static bool http_token(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 127 || strchr("()<>@,;:\\\"/[]?={}", *s)) return false;
    return true;
}

int sink_cfg_headers(sink_cfg *c, const char *key, char ***lines, size_t *n) {
    *lines = NULL;
    *n = 0;
    const cJSON *v = get(c, key);
    if (!v) return 0;
    if (!cJSON_IsObject(v)) return sink_cfg_fail(c, "%s: expected an object of strings", key);
    size_t count = (size_t)cJSON_GetArraySize(v);
    char **out = calloc(count ? count : 1, sizeof *out);
    if (!out) return sink_cfg_fail(c, "out of memory");
    size_t i = 0;
    for (const cJSON *h = v->child; h; h = h->next, i++) {
        if (!cJSON_IsString(h) || !http_token(h->string) || strpbrk(h->valuestring, "\r\n")) {
            sink_cfg_free_lines(out, i);
            return sink_cfg_fail(c, "%s: header %zu: needs a token name and a string value without newlines", key,
                                 i + 1);
        }
        size_t len = strlen(h->string) + strlen(h->valuestring) + 3;
        out[i] = malloc(len);
        if (!out[i]) {
            sink_cfg_free_lines(out, i);
            return sink_cfg_fail(c, "out of memory");
        }
        snprintf(out[i], len, "%s: %s", h->string, h->valuestring);
    }
    *lines = out;
    *n = count;
    return 0;
}

/* ---- The delivery keys --------------------------------------------------------- */

static int read_opts(sink_cfg *c, secdet_sink_opts *o, const char **tags, size_t maxtags) {
    const char *sev = NULL, *s = NULL;
    uint64_t u;
    if (sink_cfg_str(c, "name", false, &o->name)) return -1;
    if (sink_cfg_str(c, "min_severity", false, &sev)) return -1;
    if (sev) {
        static const char *const names[] = {"info", "low", "medium", "high", "critical"};
        int found = -1;
        for (int i = 0; i < 5; i++)
            if (strcmp(sev, names[i]) == 0) found = i;
        if (found < 0) return sink_cfg_fail(c, "min_severity: expected info, low, medium, high or critical");
        o->min_severity = (secdet_severity)found;
    }
    const cJSON *t = get(c, "tags");
    if (t) {
        if (!cJSON_IsArray(t) || (size_t)cJSON_GetArraySize(t) > maxtags)
            return sink_cfg_fail(c, "tags: expected an array of at most %zu strings", maxtags);
        for (const cJSON *e = t->child; e; e = e->next) {
            if (!cJSON_IsString(e) || !*e->valuestring) return sink_cfg_fail(c, "tags: expected non-empty strings");
            tags[o->ntags++] = e->valuestring;
        }
        o->tags = tags;
    }
#define U32(key, field, lo, hi)                                                                          \
    do {                                                                                                 \
        u = o->field;                                                                                    \
        if (sink_cfg_uint(c, key, lo, hi, &u)) return -1;                                               \
        o->field = (uint32_t)u;                                                                          \
    } while (0)
    U32("queue_max", queue_max, 1, 10000000);
    U32("spool_fsync_ms", spool_fsync_ms, 1, 3600000);
    U32("max_attempts", max_attempts, 0, 1000000);
    U32("backoff_ms", backoff_ms, 1, 3600000);
    U32("backoff_max_ms", backoff_max_ms, 1, 86400000);
    U32("max_in_flight", max_in_flight, 1, 1024);
#undef U32
    if (sink_cfg_uint(c, "spool_max_bytes", 1024, UINT64_MAX, &o->spool_max_bytes)) return -1;
    if (sink_cfg_str(c, "spool_dir", false, &o->spool_dir) || sink_cfg_str(c, "dead_letter", false, &o->dead_letter))
        return -1;
    if (sink_cfg_str(c, "spool_fsync", false, &s)) return -1;
    if (s && strcmp(s, "never") && strcmp(s, "interval") && strcmp(s, "always"))
        return sink_cfg_fail(c, "spool_fsync: expected never, interval or always");
    o->spool_fsync = s;
    if (o->backoff_max_ms < o->backoff_ms) return sink_cfg_fail(c, "backoff_max_ms: less than backoff_ms");
    return 0;
}

typedef int (*create_fn)(sink_cfg *c, sink_def *out);

static const struct {
    const char *type;
    create_fn create;
} types[] = {
    {"stdout", sink_stdout_create}, {"file", sink_file_create},   {"webhook", sink_webhook_create},
    {"slack", sink_slack_create},   {"syslog", sink_syslog_create}, {"kafka", sink_kafka_create},
};

static secdet_status fail_diag(sink_cfg *c, secdet_diagnostics **diag) {
    if (diag) {
        secdet_diagnostics *d = malloc(sizeof *d);
        if (d) {
            diag_init(&d->list);
            diag_add(&d->list, DIAG_ERROR, "", 0, 0, "%s", c->err);
            *diag = d;
        }
    }
    return SECDET_ERR_INVALID_ARG;
}

secdet_status secdet_sink_from_json(const char *json, size_t len, secdet_sink **out, secdet_diagnostics **diag) {
    if (diag) *diag = NULL;
    if (!json || !out) return SECDET_ERR_INVALID_ARG;
    sink_cfg c = {0};
    snprintf(c.name, sizeof c.name, "?");
    cJSON *root = json_parse(json, len, 0, NULL);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        sink_cfg_fail(&c, "not a JSON object");
        return fail_diag(&c, diag);
    }
    c.obj = root;
    if (cJSON_GetArraySize(root) > 64) {
        sink_cfg_fail(&c, "more than 64 keys");
        goto bad;
    }
    const char *type = NULL, *name = NULL;
    if (sink_cfg_str(&c, "type", true, &type)) goto bad;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (cJSON_IsString(n)) name = n->valuestring;
    snprintf(c.name, sizeof c.name, "%s", name ? name : type);
    create_fn create = NULL;
    const char *static_type = NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(types[i].type, type) == 0) {
            create = types[i].create;
            static_type = types[i].type;
        }
    }
    if (!create) {
        sink_cfg_fail(&c, "type: unknown (expected stdout, file, webhook, slack, syslog or kafka)");
        goto bad;
    }
    secdet_sink_opts o;
    secdet_sink_opts_init(&o);
    const char *tags[64];
    if (read_opts(&c, &o, tags, 64)) goto bad;
    sink_def def = {0};
    if (create(&c, &def) != 0) goto bad;
    int i = 0;
    for (const cJSON *it = root->child; it; it = it->next, i++) {
        if (!c.used[i]) {
            sink_cfg_fail(&c, "unknown key \"%.40s\"", it->string ? it->string : "");
            if (def.vt->close) def.vt->close(def.self);
            goto bad;
        }
    }
    secdet_status st = sink_make(static_type, &def, &o, out);
    if (st != SECDET_OK && def.vt->close) def.vt->close(def.self);
    cJSON_Delete(root);
    return st;
bad:
    cJSON_Delete(root);
    return fail_diag(&c, diag);
}
