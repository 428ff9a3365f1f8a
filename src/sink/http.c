/* http.c — HTTP POSTs on a libuv loop with libcurl's multi-socket API.
 *
 * The multi handle tells us which sockets to watch (socket_cb: one uv_poll_t
 * per socket, remembered with curl_multi_assign) and when to call it back
 * (timer_cb: one uv_timer_t). Events on either go to
 * curl_multi_socket_action, after which finished transfers are collected with
 * curl_multi_info_read and their done callbacks run — always from a libuv
 * callback (or sd_http_client_free, for aborted ones), never from inside a curl
 * callback or sd_http_post, so a done callback may start new requests (it must
 * not free the client: the loop that collects finished transfers is still
 * using it).
 *
 * Lifetimes. A uv handle is freed only in its close callback, and those
 * callbacks touch nothing but the handle's own memory: the client may be gone
 * by then. A socket that curl removes is stopped and closed at once (uv_close
 * takes the fd out of the poller immediately), so when curl closes the fd and
 * the number is reused for a new connection, the new uv_poll_t is the only
 * watcher of it. Live poll contexts are kept in a list so that
 * sd_http_client_free can close any that curl_multi_cleanup did not remove.
 *
 * A timer_cb timeout of 0 means "act now": it starts the uv timer with 0 delay
 * (it runs on the next loop turn) instead of calling socket_action from inside
 * the curl callback, which curl forbids.
 *
 * What a response says (status line, Retry-After, the body's first bytes)
 * is kept by the pure functions of http_response.c, fed from the header and
 * write callbacks.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <uv.h>

#include "sink/http.h"

typedef struct sock_ctx {
    uv_poll_t poll; /* first: the close callback frees the whole struct */
    curl_socket_t fd;
    http_client *c;
    struct sock_ctx *prev, *next;
} sock_ctx;

typedef struct http_xfer {
    http_client *c;
    CURL *easy;
    struct curl_slist *headers;
    http_done_fn done;
    void *arg;
    http_response resp; /* what the header and write callbacks were given */
    struct http_xfer *prev, *next;
} http_xfer;

struct http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t *timer; /* malloc'd: it outlives the client while it closes */
    sock_ctx *socks;
    http_xfer *xfers;
    size_t in_flight;
    bool closing;
};

/* ---- curl_global_init, once per process ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT; /* written once, under pthread_once */

static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- Finished transfers ---- */

static void xfer_unlink(http_client *c, http_xfer *x) {
    if (x->prev)
        x->prev->next = x->next;
    else
        c->xfers = x->next;
    if (x->next) x->next->prev = x->prev;
    c->in_flight--;
}

/* Removes x from the multi handle, calls its done, frees it. */
static void xfer_finish(http_xfer *x, CURLcode code, const char *forced_error) {
    http_client *c = x->c;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(c->multi, x->easy);
    xfer_unlink(c, x);
    http_result r;
    sd_http_response_result(&x->resp, status, (int)code, forced_error, &r);
    x->done(x->arg, &r);
    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x);
}

static void collect_done(http_client *c) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        CURLcode code = m->data.result; /* m is invalid once the handle is removed */
        if (priv) xfer_finish((http_xfer *)priv, code, NULL);
    }
}

/* ---- The loop side: poll and timer events -> socket_action ---- */

static void on_poll(uv_poll_t *p, int status, int events) {
    sock_ctx *s = (sock_ctx *)p;
    http_client *c = s->c;
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    collect_done(c);
}

static void on_timer(uv_timer_t *t) {
    http_client *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done(c);
}

static void free_handle(uv_handle_t *h) { free(h); }

static void sock_close(http_client *c, sock_ctx *s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next) s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, free_handle);
}

/* ---- The curl side: what to watch, when to wake ---- */

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
    http_client *c = userp;
    sock_ctx *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(c->multi, fd, NULL);
            sock_close(c, s);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return -1;
        if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->c = c;
        s->next = c->socks;
        if (c->socks) c->socks->prev = s;
        c->socks = s;
        curl_multi_assign(c->multi, fd, s);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
    return uv_poll_start(&s->poll, events, on_poll) == 0 ? 0 : -1;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp) {
    http_client *c = userp;
    if (timeout_ms < 0) return uv_timer_stop(c->timer) == 0 ? 0 : -1;
    return uv_timer_start(c->timer, on_timer, (uint64_t)timeout_ms, 0) == 0 ? 0 : -1;
}

/* ---- Per-transfer callbacks ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
    http_xfer *x = arg;
    sd_http_response_body(&x->resp, p, size * n);
    return size * n; /* the rest is read and dropped: the cap is not an error */
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
    http_xfer *x = arg;
    sd_http_response_header(&x->resp, p, size * n, (int64_t)time(NULL));
    return size * n;
}

/* ---- Public ---- */

http_client *sd_http_client_new(uv_loop_t *loop) {
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK || !loop) return NULL;
    http_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->loop = loop;
    c->timer = malloc(sizeof *c->timer);
    if (!c->timer || uv_timer_init(loop, c->timer) != 0) {
        free(c->timer);
        free(c);
        return NULL;
    }
    c->timer->data = c;
    c->multi = curl_multi_init();
    if (!c->multi || curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK) {
        if (c->multi) curl_multi_cleanup(c->multi);
        uv_close((uv_handle_t *)c->timer, free_handle);
        free(c);
        return NULL;
    }
    return c;
}

/* Only http and https URLs that curl can parse. */
static bool url_ok(const char *url) {
    CURLU *u = curl_url();
    char *scheme = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    curl_free(scheme);
    curl_url_cleanup(u);
    return ok;
}

static bool setup(http_xfer *x, const http_request *req) {
    CURL *e = x->easy;
    /* "Expect:" turns off 100-continue, which costs a round trip (or a
     * second's wait on servers that ignore it) for bodies over 1 MiB. */
    struct curl_slist *l = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; l && i < req->nheaders; i++) {
        struct curl_slist *n = curl_slist_append(l, req->headers[i]);
        if (!n) curl_slist_free_all(l);
        l = n;
    }
    x->headers = l;
    if (!l) return false;
    long timeout = req->timeout_ms ? (long)req->timeout_ms : 10000;
    long connect = req->connect_timeout_ms ? (long)req->connect_timeout_ms : 5000;
    bool ok = curl_easy_setopt(e, CURLOPT_URL, req->url) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, req->insecure ? 0L : 1L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, req->insecure ? 0L : 2L) == CURLE_OK &&
              (!req->ca_file || curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file) == CURLE_OK) &&
              curl_easy_setopt(e, CURLOPT_HTTPHEADER, l) == CURLE_OK &&
              /* The size first: COPYPOSTFIELDS copies that many bytes. */
              curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "") == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_WRITEDATA, x) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_HEADERDATA, x) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x) == CURLE_OK;
    return ok;
}

int sd_http_post(http_client *c, const http_request *req, http_done_fn done, void *arg) {
    if (!c || c->closing || !req || !req->url || !done || (req->nheaders && !req->headers) ||
        (req->body_len && !req->body) || !url_ok(req->url))
        return -1;
    http_xfer *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->c = c;
    x->done = done;
    x->arg = arg;
    sd_http_response_init(&x->resp);
    x->easy = curl_easy_init();
    if (!x->easy || !setup(x, req) || curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
        if (x->easy) curl_easy_cleanup(x->easy);
        curl_slist_free_all(x->headers);
        free(x);
        return -1;
    }
    /* add_handle asked timer_cb for a 0 ms timeout: the transfer starts on
     * the next loop turn, and done is never called from here. */
    x->next = c->xfers;
    if (c->xfers) c->xfers->prev = x;
    c->xfers = x;
    c->in_flight++;
    return 0;
}

size_t sd_http_in_flight(const http_client *c) { return c ? c->in_flight : 0; }

void sd_http_client_free(http_client *c) {
    if (!c) return;
    c->closing = true; /* done callbacks below cannot start new requests */
    while (c->xfers) xfer_finish(c->xfers, CURLE_ABORTED_BY_CALLBACK, "aborted");
    /* Closing the connection cache may call socket_cb and timer_cb: c is
     * still whole here. */
    curl_multi_cleanup(c->multi);
    while (c->socks) sock_close(c, c->socks);
    uv_timer_stop(c->timer);
    uv_close((uv_handle_t *)c->timer, free_handle);
    free(c);
}
