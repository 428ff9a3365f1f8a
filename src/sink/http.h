/* http.h — HTTP requests on a libuv loop with libcurl's multi-socket API.
 *
 * One http_client per delivery loop: a CURLM driven by the loop
 * (CURLMOPT_SOCKETFUNCTION -> uv_poll_t per socket, CURLMOPT_TIMERFUNCTION ->
 * one uv_timer_t, curl_multi_socket_action on events, finished transfers
 * collected with curl_multi_info_read), so any number of requests to any
 * number of endpoints proceed at once and none blocks another. Connections
 * are reused (the multi handle's connection cache). Everything runs on the
 * loop's thread: call these only there.
 *
 * Redaction: nothing here logs, and http_result.error is built from
 * curl_easy_strerror (generic text) or "HTTP <status>", never from curl's
 * error buffer or the URL (which may carry a Slack or webhook secret).
 */
#ifndef SECDET_SINK_HTTP_H
#define SECDET_SINK_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uv_loop_s;
typedef struct http_client http_client;

typedef struct http_request {
    const char *url;
    const char *const *headers; /* "Name: value" lines, nheaders of them */
    size_t nheaders;
    const char *body; /* POSTed with the given length; copied */
    size_t body_len;
    uint32_t timeout_ms;         /* whole request; 0 = 10000 */
    uint32_t connect_timeout_ms; /* 0 = 5000 */
    bool insecure;               /* true: no TLS peer/host verification (tests only) */
    const char *ca_file;         /* NULL: the system's CA store */
} http_request;

typedef struct http_result {
    long status;       /* HTTP status, 0 when no response (see error) */
    int curl_code;     /* CURLcode, 0 when the transfer completed */
    const char *error; /* "" on 2xx; else a short redacted description */
    const char *body;  /* first up to HTTP_BODY_CAP bytes of the body, NUL-terminated */
    size_t body_len;
    int64_t retry_after_ms; /* Retry-After (seconds or HTTP-date; at most a year), -1 when absent */
} http_result;

/* ---- The response, as pure functions (http_response.c) ----
 * curl hands http.c a response as header lines and body chunks; these keep
 * what the sinks need of it. No curl handle, socket or clock involved (now_s
 * is passed in), so they are unit-tested and fuzzed (fuzz/fuzz_http.c). */

#define HTTP_BODY_CAP 4096 /* bytes of the body kept (for an error's excerpt) */
/* Longest wait a Retry-After can ask for: a year. */
#define HTTP_RETRY_AFTER_MAX_MS (INT64_C(86400) * 365 * 1000)

typedef struct http_response {
    long status;            /* of the last status line ("HTTP/1.1 429 ..."); 0 none or unreadable */
    int64_t retry_after_ms; /* -1 absent or unreadable, else 0..HTTP_RETRY_AFTER_MAX_MS */
    size_t body_len;        /* <= HTTP_BODY_CAP */
    char body[HTTP_BODY_CAP + 1];
    char error[32]; /* "HTTP <status>" for sd_http_response_result */
} http_response;

void sd_http_response_init(http_response *r);
/* One header line as curl hands it (CRLF included; the blank line that ends
 * the headers is ignored). A status line starts a new response: the status
 * is read and an earlier Retry-After forgotten (interim 1xx responses come
 * first). "Retry-After:" (any case) is read with sd_http_retry_after; the last
 * one wins. Other headers are ignored. */
void sd_http_response_header(http_response *r, const char *line, size_t len, int64_t now_s);
/* Body bytes: the first HTTP_BODY_CAP are kept, the rest dropped. */
void sd_http_response_body(http_response *r, const char *p, size_t len);
/* A Retry-After value (without surrounding whitespace): delta-seconds (any
 * number of digits) or an HTTP-date (what curl_getdate reads), relative to
 * now_s (Unix seconds). Milliseconds, at most HTTP_RETRY_AFTER_MAX_MS; 0 for
 * a date not after now_s; -1 when it is neither form (or over 64 bytes). */
int64_t sd_http_retry_after(const char *v, size_t len, int64_t now_s);
/* The http_result of a finished transfer: status as curl reports it, its
 * error code, and forced_error (NULL, or e.g. "aborted") which overrides the
 * error text. out points into r (body, error): valid while r is. */
void sd_http_response_result(http_response *r, long status, int curl_code, const char *forced_error, http_result *out);

/* Called once per request, on the loop thread; r valid during the call. */
typedef void (*http_done_fn)(void *arg, const http_result *r);

/* NULL on failure. Calls curl_global_init once per process in a thread-safe
 * way (pthread_once). */
http_client *sd_http_client_new(struct uv_loop_s *loop);
/* Starts a POST. 0, or -1 when it could not even start (out of memory, bad
 * URL): then done is not called. */
int sd_http_post(http_client *c, const http_request *req, http_done_fn done, void *arg);
/* Number of requests in flight. */
size_t sd_http_in_flight(const http_client *c);
/* Aborts every request in flight (their done is called with curl_code
 * CURLE_ABORTED_BY_CALLBACK and error "aborted") and closes the handles.
 * The uv handles close asynchronously: run the loop until it has no more
 * handles before freeing it. Frees c. */
void sd_http_client_free(http_client *c);

#endif
