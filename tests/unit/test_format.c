/* test_format.c — what the network sinks send (src/sink/format.h): the Slack
 * message, the RFC 5424 syslog line and the Standard Webhooks signature.
 *
 * Slack output is checked by parsing it back with cJSON and looking at the
 * texts; syslog output by comparing whole lines or their parts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/format.h"

/* A real alert (secdet scan --rules rules/aws/cis.secdet
 * examples/data/cloudtrail-sample.json.gz), the event shortened. */
static const char REAL[] =
    "{\"rule\":\"cis_aws_4_4_iam_policy_changes\",\"title\":\"IAM policy changed\",\"severity\":\"medium\","
    "\"tags\":[\"cis-aws-4.4\"],\"time\":\"2024-03-14T13:20:41Z\",\"source\":\"cloudtrail\","
    "\"message\":\"IAM policy change: AttachUserPolicy by arn:aws:iam::111122223333:user/carol.finance\","
    "\"group\":{},\"count\":1,\"first_seen\":\"2024-03-14T13:20:41Z\",\"last_seen\":\"2024-03-14T13:20:41Z\","
    "\"suppressed\":0,\"id\":\"57e96c7fd27f6e6e7284461c06dba319\",\"events\":[{\"eventVersion\":\"1.09\","
    "\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"AIDAT4CHVDGKYAYX5VIQP\","
    "\"arn\":\"arn:aws:iam::111122223333:user/carol.finance\",\"accountId\":\"111122223333\","
    "\"userName\":\"carol.finance\"},\"eventTime\":\"2024-03-14T13:20:41Z\",\"eventSource\":\"iam.amazonaws.com\","
    "\"eventName\":\"AttachUserPolicy\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"203.0.113.66\","
    "\"requestParameters\":{\"userName\":\"carol.finance\","
    "\"policyArn\":\"arn:aws:iam::aws:policy/AdministratorAccess\"},\"responseElements\":null,"
    "\"recipientAccountId\":\"111122223333\"}],\"meta\":{}}";

/* ---- helpers ---------------------------------------------------------------- */

static cJSON *slack(const char *alert, size_t max_params) {
    buf b;
    sd_buf_init(&b);
    slack_fmt_opts o = {.max_params = max_params};
    assert_int_equal(sd_slack_format(&b, alert, strlen(alert), &o), 0);
    assert_null(strstr(b.data, "<!"));
    cJSON *msg = cJSON_ParseWithLength(b.data, b.len);
    assert_true(cJSON_IsObject(msg));
    sd_buf_free(&b);
    return msg;
}

static const cJSON *blocks(const cJSON *msg) {
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(msg, "attachments");
    assert_int_equal(cJSON_GetArraySize(att), 1);
    return cJSON_GetObjectItemCaseSensitive(att->child, "blocks");
}

static const char *text_of(const cJSON *o) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "text");
    assert_true(cJSON_IsString(t));
    return t->valuestring;
}

static const char *header_text(const cJSON *msg) {
    return text_of(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(blocks(msg), 0), "text"));
}
static const char *message_text(const cJSON *msg) {
    return text_of(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(blocks(msg), 1), "text"));
}
/* The text of field i (0 Severity .. 7 Event time). */
static const char *field_text(const cJSON *msg, int i) {
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(blocks(msg), 2), "fields");
    assert_int_equal(cJSON_GetArraySize(fields), 8);
    return text_of(cJSON_GetArrayItem(fields, i));
}
/* The code block's text, or NULL when there is none. */
static const char *code_text(const cJSON *msg) {
    const cJSON *b = cJSON_GetArrayItem(blocks(msg), 3);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text");
    return t ? text_of(t) : NULL;
}

/* Characters of UTF-8 text, as Slack counts them (UTF-16 units). */
static size_t units(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) != 0x80) n++;
        if (*p >= 0xF0) n++;
    }
    return n;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* No '<' or '>' in any string of the tree. */
static void assert_no_angles(const cJSON *it) {
    for (; it; it = it->next) {
        if (cJSON_IsString(it)) assert_null(strpbrk(it->valuestring, "<>"));
        assert_no_angles(it->child);
    }
}

/* An alert whose firing event is `event` (JSON text). */
static char *alert_with_event(const char *title, const char *message, const char *event) {
    buf b;
    sd_buf_init(&b);
    sd_buf_puts(&b, "{\"rule\":\"r\",\"title\":");
    sd_buf_json_string(&b, title, strlen(title));
    sd_buf_puts(&b, ",\"severity\":\"high\",\"message\":");
    sd_buf_json_string(&b, message, strlen(message));
    sd_buf_printf(&b, ",\"id\":\"abc\",\"count\":1,\"events\":[{\"eventName\":\"Old\"},%s]}", event);
    return sd_buf_steal(&b);
}

/* ---- Slack ------------------------------------------------------------------ */

static void test_slack_real_alert(void **state) {
    (void)state;
    cJSON *msg = slack(REAL, 0);
    assert_string_equal(text_of(msg), "[MEDIUM] IAM policy changed: IAM policy change: AttachUserPolicy by "
                                      "arn:aws:iam::111122223333:user/carol.finance");
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(msg, "attachments")->child;
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(att, "color")->valuestring, "#ECB22E");
    assert_string_equal(header_text(msg), "IAM policy changed");
    assert_string_equal(message_text(msg),
                        "IAM policy change: AttachUserPolicy by arn:aws:iam::111122223333:user/carol.finance");
    assert_string_equal(field_text(msg, 0), "*Severity*\nmedium");
    assert_string_equal(field_text(msg, 1), "*Rule*\ncis_aws_4_4_iam_policy_changes");
    assert_string_equal(field_text(msg, 2), "*Principal*\narn:aws:iam::111122223333:user/carol.finance");
    assert_string_equal(field_text(msg, 3), "*Source IP*\n203.0.113.66");
    assert_string_equal(field_text(msg, 4), "*Account*\n111122223333");
    assert_string_equal(field_text(msg, 5), "*Region*\nus-east-1");
    assert_string_equal(field_text(msg, 6), "*Event*\niam.amazonaws.com / AttachUserPolicy");
    assert_string_equal(field_text(msg, 7), "*Event time*\n2024-03-14T13:20:41Z");
    assert_string_equal(code_text(msg), "```{\"userName\":\"carol.finance\","
                                        "\"policyArn\":\"arn:aws:iam::aws:policy/AdministratorAccess\"}```");
    const cJSON *ctx = cJSON_GetArrayItem(blocks(msg), 4);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ctx, "type")->valuestring, "context");
    const cJSON *elems = cJSON_GetObjectItemCaseSensitive(ctx, "elements");
    assert_int_equal(cJSON_GetArraySize(elems), 1); /* count 1 is not shown */
    assert_string_equal(text_of(elems->child), "secdet alert 57e96c7fd27f6e6e7284461c06dba319");
    assert_null(cJSON_GetObjectItemCaseSensitive(msg, "username"));
    cJSON_Delete(msg);
}

static void test_slack_options_and_count(void **state) {
    (void)state;
    const char *alert = "{\"severity\":\"critical\",\"count\":5,\"id\":\"x\",\"events\":[]}";
    buf b;
    sd_buf_init(&b);
    slack_fmt_opts o = {.username = "secdet \"bot\"", .icon_emoji = ":rotating_light:", .channel = "#sec"};
    assert_int_equal(sd_slack_format(&b, alert, strlen(alert), &o), 0);
    cJSON *msg = cJSON_ParseWithLength(b.data, b.len);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(msg, "username")->valuestring, "secdet \"bot\"");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(msg, "icon_emoji")->valuestring, ":rotating_light:");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(msg, "channel")->valuestring, "#sec");
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(msg, "attachments")->child;
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(att, "color")->valuestring, "#8B0000");
    const cJSON *ctx = cJSON_GetArrayItem(blocks(msg), 3); /* no code block: no event */
    const cJSON *elems = cJSON_GetObjectItemCaseSensitive(ctx, "elements");
    assert_int_equal(cJSON_GetArraySize(elems), 2);
    assert_string_equal(text_of(cJSON_GetArrayItem(elems, 1)), "count 5");
    cJSON_Delete(msg);
    sd_buf_free(&b);
}

static void test_slack_escaping(void **state) {
    (void)state;
    char *alert =
        alert_with_event("<!here> & co", "by <!channel> via <http://evil|click> &amp; <@U024BE7LH>",
                         "{\"userIdentity\":{\"userName\":\"<!channel>\"},\"sourceIPAddress\":\"<http://evil|click>\","
                         "\"awsRegion\":\"&amp;\",\"eventSource\":\"<!everyone>\",\"eventName\":\"a>b\","
                         "\"requestParameters\":{\"x\":\"<!channel> & <http://evil|click>\"}}");
    cJSON *msg = slack(alert, 0);
    assert_no_angles(msg);
    assert_string_equal(text_of(msg), "[HIGH] &lt;!here&gt; &amp; co: by &lt;!channel&gt; via "
                                      "&lt;http://evil|click&gt; &amp;amp; &lt;@U024BE7LH&gt;");
    assert_string_equal(header_text(msg), "&lt;!here&gt; &amp; co");
    assert_string_equal(message_text(msg),
                        "by &lt;!channel&gt; via &lt;http://evil|click&gt; &amp;amp; &lt;@U024BE7LH&gt;");
    assert_string_equal(field_text(msg, 2), "*Principal*\n&lt;!channel&gt;");
    assert_string_equal(field_text(msg, 3), "*Source IP*\n&lt;http://evil|click&gt;");
    assert_string_equal(field_text(msg, 5), "*Region*\n&amp;amp;");
    assert_string_equal(field_text(msg, 6), "*Event*\n&lt;!everyone&gt; / a&gt;b");
    assert_string_equal(code_text(msg), "```{\"x\":\"&lt;!channel&gt; &amp; &lt;http://evil|click&gt;\"}```");
    cJSON_Delete(msg);
    free(alert);
}

static void test_slack_code_block_cannot_be_closed(void **state) {
    (void)state;
    char *alert = alert_with_event("t", "m", "{\"requestParameters\":{\"cmd\":\"```<!channel>``` `x`\"}}");
    cJSON *msg = slack(alert, 0);
    const char *code = code_text(msg);
    assert_true(strncmp(code, "```", 3) == 0 && ends_with(code, "```"));
    size_t n = strlen(code);
    for (size_t i = 3; i + 1 < n - 3; i++) assert_false(code[i] == '`' && code[i + 1] == '`');
    /* each backtick sits between zero-width spaces */
    assert_non_null(
        strstr(code, "\xE2\x80\x8B`\xE2\x80\x8B\xE2\x80\x8B`\xE2\x80\x8B\xE2\x80\x8B`\xE2\x80\x8B&lt;!channel"));
    cJSON_Delete(msg);
    free(alert);
}

static void test_slack_cut_lengths(void **state) {
    (void)state;
    char title[201], message[5001];
    memset(title, 'T', 200);
    title[200] = 0;
    memset(message, 'M', 5000);
    message[5000] = 0;
    /* 10 KB of requestParameters */
    buf ev;
    sd_buf_init(&ev);
    sd_buf_puts(&ev, "{\"requestParameters\":{\"policy\":\"");
    for (int i = 0; i < 10000; i++) sd_buf_putc(&ev, (char)('a' + i % 26));
    sd_buf_puts(&ev, "\"}}");
    char *alert = alert_with_event(title, message, ev.data);

    cJSON *msg = slack(alert, 100);
    const char *h = header_text(msg);
    assert_int_equal(units(h), 150);
    assert_true(ends_with(h, "T\xE2\x80\xA6"));
    assert_int_equal(units(message_text(msg)), 3000);
    assert_true(ends_with(message_text(msg), "M\xE2\x80\xA6"));
    assert_int_equal(units(text_of(msg)), 3000);
    /* 97 bytes of compact JSON and "…" (3 bytes) = max_params */
    buf want;
    sd_buf_init(&want);
    sd_buf_puts(&want, "```{\"policy\":\"");
    for (int i = 0; i < 97 - 11; i++) sd_buf_putc(&want, (char)('a' + i % 26));
    sd_buf_puts(&want, "\xE2\x80\xA6```");
    assert_string_equal(code_text(msg), want.data);
    cJSON_Delete(msg);

    msg = slack(alert, 0); /* default: 1500 bytes */
    assert_int_equal(strlen(code_text(msg)), 6 + 1500);
    cJSON_Delete(msg);
    msg = slack(alert, 20000); /* bigger than a section: cut to 3000 characters */
    assert_int_equal(units(code_text(msg)), 3000);
    assert_true(ends_with(code_text(msg), "\xE2\x80\xA6```"));
    cJSON_Delete(msg);
    sd_buf_free(&want);
    sd_buf_free(&ev);
    free(alert);
}

static void test_slack_cuts_keep_characters_whole(void **state) {
    (void)state;
    /* 100 emoji (2 units each) and 40 "&" (5 units escaped) in the header */
    buf t;
    sd_buf_init(&t);
    for (int i = 0; i < 100; i++) sd_buf_puts(&t, "\xF0\x9F\x98\x80");
    char *alert = alert_with_event(t.data, "m", "{\"requestParameters\":\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"}");
    cJSON *msg = slack(alert, 8); /* '"' and 2 é = 5 bytes, 3 for "…" */
    const char *h = header_text(msg);
    assert_int_equal(units(h), 149); /* 74 emoji and "…": a 75th would leave no room */
    assert_true(ends_with(h, "\xF0\x9F\x98\x80\xE2\x80\xA6"));
    assert_string_equal(code_text(msg), "```\"\xC3\xA9\xC3\xA9\xE2\x80\xA6```");
    cJSON_Delete(msg);
    free(alert);

    sd_buf_reset(&t);
    for (int i = 0; i < 40; i++) sd_buf_putc(&t, '&');
    alert = alert_with_event(t.data, "m", "{}");
    msg = slack(alert, 0);
    h = header_text(msg);
    assert_int_equal(units(h), 29 * 5 + 1); /* no entity cut in half */
    assert_true(ends_with(h, "&amp;\xE2\x80\xA6"));
    cJSON_Delete(msg);
    free(alert);
    sd_buf_free(&t);
}

static void test_slack_missing_fields(void **state) {
    (void)state;
    static const char *const ALERTS[] = {"{}", "[]", "42", "{\"events\":[1,2]}", "{\"events\":{}}"};
    for (size_t i = 0; i < sizeof ALERTS / sizeof ALERTS[0]; i++) {
        cJSON *msg = slack(ALERTS[i], 0);
        assert_string_equal(text_of(msg), "[-] -: -");
        assert_string_equal(header_text(msg), "-");
        assert_string_equal(message_text(msg), "-");
        static const char *const WANT[] = {"*Severity*\n-", "*Rule*\n-",   "*Principal*\n-", "*Source IP*\n-",
                                           "*Account*\n-",  "*Region*\n-", "*Event*\n-",     "*Event time*\n-"};
        for (int f = 0; f < 8; f++) assert_string_equal(field_text(msg, f), WANT[f]);
        assert_null(code_text(msg)); /* block 3 is the context */
        const cJSON *att = cJSON_GetObjectItemCaseSensitive(msg, "attachments")->child;
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(att, "color")->valuestring, "#A0A0A0");
        cJSON_Delete(msg);
    }
    /* fallbacks: principalId, then userName; userIdentity.accountId; one of source/name; null params */
    char *alert = alert_with_event("t", "m",
                                   "{\"userIdentity\":{\"arn\":\"\",\"principalId\":\"AIDA1\",\"accountId\":\"42\"},"
                                   "\"eventName\":\"OnlyName\",\"requestParameters\":null,\"sourceIPAddress\":7}");
    cJSON *msg = slack(alert, 0);
    assert_string_equal(field_text(msg, 2), "*Principal*\nAIDA1");
    assert_string_equal(field_text(msg, 3), "*Source IP*\n7");
    assert_string_equal(field_text(msg, 4), "*Account*\n42");
    assert_string_equal(field_text(msg, 6), "*Event*\nOnlyName");
    assert_null(code_text(msg));
    cJSON_Delete(msg);
    free(alert);
    alert =
        alert_with_event("t", "m", "{\"userIdentity\":{\"userName\":\"bob\"},\"eventSource\":\"s3.amazonaws.com\"}");
    msg = slack(alert, 0);
    assert_string_equal(field_text(msg, 2), "*Principal*\nbob");
    assert_string_equal(field_text(msg, 6), "*Event*\ns3.amazonaws.com");
    cJSON_Delete(msg);
    free(alert);
}

static void test_slack_bad_json(void **state) {
    (void)state;
    buf b;
    sd_buf_init(&b);
    sd_buf_puts(&b, "kept");
    slack_fmt_opts o = {0};
    assert_int_equal(sd_slack_format(&b, "{\"rule\":", 8, &o), -1);
    assert_int_equal(sd_slack_format(&b, "", 0, NULL), -1);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "kept");
    /* the length is honoured: the text after it is not read */
    assert_int_equal(sd_slack_format(&b, "{}garbage", 2, NULL), 0);
    assert_int_equal(strncmp(b.data, "kept{", 5), 0);
    sd_buf_free(&b);
}

static void test_slack_colors(void **state) {
    (void)state;
    assert_string_equal(sd_slack_color("critical"), "#8B0000");
    assert_string_equal(sd_slack_color("high"), "#E01E5A");
    assert_string_equal(sd_slack_color("medium"), "#ECB22E");
    assert_string_equal(sd_slack_color("low"), "#36C5F0");
    assert_string_equal(sd_slack_color("info"), "#A0A0A0");
    assert_string_equal(sd_slack_color("HIGH"), "#E01E5A");
    assert_string_equal(sd_slack_color("bogus"), "#A0A0A0");
    assert_string_equal(sd_slack_color(NULL), "#A0A0A0");
}

/* ---- Syslog ----------------------------------------------------------------- */

static char *syslog_line(const char *alert, const syslog_fmt_opts *o) {
    buf b;
    sd_buf_init(&b);
    assert_int_equal(sd_syslog_format(&b, alert, strlen(alert), o), 0);
    for (size_t i = 0; i < b.len; i++) assert_true((unsigned char)b.data[i] >= 0x20 && b.data[i] != 0x7f);
    return sd_buf_steal(&b);
}

/* The MSG part: what follows "] " after the SD element (no ']' in the MSGs tested). */
static const char *msg_part(const char *line) {
    const char *p = strstr(line, "\"] ");
    assert_non_null(p);
    return p + 3;
}

static void test_syslog_real_alert(void **state) {
    (void)state;
    syslog_fmt_opts o = {.facility = 10, .hostname = "ip-10-0-0-1", .procid = "4242"};
    char *line = syslog_line(REAL, &o);
    assert_string_equal(line, "<84>1 2024-03-14T13:20:41.000000Z ip-10-0-0-1 secdet 4242 alert [secdet@32473 "
                              "rule=\"cis_aws_4_4_iam_policy_changes\" severity=\"medium\" "
                              "id=\"57e96c7fd27f6e6e7284461c06dba319\" source=\"cloudtrail\" count=\"1\"] "
                              "IAM policy changed: IAM policy change: AttachUserPolicy by "
                              "arn:aws:iam::111122223333:user/carol.finance");
    free(line);
}

static void test_syslog_pri(void **state) {
    (void)state;
    static const struct {
        const char *sev;
        int code;
    } SEVS[] = {
        {"critical", 2}, {"high", 3}, {"medium", 4}, {"low", 5}, {"info", 6}, {"bogus", 5},
    };
    static const int FACILITIES[] = {0, 1, 4, 10, 16, 23};
    for (size_t s = 0; s < sizeof SEVS / sizeof SEVS[0]; s++) {
        assert_int_equal(sd_syslog_severity(SEVS[s].sev), SEVS[s].code);
        char alert[64], want[16];
        snprintf(alert, sizeof alert, "{\"severity\":\"%s\"}", SEVS[s].sev);
        for (size_t f = 0; f < sizeof FACILITIES / sizeof FACILITIES[0]; f++) {
            syslog_fmt_opts o = {.facility = FACILITIES[f]};
            char *line = syslog_line(alert, &o);
            snprintf(want, sizeof want, "<%d>1 ", FACILITIES[f] * 8 + SEVS[s].code);
            assert_int_equal(strncmp(line, want, strlen(want)), 0);
            free(line);
        }
    }
    assert_int_equal(sd_syslog_severity(NULL), 5);
    assert_int_equal(sd_syslog_severity("CRITICAL"), 2);
    /* out of range facility -> 1 (user) */
    syslog_fmt_opts bad = {.facility = 24};
    char *line = syslog_line("{\"severity\":\"high\"}", &bad);
    assert_int_equal(strncmp(line, "<11>1 ", 6), 0);
    free(line);
}

static void test_syslog_missing_fields(void **state) {
    (void)state;
    char *line = syslog_line("{}", NULL);
    assert_string_equal(line, "<13>1 - - secdet - alert [secdet@32473 rule=\"-\" severity=\"-\" id=\"-\" "
                              "source=\"-\" count=\"-\"] -: -");
    free(line);
    line = syslog_line("[1,2]", NULL);
    assert_string_equal(msg_part(line), "-: -");
    free(line);
    buf b;
    sd_buf_init(&b);
    sd_buf_puts(&b, "kept");
    assert_int_equal(sd_syslog_format(&b, "{\"a\"", 4, NULL), -1);
    assert_int_equal(b.len, 4);
    sd_buf_free(&b);
}

static void test_syslog_sd_escaping(void **state) {
    (void)state;
    const char *alert = "{\"rule\":\"a\\\"b\\\\c]d\",\"severity\":\"low\",\"id\":\"x\\ny\\u0001\","
                        "\"source\":\"]\\\"\\\\\",\"count\":12}";
    char *line = syslog_line(alert, NULL);
    assert_non_null(strstr(line, " rule=\"a\\\"b\\\\c\\]d\" severity=\"low\" id=\"x\\ny\\x01\" "
                                 "source=\"\\]\\\"\\\\\" count=\"12\"]"));
    free(line);
}

static void test_syslog_control_characters(void **state) {
    (void)state;
    const char *alert = "{\"title\":\"T\\r\",\"message\":\"l1\\nl2\\tx\\u0001y\\u007fz \\\"q\\\" \\\\ ]"
                        " caf\\u00e9\"}";
    char *line = syslog_line(alert, NULL);
    assert_string_equal(msg_part(line), "T\\r: l1\\nl2\\tx\\x01y\\x7fz \"q\" \\ ] caf\xC3\xA9");
    free(line);
    /* invalid UTF-8 becomes U+FFFD */
    const char raw[] = "{\"title\":\"a\xFF"
                       "b\"}";
    line = syslog_line(raw, NULL);
    assert_string_equal(msg_part(line), "a\xEF\xBF\xBD"
                                        "b: -");
    free(line);
}

static void test_syslog_header_lengths(void **state) {
    (void)state;
    char longs[301];
    memset(longs, 'h', 300);
    longs[300] = 0;
    syslog_fmt_opts o = {.facility = 1,
                         .hostname = longs,
                         .app_name = longs,
                         .procid = longs,
                         .msgid = longs,
                         .sd_id = "my=sd]id\"@1 and more text past 32"};
    char *line = syslog_line("{\"time\":\"2024-01-02T03:04:05Z\"}", &o);
    buf want;
    sd_buf_init(&want);
    sd_buf_puts(&want, "<13>1 2024-01-02T03:04:05.000000Z ");
    static const size_t LENS[] = {255, 48, 128, 32};
    for (int i = 0; i < 4; i++) {
        sd_buf_append(&want, longs, LENS[i]);
        sd_buf_putc(&want, ' ');
    }
    sd_buf_puts(&want, "[my_sd_id_@1_and_more_text_past_3 rule=");
    assert_int_equal(strncmp(line, want.data, want.len), 0);
    free(line);
    sd_buf_free(&want);

    syslog_fmt_opts spaced = {.hostname = "web 1\n\xC3\xA9", .app_name = "", .procid = "", .msgid = ""};
    line = syslog_line("{}", &spaced);
    const char *want_start = "<5>1 - web_1___ - - - [secdet@32473 rule=";
    assert_int_equal(strncmp(line, want_start, strlen(want_start)), 0);
    free(line);
}

static void test_syslog_msg_cut(void **state) {
    (void)state;
    char msg[10001];
    memset(msg, 'm', 10000);
    msg[10000] = 0;
    buf a;
    sd_buf_init(&a);
    sd_buf_printf(&a, "{\"title\":\"T\",\"message\":\"%s\"}", msg);
    char *line = syslog_line(a.data, NULL); /* default 8192 */
    assert_int_equal(strlen(msg_part(line)), 8192);
    assert_true(ends_with(line, "mmm\xE2\x80\xA6"));
    free(line);

    syslog_fmt_opts o = {.max_msg = 20};
    line = syslog_line(a.data, &o);
    assert_string_equal(msg_part(line), "T: mmmmmmmmmmmmmm\xE2\x80\xA6");
    free(line);
    sd_buf_free(&a);

    /* an escape is never split: "T: " + \x01 (4) + "…" fits 10, a second \x01 does not */
    o.max_msg = 10;
    line = syslog_line("{\"title\":\"T\",\"message\":\"\\u0001\\u0001\\u0001\"}", &o);
    assert_string_equal(msg_part(line), "T: \\x01\xE2\x80\xA6");
    free(line);
    /* nor a character: "T: " + é (2) + "…" = 8, a second é would need 10 */
    o.max_msg = 8;
    line = syslog_line("{\"title\":\"T\",\"message\":\"\xC3\xA9\xC3\xA9\xC3\xA9\"}", &o);
    assert_string_equal(msg_part(line), "T: \xC3\xA9\xE2\x80\xA6");
    free(line);
    /* exactly the limit: no cut */
    o.max_msg = 9;
    line = syslog_line("{\"title\":\"T\",\"message\":\"\xC3\xA9\xC3\xA9\xC3\xA9\"}", &o);
    assert_string_equal(msg_part(line), "T: \xC3\xA9\xC3\xA9\xC3\xA9");
    free(line);
    line = syslog_line("{\"title\":\"T\",\"message\":\"abcdef\"}", &o);
    assert_string_equal(msg_part(line), "T: abcdef");
    free(line);
}

static void test_syslog_timestamp(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } CASES[] = {
        {"2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000000Z"},
        {"2024-01-02T03:04:05.123456789+01:00", "2024-01-02T02:04:05.123456Z"},
        {"2024-01-02T03:04:05.5Z", "2024-01-02T03:04:05.500000Z"},
        {"1969-12-31T23:59:59.25Z", "1969-12-31T23:59:59.250000Z"},
        {"2024-03-14 09:00:00z", "2024-03-14T09:00:00.000000Z"},
        {"yesterday", "-"},
        {"", "-"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char alert[128], want[64];
        snprintf(alert, sizeof alert, "{\"time\":\"%s\"}", CASES[i].in);
        char *line = syslog_line(alert, NULL);
        snprintf(want, sizeof want, "<13>1 %s - secdet", CASES[i].out);
        assert_int_equal(strncmp(line, want, strlen(want)), 0);
        free(line);
    }
    char *line = syslog_line("{\"time\":12}", NULL);
    assert_int_equal(strncmp(line, "<13>1 - - ", 10), 0);
    free(line);
}

/* ---- Standard Webhooks ------------------------------------------------------ */

static void check_sign(const char *secret, const char *id, int64_t ts, const char *body, const char *want) {
    unsigned char key[64];
    size_t keylen = 0;
    assert_int_equal(sd_webhook_secret_decode(secret, key, sizeof key, &keylen), 0);
    buf b;
    sd_buf_init(&b);
    sd_buf_puts(&b, "x ");
    assert_int_equal(sd_webhook_sign(&b, key, keylen, id, ts, body, strlen(body)), 0);
    assert_string_equal(b.data + 2, want);
    assert_int_equal(strncmp(b.data, "x ", 2), 0);
    sd_buf_free(&b);
}

static void test_webhook_vectors(void **state) {
    (void)state;
    /* the reference libraries' test vector */
    check_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
               "{\"test\": 2432232314}", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* The same secret without the prefix. */
    check_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232314}",
               "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* Computed independently when this test was written, with python3's hmac module:
     *   key = bytes(range(1, 33)) + b"\xff\x00"          (34 bytes: "==" padding, a 0 byte)
     *   base64.b64encode(hmac.new(key, b'evt_01HZX3.1700000000.{"alert":"caf\xc3\xa9","n":[1,2,3]}\n',
     *                             hashlib.sha256).digest())
     * and confirmed with `openssl dgst -sha256 -mac HMAC -macopt hexkey:... -binary | base64`. */
    check_sign("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyD/AA==", "evt_01HZX3", 1700000000,
               "{\"alert\":\"caf\xC3\xA9\",\"n\":[1,2,3]}\n", "v1,HApeXrWQxiCiDMuKgYYQrD4sRIHIMBhljfMpj2MnxPA=");
}

static void test_webhook_secret_decode(void **state) {
    (void)state;
    unsigned char key[34];
    size_t keylen = 99;
    /* padding is not counted: 34 bytes from 48 characters ending "==" */
    assert_int_equal(
        sd_webhook_secret_decode("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyD/AA==", key, 34, &keylen), 0);
    assert_int_equal(keylen, 34);
    assert_int_equal(key[0], 1);
    assert_int_equal(key[32], 0xff);
    assert_int_equal(key[33], 0);
    assert_int_equal(sd_webhook_secret_decode("QUJD", key, 3, &keylen), 0);
    assert_int_equal(keylen, 3);
    assert_memory_equal(key, "ABC", 3);
    assert_int_equal(sd_webhook_secret_decode("QUI=", key, 3, &keylen), 0);
    assert_int_equal(keylen, 2);

    static const char *const BAD[] = {
        "whsec_",     /* empty key */
        "",           /* empty key */
        "whsec_abc!", /* not the alphabet */
        "QUJ",        /* not a multiple of 4 */
        "QU=D",       /* '=' in the middle */
        "Q===",       /* three '=' */
        "====",       /* only padding */
        "QUJD RA==",  /* whitespace */
        " QUJD",      /* leading whitespace */
        "QUJD\n",     /* trailing newline */
        "QUJD-_==",   /* the URL-safe alphabet */
        "whsec_whsec_QUJD",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        keylen = 99;
        assert_int_equal(sd_webhook_secret_decode(BAD[i], key, sizeof key, &keylen), -1);
        assert_int_equal(keylen, 99);
    }
    /* too long for keycap */
    assert_int_equal(sd_webhook_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, 23, &keylen), -1);
    assert_int_equal(sd_webhook_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, 24, &keylen), 0);
    assert_int_equal(keylen, 24);
    assert_int_equal(sd_webhook_secret_decode(NULL, key, sizeof key, &keylen), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slack_real_alert),
        cmocka_unit_test(test_slack_options_and_count),
        cmocka_unit_test(test_slack_escaping),
        cmocka_unit_test(test_slack_code_block_cannot_be_closed),
        cmocka_unit_test(test_slack_cut_lengths),
        cmocka_unit_test(test_slack_cuts_keep_characters_whole),
        cmocka_unit_test(test_slack_missing_fields),
        cmocka_unit_test(test_slack_bad_json),
        cmocka_unit_test(test_slack_colors),
        cmocka_unit_test(test_syslog_real_alert),
        cmocka_unit_test(test_syslog_pri),
        cmocka_unit_test(test_syslog_missing_fields),
        cmocka_unit_test(test_syslog_sd_escaping),
        cmocka_unit_test(test_syslog_control_characters),
        cmocka_unit_test(test_syslog_header_lengths),
        cmocka_unit_test(test_syslog_msg_cut),
        cmocka_unit_test(test_syslog_timestamp),
        cmocka_unit_test(test_webhook_vectors),
        cmocka_unit_test(test_webhook_secret_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
