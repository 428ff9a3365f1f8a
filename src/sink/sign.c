/* sign.c — Standard Webhooks signatures (https://www.standardwebhooks.com).
 *
 * The secret is "whsec_" + base64 of the key (or, without the prefix, the
 * whole string is the base64); the signature header's value is
 * "v1," + base64(HMAC-SHA256(key, id "." timestamp "." body)). OpenSSL does
 * the HMAC (EVP_MAC, fed piece by piece so the body is not copied) and the
 * base64 (EVP_DecodeBlock / EVP_EncodeBlock).
 *
 * Decoding is strict: standard alphabet, length a multiple of 4, '=' only as
 * the last one or two characters, no whitespace, and not empty (an empty key
 * would sign with no secret at all).
 */
#include <inttypes.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/format.h"

#define WHSEC_PREFIX "whsec_"

static bool b64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int sd_webhook_secret_decode(const char *secret, unsigned char *key, size_t keycap, size_t *keylen) {
    if (!secret || !keylen || (!key && keycap)) return -1;
    const char *b64 = secret;
    if (strncmp(b64, WHSEC_PREFIX, sizeof WHSEC_PREFIX - 1) == 0) b64 += sizeof WHSEC_PREFIX - 1;
    size_t n = strlen(b64);
    if (n == 0 || n % 4 != 0 || n > INT_MAX) return -1;
    size_t pad = 0;
    for (size_t i = 0; i < n; i++) {
        if (b64_char(b64[i]) && pad == 0) continue;
        if (b64[i] == '=' && i >= n - 2) {
            pad++;
            continue;
        }
        return -1;
    }
    size_t full = n / 4 * 3; /* what EVP_DecodeBlock returns: padding counts as zero bytes */
    size_t len = full - pad;
    if (len > keycap || len == 0) return -1;
    unsigned char *tmp = malloc(full + 1);
    if (!tmp) return -1;
    int got = EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)n);
    int rc = -1;
    if (got >= 0 && (size_t)got == full) {
        memcpy(key, tmp, len);
        *keylen = len;
        rc = 0;
    }
    OPENSSL_cleanse(tmp, full + 1);
    free(tmp);
    return rc;
}

int sd_webhook_sign(buf *out, const unsigned char *key, size_t keylen, const char *id, int64_t timestamp,
                    const char *body, size_t len) {
    static const unsigned char no_key[1] = {0};
    char ts[24];
    int tn = snprintf(ts, sizeof ts, "%" PRId64, timestamp);
    if (!id) id = "";
    if (!key) keylen = 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    bool ok = ctx && tn > 0 && EVP_MAC_init(ctx, keylen ? key : no_key, keylen, params) == 1 &&
              EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) == 1 &&
              EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
              EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)tn) == 1 &&
              EVP_MAC_update(ctx, (const unsigned char *)".", 1) == 1 &&
              (len == 0 || EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1) &&
              EVP_MAC_final(ctx, md, &mdlen, sizeof md) == 1 && mdlen == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    if (!ok) return -1;
    unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    int bn = EVP_EncodeBlock(b64, md, (int)mdlen);
    if (bn <= 0) return -1;
    sd_buf_puts(out, "v1,");
    sd_buf_append(out, b64, (size_t)bn);
    return out->oom ? -1 : 0;
}
