/* io_udp.c — UDP: every datagram is one message.
 *
 * UDP cannot push back, so a datagram that finds the queue full is dropped
 * and counted (stats.udp_dropped); one longer than max_event_bytes is
 * rejected (stats.oversized). A datagram the kernel truncated to our 64 KiB
 * buffer (UV_UDP_PARTIAL) is incomplete and rejected too. UDP cannot
 * authenticate senders: a listener beyond loopback starts with a warning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *addr, unsigned flags) {
    io_input *in = h->data;
    if (!in || !in->io || nread <= 0 || !addr) return; /* nothing, or an error of no consequence */
    io_state *io = in->io;
    if ((flags & UV_UDP_PARTIAL) || (size_t)nread > sd_engine_opts(io->e)->max_event_bytes) {
        io->st.oversized++;
        sd_io_report(io, in, "datagram longer than %zu bytes dropped",
                     (flags & UV_UDP_PARTIAL) ? sizeof io->readbuf : sd_engine_opts(io->e)->max_event_bytes);
        return;
    }
    if (sd_io_queue_full(io)) {
        io->st.udp_dropped++;
        return;
    }
    size_t n = (size_t)nread;
    while (n > 0 && (b->base[n - 1] == '\n' || b->base[n - 1] == '\r')) n--;
    if (n == 0) return;
    if (!sd_io_enqueue(io, in->source, b->base, n)) io->st.udp_dropped++;
}

secdet_status secdet_input_udp(secdet_engine *e, const char *source, const char *host, uint16_t port, uv_loop_t *loop,
                               unsigned *id) {
    if (!e) return SECDET_ERR_INVALID_ARG;
    struct sockaddr_storage ss;
    secdet_status st = sd_io_check_listen(e, source, host, port, &ss);
    io_state *io = NULL;
    if (st == SECDET_OK) st = sd_io_get(e, loop, &io);
    if (st != SECDET_OK) return st;
    io_input *in = sd_io_input_new(io, IN_UDP, source, "udp");
    if (!in) return sd_io_fail(e, SECDET_ERR_NOMEM, "out of memory");
    uv_udp_init(io->loop, &in->h.udp);
    in->h.handle.data = in;
    in->io = io;
    int rc = uv_udp_bind(&in->h.udp, (const struct sockaddr *)&ss, 0);
    if (rc != 0) {
        sd_io_input_discard(in);
        return sd_io_fail_bind(e, "udp", host, port, rc);
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    if (uv_udp_getsockname(&in->h.udp, (struct sockaddr *)&bound, &blen) == 0) port = sd_io_port_of(&bound);
    char addr[72], label[80];
    sd_io_addr_text(addr, sizeof addr, host, port);
    snprintf(label, sizeof label, "udp %s", addr); /* with the port bound, like a tcp listener's */
    char *copy = strdup(label);
    if (copy) {
        free(in->label);
        in->label = copy;
    }
    rc = uv_udp_recv_start(&in->h.udp, sd_io_alloc_cb, on_recv);
    if (rc != 0) {
        sd_io_input_discard(in);
        return sd_io_fail(e, SECDET_ERR_IO, "cannot receive on udp %s:%u: %s", host, (unsigned)port, uv_strerror(rc));
    }
    sd_io_input_link(io, in);
    if (!sd_io_is_loopback(&ss))
        sd_io_log(io, in,
                  "warning: listening beyond loopback: UDP has no TLS, so anyone who can reach this address "
                  "can send events, unauthenticated and in clear text (listen on 127.0.0.1, or use a tcp input with "
                  "tls)");
    if (id) *id = in->id;
    return SECDET_OK;
}
