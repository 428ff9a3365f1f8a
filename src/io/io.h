/* io.h — event loop inputs (libuv): the state shared by io.c (the loop, the
 * bounded queue, draining, stop), io_stream.c (framing, TCP, stdin),
 * io_file.c (file tail) and io_udp.c.
 *
 * Every input is its own allocation holding its libuv handle; the handle's
 * close callback frees it. An input closed while the engine lives is first
 * unlinked from io_state, so nothing can reach it after uv_close; when the
 * engine is freed on the caller's loop, the inputs' memory is released by
 * that loop's close callbacks, and io_state itself goes at once (no handle
 * callback runs after uv_close, and the handles that outlive it were told so
 * by their NULL `io`).
 */
#ifndef SECDET_IO_IO_H
#define SECDET_IO_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "engine_sources.h"
#include "util/buf.h"

#define IO_READ_BUF (64 * 1024)

typedef enum { IN_TCP_SERVER, IN_TCP_CONN, IN_UDP, IN_STDIN, IN_TAIL } input_kind;

typedef enum { OC_LEN, OC_BODY, OC_SKIP } octet_state;

/* Cuts a byte stream into messages (lines or octet-counted frames). */
typedef struct framer {
    secdet_framing mode;
    buf msg;           /* the message so far */
    bool skipping;     /* lines: inside an over-long line, dropped up to '\n' */
    octet_state oc;
    uint64_t oc_len;   /* the count being read, then the bytes still expected */
    unsigned oc_digits;
    bool broken;       /* octet counting lost sync: the stream cannot go on */
} framer;

typedef struct io_state io_state;

typedef struct io_input {
    struct io_input *next, *prev;
    io_state *io;       /* NULL once closing (unlinked) */
    input_kind kind;
    unsigned id;
    char *source;
    char *label;        /* for messages: "tcp 127.0.0.1:5140 client 3", "file /var/log/x" */
    framer fr;
    bool paused;        /* reading stopped: the queue is full */
    bool finished;      /* stdin or a file stdin at its end */
    /* TCP server: framing for its connections; the connections' count. */
    secdet_framing framing;
    unsigned conn_seq;
    /* File tail (and stdin when it is a regular file). */
    char *path;         /* NULL for stdin */
    int fd;
    uint64_t offset;
    dev_t dev;
    ino_t ino;
    bool from_start;
    bool follow;        /* false: read to the end once (stdin file) */
    unsigned poll_ms;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_udp_t udp;
        uv_pipe_t pipe;
        uv_tty_t tty;
        uv_timer_t timer;
    } h;
} io_input;

typedef struct io_msg {
    struct io_msg *next;
    const char *source; /* inside data, after the message */
    size_t len;
    char data[];        /* message bytes, then the source name and its NUL */
} io_msg;

struct io_state {
    engine_ext *x;
    secdet_engine *e;
    uv_loop_t *loop;
    bool own_loop;
    uv_idle_t *drain;   /* runs while the queue holds messages */
    uv_timer_t *sinks_wait; /* runs instead while the sinks take no alerts (io.c) */
    uv_async_t *wake;   /* secdet_stop, from any thread */
    io_input *inputs;
    unsigned next_id;
    io_msg *head, *tail;
    size_t qn, qbytes, max_n, max_bytes;
    bool full;          /* inputs are paused until the queue is half empty */
    bool stop_requested;
    char readbuf[IO_READ_BUF]; /* every read is consumed before the next (one thread) */
};

/* io.c */
secdet_status io_get(secdet_engine *e, uv_loop_t *loop, io_state **out);
io_input *io_input_new(io_state *io, input_kind kind, const char *source, const char *label);
/* Links a ready input into io->inputs (after its handle was initialised). */
void io_input_link(io_state *io, io_input *in);
/* Closes the handle of an input that was initialised but never linked; frees it. */
void io_input_discard(io_input *in);
/* Frees an input whose handle was never initialised. */
void io_input_release(io_input *in);
/* Unlinks and closes (the close callback frees it). */
void io_input_close(io_input *in);
/* Queues one complete message of in's source. false when it was dropped
 * (out of memory). Pauses the inputs when the queue fills. */
bool io_enqueue(io_state *io, const char *source, const char *data, size_t len);
bool io_queue_full(const io_state *io);
/* Reports a problem of an input: malformed++ and the error callback. */
void io_report(io_state *io, const io_input *in, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void io_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b);

/* io_stream.c */
void framer_init(framer *f, secdet_framing mode);
void framer_free(framer *f);
/* Feeds bytes; complete messages are queued. false when the stream broke. */
bool framer_feed(io_input *in, const char *p, size_t n);
/* End of the stream: a partial line is queued as a message (lines); a
 * partial frame is reported. */
void framer_end(io_input *in);
void io_stream_pause(io_input *in);
void io_stream_resume(io_input *in);

/* io_file.c */
void io_tail_poll(io_input *in, bool final);

#endif
