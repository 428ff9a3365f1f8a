/* test_decode.c — the decoder: JSON lines, CloudTrail documents, format
 * detection, gzip, limits, and the error messages users see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <zlib.h>

#include "event/decode.h"
#include "util/buf.h"

/* Everything a decoder reported, as text: "E<where> <json>\n" per event and
 * "X<where> <message>\n" per error, so runs can be compared as strings. */
typedef struct collector {
    buf log;
    int events;
    int errors;
    int stop_after; /* on_event returns 7 at this event (1-based); 0 = never */
} collector;

static int on_event(void *user, const cJSON *event, uint64_t where) {
    collector *c = user;
    char *json = cJSON_PrintUnformatted(event);
    sd_buf_printf(&c->log, "E%llu %s\n", (unsigned long long)where, json ? json : "?");
    free(json);
    c->events++;
    return c->stop_after && c->events == c->stop_after ? 7 : 0;
}

static void on_error(void *user, uint64_t where, const char *message) {
    collector *c = user;
    sd_buf_printf(&c->log, "X%llu %s\n", (unsigned long long)where, message);
    c->errors++;
}

static void collector_init(collector *c) {
    memset(c, 0, sizeof *c);
    sd_buf_init(&c->log);
    sd_buf_puts(&c->log, "");
}

static const char *logtext(collector *c) { return c->log.data ? c->log.data : ""; }

/* Decodes `in` fed as the given pieces (cut at the offsets in cuts[]) and
 * returns the log (caller frees). */
static char *decode_cut(dec_format fmt, const decode_limits *lim, const void *in, size_t len, const size_t *cuts,
                        size_t ncuts) {
    decoder *d = sd_decoder_new(fmt, lim);
    assert_non_null(d);
    collector c;
    collector_init(&c);
    decode_sink sink = {on_event, on_error, &c};
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t next = i < ncuts ? cuts[i] : len;
        assert_int_equal(sd_decoder_feed(d, (const char *)in + at, next - at, &sink), 0);
        at = next;
    }
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    sd_decoder_free(d);
    return sd_buf_steal(&c.log);
}

static char *decode_all(dec_format fmt, const decode_limits *lim, const void *in, size_t len) {
    return decode_cut(fmt, lim, in, len, NULL, 0);
}

/* Copies into an exactly-sized heap block so ASan catches any read past the end. */
static char *decode_exact(dec_format fmt, const decode_limits *lim, const char *text) {
    size_t n = strlen(text);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, text, n);
    char *log = decode_all(fmt, lim, copy, n);
    free(copy);
    return log;
}

static void assert_log(char *log, const char *want) {
    assert_string_equal(log, want);
    free(log);
}

static unsigned char *gzip_bytes(const char *text, size_t *out_len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, strlen(text)) + 64;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    zs.next_in = (unsigned char *)(uintptr_t)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static const char JSONL[] = "{\"a\":1}\n"
                            "\r\n"
                            "{\"b\":[1,2,{\"c\":\"x\\\"}\"}]}\r\n"
                            "   \n"
                            "{\"broken\":\n"
                            "{\"d\":null}\n"
                            "{\"e\":true}";
static const char JSONL_LOG[] = "E1 {\"a\":1}\n"
                                "E3 {\"b\":[1,2,{\"c\":\"x\\\"}\"}]}\n"
                                "X5 line 5: invalid JSON near byte 10\n"
                                "E6 {\"d\":null}\n"
                                "E7 {\"e\":true}\n";

static const char CLOUDTRAIL[] = "{\"Records\":[{\"eventName\":\"A\"},{\"eventName\":\"B\",\"n\":[1]},"
                                 "17,{\"eventName\":\"D\"}]}";
static const char CLOUDTRAIL_LOG[] = "E1 {\"eventName\":\"A\"}\n"
                                     "E2 {\"eventName\":\"B\",\"n\":[1]}\n"
                                     "X3 record 3: not a JSON object\n"
                                     "E4 {\"eventName\":\"D\"}\n";

/* ---- JSON lines -------------------------------------------------------- */

static void test_jsonl_whole_input_events_and_line_numbers(void **state) {
    (void)state;
    assert_log(decode_exact(DEC_JSONL, NULL, JSONL), JSONL_LOG);
}

static void test_jsonl_split_at_every_byte_gives_same_events(void **state) {
    (void)state;
    size_t n = strlen(JSONL);
    for (size_t cut = 0; cut <= n; cut++) {
        char *log = decode_cut(DEC_JSONL, NULL, JSONL, n, &cut, 1);
        assert_string_equal(log, JSONL_LOG);
        free(log);
    }
}

static void test_jsonl_fed_byte_by_byte_gives_same_events(void **state) {
    (void)state;
    size_t n = strlen(JSONL);
    size_t cuts[sizeof JSONL];
    for (size_t i = 0; i < n; i++) cuts[i] = i;
    assert_log(decode_cut(DEC_JSONL, NULL, JSONL, n, cuts, n), JSONL_LOG);
}

static void test_jsonl_crlf_and_blank_lines_are_accepted(void **state) {
    (void)state;
    assert_log(decode_exact(DEC_JSONL, NULL, "\r\n{\"a\":1}\r\n\r\n\t \r\n{\"a\":2}\r\n"),
               "E2 {\"a\":1}\nE5 {\"a\":2}\n");
}

static void test_jsonl_malformed_line_is_reported_and_later_lines_decoded(void **state) {
    (void)state;
    assert_log(decode_exact(DEC_JSONL, NULL, "{\"a\":1}\n{\"a\":}\n{\"a\":3}\n"),
               "E1 {\"a\":1}\nX2 line 2: invalid JSON near byte 6\nE3 {\"a\":3}\n");
}

static void test_jsonl_trailing_garbage_on_a_line_is_invalid(void **state) {
    (void)state;
    assert_log(decode_exact(DEC_JSONL, NULL, "{\"a\":1} x\n{\"a\":1}   \n"),
               "X1 line 1: invalid JSON near byte 9\nE2 {\"a\":1}\n");
}

static void test_jsonl_last_line_without_newline_is_emitted_at_end(void **state) {
    (void)state;
    decoder *d = sd_decoder_new(DEC_JSONL, NULL);
    collector c;
    collector_init(&c);
    decode_sink sink = {on_event, on_error, &c};
    assert_int_equal(sd_decoder_feed(d, "{\"a\":1}\n{\"z\":", 13, &sink), 0);
    assert_int_equal(sd_decoder_feed(d, "2}", 2, &sink), 0);
    assert_int_equal(c.events, 1);
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    assert_string_equal(logtext(&c), "E1 {\"a\":1}\nE2 {\"z\":2}\n");
    sd_buf_free(&c.log);
    sd_decoder_free(d);
}

static void test_jsonl_non_object_lines_are_reported(void **state) {
    (void)state;
    assert_log(decode_exact(DEC_JSONL, NULL, "[1,2]\n42\n\"s\"\n{}\n"),
               "X1 line 1: not a JSON object\nX2 line 2: not a JSON object\n"
               "X3 line 3: not a JSON object\nE4 {}\n");
}

static void test_jsonl_over_long_line_is_skipped_and_counted(void **state) {
    (void)state;
    decode_limits lim = {.max_event_bytes = 16, .max_depth = 0};
    char in[256];
    snprintf(in, sizeof in, "{\"a\":1}\n{\"long\":\"%s\"}\n{\"b\":2}\n{\"c\":\"01234567890\"}\n",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    const char *want = "E1 {\"a\":1}\nX2 line 2: longer than 16 bytes\nE3 {\"b\":2}\n"
                       "X4 line 4: longer than 16 bytes\n";
    size_t n = strlen(in);
    assert_log(decode_all(DEC_JSONL, &lim, in, n), want);
    for (size_t cut = 0; cut <= n; cut++) assert_log(decode_cut(DEC_JSONL, &lim, in, n, &cut, 1), want);
    size_t cuts[256];
    for (size_t i = 0; i < n; i++) cuts[i] = i;
    assert_log(decode_cut(DEC_JSONL, &lim, in, n, cuts, n), want);
}

static void test_jsonl_line_of_exactly_the_limit_is_accepted(void **state) {
    (void)state;
    decode_limits lim = {.max_event_bytes = 9, .max_depth = 0};
    assert_log(decode_exact(DEC_JSONL, &lim, "{\"a\":123}\r\n{\"a\":1234}\n{\"a\":123}"),
               "E1 {\"a\":123}\nX2 line 2: longer than 9 bytes\nE3 {\"a\":123}\n");
}

static void test_jsonl_over_long_unterminated_last_line_is_reported_once(void **state) {
    (void)state;
    decode_limits lim = {.max_event_bytes = 8, .max_depth = 0};
    assert_log(decode_exact(DEC_JSONL, &lim, "{}\n{\"aaaaaaaaaaaaaaa\":1}"), "E1 {}\nX2 line 2: longer than 8 bytes\n");
}

static void test_jsonl_depth_limit_counts_only_structure(void **state) {
    (void)state;
    decode_limits lim = {.max_event_bytes = 0, .max_depth = 3};
    assert_log(decode_exact(DEC_JSONL, &lim,
                            "{\"a\":{\"b\":[1]}}\n"
                            "{\"a\":{\"b\":[[1]]}}\n"
                            "{\"s\":\"[[[[{{{{\\\"[[[[\",\"t\":[[]]}\n"),
               "E1 {\"a\":{\"b\":[1]}}\nX2 line 2: nested deeper than 3\n"
               "E3 {\"s\":\"[[[[{{{{\\\"[[[[\",\"t\":[[]]}\n");
}

/* {"x":[[...1...]]} with `arrays` brackets: depth arrays + 1. */
static char *nested_line(int arrays) {
    buf b;
    sd_buf_init(&b);
    sd_buf_puts(&b, "{\"x\":");
    for (int i = 0; i < arrays; i++) sd_buf_putc(&b, '[');
    sd_buf_putc(&b, '1');
    for (int i = 0; i < arrays; i++) sd_buf_putc(&b, ']');
    sd_buf_puts(&b, "}\n");
    return sd_buf_steal(&b);
}

static void test_jsonl_default_depth_limit_is_64(void **state) {
    (void)state;
    char *ok = nested_line(63), *deep = nested_line(64);
    char *log = decode_exact(DEC_JSONL, NULL, ok);
    assert_int_equal(strncmp(log, "E1 {\"x\":[[", 10), 0);
    free(log);
    assert_log(decode_exact(DEC_JSONL, NULL, deep), "X1 line 1: nested deeper than 64\n");
    free(ok);
    free(deep);
}

static void test_jsonl_empty_input_gives_nothing(void **state) {
    (void)state;
    assert_log(decode_all(DEC_JSONL, NULL, "", 0), "");
    assert_log(decode_all(DEC_AUTO, NULL, "", 0), "");
    assert_log(decode_all(DEC_CLOUDTRAIL, NULL, "", 0), "");
    assert_log(decode_exact(DEC_AUTO, NULL, "\n\n  \n"), "");
}

static void test_decoder_is_reusable_and_line_numbers_restart(void **state) {
    (void)state;
    decoder *d = sd_decoder_new(DEC_JSONL, NULL);
    collector c;
    collector_init(&c);
    decode_sink sink = {on_event, on_error, &c};
    assert_int_equal(sd_decoder_feed(d, "{}\n{}\n{\"p\":", 11, &sink), 0);
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    assert_int_equal(sd_decoder_feed(d, "{}\n", 3, &sink), 0);
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    assert_string_equal(logtext(&c), "E1 {}\nE2 {}\nX3 line 3: invalid JSON near byte 5\nE1 {}\n");
    sd_buf_free(&c.log);
    sd_decoder_free(d);
}

static void test_sink_stop_value_is_returned_and_sticks_until_end(void **state) {
    (void)state;
    decoder *d = sd_decoder_new(DEC_JSONL, NULL);
    collector c;
    collector_init(&c);
    c.stop_after = 2;
    decode_sink sink = {on_event, on_error, &c};
    assert_int_equal(sd_decoder_feed(d, "{}\n{}\n{}\n", 9, &sink), 7);
    assert_int_equal(sd_decoder_feed(d, "{}\n", 3, &sink), 7);
    assert_int_equal(sd_decoder_end(d, &sink), 7);
    assert_int_equal(c.events, 2);
    c.stop_after = 0;
    assert_int_equal(sd_decoder_feed(d, "{}\n", 3, &sink), 0);
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    assert_int_equal(c.events, 3);
    sd_buf_free(&c.log);
    sd_decoder_free(d);
}

/* ---- CloudTrail -------------------------------------------------------- */

static void test_cloudtrail_records_numbered_and_bad_record_skipped(void **state) {
    (void)state;
    assert_log(decode_exact(DEC_CLOUDTRAIL, NULL, CLOUDTRAIL), CLOUDTRAIL_LOG);
}

static void test_cloudtrail_split_at_every_byte_gives_same_events(void **state) {
    (void)state;
    size_t n = strlen(CLOUDTRAIL);
    for (size_t cut = 0; cut <= n; cut++) {
        assert_log(decode_cut(DEC_CLOUDTRAIL, NULL, CLOUDTRAIL, n, &cut, 1), CLOUDTRAIL_LOG);
        assert_log(decode_cut(DEC_AUTO, NULL, CLOUDTRAIL, n, &cut, 1), CLOUDTRAIL_LOG);
    }
}

static void test_cloudtrail_records_found_after_other_keys(void **state) {
    (void)state;
    assert_log(decode_exact(DEC_CLOUDTRAIL, NULL,
                            " \n{ \"x\" : {\"Records\":[{\"no\":1}]} , \"y\":[\"]\",{}],\n"
                            "  \"Records\" : [ {\"a\":\"]},\"} , {\"b\":2} ] }\n"),
               "E1 {\"a\":\"]},\"}\nE2 {\"b\":2}\n");
}

static void test_cloudtrail_document_without_records_is_one_record(void **state) {
    (void)state;
    assert_log(decode_exact(DEC_CLOUDTRAIL, NULL, "{\"records\":[{}]}\n{\"eventName\":\"X\"}"),
               "E1 {\"records\":[{}]}\nE2 {\"eventName\":\"X\"}\n");
    assert_log(decode_exact(DEC_CLOUDTRAIL, NULL, "{\"Records\":{}}"),
               "X0 document 1: not a CloudTrail log file: \"Records\" is not an array\n");
    assert_log(decode_exact(DEC_CLOUDTRAIL, NULL, "[1]"), "X0 document 1: not a JSON object\n");
}

static void test_cloudtrail_records_before_broken_json_are_kept(void **state) {
    (void)state;
    assert_log(decode_exact(DEC_CLOUDTRAIL, NULL, "{\"Records\":[{},{}"),
               "E1 {}\nE2 {}\nX0 document 1: unexpected end of data after byte 17 (truncated?)\n");
    assert_log(decode_exact(DEC_CLOUDTRAIL, NULL, "{\"Records\":[{}] x} {\"Records\":[{}]}"),
               "E1 {}\nX0 document 1: invalid JSON near byte 17; the rest of the stream is skipped\n");
    assert_log(decode_exact(DEC_CLOUDTRAIL, NULL, "{\"Records\":[{\"a\":tru},{}]}"),
               "X1 record 1: invalid JSON near byte 6\nE2 {}\n");
}

static void test_cloudtrail_record_limits_apply_per_record(void **state) {
    (void)state;
    decode_limits lim = {.max_event_bytes = 12, .max_depth = 2};
    assert_log(
        decode_exact(DEC_CLOUDTRAIL, &lim, "{\"Records\":[{\"a\":[1]},{\"a\":[[1]]},{\"a\":\"0123456789\"},{}]}"),
        "E1 {\"a\":[1]}\nX2 record 2: nested deeper than 2\n"
        "X3 record 3: longer than 12 bytes\nE4 {}\n");
}

static void test_cloudtrail_document_of_any_size_is_read_record_by_record(void **state) {
    (void)state;
    /* 88 bytes: more than the 64 x max_event_bytes a document was once capped at */
    decode_limits lim = {.max_event_bytes = 2, .max_depth = 0};
    char *log = decode_exact(DEC_CLOUDTRAIL, &lim,
                             "{\"Records\":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]}");
    assert_int_equal(strlen(log), 21 * strlen("E1 {}\n") + 12 * 1); /* E1..E9, E10..E21 */
    assert_non_null(strstr(log, "E21 {}\n"));
    free(log);
}

/* ---- detection --------------------------------------------------------- */

static void test_auto_detects_cloudtrail_with_leading_whitespace(void **state) {
    (void)state;
    decoder *d = sd_decoder_new(DEC_AUTO, NULL);
    collector c;
    collector_init(&c);
    decode_sink sink = {on_event, on_error, &c};
    const char *in = "\n  \t{\n  \"Records\": [{\"eventName\":\"X\"}]}\n";
    for (const char *p = in; *p; p++) assert_int_equal(sd_decoder_feed(d, p, 1, &sink), 0);
    assert_int_equal(sd_decoder_format(d), DEC_CLOUDTRAIL);
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    assert_string_equal(logtext(&c), "E1 {\"eventName\":\"X\"}\n");
    sd_buf_free(&c.log);
    sd_decoder_free(d);
}

static void test_auto_detects_jsonl_and_keeps_line_numbers(void **state) {
    (void)state;
    decoder *d = sd_decoder_new(DEC_AUTO, NULL);
    collector c;
    collector_init(&c);
    decode_sink sink = {on_event, on_error, &c};
    assert_int_equal(sd_decoder_feed(d, "\n {", 3, &sink), 0);
    assert_int_equal(sd_decoder_format(d), DEC_AUTO);
    assert_int_equal(sd_decoder_feed(d, "\"Rec", 4, &sink), 0);
    assert_int_equal(sd_decoder_format(d), DEC_AUTO);
    assert_int_equal(sd_decoder_feed(d, "ent\":1}\n{\"Records\":[]}\n", 23, &sink), 0);
    assert_int_equal(sd_decoder_format(d), DEC_JSONL);
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    assert_string_equal(logtext(&c), "E2 {\"Recent\":1}\nE3 {\"Records\":[]}\n");
    sd_buf_free(&c.log);
    sd_decoder_free(d);
}

static void test_auto_jsonl_split_at_every_byte_gives_same_events(void **state) {
    (void)state;
    size_t n = strlen(JSONL);
    for (size_t cut = 0; cut <= n; cut++) assert_log(decode_cut(DEC_AUTO, NULL, JSONL, n, &cut, 1), JSONL_LOG);
}

static void test_auto_too_short_to_decide_is_jsonl_at_end(void **state) {
    (void)state;
    assert_log(decode_exact(DEC_AUTO, NULL, "  {\"Rec"), "X1 line 1: invalid JSON near byte 5\n");
    assert_log(decode_exact(DEC_AUTO, NULL, "{}"), "E1 {}\n");
}

static void test_auto_decision_does_not_depend_on_feed_sizes(void **state) {
    (void)state;
    /* the first max_event+1 bytes decide: here too few to see "Records" */
    decode_limits lim = {.max_event_bytes = 5, .max_depth = 0};
    const char *in = "  \n{ \"Records\" : [ {} ] }";
    size_t n = strlen(in);
    char *whole = decode_all(DEC_AUTO, &lim, in, n);
    assert_string_equal(whole, "X2 line 2: longer than 5 bytes\n");
    for (size_t cut = 0; cut <= n; cut++) {
        char *log = decode_cut(DEC_AUTO, &lim, in, n, &cut, 1);
        assert_string_equal(log, whole);
        free(log);
    }
    free(whole);
}

/* ---- gzip -------------------------------------------------------------- */

static void test_gzip_jsonl_is_inflated(void **state) {
    (void)state;
    size_t n;
    unsigned char *gz = gzip_bytes(JSONL, &n);
    assert_log(decode_all(DEC_JSONL, NULL, gz, n), JSONL_LOG);
    assert_log(decode_all(DEC_AUTO, NULL, gz, n), JSONL_LOG);
    free(gz);
}

static void test_gzip_cloudtrail_is_inflated_and_detected(void **state) {
    (void)state;
    size_t n;
    unsigned char *gz = gzip_bytes(CLOUDTRAIL, &n);
    assert_log(decode_all(DEC_CLOUDTRAIL, NULL, gz, n), CLOUDTRAIL_LOG);
    assert_log(decode_all(DEC_AUTO, NULL, gz, n), CLOUDTRAIL_LOG);
    free(gz);
}

static void test_gzip_split_at_every_byte_gives_same_events(void **state) {
    (void)state;
    size_t n;
    unsigned char *gz = gzip_bytes(JSONL, &n);
    for (size_t cut = 0; cut <= n; cut++) assert_log(decode_cut(DEC_AUTO, NULL, gz, n, &cut, 1), JSONL_LOG);
    size_t *cuts = malloc(n * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t i = 0; i < n; i++) cuts[i] = i;
    assert_log(decode_cut(DEC_JSONL, NULL, gz, n, cuts, n), JSONL_LOG);
    free(cuts);
    free(gz);
}

static void test_gzip_concatenated_members_are_one_stream(void **state) {
    (void)state;
    size_t n1, n2;
    unsigned char *a = gzip_bytes("{\"a\":1}\n{\"b\":", &n1);
    unsigned char *b = gzip_bytes("2}\n{\"c\":3}\n", &n2);
    unsigned char *ab = malloc(n1 + n2);
    assert_non_null(ab);
    memcpy(ab, a, n1);
    memcpy(ab + n1, b, n2);
    const char *want = "E1 {\"a\":1}\nE2 {\"b\":2}\nE3 {\"c\":3}\n";
    assert_log(decode_all(DEC_AUTO, NULL, ab, n1 + n2), want);
    assert_log(decode_cut(DEC_AUTO, NULL, ab, n1 + n2, &n1, 1), want);
    free(a);
    free(b);
    free(ab);
}

static void test_gzip_large_input_inflates_in_chunks(void **state) {
    (void)state;
    buf text, want;
    sd_buf_init(&text);
    sd_buf_init(&want);
    for (int i = 1; i <= 5000; i++) {
        sd_buf_printf(&text, "{\"i\":%d,\"pad\":\"%040d\"}\n", i, i);
        sd_buf_printf(&want, "E%d {\"i\":%d,\"pad\":\"%040d\"}\n", i, i, i);
    }
    size_t n;
    unsigned char *gz = gzip_bytes(text.data, &n);
    assert_log(decode_all(DEC_AUTO, NULL, gz, n), want.data);
    free(gz);
    sd_buf_free(&text);
    sd_buf_free(&want);
}

static void test_gzip_corrupt_stream_is_reported_not_crashed(void **state) {
    (void)state;
    size_t n;
    unsigned char *gz = gzip_bytes(JSONL, &n);
    for (size_t i = 12; i < n - 8; i++) gz[i] ^= 0x5a;
    char *log = decode_all(DEC_AUTO, NULL, gz, n);
    assert_non_null(strstr(log, "X0 gzip: "));
    free(log);
    free(gz);
}

static void test_gzip_truncated_stream_is_reported(void **state) {
    (void)state;
    size_t n;
    unsigned char *gz = gzip_bytes("{\"a\":1}\n{\"b\":2}\n", &n);
    char *log = decode_all(DEC_AUTO, NULL, gz, n - 4);
    assert_non_null(strstr(log, "X0 gzip: unexpected end of data\n"));
    free(log);
    free(gz);
}

static void test_gzip_garbage_after_member_is_reported(void **state) {
    (void)state;
    size_t n;
    unsigned char *gz = gzip_bytes("{\"a\":1}\n", &n);
    unsigned char *more = malloc(n + 5);
    assert_non_null(more);
    memcpy(more, gz, n);
    memcpy(more + n, "hello", 5);
    char *log = decode_all(DEC_AUTO, NULL, more, n + 5);
    assert_non_null(strstr(log, "E1 {\"a\":1}\n"));
    assert_non_null(strstr(log, "X0 gzip: "));
    free(log);
    free(more);
    free(gz);
}

static void test_lone_first_byte_0x1f_is_plain_data(void **state) {
    (void)state;
    assert_log(decode_all(DEC_JSONL, NULL, "\x1f", 1), "X1 line 1: invalid JSON near byte 1\n");
    size_t cut = 1;
    assert_log(decode_cut(DEC_JSONL, NULL,
                          "\x1f"
                          "a\n{}\n",
                          6, &cut, 1),
               "X1 line 1: invalid JSON near byte 2\nE2 {}\n");
}

/* ---- sd_decode_json_object ------------------------------------------------ */

static void test_decode_json_object_parses_and_explains(void **state) {
    (void)state;
    const char *err = NULL;
    cJSON *o = sd_decode_json_object("{\"a\":[1]} ", 10, 0, &err);
    assert_non_null(o);
    assert_int_equal(cJSON_GetObjectItem(o, "a")->child->valueint, 1);
    cJSON_Delete(o);
    assert_null(sd_decode_json_object("{\"a\":[1]", 8, 0, &err));
    assert_string_equal(err, "invalid JSON");
    assert_null(sd_decode_json_object("[]", 2, 0, &err));
    assert_string_equal(err, "not a JSON object");
    assert_null(sd_decode_json_object("{\"a\":[[1]]}", 11, 2, &err));
    assert_string_equal(err, "nested too deeply");
    assert_null(sd_decode_json_object("{} {}", 5, 0, &err));
    assert_string_equal(err, "invalid JSON");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_whole_input_events_and_line_numbers),
        cmocka_unit_test(test_jsonl_split_at_every_byte_gives_same_events),
        cmocka_unit_test(test_jsonl_fed_byte_by_byte_gives_same_events),
        cmocka_unit_test(test_jsonl_crlf_and_blank_lines_are_accepted),
        cmocka_unit_test(test_jsonl_malformed_line_is_reported_and_later_lines_decoded),
        cmocka_unit_test(test_jsonl_trailing_garbage_on_a_line_is_invalid),
        cmocka_unit_test(test_jsonl_last_line_without_newline_is_emitted_at_end),
        cmocka_unit_test(test_jsonl_non_object_lines_are_reported),
        cmocka_unit_test(test_jsonl_over_long_line_is_skipped_and_counted),
        cmocka_unit_test(test_jsonl_line_of_exactly_the_limit_is_accepted),
        cmocka_unit_test(test_jsonl_over_long_unterminated_last_line_is_reported_once),
        cmocka_unit_test(test_jsonl_depth_limit_counts_only_structure),
        cmocka_unit_test(test_jsonl_default_depth_limit_is_64),
        cmocka_unit_test(test_jsonl_empty_input_gives_nothing),
        cmocka_unit_test(test_decoder_is_reusable_and_line_numbers_restart),
        cmocka_unit_test(test_sink_stop_value_is_returned_and_sticks_until_end),
        cmocka_unit_test(test_cloudtrail_records_numbered_and_bad_record_skipped),
        cmocka_unit_test(test_cloudtrail_split_at_every_byte_gives_same_events),
        cmocka_unit_test(test_cloudtrail_records_found_after_other_keys),
        cmocka_unit_test(test_cloudtrail_document_without_records_is_one_record),
        cmocka_unit_test(test_cloudtrail_records_before_broken_json_are_kept),
        cmocka_unit_test(test_cloudtrail_record_limits_apply_per_record),
        cmocka_unit_test(test_cloudtrail_document_of_any_size_is_read_record_by_record),
        cmocka_unit_test(test_auto_detects_cloudtrail_with_leading_whitespace),
        cmocka_unit_test(test_auto_detects_jsonl_and_keeps_line_numbers),
        cmocka_unit_test(test_auto_jsonl_split_at_every_byte_gives_same_events),
        cmocka_unit_test(test_auto_too_short_to_decide_is_jsonl_at_end),
        cmocka_unit_test(test_auto_decision_does_not_depend_on_feed_sizes),
        cmocka_unit_test(test_gzip_jsonl_is_inflated),
        cmocka_unit_test(test_gzip_cloudtrail_is_inflated_and_detected),
        cmocka_unit_test(test_gzip_split_at_every_byte_gives_same_events),
        cmocka_unit_test(test_gzip_concatenated_members_are_one_stream),
        cmocka_unit_test(test_gzip_large_input_inflates_in_chunks),
        cmocka_unit_test(test_gzip_corrupt_stream_is_reported_not_crashed),
        cmocka_unit_test(test_gzip_truncated_stream_is_reported),
        cmocka_unit_test(test_gzip_garbage_after_member_is_reported),
        cmocka_unit_test(test_lone_first_byte_0x1f_is_plain_data),
        cmocka_unit_test(test_decode_json_object_parses_and_explains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
