/* test_http.c — the HTTP client (src/sink/http.c) against a small HTTP/1.1
 * server written here on the same libuv loop, and the mapping of outcomes to
 * delivery results (sd_http_sink_classify).
 *
 * The server listens on 127.0.0.1, port 0, keeps connections alive, and
 * answers by path (see respond()). Every test runs the loop only until what
 * it waits for has happened, with a 10 s guard timer, then frees the client
 * and the server and checks that the loop closes with no handle left open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <uv.h>

#include "sink/http.h"
#include "sink/http_sink.h"
#include "util/buf.h"

/* ---- The server ---------------------------------------------------------------- */

typedef struct server {
    uv_tcp_t listener;
    int port;
    unsigned accepted, open, max_open, requests;
} server;

typedef struct conn {
    uv_tcp_t tcp; /* first: the close callback frees the conn */
    server *srv;
    buf in;
    bool close_after; /* "/close": answer, then close the connection */
} conn;

typedef struct wreq {
    uv_write_t req;
    conn *c;
    bool close_after;
    char *data;
} wreq;

/* Fixed answers; "/date", "/pastdate", "/big", "/len", "/echo" are made in
 * respond(), and "/hang" (any other path) is never answered. */
static const struct route {
    const char *path;
    int status;
    const char *headers, *body;
} routes[] = {
    {"/ok", 200, "", "ok"},
    {"/close", 200, "Connection: close\r\n", "ok"},
    {"/429", 429, "Retry-After: 2\r\n", "rate_limited"},
    {"/500", 500, "", "oops"},
    {"/400", 400, "", "bad\x01request\n: no text"},
    {"/302", 302, "Location: /ok\r\n", ""},
    {"/badretry", 503, "Retry-After: soon\r\n", ""},
};

static size_t find(const char *p, size_t n, const char *what) {
    size_t w = strlen(what);
    for (size_t i = 0; i + w <= n; i++)
        if (memcmp(p + i, what, w) == 0) return i;
    return (size_t)-1;
}

/* The value of header `name` in the header block, copied into out ("" when absent). */
static void header_value(const char *hdrs, size_t n, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name), a = 0, b;
    while (a + nl < n &&
           !((a == 0 || hdrs[a - 1] == '\n') && strncasecmp(hdrs + a, name, nl) == 0 && hdrs[a + nl] == ':'))
        a++;
    a = a + nl < n ? a + nl + 1 : n;
    while (a < n && hdrs[a] == ' ') a++;
    for (b = a; b < n && hdrs[b] != '\r' && hdrs[b] != '\n'; b++) {}
    snprintf(out, cap, "%.*s", (int)(b - a), hdrs + a);
}

static void conn_closed(uv_handle_t *h) {
    sd_buf_free(&((conn *)h)->in);
    free(h);
}

static void conn_close(conn *c) {
    if (uv_is_closing((uv_handle_t *)&c->tcp)) return;
    c->srv->open--;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_written(uv_write_t *req, int status) {
    wreq *w = (wreq *)req;
    if (w->close_after || status < 0) conn_close(w->c);
    free(w->data);
    free(w);
}

static void send_response(conn *c, int status, const char *extra, const char *body, size_t len) {
    buf b;
    sd_buf_init(&b);
    sd_buf_printf(&b, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status, len, extra);
    sd_buf_append(&b, body, len);
    wreq *w = calloc(1, sizeof *w);
    assert_true(w && !b.oom);
    w->c = c;
    w->close_after = c->close_after;
    unsigned n = (unsigned)b.len;
    w->data = sd_buf_steal(&b);
    uv_buf_t ub = uv_buf_init(w->data, n);
    assert_int_equal(uv_write(&w->req, (uv_stream_t *)&c->tcp, &ub, 1, on_written), 0);
}

static uint32_t fnv1a(const char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

/* One request: path, its header block (hlen bytes), its body. */
static void respond(conn *c, const char *path, const char *hdrs, size_t hlen, const char *body, size_t len) {
    char text[4096];
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(path, routes[i].path) == 0) {
            send_response(c, routes[i].status, routes[i].headers, routes[i].body, strlen(routes[i].body));
            return;
        }
    }
    if (strcmp(path, "/date") == 0 || strcmp(path, "/pastdate") == 0) {
        time_t t = time(NULL) + (strcmp(path, "/date") == 0 ? 30 : -30);
        struct tm tm;
        strftime(text, sizeof text, "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", gmtime_r(&t, &tm));
        send_response(c, 503, text, "", 0);
    } else if (strcmp(path, "/big") == 0) {
        char big[10000];
        for (int i = 0; i < 10000; i++) big[i] = (char)('a' + i % 26);
        send_response(c, 200, "", big, sizeof big);
    } else if (strcmp(path, "/len") == 0) {
        int n = snprintf(text, sizeof text, "%zu %08x", len, (unsigned)fnv1a(body, len));
        send_response(c, 200, "", text, (size_t)n);
    } else if (strcmp(path, "/echo") == 0) {
        send_response(c, 200, "", hdrs, hlen);
    }
}

static void process(conn *c) {
    size_t end;
    while (!c->close_after && (end = find(c->in.data, c->in.len, "\r\n\r\n")) != (size_t)-1) {
        size_t hlen = end + 4;
        char cl[32], path[256];
        header_value(c->in.data, hlen, "Content-Length", cl, sizeof cl);
        size_t len = (size_t)strtoull(cl, NULL, 10);
        if (c->in.len < hlen + len) return;
        const char *sp = memchr(c->in.data, ' ', end); /* "POST /path?query HTTP/1.1" */
        assert_non_null(sp);
        snprintf(path, sizeof path, "%.*s", (int)strcspn(sp + 1, " ?"), sp + 1);
        c->srv->requests++;
        c->close_after = strcmp(path, "/close") == 0;
        respond(c, path, c->in.data, hlen, c->in.data + hlen, len);
        memmove(c->in.data, c->in.data + hlen + len, c->in.len - hlen - len);
        c->in.len -= hlen + len;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    b->base = malloc(suggested);
    b->len = b->base ? suggested : 0;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
    conn *c = (conn *)st;
    if (n < 0) conn_close(c);
    if (n > 0 && !uv_is_closing((uv_handle_t *)st)) {
        sd_buf_append(&c->in, b->base, (size_t)n);
        process(c);
    }
    free(b->base);
}

static void on_connection(uv_stream_t *l, int status) {
    server *s = l->data;
    conn *c = calloc(1, sizeof *c);
    assert_true(status == 0 && c);
    c->srv = s;
    sd_buf_init(&c->in);
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
    s->accepted++;
    if (++s->open > s->max_open) s->max_open = s->open;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void server_start(uv_loop_t *loop, server *s) {
    memset(s, 0, sizeof *s);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_init(loop, &s->listener), 0);
    assert_int_equal(uv_tcp_bind(&s->listener, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 128, on_connection), 0);
    int len = sizeof a;
    assert_int_equal(uv_tcp_getsockname(&s->listener, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    s->listener.data = s;
}

/* Every TCP handle on the loop is the server's (curl's sockets are polls). */
static void close_server_handle(uv_handle_t *h, void *arg) {
    if (h->type != UV_TCP || uv_is_closing(h)) return;
    if (h == arg)
        uv_close(h, NULL);
    else
        conn_close(h->data);
}

/* A port nobody listens on: bound, its number taken, closed. */
static int closed_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_true(fd >= 0 && bind(fd, (struct sockaddr *)&a, len) == 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- The fixture: a loop, a server, a client ---------------------------------------- */

typedef struct fixture {
    uv_loop_t loop;
    server srv;
    http_client *c;
    unsigned done;
    bool timed_out;
} fixture;

typedef struct outcome {
    fixture *fx;
    unsigned calls;
    long status;
    int curl_code;
    char error[128];
    char body[5000];
    size_t body_len;
    int64_t retry_after_ms;
    uint64_t at_ms;
} outcome;

static void on_done(void *arg, const http_result *r) {
    outcome *o = arg;
    o->calls++;
    o->status = r->status;
    o->curl_code = r->curl_code;
    snprintf(o->error, sizeof o->error, "%s", r->error);
    assert_true(r->body_len < sizeof o->body);
    assert_int_equal(r->body[r->body_len], 0);
    memcpy(o->body, r->body, r->body_len + 1);
    o->body_len = r->body_len;
    o->retry_after_ms = r->retry_after_ms;
    o->at_ms = uv_hrtime() / 1000000;
    o->fx->done++;
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx || uv_loop_init(&fx->loop) != 0) return -1;
    server_start(&fx->loop, &fx->srv);
    fx->c = sd_http_client_new(&fx->loop);
    if (!fx->c) return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    sd_http_client_free(fx->c);
    uv_walk(&fx->loop, close_server_handle, &fx->srv.listener);
    for (int i = 0; i < 1000 && uv_run(&fx->loop, UV_RUN_NOWAIT) != 0; i++) uv_sleep(1);
    int rc = uv_loop_close(&fx->loop); /* UV_EBUSY: a handle was left open */
    free(fx);
    return rc == 0 ? 0 : -1;
}

static void on_guard(uv_timer_t *t) { ((fixture *)t->data)->timed_out = true; }

/* Runs the loop until n done callbacks in all, or cond(arg), or 10 s. */
static void run_until(fixture *fx, unsigned n, bool (*cond)(fixture *)) {
    uv_timer_t guard;
    uv_timer_init(&fx->loop, &guard);
    guard.data = fx;
    fx->timed_out = false;
    uv_timer_start(&guard, on_guard, 10000, 0);
    while (!fx->timed_out && (cond ? !cond(fx) : fx->done < n)) uv_run(&fx->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    assert_false(fx->timed_out);
}

static void post(fixture *fx, const char *path, outcome *o, const http_request *base) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", fx->srv.port, path);
    http_request req = base ? *base : (http_request){0};
    req.url = url; /* sd_http_post copies what it needs */
    if (!base) {
        req.body = "{}";
        req.body_len = 2;
    }
    o->fx = fx;
    assert_int_equal(sd_http_post(fx->c, &req, on_done, o), 0);
}

static outcome *post_and_wait(fixture *fx, const char *path, outcome *o) {
    unsigned before = fx->done;
    post(fx, path, o, NULL);
    run_until(fx, before + 1, NULL);
    assert_int_equal(o->calls, 1);
    return o;
}

/* ---- Tests: the client ------------------------------------------------------------- */

/* Status, error text, body and Retry-After of each kind of answer; a
 * redirect is not followed (one request reaches the server). */
static void test_each_answer_gives_status_error_body_and_retry_after(void **state) {
    fixture *fx = *state;
    static const struct {
        const char *path;
        long status;
        const char *error, *body;
        int64_t retry_after_ms;
    } cases[] = {
        {"/ok", 200, "", "ok", -1},
        {"/429", 429, "HTTP 429", "rate_limited", 2000},
        {"/500", 500, "HTTP 500", "oops", -1},
        {"/400", 400, "HTTP 400", "bad\x01request\n: no text", -1},
        {"/302", 302, "HTTP 302", "", -1},
        {"/badretry", 503, "HTTP 503", "", -1},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        outcome o = {0};
        post_and_wait(fx, cases[i].path, &o);
        assert_int_equal(fx->srv.requests, i + 1);
        assert_int_equal(o.status, cases[i].status);
        assert_int_equal(o.curl_code, 0);
        assert_string_equal(o.error, cases[i].error);
        assert_string_equal(o.body, cases[i].body);
        assert_int_equal(o.retry_after_ms, cases[i].retry_after_ms);
        assert_int_equal(sd_http_in_flight(fx->c), 0);
    }
}

static void test_retry_after_as_http_date(void **state) {
    outcome a = {0}, b = {0};
    post_and_wait(*state, "/date", &a);
    assert_int_equal(a.status, 503);
    assert_in_range(a.retry_after_ms, 28000, 31000);
    post_and_wait(*state, "/pastdate", &b);
    assert_int_equal(b.retry_after_ms, 0);
}

static void test_body_capture_is_capped_at_4k(void **state) {
    outcome o = {0};
    post_and_wait(*state, "/big", &o);
    assert_int_equal(o.status, 200);
    assert_string_equal(o.error, "");
    assert_int_equal(o.body_len, 4096);
    assert_int_equal(strlen(o.body), 4096);
    assert_int_equal(o.body[4095], 'a' + 4095 % 26);
}

static void test_hang_times_out_without_naming_the_url(void **state) {
    fixture *fx = *state;
    outcome o = {0};
    http_request req = {.body = "x", .body_len = 1, .timeout_ms = 300};
    uint64_t t0 = uv_hrtime() / 1000000;
    post(fx, "/hang?token=SECRET", &o, &req);
    run_until(fx, 1, NULL);
    assert_int_equal(o.curl_code, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.error, curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
    assert_null(strstr(o.error, "SECRET"));
    assert_null(strstr(o.error, "127.0.0.1"));
    assert_in_range(o.at_ms - t0, 250, 5000);
}

static void test_refused_connection_is_a_curl_error(void **state) {
    fixture *fx = *state;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x?token=SECRET", closed_port());
    outcome o = {.fx = fx};
    http_request req = {.url = url, .body = "{}", .body_len = 2};
    assert_int_equal(sd_http_post(fx->c, &req, on_done, &o), 0);
    run_until(fx, 1, NULL);
    assert_int_equal(o.curl_code, CURLE_COULDNT_CONNECT);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.error, curl_easy_strerror(CURLE_COULDNT_CONNECT));
    assert_null(strstr(o.error, "SECRET"));
}

static void test_fifty_concurrent_requests_all_complete(void **state) {
    fixture *fx = *state;
    outcome *o = calloc(50, sizeof *o);
    assert_non_null(o);
    for (int i = 0; i < 50; i++) post(fx, "/ok", &o[i], NULL);
    assert_int_equal(sd_http_in_flight(fx->c), 50);
    run_until(fx, 50, NULL);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(o[i].calls, 1);
        assert_int_equal(o[i].status, 200);
    }
    assert_int_equal(sd_http_in_flight(fx->c), 0);
    assert_int_equal(fx->srv.requests, 50);
    assert_true(fx->srv.max_open > 1); /* they really ran at once */
    free(o);
}

static void fill(char *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (char)(i * 31 % 251);
}

static void test_one_mib_body_arrives_whole(void **state) {
    fixture *fx = *state;
    size_t n = 1u << 20;
    char *body = malloc(n), want[64];
    assert_non_null(body);
    fill(body, n);
    snprintf(want, sizeof want, "%zu %08x", n, (unsigned)fnv1a(body, n));
    outcome o = {0};
    http_request req = {.body = body, .body_len = n};
    post(fx, "/len", &o, &req);
    memset(body, 0, n); /* sd_http_post copied it */
    free(body);
    run_until(fx, 1, NULL);
    assert_int_equal(o.status, 200);
    assert_string_equal(o.body, want);
}

/* A body over 1 MiB would make curl send "Expect: 100-continue" and wait up
 * to a second for a "100 Continue" most webhook receivers never send. */
static void test_headers_are_sent_and_expect_is_off(void **state) {
    fixture *fx = *state;
    const char *h[] = {"Content-Type: application/json", "X-Test: 42"};
    size_t n = 2u << 20;
    char *body = calloc(1, n);
    assert_non_null(body);
    http_request req = {.headers = h, .nheaders = 2, .body = body, .body_len = n};
    outcome o = {0};
    post(fx, "/echo", &o, &req);
    free(body);
    run_until(fx, 1, NULL);
    char v[64];
    header_value(o.body, o.body_len, "X-Test", v, sizeof v);
    assert_string_equal(v, "42");
    header_value(o.body, o.body_len, "Content-Type", v, sizeof v);
    assert_string_equal(v, "application/json");
    header_value(o.body, o.body_len, "Content-Length", v, sizeof v);
    assert_string_equal(v, "2097152");
    assert_null(strstr(o.body, "Expect"));
}

static void test_keep_alive_reuses_one_connection(void **state) {
    fixture *fx = *state;
    outcome o[3] = {{0}};
    for (int i = 0; i < 3; i++) post_and_wait(fx, "/ok", &o[i]);
    assert_int_equal(fx->srv.requests, 3);
    assert_int_equal(fx->srv.accepted, 1);
}

/* Each answer closes its connection, and each done starts the next request:
 * curl removes a socket, closes it, and the next connection usually gets the
 * same fd number — the poll handle of the old one must not get in the way. */
typedef struct chain {
    outcome o;
    int left;
    char url[128];
} chain;

static void on_chain_done(void *arg, const http_result *r) {
    chain *ch = arg;
    on_done(&ch->o, r);
    assert_int_equal(r->status, 200);
    if (--ch->left > 0) {
        http_request req = {.url = ch->url, .body = "{}", .body_len = 2};
        assert_int_equal(sd_http_post(ch->o.fx->c, &req, on_chain_done, ch), 0);
    }
}

static void test_sockets_closed_and_reused_in_a_chain(void **state) {
    fixture *fx = *state;
    chain ch = {.o = {.fx = fx}, .left = 20};
    snprintf(ch.url, sizeof ch.url, "http://127.0.0.1:%d/close", fx->srv.port);
    http_request req = {.url = ch.url, .body = "{}", .body_len = 2};
    assert_int_equal(sd_http_post(fx->c, &req, on_chain_done, &ch), 0);
    run_until(fx, 20, NULL);
    assert_int_equal(ch.o.calls, 20);
    assert_int_equal(fx->srv.requests, 20);
    assert_int_equal(fx->srv.accepted, 20);
    assert_int_equal(sd_http_in_flight(fx->c), 0);
}

static bool one_request_seen(fixture *fx) { return fx->srv.requests == 1; }

static void test_free_aborts_what_is_in_flight(void **state) {
    fixture *fx = *state;
    outcome a = {0}, b = {0};
    post(fx, "/hang", &a, NULL);
    run_until(fx, 0, one_request_seen);
    post(fx, "/ok", &b, NULL); /* not even started */
    assert_int_equal(sd_http_in_flight(fx->c), 2);
    sd_http_client_free(fx->c);
    fx->c = NULL;
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(a.curl_code, CURLE_ABORTED_BY_CALLBACK);
    assert_string_equal(a.error, "aborted");
    assert_string_equal(b.error, "aborted");
}

static void test_bad_urls_do_not_start(void **state) {
    fixture *fx = *state;
    outcome o = {.fx = fx};
    const char *bad[] = {"", "not a url", "ftp://127.0.0.1/x", "file:///etc/passwd", "http://"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_request req = {.url = bad[i], .body = "{}", .body_len = 2};
        assert_int_equal(sd_http_post(fx->c, &req, on_done, &o), -1);
    }
    http_request none = {.body = "{}", .body_len = 2};
    assert_int_equal(sd_http_post(fx->c, &none, on_done, &o), -1);
    assert_int_equal(sd_http_in_flight(fx->c), 0);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    assert_int_equal(o.calls, 0);
}

/* ---- Tests: classification ----------------------------------------------------------- */

static http_sink_outcome classify(long status, int code, const char *error, const char *body, int64_t after) {
    http_result r = {status, code, error, body, strlen(body), after};
    http_sink_outcome o;
    sd_http_sink_classify(&r, &o);
    return o;
}

static void test_classification_table(void **state) {
    (void)state;
    static const struct {
        long status;
        int code;
        const char *body;
        int64_t after;
        secdet_sink_result want;
        int64_t want_after;
        const char *want_error; /* NULL: the curl text */
    } cases[] = {
        {200, 0, "ok", -1, SECDET_SINK_OK, 0, ""},
        {204, 0, "", 2000, SECDET_SINK_OK, 0, ""},
        {408, 0, "slow", -1, SECDET_SINK_RETRY, 0, "HTTP 408"},
        {425, 0, "", -1, SECDET_SINK_RETRY, 0, "HTTP 425"},
        {429, 0, "rate_limited", 2000, SECDET_SINK_RETRY, 2000, "HTTP 429"},
        {500, 0, "oops", -1, SECDET_SINK_RETRY, 0, "HTTP 500"},
        {503, 0, "", 30000, SECDET_SINK_RETRY, 30000, "HTTP 503"},
        {504, 0, "", 0, SECDET_SINK_RETRY, 0, "HTTP 504"},
        /* No response at all, or one cut short (headers, then a timeout). */
        {0, CURLE_COULDNT_CONNECT, "", -1, SECDET_SINK_RETRY, 0, NULL},
        {0, CURLE_OPERATION_TIMEDOUT, "", -1, SECDET_SINK_RETRY, 0, NULL},
        {200, CURLE_OPERATION_TIMEDOUT, "", -1, SECDET_SINK_RETRY, 0, NULL},
        /* Other 4xx and 3xx: permanent, with the start of the body, cleaned. */
        {404, 0, "no_service", -1, SECDET_SINK_PERMANENT, 0, "HTTP 404: no_service"},
        {400, 0, "bad\x01request\n: no\ttext\r\n", -1, SECDET_SINK_PERMANENT, 0, "HTTP 400: bad request : no text"},
        {403, 0, "invalid_token", 5000, SECDET_SINK_PERMANENT, 0, "HTTP 403: invalid_token"},
        {302, 0, "", -1, SECDET_SINK_PERMANENT, 0, "HTTP 302"},
        {301, 0, " \n", -1, SECDET_SINK_PERMANENT, 0, "HTTP 301"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *err = cases[i].code ? curl_easy_strerror((CURLcode)cases[i].code) : "HTTP x";
        http_sink_outcome o = classify(cases[i].status, cases[i].code, err, cases[i].body, cases[i].after);
        const char *want_error = cases[i].want_error ? cases[i].want_error : err;
        if (o.result != cases[i].want || o.retry_after_ms != cases[i].want_after || strcmp(o.error, want_error))
            fail_msg("case %zu (%ld): got %d, %lld, \"%s\"", i, cases[i].status, (int)o.result,
                     (long long)o.retry_after_ms, o.error);
    }
}

static void test_permanent_error_keeps_160_bytes_on_a_utf8_boundary(void **state) {
    (void)state;
    char body[400];
    memset(body, 'x', 300);
    body[300] = 0;
    http_sink_outcome o = classify(422, 0, "HTTP 422", body, -1);
    assert_int_equal(strlen(o.error), strlen("HTTP 422: ") + 160);
    /* 159 ASCII bytes then a 2-byte "é" across the cut: it is left out whole. */
    memset(body, 'y', 159);
    memcpy(body + 159, "\xc3\xa9zzz", 6);
    o = classify(422, 0, "HTTP 422", body, -1);
    assert_int_equal(strlen(o.error), strlen("HTTP 422: ") + 159);
    assert_int_equal(o.error[strlen(o.error) - 1], 'y');
}

int main(void) {
    /* The server is local: no proxy from the environment may get between. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_each_answer_gives_status_error_body_and_retry_after),
        T(test_retry_after_as_http_date),
        T(test_body_capture_is_capped_at_4k),
        T(test_hang_times_out_without_naming_the_url),
        T(test_refused_connection_is_a_curl_error),
        T(test_fifty_concurrent_requests_all_complete),
        T(test_one_mib_body_arrives_whole),
        T(test_headers_are_sent_and_expect_is_off),
        T(test_keep_alive_reuses_one_connection),
        T(test_sockets_closed_and_reused_in_a_chain),
        T(test_free_aborts_what_is_in_flight),
        T(test_bad_urls_do_not_start),
#undef T
        cmocka_unit_test(test_classification_table),
        cmocka_unit_test(test_permanent_error_keeps_160_bytes_on_a_utf8_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
