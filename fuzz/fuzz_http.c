/* fuzz_http.c — libFuzzer target: an HTTP response as the HTTP sinks read it
 * (src/sink/http_response.c, then sd_http_sink_classify in http_sink.c).
 *
 * Input: byte 0 picks the transfer's curl code (bits 0-1: 3 = a timeout,
 * else none), the size of the body chunks (bits 2-4: 0 whole, else
 * 2^(k-1) bytes) and the clock (bits 5-7: one of NOW[]). The rest is what
 * curl hands the callbacks: header lines, each up to and including its
 * '\n', until a blank line; then another response head when the next bytes
 * start with "HTTP/" (interim 1xx responses come first), else the body.
 *
 * Properties:
 *  - Retry-After: the value kept is that of the last Retry-After line after
 *    the last status line, read with sd_http_retry_after; -1 or within 0..a
 *    year; delta-seconds give exactly their value (capped at a year); an
 *    HTTP-date gives a wait that shrinks by exactly one second when the clock
 *    moves one second;
 *  - the status is 0 or 100..999, and that of "HTTP/1.1 NNN" lines exactly;
 *  - the body kept is the body's first HTTP_BODY_CAP bytes, NUL-terminated;
 *  - the delivery result follows the status (2xx ok; 408, 425, 429, 5xx, 1xx
 *    or no response: retry, with the Retry-After wait; other: permanent), and
 *    a permanent error is "HTTP <status>" or "HTTP <status>: <excerpt>",
 *    the excerpt at most 160 bytes of the body with control characters as
 *    spaces, trimmed, not cutting a UTF-8 sequence the body had whole.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "sink/http.h"
#include "sink/http_sink.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) __builtin_trap();                                                                                 \
    } while (0)

static const int64_t NOW[8] = {
    1710406800,    /* 2024-03-14T09:00:00Z */
    0,             /* the epoch */
    -1,            /* just before it */
    INT32_MAX,     /* 2038-01-19 */
    253402300799,  /* 9999-12-31T23:59:59Z */
    -62135596800,  /* 0001-01-01 */
    4102444800,    /* 2100-01-01 */
    INT64_MAX / 2, /* far past any date curl reads */
};

static bool is_space(unsigned char c) { return isspace(c) != 0; }

/* Retry-After from delta-seconds text, computed without sd_http_retry_after. */
static int64_t delta_oracle(const char *v, size_t n) {
    const int64_t max_s = HTTP_RETRY_AFTER_MAX_MS / 1000;
    size_t i = 0;
    while (i < n && v[i] == '0') i++;
    if (n - i > 10) return HTTP_RETRY_AFTER_MAX_MS; /* over 9 999 999 999 s */
    int64_t s = 0;
    for (; i < n; i++) s = s * 10 + (v[i] - '0');
    return (s > max_s ? max_s : s) * 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const int curl_code = (data[0] & 3) == 3 ? CURLE_OPERATION_TIMEDOUT : CURLE_OK;
    const unsigned k = (data[0] >> 2) & 7;
    const size_t chunk = k ? (size_t)1 << (k - 1) : SIZE_MAX;
    const int64_t now = NOW[data[0] >> 5];
    const char *p = (const char *)data + 1;
    size_t n = size - 1, at = 0;

    http_response r;
    sd_http_response_init(&r);
    /* What the harness saw: the last status line and the last Retry-After after it. */
    const char *ra = NULL, *status_line = NULL;
    size_t ra_len = 0, status_len = 0;
    bool in_head = true;
    while (in_head && at < n) {
        const char *nl = memchr(p + at, '\n', n - at);
        size_t len = nl ? (size_t)(nl - (p + at)) + 1 : n - at;
        const char *line = p + at;
        sd_http_response_header(&r, line, len, now);
        at += len;
        if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
            status_line = line;
            status_len = len;
            ra = NULL;
        } else if (len >= 12 && strncasecmp(line, "retry-after:", 12) == 0) {
            ra = line + 12;
            ra_len = len - 12;
        }
        bool blank = len == 1 || (len == 2 && line[0] == '\r');
        if (blank) in_head = n - at >= 5 && memcmp(p + at, "HTTP/", 5) == 0;
    }
    const char *body = p + at;
    size_t body_total = n - at;
    for (size_t b = 0; b < body_total;) {
        size_t take = body_total - b < chunk ? body_total - b : chunk;
        sd_http_response_body(&r, body + b, take);
        b += take;
    }

    /* Retry-After. */
    CHECK(r.retry_after_ms == -1 || (r.retry_after_ms >= 0 && r.retry_after_ms <= HTTP_RETRY_AFTER_MAX_MS));
    if (!ra) {
        CHECK(r.retry_after_ms == -1);
    } else {
        while (ra_len && is_space((unsigned char)ra[0])) ra++, ra_len--;
        while (ra_len && is_space((unsigned char)ra[ra_len - 1])) ra_len--;
        CHECK(r.retry_after_ms == sd_http_retry_after(ra, ra_len, now));
        bool digits = ra_len > 0 && ra_len <= 64;
        for (size_t i = 0; i < ra_len && digits; i++) digits = isdigit((unsigned char)ra[i]) != 0;
        if (digits) {
            CHECK(r.retry_after_ms == delta_oracle(ra, ra_len));
        } else if (r.retry_after_ms > 0 && r.retry_after_ms < HTTP_RETRY_AFTER_MAX_MS && now < INT64_MAX) {
            int64_t later = sd_http_retry_after(ra, ra_len, now + 1);
            CHECK(later == r.retry_after_ms - 1000);
        }
    }

    /* Status. */
    CHECK(r.status == 0 || (r.status >= 100 && r.status <= 999));
    if (status_line && status_len >= 12 && memcmp(status_line, "HTTP/1.1 ", 9) == 0 && status_line[9] >= '1' &&
        status_line[9] <= '9' && isdigit((unsigned char)status_line[10]) && isdigit((unsigned char)status_line[11]) &&
        (status_len == 12 || status_line[12] == ' ' || status_line[12] == '\r' || status_line[12] == '\n'))
        CHECK(r.status == (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0'));
    if (!status_line) CHECK(r.status == 0);

    /* Body. */
    size_t want = body_total < HTTP_BODY_CAP ? body_total : HTTP_BODY_CAP;
    CHECK(r.body_len == want && memcmp(r.body, body, want) == 0 && r.body[want] == '\0');

    /* The delivery result, as curl would report this transfer. */
    http_result res;
    sd_http_response_result(&r, r.status, curl_code, NULL, &res);
    http_sink_outcome o;
    sd_http_sink_classify(&res, &o);
    CHECK(memchr(o.error, '\0', sizeof o.error) != NULL);
    long st = r.status;
    int64_t wait = r.retry_after_ms > 0 ? r.retry_after_ms : 0;
    if (curl_code != CURLE_OK || st == 0) {
        CHECK(o.result == SECDET_SINK_RETRY && o.retry_after_ms == wait && o.error[0]);
    } else if (st >= 200 && st <= 299) {
        CHECK(o.result == SECDET_SINK_OK && o.error[0] == '\0');
    } else if (st == 408 || st == 425 || st == 429 || st >= 500 || st < 200) {
        char text[32];
        snprintf(text, sizeof text, "HTTP %ld", st);
        CHECK(o.result == SECDET_SINK_RETRY && o.retry_after_ms == wait && strcmp(o.error, text) == 0);
    } else {
        CHECK(o.result == SECDET_SINK_PERMANENT && o.retry_after_ms == 0);
        char head[32];
        int hl = snprintf(head, sizeof head, "HTTP %ld", st);
        CHECK(strncmp(o.error, head, (size_t)hl) == 0);
        const char *ex = o.error + hl;
        if (*ex) {
            CHECK(ex[0] == ':' && ex[1] == ' ');
            ex += 2;
            size_t el = strlen(ex);
            CHECK(el > 0 && el <= 160 && ex[0] != ' ' && ex[el - 1] != ' ');
            for (size_t i = 0; i < el; i++) CHECK((unsigned char)ex[i] >= 0x20 && (unsigned char)ex[i] != 0x7f);
            /* The excerpt is the body's start, control characters as spaces. */
            size_t lead = 0;
            while (lead < r.body_len && ((unsigned char)r.body[lead] <= 0x20 || r.body[lead] == 0x7f)) lead++;
            CHECK(lead + el <= r.body_len);
            for (size_t i = 0; i < el; i++) {
                unsigned char b = (unsigned char)r.body[lead + i];
                CHECK((unsigned char)ex[i] == (b < 0x20 || b == 0x7f ? ' ' : b));
            }
            /* Not cut inside a sequence the body had whole. */
            size_t end = lead + el;
            if (end < r.body_len) {
                size_t i = 0;
                while (i < end) {
                    size_t l = sd_utf8_seq_len((const unsigned char *)r.body + i, r.body_len - i);
                    if (!l) l = 1;
                    if (i + l > end) CHECK(sd_utf8_seq_len((const unsigned char *)r.body + i, r.body_len - i) == 0);
                    i += l;
                }
            }
        }
    }
    return 0;
}
