/* tls.h — what the TLS client (the syslog sink, src/sink/syslog_tls.c) and
 * the TLS server (the TCP input, src/io/io_tls.c) share: OpenSSL sessions
 * over memory BIOs, so that libuv does the socket I/O and OpenSSL only
 * turns bytes into bytes, and the words for why TLS failed.
 *
 * A session reads what the peer sent from rbio (the caller writes the
 * network's bytes into it) and leaves what must go to the peer in wbio (the
 * caller takes it out with tls_take_output and writes it to the socket).
 */
#ifndef SECDET_UTIL_TLS_H
#define SECDET_UTIL_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* A context for TLS 1.2 and later: a client's, or a server's. NULL when out
 * of memory. */
SSL_CTX *sd_tls_ctx_new(bool server);

/* A session of ctx over two memory BIOs (owned by the session): *rbio takes
 * the peer's bytes, *wbio holds what goes to the peer. An empty rbio means
 * "wait for more", not end of file. NULL when out of memory. */
SSL *sd_tls_session_new(SSL_CTX *ctx, bool server, BIO **rbio, BIO **wbio);

/* Writes the peer's bytes into rbio; false when out of memory. */
bool sd_tls_give_input(BIO *rbio, const char *data, size_t n);

/* What the session has for the peer: *data (valid until the next call on
 * the session) and its length, 0 when nothing. Call sd_tls_output_taken once
 * it is copied or written. */
size_t sd_tls_peek_output(BIO *wbio, char **data);
void sd_tls_output_taken(BIO *wbio);

/* Why the last SSL call on ssl (which returned ret) failed, in words: the
 * peer's certificate that did not verify and why (when `verifying`), a
 * close_notify from the `peer` ("server", "client"), or OpenSSL's reason.
 * Clears OpenSSL's error queue. */
void sd_tls_describe_error(SSL *ssl, int ret, bool verifying, const char *peer, char *out, size_t len);

/* OpenSSL's reason for the last failure on this thread (after a context or
 * file call failed): the cause, not its wrappers; an errno as strerror's
 * text. `fallback` when there is none. Returns the error code chosen (0:
 * none); clears the error queue. */
unsigned long sd_tls_last_reason(char *out, size_t len, const char *fallback);

#endif
