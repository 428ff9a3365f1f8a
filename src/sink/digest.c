/* digest.c — the "digest" sink: the alerts of a period as one message.
 *
 * A team that reads every low-severity alert stops reading; a digest says
 * every 15 minutes what fired, by rule, with counts, first and last time
 * and the top groups (format_digest.c), as one Slack message or one
 * webhook body (Standard Webhooks-signed like the webhook sink's, with a
 * webhook-id that hashes the ids of the alerts it holds).
 *
 * At least once, as every sink, by the delivery layer itself: an alert is
 * an emit that stays outstanding (in flight, for the delivery layer) until
 * the digest that holds it is delivered, and only then is each alert's
 * emit ended. The spool is acknowledged only below the oldest outstanding
 * alert, so the alerts of a digest being collected are the spool's
 * unacknowledged records: after a crash or SIGKILL, the next start replays
 * them into a new digest. The type's default max_in_flight is max_alerts,
 * so a period's alerts are all outstanding at once; a digest goes out when
 * its period (from its first alert) has passed, or at once when it holds
 * max_alerts, or when a drain asks for everything now (secdet_drain, so
 * `secdet run` sends what it holds when it stops).
 *
 * Failures: the digest is retried whole, with the sink's backoff (and
 * Retry-After), by this sink; each failed attempt is told to the delivery
 * layer (sd_dq_attempt_failed: retries, failing, last_error, and while
 * failing no new alert joins); after max_attempts (0: forever), or a
 * permanent answer (4xx but 408/425/429), every alert it holds is ended
 * permanent, so each goes to the dead-letter file with the reason.
 * Stopping: alerts collected but not being sent are ended RETRY ("closing")
 * and stay in the spool; a post in flight is the hub's to abort.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <uv.h>

#include "sink/delivery.h"
#include "sink/format.h"
#include "sink/http_sink.h"
#include "sink/sink_int.h"
#include "util/buf.h"
#include "util/limits.h"

typedef struct batch {
    secdet_delivery **d;
    size_t n, cap;
} batch;

typedef struct digest_sink {
    http_sink_opts http;
    bool slack;
    /* webhook form */
    char **headers;
    size_t nheaders;
    bool has_secret;
    size_t keylen;
    unsigned char key[LIMIT_WEBHOOK_KEY];
    /* Slack form */
    char *channel, *username, *icon_emoji;
    /* the digest */
    char name[96];
    uint64_t period_ms;
    uint32_t max_alerts, top_groups, max_rules;
    uint32_t backoff_ms, backoff_max_ms, max_attempts;
    hub *h;
    uv_timer_t period, retry;
    int timers;      /* made (0 or 2); the memory goes when both have closed */
    bool period_due; /* the period ended while a digest was being sent */
    batch collecting, sending;
    char *body; /* the digest being sent */
    size_t body_len;
    char id[48];
    unsigned attempts;
    bool posting, stopping;
    uint64_t rng;
} digest_sink;

static const char user_agent[] = "User-Agent: secdet/" SECDET_VERSION_STRING;

static void start_send(digest_sink *s);
static void post(digest_sink *s);

/* Ends every emit of b with r (and empties it). */
static void end_all(batch *b, secdet_sink_result r, const char *why) {
    for (size_t i = 0; i < b->n; i++) sd_sink_result(b->d[i], r, 0, "%s", why ? why : "");
    b->n = 0;
}

static void on_period(uv_timer_t *t) {
    digest_sink *s = t->data;
    if (s->sending.n)
        s->period_due = true; /* sent once the digest in flight is done */
    else
        start_send(s);
}

static void on_retry(uv_timer_t *t) { post(t->data); }

static bool timers_ready(digest_sink *s) {
    if (s->timers) return true;
    uv_loop_t *loop = sd_hub_loop(s->h);
    if (uv_timer_init(loop, &s->period) != 0) return false;
    if (uv_timer_init(loop, &s->retry) != 0) {
        uv_close((uv_handle_t *)&s->period, NULL);
        return false;
    }
    s->period.data = s->retry.data = s;
    s->timers = 2;
    return true;
}

static void dg_emit(void *self, secdet_delivery *d) {
    digest_sink *s = self;
    batch *b = &s->collecting;
    if (!s->h || !timers_ready(s)) {
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "not attached to a delivery loop");
        return;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        secdet_delivery **p = realloc(b->d, cap * sizeof *p);
        if (!p) {
            sd_sink_result(d, SECDET_SINK_RETRY, 0, "out of memory");
            return;
        }
        b->d = p;
        b->cap = cap;
    }
    b->d[b->n++] = d;
    if (b->n == 1) uv_timer_start(&s->period, on_period, s->period_ms, 0);
    if (b->n >= s->max_alerts && !s->sending.n) start_send(s);
}

/* ---- sending ---------------------------------------------------------------------- */

/* An id for the digest: a hash of the ids of its alerts, so a retry (or a
 * receiver de-duplicating) sees the same id for the same digest. */
static void make_id(digest_sink *s) {
    buf ids;
    sd_buf_init(&ids);
    for (size_t i = 0; i < s->sending.n; i++) {
        const char *id = secdet_delivery_id(s->sending.d[i]);
        sd_buf_append(&ids, id, strlen(id) + 1);
    }
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)(ids.data ? ids.data : ""), ids.len, md);
    sd_buf_free(&ids);
    static const char hex[] = "0123456789abcdef";
    memcpy(s->id, "digest_", 7);
    for (int i = 0; i < 16; i++) {
        s->id[7 + 2 * i] = hex[md[i] >> 4];
        s->id[8 + 2 * i] = hex[md[i] & 15];
    }
    s->id[39] = 0;
}

static bool build(digest_sink *s) {
    size_t n = s->sending.n;
    const char **jsons = malloc(n * sizeof *jsons);
    size_t *lens = malloc(n * sizeof *lens);
    buf b;
    sd_buf_init(&b);
    bool ok = jsons && lens;
    for (size_t i = 0; ok && i < n; i++) jsons[i] = secdet_delivery_json(s->sending.d[i], &lens[i]);
    digest_fmt_opts o = {s->name, s->top_groups, s->max_rules, s->username, s->icon_emoji, s->channel};
    if (ok)
        ok = (s->slack ? sd_digest_format_slack(&b, jsons, lens, n, &o)
                       : sd_digest_format_json(&b, jsons, lens, n, &o)) == 0;
    free(jsons);
    free(lens);
    if (!ok) {
        sd_buf_free(&b);
        return false;
    }
    s->body_len = b.len;
    s->body = sd_buf_steal(&b);
    make_id(s);
    return true;
}

static void start_send(digest_sink *s) {
    uv_timer_stop(&s->period);
    s->period_due = false;
    if (!s->collecting.n || s->sending.n || s->stopping) return;
    batch t = s->sending;
    s->sending = s->collecting;
    s->collecting = t;
    s->attempts = 0;
    if (!build(s)) {
        /* Out of memory: the delivery layer retries them, one by one into a new digest. */
        end_all(&s->sending, SECDET_SINK_RETRY, "out of memory building the digest");
        return;
    }
    post(s);
}

static uint64_t backoff(digest_sink *s) {
    uint64_t cap = s->backoff_ms ? s->backoff_ms : 1;
    for (unsigned i = 1; i < s->attempts && cap < s->backoff_max_ms; i++) cap *= 2;
    if (cap > s->backoff_max_ms) cap = s->backoff_max_ms;
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return cap / 2 + s->rng % (cap - cap / 2 + 1);
}

/* After the digest being sent is done (delivered or given up). */
static void sent(digest_sink *s) {
    free(s->body);
    s->body = NULL;
    if (s->period_due || s->collecting.n >= s->max_alerts) start_send(s);
}

static void on_posted(void *arg, const http_result *r) {
    digest_sink *s = arg;
    s->posting = false;
    http_sink_outcome o;
    sd_http_sink_classify(r, &o);
    if (!s->sending.n) return;
    secdet_delivery *first = s->sending.d[0];
    if (o.result == SECDET_SINK_OK) {
        end_all(&s->sending, SECDET_SINK_OK, NULL);
        sent(s);
        return;
    }
    bool give_up = o.result == SECDET_SINK_PERMANENT || (s->max_attempts && s->attempts >= s->max_attempts);
    if (s->stopping || give_up) {
        char why[300];
        if (s->stopping)
            snprintf(why, sizeof why, "closing");
        else if (o.result == SECDET_SINK_PERMANENT)
            snprintf(why, sizeof why, "digest: %s", o.error);
        else
            snprintf(why, sizeof why, "digest: gave up after %u attempts: %s", s->attempts, o.error);
        end_all(&s->sending, s->stopping ? SECDET_SINK_RETRY : SECDET_SINK_PERMANENT, why);
        sent(s);
        return;
    }
    uint64_t delay = backoff(s);
    if (o.retry_after_ms > 0 && (uint64_t)o.retry_after_ms > delay) delay = (uint64_t)o.retry_after_ms;
    sd_dq_attempt_failed(first->q, o.error);
    sd_hub_log(s->h, s->name, "digest of %zu alert(s) attempt %u failed: %s; retrying in %llu ms", s->sending.n,
               s->attempts, o.error, (unsigned long long)delay);
    uv_timer_start(&s->retry, on_retry, delay, 0);
}

static void post(digest_sink *s) {
    http_client *client = sd_hub_http(s->h);
    if (!s->body || s->posting) return;
    s->attempts++;
    const char *lines[5 + LIMIT_DIGEST_HEADERS];
    size_t n = 0;
    char id_line[80], ts_line[48];
    buf sig;
    sd_buf_init(&sig);
    lines[n++] = "Content-Type: application/json";
    lines[n++] = user_agent;
    if (!s->slack) {
        int64_t ts = (int64_t)time(NULL);
        snprintf(id_line, sizeof id_line, "webhook-id: %s", s->id);
        snprintf(ts_line, sizeof ts_line, "webhook-timestamp: %lld", (long long)ts);
        lines[n++] = id_line;
        lines[n++] = ts_line;
        if (s->has_secret) {
            sd_buf_puts(&sig, "webhook-signature: ");
            if (sd_webhook_sign(&sig, s->key, s->keylen, s->id, ts, s->body, s->body_len) == 0 && !sig.oom)
                lines[n++] = sig.data;
        }
        for (size_t i = 0; i < s->nheaders && n < sizeof lines / sizeof lines[0]; i++) lines[n++] = s->headers[i];
    }
    http_request req = sd_http_sink_request(&s->http);
    req.headers = lines;
    req.nheaders = n;
    req.body = s->body;
    req.body_len = s->body_len;
    s->posting = client && sd_http_post(client, &req, on_posted, s) == 0;
    sd_buf_free(&sig);
    if (!s->posting) { /* a failed start counts as a failed attempt */
        http_result r = {.error = "could not start the request", .retry_after_ms = -1};
        on_posted(s, &r);
    }
}

/* ---- life cycle ------------------------------------------------------------------- */

static void dg_hurry(void *self) {
    digest_sink *s = self;
    if (s->collecting.n && !s->sending.n) start_send(s);
}

static void dg_stopping(void *self) {
    digest_sink *s = self;
    s->stopping = true;
    end_all(&s->collecting, SECDET_SINK_RETRY, "closing");
    if (s->timers) {
        uv_timer_stop(&s->period);
        uv_timer_stop(&s->retry);
    }
    if (!s->posting) end_all(&s->sending, SECDET_SINK_RETRY, "closing");
}

static void free_digest(digest_sink *s) {
    sd_http_sink_opts_free(&s->http);
    sd_sink_cfg_free_lines(s->headers, s->nheaders);
    OPENSSL_cleanse(s->key, sizeof s->key);
    free(s->channel);
    free(s->username);
    free(s->icon_emoji);
    free(s->collecting.d);
    free(s->sending.d);
    free(s->body);
    free(s);
}

static void on_timer_closed(uv_handle_t *t) {
    digest_sink *s = t->data;
    if (--s->timers == 0) free_digest(s);
}

static void dg_close(void *self) {
    digest_sink *s = self;
    if (!s) return;
    /* Every emit ends exactly once: what is still held, now. */
    end_all(&s->collecting, SECDET_SINK_RETRY, "closing");
    end_all(&s->sending, SECDET_SINK_RETRY, "closing");
    if (s->timers) {
        uv_close((uv_handle_t *)&s->period, on_timer_closed);
        uv_close((uv_handle_t *)&s->retry, on_timer_closed);
    } else {
        free_digest(s);
    }
}

static int dg_attach(void *self, hub *h) {
    ((digest_sink *)self)->h = h;
    return 0;
}

static const secdet_sink_vtable digest_vtable = {NULL, dg_emit, NULL, dg_close};

/* ---- configuration ---------------------------------------------------------------- */

static int read_format(sink_cfg *c, digest_sink *s) {
    const char *format = NULL, *secret = NULL, *channel = NULL, *username = NULL, *icon = NULL;
    if (sd_sink_cfg_str(c, "format", false, &format)) return -1;
    s->slack = format && strcmp(format, "slack") == 0;
    if (format && !s->slack && strcmp(format, "webhook") != 0)
        return sd_sink_cfg_fail(c, "format: expected slack or webhook");
    if (s->slack) {
        if (sd_sink_cfg_str(c, "channel", false, &channel) || sd_sink_cfg_str(c, "username", false, &username) ||
            sd_sink_cfg_str(c, "icon_emoji", false, &icon))
            return -1;
        if ((channel && !(s->channel = strdup(channel))) || (username && !(s->username = strdup(username))) ||
            (icon && !(s->icon_emoji = strdup(icon))))
            return sd_sink_cfg_fail(c, "out of memory");
        return 0;
    }
    if (sd_sink_cfg_str(c, "secret", false, &secret) || sd_sink_cfg_headers(c, "headers", &s->headers, &s->nheaders))
        return -1;
    if (s->nheaders > LIMIT_DIGEST_HEADERS) return sd_sink_cfg_fail(c, "headers: at most %d", LIMIT_DIGEST_HEADERS);
    if (secret) {
        if (sd_webhook_secret_decode(secret, s->key, sizeof s->key, &s->keylen) != 0 || s->keylen == 0)
            return sd_sink_cfg_fail(c, "secret: not a valid secret (expected \"whsec_\" and base64, at most %d bytes)",
                                    LIMIT_WEBHOOK_KEY);
        s->has_secret = true;
    }
    return 0;
}

int sd_sink_digest_create(sink_cfg *c, sink_def *out) {
    digest_sink *s = calloc(1, sizeof *s);
    if (!s) return sd_sink_cfg_fail(c, "out of memory");
    snprintf(s->name, sizeof s->name, "%s", sd_sink_cfg_name(c));
    s->rng = (uint64_t)(uintptr_t)s ^ (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
    if (!s->rng) s->rng = 1;
    if (sd_http_sink_opts_read(c, &s->http) != 0) {
        free(s);
        return -1;
    }
    uint64_t period = LIMIT_DIGEST_PERIOD_MS, max_alerts = LIMIT_DIGEST_ALERTS_DEFAULT, top = 3, max_rules = 20,
             mif = 0;
    uint64_t bo = LIMIT_SINK_BACKOFF_MS_DEFAULT, bmax = LIMIT_SINK_BACKOFF_MAX_MS_DEFAULT,
             attempts = LIMIT_SINK_ATTEMPTS_DEFAULT;
    if (read_format(c, s) || sd_sink_cfg_uint(c, "period_ms", 100, 86400000, &period) ||
        sd_sink_cfg_uint(c, "max_alerts", 1, LIMIT_DIGEST_ALERTS_MAX, &max_alerts) ||
        sd_sink_cfg_uint(c, "top_groups", 1, 20, &top) ||
        sd_sink_cfg_uint(c, "max_rules", 1, LIMIT_DIGEST_RULES_MAX, &max_rules) ||
        /* the delivery keys, read again for the digest's own retries */
        sd_sink_cfg_uint(c, "backoff_ms", 1, 3600000, &bo) ||
        sd_sink_cfg_uint(c, "backoff_max_ms", 1, 86400000, &bmax) ||
        sd_sink_cfg_uint(c, "max_attempts", 0, 1000000, &attempts) ||
        sd_sink_cfg_uint(c, "max_in_flight", 0, UINT32_MAX, &mif)) {
        free_digest(s);
        return -1;
    }
    if (mif) {
        free_digest(s);
        return sd_sink_cfg_fail(c, "max_in_flight: a digest holds up to max_alerts alerts; set that instead");
    }
    s->period_ms = period;
    s->max_alerts = (uint32_t)max_alerts;
    s->top_groups = (uint32_t)top;
    s->max_rules = (uint32_t)max_rules;
    s->backoff_ms = (uint32_t)bo;
    s->backoff_max_ms = (uint32_t)bmax;
    s->max_attempts = (uint32_t)attempts;
    *out = (sink_def){.vt = &digest_vtable,
                      .self = s,
                      .attach = dg_attach,
                      .max_in_flight = s->max_alerts,
                      .hurry = dg_hurry,
                      .stopping = dg_stopping};
    return 0;
}
