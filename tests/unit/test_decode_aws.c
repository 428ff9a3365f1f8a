/* test_decode_aws.c — CloudWatch Logs and EventBridge formats (payload and
 * decoded form, broken base64 and gzip, wrong envelopes, control messages,
 * event time, the cap on a payload's decompressed size), auto-detection of
 * both, custom formats registered by the embedding program, and replacing
 * the ruleset (secdet_reload_rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "event/decode.h"
#include "secdet.h"
#include "util/buf.h"

/* ---- helpers -------------------------------------------------------------- */

typedef struct collector {
    buf log;
    int events, errors;
} collector;

static int on_event(void *user, const cJSON *event, uint64_t where) {
    collector *c = user;
    char *json = cJSON_PrintUnformatted(event);
    sd_buf_printf(&c->log, "E%llu %s\n", (unsigned long long)where, json ? json : "?");
    free(json);
    c->events++;
    return 0;
}

static void on_error(void *user, uint64_t where, const char *message) {
    collector *c = user;
    sd_buf_printf(&c->log, "X%llu %s\n", (unsigned long long)where, message);
    c->errors++;
}

/* Decodes `text` as one stream (fed in two pieces, to cross a boundary) and
 * returns the log; counts in *c. */
static char *decode(dec_format fmt, const char *text, size_t len, collector *c) {
    memset(c, 0, sizeof *c);
    sd_buf_init(&c->log);
    sd_buf_puts(&c->log, "");
    decoder *d = sd_decoder_new(fmt, NULL);
    assert_non_null(d);
    decode_sink sink = {.on_event = on_event, .on_error = on_error, .user = c};
    size_t half = len / 2;
    assert_int_equal(sd_decoder_feed(d, text, half, &sink), 0);
    assert_int_equal(sd_decoder_feed(d, text + half, len - half, &sink), 0);
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    sd_decoder_free(d);
    return sd_buf_steal(&c->log);
}

static char *decode_str(dec_format fmt, const char *text, collector *c) { return decode(fmt, text, strlen(text), c); }

/* gzip of text, cut to `keep` bytes when keep > 0, then base64. Caller frees. */
static char *gzip_base64(const char *text, size_t keep) {
    unsigned char gz[8192];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (unsigned char *)(uintptr_t)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = gz;
    zs.avail_out = sizeof gz;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = sizeof gz - zs.avail_out;
    deflateEnd(&zs);
    if (keep) n = keep;
    char *b64 = malloc(n / 3 * 4 + 8);
    assert_non_null(b64);
    EVP_EncodeBlock((unsigned char *)b64, gz, (int)n);
    return b64;
}

static char *payload(const char *inner_json, size_t keep) {
    char *b64 = gzip_base64(inner_json, keep);
    buf b;
    sd_buf_init(&b);
    sd_buf_printf(&b, "{\"awslogs\": {\"data\": \"%s\"}}", b64);
    free(b64);
    return sd_buf_steal(&b);
}

static const char CW_DATA[] =
    "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":\"trail\","
    "\"logStream\":\"s1\",\"subscriptionFilters\":[\"f\"],\"logEvents\":["
    "{\"id\":\"1\",\"timestamp\":1700000000000,\"message\":\"{\\\"eventName\\\":\\\"A\\\"}\"},"
    "{\"id\":\"2\",\"timestamp\":1700000001500,\"message\":\"{\\\"eventName\\\":\\\"B\\\"}\"}]}";

static const char CW_EXPECT[] =
    "E1 {\"eventName\":\"A\",\"_cloudwatch\":{\"logGroup\":\"trail\",\"logStream\":\"s1\",\"owner\":\"123456789012\","
    "\"subscriptionFilters\":[\"f\"],\"id\":\"1\",\"timestamp\":1700000000000,\"time\":\"2023-11-14T22:13:20Z\"}}\n"
    "E2 {\"eventName\":\"B\",\"_cloudwatch\":{\"logGroup\":\"trail\",\"logStream\":\"s1\",\"owner\":\"123456789012\","
    "\"subscriptionFilters\":[\"f\"],\"id\":\"2\",\"timestamp\":1700000001500,\"time\":\"2023-11-14T22:13:21.500Z\"}}"
    "\n";

/* ---- CloudWatch Logs ----------------------------------------------------------- */

static void test_cloudwatch_payload_yields_one_event_per_log_event(void **state) {
    (void)state;
    char *p = payload(CW_DATA, 0);
    collector c;
    char *log = decode_str(DEC_CLOUDWATCH_LOGS, p, &c);
    assert_string_equal(log, CW_EXPECT);
    free(log);
    free(p);
}

static void test_cloudwatch_decoded_form_gives_the_same_events(void **state) {
    (void)state;
    collector c;
    char *log = decode_str(DEC_CLOUDWATCH_LOGS, CW_DATA, &c);
    assert_string_equal(log, CW_EXPECT);
    free(log);
}

static void test_cloudwatch_several_payloads_in_one_stream(void **state) {
    (void)state;
    char *p = payload(CW_DATA, 0);
    buf b;
    sd_buf_init(&b);
    sd_buf_printf(&b, "%s\n%s\n", p, CW_DATA);
    collector c;
    char *log = decode(DEC_CLOUDWATCH_LOGS, b.data, b.len, &c);
    assert_int_equal(c.events, 4);
    assert_int_equal(c.errors, 0);
    free(log);
    free(p);
    sd_buf_free(&b);
}

static void test_cloudwatch_control_message_is_skipped_silently(void **state) {
    (void)state;
    char *p = payload("{\"messageType\":\"CONTROL_MESSAGE\",\"logGroup\":\"\",\"logEvents\":"
                      "[{\"id\":\"\",\"timestamp\":1,\"message\":\"CWL CONTROL MESSAGE: Checking health\"}]}",
                      0);
    collector c;
    char *log = decode_str(DEC_CLOUDWATCH_LOGS, p, &c);
    assert_string_equal(log, "");
    free(log);
    free(p);
}

static void test_cloudwatch_message_not_an_object_is_malformed_with_its_index(void **state) {
    (void)state;
    const char *doc = "{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":["
                      "{\"id\":\"1\",\"timestamp\":1,\"message\":\"{\\\"a\\\":1}\"},"
                      "{\"id\":\"2\",\"timestamp\":2,\"message\":\"plain text line\"},"
                      "{\"id\":\"3\",\"timestamp\":3,\"message\":\"[1,2]\"},"
                      "{\"id\":\"4\",\"timestamp\":4,\"message\":\"{\\\"b\\\":2}\"}]}";
    collector c;
    char *log = decode_str(DEC_CLOUDWATCH_LOGS, doc, &c);
    assert_int_equal(c.events, 2);
    assert_int_equal(c.errors, 2);
    assert_non_null(strstr(log, "X2 document 1: logEvents[1]: message: invalid JSON\n"));
    assert_non_null(strstr(log, "X3 document 1: logEvents[2]: message: not a JSON object\n"));
    assert_non_null(strstr(log, "E4 {\"b\":2,"));
    free(log);
}

static void test_cloudwatch_truncated_gzip_is_reported(void **state) {
    (void)state;
    char *p = payload(CW_DATA, 30);
    collector c;
    char *log = decode_str(DEC_CLOUDWATCH_LOGS, p, &c);
    assert_string_equal(log, "X1 document 1: awslogs.data: truncated gzip data\n");
    free(log);
    free(p);
}

static void test_cloudwatch_corrupt_gzip_is_reported(void **state) {
    (void)state;
    /* base64 of 1f 8b 08 00 then garbage */
    const char *doc = "{\"awslogs\":{\"data\":\"H4sIAP////////////////8=\"}}";
    collector c;
    char *log = decode_str(DEC_CLOUDWATCH_LOGS, doc, &c);
    assert_int_equal(c.errors, 1);
    assert_int_equal(c.events, 0);
    assert_non_null(strstr(log, "awslogs.data: corrupt gzip data"));
    free(log);
}

static void test_cloudwatch_bad_base64_is_reported(void **state) {
    (void)state;
    collector c;
    char *log = decode_str(DEC_CLOUDWATCH_LOGS, "{\"awslogs\":{\"data\":\"not*base64!\"}}", &c);
    assert_string_equal(log, "X1 document 1: awslogs.data: invalid base64\n");
    free(log);
    log = decode_str(DEC_CLOUDWATCH_LOGS, "{\"awslogs\":{\"data\":\"H4sIA\"}}", &c); /* not a multiple of 4 */
    assert_string_equal(log, "X1 document 1: awslogs.data: invalid base64\n");
    free(log);
}

static void test_cloudwatch_wrong_envelope_is_reported(void **state) {
    (void)state;
    collector c;
    char *log = decode_str(DEC_CLOUDWATCH_LOGS, "{\"Records\":[{\"a\":1}]}", &c);
    assert_string_equal(log, "X1 document 1: not a CloudWatch Logs payload: no \"logEvents\" array\n");
    free(log);
    log = decode_str(DEC_CLOUDWATCH_LOGS, "{\"awslogs\":{\"date\":\"x\"}}", &c);
    assert_string_equal(log, "X1 document 1: not a CloudWatch Logs payload: no \"awslogs.data\" string\n");
    free(log);
    log = decode_str(DEC_CLOUDWATCH_LOGS, "{\"awslogs\": [", &c);
    assert_string_equal(log, "X1 document 1: invalid JSON near byte 13\n");
    free(log);
}

static void test_cloudwatch_message_over_the_size_limit_is_rejected(void **state) {
    (void)state;
    decode_limits lim = {.max_event_bytes = 12, .max_depth = 0};
    decoder *d = sd_decoder_new(DEC_CLOUDWATCH_LOGS, &lim);
    collector c;
    memset(&c, 0, sizeof c);
    sd_buf_init(&c.log);
    decode_sink sink = {.on_event = on_event, .on_error = on_error, .user = &c};
    const char *doc = "{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":["
                      "{\"message\":\"{\\\"a\\\":1}\"},{\"message\":\"{\\\"abcdefgh\\\":12345}\"}]}";
    assert_int_equal(sd_decoder_feed(d, doc, strlen(doc), &sink), 0);
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    assert_int_equal(c.events, 1);
    assert_non_null(strstr(c.log.data, "X2 document 1: logEvents[1]: message longer than 12 bytes"));
    sd_buf_free(&c.log);
    sd_decoder_free(d);
}

/* A CloudWatch payload holding one log event, padded with whitespace inside
 * its JSON to exactly `total` bytes, gzipped (level 9: ~1000 to 1) and
 * base64'd into {"awslogs":{"data":...}}. Caller frees. */
static char *padded_payload(size_t total) {
    static const char head[] =
        "{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":["
        "{\"id\":\"1\",\"timestamp\":1700000000000,\"message\":\"{\\\"eventName\\\":\\\"A\\\"}\"}";
    static const char tail[] = "]}";
    size_t fixed = sizeof head - 1 + sizeof tail - 1;
    assert_true(total >= fixed);
    char *json = malloc(total);
    assert_non_null(json);
    memcpy(json, head, sizeof head - 1);
    memset(json + sizeof head - 1, ' ', total - fixed);
    memcpy(json + total - (sizeof tail - 1), tail, sizeof tail - 1);
    uLong cap = compressBound((uLong)total) + 32;
    unsigned char *gz = malloc(cap);
    assert_non_null(gz);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (unsigned char *)json;
    zs.avail_in = (uInt)total;
    zs.next_out = gz;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    free(json);
    char *b64 = malloc(n / 3 * 4 + 8);
    assert_non_null(b64);
    EVP_EncodeBlock((unsigned char *)b64, gz, (int)n);
    free(gz);
    buf b;
    sd_buf_init(&b);
    sd_buf_printf(&b, "{\"awslogs\":{\"data\":\"%s\"}}", b64);
    free(b64);
    return sd_buf_steal(&b);
}

/* Decodes one CloudWatch document with max_event_bytes `max_event` (0: the
 * default); the log in *log (caller frees). */
static void decode_with_limit(const char *doc, size_t max_event, collector *c, char **log) {
    memset(c, 0, sizeof *c);
    sd_buf_init(&c->log);
    sd_buf_puts(&c->log, "");
    decode_limits lim = {.max_event_bytes = max_event, .max_depth = 0};
    decoder *d = sd_decoder_new(DEC_CLOUDWATCH_LOGS, &lim);
    assert_non_null(d);
    decode_sink sink = {.on_event = on_event, .on_error = on_error, .user = c};
    assert_int_equal(sd_decoder_feed(d, doc, strlen(doc), &sink), 0);
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    sd_decoder_free(d);
    *log = sd_buf_steal(&c->log);
}

static void test_cloudwatch_payload_decompressing_past_8_mib_is_malformed(void **state) {
    (void)state;
    const size_t mib = 1024 * 1024;
    collector c;
    char *log;
    /* At the cap (8 x the default 1 MiB max_event_bytes): decoded. */
    char *p = padded_payload(8 * mib);
    decode_with_limit(p, 0, &c, &log);
    assert_int_equal(c.errors, 0);
    assert_int_equal(c.events, 1);
    free(log);
    free(p);
    /* One byte more: a gzip bomb of a few KB, refused before its JSON is parsed. */
    p = padded_payload(8 * mib + 1);
    assert_true(strlen(p) < 16 * 1024);
    decode_with_limit(p, 0, &c, &log);
    assert_string_equal(log,
                        "X1 document 1: awslogs.data: decompresses to more than 8388608 bytes (a payload's limit)\n");
    assert_int_equal(c.events, 0);
    free(log);
    free(p);
}

static void test_cloudwatch_payload_cap_follows_max_event_bytes(void **state) {
    (void)state;
    const size_t mib = 1024 * 1024;
    collector c;
    char *log;
    /* 4 MiB events: payloads up to 32 MiB. */
    char *p = padded_payload(20 * mib);
    decode_with_limit(p, 4 * mib, &c, &log);
    assert_int_equal(c.errors, 0);
    assert_int_equal(c.events, 1);
    free(log);
    free(p);
    p = padded_payload(32 * mib + 1);
    decode_with_limit(p, 4 * mib, &c, &log);
    assert_non_null(strstr(log, "decompresses to more than 33554432 bytes"));
    free(log);
    free(p);
    /* Small events: 8 MiB still, unless the document limit (64 x 64 KiB) is lower. */
    p = padded_payload(4 * mib + 1);
    decode_with_limit(p, 64 * 1024, &c, &log);
    assert_non_null(strstr(log, "decompresses to more than 4194304 bytes"));
    free(log);
    free(p);
}

/* ---- EventBridge ----------------------------------------------------------------- */

static const char EB_DOC[] =
    "{\"version\":\"0\",\"id\":\"e-1\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.iam\","
    "\"account\":\"123456789012\",\"time\":\"2024-03-01T10:00:00Z\",\"region\":\"us-east-1\",\"resources\":[],"
    "\"detail\":{\"eventName\":\"CreateUser\",\"eventTime\":\"2024-03-01T09:59:58Z\"}}";

static void test_eventbridge_event_is_detail_with_the_envelope_beside(void **state) {
    (void)state;
    collector c;
    char *log = decode_str(DEC_EVENTBRIDGE, EB_DOC, &c);
    assert_string_equal(log, "E1 {\"eventName\":\"CreateUser\",\"eventTime\":\"2024-03-01T09:59:58Z\","
                             "\"_eventbridge\":{\"version\":\"0\",\"id\":\"e-1\",\"detail-type\":\"AWS API Call via "
                             "CloudTrail\",\"source\":\"aws.iam\",\"account\":\"123456789012\",\"time\":"
                             "\"2024-03-01T10:00:00Z\",\"region\":\"us-east-1\",\"resources\":[]}}\n");
    free(log);
}

static void test_eventbridge_wrong_envelope_is_reported_and_the_rest_goes_on(void **state) {
    (void)state;
    buf b;
    sd_buf_init(&b);
    sd_buf_printf(&b, "{\"detail-type\":\"x\",\"detail\":\"str\"}\n{\"Records\":[]}\n[1]\n%s\n", EB_DOC);
    collector c;
    char *log = decode(DEC_EVENTBRIDGE, b.data, b.len, &c);
    assert_int_equal(c.events, 1);
    assert_int_equal(c.errors, 3);
    assert_non_null(strstr(log, "X1 document 1: not an EventBridge event: no \"detail\" object\n"));
    assert_non_null(strstr(log, "X2 document 2: not an EventBridge event: no \"detail-type\" string\n"));
    assert_non_null(strstr(log, "X3 document 3: not a JSON object\n"));
    assert_non_null(strstr(log, "E4 {\"eventName\":\"CreateUser\""));
    free(log);
    sd_buf_free(&b);
}

/* ---- auto-detection ----------------------------------------------------------------- */

static void test_auto_detects_cloudwatch_payload_and_unwraps_eventbridge_lines(void **state) {
    (void)state;
    char *p = payload(CW_DATA, 0);
    collector c;
    char *log = decode_str(DEC_AUTO, p, &c);
    assert_string_equal(log, CW_EXPECT);
    free(log);
    log = decode_str(DEC_AUTO, CW_DATA, &c); /* first key messageType */
    assert_string_equal(log, CW_EXPECT);
    free(log);
    buf b;
    sd_buf_init(&b);
    sd_buf_printf(&b, "{\"plain\":1}\n%s\n", EB_DOC);
    log = decode(DEC_AUTO, b.data, b.len, &c);
    assert_int_equal(c.events, 2);
    assert_non_null(strstr(log, "E1 {\"plain\":1}\nE2 {\"eventName\":\"CreateUser\""));
    free(log);
    sd_buf_free(&b);
    free(p);
}

/* ---- through the engine: time, sources, custom formats, reload --------------------- */

typedef struct alerts {
    int n;
    int64_t time_ns[16];
    char *rule[16];
    int errors;
    char last_error[256];
} alerts;

static void on_alert(void *user, const secdet_alert *a) {
    alerts *al = user;
    if (al->n < 16) {
        al->time_ns[al->n] = secdet_alert_time_ns(a);
        al->rule[al->n] = strdup(secdet_alert_rule(a));
    }
    al->n++;
}

static void on_engine_error(void *user, const char *source, uint64_t where, const char *message) {
    (void)source;
    (void)where;
    alerts *al = user;
    al->errors++;
    snprintf(al->last_error, sizeof al->last_error, "%s", message);
}

static void alerts_free(alerts *al) {
    for (int i = 0; i < al->n && i < 16; i++) free(al->rule[i]);
    memset(al, 0, sizeof *al);
}

static secdet_engine *engine_with(const char *rules, alerts *al) {
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    assert_int_equal(secdet_load_rules_string(e, "t.secdet", rules, strlen(rules), NULL), SECDET_OK);
    secdet_set_alert_callback(e, on_alert, al);
    secdet_set_error_callback(e, on_engine_error, al);
    return e;
}

static void test_eventbridge_time_comes_from_the_envelope(void **state) {
    (void)state;
    alerts al = {0};
    secdet_engine *e = engine_with("rule create_user { where .eventName == \"CreateUser\" and "
                                   "._eventbridge.account == \"123456789012\" }\n",
                                   &al);
    secdet_source_opts o = {.format = SECDET_FMT_EVENTBRIDGE};
    assert_int_equal(secdet_source_add(e, "eb", &o), SECDET_OK);
    assert_int_equal(secdet_push(e, "eb", EB_DOC, strlen(EB_DOC) - 1), SECDET_OK);
    assert_int_equal(al.n, 0); /* the document is not complete yet */
    assert_int_equal(secdet_push(e, "eb", EB_DOC + strlen(EB_DOC) - 1, 1), SECDET_OK);
    assert_int_equal(al.n, 1); /* as soon as it is */
    assert_int_equal(secdet_source_end(e, "eb"), SECDET_OK);
    assert_int_equal(al.n, 1);
    assert_int_equal(al.time_ns[0], INT64_C(1709287200) * 1000000000); /* 2024-03-01T10:00:00Z, not eventTime */
    alerts_free(&al);
    secdet_engine_free(e);
}

static void test_cloudwatch_time_is_the_log_event_timestamp_by_default(void **state) {
    (void)state;
    alerts al = {0};
    secdet_engine *e = engine_with("rule b { where .eventName == \"B\" }\n", &al);
    secdet_source_opts o = {.format_name = "cloudwatch-logs"};
    assert_int_equal(secdet_source_add(e, "cw", &o), SECDET_OK);
    char *p = payload(CW_DATA, 0);
    assert_int_equal(secdet_push(e, "cw", p, strlen(p)), SECDET_OK);
    assert_int_equal(secdet_source_end(e, "cw"), SECDET_OK);
    assert_int_equal(al.n, 1);
    assert_int_equal(al.time_ns[0], INT64_C(1700000001500) * 1000000);
    free(p);
    alerts_free(&al);
    secdet_engine_free(e);
}

static void test_cloudwatch_payload_over_its_cap_counts_as_malformed_and_the_next_goes_on(void **state) {
    (void)state;
    alerts al = {0};
    secdet_engine *e = engine_with("rule a { where .eventName == \"A\" }\n", &al);
    secdet_source_opts o = {.format = SECDET_FMT_CLOUDWATCH_LOGS};
    assert_int_equal(secdet_source_add(e, "cw", &o), SECDET_OK);
    char *bomb = padded_payload(9 * 1024 * 1024);
    /* the document is complete when pushed: decoded (and found malformed) then */
    assert_int_equal(secdet_push(e, "cw", bomb, strlen(bomb)), SECDET_ERR_DECODE);
    assert_int_equal(secdet_source_end(e, "cw"), SECDET_OK);
    assert_int_equal(al.errors, 1);
    assert_string_equal(al.last_error,
                        "document 1: awslogs.data: decompresses to more than 8388608 bytes (a payload's limit)");
    char *good = payload(CW_DATA, 0);
    assert_int_equal(secdet_push(e, "cw", good, strlen(good)), SECDET_OK);
    assert_int_equal(secdet_source_end(e, "cw"), SECDET_OK);
    secdet_stats st;
    assert_int_equal(secdet_stats_get(e, &st), SECDET_OK);
    assert_int_equal(st.malformed, 1);
    assert_int_equal(st.events, 2);
    assert_int_equal(al.n, 1);
    free(bomb);
    free(good);
    alerts_free(&al);
    secdet_engine_free(e);
}

static void test_format_names_round_trip(void **state) {
    (void)state;
    secdet_format f;
    assert_int_equal(secdet_format_parse("cloudwatch-logs", &f), SECDET_OK);
    assert_int_equal(f, SECDET_FMT_CLOUDWATCH_LOGS);
    assert_int_equal(secdet_format_parse("eventbridge", &f), SECDET_OK);
    assert_string_equal(secdet_format_name(f), "eventbridge");
    assert_int_equal(secdet_format_parse("cloudwatch", &f), SECDET_ERR_INVALID_ARG);
}

/* A custom format: "k=v;k=v" records, one per line, turned into JSON. */
typedef struct kv_state {
    buf partial;
    int calls_end;
} kv_state;

static secdet_status kv_line(secdet_emitter *em, const char *s, size_t n) {
    if (n == 0) return SECDET_OK;
    if (n >= 5 && memcmp(s, "bogus", 5) == 0) return secdet_emit_event(em, s, n), SECDET_OK; /* not JSON: malformed */
    buf j;
    sd_buf_init(&j);
    sd_buf_putc(&j, '{');
    size_t i = 0;
    int first = 1;
    while (i < n) {
        const char *semi = memchr(s + i, ';', n - i);
        size_t end = semi ? (size_t)(semi - s) : n;
        const char *eq = memchr(s + i, '=', end - i);
        if (eq) {
            if (!first) sd_buf_putc(&j, ',');
            sd_buf_json_string(&j, s + i, (size_t)(eq - (s + i)));
            sd_buf_putc(&j, ':');
            sd_buf_json_string(&j, eq + 1, end - (size_t)(eq + 1 - s));
            first = 0;
        }
        i = end + 1;
    }
    sd_buf_putc(&j, '}');
    secdet_status st = secdet_emit_event(em, j.data, j.len);
    sd_buf_free(&j);
    return st == SECDET_ERR_DECODE ? SECDET_OK : st;
}

static secdet_status kv_decode(void *user, const void *bytes, size_t len, int end, secdet_emitter *em) {
    kv_state *k = user;
    if (end) {
        k->calls_end++;
        secdet_status st = kv_line(em, k->partial.data, k->partial.len);
        sd_buf_reset(&k->partial);
        return st;
    }
    sd_buf_append(&k->partial, bytes, len);
    for (;;) {
        char *nl = k->partial.len ? memchr(k->partial.data, '\n', k->partial.len) : NULL;
        if (!nl) break;
        size_t n = (size_t)(nl - k->partial.data);
        secdet_status st = kv_line(em, k->partial.data, n);
        memmove(k->partial.data, nl + 1, k->partial.len - n - 1);
        k->partial.len -= n + 1;
        if (st != SECDET_OK) return st;
    }
    if (k->partial.len > 100) {
        secdet_emit_error(em, 0, "record longer than 100 bytes", 28);
        sd_buf_reset(&k->partial);
    }
    return SECDET_OK;
}

static void test_custom_format_events_are_evaluated_and_errors_counted(void **state) {
    (void)state;
    alerts al = {0};
    kv_state k = {0};
    sd_buf_init(&k.partial);
    secdet_engine *e = engine_with("rule deny { where .action == \"deny\" }\n", &al);
    assert_int_equal(secdet_format_register(e, "kv", kv_decode, &k), SECDET_OK);
    assert_int_equal(secdet_format_register(e, "kv", kv_decode, &k), SECDET_ERR_EXISTS);
    assert_int_equal(secdet_format_register(e, "jsonl", kv_decode, &k), SECDET_ERR_EXISTS);
    secdet_source_opts o = {.format_name = "kv"};
    assert_int_equal(secdet_source_add(e, "fw", &o), SECDET_OK);
    secdet_source_opts bad = {.format_name = "nope"};
    assert_int_equal(secdet_source_add(e, "x", &bad), SECDET_ERR_INVALID_ARG);
    const char *in = "action=allow;src=1\naction=de";
    assert_int_equal(secdet_push(e, "fw", in, strlen(in)), SECDET_OK);
    assert_int_equal(al.n, 0);
    assert_int_equal(secdet_push(e, "fw", "ny;src=2\nbogus\n", 15), SECDET_ERR_DECODE);
    assert_int_equal(al.n, 1);
    assert_string_equal(al.rule[0], "deny");
    assert_int_equal(al.errors, 1);
    assert_non_null(strstr(al.last_error, "event 3: invalid JSON"));
    assert_int_equal(secdet_push(e, "fw", "action=deny", 11), SECDET_OK);
    assert_int_equal(secdet_source_end(e, "fw"), SECDET_OK);
    assert_int_equal(k.calls_end, 1);
    assert_int_equal(al.n, 2);
    char big[150];
    memset(big, 'a', sizeof big);
    assert_int_equal(secdet_push(e, "fw", big, sizeof big), SECDET_ERR_DECODE);
    assert_string_equal(al.last_error, "record longer than 100 bytes");
    secdet_stats st;
    secdet_stats_get(e, &st);
    assert_int_equal(st.malformed, 2);
    assert_int_equal(st.events, 3);
    alerts_free(&al);
    secdet_engine_free(e);
    sd_buf_free(&k.partial);
}

static secdet_status failing_decode(void *user, const void *bytes, size_t len, int end, secdet_emitter *em) {
    (void)user;
    (void)bytes;
    (void)len;
    (void)em;
    return end ? SECDET_OK : SECDET_ERR_DECODE;
}

static void test_custom_format_failure_stops_only_that_stream(void **state) {
    (void)state;
    alerts al = {0};
    secdet_engine *e = engine_with("rule any { where .a == 1 }\n", &al);
    assert_int_equal(secdet_format_register(e, "fails", failing_decode, NULL), SECDET_OK);
    secdet_source_opts o = {.format_name = "fails"};
    assert_int_equal(secdet_source_add(e, "s", &o), SECDET_OK);
    assert_int_equal(secdet_push(e, "s", "x", 1), SECDET_ERR_DECODE);
    assert_non_null(strstr(al.last_error, "format 'fails': malformed input"));
    assert_int_equal(secdet_push(e, "s", "x", 1), SECDET_OK); /* the stream is over: ignored */
    assert_int_equal(secdet_source_end(e, "s"), SECDET_OK);
    assert_int_equal(secdet_push(e, "s", "x", 1), SECDET_ERR_DECODE); /* a new stream */
    assert_int_equal(al.errors, 2);
    secdet_engine_free(e);
}

static char *write_tmp(const char *name, const char *text) {
    char *path = malloc(256);
    snprintf(path, 256, "/tmp/secdet-test-aws-%ld-%s", (long)getpid(), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_reload_replaces_rules_and_keeps_them_on_error(void **state) {
    (void)state;
    alerts al = {0};
    secdet_engine *e = engine_with("rule old { where .a == 1 }\n", &al);
    assert_int_equal(secdet_source_add(e, "j", NULL), SECDET_OK);
    char *good = write_tmp("good.secdet", "rule new_rule { where .a == 1 }\nrule other { where .b == 1 }\n");
    char *bad = write_tmp("bad.secdet", "rule broken { where .a == }\n");
    secdet_diagnostics *d = NULL;
    const char *paths_good[] = {good};
    assert_int_equal(secdet_reload_rules(e, paths_good, 1, &d), SECDET_OK);
    assert_int_equal(secdet_diagnostics_errors(d), 0);
    secdet_diagnostics_free(d);
    assert_int_equal(secdet_rule_count(e), 2);
    const char *paths_bad[] = {good, bad};
    assert_int_equal(secdet_reload_rules(e, paths_bad, 2, &d), SECDET_ERR_RULES);
    assert_true(secdet_diagnostics_errors(d) >= 1);
    secdet_diagnostic dg;
    assert_int_equal(secdet_diagnostics_get(d, 0, &dg), SECDET_OK);
    assert_non_null(strstr(dg.file, "bad.secdet"));
    secdet_diagnostics_free(d);
    assert_int_equal(secdet_rule_count(e), 2); /* the good set still runs */
    assert_int_equal(secdet_push(e, "j", "{\"a\":1}\n", 8), SECDET_OK);
    assert_int_equal(al.n, 1);
    assert_string_equal(al.rule[0], "new_rule");
    const char *missing[] = {"/nonexistent/rules.secdet"};
    assert_int_equal(secdet_reload_rules(e, missing, 1, NULL), SECDET_ERR_IO);
    assert_int_equal(secdet_rule_count(e), 2);
    remove(good);
    remove(bad);
    free(good);
    free(bad);
    alerts_free(&al);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cloudwatch_payload_yields_one_event_per_log_event),
        cmocka_unit_test(test_cloudwatch_decoded_form_gives_the_same_events),
        cmocka_unit_test(test_cloudwatch_several_payloads_in_one_stream),
        cmocka_unit_test(test_cloudwatch_control_message_is_skipped_silently),
        cmocka_unit_test(test_cloudwatch_message_not_an_object_is_malformed_with_its_index),
        cmocka_unit_test(test_cloudwatch_truncated_gzip_is_reported),
        cmocka_unit_test(test_cloudwatch_corrupt_gzip_is_reported),
        cmocka_unit_test(test_cloudwatch_bad_base64_is_reported),
        cmocka_unit_test(test_cloudwatch_wrong_envelope_is_reported),
        cmocka_unit_test(test_cloudwatch_message_over_the_size_limit_is_rejected),
        cmocka_unit_test(test_cloudwatch_payload_decompressing_past_8_mib_is_malformed),
        cmocka_unit_test(test_cloudwatch_payload_cap_follows_max_event_bytes),
        cmocka_unit_test(test_cloudwatch_payload_over_its_cap_counts_as_malformed_and_the_next_goes_on),
        cmocka_unit_test(test_eventbridge_event_is_detail_with_the_envelope_beside),
        cmocka_unit_test(test_eventbridge_wrong_envelope_is_reported_and_the_rest_goes_on),
        cmocka_unit_test(test_auto_detects_cloudwatch_payload_and_unwraps_eventbridge_lines),
        cmocka_unit_test(test_eventbridge_time_comes_from_the_envelope),
        cmocka_unit_test(test_cloudwatch_time_is_the_log_event_timestamp_by_default),
        cmocka_unit_test(test_format_names_round_trip),
        cmocka_unit_test(test_custom_format_events_are_evaluated_and_errors_counted),
        cmocka_unit_test(test_custom_format_failure_stops_only_that_stream),
        cmocka_unit_test(test_reload_replaces_rules_and_keeps_them_on_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
