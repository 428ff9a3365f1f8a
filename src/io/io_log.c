/* sd_io_log.c — what inputs say in words: the input log (warnings, refused
 * clients, accept and TLS failures; secdet_set_input_log) and why the last
 * input call failed (secdet_input_error).
 *
 * Trouble a client can cause over and over (refusals, failed handshakes) is
 * rate limited per kind and listener: LIMIT_IO_LOG_BURST lines per
 * LIMIT_IO_LOG_INTERVAL_MS at most, the next line logged saying how many were
 * held back. The stats count every occurrence, so nothing is lost but
 * repetition.
 *
 * The error of a failed call is kept in the engine's io part (one per
 * engine, no global state), set by sd_io_fail and cleared by sd_io_ok.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io/io.h"
#include "util/limits.h"

secdet_status secdet_set_input_log(secdet_engine *e, secdet_input_log_fn fn, void *user) {
    if (!e) return SECDET_ERR_INVALID_ARG;
    io_state *io = sd_io_part(e);
    if (!io) return SECDET_ERR_NOMEM;
    io->input_log = fn;
    io->input_log_user = user;
    return SECDET_OK;
}

static void vlog(io_state *io, const io_input *in, const char *suffix, const char *fmt, va_list ap) {
    if (!io->input_log) return;
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s: ", in->label);
    if (n < 0 || (size_t)n >= sizeof msg) n = 0;
    int m = vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    if (m > 0 && (size_t)(n + m) < sizeof msg) snprintf(msg + n + m, sizeof msg - (size_t)(n + m), "%s", suffix);
    io->input_log(io->input_log_user, in->source, msg);
}

void sd_io_log(io_state *io, const io_input *in, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(io, in, "", fmt, ap);
    va_end(ap);
}

void sd_io_log_limited(io_state *io, const io_input *in, io_ratelimit *rl, const char *fmt, ...) {
    uint64_t now = uv_now(io->loop);
    if (rl->logged == 0 || now - rl->window_ms >= LIMIT_IO_LOG_INTERVAL_MS) {
        rl->window_ms = now;
        rl->logged = 0;
    }
    if (rl->logged >= LIMIT_IO_LOG_BURST) {
        rl->held++;
        return;
    }
    rl->logged++;
    char suffix[96] = "";
    if (rl->held) snprintf(suffix, sizeof suffix, " (and %llu more like it not logged)", (unsigned long long)rl->held);
    rl->held = 0;
    va_list ap;
    va_start(ap, fmt);
    vlog(io, in, suffix, fmt, ap);
    va_end(ap);
}

/* ---- The error of the last input call -------------------------------------------- */

const char *secdet_input_error(const secdet_engine *e) {
    const io_state *io = e ? sd_engine_part(e, ENGINE_PART_IO) : NULL;
    return io ? io->input_error : "";
}

secdet_status sd_io_fail(secdet_engine *e, secdet_status st, const char *fmt, ...) {
    io_state *io = e ? sd_io_part(e) : NULL;
    if (!io) return st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(io->input_error, sizeof io->input_error, fmt, ap);
    va_end(ap);
    return st;
}

void sd_io_ok(secdet_engine *e) {
    io_state *io = e ? sd_engine_part(e, ENGINE_PART_IO) : NULL;
    if (io) io->input_error[0] = 0;
}

secdet_status sd_io_check_source(secdet_engine *e, const char *source) {
    if (!source) return sd_io_fail(e, SECDET_ERR_INVALID_ARG, "no source name");
    if (sd_engine_has_source(e, source)) return SECDET_OK;
    return sd_io_fail(e, SECDET_ERR_UNKNOWN_SOURCE, "source \"%s\" was never added (secdet_source_add)", source);
}

static secdet_status resolve(secdet_engine *e, const char *host, uint16_t port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return SECDET_OK;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) return SECDET_OK;
    return sd_io_fail(e, SECDET_ERR_INVALID_ARG,
                      "address \"%s\" is not an IPv4 or IPv6 address (names are not resolved)", host);
}

void sd_io_addr_text(char *out, size_t len, const char *host, uint16_t port) {
    snprintf(out, len, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
}

uint16_t sd_io_port_of(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return 0;
}

secdet_status sd_io_check_listen(secdet_engine *e, const char *source, const char *host, uint16_t port,
                                 struct sockaddr_storage *ss) {
    sd_io_ok(e);
    if (!host) return sd_io_fail(e, SECDET_ERR_INVALID_ARG, "no address");
    secdet_status st = sd_io_check_source(e, source);
    return st == SECDET_OK ? resolve(e, host, port, ss) : st;
}

/* libuv's codes are negative errno values on Unix; both come here. */
secdet_status sd_io_fail_bind(secdet_engine *e, const char *proto, const char *host, uint16_t port, int err) {
    char addr[72], where[96];
    sd_io_addr_text(addr, sizeof addr, host, port);
    snprintf(where, sizeof where, "%s address %s", proto, addr);
    switch (-err) {
    case EADDRINUSE: return sd_io_fail(e, SECDET_ERR_IO, "%s is already in use", where);
    case EACCES:
        return sd_io_fail(e, SECDET_ERR_IO,
                          "%s: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)", where);
    case EADDRNOTAVAIL: return sd_io_fail(e, SECDET_ERR_IO, "%s: %s is not an address of this machine", where, host);
    case EAFNOSUPPORT: return sd_io_fail(e, SECDET_ERR_IO, "%s: IPv6 is not available here", where);
    case EMFILE:
    case ENFILE: return sd_io_fail(e, SECDET_ERR_IO, "%s: no file descriptor left (raise `ulimit -n`)", where);
    default: return sd_io_fail(e, SECDET_ERR_IO, "cannot listen on %s: %s", where, strerror(-err));
    }
}

bool sd_io_is_loopback(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}
