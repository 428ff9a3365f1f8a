/*
 * config_sources.c — the "sources" of a `secdet run` configuration
 * (docs/config.md): each source's name, format, time field and log type,
 * and its inputs — file, stdin, tcp (with its connection limits and TLS),
 * udp and kafka (checked whole by the Kafka input's own parser, its secret
 * references read once here). Every error names its JSON path
 * (config_walk.h).
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config_walk.h"
#include "event/path.h"
#include "kafka/kafka.h"
#include "util/secret.h"

/* ---- inputs ---------------------------------------------------------------- */

/* A kafka input's properties that are references: relative files made
 * absolute, each read once so that a missing one stops the start here. */
static int check_kafka_secrets(cfg_walker *w, cJSON *props) {
    if (!cJSON_IsObject(props)) return 0; /* absent, or sd_kcfg_parse says what is wrong */
    for (cJSON *p = props->child; p; p = p->next) {
        if (!sd_secret_is_ref(p)) continue;
        size_t old = cfg_enter_key(w, "properties");
        cfg_enter_key(w, p->string);
        char *value = NULL;
        int rc = cfg_absolute_ref(p, w);
        if (rc == 0) rc = cfg_read_secret(w, p, &value);
        sd_secret_free(value);
        if (rc != 0) return rc;
        cfg_leave(w, old);
    }
    return 0;
}

/* A tcp input's "tls" object. */
static int load_tls(cfg_walker *w, const cJSON *v, cfg_input *in) {
    static const char *const keys[] = {
        "cert", "key", "key_passphrase", "client_ca", "require_client_cert", "handshake_timeout_ms", NULL};
    if (cfg_want_object(w, v) != 0 || cfg_check_keys(w, v, keys) != 0) return -1;
    if (cfg_get_path(w, v, "cert", true, &in->tls_cert) != 0 || cfg_get_path(w, v, "key", true, &in->tls_key) != 0 ||
        cfg_get_path(w, v, "client_ca", false, &in->tls_client_ca) != 0 ||
        cfg_get_bool(w, v, "require_client_cert", &in->tls_require_client_cert) != 0)
        return -1;
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(v, "key_passphrase");
    if (pass) {
        size_t old = cfg_enter_key(w, "key_passphrase");
        if (cfg_read_secret(w, pass, &in->tls_key_passphrase) != 0) return -1;
        cfg_leave(w, old);
    }
    uint64_t u = 0;
    bool present = false;
    if (cfg_get_uint(w, v, "handshake_timeout_ms", 3600000, &u, &present) != 0) return -1;
    if (present) in->tls_handshake_timeout_ms = u; /* 0: the library's default */
    if (in->tls_require_client_cert && !in->tls_client_ca) {
        size_t old = cfg_enter_key(w, "require_client_cert");
        int rc = cfg_fail(w, "needs client_ca (the CAs client certificates must chain to)");
        cfg_leave(w, old);
        return rc;
    }
    return 0;
}

/* A tcp input's connection limits and TLS. */
static int load_tcp(cfg_walker *w, const cJSON *v, cfg_input *in) {
    uint64_t u = 0;
    bool present = false;
    if (cfg_get_uint(w, v, "max_connections", 1000000, &u, &present) != 0) return -1;
    if (present && u == 0) {
        size_t old = cfg_enter_key(w, "max_connections");
        int rc = cfg_fail(w, "expected an integer from 1 to 1000000");
        cfg_leave(w, old);
        return rc;
    }
    in->max_connections = (unsigned)u;
    if (cfg_get_uint(w, v, "idle_timeout_ms", 86400000.0 * 365, &u, &present) != 0) return -1;
    if (present) in->idle_timeout_ms = u;
    const cJSON *tls = cJSON_GetObjectItemCaseSensitive(v, "tls");
    if (!tls) return 0;
    size_t old = cfg_enter_key(w, "tls");
    if (load_tls(w, tls, in) != 0) return -1;
    cfg_leave(w, old);
    return 0;
}

static int load_input(cfg_walker *w, const cJSON *v, cfg_input *in) {
    memset(in, 0, sizeof *in);
    if (cfg_want_object(w, v) != 0) return -1;
    char *type;
    if (cfg_get_string(w, v, "type", true, &type) != 0) return -1;
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
        rc = cfg_check_keys(w, v, file_keys);
        if (rc == 0) rc = cfg_get_path(w, v, "path", true, &in->path);
        char *start = NULL;
        if (rc == 0) rc = cfg_get_string(w, v, "start", false, &start);
        if (rc == 0 && start) {
            if (strcmp(start, "beginning") == 0)
                in->from_start = 1;
            else if (strcmp(start, "end") != 0) {
                size_t old = cfg_enter_key(w, "start");
                rc = cfg_fail(w, "expected \"beginning\" or \"end\"");
                cfg_leave(w, old);
            }
        }
        free(start);
        if (rc == 0) rc = cfg_get_uint(w, v, "poll_ms", 3600000, &u, &present);
        if (rc == 0 && present) in->poll_ms = (unsigned)u;
    } else if (strcmp(type, "stdin") == 0) {
        in->type = CFG_IN_STDIN;
        rc = cfg_check_keys(w, v, stdin_keys);
    } else if (strcmp(type, "tcp") == 0 || strcmp(type, "udp") == 0) {
        bool tcp = type[0] == 't';
        in->type = tcp ? CFG_IN_TCP : CFG_IN_UDP;
        rc = cfg_check_keys(w, v, tcp ? tcp_keys : udp_keys);
        if (rc == 0) rc = cfg_get_string(w, v, "address", true, &in->address);
        if (rc == 0) rc = cfg_get_uint(w, v, "port", 65535, &u, &present);
        if (rc == 0 && !present) {
            size_t old = cfg_enter_key(w, "port");
            rc = cfg_fail(w, "missing (required; 0 picks a free port)");
            cfg_leave(w, old);
        }
        in->port = (uint16_t)u;
        char *framing = NULL;
        if (rc == 0 && tcp) rc = cfg_get_string(w, v, "framing", false, &framing);
        if (rc == 0 && framing) {
            if (strcmp(framing, "octet-counted") == 0)
                in->framing = SECDET_FRAMING_OCTET_COUNTED;
            else if (strcmp(framing, "lines") != 0) {
                size_t old = cfg_enter_key(w, "framing");
                rc = cfg_fail(w, "expected \"lines\" or \"octet-counted\"");
                cfg_leave(w, old);
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
            rc = cfg_fail(w, "out of memory");
        } else if (sd_kafka_input_check(text, strlen(text), false, &aggregate, err, sizeof err) != 0) {
            rc = cfg_fail(w, "%s", err);
        } else {
            in->kafka_stage2 = aggregate;
            rc = check_kafka_secrets(w, cJSON_GetObjectItemCaseSensitive(copy, "properties"));
            if (rc == 0 && !(in->kafka_json = cJSON_PrintUnformatted(copy))) rc = cfg_fail(w, "out of memory");
        }
        cJSON_free(text);
        cJSON_Delete(copy);
    } else {
        size_t old = cfg_enter_key(w, "type");
        rc = cfg_fail(w, "unknown input type \"%s\" (expected file, stdin, tcp, udp or kafka)", type);
        cfg_leave(w, old);
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
static int check_time_field(cfg_walker *w, const char *tf) {
    if (!tf || !*tf) return 0;
    sd_path p;
    const char *why = NULL;
    size_t n = strlen(tf);
    size_t used = sd_path_parse(tf, n, &p, &why);
    sd_path_free(&p);
    if (used == n) return 0;
    char q[120];
    quoted(q, sizeof q, tf);
    size_t old = cfg_enter_key(w, "time_field");
    int rc;
    if (tf[0] != '.')
        rc = cfg_fail(w, "must be a field path starting with '.' (got %s)", q);
    else if (used == 0)
        rc = cfg_fail(w, "not a field path: %s (got %s)", why ? why : "invalid", q);
    else
        rc = cfg_fail(w, "not a field path: unexpected text at byte %zu (got %s)", used + 1, q);
    cfg_leave(w, old);
    return rc;
}

int cfg_load_source(cfg_walker *w, const cJSON *v, cfg_source *s) {
    memset(s, 0, sizeof *s);
    static const char *const keys[] = {"name", "format", "time_field", "log_type", "input", NULL};
    if (cfg_want_object(w, v) != 0 || cfg_check_keys(w, v, keys) != 0) return -1;
    if (cfg_get_string(w, v, "name", true, &s->name) != 0) return -1;
    if (cfg_get_string(w, v, "log_type", false, &s->log_type) != 0) return -1;
    if (cfg_get_string(w, v, "format", false, &s->format) != 0) return -1;
    if (s->format) {
        secdet_format f;
        if (secdet_format_parse(s->format, &f) != SECDET_OK) {
            size_t old = cfg_enter_key(w, "format");
            int rc = cfg_fail(w,
                              "unknown format \"%s\" (expected auto, jsonl, cloudtrail, cloudwatch-logs or "
                              "eventbridge)",
                              s->format);
            cfg_leave(w, old);
            return rc;
        }
    }
    const cJSON *tf = cJSON_GetObjectItemCaseSensitive(v, "time_field");
    if (cJSON_IsString(tf) && tf->valuestring[0] == 0) {
        s->time_field = strdup(""); /* "": no time field, the time of arrival */
        if (!s->time_field) return cfg_fail(w, "out of memory");
    } else if (cfg_get_string(w, v, "time_field", false, &s->time_field) != 0 ||
               check_time_field(w, s->time_field) != 0) {
        return -1;
    }
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(v, "input");
    size_t old = cfg_enter_key(w, "input");
    int rc = 0;
    if (!in) {
        rc = cfg_fail(w, "missing (required)");
    } else if (cJSON_IsArray(in)) {
        size_t n = (size_t)cJSON_GetArraySize(in);
        if (n == 0) rc = cfg_fail(w, "expected at least one input");
        s->inputs = calloc(n ? n : 1, sizeof *s->inputs);
        if (!s->inputs) rc = cfg_fail(w, "out of memory");
        size_t i = 0;
        for (const cJSON *e = in->child; rc == 0 && e; e = e->next, i++) {
            size_t o2 = cfg_enter_index(w, i);
            rc = load_input(w, e, &s->inputs[i]);
            s->ninputs = i + 1;
            if (rc == 0) cfg_leave(w, o2);
        }
    } else {
        s->inputs = calloc(1, sizeof *s->inputs);
        if (!s->inputs)
            rc = cfg_fail(w, "out of memory");
        else {
            s->ninputs = 1;
            rc = load_input(w, in, &s->inputs[0]);
        }
    }
    if (rc == 0) cfg_leave(w, old);
    return rc;
}