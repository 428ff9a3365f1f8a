/*
 * s3_creds.c — where the S3 credentials come from, in the AWS tools' order
 * (s3.h): the environment, the shared credentials file's profile, the
 * container credentials endpoint (ECS tasks, EKS Pod Identity). Not the
 * instance metadata service and not SSO: a user of those exports the
 * environment variables (`aws configure export-credentials --format env`).
 * A source that is named but fails (AWS_PROFILE names a missing profile,
 * the endpoint does not answer) is an error, not a silent fall-through to
 * unsigned requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "s3/s3.h"

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void put(char *dst, size_t cap, const char *s, size_t n) {
    if (n >= cap) n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) s[--n] = 0;
    return s;
}

/* 1 found, 0 no file or no such profile, -1 a key missing. */
static int from_profile(sd_s3_creds *c, const char *profile, char *err, size_t errlen) {
    char path[1024];
    const char *file = env("AWS_SHARED_CREDENTIALS_FILE");
    if (!file) {
        const char *home = env("HOME");
        if (!home) return 0;
        snprintf(path, sizeof path, "%s/.aws/credentials", home);
        file = path;
    }
    FILE *f = fopen(file, "r");
    if (!f) return 0;
    char line[4608];
    int in = 0, found = 0;
    while (fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (*s == '#' || *s == ';' || !*s) continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (end) *end = 0;
            in = strcmp(trim(s + 1), profile) == 0;
            found |= in;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!in || !eq) continue;
        *eq = 0;
        char *k = trim(s), *v = trim(eq + 1);
        if (strcmp(k, "aws_access_key_id") == 0) put(c->akid, sizeof c->akid, v, strlen(v));
        if (strcmp(k, "aws_secret_access_key") == 0) put(c->secret, sizeof c->secret, v, strlen(v));
        if (strcmp(k, "aws_session_token") == 0) put(c->token, sizeof c->token, v, strlen(v));
    }
    fclose(f);
    if (!found) return 0;
    if (!c->akid[0] || !c->secret[0]) {
        snprintf(err, errlen, "profile %s of %s has no aws_access_key_id or aws_secret_access_key", profile, file);
        return -1;
    }
    snprintf(c->from_buf, sizeof c->from_buf, "profile %s", profile);
    c->from = c->from_buf;
    return 1;
}

static size_t on_body(char *p, size_t size, size_t n, void *user) {
    buf *b = user;
    if (b->len + size * n > 65536) return 0;
    sd_buf_append(b, p, size * n);
    return b->oom ? 0 : size * n;
}

static int from_container(sd_s3_creds *c, const char *full, const char *rel, char *err, size_t errlen) {
    buf url, body, auth;
    sd_buf_init(&url);
    sd_buf_init(&body);
    sd_buf_init(&auth);
    if (full)
        sd_buf_puts(&url, full);
    else
        sd_buf_printf(&url, "http://169.254.170.2%s", rel);
    const char *token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    const char *token_file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    char tbuf[4096];
    if (!token && token_file) {
        FILE *f = fopen(token_file, "r");
        size_t n = f ? fread(tbuf, 1, sizeof tbuf - 1, f) : 0;
        if (f) fclose(f);
        tbuf[n] = 0;
        token = trim(tbuf);
    }
    int rc = -1;
    CURL *curl = curl_easy_init();
    struct curl_slist *h = NULL;
    if (token) {
        sd_buf_printf(&auth, "Authorization: %s", token);
        h = auth.oom ? NULL : curl_slist_append(NULL, auth.data);
    }
    if (curl && !url.oom) {
        curl_easy_setopt(curl, CURLOPT_URL, url.data);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
        if (h) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
        CURLcode cc = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        cJSON *j = cc == CURLE_OK && status == 200 ? cJSON_ParseWithLength(body.data, body.len) : NULL;
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "AccessKeyId");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "SecretAccessKey");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "Token");
        if (cJSON_IsString(k) && cJSON_IsString(s)) {
            put(c->akid, sizeof c->akid, k->valuestring, strlen(k->valuestring));
            put(c->secret, sizeof c->secret, s->valuestring, strlen(s->valuestring));
            if (cJSON_IsString(t)) put(c->token, sizeof c->token, t->valuestring, strlen(t->valuestring));
            c->from = "container endpoint";
            rc = 0;
        } else if (cc != CURLE_OK) {
            snprintf(err, errlen, "container credentials endpoint %s: %s", url.data, curl_easy_strerror(cc));
        } else {
            snprintf(err, errlen, "container credentials endpoint %s: HTTP %ld, no AccessKeyId and SecretAccessKey",
                     url.data, status);
        }
        cJSON_Delete(j);
    } else {
        snprintf(err, errlen, "out of memory");
    }
    if (curl) curl_easy_cleanup(curl);
    curl_slist_free_all(h);
    sd_buf_free(&url);
    sd_buf_free(&body);
    sd_buf_free(&auth);
    return rc;
}

int sd_s3_creds_load(sd_s3_creds *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    const char *akid = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
    if (akid && secret) {
        put(c->akid, sizeof c->akid, akid, strlen(akid));
        put(c->secret, sizeof c->secret, secret, strlen(secret));
        const char *token = env("AWS_SESSION_TOKEN");
        if (token) put(c->token, sizeof c->token, token, strlen(token));
        c->from = "environment";
        return 0;
    }
    const char *named = env("AWS_PROFILE");
    int got = from_profile(c, named ? named : "default", err, errlen);
    if (got != 0) return got > 0 ? 0 : -1;
    if (named) {
        snprintf(err, errlen, "AWS_PROFILE %s: no such profile in the shared credentials file", named);
        return -1;
    }
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI"), *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    if (full || rel) return from_container(c, full, rel, err, errlen);
    memset(c, 0, sizeof *c);
    c->from = "none";
    return 0;
}
