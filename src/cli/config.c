/*
 * config.c — loading and checking the `secdet run` configuration (config.h,
 * docs/config.md).
 *
 * A small walker keeps the JSON path of the value being checked
 * ("sources[1].input.port") so that every error names exactly where it is.
 * The first error stops the load: the rest of a file with a typo in it is
 * not worth guessing at.
 *
 * Secrets are not read into the configuration: a sink keeps its
 * references ({"env": ...}, {"file": ...}) in its JSON, with relative file
 * paths made absolute here, and the library reads them whenever the sink
 * is made — here once to check them, at start, and on SIGHUP. read_secret
 * is the reader for other secret-bearing keys of this file.
 */
#include "cli/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/path.h"
#include "kafka/kafka.h"
#include "sink/sink_secrets.h"
#include "util/json.h"
#include "util/secret.h"

#define MAX_CONFIG_BYTES (1 << 20)

typedef struct walker {
    const char *file;
    char *dir;      /* the file's directory, for relative paths */
    char path[256]; /* JSON path of the value being looked at */
    size_t plen;
    char *err;
    size_t errlen;
    const char *spool_root; /* top-level "spool_dir", resolved; NULL when absent */
    size_t nsink;           /* index of the sink being loaded */
    cfg *c;                 /* for warnings */
} walker;

static int fail(walker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(walker *w, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(w->err, w->errlen, "%s: %s%s%s", w->file, w->path, w->plen ? ": " : "", msg);
    return -1;
}

/* A warning for `secdet run` to print ("PATH: JSON-PATH: warning: ..."); a
 * warning that cannot be stored is dropped (it stops nothing). */
static void warn(walker *w, const char *msg) {
    char **more = realloc(w->c->warnings, (w->c->nwarnings + 1) * sizeof *more);
    if (!more) return;
    w->c->warnings = more;
    size_t n = strlen(w->file) + w->plen + strlen(msg) + 16;
    char *line = malloc(n);
    if (!line) return;
    snprintf(line, n, "%s: %s%swarning: %s", w->file, w->path, w->plen ? ": " : "", msg);
    more[w->c->nwarnings++] = line;
}

/* Enters a member (".key", or "key" at the top) or an element ("[i]"); returns the old length. */
static size_t enter_key(walker *w, const char *key) {
    size_t old = w->plen;
    int n = snprintf(w->path + w->plen, sizeof w->path - w->plen, "%s%s", w->plen ? "." : "", key);
    if (n > 0) w->plen += (size_t)n < sizeof w->path - w->plen ? (size_t)n : sizeof w->path - w->plen - 1;
    return old;
}

static size_t enter_index(walker *w, size_t i) {
    size_t old = w->plen;
    int n = snprintf(w->path + w->plen, sizeof w->path - w->plen, "[%zu]", i);
    if (n > 0) w->plen += (size_t)n < sizeof w->path - w->plen ? (size_t)n : sizeof w->path - w->plen - 1;
    return old;
}

static void leave(walker *w, size_t old) {
    w->plen = old;
    w->path[old] = 0;
}

static int check_keys(walker *w, const cJSON *obj, const char *const *allowed) {
    for (const cJSON *m = obj->child; m; m = m->next) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++) ok = ok || strcmp(m->string, allowed[i]) == 0;
        if (!ok) {
            enter_key(w, m->string);
            return fail(w, "unknown key");
        }
    }
    return 0;
}

static int want_object(walker *w, const cJSON *v) { return cJSON_IsObject(v) ? 0 : fail(w, "expected an object"); }

/* A string member. *out NULL when absent and not required. */
static int get_string(walker *w, const cJSON *obj, const char *key, bool required, char **out) {
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t old = enter_key(w, key);
    int rc = 0;
    if (!v) {
        if (required) rc = fail(w, "missing (required)");
    } else if (!cJSON_IsString(v) || !v->valuestring[0]) {
        rc = fail(w, "expected a non-empty string");
    } else if (!(*out = strdup(v->valuestring))) {
        rc = fail(w, "out of memory");
    }
    leave(w, old);
    return rc;
}

/* A non-negative integer member up to max; *present says whether it was there. */
static int get_uint(walker *w, const cJSON *obj, const char *key, double max, uint64_t *out, bool *present) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *present = v != NULL;
    if (!v) return 0;
    size_t old = enter_key(w, key);
    int rc = 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max || floor(v->valuedouble) != v->valuedouble)
        rc = fail(w, "expected an integer from 0 to %.0f", max);
    else
        *out = (uint64_t)v->valuedouble;
    leave(w, old);
    return rc;
}

static char *resolve(walker *w, const char *p) {
    if (p[0] == '/' || !w->dir) return strdup(p);
    size_t n = strlen(w->dir) + strlen(p) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", w->dir, p);
    return s;
}

static int get_path(walker *w, const cJSON *obj, const char *key, bool required, char **out) {
    char *raw;
    if (get_string(w, obj, key, required, &raw) != 0) return -1;
    *out = NULL;
    if (!raw) return 0;
    *out = resolve(w, raw);
    free(raw);
    return *out ? 0 : fail(w, "out of memory");
}

static int get_bool(walker *w, const cJSON *obj, const char *key, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) {
        size_t old = enter_key(w, key);
        int rc = fail(w, "expected true or false");
        leave(w, old);
        return rc;
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

/* ---- secrets --------------------------------------------------------------------- */

/* A {"file": PATH} reference with a relative PATH made absolute (against
 * the configuration's directory, like every path in it). */
static int absolute_ref(cJSON *ref, void *arg) {
    walker *w = arg;
    cJSON *f = cJSON_GetObjectItemCaseSensitive(ref, "file");
    if (!cJSON_IsString(f) || !f->valuestring[0] || f->valuestring[0] == '/') return 0;
    char *abs = resolve(w, f->valuestring);
    if (!abs) return fail(w, "out of memory");
    int ok = cJSON_ReplaceItemInObjectCaseSensitive(ref, "file", cJSON_CreateString(abs));
    free(abs);
    return ok ? 0 : fail(w, "out of memory");
}

/*
 * The secret at v (the walker's current key): a string, {"env": NAME} or
 * {"file": PATH} (relative to the configuration's directory), in *out
 * (free it with sd_secret_free). -1 after a message naming the key and the
 * variable or file, never the value. A file every user may read is
 * warned about. For every secret-bearing key of this file that the
 * library does not read itself (a TLS key's passphrase...).
 */
static int read_secret(walker *w, const cJSON *v, char **out) {
    cJSON *copy = cJSON_Duplicate(v, 1);
    if (!copy) return fail(w, "out of memory");
    char err[300], why[300];
    int rc = sd_secret_is_ref(copy) ? absolute_ref(copy, w) : 0;
    if (rc == 0 && sd_secret_read(copy, out, err, sizeof err, why, sizeof why) != 0)
        rc = fail(w, "%s", err);
    else if (rc == 0 && why[0])
        warn(w, why);
    cJSON_Delete(copy);
    return rc;
}

/* ---- inputs ---------------------------------------------------------------- */

/* A kafka input's properties that are references: relative files made
 * absolute, each read once so that a missing one stops the start here. */
static int check_kafka_secrets(walker *w, cJSON *props) {
    if (!cJSON_IsObject(props)) return 0; /* absent, or sd_kcfg_parse says what is wrong */
    for (cJSON *p = props->child; p; p = p->next) {
        if (!sd_secret_is_ref(p)) continue;
        size_t old = enter_key(w, "properties");
        enter_key(w, p->string);
        char *value = NULL;
        int rc = absolute_ref(p, w);
        if (rc == 0) rc = read_secret(w, p, &value);
        sd_secret_free(value);
        if (rc != 0) return rc;
        leave(w, old);
    }
    return 0;
}

/* A tcp input's "tls" object. */
static int load_tls(walker *w, const cJSON *v, cfg_input *in) {
    static const char *const keys[] = {
        "cert", "key", "key_passphrase", "client_ca", "require_client_cert", "handshake_timeout_ms", NULL};
    if (want_object(w, v) != 0 || check_keys(w, v, keys) != 0) return -1;
    if (get_path(w, v, "cert", true, &in->tls_cert) != 0 || get_path(w, v, "key", true, &in->tls_key) != 0 ||
        get_path(w, v, "client_ca", false, &in->tls_client_ca) != 0 ||
        get_bool(w, v, "require_client_cert", &in->tls_require_client_cert) != 0)
        return -1;
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(v, "key_passphrase");
    if (pass) {
        size_t old = enter_key(w, "key_passphrase");
        if (read_secret(w, pass, &in->tls_key_passphrase) != 0) return -1;
        leave(w, old);
    }
    uint64_t u = 0;
    bool present = false;
    if (get_uint(w, v, "handshake_timeout_ms", 3600000, &u, &present) != 0) return -1;
    if (present) in->tls_handshake_timeout_ms = u; /* 0: the library's default */
    if (in->tls_require_client_cert && !in->tls_client_ca) {
        size_t old = enter_key(w, "require_client_cert");
        int rc = fail(w, "needs client_ca (the CAs client certificates must chain to)");
        leave(w, old);
        return rc;
    }
    return 0;
}

/* A tcp input's connection limits and TLS. */
static int load_tcp(walker *w, const cJSON *v, cfg_input *in) {
    uint64_t u = 0;
    bool present = false;
    if (get_uint(w, v, "max_connections", 1000000, &u, &present) != 0) return -1;
    if (present && u == 0) {
        size_t old = enter_key(w, "max_connections");
        int rc = fail(w, "expected an integer from 1 to 1000000");
        leave(w, old);
        return rc;
    }
    in->max_connections = (unsigned)u;
    if (get_uint(w, v, "idle_timeout_ms", 86400000.0 * 365, &u, &present) != 0) return -1;
    if (present) in->idle_timeout_ms = u;
    const cJSON *tls = cJSON_GetObjectItemCaseSensitive(v, "tls");
    if (!tls) return 0;
    size_t old = enter_key(w, "tls");
    if (load_tls(w, tls, in) != 0) return -1;
    leave(w, old);
    return 0;
}

static int load_input(walker *w, const cJSON *v, cfg_input *in) {
    memset(in, 0, sizeof *in);
    if (want_object(w, v) != 0) return -1;
    char *type;
    if (get_string(w, v, "type", true, &type) != 0) return -1;
    static const char *const file_keys[] = {"type", "path", "start", "poll_ms", NULL};
    static const char *const stdin_keys[] = {"type", NULL};
    static const char *const tcp_keys[] = {"type", "address", "port", "framing", "max_connections", "idle_timeout_ms",
                                           "tls",  NULL};
    static const char *const udp_keys[] = {"type", "address", "port", NULL};
    int rc = 0;
    uint64_t u = 0;
    bool present = false;
    if (strcmp(type, "file") == 0) {
        in->type = CFG_IN_FILE;
        rc = check_keys(w, v, file_keys);
        if (rc == 0) rc = get_path(w, v, "path", true, &in->path);
        char *start = NULL;
        if (rc == 0) rc = get_string(w, v, "start", false, &start);
        if (rc == 0 && start) {
            if (strcmp(start, "beginning") == 0)
                in->from_start = 1;
            else if (strcmp(start, "end") != 0) {
                size_t old = enter_key(w, "start");
                rc = fail(w, "expected \"beginning\" or \"end\"");
                leave(w, old);
            }
        }
        free(start);
        if (rc == 0) rc = get_uint(w, v, "poll_ms", 3600000, &u, &present);
        if (rc == 0 && present) in->poll_ms = (unsigned)u;
    } else if (strcmp(type, "stdin") == 0) {
        in->type = CFG_IN_STDIN;
        rc = check_keys(w, v, stdin_keys);
    } else if (strcmp(type, "tcp") == 0 || strcmp(type, "udp") == 0) {
        bool tcp = type[0] == 't';
        in->type = tcp ? CFG_IN_TCP : CFG_IN_UDP;
        rc = check_keys(w, v, tcp ? tcp_keys : udp_keys);
        if (rc == 0) rc = get_string(w, v, "address", true, &in->address);
        if (rc == 0) rc = get_uint(w, v, "port", 65535, &u, &present);
        if (rc == 0 && !present) {
            size_t old = enter_key(w, "port");
            rc = fail(w, "missing (required; 0 picks a free port)");
            leave(w, old);
        }
        in->port = (uint16_t)u;
        char *framing = NULL;
        if (rc == 0 && tcp) rc = get_string(w, v, "framing", false, &framing);
        if (rc == 0 && framing) {
            if (strcmp(framing, "octet-counted") == 0)
                in->framing = SECDET_FRAMING_OCTET_COUNTED;
            else if (strcmp(framing, "lines") != 0) {
                size_t old = enter_key(w, "framing");
                rc = fail(w, "expected \"lines\" or \"octet-counted\"");
                leave(w, old);
            }
        }
        free(framing);
        if (rc == 0 && tcp) rc = load_tcp(w, v, in);
    } else if (strcmp(type, "kafka") == 0) {
        /* Checked whole by the Kafka input's own parser (docs/scale-out.md);
         * the references among its properties here (the input reads them
         * itself when it starts). */
        in->type = CFG_IN_KAFKA;
        char err[256];
        bool aggregate = false;
        cJSON *copy = cJSON_Duplicate(v, 1);
        char *text = copy ? cJSON_PrintUnformatted(copy) : NULL;
        if (!text) {
            rc = fail(w, "out of memory");
        } else if (sd_kafka_input_check(text, strlen(text), false, &aggregate, err, sizeof err) != 0) {
            rc = fail(w, "%s", err);
        } else {
            in->kafka_stage2 = aggregate;
            rc = check_kafka_secrets(w, cJSON_GetObjectItemCaseSensitive(copy, "properties"));
            if (rc == 0 && !(in->kafka_json = cJSON_PrintUnformatted(copy))) rc = fail(w, "out of memory");
        }
        cJSON_free(text);
        cJSON_Delete(copy);
    } else {
        size_t old = enter_key(w, "type");
        rc = fail(w, "unknown input type \"%s\" (expected file, stdin, tcp, udp or kafka)", type);
        leave(w, old);
    }
    free(type);
    return rc;
}

/* ---- sources ----------------------------------------------------------------- */

/* s as a JSON string, cut to fit (for quoting a non-secret value). */
static void quoted(char *out, size_t n, const char *s) {
    cJSON *str = cJSON_CreateString(s);
    char *q = str ? cJSON_PrintUnformatted(str) : NULL;
    snprintf(out, n, "%s", q ? q : "\"?\"");
    if (q && strlen(q) >= n && n > 5) memcpy(out + n - 5, "...\"", 5);
    cJSON_free(q);
    cJSON_Delete(str);
}

/* A time field is a field path (docs/language.md), as the engine will parse
 * it: said here with the key, rather than as a bare "invalid argument" when
 * the source is added. */
static int check_time_field(walker *w, const char *tf) {
    if (!tf || !*tf) return 0;
    sd_path p;
    const char *why = NULL;
    size_t n = strlen(tf);
    size_t used = sd_path_parse(tf, n, &p, &why);
    sd_path_free(&p);
    if (used == n) return 0;
    char q[120];
    quoted(q, sizeof q, tf);
    size_t old = enter_key(w, "time_field");
    int rc;
    if (tf[0] != '.')
        rc = fail(w, "must be a field path starting with '.' (got %s)", q);
    else if (used == 0)
        rc = fail(w, "not a field path: %s (got %s)", why ? why : "invalid", q);
    else
        rc = fail(w, "not a field path: unexpected text at byte %zu (got %s)", used + 1, q);
    leave(w, old);
    return rc;
}

static int load_source(walker *w, const cJSON *v, cfg_source *s) {
    memset(s, 0, sizeof *s);
    static const char *const keys[] = {"name", "format", "time_field", "log_type", "input", NULL};
    if (want_object(w, v) != 0 || check_keys(w, v, keys) != 0) return -1;
    if (get_string(w, v, "name", true, &s->name) != 0) return -1;
    if (get_string(w, v, "log_type", false, &s->log_type) != 0) return -1;
    if (get_string(w, v, "format", false, &s->format) != 0) return -1;
    if (s->format) {
        secdet_format f;
        if (secdet_format_parse(s->format, &f) != SECDET_OK) {
            size_t old = enter_key(w, "format");
            int rc = fail(w,
                          "unknown format \"%s\" (expected auto, jsonl, cloudtrail, cloudwatch-logs or "
                          "eventbridge)",
                          s->format);
            leave(w, old);
            return rc;
        }
    }
    const cJSON *tf = cJSON_GetObjectItemCaseSensitive(v, "time_field");
    if (cJSON_IsString(tf) && tf->valuestring[0] == 0) {
        s->time_field = strdup(""); /* "": no time field, the time of arrival */
        if (!s->time_field) return fail(w, "out of memory");
    } else if (get_string(w, v, "time_field", false, &s->time_field) != 0 || check_time_field(w, s->time_field) != 0) {
        return -1;
    }
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(v, "input");
    size_t old = enter_key(w, "input");
    int rc = 0;
    if (!in) {
        rc = fail(w, "missing (required)");
    } else if (cJSON_IsArray(in)) {
        size_t n = (size_t)cJSON_GetArraySize(in);
        if (n == 0) rc = fail(w, "expected at least one input");
        s->inputs = calloc(n ? n : 1, sizeof *s->inputs);
        if (!s->inputs) rc = fail(w, "out of memory");
        size_t i = 0;
        for (const cJSON *e = in->child; rc == 0 && e; e = e->next, i++) {
            size_t o2 = enter_index(w, i);
            rc = load_input(w, e, &s->inputs[i]);
            s->ninputs = i + 1;
            if (rc == 0) leave(w, o2);
        }
    } else {
        s->inputs = calloc(1, sizeof *s->inputs);
        if (!s->inputs)
            rc = fail(w, "out of memory");
        else {
            s->ninputs = 1;
            rc = load_input(w, in, &s->inputs[0]);
        }
    }
    if (rc == 0) leave(w, old);
    return rc;
}

/* ---- sinks and limits ------------------------------------------------------------ */

/* A sink object is handed to the library (secdet_sink_from_json) almost as
 * written: file paths in it are resolved against the config's directory,
 * it gets its default name ("<type>-<index>", as the library would give),
 * and a network sink without its own spool_dir gets <spool_dir>/<name> when
 * the top-level "spool_dir" is set. It is checked here by building it once,
 * so a bad sink stops `secdet run` before anything starts. */
static int resolve_key(walker *w, cJSON *obj, const char *key) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v)) return 0; /* absent, or the library's error */
    char *r = resolve(w, v->valuestring);
    if (!r) return fail(w, "out of memory");
    int ok = cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(r));
    free(r);
    return ok ? 0 : fail(w, "out of memory");
}

static int load_sink(walker *w, const cJSON *v, cfg_sink *s) {
    memset(s, 0, sizeof *s);
    size_t index = w->nsink++;
    if (want_object(w, v) != 0) return -1;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "type");
    if (!cJSON_IsString(t)) {
        enter_key(w, "type");
        return fail(w, "missing or not a string (stdout, file, webhook, slack, syslog, kafka or digest)");
    }
    cJSON *obj = cJSON_Duplicate(v, 1);
    if (!obj) return fail(w, "out of memory");
    int rc = 0;
    static const char *const paths[] = {"path", "spool_dir", "dead_letter", "ca_file"};
    for (size_t i = 0; rc == 0 && i < sizeof paths / sizeof paths[0]; i++) rc = resolve_key(w, obj, paths[i]);
    if (rc == 0) rc = sd_sink_json_each_ref(obj, absolute_ref, w);
    char name[128];
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, "name");
    if (cJSON_IsString(n))
        snprintf(name, sizeof name, "%s", n->valuestring);
    else
        snprintf(name, sizeof name, "%.60s-%zu", t->valuestring, index);
    if (rc == 0 && !n && !cJSON_AddStringToObject(obj, "name", name)) rc = fail(w, "out of memory");
    bool network = strcmp(t->valuestring, "webhook") == 0 || strcmp(t->valuestring, "slack") == 0 ||
                   strcmp(t->valuestring, "syslog") == 0 || strcmp(t->valuestring, "kafka") == 0 ||
                   strcmp(t->valuestring, "digest") == 0;
    if (rc == 0 && network && w->spool_root && !cJSON_GetObjectItemCaseSensitive(obj, "spool_dir")) {
        size_t len = strlen(w->spool_root) + strlen(name) + 2;
        char *dir = malloc(len);
        if (dir) snprintf(dir, len, "%s/%s", w->spool_root, name);
        if (!dir || !cJSON_AddStringToObject(obj, "spool_dir", dir)) rc = fail(w, "out of memory");
        free(dir);
    }
    if (rc == 0 && !(s->json = cJSON_PrintUnformatted(obj))) rc = fail(w, "out of memory");
    cJSON_Delete(obj);
    if (rc != 0) return rc;
    s->name = strdup(name);
    if (!s->name) return fail(w, "out of memory");
    secdet_sink *sink = NULL;
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_sink_from_json(s->json, strlen(s->json), &sink, &d);
    /* Entry 0 is the error, if any; then warnings (a secret file every user can read). */
    secdet_diagnostic e;
    for (size_t i = 0; i < secdet_diagnostics_count(d); i++)
        if (secdet_diagnostics_get(d, i, &e) == SECDET_OK && e.severity == SECDET_DIAG_WARNING) warn(w, e.message);
    if (st != SECDET_OK) {
        if (secdet_diagnostics_count(d) && secdet_diagnostics_get(d, 0, &e) == SECDET_OK)
            rc = fail(w, "%s", e.message);
        else
            rc = fail(w, "%s", secdet_strerror(st));
    }
    secdet_diagnostics_free(d);
    secdet_sink_free(sink);
    return rc;
}

static int load_limits(walker *w, const cJSON *v, cfg *c) {
    static const char *const keys[] = {"max_event_bytes",     "max_json_depth", "vm_budget",   "regex_match_limit",
                                       "max_rule_file_bytes", "max_samples",    "lateness_ms", "max_state_bytes",
                                       "queue_messages",      "queue_bytes",    NULL};
    if (want_object(w, v) != 0 || check_keys(w, v, keys) != 0) return -1;
    uint64_t u;
    bool p;
    const double big = 9007199254740991.0; /* 2^53 - 1: exact in a JSON number */
#define LIMIT(key, max, assign)                                                                                        \
    do {                                                                                                               \
        if (get_uint(w, v, key, max, &u, &p) != 0) return -1;                                                          \
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
        return fail(w, "max_event_bytes, max_json_depth and max_rule_file_bytes must be at least 1");
    }
    return 0;
}

/* Loads an array member of objects with `each`. */
static int load_array(walker *w, const cJSON *root, const char *key, bool required, void **items, size_t *n,
                      size_t size, int (*each)(walker *, const cJSON *, void *)) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key);
    *items = NULL;
    *n = 0;
    size_t old = enter_key(w, key);
    if (!arr) {
        int rc = required ? fail(w, "missing (required)") : 0;
        if (rc == 0) leave(w, old);
        return rc;
    }
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0) return fail(w, "expected a non-empty array");
    size_t count = (size_t)cJSON_GetArraySize(arr);
    *items = calloc(count, size);
    if (!*items) return fail(w, "out of memory");
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        size_t o2 = enter_index(w, i);
        *n = i + 1;
        if (each(w, e, (char *)*items + i * size) != 0) return -1;
        leave(w, o2);
    }
    leave(w, old);
    return 0;
}

static int each_source(walker *w, const cJSON *v, void *out) { return load_source(w, v, out); }
static int each_sink(walker *w, const cJSON *v, void *out) { return load_sink(w, v, out); }
static int each_rule(walker *w, const cJSON *v, void *out) {
    if (!cJSON_IsString(v) || !v->valuestring[0]) return fail(w, "expected a non-empty string (a file or directory)");
    char **p = out;
    *p = resolve(w, v->valuestring);
    return *p ? 0 : fail(w, "out of memory");
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
    walker w = {.file = path, .err = err, .errlen = errlen, .c = c};
    const char *slash = strrchr(path, '/');
    if (slash) w.dir = strndup(path, (size_t)(slash - path) + (slash == path));
    size_t at = 0;
    cJSON *root = sd_json_parse(text, len, 0, &at);
    int rc = 0;
    if (!root) {
        rc = fail(&w, "invalid JSON near byte %zu", at + 1);
    } else if (!cJSON_IsObject(root)) {
        rc = fail(&w, "expected a JSON object");
    }
    static const char *const keys[] = {"rules",     "sources",          "sinks",     "limits", "stats_interval",
                                       "spool_dir", "drain_timeout_ms", "log_types", NULL};
    if (rc == 0) rc = check_keys(&w, root, keys);
    c->drain_timeout_ms = 10000;
    if (rc == 0) rc = get_path(&w, root, "spool_dir", false, &c->spool_dir);
    w.spool_root = c->spool_dir;
    if (rc == 0) {
        uint64_t u;
        bool present;
        rc = get_uint(&w, root, "drain_timeout_ms", 86400000.0, &u, &present);
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
            rc = fail(&w, "out of memory");
        c->nsinks = c->sinks ? 1 : 0;
    }
    const cJSON *limits = root ? cJSON_GetObjectItemCaseSensitive(root, "limits") : NULL;
    if (rc == 0 && limits) {
        size_t old = enter_key(&w, "limits");
        rc = load_limits(&w, limits, c);
        if (rc == 0) leave(&w, old);
    }
    const cJSON *si = root ? cJSON_GetObjectItemCaseSensitive(root, "stats_interval") : NULL;
    if (rc == 0 && si) {
        if (!cJSON_IsNumber(si) || si->valuedouble < 0 || si->valuedouble > 86400 * 365) {
            enter_key(&w, "stats_interval");
            rc = fail(&w, "expected a number of seconds from 0 to 31536000");
        } else {
            c->stats_interval = si->valuedouble;
        }
    }
    for (size_t i = 0; rc == 0 && i < c->nsources; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->sources[i].name, c->sources[j].name) == 0) {
                enter_index(&w, i);
                snprintf(w.path, sizeof w.path, "sources[%zu].name", i);
                w.plen = strlen(w.path);
                rc = fail(&w, "duplicate source name \"%s\" (also sources[%zu])", c->sources[i].name, j);
                break;
            }
        }
    }
    for (size_t i = 0; rc == 0 && i < c->nsinks; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->sinks[i].name, c->sinks[j].name) == 0) {
                snprintf(w.path, sizeof w.path, "sinks[%zu].name", i);
                w.plen = strlen(w.path);
                rc = fail(&w,
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
            rc = fail(&w, "%s", msg);
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
        rc = fail(&w, "a kafka input must be the only input of the configuration");
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
