/* http_response.c — what the HTTP client keeps of a response, as pure
 * functions of the bytes curl hands its header and write callbacks and of
 * the clock (passed in), so that they can be tested and fuzzed without a
 * network (tests/unit/test_http_response.c, fuzz/fuzz_http.c).
 *
 * Promises (http.h): retry_after_ms is -1 or within 0..HTTP_RETRY_AFTER_MAX_MS
 * whatever the header says (a date in the year 9999, thirty digits); the
 * body excerpt is the first HTTP_BODY_CAP bytes, NUL-terminated; a status
 * line starts a new response, so a Retry-After of an interim response
 * (100 Continue) is forgotten; the result's error text is one of a few fixed
 * forms that never quote the URL or the body.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "sink/http.h"
#include "util/limits.h"

#define RETRY_AFTER_MAX_S (HTTP_RETRY_AFTER_MAX_MS / 1000)

void sd_http_response_init(http_response *r) {
    memset(r, 0, sizeof *r);
    r->retry_after_ms = -1;
}

int64_t sd_http_retry_after(const char *v, size_t len, int64_t now_s) {
    if (len == 0 || len > LIMIT_RETRY_AFTER_CHARS) return -1;
    bool digits = true;
    for (size_t i = 0; i < len; i++) digits = digits && isdigit((unsigned char)v[i]);
    if (digits) {
        /* delta-seconds; any number of digits, saturating at the cap. */
        int64_t s = 0;
        for (size_t i = 0; i < len && s <= RETRY_AFTER_MAX_S; i++) s = s * 10 + (v[i] - '0');
        return (s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s) * 1000;
    }
    char text[LIMIT_RETRY_AFTER_CHARS + 1];
    memcpy(text, v, len);
    text[len] = '\0';
    if (memchr(v, '\0', len)) return -1; /* curl_getdate would read a shorter text */
    time_t when = curl_getdate(text, NULL);
    if (when == (time_t)-1) return -1;
    /* time_t may be anything curl makes of the year: compare before subtracting. */
    if ((int64_t)when <= now_s) return 0;
    if ((int64_t)when - now_s >= RETRY_AFTER_MAX_S) return HTTP_RETRY_AFTER_MAX_MS;
    return ((int64_t)when - now_s) * 1000;
}

/* "HTTP/<version> <3 digits>[ reason]": the status (100..999), or 0 when
 * the line does not have one. */
static long status_of(const char *p, size_t len) {
    size_t i = 5; /* after "HTTP/" */
    while (i < len && p[i] != ' ') i++;
    while (i < len && p[i] == ' ') i++;
    if (len - i < 3 || p[i] < '1' || p[i] > '9' || !isdigit((unsigned char)p[i + 1]) ||
        !isdigit((unsigned char)p[i + 2]))
        return 0;
    if (len - i > 3 && !isspace((unsigned char)p[i + 3])) return 0;
    return (p[i] - '0') * 100 + (p[i + 1] - '0') * 10 + (p[i + 2] - '0');
}

void sd_http_response_header(http_response *r, const char *line, size_t len, int64_t now_s) {
    static const char name[] = "retry-after:";
    const size_t nlen = sizeof name - 1;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx): forget what the last one said. */
        r->status = status_of(line, len);
        r->retry_after_ms = -1;
    } else if (len >= nlen && strncasecmp(line, name, nlen) == 0) {
        size_t a = nlen, b = len;
        while (a < b && isspace((unsigned char)line[a])) a++;
        while (b > a && isspace((unsigned char)line[b - 1])) b--;
        r->retry_after_ms = sd_http_retry_after(line + a, b - a, now_s);
    }
}

void sd_http_response_body(http_response *r, const char *p, size_t len) {
    size_t room = HTTP_BODY_CAP - r->body_len;
    size_t take = len < room ? len : room;
    if (take) memcpy(r->body + r->body_len, p, take);
    r->body_len += take;
    r->body[r->body_len] = '\0';
}

void sd_http_response_result(http_response *r, long status, int curl_code, const char *forced_error, http_result *out) {
    *out = (http_result){status, curl_code, "", r->body, r->body_len, r->retry_after_ms};
    if (forced_error) {
        out->error = forced_error;
    } else if (curl_code != CURLE_OK) {
        out->error = curl_easy_strerror((CURLcode)curl_code);
    } else if (status < 200 || status > 299) {
        snprintf(r->error, sizeof r->error, "HTTP %ld", status);
        out->error = r->error;
    }
}
