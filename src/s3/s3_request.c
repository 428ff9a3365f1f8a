/*
 * s3_request.c — one signed S3 GET (GetObject, a ListObjectsV2 page) with
 * libcurl's built-in AWS Signature Version 4 (CURLOPT_AWS_SIGV4): the
 * access key and secret as the user name and password, a session token as
 * X-Amz-Security-Token, the empty payload's hash as x-amz-content-sha256.
 * Without credentials the request goes unsigned (a public bucket).
 * Endpoint and region: s3.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "s3/s3.h"
#include "s3/s3_int.h"

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

const char *sd_s3_region(void) { return env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", "us-east-1")); }

int sd_s3_request_init(sd_s3_request *r, const sd_s3_creds *c, const char *bucket, const char *key, const char *query,
                       char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    const char *region = sd_s3_region();
    const char *endpoint =
        env_or("SECDET_S3_ENDPOINT", env_or("AWS_ENDPOINT_URL_S3", env_or("AWS_ENDPOINT_URL", NULL)));
    if (strlen(region) > 64 || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region)) {
        snprintf(err, errlen, "bad AWS_REGION");
        return -1;
    }
    r->curl = curl_easy_init();
    if (!r->curl) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    sd_buf_init(&r->url);
    sd_buf_init(&r->hdr);
    char *ebucket = curl_easy_escape(r->curl, bucket, 0);
    if (endpoint) {
        sd_buf_puts(&r->url, endpoint);
        if (r->url.len && r->url.data[r->url.len - 1] == '/') r->url.len--, r->url.data[r->url.len] = 0;
        sd_buf_putc(&r->url, '/');
        sd_buf_puts(&r->url, ebucket ? ebucket : "");
        sd_buf_putc(&r->url, '/');
    } else {
        sd_buf_printf(&r->url, "https://%s.s3.%s.amazonaws.com/", ebucket ? ebucket : "", region);
    }
    curl_free(ebucket);
    if (put_key(r->curl, &r->url, key) != 0) r->url.oom = true;
    if (query) {
        sd_buf_putc(&r->url, '?');
        sd_buf_puts(&r->url, query);
    }
    /* S3 wants the payload hash as a header; an empty body's. */
    r->h = curl_slist_append(NULL,
                             "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    if (c && c->token[0]) {
        sd_buf_printf(&r->hdr, "X-Amz-Security-Token: %s", c->token);
        struct curl_slist *h2 = r->hdr.oom ? NULL : curl_slist_append(r->h, r->hdr.data);
        if (h2) r->h = h2;
    }
    if (r->url.oom || !r->h) {
        snprintf(err, errlen, "out of memory");
        sd_s3_request_free(r);
        return -1;
    }
    curl_easy_setopt(r->curl, CURLOPT_URL, r->url.data);
    curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->h);
    if (c && c->akid[0] && c->secret[0]) {
        snprintf(r->sigv4, sizeof r->sigv4, "aws:amz:%s:s3", region);
        curl_easy_setopt(r->curl, CURLOPT_AWS_SIGV4, r->sigv4);
        curl_easy_setopt(r->curl, CURLOPT_USERNAME, c->akid);
        curl_easy_setopt(r->curl, CURLOPT_PASSWORD, c->secret);
    }
    return 0;
}

void sd_s3_request_free(sd_s3_request *r) {
    curl_slist_free_all(r->h);
    sd_buf_free(&r->url);
    sd_buf_free(&r->hdr);
    if (r->curl) curl_easy_cleanup(r->curl);
    memset(r, 0, sizeof *r);
}

/* Runs a GET into out. */
static int get(const sd_s3_creds *c, const char *what, const char *bucket, const char *key, const char *query,
               int64_t timeout_ms, uint64_t max_bytes, buf *out, char *err, size_t errlen) {
    if (timeout_ms <= 0) {
        snprintf(err, errlen, "no time left before the deadline");
        return -1;
    }
    sd_s3_request r;
    if (sd_s3_request_init(&r, c, bucket, key, query, err, errlen) != 0) return -1;
    dl d = {out, max_bytes, 0};
    sd_buf_reset(out);
    curl_easy_setopt(r.curl, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0x7fffffff ? 0x7fffffff : timeout_ms));
    curl_easy_setopt(r.curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(r.curl, CURLOPT_WRITEDATA, &d);
    CURLcode cc = curl_easy_perform(r.curl);
    long status = 0;
    curl_easy_getinfo(r.curl, CURLINFO_RESPONSE_CODE, &status);
    int rc = -1;
    if (d.too_big) {
        snprintf(err, errlen, "object larger than %llu bytes", (unsigned long long)max_bytes);
    } else if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", what, curl_easy_strerror(cc));
    } else if (status != 200) {
        snprintf(err, errlen, "%s: HTTP %ld%s", what, status, status == 404 ? " (no such key)" : "");
    } else if (out->oom) {
        snprintf(err, errlen, "out of memory");
    } else {
        rc = 0;
    }
    sd_s3_request_free(&r);
    return rc;
}

int sd_s3_get_object(const char *bucket, const char *key, int64_t timeout_ms, uint64_t max_bytes, buf *out, char *err,
                     size_t errlen) {
    sd_s3_creds c;
    if (sd_s3_creds_load(&c, err, errlen) != 0) return -1;
    return get(&c, "GetObject", bucket, key, NULL, timeout_ms, max_bytes, out, err, errlen);
}

int sd_s3_list_page(const sd_s3_creds *c, const char *bucket, const char *prefix, const char *token, buf *xml,
                    char *err, size_t errlen) {
    CURL *esc = curl_easy_init();
    if (!esc) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* The query's parameters in the order SigV4 sorts them. */
    buf q;
    sd_buf_init(&q);
    if (token) {
        char *t = curl_easy_escape(esc, token, 0);
        sd_buf_printf(&q, "continuation-token=%s&", t ? t : "");
        curl_free(t);
    }
    char *p = curl_easy_escape(esc, prefix, 0);
    sd_buf_printf(&q, "delimiter=%%2F&list-type=2&prefix=%s", p ? p : "");
    curl_free(p);
    curl_easy_cleanup(esc);
    int rc = q.oom ? -1 : get(c, "ListObjectsV2", bucket, "", q.data, 60000, (uint64_t)64 << 20, xml, err, errlen);
    if (q.oom) snprintf(err, errlen, "out of memory");
    sd_buf_free(&q);
    return rc;
}
