/* io_tcp.c — TCP listeners: the listening socket, accepting clients within
 * max_connections, and refusing the others where it can be seen.
 *
 * A listener accepts with its own accept4() loop on a uv_poll_t instead of
 * libuv's uv_listen, because libuv answers EMFILE (no descriptor left) by
 * accepting and closing the waiting clients itself without telling the
 * program: their events vanished with no log and no counter. Here the
 * listener keeps one descriptor in reserve (spare_fd); when accept fails
 * with EMFILE it gives the reserve up for a moment to accept the client and
 * close it, counted (accept_errors, connections_refused) and logged. A
 * client beyond max_connections is accepted and closed at once the same
 * way, so no client is ever left connected and unread. Other accept errors
 * pause accepting for ACCEPT_BACKOFF_MS: the poll is level-triggered and
 * would spin on them.
 */
#define _GNU_SOURCE /* accept4: non-blocking, close-on-exec sockets in one call */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/io.h"
#include "util/limits.h"

#define ACCEPT_BACKOFF_MS 100

void secdet_tcp_opts_init(secdet_tcp_opts *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->framing = SECDET_FRAMING_LINES;
    o->max_connections = LIMIT_TCP_CONNECTIONS_DEFAULT;
    o->tls_handshake_timeout_ms = LIMIT_TLS_HANDSHAKE_MS_DEFAULT;
}

static int open_spare(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

void sd_io_listener_free(io_listener *l) {
    if (!l) return;
    SSL_CTX_free(l->tls); /* its connections' sessions hold their own reference */
    if (l->spare_fd >= 0) close(l->spare_fd);
    free(l);
}

static unsigned long fd_limit(void) {
    struct rlimit rl;
    return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (unsigned long)rl.rlim_cur : 0;
}

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t len) {
    char ip[INET6_ADDRSTRLEN] = "?";
    const void *a = ss->ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                                              : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
    if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) inet_ntop(ss->ss_family, a, ip, sizeof ip);
    sd_io_addr_text(out, len, ip, sd_io_port_of(ss));
}

int sd_io_tcp_sockname(const io_input *in, struct sockaddr_storage *ss) {
    socklen_t len = sizeof *ss;
    return getsockname(in->fd, (struct sockaddr *)ss, &len) == 0 ? 0 : -1;
}

/* ---- Refusing ------------------------------------------------------------------ */

/* Closes an accepted client at once (fd -1: it is closed already): it sees
 * its connection end, never a server that takes its bytes and does not
 * read them. */
static void refuse(io_input *srv, int fd, const struct sockaddr_storage *peer, const char *why) {
    io_state *io = srv->io;
    if (fd >= 0) close(fd);
    io->st.connections_refused++;
    char who[64];
    peer_text(peer, who, sizeof who);
    sd_io_log_limited(io, srv, &srv->listener->log_refused, "client %s refused: %s", who, why);
}

/* No descriptor left (accept4 says so whether a client waits or not):
 * gives the spare up to accept one waiting client and refuse it. 1 when a
 * client was refused, 0 when none was waiting, -1 when it was not possible
 * (no spare, or the descriptor went elsewhere at once). */
static int refuse_with_spare(io_input *srv, int err) {
    io_listener *l = srv->listener;
    if (l->spare_fd < 0) return -1;
    close(l->spare_fd);
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    memset(&peer, 0, sizeof peer);
    int fd = accept4(srv->fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
    int again = errno;
    if (fd >= 0) close(fd); /* first: the spare takes its number back */
    l->spare_fd = open_spare();
    if (fd < 0) return again == EAGAIN || again == EWOULDBLOCK || again == ECONNABORTED ? 0 : -1;
    char why[160];
    unsigned long limit = fd_limit();
    if (limit)
        snprintf(why, sizeof why, "%s (the process may hold %lu; raise `ulimit -n` or lower max_connections)",
                 strerror(err), limit);
    else
        snprintf(why, sizeof why, "%s", strerror(err));
    srv->io->st.accept_errors++;
    refuse(srv, -1, &peer, why);
    return 1;
}

/* ---- Accepting ----------------------------------------------------------------- */

static void on_acceptable(uv_poll_t *p, int status, int events);

static void on_backoff_done(uv_timer_t *t) {
    io_input *srv = t->data;
    if (!srv || !srv->io) return;
    io_listener *l = srv->listener;
    if (l->spare_fd < 0) l->spare_fd = open_spare();
    uv_poll_start(&srv->h.poll, UV_READABLE, on_acceptable);
}

static void back_off(io_input *srv) {
    uv_poll_stop(&srv->h.poll);
    uv_timer_start(&srv->timer, on_backoff_done, ACCEPT_BACKOFF_MS, 0);
}

/* A new client: served, or refused when the listener is full. */
static void serve(io_input *srv, int fd, const struct sockaddr_storage *peer) {
    io_state *io = srv->io;
    io_listener *l = srv->listener;
    if (l->nconns >= l->max_connections) {
        char why[64];
        snprintf(why, sizeof why, "%u connections open (max_connections)", l->nconns);
        refuse(srv, fd, peer, why);
        return;
    }
    char who[64], label[192];
    peer_text(peer, who, sizeof who);
    snprintf(label, sizeof label, "%s client %u (%s)", srv->label, ++l->conn_seq, who);
    io_input *c = sd_io_input_new(io, IN_TCP_CONN, srv->source, label);
    if (!c) {
        refuse(srv, fd, peer, "out of memory");
        return;
    }
    sd_io_framer_init(io, c, l->framing);
    c->idle_ms = l->idle_ms;
    c->handshake_ms = l->handshake_ms;
    uv_tcp_init(io->loop, &c->h.tcp);
    if (l->idle_ms || l->tls) sd_io_input_timer(io, c);
    int rc = uv_tcp_open(&c->h.tcp, fd);
    c->parent = srv;
    if (rc == 0 && l->tls && !sd_io_tls_start(c)) rc = UV_ENOMEM;
    if (rc != 0) {
        uv_os_fd_t owned;
        if (uv_fileno(&c->h.handle, &owned) != 0) close(fd); /* else closing the handle closes it */
        sd_io_input_discard(c);
        refuse(srv, -1, peer, rc == UV_ENOMEM ? "out of memory" : uv_strerror(rc));
        return;
    }
    sd_io_input_link(io, c);
    sd_io_stream_start(c);
}

static void on_acceptable(uv_poll_t *p, int status, int events) {
    (void)events;
    io_input *srv = p->data;
    if (!srv || !srv->io) return;
    io_state *io = srv->io;
    if (status < 0) {
        io->st.accept_errors++;
        sd_io_log_limited(io, srv, &srv->listener->log_accept, "cannot accept: %s", uv_strerror(status));
        back_off(srv);
        return;
    }
    for (int i = 0; i < LIMIT_TCP_ACCEPT_BATCH && srv->io; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        memset(&peer, 0, sizeof peer);
        int fd = accept4(srv->fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
        if (fd >= 0) {
            serve(srv, fd, &peer);
            continue;
        }
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) return;
        /* Gone before we got to it, or (Linux) a network error of that client's: next. */
        if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == ENETDOWN || err == EHOSTUNREACH ||
            err == ENETUNREACH || err == EHOSTDOWN || err == ENOPROTOOPT || err == EOPNOTSUPP)
            continue;
        if (err == EMFILE || err == ENFILE) {
            int refused = refuse_with_spare(srv, err);
            if (refused > 0) continue;
            if (refused == 0) return;
        }
        io->st.accept_errors++;
        sd_io_log_limited(io, srv, &srv->listener->log_accept,
                          "cannot accept: %s; clients wait in the backlog, "
                          "trying again every %d ms",
                          strerror(err), ACCEPT_BACKOFF_MS);
        back_off(srv);
        return;
    }
}

/* ---- Listening ------------------------------------------------------------------- */

/* A listening socket on ss; a negative errno on failure. */
static int listen_socket(const struct sockaddr_storage *ss, int *out) {
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int on = 1, off = 0;
    /* As libuv does: a restarted detector listens again at once although its
     * old connections linger in TIME_WAIT; and IPv6 listeners are dual-stack. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (ss->ss_family == AF_INET6) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, LIMIT_TCP_BACKLOG) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    *out = fd;
    return 0;
}

static secdet_status listener_opts(secdet_engine *e, const secdet_tcp_opts *opts, io_listener *l) {
    secdet_tcp_opts o;
    if (opts)
        o = *opts;
    else
        secdet_tcp_opts_init(&o);
    if (o.framing != SECDET_FRAMING_LINES && o.framing != SECDET_FRAMING_OCTET_COUNTED)
        return sd_io_fail(e, SECDET_ERR_INVALID_ARG, "framing: unknown value %d", (int)o.framing);
    l->framing = o.framing;
    l->max_connections = o.max_connections ? o.max_connections : LIMIT_TCP_CONNECTIONS_DEFAULT;
    l->idle_ms = o.idle_timeout_ms;
    l->handshake_ms = o.tls_handshake_timeout_ms ? o.tls_handshake_timeout_ms : LIMIT_TLS_HANDSHAKE_MS_DEFAULT;
    return sd_io_tls_ctx(e, &o, l);
}

/* What a listener says when it starts: what it cannot keep, or does not protect. */
static void start_warnings(io_state *io, io_input *srv, const struct sockaddr_storage *ss) {
    io_listener *l = srv->listener;
    unsigned long limit = fd_limit();
    if (limit && (unsigned long)l->max_connections + LIMIT_FD_HEADROOM > limit)
        sd_io_log(io, srv,
                  "warning: max_connections %u is close to or above the process's file descriptor limit "
                  "(%lu, `ulimit -n`): clients beyond what is left are refused (accept_errors); raise the limit or "
                  "lower max_connections",
                  l->max_connections, limit);
    if (!l->tls && !sd_io_is_loopback(ss))
        sd_io_log(io, srv,
                  "warning: listening beyond loopback without TLS: anyone who can reach this address can "
                  "send events, unauthenticated and in clear text (set tls, or listen on 127.0.0.1)");
}

/* The listening socket and its input; the input owns l from here (also on failure). */
static secdet_status start_listener(secdet_engine *e, io_state *io, const char *source, const char *host, uint16_t port,
                                    const struct sockaddr_storage *ss, io_listener *l, io_input **out) {
    int fd = -1;
    int rc = listen_socket(ss, &fd);
    if (rc != 0) {
        sd_io_listener_free(l);
        return sd_io_fail_bind(e, "tcp", host, port, rc);
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    char addr[72], label[80];
    uint16_t bound_port = getsockname(fd, (struct sockaddr *)&bound, &blen) == 0 ? sd_io_port_of(&bound) : port;
    sd_io_addr_text(addr, sizeof addr, host, bound_port);
    snprintf(label, sizeof label, "tcp %s", addr); /* with the port bound */
    io_input *in = sd_io_input_new(io, IN_TCP_SERVER, source, label);
    if (!in) {
        close(fd);
        sd_io_listener_free(l);
        return sd_io_fail(e, SECDET_ERR_NOMEM, "out of memory");
    }
    in->listener = l;
    in->fd = fd;
    rc = uv_poll_init_socket(io->loop, &in->h.poll, fd);
    if (rc != 0) {
        sd_io_input_release(in);
        return sd_io_fail(e, SECDET_ERR_IO, "cannot watch the tcp socket: %s", uv_strerror(rc));
    }
    sd_io_input_timer(io, in); /* the accept back-off */
    l->spare_fd = open_spare();
    rc = uv_poll_start(&in->h.poll, UV_READABLE, on_acceptable);
    if (rc != 0) {
        sd_io_input_discard(in);
        return sd_io_fail(e, SECDET_ERR_IO, "cannot watch the tcp socket: %s", uv_strerror(rc));
    }
    *out = in;
    return SECDET_OK;
}

secdet_status secdet_input_tcp_ex(secdet_engine *e, const char *source, const char *host, uint16_t port,
                                  const secdet_tcp_opts *opts, uv_loop_t *loop, unsigned *id) {
    if (!e) return SECDET_ERR_INVALID_ARG;
    struct sockaddr_storage ss;
    secdet_status st = sd_io_check_listen(e, source, host, port, &ss);
    if (st != SECDET_OK) return st;
    io_listener *l = calloc(1, sizeof *l);
    if (!l) return sd_io_fail(e, SECDET_ERR_NOMEM, "out of memory");
    l->spare_fd = -1;
    io_state *io = NULL;
    st = listener_opts(e, opts, l); /* TLS files first: a bad one leaves nothing bound */
    if (st == SECDET_OK) st = sd_io_get(e, loop, &io);
    if (st != SECDET_OK) {
        sd_io_listener_free(l);
        return st;
    }
    io_input *in = NULL;
    st = start_listener(e, io, source, host, port, &ss, l, &in);
    if (st != SECDET_OK) return st;
    sd_io_input_link(io, in);
    start_warnings(io, in, &ss);
    if (id) *id = in->id;
    return SECDET_OK;
}

secdet_status secdet_input_tcp(secdet_engine *e, const char *source, const char *host, uint16_t port,
                               secdet_framing framing, uv_loop_t *loop, unsigned *id) {
    secdet_tcp_opts o;
    secdet_tcp_opts_init(&o);
    o.framing = framing;
    return secdet_input_tcp_ex(e, source, host, port, &o, loop, id);
}
