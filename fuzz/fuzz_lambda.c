/* fuzz_lambda.c — libFuzzer target: the Lambda runtime's event router
 * (src/lambda/events.c, lambda_handle_event) over a real engine, with an S3
 * store of its own instead of the network.
 *
 * Input: byte 0: bit 0 a deadline already passed; bit 1 objects limited to
 * 64 bytes. Then the invocation's event (JSON: EventBridge, CloudWatch
 * Logs, S3, SNS, SQS, anything), and after a NUL byte, when there is one,
 * the bytes of every S3 object (else OBJECT below). The store fails keys
 * that begin with "fail" (as a missing object) and objects over the limit.
 *
 * Properties:
 *  - the response members, in braces, are a JSON object whose "kind" is the
 *    router's verdict; for Records: "records" counts them, "failures"
 *    lists each failed one (id, error), SQS's "batchItemFailures" names
 *    failed SQS messages only, and a failure makes a direct S3/SNS event
 *    EV_FAILED, never an SQS batch; EV_INVALID always says why;
 *  - every store key is a C string of what the record named (no NUL
 *    decoded into it);
 *  - what the router hands the engine is what the decoder makes of it
 *    alone: for an EventBridge event or a CloudWatch payload, the same
 *    events and malformed reports as the event's JSON pushed by itself in
 *    the eventbridge / cloudwatch-logs format; for S3 records, every object
 *    read once and in whole: events and malformed reports equal to the
 *    object's, pushed alone, times the objects read.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lambda/lambda.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) __builtin_trap();                                                                                 \
    } while (0)

static const char RULES[] = "rule r { where exists .eventName }\n";
static const char OBJECT[] = "{\"Records\":[{\"eventName\":\"ConsoleLogin\",\"eventTime\":\"2024-03-14T09:00:00Z\"},"
                             "{\"eventName\":\"StopLogging\"},\"not an object\"]}";

typedef struct store {
    const char *object;
    size_t len;
    unsigned reads, fetches;
} store;

static int fetch(void *user, const char *bucket, const char *key, int64_t timeout_ms, uint64_t max_bytes, buf *out,
                 char *err, size_t errlen) {
    store *st = user;
    (void)timeout_ms;
    CHECK(bucket && key);
    st->fetches++;
    if (strncmp(key, "fail", 4) == 0) {
        snprintf(err, errlen, "GetObject: HTTP 404 (no such key)");
        return -1;
    }
    if (st->len > max_bytes) {
        snprintf(err, errlen, "object larger than %llu bytes", (unsigned long long)max_bytes);
        return -1;
    }
    sd_buf_append(out, st->object, st->len);
    st->reads++;
    return 0;
}

static void on_error(void *user, const char *source, uint64_t where, const char *message) {
    lambda_ctx *ctx = user;
    (void)source;
    (void)where;
    CHECK(message);
    snprintf(ctx->last_error, sizeof ctx->last_error, "%s", message);
}

static secdet_engine *engine_with_source(secdet_format fmt, const char *source) {
    secdet_engine *e = NULL;
    if (secdet_engine_new(NULL, &e) != SECDET_OK) return NULL;
    secdet_source_opts so = {.format = fmt};
    if (secdet_load_rules_string(e, "r.secdet", RULES, sizeof RULES - 1, NULL) != SECDET_OK ||
        secdet_source_add(e, source, &so) != SECDET_OK)
        __builtin_trap();
    return e;
}

/* Events and malformed reports of bytes pushed alone as one stream of fmt. */
static void alone(secdet_format fmt, const char *bytes, size_t len, uint64_t *events, uint64_t *malformed) {
    secdet_engine *e = engine_with_source(fmt, "alone");
    CHECK(e);
    (void)secdet_push(e, "alone", bytes, len);
    (void)secdet_source_end(e, "alone");
    secdet_stats st;
    CHECK(secdet_stats_get(e, &st) == SECDET_OK);
    *events = st.events;
    *malformed = st.malformed;
    secdet_engine_free(e);
}

static const char *str_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Whether the response's id names messageId mid: the same text, once the
 * response's JSON has replaced the bytes that are not UTF-8 by U+FFFD. */
static bool names(const char *id, const char *mid) {
    buf b;
    sd_buf_init(&b);
    sd_buf_json_string(&b, mid, strlen(mid));
    CHECK(!b.oom);
    cJSON *s = sd_json_parse(b.data, b.len, 0, NULL);
    CHECK(cJSON_IsString(s));
    bool same = strcmp(s->valuestring, id) == 0;
    cJSON_Delete(s);
    sd_buf_free(&b);
    return same;
}

/* Failed SQS records at most, each named by a messageId of an SQS record. */
static void check_batch_failures(const cJSON *batch, const cJSON *recs) {
    CHECK(cJSON_IsArray(batch));
    const cJSON *b;
    cJSON_ArrayForEach(b, batch) {
        const char *id = str_of(b, "itemIdentifier");
        CHECK(id);
        bool found = false;
        const cJSON *r;
        cJSON_ArrayForEach(r, recs) {
            const char *src = str_of(r, "eventSource") ? str_of(r, "eventSource") : str_of(r, "EventSource");
            if (src && strcmp(src, "aws:sqs") == 0) {
                const char *mid = str_of(r, "messageId") ? str_of(r, "messageId") : "";
                found = found || names(id, mid);
            }
        }
        CHECK(found);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1u << 20)) return 0;
    const char *event = (const char *)data + 1;
    size_t elen = size - 1;
    store st = {OBJECT, sizeof OBJECT - 1, 0, 0};
    const char *nul = memchr(event, '\0', elen);
    if (nul) {
        st.object = nul + 1;
        st.len = elen - (size_t)(nul + 1 - event);
        elen = (size_t)(nul - event);
    }

    lambda_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    sd_buf_init(&ctx.errors);
    ctx.source = "cloudtrail";
    ctx.max_object_bytes = data[0] & 2 ? 64 : 1u << 20;
    ctx.fetch = fetch;
    ctx.fetch_user = &st;
    ctx.deadline_ms = data[0] & 1 ? 1 : 0;
    ctx.engine = engine_with_source(SECDET_FMT_AUTO, ctx.source);
    if (!ctx.engine) return 0;
    secdet_set_error_callback(ctx.engine, on_error, &ctx);

    buf resp;
    sd_buf_init(&resp);
    char err[1024];
    err[0] = '\0';
    ev_result r = lambda_handle_event(&ctx, event, elen, &resp, err, sizeof err);
    CHECK(r == EV_OK || r == EV_INVALID || r == EV_FAILED);
    CHECK(memchr(err, '\0', sizeof err));
    if (r != EV_OK) CHECK(err[0]);
    secdet_stats after;
    CHECK(secdet_stats_get(ctx.engine, &after) == SECDET_OK);

    buf text;
    sd_buf_init(&text);
    sd_buf_printf(&text, "{%s}", resp.data ? resp.data : "");
    CHECK(!text.oom);
    cJSON *out = sd_json_parse(text.data, text.len, 0, NULL);
    CHECK(cJSON_IsObject(out));
    const char *kind = str_of(out, "kind");
    cJSON *j = sd_json_parse(event, elen, 0, NULL);
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(j, "Records");
    uint64_t events = 0, malformed = 0;

    if (!kind) {
        CHECK(r == EV_INVALID && st.fetches == 0 && after.events == 0 && after.malformed == 0);
    } else if (strcmp(kind, "eventbridge") == 0 || strcmp(kind, "cloudwatch-logs") == 0) {
        /* The envelope is decoded as its format decodes it alone. */
        CHECK(cJSON_IsObject(j) && st.fetches == 0);
        char *compact = cJSON_PrintUnformatted(j);
        CHECK(compact);
        alone(kind[0] == 'e' ? SECDET_FMT_EVENTBRIDGE : SECDET_FMT_CLOUDWATCH_LOGS, compact, strlen(compact), &events,
              &malformed);
        cJSON_free(compact);
        CHECK(after.events == events && after.malformed == malformed);
        CHECK(r == (events > 0 || malformed == 0 ? EV_OK : EV_INVALID));
    } else {
        CHECK(strcmp(kind, "records") == 0 || strcmp(kind, "sqs") == 0);
        CHECK(cJSON_IsArray(recs) && cJSON_GetArraySize(recs) > 0);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(out, "records");
        CHECK(cJSON_IsNumber(n) && n->valueint == cJSON_GetArraySize(recs));
        const cJSON *failures = cJSON_GetObjectItemCaseSensitive(out, "failures");
        CHECK(cJSON_IsArray(failures) && cJSON_GetArraySize(failures) <= cJSON_GetArraySize(recs));
        const cJSON *f;
        cJSON_ArrayForEach(f, failures) CHECK(str_of(f, "id") && str_of(f, "error") && str_of(f, "error")[0]);
        const cJSON *batch = cJSON_GetObjectItemCaseSensitive(out, "batchItemFailures");
        if (strcmp(kind, "sqs") == 0) {
            check_batch_failures(batch, recs);
            CHECK(cJSON_GetArraySize(batch) <= cJSON_GetArraySize(failures));
            CHECK(r == EV_OK);
        } else {
            CHECK(batch == NULL);
            CHECK(r == (cJSON_GetArraySize(failures) > 0 ? EV_FAILED : EV_OK));
        }
        CHECK(st.reads <= st.fetches);
        /* Every object read was handed on whole, once. */
        if (st.reads) alone(SECDET_FMT_AUTO, st.object, st.len, &events, &malformed);
        CHECK(after.events == events * st.reads && after.malformed == malformed * st.reads);
    }
    cJSON_Delete(j);
    cJSON_Delete(out);
    sd_buf_free(&text);
    sd_buf_free(&resp);
    sd_buf_free(&ctx.errors);
    secdet_engine_free(ctx.engine);
    return 0;
}
