/*
 * events.c — routes one Lambda event to the engine.
 *
 *   {"detail-type": ..., "detail": ...}      EventBridge event -> pushed whole
 *   {"awslogs": {"data": ...}}               CloudWatch Logs subscription
 *   {"Records": [{"eventSource": "aws:s3"}]} S3 notification: GetObject each
 *   {"Records": [{"EventSource": "aws:sns"}]} SNS wrapping an S3 notification
 *   {"Records": [{"eventSource": "aws:sqs"}]} SQS batch; each body an S3
 *                                            notification, direct or in an SNS
 *                                            envelope; a failed message is a
 *                                            batchItemFailures entry
 *
 * Everything goes to one source (ctx->source, "cloudtrail" by default; its
 * log type "auto" by default, so each event goes on to the source of its
 * log type by its shape — CloudTrail records to "cloudtrail", a GuardDuty
 * finding in EventBridge to "guardduty"), except S3 objects whose key
 * starts with a prefix ctx->s3_log_types names (to that log type's
 * source). The source's format is auto: the stream's first key tells CloudTrail log files, CloudWatch
 * Logs payloads and EventBridge events apart, so the rules' `on cloudtrail`
 * sees every kind. An envelope is told apart here by the decoder's own test
 * (sd_aws_envelope_kind_text) and re-serialised compactly (one line) with the key
 * that names its kind first, so the decoder takes it for the same kind: an
 * EventBridge event whose first key is "Records" would otherwise be read as
 * a CloudTrail file.
 *
 * S3 objects are read through ctx->fetch (sd_s3_get_object in bootstrap), so
 * this file needs no network and is fuzzed as it is (fuzz/fuzz_lambda.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "alert/alert.h"
#include "event/decode_aws.h"
#include "lambda/lambda.h"
#include "util/buf.h"
#include "util/json.h"

#define MARGIN_MS 1000 /* kept back from the deadline for draining and responding */

int64_t lr_remaining_ms(int64_t deadline_ms) {
    if (deadline_ms <= 0) return INT64_MAX / 4;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return deadline_ms - now;
}

static const char *str_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Pushes one whole stream to `source`; returns 0, or -1 when nothing could be decoded. */
static int push_stream_to(lambda_ctx *ctx, const char *source, const char *bytes, size_t len, char *err,
                          size_t errlen) {
    secdet_stats before, after;
    secdet_stats_get(ctx->engine, &before);
    secdet_status st = secdet_push(ctx->engine, source, bytes, len);
    /* A sink cannot take more (its spool full, docs/sinks.md "Backpressure"):
     * wait for it within the deadline, then push the same bytes again. */
    while (st == SECDET_ERR_BUSY && lr_remaining_ms(ctx->deadline_ms) > MARGIN_MS) {
        (void)secdet_drain(ctx->engine, 100);
        st = secdet_push(ctx->engine, source, bytes, len);
    }
    secdet_status st2 = secdet_source_end(ctx->engine, source);
    if (st == SECDET_OK) st = st2;
    secdet_stats_get(ctx->engine, &after);
    if (st == SECDET_OK) return 0;
    if (st == SECDET_ERR_DECODE && after.events > before.events) return 0; /* partly malformed: counted */
    snprintf(err, errlen, "%s%s%s", secdet_strerror(st), ctx->last_error[0] ? ": " : "", ctx->last_error);
    return -1;
}

static int push_stream(lambda_ctx *ctx, const char *bytes, size_t len, char *err, size_t errlen) {
    return push_stream_to(ctx, ctx->source, bytes, len, err, errlen);
}

/* The source of an S3 object: the log type of the longest prefix of its key
 * in ctx->s3_log_types, else the context's. */
static const char *s3_source(const lambda_ctx *ctx, const char *key) {
    const char *best = ctx->source;
    size_t best_len = 0;
    for (const cJSON *m = ctx->s3_log_types ? ctx->s3_log_types->child : NULL; m; m = m->next) {
        size_t n = strlen(m->string);
        if (cJSON_IsString(m) && n >= best_len && strncmp(key, m->string, n) == 0) {
            best = m->valuestring;
            best_len = n;
        }
    }
    return best;
}

/* Pushes envelope j, its member `first` moved to the front (see the top).
 * Written by the alert JSON writer, which writes strings whole (U+0000
 * included, as sd_json_parse read them); cJSON's printer would cut them. */
static int push_envelope(lambda_ctx *ctx, cJSON *j, const char *first, char *err, size_t errlen) {
    cJSON *m = cJSON_DetachItemFromObjectCaseSensitive(j, first);
    if (m) {
        /* cJSON has no "insert at the front" for objects: link it by hand. */
        m->next = j->child;
        m->prev = j->child ? j->child->prev : m;
        if (j->child) j->child->prev = m;
        j->child = m;
    }
    buf text;
    sd_buf_init(&text);
    sd_alert_json_write(&text, j);
    if (text.oom || !text.data) {
        sd_buf_free(&text);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = push_stream(ctx, text.data, text.len, err, errlen);
    sd_buf_free(&text);
    return rc;
}

/* S3 keys in notifications are form-encoded ('+' is a space). NULL when
 * out of memory or when the key decodes to a NUL byte ("%00"): S3 keys
 * hold none, and a C string would name a shorter key. */
static char *url_decode(const char *s, bool *has_nul) {
    size_t n = strlen(s);
    char *o = malloc(n + 1), *w = o;
    *has_nul = false;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *w++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            *w = (char)strtol(hex, NULL, 16);
            if (*w++ == '\0') *has_nul = true;
            i += 2;
        } else {
            *w++ = s[i];
        }
    }
    *w = 0;
    if (*has_nul) {
        free(o);
        return NULL;
    }
    return o;
}

/* One S3 notification record: fetch the object and push it. */
static int do_s3_record(lambda_ctx *ctx, const cJSON *rec, char *err, size_t errlen) {
    const cJSON *s3 = cJSON_GetObjectItemCaseSensitive(rec, "s3");
    const char *bucket = str_of(cJSON_GetObjectItemCaseSensitive(s3, "bucket"), "name");
    const char *rawkey = str_of(cJSON_GetObjectItemCaseSensitive(s3, "object"), "key");
    if (!bucket || !rawkey) {
        snprintf(err, errlen, "S3 record without s3.bucket.name / s3.object.key");
        return -1;
    }
    const char *ename = str_of(rec, "eventName");
    if (ename && strncmp(ename, "ObjectCreated:", 14) != 0) return 0; /* deletions etc.: nothing to read */
    bool has_nul;
    char *key = url_decode(rawkey, &has_nul);
    if (!key) {
        snprintf(err, errlen, has_nul ? "S3 record: s3.object.key decodes to a NUL byte" : "out of memory");
        return -1;
    }
    buf obj;
    sd_buf_init(&obj);
    char why[256];
    int rc = ctx->fetch(ctx->fetch_user, bucket, key, lr_remaining_ms(ctx->deadline_ms) - MARGIN_MS,
                        ctx->max_object_bytes, &obj, why, sizeof why);
    if (rc != 0) {
        snprintf(err, errlen, "s3://%s/%s: %s", bucket, key, why);
    } else {
        rc = push_stream_to(ctx, s3_source(ctx, key), obj.data ? obj.data : "", obj.len, why, sizeof why);
        if (rc != 0) snprintf(err, errlen, "s3://%s/%s: %s", bucket, key, why);
    }
    sd_buf_free(&obj);
    free(key);
    return rc;
}

/* A JSON document holding an S3 notification, possibly in an SNS envelope
 * (SQS body, SNS Message). Test events (s3:TestEvent) are skipped. */
static int do_s3_notification_text(lambda_ctx *ctx, const char *text, char *err, size_t errlen, int depth) {
    cJSON *j = sd_json_parse(text, strlen(text), 0, NULL);
    if (!j) {
        snprintf(err, errlen, "message is not JSON");
        return -1;
    }
    int rc = 0;
    const char *type = str_of(j, "Type");
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(j, "Records");
    if (type && !strcmp(type, "Notification") && str_of(j, "Message") && depth < 2) {
        rc = do_s3_notification_text(ctx, str_of(j, "Message"), err, errlen, depth + 1);
    } else if (cJSON_IsArray(recs)) {
        const cJSON *r;
        cJSON_ArrayForEach(r, recs) {
            if (do_s3_record(ctx, r, err, errlen) != 0) rc = -1;
        }
    } else if (str_of(j, "Event") && !strcmp(str_of(j, "Event"), "s3:TestEvent")) {
        rc = 0;
    } else {
        snprintf(err, errlen, "message is not an S3 notification");
        rc = -1;
    }
    cJSON_Delete(j);
    return rc;
}

static void add_failure(buf *f, const char *id, const char *why) {
    if (f->len) sd_buf_putc(f, ',');
    sd_buf_puts(f, "{\"id\":");
    sd_buf_json_string(f, id, strlen(id));
    sd_buf_puts(f, ",\"error\":");
    sd_buf_json_string(f, why, strlen(why));
    sd_buf_putc(f, '}');
}

/* A Records array: S3, SNS or SQS. */
static ev_result do_records(lambda_ctx *ctx, const cJSON *recs, buf *resp, char *err, size_t errlen) {
    buf failures, batch;
    sd_buf_init(&failures);
    sd_buf_init(&batch);
    int is_sqs = 0, nrec = 0, nfail = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, recs) {
        char why[600] = "";
        const char *src = str_of(r, "eventSource");
        if (!src) src = str_of(r, "EventSource");
        const char *id = "";
        int rc;
        nrec++;
        if (src && !strcmp(src, "aws:sqs")) {
            is_sqs = 1;
            id = str_of(r, "messageId") ? str_of(r, "messageId") : "";
            const char *body = str_of(r, "body");
            if (lr_remaining_ms(ctx->deadline_ms) <= MARGIN_MS) {
                snprintf(why, sizeof why, "no time left before the deadline");
                rc = -1;
            } else {
                rc = body ? do_s3_notification_text(ctx, body, why, sizeof why, 0) : -1;
            }
            if (rc != 0) {
                if (batch.len) sd_buf_putc(&batch, ',');
                sd_buf_puts(&batch, "{\"itemIdentifier\":");
                sd_buf_json_string(&batch, id, strlen(id));
                sd_buf_putc(&batch, '}');
            }
        } else if (src && !strcmp(src, "aws:sns")) {
            const cJSON *sns = cJSON_GetObjectItemCaseSensitive(r, "Sns");
            id = str_of(sns, "MessageId") ? str_of(sns, "MessageId") : "";
            const char *msg = str_of(sns, "Message");
            rc = msg ? do_s3_notification_text(ctx, msg, why, sizeof why, 1) : -1;
        } else if (src && !strcmp(src, "aws:s3")) {
            const cJSON *obj = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "s3"), "object");
            id = str_of(obj, "key") ? str_of(obj, "key") : "";
            rc = do_s3_record(ctx, r, why, sizeof why);
        } else {
            snprintf(why, sizeof why, "record of unknown eventSource");
            rc = -1;
        }
        if (rc != 0) {
            nfail++;
            if (!why[0]) snprintf(why, sizeof why, "record failed");
            fprintf(stderr, "bootstrap: record %d: %s\n", nrec, why);
            add_failure(&failures, id, why);
        }
    }
    sd_buf_printf(resp, "\"kind\":\"%s\",\"records\":%d,\"failures\":[%s]", is_sqs ? "sqs" : "records", nrec,
                  failures.data ? failures.data : "");
    if (is_sqs) sd_buf_printf(resp, ",\"batchItemFailures\":[%s]", batch.data ? batch.data : "");
    sd_buf_free(&failures);
    sd_buf_free(&batch);
    /* SQS: partial failures are reported in the response. Direct S3 / SNS:
     * a failure is an error, so Lambda retries the asynchronous event. */
    if (!is_sqs && nfail) {
        snprintf(err, errlen, "%d of %d records failed", nfail, nrec);
        return EV_FAILED;
    }
    return EV_OK;
}

ev_result lambda_handle_event(lambda_ctx *ctx, const char *body, size_t len, buf *resp, char *err, size_t errlen) {
    cJSON *j = sd_json_parse(body ? body : "", len, 0, NULL);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(err, errlen, "the event is not a JSON object");
        return EV_INVALID;
    }
    ev_result res = EV_OK;
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(j, "Records");
    dec_format kind = sd_aws_envelope_kind_text(body, len); /* j parsed: the same answer as its tree's */
    if (kind == DEC_EVENTBRIDGE) {
        sd_buf_puts(resp, "\"kind\":\"eventbridge\"");
        if (push_envelope(ctx, j, "detail-type", err, errlen) != 0) res = EV_INVALID;
    } else if (kind == DEC_CLOUDWATCH_LOGS) {
        sd_buf_puts(resp, "\"kind\":\"cloudwatch-logs\"");
        const char *first = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "awslogs")) ? "awslogs" : "messageType";
        if (push_envelope(ctx, j, first, err, errlen) != 0) res = EV_INVALID;
    } else if (cJSON_IsArray(recs) && cJSON_GetArraySize(recs) > 0) {
        res = do_records(ctx, recs, resp, err, errlen);
    } else {
        snprintf(err, errlen, "unknown event: not EventBridge, CloudWatch Logs, S3, SNS or SQS");
        res = EV_INVALID;
    }
    cJSON_Delete(j);
    return res;
}
