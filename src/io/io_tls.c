/* io_tls.c — TLS on TCP input connections: the listener's server context
 * (certificate, key, client CAs) and each connection's session, over memory
 * BIOs (util/tls.h) on the connection's libuv stream.
 *
 * Promises:
 *  - TLS 1.2 or later. With client_ca, a client certificate that is
 *    presented must chain to those CAs; with require_client_cert, one must
 *    be presented.
 *  - Nothing a client sends is framed or evaluated before its handshake has
 *    succeeded. A handshake that fails or does not finish within
 *    handshake_ms closes that connection only, is counted (tls_failed) and
 *    logged (rate limited). A client that connects and leaves without a
 *    byte (a port check) is neither.
 *  - A clean end is a close_notify: then a last line without '\n' is a
 *    message, as at the end of a plain stream. A connection that just ends
 *    could have been cut by someone in the middle, so its partial message
 *    is reported and dropped.
 *  - Errors loading the files name the file and say what OpenSSL said.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "io/io.h"
#include "util/tls.h"

typedef struct tls_write {
    uv_write_t req;
    char data[];
} tls_write;

/* ---- The listener's context --------------------------------------------------------- */

/* OpenSSL asks for the key's passphrase through this; without one it would
 * prompt on the terminal. */
static int passphrase_cb(char *out, int size, int rwflag, void *user) {
    (void)rwflag;
    const char *p = user;
    size_t n = p ? strlen(p) : 0;
    if (!p || size < 0 || n > (size_t)size) return 0;
    memcpy(out, p, n);
    return (int)n;
}

static secdet_status ctx_fail(secdet_engine *e, SSL_CTX *ctx, const char *what, const char *path, const char *doing,
                              const char *hint) {
    char why[160];
    sd_tls_last_reason(why, sizeof why, "not in PEM format");
    SSL_CTX_free(ctx);
    return sd_io_fail(e, SECDET_ERR_INVALID_ARG, "tls.%s %s: %s: %s%s", what, path, doing, why, hint);
}

/* The key, decrypted with the passphrase when there is one. */
static secdet_status use_key(secdet_engine *e, SSL_CTX *ctx, const secdet_tcp_opts *o) {
    SSL_CTX_set_default_passwd_cb(ctx, passphrase_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)o->tls_key_passphrase);
    int ok = SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL); /* the caller's string: not kept */
    if (ok == 1) ok = SSL_CTX_check_private_key(ctx);
    if (ok == 1) return SECDET_OK;
    unsigned long code = ERR_peek_last_error();
    if (ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH)
        return ctx_fail(e, ctx, "key", o->tls_key, "does not belong to the certificate in tls.cert", "");
    return ctx_fail(e, ctx, "key", o->tls_key, "cannot read the private key",
                    o->tls_key_passphrase ? " (is key_passphrase right?)"
                                          : " (if the key is encrypted, set key_passphrase)");
}

secdet_status sd_io_tls_ctx(secdet_engine *e, const secdet_tcp_opts *o, io_listener *l) {
    if (!o->tls_cert && !o->tls_key && !o->tls_key_passphrase && !o->tls_client_ca && !o->tls_require_client_cert)
        return SECDET_OK; /* plain TCP */
    if (!o->tls_cert || !o->tls_key)
        return sd_io_fail(e, SECDET_ERR_INVALID_ARG, "tls: cert and key are both required");
    if (o->tls_require_client_cert && !o->tls_client_ca)
        return sd_io_fail(e, SECDET_ERR_INVALID_ARG,
                          "tls: require_client_cert needs client_ca (the CAs client certificates must chain to)");
    ERR_clear_error();
    SSL_CTX *ctx = sd_tls_ctx_new(true);
    if (!ctx) return sd_io_fail(e, SECDET_ERR_NOMEM, "tls: out of memory");
    /* A TLS 1.2 client could otherwise make the server redo the expensive
     * part of the handshake as often as it likes, on one connection. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1)
        return ctx_fail(e, ctx, "cert", o->tls_cert, "cannot read the certificate", "");
    secdet_status st = use_key(e, ctx, o); /* frees ctx on failure */
    if (st != SECDET_OK) return st;
    if (o->tls_client_ca) {
        if (SSL_CTX_load_verify_locations(ctx, o->tls_client_ca, NULL) != 1)
            return ctx_fail(e, ctx, "client_ca", o->tls_client_ca, "cannot read CA certificates", "");
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->tls_client_ca);
        if (names) SSL_CTX_set_client_CA_list(ctx, names); /* the CAs named in the request */
        ERR_clear_error();
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (o->tls_require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                           NULL);
        /* Resumed sessions of verified clients need a context id, or
         * OpenSSL refuses the resumption. */
        static const unsigned char sid[] = "secdet-input";
        SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
        l->verify_clients = true;
    }
    l->tls = ctx;
    return SECDET_OK;
}

/* ---- A connection's session -------------------------------------------------------- */

bool sd_io_tls_start(io_input *c) {
    c->ssl = sd_tls_session_new(c->parent->listener->tls, true, &c->rbio, &c->wbio);
    return c->ssl != NULL;
}

static void write_done(uv_write_t *req, int status) {
    (void)status; /* a failed write shows as a read error, which closes the connection */
    free(req);
}

/* Sends what OpenSSL has for the client. false when it cannot be queued. */
static bool flush_out(io_input *c) {
    char *p = NULL;
    size_t n = sd_tls_peek_output(c->wbio, &p);
    if (n == 0) return true;
    tls_write *w = malloc(sizeof *w + n);
    if (!w) return false;
    memcpy(w->data, p, n);
    sd_tls_output_taken(c->wbio);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->req, &c->h.stream, &b, 1, write_done) != 0) {
        free(w);
        return false;
    }
    return true;
}

/* Before closing: the alert that tells the client why, if the socket takes
 * it now (closing cancels queued writes). */
static void flush_last(io_input *c) {
    char *p = NULL;
    size_t n = sd_tls_peek_output(c->wbio, &p);
    if (n == 0) return;
    uv_buf_t b = uv_buf_init(p, (unsigned)n);
    (void)uv_try_write(&c->h.stream, &b, 1);
    sd_tls_output_taken(c->wbio);
}

static void handshake_failed(io_input *c, const char *why) {
    io_state *io = c->io;
    io->st.tls_failed++;
    if (c->parent)
        sd_io_log_limited(io, c, &c->parent->listener->log_tls, "TLS handshake failed: %s; connection closed", why);
    flush_last(c);
    sd_io_input_close(c);
}

void sd_io_tls_handshake_timeout(io_input *c) {
    char why[80];
    snprintf(why, sizeof why, "not finished within %llu ms", (unsigned long long)c->handshake_ms);
    handshake_failed(c, why);
}

/* Decrypts what there is and frames it. */
static void read_plain(io_input *c) {
    char plain[16384]; /* one TLS record at most */
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(c->ssl, plain, sizeof plain);
        if (r > 0) {
            if (!sd_io_feed(c, plain, (size_t)r)) {
                flush_last(c);
                sd_io_input_close(c);
                return;
            }
            continue;
        }
        int err = SSL_get_error(c->ssl, r);
        if (err == SSL_ERROR_WANT_READ) break;
        if (err == SSL_ERROR_ZERO_RETURN) { /* close_notify: the clean end, answered in kind */
            sd_io_end(c);
            c->finished = true;
            (void)SSL_shutdown(c->ssl);
        } else {
            char why[160];
            sd_tls_describe_error(c->ssl, r, c->parent && c->parent->listener->verify_clients, "client", why,
                                  sizeof why);
            sd_io_report(c->io, c, "TLS: %s; connection closed%s", why,
                         sd_framer_holds_partial(&c->fr) ? ", partial message dropped" : "");
        }
        flush_last(c);
        sd_io_input_close(c);
        return;
    }
    if (!flush_out(c)) { /* session tickets, a KeyUpdate's answer */
        sd_io_report(c->io, c, "TLS: out of memory; connection closed");
        sd_io_input_close(c);
        return;
    }
    sd_io_conn_deadline(c);
}

void sd_io_tls_input(io_input *c, const char *data, size_t n) {
    if (!sd_tls_give_input(c->rbio, data, n)) {
        sd_io_report(c->io, c, "TLS: out of memory; connection closed");
        sd_io_input_close(c);
        return;
    }
    if (!c->tls_up) {
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int err = SSL_get_error(c->ssl, r);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                if (!flush_out(c)) handshake_failed(c, "out of memory");
                return;
            }
            char why[160];
            sd_tls_describe_error(c->ssl, r, c->parent && c->parent->listener->verify_clients, "client", why,
                                  sizeof why);
            handshake_failed(c, why);
            return;
        }
        c->tls_up = true; /* the deadline becomes the idle one (read_plain) */
    }
    read_plain(c);
}

void sd_io_tls_eof(io_input *c) {
    if (!c->tls_up) {
        if (c->got_bytes)
            handshake_failed(c, "the client closed the connection during the handshake");
        else
            sd_io_input_close(c); /* connected and left without a byte: a port check, not a handshake */
        return;
    }
    if (sd_framer_holds_partial(&c->fr))
        sd_io_report(c->io, c, "connection ended without a TLS close_notify: partial message dropped");
    c->finished = true;
    sd_io_input_close(c);
}
