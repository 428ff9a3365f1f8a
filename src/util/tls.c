/* tls.c — OpenSSL sessions over memory BIOs, and why TLS failed (tls.h).
 *
 * Memory BIOs keep OpenSSL away from the sockets: libuv reads and writes,
 * OpenSSL encrypts and decrypts in between. The one subtle setting is the
 * read BIO's end-of-file value: an empty memory BIO must say "retry"
 * (SSL_ERROR_WANT_READ) rather than end of stream, because more bytes come
 * with the next read from the socket.
 */
#include "util/tls.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

SSL_CTX *sd_tls_ctx_new(bool server) {
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx) SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    return ctx;
}

SSL *sd_tls_session_new(SSL_CTX *ctx, bool server, BIO **rbio, BIO **wbio) {
    SSL *ssl = SSL_new(ctx);
    BIO *r = BIO_new(BIO_s_mem());
    BIO *w = BIO_new(BIO_s_mem());
    if (!ssl || !r || !w) {
        SSL_free(ssl);
        BIO_free(r);
        BIO_free(w);
        ERR_clear_error();
        return NULL;
    }
    BIO_set_mem_eof_return(r, -1); /* empty: "retry", not end of file */
    SSL_set_bio(ssl, r, w);        /* the session owns both from here */
    if (server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    *rbio = r;
    *wbio = w;
    return ssl;
}

bool sd_tls_give_input(BIO *rbio, const char *data, size_t n) {
    return n <= INT_MAX && BIO_write(rbio, data, (int)n) == (int)n;
}

size_t sd_tls_peek_output(BIO *wbio, char **data) {
    long n = BIO_get_mem_data(wbio, data);
    return n > 0 ? (size_t)n : 0;
}

void sd_tls_output_taken(BIO *wbio) { (void)BIO_reset(wbio); }

void sd_tls_describe_error(SSL *ssl, int ret, bool verifying, const char *peer, char *out, size_t len) {
    int e = SSL_get_error(ssl, ret);
    long v = SSL_get_verify_result(ssl);
    unsigned long code = ERR_peek_error();
    if (verifying && v != X509_V_OK && !SSL_is_init_finished(ssl))
        snprintf(out, len, "certificate verification failed: %s", X509_verify_cert_error_string(v));
    else if (e == SSL_ERROR_ZERO_RETURN)
        snprintf(out, len, "connection closed by the %s (TLS close_notify)", peer);
    else if (code && ERR_reason_error_string(code))
        snprintf(out, len, "%s", ERR_reason_error_string(code));
    else
        snprintf(out, len, "TLS error %d", e);
    ERR_clear_error();
}

unsigned long sd_tls_last_reason(char *out, size_t len, const char *fallback) {
    /* The earliest error is the cause ("No such file or directory", "bad
     * decrypt"); the later ones wrap it ("system lib", "PEM lib"). */
    unsigned long code, chosen = 0;
    snprintf(out, len, "%s", fallback);
    while ((code = ERR_get_error()) != 0) {
        if (chosen) continue;
        if (ERR_SYSTEM_ERROR(code)) {
            snprintf(out, len, "%s", strerror(ERR_GET_REASON(code)));
            chosen = code;
        } else if (ERR_reason_error_string(code)) {
            snprintf(out, len, "%s", ERR_reason_error_string(code));
            chosen = code;
        }
    }
    return chosen;
}
