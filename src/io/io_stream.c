/* io_stream.c — reading byte streams (TCP connections, plain or TLS, and
 * stdin) into the input queue, through each input's framer (framer.h), and
 * a connection's deadlines.
 *
 * Each connection has its own framer, so one client's partial line,
 * garbage or oversized message never touches another's. An octet count
 * that is not a number cannot be resynced and closes that connection only.
 * A connection's timer is its TLS handshake deadline, then its idle
 * deadline; it runs only while the connection is read, so time spent
 * paused by a full queue is never held against the client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"

/* ---- Framing into the queue --------------------------------------------------- */

static void on_message(void *user, const char *p, size_t n) {
    io_input *in = user;
    if (!in->io) return;
    if (!sd_io_enqueue(in->io, in->source, p, n)) sd_io_report(in->io, in, "out of memory: message dropped");
}

static void on_problem(void *user, framer_problem what, const char *text) {
    io_input *in = user;
    if (!in->io) return;
    if (what == FRAMER_OVERSIZED) in->io->st.oversized++;
    if (what == FRAMER_BAD_COUNT)
        sd_io_report(in->io, in, "%s; connection closed", text);
    else
        sd_io_report(in->io, in, "%s", text);
}

static const framer_out queue_out = {on_message, on_problem};

void sd_io_framer_init(io_state *io, io_input *in, secdet_framing mode) {
    sd_framer_free(&in->fr);
    sd_framer_init(&in->fr, mode, sd_engine_opts(io->e)->max_event_bytes, &queue_out, in);
}

bool sd_io_feed(io_input *in, const char *p, size_t n) { return sd_framer_feed(&in->fr, p, n); }

void sd_io_end(io_input *in) {
    if (in->io) sd_framer_end(&in->fr);
}

/* ---- A connection's deadlines -------------------------------------------------- */

static void on_deadline(uv_timer_t *t) {
    io_input *c = t->data;
    if (!c || !c->io) return;
    if (c->ssl && !c->tls_up) {
        sd_io_tls_handshake_timeout(c);
        return;
    }
    c->io->st.idle_closed++;
    if (sd_framer_holds_partial(&c->fr))
        sd_io_report(c->io, c,
                     "nothing received for %llu ms (idle_timeout_ms): connection closed, partial message "
                     "dropped",
                     (unsigned long long)c->idle_ms);
    sd_io_input_close(c);
}

void sd_io_conn_deadline(io_input *c) {
    if (!c->timer_init || !c->io) return;
    uint64_t ms = c->ssl && !c->tls_up ? c->handshake_ms : c->idle_ms;
    if (ms && !c->paused)
        uv_timer_start(&c->timer, on_deadline, ms, 0);
    else
        uv_timer_stop(&c->timer);
}

/* ---- Reading a stream (TCP connection, stdin) ----------------------------- */

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
    io_input *in = s->data;
    if (!in || !in->io) return;
    if (nread > 0) {
        in->got_bytes = true;
        if (in->ssl) {
            sd_io_tls_input(in, b->base, (size_t)nread);
            return;
        }
        if (!sd_io_feed(in, b->base, (size_t)nread))
            sd_io_input_close(in);
        else
            sd_io_conn_deadline(in);
        return;
    }
    if (nread == 0) return; /* EAGAIN */
    if (in->ssl && nread == UV_EOF) {
        sd_io_tls_eof(in);
        return;
    }
    if (nread == UV_EOF) {
        sd_io_end(in);
    } else if (sd_framer_holds_partial(&in->fr)) {
        sd_io_report(in->io, in, "%s: partial message dropped", uv_strerror((int)nread));
    }
    in->finished = true;
    sd_io_input_close(in);
}

void sd_io_stream_pause(io_input *in) {
    uv_read_stop(&in->h.stream);
    if (in->timer_init) uv_timer_stop(&in->timer);
}

void sd_io_stream_resume(io_input *in) {
    if (uv_is_closing(&in->h.handle)) return;
    uv_read_start(&in->h.stream, sd_io_alloc_cb, on_read);
    sd_io_conn_deadline(in);
}

void sd_io_stream_start(io_input *in) {
    if (in->io->full) {
        in->paused = true;
        return;
    }
    uv_read_start(&in->h.stream, sd_io_alloc_cb, on_read);
    sd_io_conn_deadline(in);
}

/* ---- stdin ------------------------------------------------------------------- */

secdet_status secdet_input_stdin(secdet_engine *e, const char *source, uv_loop_t *loop) {
    if (!e) return SECDET_ERR_INVALID_ARG;
    sd_io_ok(e);
    secdet_status st = sd_io_check_source(e, source);
    io_state *io = NULL;
    if (st == SECDET_OK) st = sd_io_get(e, loop, &io);
    if (st != SECDET_OK) return st;
    io_input *in = sd_io_input_new(io, IN_STDIN, source, "stdin");
    if (!in) return sd_io_fail(e, SECDET_ERR_NOMEM, "out of memory");
    uv_handle_type t = uv_guess_handle(0);
    if (t == UV_FILE) { /* a regular file: read it on a timer, like a tail that does not follow */
        in->fd = 0;
        in->follow = false;
        in->from_start = true;
        uv_timer_init(io->loop, &in->h.timer);
        sd_io_input_link(io, in);
        sd_io_tail_poll(in, false); /* starts its timer */
        return SECDET_OK;
    }
    if (t == UV_TTY) {
        int rc = uv_tty_init(io->loop, &in->h.tty, 0, 0);
        if (rc != 0) {
            sd_io_input_release(in);
            return sd_io_fail(e, SECDET_ERR_IO, "cannot read stdin (a terminal): %s", uv_strerror(rc));
        }
    } else {
        uv_pipe_init(io->loop, &in->h.pipe, 0);
        int rc = uv_pipe_open(&in->h.pipe, 0);
        if (rc != 0) {
            sd_io_input_discard(in);
            return sd_io_fail(e, SECDET_ERR_IO, "cannot read stdin: %s", uv_strerror(rc));
        }
    }
    sd_io_input_link(io, in);
    sd_io_stream_start(in);
    return SECDET_OK;
}
