/* syslog.c — the "syslog" sink: each alert as one RFC 5424 message
 * (format_syslog.c) over UDP, TCP or TLS, on the hub's libuv loop.
 *
 *  - udp: one datagram per alert (RFC 5426), MSG cut to max_msg (1900) so a
 *    message stays near the 2048 bytes every receiver should accept. An
 *    alert counts as delivered once the datagram was sent.
 *  - tcp: RFC 6587 octet counting, "LEN SP MSG"; tls: the same inside TLS
 *    (RFC 5425, syslog_tls.c). Delivered once the write completed (the
 *    kernel took it); up to max_in_flight (16) writes outstanding, in order.
 *
 * Connections (sl_conn, see syslog_int.h) are made on the first emit after
 * the last one failed: resolve the host when it is a name (uv_getaddrinfo;
 * TCP tries each address in turn, UDP uses the first), connect, and for TLS
 * the handshake, each within timeout_ms. A write that makes no progress for
 * timeout_ms, an error, or the server closing the connection fails it: every
 * alert it held is answered RETRY with the reason, and the delivery layer's
 * backoff decides when the next attempt (a new connection) happens. We read
 * from the connection only to notice that the server went away. Nothing is
 * ever printed: failures travel in the delivery's error text.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink/format.h"
#include "sink/syslog_int.h"
#include "util/limits.h"

#define DEFAULT_TIMEOUT_MS 5000
#define READ_BUF           16384

typedef struct sl_write {
    union {
        uv_write_t w;
        uv_udp_send_t u;
    } req;
    sl_conn *c;
    secdet_delivery *d; /* NULL: TLS protocol bytes */
    char data[];
} sl_write;

static void sink_maybe_free(sl_sink *s) {
    if (!s->closing || s->conns) return;
    free(s->host);
    free(s->hostname);
    free(s->app_name);
    free(s->server_name);
    if (s->ctx) SSL_CTX_free(s->ctx);
    sd_buf_free(&s->fmt);
    sd_buf_free(&s->frame);
    free(s);
}

/* ---- A connection's life ------------------------------------------------------- */

static void conn_unref(sl_conn *c) {
    if (--c->refs) return;
    sl_sink *s = c->s;
    sd_sl_tls_free(c);
    if (c->ai) uv_freeaddrinfo(c->ai);
    free(c->wait.v);
    free(c);
    s->conns--;
    sink_maybe_free(s);
}

static void on_handle_closed(uv_handle_t *h) { conn_unref(h->data); }

static void on_timeout(uv_timer_t *t) {
    sl_conn *c = t->data;
    unsigned long long ms = (unsigned long long)c->s->timeout_ms;
    if (c->up)
        sd_sl_conn_fail(c, "write timed out after %llu ms", ms);
    else if (c->connected)
        sd_sl_conn_fail(c, "TLS handshake timed out after %llu ms", ms);
    else
        sd_sl_conn_fail(c, "connect timed out after %llu ms", ms);
}

static sl_conn *conn_new(sl_sink *s) {
    sl_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->s = s;
    if (uv_timer_init(s->loop, &c->timer) != 0) {
        free(c);
        return NULL;
    }
    c->timer.data = c;
    c->refs = 1;
    s->conns++;
    return c;
}

void sd_sl_conn_fail(sl_conn *c, const char *fmt, ...) {
    if (c->dead) return;
    c->dead = true;
    c->up = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    if (c->s->conn == c) c->s->conn = NULL;
    sl_list w = c->wait;
    c->wait = (sl_list){0};
    for (size_t i = 0; i < w.n; i++) sd_sink_result(w.v[i], SECDET_SINK_RETRY, 0, "%s", c->why);
    free(w.v);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    if (c->resolving) uv_cancel((uv_req_t *)&c->gai); /* or it calls back, ignored */
    /* Pending writes and the connect request are called back (ECANCELED)
     * before the handle's close callback. */
    if (c->io_init) uv_close(&c->io.h, on_handle_closed);
}

static int push_wait(sl_list *l, secdet_delivery *d) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        secdet_delivery **v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = d;
    return 0;
}

/* ---- Writing ---------------------------------------------------------------------- */

/* The stall timer of a conn that is up: runs while writes are outstanding,
 * restarted on progress. */
static void arm(sl_conn *c, bool progress) {
    if (!c->up || c->s->transport == SL_UDP) return;
    if (!c->writes)
        uv_timer_stop(&c->timer);
    else if (progress || !uv_is_active((uv_handle_t *)&c->timer))
        uv_timer_start(&c->timer, on_timeout, c->s->timeout_ms, 0);
}

static void write_done(sl_write *w, int status) {
    sl_conn *c = w->c;
    c->writes--;
    char why[200] = "";
    if (status == UV_ECANCELED && c->why[0])
        snprintf(why, sizeof why, "%s", c->why);
    else if (status) /* (uv_strerror leaks on codes it does not know, like 0) */
        snprintf(why, sizeof why, "%s failed: %s", c->s->transport == SL_UDP ? "send" : "write", uv_strerror(status));
    if (w->d) {
        if (status == 0)
            sd_sink_result(w->d, SECDET_SINK_OK, 0, NULL);
        else if (status == UV_EMSGSIZE)
            sd_sink_result(w->d, SECDET_SINK_PERMANENT, 0, "message too long for a datagram");
        else
            sd_sink_result(w->d, SECDET_SINK_RETRY, 0, "%s", why);
    }
    if (status != 0 && status != UV_EMSGSIZE)
        sd_sl_conn_fail(c, "%s", why);
    else
        arm(c, true);
    free(w);
    conn_unref(c);
}

static void on_written(uv_write_t *req, int status) { write_done(req->data, status); }
static void on_sent(uv_udp_send_t *req, int status) { write_done(req->data, status); }

int sd_sl_conn_write(sl_conn *c, const char *data, size_t n, secdet_delivery *d) {
    sl_write *w = malloc(sizeof *w + n);
    if (!w) {
        if (d) sd_sink_result(d, SECDET_SINK_RETRY, 0, "out of memory");
        return -1;
    }
    memcpy(w->data, data, n);
    w->c = c;
    w->d = d;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int rc;
    if (c->s->transport == SL_UDP) {
        w->req.u.data = w;
        rc = uv_udp_send(&w->req.u, &c->io.udp, &b, 1, (const struct sockaddr *)&c->addr, on_sent);
    } else {
        w->req.w.data = w;
        rc = uv_write(&w->req.w, &c->io.stream, &b, 1, on_written);
    }
    c->refs++;
    c->writes++;
    if (rc != 0) {
        write_done(w, rc); /* answers d, fails the conn */
        return -1;
    }
    arm(c, false);
    return 0;
}

/* One alert on a conn that is up: "LEN SP MSG" on a stream, MSG alone in a datagram. */
static void conn_send(sl_conn *c, secdet_delivery *d) {
    sl_sink *s = c->s;
    size_t len = 0;
    const char *json = secdet_delivery_json(d, &len);
    syslog_fmt_opts o = {
        .facility = s->facility, .hostname = s->hostname, .app_name = s->app_name, .max_msg = s->max_msg};
    sd_buf_reset(&s->fmt);
    sd_buf_reset(&s->frame);
    if (sd_syslog_format(&s->fmt, json, len, &o) != 0) {
        sd_sink_result(d, SECDET_SINK_PERMANENT, 0, "the alert is not valid JSON");
        return;
    }
    if (s->transport != SL_UDP) sd_buf_printf(&s->frame, "%zu ", s->fmt.len);
    sd_buf_append(&s->frame, s->fmt.data, s->fmt.len);
    if (s->fmt.oom || s->frame.oom || !s->frame.data)
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "out of memory");
    else if (s->transport == SL_TLS)
        sd_sl_tls_send(c, s->frame.data, s->frame.len, d);
    else
        sd_sl_conn_write(c, s->frame.data, s->frame.len, d);
}

void sd_sl_conn_ready(sl_conn *c) {
    c->up = true;
    uv_timer_stop(&c->timer);
    sl_list w = c->wait;
    c->wait = (sl_list){0};
    for (size_t i = 0; i < w.n; i++) {
        if (c->dead)
            sd_sink_result(w.v[i], SECDET_SINK_RETRY, 0, "%s", c->why);
        else
            conn_send(c, w.v[i]);
    }
    free(w.v);
    if (!c->dead) arm(c, false);
}

/* ---- Connecting ------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)h;
    (void)suggested;
    char *p = malloc(READ_BUF);
    *b = uv_buf_init(p, p ? READ_BUF : 0);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b) {
    sl_conn *c = st->data;
    if (nread > 0 && !c->dead && c->ssl) sd_sl_tls_input(c, b->base, (size_t)nread);
    /* Plain TCP: a syslog server has nothing to say; what it sends is dropped. */
    else if (nread < 0 && !c->dead) {
        if (nread == UV_EOF)
            sd_sl_conn_fail(c, "connection closed by the server");
        else
            sd_sl_conn_fail(c, "connection lost: %s", uv_strerror((int)nread));
    }
    free(b->base);
}

static void conn_open(sl_conn *c);

/* Connecting failed: the name's next address, on a new conn that takes over
 * the waiting alerts. false when there is none. */
static bool try_next(sl_conn *c, int status) {
    sl_sink *s = c->s;
    struct addrinfo *a = c->next_ai; /* (sockaddr_storage holds any address) */
    sl_conn *n = a ? conn_new(s) : NULL;
    if (!n) return false;
    n->ai = c->ai;
    n->next_ai = a->ai_next;
    c->ai = NULL;
    memcpy(&n->addr, a->ai_addr, a->ai_addrlen);
    n->wait = c->wait;
    c->wait = (sl_list){0};
    s->conn = n;
    sd_sl_conn_fail(c, "cannot connect: %s", uv_strerror(status));
    uv_timer_start(&n->timer, on_timeout, s->timeout_ms, 0);
    conn_open(n);
    return true;
}

static void on_connect(uv_connect_t *req, int status) {
    sl_conn *c = req->data;
    if (!c->dead) {
        int rc;
        if (status != 0) {
            if (!try_next(c, status)) sd_sl_conn_fail(c, "cannot connect: %s", uv_strerror(status));
        } else if ((rc = uv_read_start(&c->io.stream, on_alloc, on_read)) != 0) {
            sd_sl_conn_fail(c, "cannot read: %s", uv_strerror(rc));
        } else {
            c->connected = true;
            if (c->s->transport == SL_TLS)
                sd_sl_tls_start(c);
            else
                sd_sl_conn_ready(c);
        }
    }
    conn_unref(c);
}

/* The address is known: make the socket. */
static void conn_open(sl_conn *c) {
    sl_sink *s = c->s;
    int rc = s->transport == SL_UDP ? uv_udp_init(s->loop, &c->io.udp) : uv_tcp_init(s->loop, &c->io.tcp);
    if (rc != 0) {
        sd_sl_conn_fail(c, "cannot make a socket: %s", uv_strerror(rc));
        return;
    }
    c->io_init = true;
    c->io.h.data = c;
    c->refs++;
    if (s->transport == SL_UDP) {
        sd_sl_conn_ready(c);
        return;
    }
    uv_tcp_nodelay(&c->io.tcp, 1);
    c->creq.data = c;
    rc = uv_tcp_connect(&c->creq, &c->io.tcp, (const struct sockaddr *)&c->addr, on_connect);
    if (rc != 0) {
        sd_sl_conn_fail(c, "cannot connect: %s", uv_strerror(rc));
        return;
    }
    c->refs++;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    sl_conn *c = req->data;
    c->resolving = false;
    c->ai = res;
    if (!c->dead && (status != 0 || !res)) {
        sd_sl_conn_fail(c, "cannot resolve the host: %s", status ? uv_strerror(status) : "no address");
    } else if (!c->dead) {
        memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
        c->next_ai = res->ai_next;
        conn_open(c);
    }
    conn_unref(c);
}

static void conn_start(sl_conn *c) {
    sl_sink *s = c->s;
    uv_timer_start(&c->timer, on_timeout, s->timeout_ms, 0);
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&c->addr;
    if (uv_ip4_addr(s->host, (int)s->port, (struct sockaddr_in *)&c->addr) == 0 ||
        uv_ip6_addr(s->host, (int)s->port, a6) == 0) {
        conn_open(c);
        return;
    }
    /* No AI_ADDRCONFIG: glibc ignores loopback addresses for it. TCP tries each address. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = s->transport == SL_UDP ? SOCK_DGRAM : SOCK_STREAM};
    char port[8];
    snprintf(port, sizeof port, "%u", s->port);
    c->gai.data = c;
    int rc = uv_getaddrinfo(s->loop, &c->gai, on_resolved, s->host, port, &hints);
    if (rc != 0) {
        sd_sl_conn_fail(c, "cannot resolve the host: %s", uv_strerror(rc));
        return;
    }
    c->resolving = true;
    c->refs++;
}

/* ---- The vtable ------------------------------------------------------------------ */

static void sl_emit(void *self, secdet_delivery *d) {
    sl_sink *s = self;
    if (!s->loop) {
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "not attached to a delivery loop");
        return;
    }
    sl_conn *c = s->conn;
    if (c && c->up) {
        conn_send(c, d);
        return;
    }
    bool fresh = !c;
    if (fresh && !(c = conn_new(s))) {
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "out of memory");
        return;
    }
    s->conn = c;
    if (push_wait(&c->wait, d) != 0) {
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "out of memory");
        if (fresh) sd_sl_conn_fail(c, "out of memory");
        return;
    }
    if (fresh) conn_start(c);
}

static void sl_close(void *self) {
    sl_sink *s = self;
    if (!s) return;
    s->closing = true;
    if (s->conn) sd_sl_conn_fail(s->conn, "the sink was closed");
    sink_maybe_free(s); /* now, or when the last conn has closed */
}

static int sl_attach(void *self, hub *h) {
    sl_sink *s = self;
    s->loop = sd_hub_loop(h);
    /* A write to a connection the server reset raises SIGPIPE in the writing
     * thread: this one, which belongs to the library. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    return s->loop ? 0 : -1;
}

static const secdet_sink_vtable syslog_vtable = {NULL, sl_emit, NULL, sl_close};

/* ---- Configuration ------------------------------------------------------------- */

static int parse_facility(const char *v) {
    static const char *const names[] = {"kern", "user", "mail",     "daemon", "auth", "syslog", "lpr",   "news",
                                        "uucp", "cron", "authpriv", "ftp",    "ntp",  "audit",  "alert", "clock"};
    for (int i = 0; i < 16; i++)
        if (strcmp(v, names[i]) == 0) return i;
    if (strncmp(v, "local", 5) == 0 && v[5] >= '0' && v[5] <= '7' && !v[6]) return 16 + (v[5] - '0');
    char *end;
    long n = strtol(v, &end, 10);
    return *v >= '0' && *v <= '9' && !*end && n <= 23 ? (int)n : -1;
}

int sd_sink_syslog_create(sink_cfg *c, sink_def *out) {
    sl_sink *s = calloc(1, sizeof *s);
    if (!s) return sd_sink_cfg_fail(c, "out of memory");
    s->closing = true; /* until returned: sl_close frees at once */
    sd_buf_init(&s->fmt);
    sd_buf_init(&s->frame);
    const char *transport = NULL, *host = NULL, *facility = NULL, *hostname = NULL;
    const char *app_name = NULL, *ca_file = NULL, *server_name = NULL;
    uint64_t port = 0, max_msg = 0, timeout = DEFAULT_TIMEOUT_MS;
    bool verify = true;
    if (sd_sink_cfg_str(c, "transport", false, &transport) || sd_sink_cfg_str(c, "host", true, &host) ||
        sd_sink_cfg_uint(c, "port", 1, 65535, &port) || sd_sink_cfg_str(c, "facility", false, &facility) ||
        sd_sink_cfg_str(c, "hostname", false, &hostname) || sd_sink_cfg_str(c, "app_name", false, &app_name) ||
        sd_sink_cfg_uint(c, "max_msg", 64, 1 << 20, &max_msg) ||
        sd_sink_cfg_uint(c, "timeout_ms", 1, 3600000, &timeout) || sd_sink_cfg_bool(c, "tls_verify", &verify) ||
        sd_sink_cfg_str(c, "ca_file", false, &ca_file) || sd_sink_cfg_str(c, "server_name", false, &server_name))
        goto fail;
    const char *bad = NULL;
    s->transport = !transport || !strcmp(transport, "udp") ? SL_UDP
                   : !strcmp(transport, "tcp")             ? SL_TCP
                   : !strcmp(transport, "tls")             ? SL_TLS
                                                           : -1;
    if (s->transport < 0)
        bad = "transport: expected udp, tcp or tls";
    else if (!*host || strlen(host) > 253)
        bad = "host: expected an IP address or a host name";
    else if (s->transport != SL_TLS && ca_file)
        bad = "ca_file: only with transport tls";
    else if (s->transport != SL_TLS && server_name)
        bad = "server_name: only with transport tls";
    else if ((s->facility = facility ? parse_facility(facility) : 16) < 0)
        bad = "facility: expected a name (auth, authpriv, daemon, user, local0 ... local7, "
              "...) or 0 to 23";
    if (bad) {
        sd_sink_cfg_fail(c, "%s", bad);
        goto fail;
    }
    char myname[256] = "";
    if (!hostname && gethostname(myname, sizeof myname - 1) != 0) myname[0] = 0;
    s->port = port ? (unsigned)port : s->transport == SL_TLS ? 6514 : 514;
    s->max_msg = max_msg ? (size_t)max_msg : s->transport == SL_UDP ? LIMIT_SYSLOG_UDP_MSG : 8192;
    s->timeout_ms = timeout;
    s->tls_verify = verify;
    s->host = strdup(host);
    s->hostname = strdup(hostname ? hostname : myname);
    s->app_name = strdup(app_name ? app_name : "secdet");
    s->server_name = strdup(server_name ? server_name : host);
    if (!s->host || !s->hostname || !s->app_name || !s->server_name) {
        sd_sink_cfg_fail(c, "out of memory");
        goto fail;
    }
    if (s->transport == SL_TLS) {
        char err[160];
        if (sd_sl_tls_ctx(s, ca_file, err, sizeof err) != 0) {
            sd_sink_cfg_fail(c, "%s", err);
            goto fail;
        }
    }
    s->closing = false;
    *out = (sink_def){
        .vt = &syslog_vtable, .self = s, .attach = sl_attach, .max_in_flight = s->transport == SL_UDP ? 1 : 16};
    return 0;
fail:
    sink_maybe_free(s);
    return -1;
}
