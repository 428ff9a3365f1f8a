/* syslog_tls.c — TLS for the syslog sink (RFC 5425), with OpenSSL's memory
 * BIOs over the conn's libuv TCP stream.
 *
 * Bytes read from the server go into rbio and the handshake (or SSL_read)
 * runs; whatever OpenSSL wrote to wbio is then written to the stream in one
 * uv_write. An alert is one SSL_write of its framed message, and the
 * uv_write carrying those records answers its delivery, so writes stay in
 * order. With tls_verify (the default) the server's chain is checked against
 * ca_file (or the system's store) and its name against server_name (DNS
 * name, or IP address when it is one; SNI is sent for names only). After
 * the handshake, what the server sends (session tickets) is read and
 * dropped; a close_notify or an error fails the conn.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "sink/syslog_int.h"
#include "util/tls.h"

int sd_sl_tls_ctx(sl_sink *s, const char *ca_file, char *err, size_t errlen) {
    ERR_clear_error();
    SSL_CTX *ctx = sd_tls_ctx_new(false);
    if (!ctx) {
        snprintf(err, errlen, "cannot make a TLS context");
        return -1;
    }
    if (s->tls_verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            snprintf(err, errlen,
                     ca_file ? "ca_file: cannot load CA certificates from it"
                             : "cannot load the system's CA certificates");
            ERR_clear_error();
            SSL_CTX_free(ctx);
            return -1;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    s->ctx = ctx;
    return 0;
}

static bool is_ip(const char *name) {
    unsigned char a[16];
    return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

/* Writes what OpenSSL has for the network; d (if any) is answered by it. */
static int flush_out(sl_conn *c, secdet_delivery *d) {
    char *p = NULL;
    size_t n = sd_tls_peek_output(c->wbio, &p);
    if (n == 0) {
        if (d) sd_sink_result(d, SECDET_SINK_RETRY, 0, "TLS produced no data");
        return 0;
    }
    int rc = sd_sl_conn_write(c, p, n, d);
    sd_tls_output_taken(c->wbio);
    return rc;
}

/* Why the last SSL call failed. */
static void fail_tls(sl_conn *c, const char *what, int ret) {
    char why[128];
    sd_tls_describe_error(c->ssl, ret, c->s->tls_verify, "server", why, sizeof why);
    sd_sl_conn_fail(c, "%s: %s", what, why);
}

/* Reads (and drops) what the server sent after the handshake. */
static int read_all(sl_conn *c) {
    char tmp[4096];
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(c->ssl, tmp, sizeof tmp);
        if (r > 0) continue;
        if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) break;
        fail_tls(c, "TLS read", r);
        return -1;
    }
    return flush_out(c, NULL); /* e.g. a KeyUpdate answer */
}

static int drive(sl_conn *c) {
    if (!c->up) {
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return flush_out(c, NULL);
            fail_tls(c, "TLS handshake", r);
            return -1;
        }
        if (flush_out(c, NULL) != 0) return -1;
        sd_sl_conn_ready(c);
        if (c->dead) return -1;
    }
    return read_all(c);
}

int sd_sl_tls_start(sl_conn *c) {
    sl_sink *s = c->s;
    c->ssl = sd_tls_session_new(s->ctx, false, &c->rbio, &c->wbio);
    if (!c->ssl) {
        sd_sl_conn_fail(c, "TLS: out of memory");
        return -1;
    }
    const char *name = s->server_name;
    int ok = 1;
    if (is_ip(name)) {
        if (s->tls_verify) ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name);
    } else {
        ok = SSL_set_tlsext_host_name(c->ssl, name) == 1;
        if (ok && s->tls_verify) {
            SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(c->ssl, name);
        }
    }
    if (ok != 1) {
        ERR_clear_error();
        sd_sl_conn_fail(c, "TLS: server_name is not usable");
        return -1;
    }
    return drive(c);
}

void sd_sl_tls_input(sl_conn *c, const char *data, size_t n) {
    if (!c->ssl) return;
    if (!sd_tls_give_input(c->rbio, data, n)) {
        sd_sl_conn_fail(c, "TLS: out of memory");
        return;
    }
    drive(c);
}

int sd_sl_tls_send(sl_conn *c, const char *msg, size_t n, secdet_delivery *d) {
    if (n > INT_MAX) {
        sd_sink_result(d, SECDET_SINK_PERMANENT, 0, "message too long");
        return -1;
    }
    ERR_clear_error();
    int r = SSL_write(c->ssl, msg, (int)n); /* a memory BIO takes all of it */
    if (r != (int)n) {
        fail_tls(c, "TLS write", r);
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "%s", c->why);
        return -1;
    }
    return flush_out(c, d);
}

void sd_sl_tls_free(sl_conn *c) {
    if (c->ssl) SSL_free(c->ssl); /* and its BIOs */
    c->ssl = NULL;
    c->rbio = c->wbio = NULL;
}
