/* io_udp.c — UDP: every datagram is one message.
 *
 * UDP cannot push back, so a datagram that finds the queue full is dropped
 * and counted (stats.udp_dropped); one longer than max_event_bytes is
 * rejected (stats.oversized). A datagram the kernel truncated to our 64 KiB
 * buffer (UV_UDP_PARTIAL) is incomplete and rejected too.
 */
#include <stdio.h>
#include <string.h>

#include "io/io.h"

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *addr, unsigned flags) {
    io_input *in = h->data;
    if (!in || !in->io || nread <= 0 || !addr) return; /* nothing, or an error of no consequence */
    io_state *io = in->io;
    if ((flags & UV_UDP_PARTIAL) || (size_t)nread > io->e->opts.max_event_bytes) {
        io->e->stats.oversized++;
        io_report(io, in, "datagram longer than %zu bytes dropped",
                  (flags & UV_UDP_PARTIAL) ? sizeof io->readbuf : io->e->opts.max_event_bytes);
        return;
    }
    if (io_queue_full(io)) {
        io->e->stats.udp_dropped++;
        return;
    }
    size_t n = (size_t)nread;
    while (n > 0 && (b->base[n - 1] == '\n' || b->base[n - 1] == '\r')) n--;
    if (n == 0) return;
    if (!io_enqueue(io, in->source, b->base, n)) io->e->stats.udp_dropped++;
}

secdet_status secdet_input_udp(secdet_engine *e, const char *source, const char *host, uint16_t port,
                               uv_loop_t *loop, unsigned *id) {
    if (!e || !source || !host) return SECDET_ERR_INVALID_ARG;
    bool known = false;
    for (size_t i = 0; i < e->nsources; i++) known = known || strcmp(e->sources[i].name, source) == 0;
    if (!known) return SECDET_ERR_UNKNOWN_SOURCE;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return SECDET_ERR_INVALID_ARG;
    io_state *io = NULL;
    secdet_status st = io_get(e, loop, &io);
    if (st != SECDET_OK) return st;
    char label[128];
    snprintf(label, sizeof label, "udp %s:%u", host, (unsigned)port);
    io_input *in = io_input_new(io, IN_UDP, source, label);
    if (!in) return SECDET_ERR_NOMEM;
    uv_udp_init(io->loop, &in->h.udp);
    in->h.handle.data = in;
    in->io = io;
    int rc = uv_udp_bind(&in->h.udp, (const struct sockaddr *)&ss, 0);
    if (rc == 0) rc = uv_udp_recv_start(&in->h.udp, io_alloc_cb, on_recv);
    if (rc != 0) {
        io_input_discard(in);
        return SECDET_ERR_IO;
    }
    io_input_link(io, in);
    if (id) *id = in->id;
    return SECDET_OK;
}
