/*
 * s3.c — S3 GetObject for `bootstrap`, signed with libcurl's built-in AWS
 * Signature Version 4 (CURLOPT_AWS_SIGV4) using the function's credentials:
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (sent as
 * X-Amz-Security-Token), AWS_REGION. SECDET_S3_ENDPOINT (or
 * AWS_ENDPOINT_URL_S3) points it at an S3-compatible server, path-style
 * (ENDPOINT/bucket/key); otherwise https://BUCKET.s3.REGION.amazonaws.com/key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "lambda/lambda.h"

typedef struct dl {
    buf *out;
    uint64_t max;
    int too_big;
} dl;

static size_t on_data(char *p, size_t size, size_t n, void *user) {
    dl *d = user;
    size_t len = size * n;
    if (d->out->len + len > d->max) {
        d->too_big = 1;
        return 0;
    }
    sd_buf_append(d->out, p, len);
    return d->out->oom ? 0 : len;
}

/* Appends the key, each '/'-separated segment percent-encoded. */
static int put_key(CURL *curl, buf *url, const char *key) {
    const char *p = key;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        char *enc = curl_easy_escape(curl, p, (int)n);
        if (!enc) return -1;
        sd_buf_puts(url, enc);
        curl_free(enc);
        if (!slash) break;
        sd_buf_putc(url, '/');
        p = slash + 1;
    }
    return 0;
}

static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

int s3_get_object(const char *bucket, const char *key, int64_t timeout_ms, uint64_t max_bytes, buf *out, char *err,
                  size_t errlen) {
    const char *region = env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", "us-east-1"));
    const char *endpoint = env_or("SECDET_S3_ENDPOINT", env_or("AWS_ENDPOINT_URL_S3", NULL));
    const char *akid = env_or("AWS_ACCESS_KEY_ID", NULL);
    const char *secret = env_or("AWS_SECRET_ACCESS_KEY", NULL);
    const char *token = env_or("AWS_SESSION_TOKEN", NULL);
    if (timeout_ms <= 0) {
        snprintf(err, errlen, "no time left before the deadline");
        return -1;
    }
    if (strlen(region) > 64 || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region)) {
        snprintf(err, errlen, "bad AWS_REGION");
        return -1;
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    buf url, hdr;
    sd_buf_init(&url);
    sd_buf_init(&hdr);
    char *ebucket = curl_easy_escape(curl, bucket, 0);
    if (endpoint) {
        sd_buf_puts(&url, endpoint);
        if (url.len && url.data[url.len - 1] == '/') url.len--, url.data[url.len] = 0;
        sd_buf_putc(&url, '/');
        sd_buf_puts(&url, ebucket ? ebucket : "");
        sd_buf_putc(&url, '/');
    } else {
        sd_buf_printf(&url, "https://%s.s3.%s.amazonaws.com/", ebucket ? ebucket : "", region);
    }
    curl_free(ebucket);
    int rc = -1;
    struct curl_slist *h = NULL;
    if (put_key(curl, &url, key) != 0 || url.oom) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    char sigv4[128];
    snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", region);
    /* S3 wants the payload hash as a header; an empty body's. */
    h = curl_slist_append(h, "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    if (token) {
        sd_buf_printf(&hdr, "X-Amz-Security-Token: %s", token);
        struct curl_slist *h2 = hdr.oom ? NULL : curl_slist_append(h, hdr.data);
        if (h2) h = h2;
    }
    dl d = {out, max_bytes, 0};
    sd_buf_reset(out);
    curl_easy_setopt(curl, CURLOPT_URL, url.data);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0x7fffffff ? 0x7fffffff : timeout_ms));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    if (akid && secret) {
        curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4);
        curl_easy_setopt(curl, CURLOPT_USERNAME, akid);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, secret);
    }
    CURLcode cc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (d.too_big) {
        snprintf(err, errlen, "object larger than %llu bytes", (unsigned long long)max_bytes);
    } else if (cc != CURLE_OK) {
        snprintf(err, errlen, "GetObject: %s", curl_easy_strerror(cc));
    } else if (status != 200) {
        snprintf(err, errlen, "GetObject: HTTP %ld%s", status, status == 404 ? " (no such key)" : "");
    } else if (out->oom) {
        snprintf(err, errlen, "out of memory");
    } else {
        rc = 0;
    }
done:
    curl_slist_free_all(h);
    sd_buf_free(&url);
    sd_buf_free(&hdr);
    curl_easy_cleanup(curl);
    return rc;
}
