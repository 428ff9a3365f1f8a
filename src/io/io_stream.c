/* io_stream.c — byte streams: framing (lines, octet counting), TCP
 * listeners and their connections, stdin.
 *
 * Each connection has its own framer, so one client's partial line,
 * garbage or oversized message never touches another's. Oversized messages
 * are dropped as they stream by (at most max_event_bytes + 1 bytes of one
 * are ever held); an octet count that is not a number cannot be resynced
 * and closes that connection only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"

/* Longest octet count accepted: 19 digits fit in uint64_t. */
#define MAX_COUNT_DIGITS 19

void framer_init(framer *f, secdet_framing mode) {
    memset(f, 0, sizeof *f);
    f->mode = mode;
    buf_init(&f->msg);
}

void framer_free(framer *f) { buf_free(&f->msg); }

static size_t max_event(const io_input *in) { return in->io->e->opts.max_event_bytes; }

static void oversized(io_input *in) {
    in->io->e->stats.oversized++;
    io_report(in->io, in, "message longer than %zu bytes dropped", max_event(in));
}

static void emit(io_input *in, const char *p, size_t n) {
    if (!io_enqueue(in->io, in->source, p, n)) io_report(in->io, in, "out of memory: message dropped");
}

/* One complete line without its '\n'. */
static void line_done(io_input *in, const char *p, size_t n) {
    if (n > 0 && p[n - 1] == '\r') n--;
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r')) i++;
    if (i == n) return; /* blank */
    emit(in, p, n);
}

static void lines_feed(io_input *in, const char *p, size_t n) {
    framer *f = &in->fr;
    size_t max = max_event(in) + 1; /* + a '\r' */
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (f->skipping) {
            if (!nl) return;
            f->skipping = false;
            p = nl + 1;
            continue;
        }
        size_t part = (size_t)((nl ? nl : end) - p);
        if (f->msg.len + part > max) {
            oversized(in);
            buf_reset(&f->msg);
            f->skipping = true;
            continue;
        }
        if (!nl) {
            buf_append(&f->msg, p, part);
            return;
        }
        if (f->msg.len) {
            buf_append(&f->msg, p, part);
            if (!f->msg.oom) line_done(in, f->msg.data, f->msg.len);
            buf_reset(&f->msg);
        } else {
            line_done(in, p, part);
        }
        p = nl + 1;
    }
}

static bool octets_feed(io_input *in, const char *p, size_t n) {
    framer *f = &in->fr;
    const char *end = p + n;
    while (p < end && !f->broken) {
        if (f->oc == OC_LEN) {
            char c = *p++;
            if (f->oc_digits == 0 && (c == '\n' || c == '\r')) continue; /* a stray newline between frames */
            if (c >= '0' && c <= '9' && f->oc_digits < MAX_COUNT_DIGITS) {
                f->oc_len = f->oc_len * 10 + (uint64_t)(c - '0');
                f->oc_digits++;
            } else if (c == ' ' && f->oc_digits > 0) {
                f->oc_digits = 0;
                if (f->oc_len > max_event(in)) {
                    oversized(in);
                    f->oc = OC_SKIP;
                } else {
                    f->oc = OC_BODY;
                    buf_reset(&f->msg);
                }
                if (f->oc_len == 0) f->oc = OC_LEN;
            } else {
                f->broken = true;
                io_report(in->io, in, "octet-counted framing: expected a count and a space, found byte 0x%02x; "
                          "connection closed", (unsigned char)c);
            }
        } else {
            size_t take = (size_t)(end - p);
            if (take > f->oc_len) take = (size_t)f->oc_len;
            if (f->oc == OC_BODY) buf_append(&f->msg, p, take);
            p += take;
            f->oc_len -= take;
            if (f->oc_len == 0) {
                if (f->oc == OC_BODY && !f->msg.oom) emit(in, f->msg.data ? f->msg.data : "", f->msg.len);
                buf_reset(&f->msg);
                f->oc = OC_LEN;
            }
        }
    }
    return !f->broken;
}

bool framer_feed(io_input *in, const char *p, size_t n) {
    if (in->fr.mode == SECDET_FRAMING_OCTET_COUNTED) return octets_feed(in, p, n);
    lines_feed(in, p, n);
    return true;
}

void framer_end(io_input *in) {
    framer *f = &in->fr;
    if (!in->io) return;
    if (f->mode == SECDET_FRAMING_LINES) {
        if (!f->skipping && f->msg.len && !f->msg.oom) line_done(in, f->msg.data, f->msg.len);
    } else if (!f->broken && (f->oc != OC_LEN || f->oc_digits)) {
        io_report(in->io, in, "stream ended inside an octet-counted frame");
    }
    buf_reset(&f->msg);
    f->skipping = false;
    f->oc = OC_LEN;
    f->oc_len = 0;
    f->oc_digits = 0;
}

/* ---- Reading a stream (TCP connection, stdin) ----------------------------- */

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
    io_input *in = s->data;
    if (!in || !in->io) return;
    if (nread > 0) {
        if (!framer_feed(in, b->base, (size_t)nread)) io_input_close(in);
        return;
    }
    if (nread == 0) return; /* EAGAIN */
    if (nread == UV_EOF) {
        framer_end(in);
    } else if (in->fr.msg.len || in->fr.oc != OC_LEN) {
        io_report(in->io, in, "%s: partial message dropped", uv_strerror((int)nread));
    }
    in->finished = true;
    io_input_close(in);
}

void io_stream_pause(io_input *in) { uv_read_stop(&in->h.stream); }

void io_stream_resume(io_input *in) {
    if (!uv_is_closing(&in->h.handle)) uv_read_start(&in->h.stream, io_alloc_cb, on_read);
}

/* ---- TCP ------------------------------------------------------------------- */

static void on_connection(uv_stream_t *server, int status) {
    io_input *srv = server->data;
    if (!srv || !srv->io || status < 0) return;
    io_state *io = srv->io;
    char label[160];
    snprintf(label, sizeof label, "%s client %u", srv->label, ++srv->conn_seq);
    io_input *c = io_input_new(io, IN_TCP_CONN, srv->source, label);
    if (!c) return; /* the client waits in the backlog; it is accepted on the next connection */
    framer_init(&c->fr, srv->framing);
    uv_tcp_init(io->loop, &c->h.tcp);
    c->h.handle.data = c;
    if (uv_accept(server, &c->h.stream) != 0) {
        io_input_discard(c);
        return;
    }
    io_input_link(io, c);
    if (io->full) c->paused = true;
    else uv_read_start(&c->h.stream, io_alloc_cb, on_read);
}

static secdet_status resolve(const char *host, uint16_t port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return SECDET_OK;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) return SECDET_OK;
    return SECDET_ERR_INVALID_ARG;
}

static secdet_status check_source(secdet_engine *e, const char *source) {
    if (!source) return SECDET_ERR_INVALID_ARG;
    for (size_t i = 0; i < e->nsources; i++)
        if (strcmp(e->sources[i].name, source) == 0) return SECDET_OK;
    return SECDET_ERR_UNKNOWN_SOURCE;
}

secdet_status secdet_input_tcp(secdet_engine *e, const char *source, const char *host, uint16_t port,
                               secdet_framing framing, uv_loop_t *loop, unsigned *id) {
    if (!e || !host || (framing != SECDET_FRAMING_LINES && framing != SECDET_FRAMING_OCTET_COUNTED))
        return SECDET_ERR_INVALID_ARG;
    secdet_status st = check_source(e, source);
    struct sockaddr_storage ss;
    if (st == SECDET_OK) st = resolve(host, port, &ss);
    io_state *io = NULL;
    if (st == SECDET_OK) st = io_get(e, loop, &io);
    if (st != SECDET_OK) return st;
    char label[128];
    snprintf(label, sizeof label, "tcp %s:%u", host, (unsigned)port);
    io_input *in = io_input_new(io, IN_TCP_SERVER, source, label);
    if (!in) return SECDET_ERR_NOMEM;
    in->framing = framing;
    uv_tcp_init(io->loop, &in->h.tcp);
    int rc = uv_tcp_bind(&in->h.tcp, (const struct sockaddr *)&ss, 0);
    if (rc == 0) {
        in->h.handle.data = in;
        rc = uv_listen(&in->h.stream, 128, on_connection);
    }
    if (rc != 0) {
        io_input_discard(in);
        return SECDET_ERR_IO;
    }
    io_input_link(io, in);
    if (id) *id = in->id;
    return SECDET_OK;
}

/* ---- stdin ------------------------------------------------------------------- */

secdet_status secdet_input_stdin(secdet_engine *e, const char *source, uv_loop_t *loop) {
    if (!e) return SECDET_ERR_INVALID_ARG;
    secdet_status st = check_source(e, source);
    io_state *io = NULL;
    if (st == SECDET_OK) st = io_get(e, loop, &io);
    if (st != SECDET_OK) return st;
    io_input *in = io_input_new(io, IN_STDIN, source, "stdin");
    if (!in) return SECDET_ERR_NOMEM;
    uv_handle_type t = uv_guess_handle(0);
    if (t == UV_FILE) { /* a regular file: read it on a timer, like a tail that does not follow */
        in->fd = 0;
        in->follow = false;
        in->from_start = true;
        uv_timer_init(io->loop, &in->h.timer);
        io_input_link(io, in);
        io_tail_poll(in, false); /* starts its timer */
        return SECDET_OK;
    }
    if (t == UV_TTY) {
        if (uv_tty_init(io->loop, &in->h.tty, 0, 0) != 0) {
            io_input_release(in);
            return SECDET_ERR_IO;
        }
    } else {
        uv_pipe_init(io->loop, &in->h.pipe, 0);
        if (uv_pipe_open(&in->h.pipe, 0) != 0) {
            io_input_discard(in);
            return SECDET_ERR_IO;
        }
    }
    io_input_link(io, in);
    if (io->full) in->paused = true;
    else uv_read_start(&in->h.stream, io_alloc_cb, on_read);
    return SECDET_OK;
}
