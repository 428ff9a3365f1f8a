/* test_decode_doc.c — streams of JSON documents and the text route: where
 * span.h finds values and members, CloudTrail documents one after another
 * (cut anywhere), records and envelopes' events handed to on_text as text,
 * and that the text route gives exactly the events the parsed route gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "event/decode.h"
#include "event/span.h"
#include "secdet.h"
#include "util/buf.h"
#include "util/json.h"

/* ---- span ------------------------------------------------------------------- */

static void test_span_frame_finds_the_end_of_a_value_cut_anywhere(void **state) {
    (void)state;
    static const struct {
        const char *text; /* the value, then what follows it */
        size_t len;       /* of the value */
        uint32_t deepest;
    } cases[] = {
        {"{\"a\":\"}\\\"]\",\"b\":[1,{\"c\":null}]} ,", 31, 3},
        {"\"str\\\\\\\"ing\" x", 12, 0},
        {"-12.5e3,", 7, 0},
        {"[[],{}]]", 7, 2},
        {"true}", 4, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *t = cases[k].text;
        size_t n = strlen(t);
        for (size_t cut = 0; cut <= n; cut++) {
            span_frame f;
            sd_span_frame_start(&f);
            size_t used = sd_span_frame_run(&f, t, cut);
            if (f.mode != SPAN_DONE) {
                assert_int_equal(used, cut);
                used += sd_span_frame_run(&f, t + cut, n - cut);
            }
            assert_int_equal(f.mode, SPAN_DONE);
            assert_int_equal(used, cases[k].len);
            assert_int_equal(f.deepest, cases[k].deepest);
        }
    }
}

/* Where a container that starts at s[0] ends, read a byte at a time: what
 * sd_span_frame_run must find however the text is cut and aligned. */
static size_t reference_end(const char *s, size_t n, bool *done, uint32_t *deepest) {
    uint32_t depth = 1;
    bool in_string = false, escaped = false;
    *deepest = 1;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (escaped) {
            escaped = false;
        } else if (in_string) {
            if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > *deepest) *deepest = depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            *done = true;
            return i + 1;
        }
    }
    *done = false;
    return n;
}

static void test_span_frame_64_bytes_at_a_time_agrees_with_a_byte_at_a_time(void **state) {
    (void)state;
    /* Mostly letters and string content, with quotes and brackets in and
     * out of strings, with escapes (blocks read a byte at a time) or
     * without (64 at a time): texts of up to 1 KiB, JSON or not. */
    static const char *const alphabets[] = {
        "aaaaaaaabbbbcccc  ,:\"\"\"\"{{}}[[]]\\",
        "aaaaaaaabbbbccccdddd  ,:\"\"\"\"{{{}}[[[]]",
        "aaaaaaaaaaaaaaaaaaaaaaaaaabbbbcccc,:\"\"{[}]",
    };
    uint64_t seed = 42;
    char space[2048 + 64];
    for (int trial = 0; trial < 6000; trial++) {
        const char *alphabet = alphabets[(trial / 3) % 3];
        size_t nalpha = strlen(alphabet);
        size_t len = 0;
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        size_t want = 64 + (size_t)(seed >> 33) % 1024;
        size_t at = (size_t)(seed >> 20) % 64; /* alignment */
        char *t = space + at;
        t[len++] = trial % 3 ? '{' : '[';
        while (len < want) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            t[len++] = alphabet[(seed >> 33) % nalpha];
        }
        bool done;
        uint32_t deepest;
        size_t end = reference_end(t, len, &done, &deepest);
        size_t cut = (size_t)(seed >> 40) % (len + 1);
        span_frame f;
        sd_span_frame_start(&f);
        size_t used = sd_span_frame_run(&f, t, cut);
        if (f.mode != SPAN_DONE) used += sd_span_frame_run(&f, t + cut, len - cut);
        if ((f.mode == SPAN_DONE) != done || used != end || f.deepest != deepest)
            fail_msg("trial %d: cut %zu: done %d/%d, end %zu/%zu, deepest %u/%u: %.*s", trial, cut, f.mode == SPAN_DONE,
                     done, used, end, f.deepest, deepest, (int)len, t);
    }
}

static void test_span_walk_gives_members_and_refuses_broken_framing(void **state) {
    (void)state;
    const char *s = "\xEF\xBB\xBF { \"a\" : [1,{\"x\":2}] , \"R\\u0065cords\":\"v\",\"z\":5 } \n";
    span_walk w;
    span_member m;
    assert_int_equal(sd_span_walk_start(&w, s, strlen(s)), 0);
    assert_int_equal(sd_span_walk_next(&w, &m), 1);
    assert_true(sd_span_key_is(s, &m, "a"));
    assert_int_equal(m.value_len, strlen("[1,{\"x\":2}]"));
    assert_int_equal(sd_span_walk_next(&w, &m), 1);
    assert_true(m.key_escaped);
    assert_true(sd_span_key_is(s, &m, "Records"));
    assert_false(sd_span_key_is(s, &m, "Record"));
    assert_int_equal(sd_span_walk_next(&w, &m), 1);
    assert_int_equal(memcmp(s + m.value, "5", m.value_len), 0);
    assert_int_equal(sd_span_walk_next(&w, &m), 0);
    assert_int_equal(w.deepest, 3);

    static const char *const broken[] = {"{\"a\" 1}",   "{\"a\":1 \"b\":2}", "{a:1}",
                                         "{\"a\":1} x", "{\"a\":}",          "{\"a\":1"};
    for (size_t k = 0; k < sizeof broken / sizeof broken[0]; k++) {
        int r;
        assert_int_equal(sd_span_walk_start(&w, broken[k], strlen(broken[k])), 0);
        while ((r = sd_span_walk_next(&w, &m)) == 1) {}
        assert_int_equal(r, -1);
    }
    assert_int_equal(sd_span_walk_start(&w, "[1]", 3), -1);
}

/* ---- decoding, with or without on_text --------------------------------------- */

/* "E<where> <event>\n" per event, "X<where> <message>\n" per error, and
 * with on_text a receiver that behaves like the engine's: it takes the text
 * it can parse (declining, with DECODE_TEXT_MAY_BE_ENVELOPE, an object with
 * an envelope's member), and logs the event the same way. */
typedef struct collector {
    buf log;
    int texts;  /* events taken as text */
    int events; /* events handed over parsed */
    buf seen;   /* the texts taken, one a line, when keep_texts */
    int keep_texts;
} collector;

static void log_event(collector *c, const cJSON *event, uint64_t where) {
    char *json = cJSON_PrintUnformatted(event);
    sd_buf_printf(&c->log, "E%llu %s\n", (unsigned long long)where, json ? json : "?");
    free(json);
}

static int on_event(void *user, const cJSON *event, uint64_t where) {
    collector *c = user;
    log_event(c, event, where);
    c->events++;
    return 0;
}

static void on_error(void *user, uint64_t where, const char *message) {
    collector *c = user;
    sd_buf_printf(&c->log, "X%llu %s\n", (unsigned long long)where, message);
}

static int on_text(void *user, const char *text, size_t len, uint64_t where, unsigned flags) {
    collector *c = user;
    size_t end = 0;
    cJSON *ev = sd_json_parse_prefix(text, len, 64, &end);
    bool whole = ev && cJSON_IsObject(ev);
    for (size_t i = end; whole && i < len; i++)
        if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r') whole = false;
    for (size_t k = 0; whole && (flags & DECODE_TEXT_MAY_BE_ENVELOPE) && k < DECODE_ENVELOPE_MARKERS; k++)
        if (cJSON_GetObjectItemCaseSensitive(ev, sd_decode_envelope_markers[k])) whole = false;
    if (!whole) {
        cJSON_Delete(ev);
        return DECODE_TEXT_DECLINED;
    }
    log_event(c, ev, where);
    cJSON_Delete(ev);
    c->texts++;
    if (c->keep_texts) {
        sd_buf_append(&c->seen, text, len);
        sd_buf_putc(&c->seen, '\n');
    }
    return 0;
}

/* Decodes text cut at `cut` (len: none). Caller frees c->log and c->seen. */
static void decode_into(collector *c, dec_format fmt, const decode_limits *lim, bool text, const char *in, size_t n,
                        size_t cut) {
    decoder *d = sd_decoder_new(fmt, lim);
    assert_non_null(d);
    if (text) sd_decoder_set_on_text(d, on_text);
    sd_buf_puts(&c->log, "");
    decode_sink sink = {on_event, on_error, c};
    if (cut > n) cut = n;
    assert_int_equal(sd_decoder_feed(d, in, cut, &sink), 0);
    assert_int_equal(sd_decoder_feed(d, in + cut, n - cut, &sink), 0);
    assert_int_equal(sd_decoder_end(d, &sink), 0);
    sd_decoder_free(d);
}

static char *decode_log(dec_format fmt, const decode_limits *lim, bool text, const char *in, size_t cut) {
    collector c;
    memset(&c, 0, sizeof c);
    decode_into(&c, fmt, lim, text, in, strlen(in), cut);
    sd_buf_free(&c.seen);
    return sd_buf_steal(&c.log);
}

/* ---- CloudTrail streams ------------------------------------------------------- */

static const char CT_STREAM[] =
    "{\"Records\":[{\"eventName\":\"A\"},{\"eventName\":\"B\"}]}{\"Records\":[{\"eventName\":\"C\"}]}\n"
    "\xEF\xBB\xBF{\n  \"Records\": [\n    {\"eventName\": \"D\", \"x\": \"]}\"}\n  ]\n}\n"
    "{\"eventVersion\":\"1.08\",\"eventName\":\"E\"}\n"
    "{\"Records\":[]}\n";

static const char CT_STREAM_LOG[] =
    "E1 {\"eventName\":\"A\"}\nE2 {\"eventName\":\"B\"}\nE3 {\"eventName\":\"C\"}\n"
    "E4 {\"eventName\":\"D\",\"x\":\"]}\"}\nE5 {\"eventVersion\":\"1.08\",\"eventName\":\"E\"}\n";

static void test_cloudtrail_documents_one_after_another_cut_anywhere(void **state) {
    (void)state;
    size_t n = strlen(CT_STREAM);
    for (size_t cut = 0; cut <= n; cut++) {
        for (int text = 0; text < 2; text++) {
            char *log = decode_log(DEC_CLOUDTRAIL, NULL, text, CT_STREAM, cut);
            assert_string_equal(log, CT_STREAM_LOG);
            free(log);
            log = decode_log(DEC_AUTO, NULL, text, CT_STREAM, cut);
            assert_string_equal(log, CT_STREAM_LOG);
            free(log);
        }
    }
}

static void test_cloudtrail_records_reach_on_text_as_their_own_text(void **state) {
    (void)state;
    collector c;
    memset(&c, 0, sizeof c);
    c.keep_texts = 1;
    decode_into(&c, DEC_CLOUDTRAIL, NULL, true, CT_STREAM, strlen(CT_STREAM), 100);
    assert_int_equal(c.texts, 5);
    assert_int_equal(c.events, 0);
    assert_string_equal(c.seen.data,
                        "{\"eventName\":\"A\"}\n{\"eventName\":\"B\"}\n{\"eventName\":\"C\"}\n"
                        "{\"eventName\": \"D\", \"x\": \"]}\"}\n{\"eventVersion\":\"1.08\",\"eventName\":\"E\"}\n");
    sd_buf_free(&c.log);
    sd_buf_free(&c.seen);
}

static void test_cloudtrail_junk_between_documents_is_reported_and_skipped(void **state) {
    (void)state;
    char *log = decode_log(DEC_CLOUDTRAIL, NULL, true, "{\"Records\":[{}]}\nnot json\n{\"Records\":[{\"a\":1}]}", 0);
    assert_string_equal(log, "E1 {}\nX0 document 2: not a JSON object\nX0 document 3: not a JSON object\n"
                             "E2 {\"a\":1}\n");
    free(log);
    log = decode_log(DEC_CLOUDTRAIL, NULL, true, "{\"Records\":[{}]}\n]{\"Records\":[{}]}", 0);
    assert_string_equal(log, "E1 {}\nX0 document 2: invalid JSON near byte 1; the rest of the stream is skipped\n");
    free(log);
}

/* ---- the text route gives the parsed route's events ---------------------------- */

static void assert_same_both_ways_n(dec_format fmt, const decode_limits *lim, const char *in, size_t n, int min_texts) {
    collector t;
    memset(&t, 0, sizeof t);
    decode_into(&t, fmt, lim, false, in, n, 0);
    char *tree = sd_buf_steal(&t.log);
    for (size_t cut = 0; cut <= n; cut += n / 7 + 1) {
        collector c;
        memset(&c, 0, sizeof c);
        decode_into(&c, fmt, lim, true, in, n, cut);
        if (strcmp(c.log.data, tree) != 0) fail_msg("input: %s\ntree: %s\ntext: %s", in, tree, c.log.data);
        if (c.texts < min_texts) fail_msg("input: %s\ntexts: %d", in, c.texts);
        sd_buf_free(&c.log);
        sd_buf_free(&c.seen);
    }
    free(tree);
}

static void assert_same_both_ways(dec_format fmt, const decode_limits *lim, const char *in, int min_texts) {
    assert_same_both_ways_n(fmt, lim, in, strlen(in), min_texts);
}

#define ENVELOPE(detail_member)                                                                                        \
    "{\"version\":\"0\",\"id\":\"e-1\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.iam\","        \
    "\"account\":\"123456789012\",\"time\":\"2024-03-01T10:00:00Z\",\"region\":\"us-east-1\",\"resources\":[]"         \
    "," detail_member "}"

static void test_eventbridge_events_are_the_same_as_text_and_as_trees(void **state) {
    (void)state;
    static const struct {
        const char *doc;
        int texts; /* 0: the event has its own "_eventbridge", which is rare and parsed */
    } docs[] = {
        {ENVELOPE("\"detail\":{\"eventName\":\"CreateUser\",\"n\":1.5e3}"), 1},
        {ENVELOPE("\"detail\":{}"), 1},
        {ENVELOPE("\"detail\":{ }"), 1},
        {ENVELOPE("\"detail\":{\"a\":1,\"_eventbridge\":\"mine\"}"), 0},
        {ENVELOPE("\"detail\":{\"a\":1,\"_event\\u0062ridge\":\"mine, escaped\"}"), 0},
        {ENVELOPE("\"det\\u0061il\":{\"escaped\":\"key\"},\"detail\":{\"second\":true}"), 1},
        {"{ \"detail\" : {\"first\" : [1, 2]} ,\t \"detail-type\" : \"x\" , \"detail\":{\"dup\":1} }", 1},
    };
    for (size_t k = 0; k < sizeof docs / sizeof docs[0]; k++) {
        assert_same_both_ways(DEC_EVENTBRIDGE, NULL, docs[k].doc, docs[k].texts);
        buf line;
        sd_buf_init(&line);
        sd_buf_printf(&line, "{\"plain\":1}\n%s\n", docs[k].doc);
        assert_same_both_ways(DEC_AUTO, NULL, line.data, 1 + docs[k].texts); /* a JSON line that is an envelope */
        sd_buf_free(&line);
    }
    /* What the text route does not take, the parse words as before. */
    static const char *const bad[] = {
        ENVELOPE("\"detail\":\"not an object\""),
        "{\"detail\":{\"a\":1}}",
        ENVELOPE("\"detail\":{\"a\":tru}"),
        ENVELOPE("\"detail\":{\"a\":1},\"x\":[1,]"),
        ENVELOPE("\"detail\":{\"a\":1,\"b\":2]"),
        "{\"detail\":{\"_eventbridge\":1},\"detail-type\":\"\\#\"}",
        "{\"detail-type\":\"x\",\"detail\":{\"a\":{\"b\":{\"c\":1}}}}",
    };
    /* A byte order mark after whitespace is not one the parse skips. */
    assert_same_both_ways(DEC_AUTO, NULL, " \xEF\xBB\xBF" ENVELOPE("\"detail\":{\"a\":1}") "\n", 0);
    assert_same_both_ways(DEC_AUTO, NULL, "\xEF\xBB\xBF " ENVELOPE("\"detail\":{\"a\":1}") "\n", 1);
    /* A key holding a NUL is "detail" to cJSON (its string stops there). */
    static const char nul_key[] = "{\"detail-type\":\"x\",\"detail\0x\":\"x\",\"detail\":{\"a\":1}}";
    assert_same_both_ways_n(DEC_EVENTBRIDGE, NULL, nul_key, sizeof nul_key - 1, 0);
    decode_limits shallow = {.max_event_bytes = 0, .max_depth = 3};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_same_both_ways(DEC_EVENTBRIDGE, &shallow, bad[k], 0);
        assert_same_both_ways(DEC_AUTO, &shallow, bad[k], 0);
    }
}

static const char CW_HEAD[] = "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"123456789012\",\"logGroup\":\"trail\","
                              "\"logStream\":\"s1\",\"subscriptionFilters\":[\"f\"],\"logEvents\":[";

static void test_cloudwatch_events_are_the_same_as_text_and_as_trees(void **state) {
    (void)state;
    static const char *const messages[] = {
        "{\\\"eventName\\\":\\\"A\\\",\\\"u\\\":\\\"\\\\u00e9\\\"}",
        "{}",
        " { \\\"a\\\" : 1 } \\n",
        "{\\\"a\\\":1,\\\"_cloudwatch\\\":\\\"mine\\\"}",
        "{\\\"a\\\":1,\\\"_cloud\\\\u0077atch\\\":\\\"mine, escaped\\\"}",
        "{\\\"a\\\":1}}",
        "[1]",
        "plain text",
        "{\\\"a\\\":tru}",
    };
    buf doc;
    sd_buf_init(&doc);
    sd_buf_puts(&doc, CW_HEAD);
    for (size_t k = 0; k < sizeof messages / sizeof messages[0]; k++)
        sd_buf_printf(&doc, "%s{\"id\":\"%zu\",\"timestamp\":%zu,\"message\":\"%s\"}", k ? "," : "", k,
                      1700000000000 + k * 1500, messages[k]);
    sd_buf_puts(&doc, "]}");
    assert_same_both_ways(DEC_CLOUDWATCH_LOGS, NULL, doc.data, 5);
    assert_same_both_ways(DEC_AUTO, NULL, doc.data, 5);
    sd_buf_free(&doc);
}

static void test_auto_lines_take_the_text_route_and_envelopes_are_unwrapped(void **state) {
    (void)state;
    const char *in =
        "{\"plain\":1}\n"
        "{\"detail-type\":\"no detail here\",\"x\":1}\n"
        "{\"messageType\":\"not a payload\"}\n" ENVELOPE("\"detail\":{\"eventName\":\"X\"}") "\n"
                                                                                             "{\"broken\":\n"
                                                                                             "{\"last\":true}";
    assert_same_both_ways(DEC_AUTO, NULL, in, 3);
    collector c;
    memset(&c, 0, sizeof c);
    decode_into(&c, DEC_AUTO, NULL, true, in, strlen(in), 0);
    assert_int_equal(c.texts, 3);  /* plain, the envelope's event, last */
    assert_int_equal(c.events, 2); /* the two lines with markers that are no envelope */
    sd_buf_free(&c.log);
    sd_buf_free(&c.seen);
}

/* ---- through the engine --------------------------------------------------------- */

static void count_alert(void *user, const secdet_alert *a) {
    (void)a;
    (*(int *)user)++;
}

static void test_every_builtin_format_reaches_the_scanner(void **state) {
    (void)state;
    char cw[1024];
    snprintf(cw, sizeof cw, "%s{\"id\":\"1\",\"timestamp\":1,\"message\":\"{\\\"eventName\\\":\\\"X\\\"}\"}]}",
             CW_HEAD);
    const char *eb = ENVELOPE("\"detail\":{\"eventName\":\"X\"}");
    static const char ct[] =
        "{\"Records\":[{\"eventName\":\"X\"},{\"eventName\":\"Y\"}]}\n{\"Records\":[{\"eventName\":\"X\"}]}";
    static const char lines[] = "{\"eventName\":\"X\"}\n{\"eventName\":\"Y\"}\n";
    const struct {
        const char *format;
        const char *in;
        int alerts;
    } cases[] = {
        {"jsonl", lines, 1},    {"auto", lines, 1}, {"cloudtrail", ct, 2},      {"auto", ct, 2},
        {"eventbridge", eb, 1}, {"auto", eb, 1},    {"cloudwatch-logs", cw, 1}, {"auto", cw, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        secdet_engine *e = NULL;
        int alerts = 0;
        assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
        const char *rule = "rule x { where .eventName == \"X\" }\n";
        assert_int_equal(secdet_load_rules_string(e, "x.secdet", rule, strlen(rule), NULL), SECDET_OK);
        secdet_set_alert_callback(e, count_alert, &alerts);
        secdet_source_opts o = {.format_name = cases[k].format};
        assert_int_equal(secdet_source_add(e, "s", &o), SECDET_OK);
        assert_int_equal(secdet_push(e, "s", cases[k].in, strlen(cases[k].in)), SECDET_OK);
        assert_int_equal(secdet_source_end(e, "s"), SECDET_OK);
        secdet_stats st;
        assert_int_equal(secdet_stats_get(e, &st), SECDET_OK);
        if (alerts != cases[k].alerts || st.events == 0 || st.text_events != st.events)
            fail_msg("%s: %d alerts, %llu events, %llu from text", cases[k].format, alerts,
                     (unsigned long long)st.events, (unsigned long long)st.text_events);
        secdet_engine_free(e);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_frame_finds_the_end_of_a_value_cut_anywhere),
        cmocka_unit_test(test_span_frame_64_bytes_at_a_time_agrees_with_a_byte_at_a_time),
        cmocka_unit_test(test_span_walk_gives_members_and_refuses_broken_framing),
        cmocka_unit_test(test_cloudtrail_documents_one_after_another_cut_anywhere),
        cmocka_unit_test(test_cloudtrail_records_reach_on_text_as_their_own_text),
        cmocka_unit_test(test_cloudtrail_junk_between_documents_is_reported_and_skipped),
        cmocka_unit_test(test_eventbridge_events_are_the_same_as_text_and_as_trees),
        cmocka_unit_test(test_cloudwatch_events_are_the_same_as_text_and_as_trees),
        cmocka_unit_test(test_auto_lines_take_the_text_route_and_envelopes_are_unwrapped),
        cmocka_unit_test(test_every_builtin_format_reaches_the_scanner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
