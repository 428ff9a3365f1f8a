/* lambda.h — shared declarations of the `bootstrap` Lambda custom runtime
 * (runtime.c: the Runtime API client; S3 GetObject is src/s3/'s; events.c: event
 * routing; main.c: setup and the invocation loop). Not a library interface. */
#ifndef SECDET_LAMBDA_H
#define SECDET_LAMBDA_H

#include <stdint.h>

#include "secdet.h"
#include "util/buf.h"

/* ---- runtime.c ---- */
typedef struct lr_invocation {
    char request_id[128];
    char trace_id[512];
    int64_t deadline_ms; /* Unix ms; 0 when the header was missing */
    buf body;
} lr_invocation;

typedef struct lr_client lr_client;
/* api: host:port of AWS_LAMBDA_RUNTIME_API. NULL on failure. */
lr_client *lr_client_new(const char *api);
void lr_client_free(lr_client *c);
/* Blocks (no timeout) for the next invocation. 0 on success. */
int lr_next(lr_client *c, lr_invocation *inv);
int lr_respond(lr_client *c, const char *request_id, const char *body, size_t len);
/* error_type: e.g. "Runtime.InvalidEvent"; message is put into the JSON body. */
int lr_error(lr_client *c, const char *request_id, const char *error_type, const char *message);
int lr_init_error(lr_client *c, const char *error_type, const char *message);

/* ---- events.c ---- */
/* Reads an S3 object, with sd_s3_get_object's contract (s3/s3.h): bootstrap's is
 * sd_s3_get_object itself; fuzz/fuzz_lambda.c has a store of its own, so the
 * router runs without a network. */
typedef int (*lambda_fetch_fn)(void *user, const char *bucket, const char *key, int64_t timeout_ms, uint64_t max_bytes,
                               buf *out, char *err, size_t errlen);

typedef struct lambda_ctx {
    secdet_engine *engine;
    const char *source; /* the source name rules use ("cloudtrail"); its format must be auto */
    /* S3 objects whose key starts with a prefix named here go to the source
     * of its log type (added by main.c): {"prefix": "log type", ...}
     * (SECDET_S3_LOG_TYPES); the longest prefix wins. NULL: none. */
    const struct cJSON *s3_log_types;
    uint64_t max_object_bytes;
    lambda_fetch_fn fetch;
    void *fetch_user;
    /* per invocation */
    int64_t deadline_ms;
    uint64_t malformed_reports;
    buf errors;           /* JSON array items of malformed-input reports */
    char last_error[256]; /* the last malformed-input report, "" when none */
} lambda_ctx;

typedef enum ev_result { EV_OK = 0, EV_INVALID = 1, EV_FAILED = 2 } ev_result;

/* Handles one event; writes the response's JSON members (no braces) into
 * resp, or a reason into err. EV_INVALID: not an event we know / not JSON;
 * EV_FAILED: a record failed (direct S3 / SNS) or out of time.
 * An EventBridge event or CloudWatch Logs payload is handed to the engine
 * whole, as one stream, so it is decoded exactly as the source's auto
 * format decodes it alone (the same events, the same malformed reports);
 * an S3 object likewise, once per record that names it. */
ev_result lambda_handle_event(lambda_ctx *ctx, const char *body, size_t len, buf *resp, char *err, size_t errlen);
/* Milliseconds until the deadline (a large value when there is none). */
int64_t lr_remaining_ms(int64_t deadline_ms);

#endif
