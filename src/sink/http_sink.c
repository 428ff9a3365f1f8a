/* http_sink.c — the common keys of the HTTP sinks and the mapping from an
 * HTTP outcome to a delivery result (see http_sink.h for the table).
 *
 * Why these retry: 408 (the server timed out waiting), 425 (too early),
 * 429 (rate limited: the delivery layer waits at least Retry-After) and 5xx
 * are about the moment, not the request; so is every failure without a
 * response (refused, reset, DNS, TLS handshake, timeout). Any other 4xx
 * says the request itself is wrong (bad token, unknown channel, payload
 * rejected) and a redirect is not followed, so retrying cannot help: those
 * are permanent and go to the dead-letter file with the endpoint's words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "sink/http_sink.h"
#include "util/limits.h"

static char *dup_opt(const char *s, bool *oom) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = true;
    return d;
}

/* Parses with curl's URL parser without printing anything of the URL. */
static bool url_parses(const char *url) {
    CURLU *u = curl_url();
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK;
    curl_url_cleanup(u);
    return ok;
}

int sd_http_sink_opts_read(sink_cfg *c, http_sink_opts *o) {
    memset(o, 0, sizeof *o);
    o->tls_verify = true;
    const char *url = NULL, *ca = NULL;
    uint64_t timeout = 0, connect = 0;
    if (sd_sink_cfg_str(c, "url", true, &url) || sd_sink_cfg_str(c, "ca_file", false, &ca) ||
        sd_sink_cfg_uint(c, "timeout_ms", 1, 600000, &timeout) ||
        sd_sink_cfg_uint(c, "connect_timeout_ms", 1, 600000, &connect) ||
        sd_sink_cfg_bool(c, "tls_verify", &o->tls_verify))
        return -1;
    /* The messages never quote the URL: it may carry a token. */
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return sd_sink_cfg_fail(c, "url: must start with http:// or https://");
    if (!url_parses(url)) return sd_sink_cfg_fail(c, "url: not a valid URL");
    if (ca && !*ca) return sd_sink_cfg_fail(c, "ca_file: must not be empty");
    o->timeout_ms = (uint32_t)timeout;
    o->connect_timeout_ms = (uint32_t)connect;
    bool oom = false;
    o->url = dup_opt(url, &oom);
    o->ca_file = dup_opt(ca, &oom);
    if (oom) {
        sd_http_sink_opts_free(o);
        return sd_sink_cfg_fail(c, "out of memory");
    }
    return 0;
}

void sd_http_sink_opts_free(http_sink_opts *o) {
    if (!o) return;
    free(o->url);
    free(o->ca_file);
    o->url = o->ca_file = NULL;
}

http_request sd_http_sink_request(const http_sink_opts *o) {
    http_request r = {0};
    r.url = o->url;
    r.timeout_ms = o->timeout_ms;
    r.connect_timeout_ms = o->connect_timeout_ms;
    r.insecure = !o->tls_verify;
    r.ca_file = o->ca_file;
    return r;
}

/* The first LIMIT_HTTP_BODY_EXCERPT bytes of the body (not cutting a UTF-8 sequence),
 * control characters as spaces, surrounding whitespace trimmed. */
static void body_excerpt(const char *body, size_t len, char *out, size_t cap) {
    size_t n = len < LIMIT_HTTP_BODY_EXCERPT ? len : LIMIT_HTTP_BODY_EXCERPT;
    if (n < len)
        while (n > 0 && ((unsigned char)body[n] & 0xC0) == 0x80) n--;
    if (n >= cap) n = cap - 1;
    size_t a = 0, b = n;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)body[i];
        out[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    while (a < b && out[a] == ' ') a++;
    while (b > a && out[b - 1] == ' ') b--;
    memmove(out, out + a, b - a);
    out[b - a] = 0;
}

void sd_http_sink_classify(const http_result *r, http_sink_outcome *out) {
    memset(out, 0, sizeof *out);
    long st = r->status;
    int64_t after = r->retry_after_ms > 0 ? r->retry_after_ms : 0;
    if (r->curl_code != 0 || st == 0) {
        /* No (complete) response: the endpoint may be down or slow. */
        out->result = SECDET_SINK_RETRY;
        out->retry_after_ms = after;
        snprintf(out->error, sizeof out->error, "%s", r->error && *r->error ? r->error : "no response");
    } else if (st >= 200 && st <= 299) {
        out->result = SECDET_SINK_OK;
    } else if (st == 408 || st == 425 || st == 429 || st >= 500 || st < 200) {
        out->result = SECDET_SINK_RETRY;
        out->retry_after_ms = after;
        snprintf(out->error, sizeof out->error, "HTTP %ld", st);
    } else {
        out->result = SECDET_SINK_PERMANENT;
        char excerpt[LIMIT_HTTP_BODY_EXCERPT + 1];
        body_excerpt(r->body ? r->body : "", r->body ? r->body_len : 0, excerpt, sizeof excerpt);
        if (*excerpt)
            snprintf(out->error, sizeof out->error, "HTTP %ld: %s", st, excerpt);
        else
            snprintf(out->error, sizeof out->error, "HTTP %ld", st);
    }
}

void sd_http_sink_finish(secdet_delivery *d, const http_result *r) {
    http_sink_outcome o;
    sd_http_sink_classify(r, &o);
    if (o.result == SECDET_SINK_OK)
        sd_sink_result(d, o.result, 0, NULL);
    else
        sd_sink_result(d, o.result, o.retry_after_ms, "%s", o.error);
}
