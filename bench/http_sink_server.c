/*
 * http_sink_server.c — the benchmark's HTTP endpoint: answers every POST with
 * 200 as fast as it can, so bench/sink_bench.sh measures the webhook sink,
 * not the server (Python's http.server manages a few thousand requests a
 * second; this, tens of thousands).
 *
 * Not a general HTTP server: it understands exactly what the sink sends —
 * HTTP/1.1 requests with a Content-Length body (and "Expect: 100-continue",
 * which libcurl adds to larger POSTs), kept alive, possibly pipelined — and
 * answers "200 OK" with a 2-byte body. Anything else (a chunked body, a
 * header block over 64 KiB, no Content-Length on a POST that has a body)
 * gets a 400 and the connection is closed.
 *
 *     http_sink_server [PORT]      (0 or none: any free port)
 *
 * Prints the bound port on stdout (one line) once listening; on SIGTERM or
 * SIGINT prints "requests N" on stderr and exits 0. One thread, libuv.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define MAX_HEADER (64 * 1024)

static const char OK_RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
static const char CONTINUE[] = "HTTP/1.1 100 Continue\r\n\r\n";
static const char BAD_RESPONSE[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

typedef struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_signal_t sig_term, sig_int;
    unsigned long long requests;
} server;

typedef struct conn {
    uv_tcp_t tcp;
    server *srv;
    char *buf; /* bytes read and not yet consumed */
    size_t len, cap;
    size_t body_left; /* body bytes of the current request still to skip */
    int in_body;      /* headers of the current request parsed */
    int sent_continue;
    int close_after; /* Connection: close, or a bad request */
    int closing;
} conn;

typedef struct write_req {
    uv_write_t req;
    char *data;
} write_req;

static void on_closed(uv_handle_t *h) {
    conn *c = h->data;
    free(c->buf);
    free(c);
}

static void conn_close(conn *c) {
    if (c->closing) return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status) {
    write_req *w = (write_req *)req;
    conn *c = req->handle->data;
    free(w->data);
    free(w);
    if (status < 0 || c->close_after) conn_close(c);
}

/* Sends n bytes (copied). */
static void conn_send(conn *c, const char *data, size_t n) {
    write_req *w = malloc(sizeof *w);
    char *copy = malloc(n);
    if (!w || !copy) {
        free(w);
        free(copy);
        conn_close(c);
        return;
    }
    memcpy(copy, data, n);
    w->data = copy;
    uv_buf_t b = uv_buf_init(copy, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(copy);
        free(w);
        conn_close(c);
    }
}

/* The value of header `name` in the header block [h, h+n), or NULL; *vlen its length. */
static const char *header_value(const char *h, size_t n, const char *name, size_t *vlen) {
    size_t nl = strlen(name);
    const char *end = h + n;
    const char *line = memchr(h, '\n', n); /* skip the request line */
    while (line && line + 1 < end) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) eol = end;
        if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            const char *ve = eol;
            while (ve > v && isspace((unsigned char)ve[-1])) ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        line = eol;
    }
    return NULL;
}

/* Parses the header block of the request at the start of c->buf, if complete.
 * 1: parsed (consumed, body_left set); 0: need more; -1: bad request. */
static int parse_headers(conn *c, char *out, size_t *outlen) {
    const char *end = NULL;
    for (size_t i = 0; i + 3 < c->len; i++) {
        if (c->buf[i] == '\r' && c->buf[i + 1] == '\n' && c->buf[i + 2] == '\r' && c->buf[i + 3] == '\n') {
            end = c->buf + i + 4;
            break;
        }
    }
    if (!end) return c->len > MAX_HEADER ? -1 : 0;
    size_t hlen = (size_t)(end - c->buf);
    size_t vlen = 0;
    const char *v = header_value(c->buf, hlen, "transfer-encoding", &vlen);
    if (v) return -1;
    unsigned long long body = 0;
    v = header_value(c->buf, hlen, "content-length", &vlen);
    if (v) {
        char num[24];
        if (vlen == 0 || vlen >= sizeof num) return -1;
        memcpy(num, v, vlen);
        num[vlen] = '\0';
        char *e = NULL;
        body = strtoull(num, &e, 10);
        if (*e) return -1;
    }
    v = header_value(c->buf, hlen, "connection", &vlen);
    if (v && vlen == 5 && strncasecmp(v, "close", 5) == 0) c->close_after = 1;
    v = header_value(c->buf, hlen, "expect", &vlen);
    c->sent_continue = 0;
    if (v && vlen == 12 && strncasecmp(v, "100-continue", 12) == 0 && body > c->len - hlen) {
        memcpy(out + *outlen, CONTINUE, sizeof CONTINUE - 1);
        *outlen += sizeof CONTINUE - 1;
        c->sent_continue = 1;
    }
    memmove(c->buf, end, c->len - hlen);
    c->len -= hlen;
    c->body_left = (size_t)body;
    c->in_body = 1;
    return 1;
}

/* Consumes every complete request in c->buf; answers them in one write. */
static void process(conn *c) {
    size_t outcap = 64 * 1024, outlen = 0;
    char *out = malloc(outcap);
    if (!out) {
        conn_close(c);
        return;
    }
    for (;;) {
        if (outcap - outlen < 256) {
            char *bigger = realloc(out, outcap * 2);
            if (!bigger) break;
            out = bigger;
            outcap *= 2;
        }
        if (!c->in_body) {
            int rc = parse_headers(c, out, &outlen);
            if (rc == 0) break;
            if (rc < 0) {
                memcpy(out + outlen, BAD_RESPONSE, sizeof BAD_RESPONSE - 1);
                outlen += sizeof BAD_RESPONSE - 1;
                c->close_after = 1;
                break;
            }
        }
        size_t take = c->len < c->body_left ? c->len : c->body_left;
        memmove(c->buf, c->buf + take, c->len - take);
        c->len -= take;
        c->body_left -= take;
        if (c->body_left) break;
        c->in_body = 0;
        c->srv->requests++;
        memcpy(out + outlen, OK_RESPONSE, sizeof OK_RESPONSE - 1);
        outlen += sizeof OK_RESPONSE - 1;
        if (c->close_after) break;
    }
    if (outlen)
        conn_send(c, out, outlen);
    else if (c->close_after)
        conn_close(c);
    free(out);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    conn *c = h->data;
    if (c->cap - c->len < suggested) {
        size_t cap = c->cap ? c->cap : 64 * 1024;
        while (cap - c->len < suggested) cap *= 2;
        char *nb = realloc(c->buf, cap);
        if (!nb) {
            *b = uv_buf_init(NULL, 0);
            return;
        }
        c->buf = nb;
        c->cap = cap;
    }
    *b = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    conn *c = s->data;
    (void)b;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)n;
    if (!c->close_after) process(c);
}

static void on_connection(uv_stream_t *listener, int status) {
    server *srv = listener->data;
    if (status < 0) return;
    conn *c = calloc(1, sizeof *c);
    if (!c) return;
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void close_any(uv_handle_t *h, void *arg) {
    if (uv_is_closing(h)) return;
    if (h->type == UV_TCP && h->data != arg)
        conn_close(h->data); /* a connection */
    else
        uv_close(h, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
    (void)signum;
    server *srv = h->data;
    fprintf(stderr, "requests %llu\n", srv->requests);
    uv_walk(srv->loop, close_any, srv);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    server srv;
    memset(&srv, 0, sizeof srv);
    srv.loop = uv_default_loop();
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_init(srv.loop, &srv.listener);
    srv.listener.data = &srv;
    int rc = uv_tcp_bind(&srv.listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&srv.listener, 1024, on_connection);
    if (rc != 0) {
        fprintf(stderr, "http_sink_server: cannot listen on 127.0.0.1:%d: %s\n", port, uv_strerror(rc));
        return 1;
    }
    struct sockaddr_in bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&srv.listener, (struct sockaddr *)&bound, &blen);
    printf("%d\n", ntohs(bound.sin_port));
    fflush(stdout);
    uv_signal_init(srv.loop, &srv.sig_term);
    uv_signal_init(srv.loop, &srv.sig_int);
    srv.sig_term.data = srv.sig_int.data = &srv;
    uv_signal_start(&srv.sig_term, on_signal, SIGTERM);
    uv_signal_start(&srv.sig_int, on_signal, SIGINT);
    uv_run(srv.loop, UV_RUN_DEFAULT);
    uv_loop_close(srv.loop);
    return 0;
}
