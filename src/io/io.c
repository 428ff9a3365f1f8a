/* io.c — the event loop side of the engine: which loop, the bounded queue
 * between inputs and evaluation, its draining, backpressure, and stopping.
 *
 * Promises (see also io.h and the header's "Event loop inputs"):
 *  - One loop per engine; everything here runs on its thread except
 *    secdet_stop, which only calls uv_async_send.
 *  - The queue holds at most max_n messages / max_bytes bytes plus what one
 *    read (64 KiB) can add after the limit is reached: reaching a limit
 *    pauses every pausable input at once, and they resume when the queue is
 *    half empty. UDP has no way to push back: it drops (io_udp.c).
 *  - Draining evaluates at most LIMIT_IO_DRAIN_BATCH messages per loop turn, so I/O
 *    (and signals, timers) keep being served under load.
 *  - While the sinks cannot take more alerts (secdet_push says
 *    SECDET_ERR_BUSY: a spool full and queue_max alerts in memory), draining
 *    stops and a timer looks again every SINKS_POLL_MS: the queue fills and
 *    the inputs pause as above, so backpressure reaches the sources. Stopping
 *    evaluates what is queued regardless (the queue bounds it).
 */
#include "io/io.h"
#include "util/limits.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SINKS_POLL_MS 20

static void queue_limits(io_state *io) {
    size_t max_event = sd_engine_opts(io->e)->max_event_bytes;
    io->max_n = io->req_messages ? io->req_messages : LIMIT_INPUT_QUEUE_MESSAGES;
    size_t floor4 = max_event > SIZE_MAX / 4 ? SIZE_MAX : max_event * 4;
    io->max_bytes = io->req_bytes ? io->req_bytes : LIMIT_INPUT_QUEUE_BYTES;
    if (!io->req_bytes && io->max_bytes < floor4) io->max_bytes = floor4;
}

secdet_status secdet_set_queue_limits(secdet_engine *e, size_t max_messages, size_t max_bytes) {
    if (!e) return SECDET_ERR_INVALID_ARG;
    io_state *io = sd_io_part(e);
    if (!io) return SECDET_ERR_NOMEM;
    io->req_messages = max_messages;
    io->req_bytes = max_bytes;
    queue_limits(io);
    return SECDET_OK;
}

/* ---- Inputs ------------------------------------------------------------------ */

io_input *sd_io_input_new(io_state *io, input_kind kind, const char *source, const char *label) {
    io_input *in = calloc(1, sizeof *in);
    if (!in) return NULL;
    in->kind = kind;
    in->fd = -1;
    in->source = strdup(source);
    in->label = strdup(label);
    if (!in->source || !in->label) {
        free(in->source);
        free(in->label);
        free(in);
        return NULL;
    }
    in->id = ++io->next_id;
    in->handles = 1;
    sd_io_framer_init(io, in, SECDET_FRAMING_LINES);
    return in;
}

void sd_io_input_release(io_input *in) {
    sd_framer_free(&in->fr);
    if (in->fd > 0) close(in->fd);  /* fd 0 is stdin: not ours to close */
    if (in->ssl) SSL_free(in->ssl); /* and its BIOs */
    sd_io_listener_free(in->listener);
    free(in->source);
    free(in->label);
    free(in->path);
    free(in);
}

static void input_closed(uv_handle_t *h) {
    io_input *in = h->data;
    if (--in->handles == 0) sd_io_input_release(in);
}

void sd_io_input_timer(io_state *io, io_input *in) {
    uv_timer_init(io->loop, &in->timer);
    in->timer.data = in;
    in->timer_init = true;
    in->handles++;
}

static void close_handles(io_input *in) {
    in->h.handle.data = in;
    if (!uv_is_closing(&in->h.handle)) uv_close(&in->h.handle, input_closed);
    if (in->timer_init && !uv_is_closing((uv_handle_t *)&in->timer)) uv_close((uv_handle_t *)&in->timer, input_closed);
}

void sd_io_input_discard(io_input *in) {
    in->io = NULL;
    close_handles(in);
}

void sd_io_input_link(io_state *io, io_input *in) {
    in->io = io;
    in->h.handle.data = in;
    in->next = io->inputs;
    in->prev = NULL;
    if (io->inputs) io->inputs->prev = in;
    io->inputs = in;
    if (in->kind == IN_TCP_CONN) io->st.connections++;
    if (in->kind == IN_TCP_CONN && in->parent) in->parent->listener->nconns++;
}

void sd_io_input_close(io_input *in) {
    io_state *io = in->io;
    if (!io) return; /* already closing */
    if (in->prev)
        in->prev->next = in->next;
    else
        io->inputs = in->next;
    if (in->next) in->next->prev = in->prev;
    in->next = in->prev = NULL;
    in->io = NULL;
    if (in->kind == IN_TCP_CONN && io->st.connections) io->st.connections--;
    if (in->kind == IN_TCP_CONN && in->parent) in->parent->listener->nconns--;
    if (in->kind == IN_TCP_SERVER) /* its connections outlive it (until secdet_stop closes them) */
        for (io_input *c = io->inputs; c; c = c->next)
            if (c->parent == in) c->parent = NULL;
    close_handles(in);
}

void sd_io_report(io_state *io, const io_input *in, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(msg, sizeof msg, "%s: ", in->label);
    if (n < 0 || (size_t)n >= sizeof msg) n = 0;
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    sd_engine_report_malformed(io->e, in->source, 0, msg);
}

void sd_io_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
    (void)suggested;
    io_input *in = h->data;
    if (!in || !in->io) {
        *b = uv_buf_init(NULL, 0);
        return;
    }
    *b = uv_buf_init(in->io->readbuf, sizeof in->io->readbuf);
}

/* ---- Queue -------------------------------------------------------------------- */

bool sd_io_queue_full(const io_state *io) { return io->qn >= io->max_n || io->qbytes >= io->max_bytes; }

static void pause_all(io_state *io) {
    io->full = true;
    io->st.input_paused++;
    for (io_input *in = io->inputs; in; in = in->next) {
        if (in->paused) continue;
        in->paused = true;
        if (in->kind == IN_TCP_CONN || (in->kind == IN_STDIN && in->fd < 0)) sd_io_stream_pause(in);
    }
}

static void resume_all(io_state *io) {
    io->full = false;
    for (io_input *in = io->inputs; in; in = in->next) {
        if (!in->paused) continue;
        in->paused = false;
        if (in->kind == IN_TCP_CONN || (in->kind == IN_STDIN && in->fd < 0)) sd_io_stream_resume(in);
    }
}

static void on_drain(uv_idle_t *h);

bool sd_io_enqueue(io_state *io, const char *source, const char *data, size_t len) {
    size_t slen = strlen(source);
    io_msg *m = malloc(sizeof *m + len + slen + 1);
    if (!m) return false;
    m->next = NULL;
    m->len = len;
    if (len) memcpy(m->data, data, len);
    memcpy(m->data + len, source, slen + 1);
    m->source = m->data + len;
    if (io->tail)
        io->tail->next = m;
    else
        io->head = m;
    io->tail = m;
    io->qn++;
    io->qbytes += len;
    io->st.queued = io->qn;
    if (!uv_is_active((uv_handle_t *)io->drain) && !uv_is_active((uv_handle_t *)io->sinks_wait))
        uv_idle_start(io->drain, on_drain);
    if (!io->full && sd_io_queue_full(io)) pause_all(io);
    return true;
}

static void on_sinks_poll(uv_timer_t *t);

/* Evaluates up to `max` messages (always: whatever the sinks say, when
 * stopping); returns how many are left. */
static size_t drain_some(io_state *io, size_t max, bool always) {
    secdet_engine *e = io->e;
    for (size_t i = 0; i < max && io->head; i++) {
        io_msg *m = io->head;
        /* One message is one complete stream of its source. */
        if (always) {
            (void)sd_engine_push_message_always(e, m->source, m->data, m->len);
        } else if (secdet_push(e, m->source, m->data, m->len) == SECDET_ERR_BUSY) {
            /* The message stays first; the idle handle waits for the timer. */
            uv_idle_stop(io->drain);
            uv_timer_start(io->sinks_wait, on_sinks_poll, SINKS_POLL_MS, SINKS_POLL_MS);
            break;
        } else {
            (void)secdet_source_end(e, m->source);
        }
        io->head = m->next;
        if (!io->head) io->tail = NULL;
        io->qn--;
        io->qbytes -= m->len;
        io->st.queued = io->qn;
        free(m);
    }
    if (io->full && io->qn <= io->max_n / 2 && io->qbytes <= io->max_bytes / 2) resume_all(io);
    return io->qn;
}

static void on_drain(uv_idle_t *h) {
    io_state *io = h->data;
    if (!io) return;
    if (drain_some(io, LIMIT_IO_DRAIN_BATCH, false) == 0) uv_idle_stop(h);
}

static void on_sinks_poll(uv_timer_t *t) {
    io_state *io = t->data;
    if (!io || sd_engine_sinks_saturated(io->e)) return;
    uv_timer_stop(t);
    if (io->head) uv_idle_start(io->drain, on_drain);
}

static void queue_free(io_state *io) {
    while (io->head) {
        io_msg *m = io->head;
        io->head = m->next;
        free(m);
    }
    io->tail = NULL;
    io->qn = io->qbytes = 0;
    io->st.queued = 0;
}

/* ---- Stop ---------------------------------------------------------------------- */

static void close_inputs(io_state *io) {
    while (io->inputs) {
        io_input *in = io->inputs;
        if (in->kind == IN_TAIL) sd_io_tail_poll(in, true);                 /* what is already written */
        if (in->kind == IN_TCP_CONN || in->kind == IN_STDIN) sd_io_end(in); /* before TLS is up, nothing is held */
        sd_io_input_close(in);
    }
}

static void on_wake(uv_async_t *h) {
    io_state *io = h->data;
    if (!io || !io->stop_requested) return;
    io->stop_requested = false;
    close_inputs(io);
    drain_some(io, SIZE_MAX, true); /* bounded by the queue; docs/sinks.md "Backpressure" */
    uv_idle_stop(io->drain);
    uv_timer_stop(io->sinks_wait);
    if (io->own_loop) uv_stop(io->loop);
}

secdet_status secdet_stop(secdet_engine *e) {
    io_state *io = e ? sd_engine_part(e, ENGINE_PART_IO) : NULL;
    if (!io || !io->loop) return SECDET_ERR_INVALID_ARG;
    io->stop_requested = true;
    return uv_async_send(io->wake) == 0 ? SECDET_OK : SECDET_ERR_IO;
}

/* ---- Loop ------------------------------------------------------------------------- */

static void free_handle(uv_handle_t *h) { free(h); }

static void io_part_stats(const void *state, secdet_stats *out) {
    const io_state *io = state;
    out->udp_dropped = io->st.udp_dropped;
    out->input_paused = io->st.input_paused;
    out->queued = io->st.queued;
    out->oversized = io->st.oversized;
    out->connections = io->st.connections;
    out->connections_refused = io->st.connections_refused;
    out->accept_errors = io->st.accept_errors;
    out->idle_closed = io->st.idle_closed;
    out->tls_failed = io->st.tls_failed;
}

/* Closes every input (their memory is released by the loop), then the
 * queue, the loop's handles and, when it is the engine's own, the loop. */
static void io_part_free(void *state) {
    io_state *io = state;
    if (io->loop) {
        while (io->inputs) sd_io_input_close(io->inputs);
        queue_free(io);
        io->drain->data = NULL;
        io->wake->data = NULL;
        io->sinks_wait->data = NULL;
        uv_close((uv_handle_t *)io->drain, free_handle);
        uv_close((uv_handle_t *)io->wake, free_handle);
        uv_close((uv_handle_t *)io->sinks_wait, free_handle);
        if (io->own_loop) {
            /* Let the close callbacks run; a handle of the user's that stays
             * active must not hang us, so only a bounded number of turns. */
            int rc = uv_loop_close(io->loop);
            for (int i = 0; i < 1000 && rc == UV_EBUSY; i++) {
                uv_run(io->loop, UV_RUN_NOWAIT);
                rc = uv_loop_close(io->loop);
            }
            if (rc == 0) free(io->loop); /* else leaked rather than freed under live handles */
        }
    }
    free(io);
}

static const engine_part_ops io_part_ops = {.stats = io_part_stats, .free = io_part_free};

io_state *sd_io_part(secdet_engine *e) {
    io_state *io = sd_engine_part(e, ENGINE_PART_IO);
    if (io) return io;
    io = calloc(1, sizeof *io);
    if (!io) return NULL;
    io->e = e;
    queue_limits(io);
    if (sd_engine_part_set(e, ENGINE_PART_IO, io, &io_part_ops) != SECDET_OK) {
        free(io);
        return NULL;
    }
    return io;
}

secdet_status sd_io_get(secdet_engine *e, uv_loop_t *loop, io_state **out) {
    *out = NULL;
    if (sd_engine_busy(e)) return SECDET_ERR_INVALID_ARG;
    io_state *io = sd_io_part(e);
    if (!io) return SECDET_ERR_NOMEM;
    if (io->loop) {
        if (loop && loop != io->loop) return SECDET_ERR_INVALID_ARG;
        *out = io;
        return SECDET_OK;
    }
    bool own = !loop;
    io->drain = calloc(1, sizeof *io->drain);
    io->wake = calloc(1, sizeof *io->wake);
    io->sinks_wait = calloc(1, sizeof *io->sinks_wait);
    if (own) {
        loop = calloc(1, sizeof *loop);
        if (loop && uv_loop_init(loop) != 0) {
            free(loop);
            loop = NULL;
        }
    }
    if (!loop || !io->drain || !io->wake || !io->sinks_wait) {
        if (own && loop) {
            uv_loop_close(loop);
            free(loop);
        }
        free(io->drain);
        free(io->wake);
        free(io->sinks_wait);
        io->drain = NULL;
        io->wake = NULL;
        io->sinks_wait = NULL;
        return SECDET_ERR_NOMEM;
    }
    io->own_loop = own;
    io->loop = loop;
    uv_idle_init(loop, io->drain);
    io->drain->data = io;
    uv_timer_init(loop, io->sinks_wait);
    io->sinks_wait->data = io;
    uv_async_init(loop, io->wake, on_wake);
    io->wake->data = io;
    uv_unref((uv_handle_t *)io->wake); /* stop may never be called: it must not keep the loop running */
    queue_limits(io);
    *out = io;
    return SECDET_OK;
}

uv_loop_t *secdet_loop(secdet_engine *e) {
    if (!e) return NULL;
    io_state *io;
    return sd_io_get(e, NULL, &io) == SECDET_OK ? io->loop : NULL;
}

secdet_status secdet_run_loop(secdet_engine *e) {
    io_state *io = NULL;
    if (!e) return SECDET_ERR_INVALID_ARG;
    secdet_status st = sd_io_get(e, NULL, &io);
    if (st != SECDET_OK) return st;
    if (!io->own_loop) return SECDET_ERR_INVALID_ARG; /* yours: you run it */
    uv_run(io->loop, UV_RUN_DEFAULT);
    return SECDET_OK;
}

uint16_t secdet_input_port(const secdet_engine *e, unsigned id) {
    const io_state *io = e ? sd_engine_part(e, ENGINE_PART_IO) : NULL;
    for (const io_input *in = io ? io->inputs : NULL; in; in = in->next) {
        if (in->id != id) continue;
        struct sockaddr_storage ss;
        int len = sizeof ss;
        int rc = in->kind == IN_TCP_SERVER ? sd_io_tcp_sockname(in, &ss)
                 : in->kind == IN_UDP      ? uv_udp_getsockname(&in->h.udp, (struct sockaddr *)&ss, &len)
                                           : -1;
        return rc == 0 ? sd_io_port_of(&ss) : 0;
    }
    return 0;
}
