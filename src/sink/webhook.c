/* webhook.c — the "webhook" sink: each alert's JSON POSTed to a URL.
 *
 * Every request carries, in this order:
 *   Content-Type: application/json
 *   User-Agent: secdet/<version>
 *   webhook-id: <alert id>          (stable across retries: receivers de-duplicate on it)
 *   webhook-timestamp: <unix seconds when this attempt started>
 *   webhook-signature: v1,<base64>  (only with a "secret"; Standard Webhooks,
 *                                    HMAC-SHA256 over id.timestamp.body)
 *   the "headers" of the configuration (a custom Content-Type or User-Agent
 *   replaces ours; the webhook-* names and the framing headers are refused).
 * The outcome is mapped by sd_http_sink_classify. Requests run on the hub's HTTP
 * client (attach); up to max_in_flight (default 4) at once. A done callback
 * only touches its delivery, never the sink: the hub aborts every request
 * (sd_http_client_free) before it closes the sinks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "sink/format.h"
#include "sink/http_sink.h"
#include "sink/sink_int.h"
#include "util/buf.h"
#include "util/limits.h"

typedef struct webhook {
    http_sink_opts http;
    char **headers; /* "Name: value" from the configuration */
    size_t nheaders;
    bool has_ct, has_ua; /* the configuration sets Content-Type / User-Agent */
    bool has_secret;
    size_t keylen;
    unsigned char key[LIMIT_WEBHOOK_KEY];
    http_client *client;
} webhook;

static const char user_agent[] = "User-Agent: secdet/" SECDET_VERSION_STRING;

static void on_done(void *arg, const http_result *r) { sd_http_sink_finish(arg, r); }

static void wh_emit(void *self, secdet_delivery *d) {
    webhook *w = self;
    if (!w->client) {
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "not attached to a delivery loop");
        return;
    }
    size_t len = 0;
    const char *json = secdet_delivery_json(d, &len);
    const char *id = secdet_delivery_id(d);
    int64_t ts = (int64_t)time(NULL);
    char id_line[64], ts_line[48];
    snprintf(id_line, sizeof id_line, "webhook-id: %s", id);
    snprintf(ts_line, sizeof ts_line, "webhook-timestamp: %lld", (long long)ts);
    buf sig;
    sd_buf_init(&sig);
    if (w->has_secret) {
        sd_buf_puts(&sig, "webhook-signature: ");
        if (sd_webhook_sign(&sig, w->key, w->keylen, id, ts, json, len) != 0 || sig.oom) {
            sd_buf_free(&sig);
            sd_sink_result(d, SECDET_SINK_RETRY, 0, "could not sign the request");
            return;
        }
    }
    const char **lines = malloc((5 + w->nheaders) * sizeof *lines);
    if (!lines) {
        sd_buf_free(&sig);
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "out of memory");
        return;
    }
    size_t n = 0;
    if (!w->has_ct) lines[n++] = "Content-Type: application/json";
    if (!w->has_ua) lines[n++] = user_agent;
    lines[n++] = id_line;
    lines[n++] = ts_line;
    if (w->has_secret) lines[n++] = sig.data;
    for (size_t i = 0; i < w->nheaders; i++) lines[n++] = w->headers[i];
    http_request req = sd_http_sink_request(&w->http);
    req.headers = lines;
    req.nheaders = n;
    req.body = json;
    req.body_len = len;
    /* sd_http_post copies the headers and the body. */
    int rc = sd_http_post(w->client, &req, on_done, d);
    free(lines);
    sd_buf_free(&sig);
    if (rc != 0) sd_sink_result(d, SECDET_SINK_RETRY, 0, "could not start the request");
}

static void wh_close(void *self) {
    webhook *w = self;
    if (!w) return;
    sd_http_sink_opts_free(&w->http);
    sd_sink_cfg_free_lines(w->headers, w->nheaders);
    OPENSSL_cleanse(w->key, sizeof w->key);
    free(w);
}

static int wh_attach(void *self, hub *h) {
    webhook *w = self;
    w->client = sd_hub_http(h);
    return w->client ? 0 : -1;
}

static const secdet_sink_vtable webhook_vtable = {NULL, wh_emit, NULL, wh_close};

/* The name of a "Name: value" line equals `name` (case-insensitive). */
static bool named(const char *line, const char *name) {
    size_t n = strlen(name);
    return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

static int check_headers(sink_cfg *c, webhook *w) {
    static const char *const refused[] = {"webhook-id", "webhook-timestamp", "webhook-signature", "content-length",
                                          "transfer-encoding"};
    for (size_t i = 0; i < w->nheaders; i++) {
        for (size_t j = 0; j < sizeof refused / sizeof refused[0]; j++)
            if (named(w->headers[i], refused[j]))
                return sd_sink_cfg_fail(c, "headers: %s is set by the sink", refused[j]);
        w->has_ct |= named(w->headers[i], "content-type");
        w->has_ua |= named(w->headers[i], "user-agent");
    }
    return 0;
}

int sd_sink_webhook_create(sink_cfg *c, sink_def *out) {
    webhook *w = calloc(1, sizeof *w);
    if (!w) return sd_sink_cfg_fail(c, "out of memory");
    const char *secret = NULL;
    if (sd_http_sink_opts_read(c, &w->http) != 0) {
        free(w);
        return -1;
    }
    if (sd_sink_cfg_str(c, "secret", false, &secret) || sd_sink_cfg_headers(c, "headers", &w->headers, &w->nheaders) ||
        check_headers(c, w))
        goto fail;
    if (secret) {
        /* The message says what is expected, never what was given. */
        if (sd_webhook_secret_decode(secret, w->key, sizeof w->key, &w->keylen) != 0) {
            sd_sink_cfg_fail(c, "secret: not a valid secret (expected \"whsec_\" and base64, at most %d bytes)",
                             LIMIT_WEBHOOK_KEY);
            goto fail;
        }
        if (w->keylen == 0) {
            sd_sink_cfg_fail(c, "secret: must not be empty");
            goto fail;
        }
        w->has_secret = true;
    }
    *out = (sink_def){.vt = &webhook_vtable, .self = w, .attach = wh_attach, .max_in_flight = 4};
    return 0;
fail:
    wh_close(w);
    return -1;
}
