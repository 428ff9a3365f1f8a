/* io.h — event loop inputs (libuv): the state shared by io.c (the loop, the
 * bounded queue, draining, stop, the inputs' life), sd_io_log.c (the input log,
 * the last input error), io_stream.c (reading streams: TCP connections,
 * stdin), io_tcp.c (TCP listeners, accepting, limits), io_tls.c (TLS on TCP
 * connections), io_file.c (file tail) and io_udp.c; framer.h cuts streams
 * into messages.
 *
 * Every input is its own allocation holding its libuv handle (and, for a
 * TCP connection or listener, a timer); the last handle's close callback
 * frees it. An input closed while the engine lives is first
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

#include <openssl/ssl.h>

#include "engine/outer.h"
#include "io/framer.h"
#include "util/limits.h"

typedef enum { IN_TCP_SERVER, IN_TCP_CONN, IN_UDP, IN_STDIN, IN_TAIL } input_kind;

typedef struct io_state io_state;

/* One kind of trouble logged at most LIMIT_IO_LOG_BURST times per
 * LIMIT_IO_LOG_INTERVAL_MS; what happens beyond is counted and said with the
 * next line logged. */
typedef struct io_ratelimit {
    uint64_t window_ms; /* start of the current window */
    unsigned logged;    /* lines logged in it */
    uint64_t held;      /* occurrences not logged since the last line */
} io_ratelimit;

/* A TCP listener's settings and state (io_tcp.c). */
typedef struct io_listener {
    secdet_framing framing;
    unsigned max_connections;
    unsigned nconns;       /* its connections open now */
    unsigned conn_seq;     /* connections accepted so far (labels) */
    uint64_t idle_ms;      /* 0: connections may stay idle */
    uint64_t handshake_ms; /* TLS: time allowed for the handshake */
    SSL_CTX *tls;          /* NULL: plain TCP */
    bool verify_clients;   /* tls asks for client certificates */
    int spare_fd;          /* a reserved fd, given up to refuse a client when fds run out */
    io_ratelimit log_refused, log_accept, log_tls;
} io_listener;

typedef struct io_input {
    struct io_input *next, *prev;
    io_state *io; /* NULL once closing (unlinked) */
    input_kind kind;
    unsigned id;
    char *source;
    char *label; /* for messages: "tcp 127.0.0.1:5140 client 3 (127.0.0.1:40522)", "file /var/log/x" */
    framer fr;
    bool paused;      /* reading stopped: the queue is full */
    bool finished;    /* stdin or a file stdin at its end */
    unsigned handles; /* open libuv handles (h, timer); freed when the last closes */
    uv_timer_t timer; /* a connection's idle or handshake deadline; a listener's accept back-off */
    bool timer_init;
    /* TCP listener (io_tcp.c). */
    io_listener *listener;
    /* TCP connection: its listener (NULL once that closed), its deadlines,
     * TLS (io_tls.c). */
    struct io_input *parent;
    uint64_t idle_ms, handshake_ms;
    SSL *ssl;
    BIO *rbio, *wbio; /* memory BIOs, owned by ssl */
    bool tls_up;      /* the handshake is done */
    bool got_bytes;   /* the client sent something */
    /* File tail (and stdin when it is a regular file); fd is also a TCP
     * listener's socket. */
    char *path; /* NULL for stdin */
    int fd;
    uint64_t offset;
    dev_t dev;
    ino_t ino;
    bool from_start;
    bool follow; /* false: read to the end once (stdin file) */
    unsigned poll_ms;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_udp_t udp;
        uv_pipe_t pipe;
        uv_tty_t tty;
        uv_timer_t timer;
        uv_poll_t poll;
    } h;
} io_input;

typedef struct io_msg {
    struct io_msg *next;
    const char *source; /* inside data, after the message */
    size_t len;
    char data[]; /* message bytes, then the source name and its NUL */
} io_msg;

/* The inputs' own counters, added to the engine's stats (io_part_stats). */
typedef struct io_counters {
    uint64_t udp_dropped, input_paused, queued, oversized, connections;
    uint64_t connections_refused, accept_errors, idle_closed, tls_failed;
} io_counters;

/* The inputs' part of an engine (sd_engine_part ENGINE_PART_IO), made on first
 * use; the loop side (loop, handles, queue) is set up by the first input. */
struct io_state {
    secdet_engine *e;
    io_counters st;
    size_t req_messages, req_bytes; /* secdet_set_queue_limits; 0: defaults */
    secdet_input_log_fn input_log;  /* sd_io_log.c */
    void *input_log_user;
    char input_error[256]; /* why the last secdet_input_* call failed; "" after a success */
    uv_loop_t *loop;       /* NULL until the first input */
    bool own_loop;
    uv_idle_t *drain;       /* runs while the queue holds messages */
    uv_timer_t *sinks_wait; /* runs instead while the sinks take no alerts (io.c) */
    uv_async_t *wake;       /* secdet_stop, from any thread */
    io_input *inputs;
    unsigned next_id;
    io_msg *head, *tail;
    size_t qn, qbytes, max_n, max_bytes;
    bool full; /* inputs are paused until the queue is half empty */
    bool stop_requested;
    char readbuf[LIMIT_IO_READ_BUF]; /* every read is consumed before the next (one thread) */
};

/* io.c */
/* The engine's io part, made (and given to the engine) on first use; NULL
 * when out of memory. */
io_state *sd_io_part(secdet_engine *e);
/* The io part with its loop set up (loop NULL: the engine's own). */
secdet_status sd_io_get(secdet_engine *e, uv_loop_t *loop, io_state **out);
io_input *sd_io_input_new(io_state *io, input_kind kind, const char *source, const char *label);
/* Links a ready input into io->inputs (after its handle was initialised). */
void sd_io_input_link(io_state *io, io_input *in);
/* Closes the handle of an input that was initialised but never linked; frees it. */
void sd_io_input_discard(io_input *in);
/* Frees an input whose handle was never initialised. */
void sd_io_input_release(io_input *in);
/* Unlinks and closes (the close callback frees it). */
void sd_io_input_close(io_input *in);
/* Queues one complete message of in's source. false when it was dropped
 * (out of memory). Pauses the inputs when the queue fills. */
bool sd_io_enqueue(io_state *io, const char *source, const char *data, size_t len);
bool sd_io_queue_full(const io_state *io);
/* Reports a problem of an input: malformed++ and the error callback. */
void sd_io_report(io_state *io, const io_input *in, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sd_io_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b);
/* Sets up in->timer (counted in in->handles). */
void sd_io_input_timer(io_state *io, io_input *in);

/* sd_io_log.c */
/* A line for the input log ("LABEL: message"), when the embedder set one. */
void sd_io_log(io_state *io, const io_input *in, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, at most LIMIT_IO_LOG_BURST times per LIMIT_IO_LOG_INTERVAL_MS for rl. */
void sd_io_log_limited(io_state *io, const io_input *in, io_ratelimit *rl, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Why the input call being made failed (secdet_input_error); returns st. */
secdet_status sd_io_fail(secdet_engine *e, secdet_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The call succeeded: no error to tell. */
void sd_io_ok(secdet_engine *e);
/* Checks that `source` was added; else an error naming it. */
secdet_status sd_io_check_source(secdet_engine *e, const char *source);
/* The start of secdet_input_tcp_ex and _udp: clears the last error, checks
 * the source and puts host:port into *ss; else an error saying which is wrong. */
secdet_status sd_io_check_listen(secdet_engine *e, const char *source, const char *host, uint16_t port,
                                 struct sockaddr_storage *ss);
/* Why bind or listen failed (a negative errno or libuv code), in words. */
secdet_status sd_io_fail_bind(secdet_engine *e, const char *proto, const char *host, uint16_t port, int err);
/* "127.0.0.1:5140", "[::1]:5140". */
void sd_io_addr_text(char *out, size_t len, const char *host, uint16_t port);
/* The port of an IPv4 or IPv6 address; 0 for others. */
uint16_t sd_io_port_of(const struct sockaddr_storage *ss);
/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool sd_io_is_loopback(const struct sockaddr_storage *ss);

/* io_stream.c */
/* Feeds an input's framer: complete messages are queued. false when the
 * stream broke. */
bool sd_io_feed(io_input *in, const char *p, size_t n);
/* The input's stream ended: a partial line is queued, a partial frame reported. */
void sd_io_end(io_input *in);
/* Sets up an input's framer to queue what it cuts. */
void sd_io_framer_init(io_state *io, io_input *in, secdet_framing mode);
void sd_io_stream_pause(io_input *in);
void sd_io_stream_resume(io_input *in);
/* Starts reading a connection (or stdin) unless the queue is full. */
void sd_io_stream_start(io_input *in);
/* (Re)starts a connection's deadline: the handshake's, then the idle one. */
void sd_io_conn_deadline(io_input *in);

/* io_tcp.c */
/* Frees a listener's state: its TLS context, its spare descriptor. */
void sd_io_listener_free(io_listener *l);
/* The local address of a listener, for secdet_input_port. */
int sd_io_tcp_sockname(const io_input *in, struct sockaddr_storage *ss);

/* io_tls.c */
/* The server context of a listener from opts' files; an error names the file. */
secdet_status sd_io_tls_ctx(secdet_engine *e, const secdet_tcp_opts *o, io_listener *l);
/* A new connection's TLS session; false when out of memory. */
bool sd_io_tls_start(io_input *c);
/* Bytes read from a TLS connection: the handshake, then messages. */
void sd_io_tls_input(io_input *c, const char *data, size_t n);
/* The client ended the stream (EOF, no close_notify). */
void sd_io_tls_eof(io_input *c);
/* The handshake did not finish within handshake_ms. */
void sd_io_tls_handshake_timeout(io_input *c);

/* io_file.c */
void sd_io_tail_poll(io_input *in, bool final);

#endif
