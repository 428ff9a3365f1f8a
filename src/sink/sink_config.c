/* sink_config.c — a built-in sink from one JSON object.
 *
 * The delivery keys (those of secdet_sink_opts) are read here; the type's
 * own keys by its create function through the sink_cfg getters, which mark
 * each key as known. Any key left unmarked is an error, so a typo never
 * silently leaves a default in place. Messages name the sink and the key,
 * never a value: values may be URLs with tokens, secrets or headers.
 *
 * Secret references ({"env": ...}, {"file": ...}; util/secret.h) are
 * resolved by the getters of the type's keys — sd_sink_cfg_str, each value of
 * sd_sink_cfg_headers and of sd_sink_cfg_object — and the resolved string takes
 * the reference's place in our copy of the tree, so the create functions
 * never see a reference. The delivery keys, `type` and `name` refuse them:
 * they are not secrets, and the delivery layer keeps them for the sink's
 * whole life (a SIGHUP cannot move a spool). Once the sink is made, a
 * SHA-256 of the resolved tree is kept in it: secdet run's SIGHUP compares
 * it to tell which sinks a rotated secret changed (sink_swap.c). The tree's
 * strings are wiped before it is freed.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "util/diag.h"
#include "sink/sink_int.h"
#include "sink/sink_secrets.h"
#include "util/json.h"
#include "util/secret.h"
#include "util/severity.h"

struct sink_cfg {
    cJSON *obj;    /* our own copy: references are replaced by their values */
    bool used[64]; /* per member, in order; objects with more members are refused */
    char name[96];
    char err[300];
    bool failed;
    diag_list warnings; /* e.g. a secret file every user can read */
};

const char *sd_sink_cfg_name(const sink_cfg *c) { return c->name; }

int sd_sink_cfg_fail(sink_cfg *c, const char *fmt, ...) {
    if (c->failed) return -1; /* keep the first */
    int n = snprintf(c->err, sizeof c->err, "sink '%s': ", c->name);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof c->err) vsnprintf(c->err + n, sizeof c->err - (size_t)n, fmt, ap);
    va_end(ap);
    c->failed = true;
    return -1;
}

static cJSON *get(sink_cfg *c, const char *key) {
    int i = 0;
    for (cJSON *it = c->obj->child; it; it = it->next, i++) {
        if (it->string && strcmp(it->string, key) == 0) {
            if (i < 64) c->used[i] = true;
            return it;
        }
    }
    return NULL;
}

/* The reference v (a member of parent) replaced by the string it names;
 * NULL after sd_sink_cfg_fail naming `what` (the key, "headers.X", ...). */
static cJSON *resolve(sink_cfg *c, cJSON *parent, cJSON *v, const char *what) {
    char *value = NULL, err[300], warn[300];
    if (sd_secret_read(v, &value, err, sizeof err, warn, sizeof warn) != 0) {
        sd_sink_cfg_fail(c, "%s: %s", what, err);
        return NULL;
    }
    if (warn[0]) sd_diag_add(&c->warnings, DIAG_WARNING, "", 0, 0, "sink '%s': %s: %s", c->name, what, warn);
    cJSON *s = cJSON_CreateString(value);
    sd_secret_free(value);
    /* ReplaceItemViaPointer keeps the place but not the member's name. */
    if (s && v->string && !(s->string = strdup(v->string))) {
        cJSON_Delete(s);
        s = NULL;
    }
    if (!s || !cJSON_ReplaceItemViaPointer(parent, v, s)) {
        cJSON_Delete(s);
        sd_sink_cfg_fail(c, "out of memory");
        return NULL;
    }
    return s;
}

/* A string member; ref_ok: it may be a reference (the type's keys). */
static int get_str(sink_cfg *c, const char *key, bool required, bool ref_ok, const char **out) {
    cJSON *v = get(c, key);
    *out = NULL;
    if (!v) return required ? sd_sink_cfg_fail(c, "%s: required", key) : 0;
    if (sd_secret_is_ref(v)) {
        if (!ref_ok)
            return sd_sink_cfg_fail(c,
                                    "%s: must be written out (only the keys of the sink's type take a "
                                    "reference, not the keys every sink takes)",
                                    key);
        if (!(v = resolve(c, c->obj, v, key))) return -1;
    }
    if (!cJSON_IsString(v))
        return sd_sink_cfg_fail(
            c, ref_ok ? "%s: expected a string, {\"env\": NAME} or {\"file\": PATH}" : "%s: expected a string", key);
    *out = v->valuestring;
    return 0;
}

int sd_sink_cfg_str(sink_cfg *c, const char *key, bool required, const char **out) {
    return get_str(c, key, required, true, out);
}

int sd_sink_cfg_uint(sink_cfg *c, const char *key, uint64_t min, uint64_t max, uint64_t *out) {
    const cJSON *v = get(c, key);
    if (!v) return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    /* Range first: converting a negative or too large double is undefined. */
    if (!(d >= 0 && d < 18446744073709551616.0) || d != floor(d) || (uint64_t)d < min || (uint64_t)d > max)
        return sd_sink_cfg_fail(c, "%s: expected a whole number from %llu to %llu", key, (unsigned long long)min,
                                (unsigned long long)max);
    *out = (uint64_t)d;
    return 0;
}

int sd_sink_cfg_bool(sink_cfg *c, const char *key, bool *out) {
    const cJSON *v = get(c, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return sd_sink_cfg_fail(c, "%s: expected true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

void sd_sink_cfg_free_lines(char **lines, size_t n) {
    for (size_t i = 0; lines && i < n; i++) free(lines[i]);
    free(lines);
}

/* "key.member" for messages; a member name that is no plain word is shown
 * by its place instead (names are not secrets, but may be garbage). */
static void member_path(char *out, size_t n, const char *key, const cJSON *m, size_t i) {
    bool plain = m->string && *m->string && strlen(m->string) <= 100;
    for (const char *p = m->string; plain && *p; p++) plain = *p > ' ' && *p < 127 && *p != '"' && *p != '\\';
    if (plain)
        snprintf(out, n, "%s.%s", key, m->string);
    else
        snprintf(out, n, "%s[%zu]", key, i);
}

/* Every member of obj that is a reference, replaced by its value. obj
 * itself is never one: "headers": {"env": "prod"} is a header named env. */
static int resolve_members(sink_cfg *c, cJSON *obj, const char *key) {
    size_t i = 0;
    for (cJSON *m = obj->child; m; m = m->next, i++) {
        if (!sd_secret_is_ref(m)) continue;
        char what[160];
        member_path(what, sizeof what, key, m, i);
        if (!(m = resolve(c, obj, m, what))) return -1;
    }
    return 0;
}

int sd_sink_cfg_object(sink_cfg *c, const char *key, const cJSON **out) {
    cJSON *v = get(c, key);
    *out = NULL;
    if (!v) return 0;
    if (!cJSON_IsObject(v)) return sd_sink_cfg_fail(c, "%s: expected an object", key);
    if (resolve_members(c, v, key) != 0) return -1;
    *out = v;
    return 0;
}

static bool http_token(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 127 || strchr("()<>@,;:\\\"/[]?={}", *s)) return false;
    return true;
}

int sd_sink_cfg_headers(sink_cfg *c, const char *key, char ***lines, size_t *n) {
    *lines = NULL;
    *n = 0;
    cJSON *v = get(c, key);
    if (!v) return 0;
    if (!cJSON_IsObject(v)) return sd_sink_cfg_fail(c, "%s: expected an object of strings", key);
    if (resolve_members(c, v, key) != 0) return -1;
    size_t count = (size_t)cJSON_GetArraySize(v);
    char **out = calloc(count ? count : 1, sizeof *out);
    if (!out) return sd_sink_cfg_fail(c, "out of memory");
    size_t i = 0;
    for (const cJSON *h = v->child; h; h = h->next, i++) {
        if (!cJSON_IsString(h) || !http_token(h->string) || strpbrk(h->valuestring, "\r\n")) {
            sd_sink_cfg_free_lines(out, i);
            return sd_sink_cfg_fail(c, "%s: header %zu: needs a token name and a string value without newlines", key,
                                    i + 1);
        }
        size_t len = strlen(h->string) + strlen(h->valuestring) + 3;
        out[i] = malloc(len);
        if (!out[i]) {
            sd_sink_cfg_free_lines(out, i);
            return sd_sink_cfg_fail(c, "out of memory");
        }
        snprintf(out[i], len, "%s: %s", h->string, h->valuestring);
    }
    *lines = out;
    *n = count;
    return 0;
}

/* ---- Where references stand (sink_secrets.h) ------------------------------------- */

/* The keys whose value is an object of values (each may be a reference),
 * as sd_sink_cfg_headers and sd_sink_cfg_object read them. */
static bool is_container(const cJSON *m) {
    return cJSON_IsObject(m) && m->string &&
           (strcmp(m->string, "headers") == 0 || strcmp(m->string, "properties") == 0);
}

int sd_sink_json_each_ref(cJSON *sink, int (*fn)(cJSON *ref, void *arg), void *arg) {
    for (cJSON *m = sink ? sink->child : NULL; m; m = m->next) {
        if (is_container(m)) {
            for (cJSON *v = m->child; v; v = v->next)
                if (sd_secret_is_ref(v) && fn(v, arg) != 0) return -1;
        } else if (sd_secret_is_ref(m) && fn(m, arg) != 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- The delivery keys --------------------------------------------------------- */

/* A filter list: an array of at most LIST_MAX non-empty strings, pointed
 * to from out (valid as long as the configuration). */
#define LIST_MAX 64
static int read_list(sink_cfg *c, const char *key, const char **out, const char *const **list, size_t *n) {
    const cJSON *t = get(c, key);
    if (!t) return 0;
    if (!cJSON_IsArray(t) || (size_t)cJSON_GetArraySize(t) > LIST_MAX)
        return sd_sink_cfg_fail(c, "%s: expected an array of at most %d strings", key, LIST_MAX);
    for (const cJSON *e = t->child; e; e = e->next) {
        if (!cJSON_IsString(e) || !*e->valuestring) return sd_sink_cfg_fail(c, "%s: expected non-empty strings", key);
        out[(*n)++] = e->valuestring;
    }
    *list = out;
    return 0;
}

static int read_severity(sink_cfg *c, const char *key, secdet_severity *out, bool *given) {
    const char *sev = NULL;
    if (get_str(c, key, false, false, &sev)) return -1;
    *given = sev != NULL;
    if (sev && !sd_severity_parse(sev, false, out))
        return sd_sink_cfg_fail(c, "%s: expected info, low, medium, high or critical", key);
    return 0;
}

/* Where read_opts points the filter lists. */
typedef struct opt_lists {
    const char *tags[LIST_MAX], *rules[LIST_MAX], *sources[LIST_MAX], *log_types[LIST_MAX];
} opt_lists;

static int read_opts(sink_cfg *c, secdet_sink_opts *o, opt_lists *lists) {
    const char *s = NULL;
    uint64_t u;
    bool given;
    secdet_severity max = SECDET_SEVERITY_CRITICAL;
    if (get_str(c, "name", false, false, &o->name)) return -1;
    if (read_severity(c, "min_severity", &o->min_severity, &given) || read_severity(c, "max_severity", &max, &given))
        return -1;
    if (given) o->severities = (2u << max) - 1; /* info .. max */
    if (read_list(c, "tags", lists->tags, &o->tags, &o->ntags) ||
        read_list(c, "rules", lists->rules, &o->rules, &o->nrules) ||
        read_list(c, "sources", lists->sources, &o->sources, &o->nsources) ||
        read_list(c, "log_types", lists->log_types, &o->log_types, &o->nlog_types))
        return -1;
#define U32(key, field, lo, hi)                                                                                        \
    do {                                                                                                               \
        u = o->field;                                                                                                  \
        if (sd_sink_cfg_uint(c, key, lo, hi, &u)) return -1;                                                           \
        o->field = (uint32_t)u;                                                                                        \
    } while (0)
    U32("queue_max", queue_max, 1, 10000000);
    U32("spool_fsync_ms", spool_fsync_ms, 1, 3600000);
    U32("max_attempts", max_attempts, 0, 1000000);
    U32("backoff_ms", backoff_ms, 1, 3600000);
    U32("backoff_max_ms", backoff_max_ms, 1, 86400000);
    U32("max_in_flight", max_in_flight, 1, 1024);
#undef U32
    if (sd_sink_cfg_uint(c, "spool_max_bytes", 1024, UINT64_MAX, &o->spool_max_bytes)) return -1;
    if (get_str(c, "spool_dir", false, false, &o->spool_dir) ||
        get_str(c, "dead_letter", false, false, &o->dead_letter))
        return -1;
    if (get_str(c, "spool_fsync", false, false, &s)) return -1;
    if (s && strcmp(s, "never") && strcmp(s, "interval") && strcmp(s, "always"))
        return sd_sink_cfg_fail(c, "spool_fsync: expected never, interval or always");
    o->spool_fsync = s;
    if (o->backoff_max_ms < o->backoff_ms) return sd_sink_cfg_fail(c, "backoff_max_ms: less than backoff_ms");
    return 0;
}

typedef int (*create_fn)(sink_cfg *c, sink_def *out);

static const struct {
    const char *type;
    create_fn create;
} types[] = {
    {"stdout", sd_sink_stdout_create}, {"file", sd_sink_file_create},     {"webhook", sd_sink_webhook_create},
    {"slack", sd_sink_slack_create},   {"syslog", sd_sink_syslog_create}, {"kafka", sd_sink_kafka_create},
    {"digest", sd_sink_digest_create},
};

/* The diagnostics: the error first (callers show entry 0), then warnings. */
static void give_diag(sink_cfg *c, bool error, secdet_diagnostics **diag) {
    if (diag && (error || c->warnings.count)) {
        secdet_diagnostics *d = malloc(sizeof *d);
        if (d) {
            sd_diag_init(&d->list);
            if (error) sd_diag_add(&d->list, DIAG_ERROR, "", 0, 0, "%s", c->err);
            for (size_t i = 0; i < c->warnings.count; i++)
                sd_diag_add(&d->list, DIAG_WARNING, "", 0, 0, "%s", c->warnings.items[i].message);
            *diag = d;
        }
    }
    sd_diag_free(&c->warnings);
}

/* SHA-256 of the resolved configuration (see the top). */
static bool digest_tree(const cJSON *root, unsigned char out[SHA256_DIGEST_LENGTH]) {
    char *text = cJSON_PrintUnformatted(root);
    if (!text) return false;
    SHA256((const unsigned char *)text, strlen(text), out);
    OPENSSL_cleanse(text, strlen(text));
    cJSON_free(text);
    return true;
}

static void free_tree(cJSON *root) {
    sd_secret_wipe_tree(root);
    cJSON_Delete(root);
}

secdet_status secdet_sink_from_json(const char *json, size_t len, secdet_sink **out, secdet_diagnostics **diag) {
    if (diag) *diag = NULL;
    if (!json || !out) return SECDET_ERR_INVALID_ARG;
    sink_cfg c = {0};
    sd_diag_init(&c.warnings);
    snprintf(c.name, sizeof c.name, "?");
    cJSON *root = sd_json_parse(json, len, 0, NULL);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        sd_sink_cfg_fail(&c, "not a JSON object");
        give_diag(&c, true, diag);
        return SECDET_ERR_INVALID_ARG;
    }
    c.obj = root;
    if (cJSON_GetArraySize(root) > 64) {
        sd_sink_cfg_fail(&c, "more than 64 keys");
        goto bad;
    }
    const char *type = NULL, *name = NULL;
    if (get_str(&c, "type", true, false, &type)) goto bad;
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
        sd_sink_cfg_fail(&c, "type: unknown (expected stdout, file, webhook, slack, syslog, kafka or digest)");
        goto bad;
    }
    secdet_sink_opts o;
    secdet_sink_opts_init(&o);
    opt_lists lists;
    if (read_opts(&c, &o, &lists)) goto bad;
    sink_def def = {0};
    if (create(&c, &def) != 0) goto bad;
    int i = 0;
    for (const cJSON *it = root->child; it; it = it->next, i++) {
        if (!c.used[i]) {
            sd_sink_cfg_fail(&c, "unknown key \"%.40s\"", it->string ? it->string : "");
            if (def.vt->close) def.vt->close(def.self);
            goto bad;
        }
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    bool digested = digest_tree(root, digest);
    secdet_status st = sd_sink_make(static_type, &def, &o, out);
    if (st != SECDET_OK && def.vt->close) def.vt->close(def.self);
    if (st == SECDET_OK && digested) {
        memcpy((*out)->conf_digest, digest, sizeof digest);
        (*out)->has_conf_digest = true;
    }
    free_tree(root);
    give_diag(&c, false, diag);
    return st;
bad:
    free_tree(root);
    give_diag(&c, true, diag);
    return SECDET_ERR_INVALID_ARG;
}
