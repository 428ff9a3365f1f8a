/* test_http_response.c — what the HTTP client keeps of a response
 * (src/sink/http_response.c): Retry-After in both forms and its bounds, the
 * status line, interim responses, the body cap, and the result handed to the
 * sinks. The same functions run behind a real server in test_http.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "sink/http.h"

/* 2024-03-14T09:00:00Z */
#define NOW INT64_C(1710406800)

static int64_t ra(const char *v) { return sd_http_retry_after(v, strlen(v), NOW); }

/* Feeds "\n"-separated header lines (each handed over with its CRLF). */
static void feed(http_response *r, const char *head) {
    char line[512];
    while (*head) {
        const char *nl = strchr(head, '\n');
        size_t n = nl ? (size_t)(nl - head) : strlen(head);
        assert_true(n + 2 < sizeof line);
        memcpy(line, head, n);
        memcpy(line + n, "\r\n", 2);
        sd_http_response_header(r, line, n + 2, NOW);
        head += n + (nl ? 1 : 0);
    }
}

static void test_retry_after_delta_seconds(void **state) {
    (void)state;
    assert_int_equal(ra("120"), 120000);
    assert_int_equal(ra("0"), 0);
    assert_int_equal(ra("000007"), 7000);
    assert_int_equal(ra("31536000"), HTTP_RETRY_AFTER_MAX_MS);
}

static void test_retry_after_is_at_most_a_year_in_either_form(void **state) {
    (void)state;
    assert_int_equal(ra("31536001"), HTTP_RETRY_AFTER_MAX_MS);
    assert_int_equal(ra("99999999999999999999999999999999"), HTTP_RETRY_AFTER_MAX_MS);
    /* Before, a date was not capped: this asked for a wait of 7 976 years. */
    assert_int_equal(ra("Fri, 31 Dec 9999 23:59:59 GMT"), HTTP_RETRY_AFTER_MAX_MS);
    assert_int_equal(ra("Sat, 15 Mar 2025 09:00:00 GMT"), HTTP_RETRY_AFTER_MAX_MS);
    assert_int_equal(ra("Fri, 14 Mar 2025 08:59:59 GMT"), (INT64_C(86400) * 365 - 1) * 1000);
}

static void test_retry_after_http_date_in_its_three_forms(void **state) {
    (void)state;
    assert_int_equal(ra("Thu, 14 Mar 2024 09:05:00 GMT"), 300000);    /* IMF-fixdate */
    assert_int_equal(ra("Thursday, 14-Mar-24 09:05:00 GMT"), 300000); /* RFC 850 */
    assert_int_equal(ra("Thu Mar 14 09:05:00 2024"), 300000);         /* asctime */
    assert_int_equal(ra("Wed, 21 Oct 2015 07:28:00 GMT"), 0);         /* past: now */
    assert_int_equal(ra("Thu, 14 Mar 2024 09:00:00 GMT"), 0);
}

static void test_retry_after_neither_form_is_absent(void **state) {
    (void)state;
    assert_int_equal(ra(""), -1);
    assert_int_equal(ra("soon"), -1);
    assert_int_equal(ra("-5"), -1);
    assert_int_equal(ra("5 s"), -1);
    assert_int_equal(sd_http_retry_after("5\0"
                                         "0",
                                         3, NOW),
                     -1);
    char long_date[80];
    memset(long_date, ' ', sizeof long_date);
    memcpy(long_date, "Thu, 14 Mar 2024 09:05:00 GMT", 29);
    assert_int_equal(sd_http_retry_after(long_date, 65, NOW), -1); /* over 64 bytes */
}

static void test_header_lines_are_read_whatever_their_case_and_spacing(void **state) {
    (void)state;
    http_response r;
    sd_http_response_init(&r);
    feed(&r, "HTTP/2 429 \ncontent-type: text/plain\nretry-after: \t 30 \t");
    assert_int_equal(r.status, 429);
    assert_int_equal(r.retry_after_ms, 30000);
    feed(&r, "RETRY-AFTER: 7");
    assert_int_equal(r.retry_after_ms, 7000); /* the last one wins */
    feed(&r, "Retry-After: later");
    assert_int_equal(r.retry_after_ms, -1);
}

static void test_an_interim_response_retry_after_is_forgotten(void **state) {
    (void)state;
    http_response r;
    sd_http_response_init(&r);
    feed(&r, "HTTP/1.1 100 Continue\nRetry-After: 9\n\nHTTP/1.1 200 OK\nContent-Length: 2\n");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.retry_after_ms, -1);
}

static void test_status_line_without_a_status_gives_0(void **state) {
    (void)state;
    const char *lines[] = {"HTTP/1.1 2x OK", "HTTP/1.1 010 X", "HTTP/1.1 2000", "HTTP/1.1", "HTTP/1.1 20"};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        http_response r;
        sd_http_response_init(&r);
        feed(&r, lines[i]);
        assert_int_equal(r.status, 0);
    }
}

static void test_the_body_keeps_its_first_4_kib(void **state) {
    (void)state;
    http_response r;
    sd_http_response_init(&r);
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < 5; i++) sd_http_response_body(&r, chunk, sizeof chunk);
    assert_int_equal(r.body_len, HTTP_BODY_CAP);
    assert_int_equal(r.body[HTTP_BODY_CAP], '\0');
    assert_int_equal(r.body[HTTP_BODY_CAP - 1], 'a');
}

static void test_the_result_names_the_status_or_curl_error_never_the_body(void **state) {
    (void)state;
    http_response r;
    sd_http_response_init(&r);
    feed(&r, "HTTP/1.1 404 Not Found");
    sd_http_response_body(&r, "no_service", 10);
    http_result out;
    sd_http_response_result(&r, 404, CURLE_OK, NULL, &out);
    assert_string_equal(out.error, "HTTP 404");
    assert_string_equal(out.body, "no_service");
    assert_int_equal(out.body_len, 10);
    assert_int_equal(out.retry_after_ms, -1);
    sd_http_response_result(&r, 200, CURLE_OK, NULL, &out);
    assert_string_equal(out.error, "");
    sd_http_response_result(&r, 0, CURLE_OPERATION_TIMEDOUT, NULL, &out);
    assert_string_equal(out.error, curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
    sd_http_response_result(&r, 0, CURLE_ABORTED_BY_CALLBACK, "aborted", &out);
    assert_string_equal(out.error, "aborted");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_delta_seconds),
        cmocka_unit_test(test_retry_after_is_at_most_a_year_in_either_form),
        cmocka_unit_test(test_retry_after_http_date_in_its_three_forms),
        cmocka_unit_test(test_retry_after_neither_form_is_absent),
        cmocka_unit_test(test_header_lines_are_read_whatever_their_case_and_spacing),
        cmocka_unit_test(test_an_interim_response_retry_after_is_forgotten),
        cmocka_unit_test(test_status_line_without_a_status_gives_0),
        cmocka_unit_test(test_the_body_keeps_its_first_4_kib),
        cmocka_unit_test(test_the_result_names_the_status_or_curl_error_never_the_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
