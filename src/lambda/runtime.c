/*
 * runtime.c — the Lambda Runtime API client of `bootstrap`, with libcurl's
 * easy interface (blocking is right here: a runtime handles one invocation
 * at a time).
 *
 *   GET  /2018-06-01/runtime/invocation/next            (no timeout)
 *   POST /2018-06-01/runtime/invocation/{id}/response
 *   POST /2018-06-01/runtime/invocation/{id}/error      (Lambda-Runtime-Function-Error-Type)
 *   POST /2018-06-01/runtime/init/error
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "lambda/lambda.h"

struct lr_client {
    CURL *curl;
    char base[300];
};

lr_client *lr_client_new(const char *api) {
    if (!api || !*api || strlen(api) > 200) return NULL;
    lr_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    snprintf(c->base, sizeof c->base, "http://%s/2018-06-01/runtime", api);
    return c;
}

void lr_client_free(lr_client *c) {
    if (!c) return;
    curl_easy_cleanup(c->curl);
    free(c);
}

static size_t on_body(char *p, size_t size, size_t n, void *user) {
    buf *b = user;
    sd_buf_append(b, p, size * n);
    return b->oom ? 0 : size * n;
}

/* Copies a header's value (trimmed) into dst when its name matches. */
static void take_header(const char *line, size_t n, const char *name, char *dst, size_t cap) {
    size_t nl = strlen(name);
    if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return;
    const char *v = line + nl + 1;
    size_t vl = n - nl - 1;
    while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
    if (vl >= cap) vl = cap - 1;
    memcpy(dst, v, vl);
    dst[vl] = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *user) {
    lr_invocation *inv = user;
    size_t len = size * n;
    char deadline[32] = "";
    take_header(p, len, "Lambda-Runtime-Aws-Request-Id", inv->request_id, sizeof inv->request_id);
    take_header(p, len, "Lambda-Runtime-Trace-Id", inv->trace_id, sizeof inv->trace_id);
    take_header(p, len, "Lambda-Runtime-Deadline-Ms", deadline, sizeof deadline);
    if (deadline[0]) inv->deadline_ms = strtoll(deadline, NULL, 10);
    return len;
}

int lr_next(lr_client *c, lr_invocation *inv) {
    char url[400];
    snprintf(url, sizeof url, "%s/invocation/next", c->base);
    inv->request_id[0] = inv->trace_id[0] = 0;
    inv->deadline_ms = 0;
    sd_buf_reset(&inv->body);
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 0L); /* waits as long as it takes */
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &inv->body);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, inv);
    CURLcode rc = curl_easy_perform(c->curl);
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200 || !inv->request_id[0] || inv->body.oom) {
        fprintf(stderr, "bootstrap: invocation/next failed: %s (HTTP %ld)\n", curl_easy_strerror(rc), status);
        return -1;
    }
    if (!inv->body.data) sd_buf_puts(&inv->body, "");
    return 0;
}

static int post(lr_client *c, const char *url, const char *error_type, const char *body, size_t len) {
    buf sink;
    sd_buf_init(&sink);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (error_type) {
        char line[200];
        snprintf(line, sizeof line, "Lambda-Runtime-Function-Error-Type: %s", error_type);
        struct curl_slist *h2 = curl_slist_append(h, line);
        if (h2) h = h2;
    }
    curl_easy_reset(c->curl);
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &sink);
    CURLcode rc = curl_easy_perform(c->curl);
    long status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    sd_buf_free(&sink);
    if (rc != CURLE_OK || status < 200 || status > 299) {
        fprintf(stderr, "bootstrap: POST %s failed: %s (HTTP %ld)\n", strrchr(url, '/'), curl_easy_strerror(rc),
                status);
        return -1;
    }
    return 0;
}

int lr_respond(lr_client *c, const char *request_id, const char *body, size_t len) {
    char url[600];
    snprintf(url, sizeof url, "%s/invocation/%s/response", c->base, request_id);
    return post(c, url, NULL, body, len);
}

static int post_error(lr_client *c, const char *url, const char *error_type, const char *message) {
    buf b;
    sd_buf_init(&b);
    sd_buf_puts(&b, "{\"errorMessage\":");
    sd_buf_json_string(&b, message, strlen(message));
    sd_buf_puts(&b, ",\"errorType\":");
    sd_buf_json_string(&b, error_type, strlen(error_type));
    sd_buf_puts(&b, ",\"stackTrace\":[]}");
    int rc = b.oom ? -1 : post(c, url, error_type, b.data, b.len);
    sd_buf_free(&b);
    return rc;
}

int lr_error(lr_client *c, const char *request_id, const char *error_type, const char *message) {
    char url[600];
    snprintf(url, sizeof url, "%s/invocation/%s/error", c->base, request_id);
    return post_error(c, url, error_type, message);
}

int lr_init_error(lr_client *c, const char *error_type, const char *message) {
    char url[400];
    snprintf(url, sizeof url, "%s/init/error", c->base);
    return post_error(c, url, error_type, message);
}
