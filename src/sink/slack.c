/* slack.c — the "slack" sink: each alert as a Block Kit message POSTed to
 * a Slack incoming webhook (the text is sd_slack_format's, format.h).
 *
 * Rate: Slack allows about one message per second per webhook, so the sink
 * never starts two posts closer than min_interval_ms (default 1000),
 * measured with the monotonic clock (uv_hrtime, not the loop's cached time,
 * which lags and would let two posts start too close). An emit that comes
 * too early is queued (FIFO, formatted already) and posted from a uv_timer
 * on the hub's loop; a timer that fires early by the loop's clock just
 * re-arms. Retries come back through emit and are spaced the same way.
 *
 * Results (sd_http_sink_classify): 2xx delivered; 429 is RETRY with Retry-After,
 * which the delivery layer waits at least; 5xx and no response RETRY; other
 * 4xx PERMANENT with Slack's answer in the error ("HTTP 404: no_service",
 * "HTTP 400: invalid_payload"). An alert whose JSON does not parse is
 * PERMANENT at once.
 *
 * Closing with alerts still waiting for the timer: the delivery layer calls
 * close when no emit is outstanding — but at shutdown (sd_hub_free) it gives
 * emits a grace period, aborts the HTTP transfers, and then closes every sink
 * regardless. An alert queued here is an emit that has not ended, and each
 * emit must end exactly once, so close ends every queued one with RETRY
 * "closing" (the stopping delivery layer keeps it in the spool for the next
 * start) before it stops the timer. Posts already started are not ours to
 * end: their done callbacks hold only the delivery, and sd_http_client_free
 * ends them. The timer is made lazily, on the loop's thread, the first time
 * a post has to wait; the sink's memory is freed in the timer's close
 * callback when there is one (the loop runs it before the hub frees the
 * loop), else at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "sink/format.h"
#include "sink/http_sink.h"
#include "sink/sink_int.h"
#include "util/buf.h"

typedef struct pending {
    secdet_delivery *d;
    char *body;
    size_t len;
    struct pending *next;
} pending;

typedef struct slack {
    http_sink_opts http;
    char *channel, *username, *icon_emoji;
    size_t max_params;
    uint64_t min_interval_ms;
    hub *h; /* from attach; NULL before */
    uv_timer_t timer;
    bool timer_init;
    bool posted;           /* a post has started (last_post_ns is set) */
    uint64_t last_post_ns; /* uv_hrtime() when the last post started */
    pending *head, *tail;  /* waiting for the interval, oldest first */
} slack;

static const char user_agent[] = "User-Agent: secdet/" SECDET_VERSION_STRING;

static void on_done(void *arg, const http_result *r) { sd_http_sink_finish(arg, r); }

static void post(slack *s, pending *p) {
    http_client *client = sd_hub_http(s->h);
    const char *headers[] = {"Content-Type: application/json", user_agent};
    http_request req = sd_http_sink_request(&s->http);
    req.headers = headers;
    req.nheaders = 2;
    req.body = p->body;
    req.body_len = p->len;
    if (!client)
        sd_sink_result(p->d, SECDET_SINK_RETRY, 0, "closing");
    else if (sd_http_post(client, &req, on_done, p->d) != 0)
        sd_sink_result(p->d, SECDET_SINK_RETRY, 0, "could not start the request");
    free(p->body);
    free(p);
}

static void on_timer(uv_timer_t *t);

/* Posts what is queued, as far as the interval allows; arms the timer for
 * the rest. */
static void pump(slack *s) {
    while (s->head) {
        uint64_t now = uv_hrtime();
        if (s->posted) {
            uint64_t since_ms = (now - s->last_post_ns) / 1000000; /* rounded down: never early */
            if (since_ms < s->min_interval_ms) {
                if (!s->timer_init) {
                    if (uv_timer_init(sd_hub_loop(s->h), &s->timer) != 0) break;
                    s->timer.data = s;
                    s->timer_init = true;
                }
                uv_timer_start(&s->timer, on_timer, s->min_interval_ms - since_ms, 0);
                return;
            }
        }
        pending *p = s->head;
        s->head = p->next;
        if (!s->head) s->tail = NULL;
        s->posted = true;
        s->last_post_ns = now;
        post(s, p);
    }
    /* Only when the timer could not be made: fail what waits, to be retried. */
    while (s->head) {
        pending *p = s->head;
        s->head = p->next;
        sd_sink_result(p->d, SECDET_SINK_RETRY, 0, "no timer");
        free(p->body);
        free(p);
    }
    s->tail = NULL;
}

static void on_timer(uv_timer_t *t) { pump(t->data); }

static void sl_emit(void *self, secdet_delivery *d) {
    slack *s = self;
    if (!s->h) {
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "not attached to a delivery loop");
        return;
    }
    size_t len = 0;
    const char *json = secdet_delivery_json(d, &len);
    slack_fmt_opts o = {s->max_params, s->username, s->icon_emoji, s->channel};
    buf b;
    sd_buf_init(&b);
    if (sd_slack_format(&b, json, len, &o) != 0) {
        sd_buf_free(&b);
        sd_sink_result(d, SECDET_SINK_PERMANENT, 0, "alert JSON does not parse");
        return;
    }
    pending *p = b.oom ? NULL : malloc(sizeof *p);
    if (!p) {
        sd_buf_free(&b);
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "out of memory");
        return;
    }
    p->d = d;
    p->len = b.len;
    p->body = sd_buf_steal(&b);
    p->next = NULL;
    if (s->tail)
        s->tail->next = p;
    else
        s->head = p;
    s->tail = p;
    pump(s);
}

static void free_slack(slack *s) {
    sd_http_sink_opts_free(&s->http);
    free(s->channel);
    free(s->username);
    free(s->icon_emoji);
    free(s);
}

static void on_timer_closed(uv_handle_t *t) { free_slack(t->data); }

static void sl_close(void *self) {
    slack *s = self;
    if (!s) return;
    while (s->head) { /* see the top of the file */
        pending *p = s->head;
        s->head = p->next;
        sd_sink_result(p->d, SECDET_SINK_RETRY, 0, "closing");
        free(p->body);
        free(p);
    }
    s->tail = NULL;
    if (s->timer_init) {
        uv_timer_stop(&s->timer);
        uv_close((uv_handle_t *)&s->timer, on_timer_closed);
    } else {
        free_slack(s);
    }
}

static int sl_attach(void *self, hub *h) {
    slack *s = self;
    s->h = h;
    return 0;
}

static const secdet_sink_vtable slack_vtable = {NULL, sl_emit, NULL, sl_close};

static char *dup_opt(const char *v, bool *oom) {
    if (!v) return NULL;
    char *d = strdup(v);
    if (!d) *oom = true;
    return d;
}

int sd_sink_slack_create(sink_cfg *c, sink_def *out) {
    slack *s = calloc(1, sizeof *s);
    if (!s) return sd_sink_cfg_fail(c, "out of memory");
    if (sd_http_sink_opts_read(c, &s->http) != 0) {
        free(s);
        return -1;
    }
    const char *channel = NULL, *username = NULL, *icon = NULL;
    uint64_t max_params = 0, interval = 1000;
    if (sd_sink_cfg_str(c, "channel", false, &channel) || sd_sink_cfg_str(c, "username", false, &username) ||
        sd_sink_cfg_str(c, "icon_emoji", false, &icon) || sd_sink_cfg_uint(c, "max_params", 0, 3000, &max_params) ||
        sd_sink_cfg_uint(c, "min_interval_ms", 0, 600000, &interval)) {
        free_slack(s);
        return -1;
    }
    bool oom = false;
    s->channel = dup_opt(channel, &oom);
    s->username = dup_opt(username, &oom);
    s->icon_emoji = dup_opt(icon, &oom);
    if (oom) {
        free_slack(s);
        return sd_sink_cfg_fail(c, "out of memory");
    }
    s->max_params = (size_t)max_params;
    s->min_interval_ms = interval;
    *out = (sink_def){.vt = &slack_vtable, .self = s, .attach = sl_attach, .max_in_flight = 1};
    return 0;
}
