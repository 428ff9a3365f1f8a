/* http_sink.h — what the HTTP sinks (webhook.c, slack.c) share: their
 * common JSON keys and how an HTTP outcome becomes a delivery result.
 *
 * Common keys: "url" (required, http:// or https://), "timeout_ms" (whole
 * request), "connect_timeout_ms", "tls_verify" (default true; false is for
 * tests against self-signed servers), "ca_file" (PEM bundle instead of the
 * system's CA store).
 *
 * Classification (sd_http_sink_classify):
 *   2xx                                  -> SECDET_SINK_OK
 *   408, 425, 429, 5xx, no response      -> SECDET_SINK_RETRY, retry_after_ms
 *     (timeout, refused, TLS, reset)        from Retry-After when present
 *   3xx (redirects are not followed) and
 *   other 4xx                            -> SECDET_SINK_PERMANENT, error
 *     "HTTP <status>: <first 160 bytes of the body, control characters
 *     replaced by spaces>" (Slack answers e.g. "no_service" there)
 * Errors never name the URL: only a status, a body excerpt, or curl's
 * generic description of its error code.
 */
#ifndef SECDET_SINK_HTTP_SINK_H
#define SECDET_SINK_HTTP_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "sink/http.h"
#include "sink/sink_int.h"

/* Owned copies of the common keys. */
typedef struct http_sink_opts {
    char *url;
    char *ca_file;               /* NULL: the system's store */
    uint32_t timeout_ms;         /* 0: http.c's default (10 s) */
    uint32_t connect_timeout_ms; /* 0: http.c's default (5 s) */
    bool tls_verify;
} http_sink_opts;

/* Reads the common keys into *o (zeroed first). 0, or -1 after
 * sd_sink_cfg_fail with *o freed. */
int sd_http_sink_opts_read(sink_cfg *c, http_sink_opts *o);
void sd_http_sink_opts_free(http_sink_opts *o);
/* A request for o's URL and settings, without headers or body. */
http_request sd_http_sink_request(const http_sink_opts *o);

typedef struct http_sink_outcome {
    secdet_sink_result result;
    int64_t retry_after_ms; /* RETRY: what the endpoint asked for, else 0 */
    char error[200];        /* "" on OK */
} http_sink_outcome;

/* Pure: no delivery layer involved (unit-tested on its own). */
void sd_http_sink_classify(const http_result *r, http_sink_outcome *out);
/* Classifies r and ends the attempt d with it (sd_sink_result). */
void sd_http_sink_finish(secdet_delivery *d, const http_result *r);

#endif
