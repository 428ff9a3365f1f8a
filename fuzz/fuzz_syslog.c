/* fuzz_syslog.c — libFuzzer target: an alert's JSON as an RFC 5424 message.
 *
 * The input is the alert JSON itself (the seeds are real alerts). Its length
 * picks the options: facility = length % 24; even -> max_msg 0 (8192),
 * odd -> 1 + length % 300 (MSG cut, ellipsis or not); every fourth length
 * also gives header fields that need replacing and cutting.
 * Properties:
 *  - sd_syslog_format fails (-1, nothing written) exactly when sd_json_parse
 *    (cJSON's language, raw control characters in strings refused) cannot
 *    parse the input;
 *  - the message is one line: no byte below 0x20 and no 0x7f anywhere; it
 *    is valid UTF-8;
 *  - it is "<PRI>1 " with PRI = facility * 8 + a severity in 2..6, then a
 *    TIMESTAMP ("-" or YYYY-MM-DDThh:mm:ss.uuuuuuZ), four PRINTUSASCII header
 *    fields within the RFC's lengths, one well-formed SD element (SD-NAME
 *    then name="value" pairs in which '"', '\' and ']' only appear escaped),
 *    a space, and a MSG of at most max_msg bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sink/format.h"
#include "util/json.h"
#include "utf8_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) __builtin_trap();                                                                                 \
    } while (0)

/* A header field at *p: 1..max PRINTUSASCII bytes, then one space. */
static void header_field(const char **p, size_t max) {
    size_t n = 0;
    while ((*p)[n] > 32 && (*p)[n] < 127) n++;
    CHECK(n >= 1 && n <= max && (*p)[n] == ' ');
    *p += n + 1;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static void timestamp(const char **p) {
    if ((*p)[0] == '-') {
        CHECK((*p)[1] == ' ');
        *p += 2;
        return;
    }
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ ";
    for (size_t i = 0; i < sizeof shape - 1; i++) CHECK(shape[i] == 'd' ? is_digit((*p)[i]) : (*p)[i] == shape[i]);
    *p += sizeof shape - 1;
}

/* [SD-NAME (SP PARAM-NAME="PARAM-VALUE")*] then a space. */
static void sd_element(const char **p) {
    const char *s = *p;
    CHECK(*s++ == '[');
    size_t n = 0;
    while (s[n] > 32 && s[n] < 127 && s[n] != '=' && s[n] != ']' && s[n] != '"') n++;
    CHECK(n >= 1 && n <= 32);
    s += n;
    int params = 0;
    while (*s == ' ') {
        s++;
        n = 0;
        while (s[n] > 32 && s[n] < 127 && s[n] != '=' && s[n] != ']' && s[n] != '"') n++;
        CHECK(n >= 1 && n <= 32 && s[n] == '=' && s[n + 1] == '"');
        s += n + 2;
        for (;; s++) {
            CHECK(*s != 0 && *s != ']');
            if (*s == '\\') {
                s++;
                CHECK(*s == '"' || *s == '\\' || *s == ']' || *s == 'n' || *s == 'r' || *s == 't' || *s == 'x');
            } else if (*s == '"') {
                break;
            }
        }
        s++;
        params++;
    }
    CHECK(params == 5 && s[0] == ']' && s[1] == ' ');
    *p = s + 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536) return 0;
    static const char long_host[] =
        "host with spaces and \xc3\xa9 and a very long name that goes on and on past every limit the RFC sets "
        "host with spaces and \xc3\xa9 and a very long name that goes on and on past every limit the RFC sets "
        "host with spaces and \xc3\xa9 and a very long name that goes on and on past every limit the RFC sets";
    bool odd_fields = size % 4 == 3;
    syslog_fmt_opts o = {
        .facility = (int)(size % 24),
        .max_msg = size % 2 ? 1 + size % 300 : 0,
        .hostname = odd_fields ? long_host : "ip-10-0-0-1.ec2.internal",
        .app_name = odd_fields ? long_host : NULL,
        .procid = odd_fields ? long_host : "1234",
        .msgid = odd_fields ? long_host : NULL,
        .sd_id = odd_fields ? "a=b]c\"d e@1 and a name far too long for SD-NAME" : NULL,
    };
    size_t max_msg = o.max_msg ? o.max_msg : 8192;
    cJSON *in = sd_json_parse((const char *)data, size, 0, NULL);
    buf out;
    sd_buf_init(&out);
    int rc = sd_syslog_format(&out, (const char *)data, size, &o);
    CHECK(rc == (in ? 0 : -1));
    cJSON_Delete(in);
    if (rc != 0) {
        CHECK(out.len == 0);
        sd_buf_free(&out);
        return 0;
    }
    for (size_t i = 0; i < out.len; i++) CHECK((unsigned char)out.data[i] >= 0x20 && out.data[i] != 0x7f);
    CHECK(oracle_utf8_valid((const unsigned char *)out.data, out.len));

    const char *p = out.data;
    CHECK(*p++ == '<');
    char *end;
    long pri = strtol(p, &end, 10);
    CHECK(end > p && end - p <= 3 && pri / 8 == o.facility && pri % 8 >= 2 && pri % 8 <= 6);
    p = end;
    CHECK(strncmp(p, ">1 ", 3) == 0);
    p += 3;
    timestamp(&p);
    header_field(&p, 255);
    header_field(&p, 48);
    header_field(&p, 128);
    header_field(&p, 32);
    sd_element(&p);
    size_t msg_len = out.len - (size_t)(p - out.data);
    CHECK(msg_len <= max_msg);
    sd_buf_free(&out);
    return 0;
}
