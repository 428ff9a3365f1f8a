/*
 * main.c — `bootstrap`, libsecdet as an AWS Lambda custom runtime.
 *
 * Init: one engine for the life of the execution environment (so correlation
 * state survives warm invocations); rules from SECDET_RULES (a file or
 * directory; several separated by ':') or $LAMBDA_TASK_ROOT/rules; sinks
 * from SECDET_SINKS (a JSON array of sink objects, as in `secdet run`) or
 * the "sinks" of the JSON file SECDET_CONFIG (default
 * $LAMBDA_TASK_ROOT/secdet.json when it exists); none: alerts go to stdout
 * (CloudWatch Logs). Events go to the source SECDET_SOURCE (default
 * "cloudtrail") of log type SECDET_LOG_TYPE (default "auto": each event to
 * the source of its log type by its shape); S3 objects under a key prefix
 * SECDET_S3_LOG_TYPES names ({"okta/": "okta"}) to that log type's source.
 * A failure here is reported to /runtime/init/error.
 *
 * Loop: next invocation -> _X_AMZN_TRACE_ID -> route the event (events.c)
 * -> secdet_drain bounded by the deadline -> a JSON summary as the response,
 * or an error (Runtime.InvalidEvent / Runtime.RecordsFailed) with a JSON body.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "lambda/lambda.h"
#include "s3/s3.h"

/* Formats a reason into err; returns -1 for `return seterr(...)`. */
__attribute__((format(printf, 3, 4))) static int seterr(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static void on_error(void *user, const char *source, uint64_t where, const char *message) {
    lambda_ctx *ctx = user;
    fprintf(stderr, "bootstrap: malformed input: %s: %llu: %s\n", source, (unsigned long long)where, message);
    snprintf(ctx->last_error, sizeof ctx->last_error, "%s", message);
    if (ctx->malformed_reports++ < 10) {
        if (ctx->errors.len) sd_buf_putc(&ctx->errors, ',');
        sd_buf_printf(&ctx->errors, "{\"where\":%llu,\"message\":", (unsigned long long)where);
        sd_buf_json_string(&ctx->errors, message, strlen(message));
        sd_buf_putc(&ctx->errors, '}');
    }
}

static int fetch_s3(void *user, const char *bucket, const char *key, int64_t timeout_ms, uint64_t max_bytes, buf *out,
                    char *err, size_t errlen) {
    (void)user;
    return sd_s3_get_object(bucket, key, timeout_ms, max_bytes, out, err, errlen);
}

static void on_sink_log(void *user, const char *sink, const char *message) {
    fprintf(stderr, "bootstrap: sink %s: %s\n", sink, message);
}

static int load_rules(secdet_engine *e, char *err, size_t errlen) {
    char dflt[4096];
    snprintf(dflt, sizeof dflt, "%s/rules", env_or("LAMBDA_TASK_ROOT", "."));
    char *paths = strdup(env_or("SECDET_RULES", dflt));
    if (!paths) return seterr(err, errlen, "out of memory");
    int rc = 0;
    char *save = NULL;
    for (char *p = strtok_r(paths, ":", &save); p && rc == 0; p = strtok_r(NULL, ":", &save)) {
        struct stat sb;
        secdet_diagnostics *d = NULL;
        secdet_status st = stat(p, &sb) == 0 && S_ISDIR(sb.st_mode) ? secdet_load_rules_dir(e, p, &d)
                                                                    : secdet_load_rules_file(e, p, &d);
        for (size_t i = 0; i < secdet_diagnostics_count(d); i++) {
            char *t = secdet_diagnostics_format(d, i);
            if (t) fprintf(stderr, "%s\n", t);
            if (t && st != SECDET_OK && rc == 0) snprintf(err, errlen, "rules %s: %s", p, t);
            secdet_free(t);
        }
        secdet_diagnostics_free(d);
        if (st != SECDET_OK) {
            if (rc == 0 && st != SECDET_ERR_RULES) snprintf(err, errlen, "rules %s: %s", p, secdet_strerror(st));
            rc = -1;
        }
    }
    free(paths);
    if (rc == 0 && secdet_rule_count(e) == 0) rc = seterr(err, errlen, "no rules loaded");
    return rc;
}

static char *read_file(const char *path) {
    buf b;
    sd_buf_init(&b);
    if (sd_buf_read_file(&b, path) != 0) return sd_buf_free(&b), NULL;
    return sd_buf_steal(&b);
}

static int add_sinks(secdet_engine *e, char *err, size_t errlen) {
    secdet_set_sink_log(e, on_sink_log, NULL);
    char *text = NULL;
    const char *what = "SECDET_SINKS";
    cJSON *root = NULL;
    const cJSON *arr = NULL;
    if (getenv("SECDET_SINKS") && *getenv("SECDET_SINKS")) {
        root = cJSON_Parse(getenv("SECDET_SINKS"));
        arr = root;
    } else {
        char dflt[4096];
        snprintf(dflt, sizeof dflt, "%s/secdet.json", env_or("LAMBDA_TASK_ROOT", "."));
        const char *cfg = env_or("SECDET_CONFIG", NULL);
        what = cfg ? cfg : dflt;
        text = read_file(what);
        if (!text && cfg) return seterr(err, errlen, "cannot read SECDET_CONFIG %s", cfg);
        if (text) {
            root = cJSON_Parse(text);
            arr = cJSON_GetObjectItemCaseSensitive(root, "sinks");
            if (root && !arr) arr = cJSON_CreateArray(), cJSON_AddItemToObject(root, "sinks", (cJSON *)arr);
        }
    }
    free(text);
    int rc = 0;
    if (root && !cJSON_IsArray(arr)) {
        rc = seterr(err, errlen, "%s: \"sinks\" must be an array of sink objects", what);
    } else if (!root && strcmp(what, "SECDET_SINKS") == 0) {
        rc = seterr(err, errlen, "SECDET_SINKS is not valid JSON");
    } else if (arr && cJSON_GetArraySize(arr) > 0) {
        int i = 0;
        const cJSON *s;
        cJSON_ArrayForEach(s, arr) {
            char *json = cJSON_PrintUnformatted(s);
            secdet_sink *sink = NULL;
            secdet_diagnostics *d = NULL;
            secdet_status st = json ? secdet_sink_from_json(json, strlen(json), &sink, &d) : SECDET_ERR_NOMEM;
            cJSON_free(json);
            char *t = secdet_diagnostics_count(d) ? secdet_diagnostics_format(d, 0) : NULL;
            secdet_diagnostics_free(d);
            if (st == SECDET_OK) st = secdet_sink_add(e, sink);
            if (st != SECDET_OK) {
                seterr(err, errlen, "%s: sinks[%d]: %s", what, i, t ? t : secdet_strerror(st));
                secdet_free(t);
                rc = -1;
                break;
            }
            secdet_free(t);
            i++;
        }
    } else {
        secdet_sink *sink = NULL;
        secdet_status st = secdet_sink_stdout(NULL, &sink);
        if (st == SECDET_OK) st = secdet_sink_add(e, sink);
        if (st != SECDET_OK) rc = seterr(err, errlen, "stdout sink: %s", secdet_strerror(st));
    }
    cJSON_Delete(root);
    return rc;
}

static void invoke(lambda_ctx *ctx, lr_client *c, lr_invocation *inv) {
    if (inv->trace_id[0])
        setenv("_X_AMZN_TRACE_ID", inv->trace_id, 1);
    else
        unsetenv("_X_AMZN_TRACE_ID");
    ctx->deadline_ms = inv->deadline_ms;
    ctx->malformed_reports = 0;
    ctx->last_error[0] = 0;
    sd_buf_reset(&ctx->errors);
    secdet_stats before, after;
    secdet_stats_get(ctx->engine, &before);
    buf resp;
    sd_buf_init(&resp);
    char err[1024] = "";
    ev_result r = lambda_handle_event(ctx, inv->body.data, inv->body.len, &resp, err, sizeof err);
    /* Deliver before answering: the environment may be frozen afterwards. */
    int64_t left = lr_remaining_ms(inv->deadline_ms) - 300;
    secdet_status ds = secdet_drain(ctx->engine, left > 0 ? left : 0);
    secdet_stats_get(ctx->engine, &after);
    uint64_t pending = 0;
    for (size_t i = 0; i < secdet_sink_count(ctx->engine); i++) {
        secdet_sink_stats k;
        if (secdet_sink_stats_get(ctx->engine, i, &k) == SECDET_OK) pending += k.pending;
    }
    buf out;
    sd_buf_init(&out);
    sd_buf_printf(&out,
                  "{%s%s\"events\":%llu,\"alerts\":%llu,\"malformed\":%llu,\"undelivered\":%llu,\"drained\":%s,"
                  "\"malformed_reports\":[%s]}",
                  resp.data ? resp.data : "", resp.len ? "," : "", (unsigned long long)(after.events - before.events),
                  (unsigned long long)(after.alerts - before.alerts),
                  (unsigned long long)(after.malformed - before.malformed), (unsigned long long)pending,
                  ds == SECDET_OK ? "true" : "false", ctx->errors.data ? ctx->errors.data : "");
    fprintf(stderr, "bootstrap: %s\n", out.data ? out.data : "(out of memory)");
    if (r == EV_OK && !out.oom) {
        lr_respond(c, inv->request_id, out.data, out.len);
    } else {
        const char *type = r == EV_INVALID  ? "Runtime.InvalidEvent"
                           : r == EV_FAILED ? "Runtime.RecordsFailed"
                                            : "Runtime.OutOfMemory";
        fprintf(stderr, "bootstrap: %s: %s\n", type, err);
        lr_error(c, inv->request_id, type, err[0] ? err : "out of memory");
    }
    sd_buf_free(&out);
    sd_buf_free(&resp);
}

/* SECDET_S3_LOG_TYPES: {"key prefix": "log type", ...}; each log type's
 * source is added (format auto, that log type). */
static int add_s3_log_types(secdet_engine *e, cJSON **out, char *err, size_t errlen) {
    const char *text = getenv("SECDET_S3_LOG_TYPES");
    *out = NULL;
    if (!text || !*text) return 0;
    cJSON *m = cJSON_Parse(text);
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        return seterr(err, errlen, "SECDET_S3_LOG_TYPES: expected a JSON object of key prefix -> log type");
    }
    for (const cJSON *t = m->child; t; t = t->next) {
        secdet_source_opts so = {.format = SECDET_FMT_AUTO, .log_type = cJSON_IsString(t) ? t->valuestring : ""};
        secdet_status st = cJSON_IsString(t) ? secdet_source_add(e, t->valuestring, &so) : SECDET_ERR_INVALID_ARG;
        if (st != SECDET_OK && st != SECDET_ERR_EXISTS) {
            int rc = seterr(err, errlen, "SECDET_S3_LOG_TYPES.%s: not a log type's name", t->string);
            cJSON_Delete(m); /* after: t->string is m's */
            return rc;
        }
    }
    *out = m;
    return 0;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    lr_client *c = lr_client_new(getenv("AWS_LAMBDA_RUNTIME_API"));
    if (!c) {
        fprintf(stderr, "bootstrap: AWS_LAMBDA_RUNTIME_API is not set\n");
        return 1;
    }
    lambda_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    sd_buf_init(&ctx.errors);
    ctx.source = env_or("SECDET_SOURCE", "cloudtrail");
    cJSON *s3_types = NULL;
    ctx.max_object_bytes = strtoull(env_or("SECDET_S3_MAX_BYTES", "268435456"), NULL, 10);
    ctx.fetch = fetch_s3;
    char err[1024] = "";
    int rc = 1;
    secdet_source_opts so = {.format = SECDET_FMT_AUTO, .log_type = env_or("SECDET_LOG_TYPE", "auto")};
    if (secdet_engine_new(NULL, &ctx.engine) != SECDET_OK) {
        lr_init_error(c, "Runtime.InitError", "cannot create the engine");
        goto out;
    }
    secdet_set_error_callback(ctx.engine, on_error, &ctx);
    if (load_rules(ctx.engine, err, sizeof err) != 0) {
        lr_init_error(c, "Runtime.RulesError", err);
        goto out;
    }
    if (add_sinks(ctx.engine, err, sizeof err) != 0) {
        lr_init_error(c, "Runtime.ConfigError", err);
        goto out;
    }
    if (secdet_source_add(ctx.engine, ctx.source, &so) != SECDET_OK) {
        snprintf(err, sizeof err, "cannot add the source %s (log type %s: SECDET_LOG_TYPE)", ctx.source, so.log_type);
        lr_init_error(c, "Runtime.InitError", err);
        goto out;
    }
    if (add_s3_log_types(ctx.engine, &s3_types, err, sizeof err) != 0) {
        lr_init_error(c, "Runtime.ConfigError", err);
        goto out;
    }
    ctx.s3_log_types = s3_types;
    fprintf(stderr, "bootstrap: ready, %zu rules, %zu sinks\n", secdet_rule_count(ctx.engine),
            secdet_sink_count(ctx.engine));
    lr_invocation inv;
    memset(&inv, 0, sizeof inv);
    sd_buf_init(&inv.body);
    while (lr_next(c, &inv) == 0) invoke(&ctx, c, &inv);
    sd_buf_free(&inv.body);
out:
    if (ctx.engine) secdet_drain(ctx.engine, 2000);
    secdet_engine_free(ctx.engine);
    cJSON_Delete(s3_types);
    sd_buf_free(&ctx.errors);
    lr_client_free(c);
    curl_global_cleanup();
    return rc;
}
