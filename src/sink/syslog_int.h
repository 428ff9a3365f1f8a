/* syslog_int.h — private to the syslog sink: syslog.c (configuration, UDP,
 * TCP, the connection's life) and syslog_tls.c (TLS over that connection
 * with memory BIOs).
 *
 * One sl_conn is one attempt at a transport: resolving the host (when it is
 * a name), connecting, for TLS the handshake, then writing. Alerts emitted
 * before it is ready wait in it, in order; once it fails, every waiting and
 * in-flight alert is answered RETRY with the reason, and the next emit makes
 * a new one. A conn is freed when its last handle and request has called
 * back (refs); the sink when it is closing and its last conn is gone.
 */
#ifndef SECDET_SINK_SYSLOG_INT_H
#define SECDET_SINK_SYSLOG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <netdb.h>
#include <sys/socket.h>
#include <uv.h>

#include <openssl/ssl.h>

#include "sink/sink_int.h"
#include "util/buf.h"

enum { SL_UDP, SL_TCP, SL_TLS };

typedef struct sl_sink sl_sink;
typedef struct sl_conn sl_conn;
typedef struct sl_list {
    secdet_delivery **v;
    size_t n, cap;
} sl_list;

struct sl_conn {
    sl_sink *s;
    union {
        uv_handle_t h;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_udp_t udp;
    } io;
    uv_timer_t timer; /* connect timeout, then write stall timeout */
    uv_getaddrinfo_t gai;
    uv_connect_t creq;
    struct sockaddr_storage addr;
    struct addrinfo *ai, *next_ai; /* the name's addresses (owned), the next to try */
    unsigned refs;                 /* open handles + pending requests */
    unsigned writes;               /* writes not yet called back */
    bool io_init, resolving, up, dead;
    sl_list wait;  /* emitted before the conn was up, in order */
    char why[160]; /* why it failed */
    /* TLS (syslog_tls.c) */
    SSL *ssl;
    BIO *rbio, *wbio; /* memory BIOs: from the network, to it (owned by ssl) */
    bool connected;   /* TCP connected (the handshake may still run) */
};

struct sl_sink {
    int transport;
    char *host, *hostname, *app_name, *server_name;
    unsigned port;
    int facility;
    size_t max_msg;
    uint64_t timeout_ms;
    bool tls_verify;
    SSL_CTX *ctx;    /* TLS only */
    uv_loop_t *loop; /* from attach */
    sl_conn *conn;   /* the current conn, or NULL */
    unsigned conns;  /* conns not yet freed */
    bool closing;
    buf fmt, frame; /* scratch for one message */
};

/* ---- syslog.c, for syslog_tls.c ---- */
/* Queues n bytes of data (copied) on the conn's stream; d, when not NULL,
 * is answered once the write completes. 0, or -1 after d (if any) was
 * answered RETRY and the conn failed. */
int sd_sl_conn_write(sl_conn *c, const char *data, size_t n, secdet_delivery *d);
/* The conn is ready for alerts (the handshake is done). */
void sd_sl_conn_ready(sl_conn *c);
/* The conn failed: every alert it holds is answered RETRY with the reason,
 * its handles are closed. Idempotent. */
void sd_sl_conn_fail(sl_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- syslog_tls.c ---- */
/* The client context: TLS 1.2 at least; with verify, the peer's chain
 * against ca_file (NULL: the system's store). 0, or -1 with err filled. */
int sd_sl_tls_ctx(sl_sink *s, const char *ca_file, char *err, size_t errlen);
/* Starts the handshake on a connected conn. 0, or -1 after conn_fail. */
int sd_sl_tls_start(sl_conn *c);
/* Bytes read from the peer. */
void sd_sl_tls_input(sl_conn *c, const char *data, size_t n);
/* Encrypts one framed message and writes it, answering d when written. */
int sd_sl_tls_send(sl_conn *c, const char *msg, size_t n, secdet_delivery *d);
/* Frees the conn's TLS state (after its handles closed). */
void sd_sl_tls_free(sl_conn *c);

#endif
