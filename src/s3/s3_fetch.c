/*
 * s3_fetch.c — every object below s3://bucket/prefix, fetched into a
 * directory, for `secdet hunt` to read as files.
 *
 * The listing walks the prefix one folder ("/"-delimited common prefix) at
 * a time, so that CloudTrail's date folders (AWSLogs/ACCOUNT/CloudTrail/
 * REGION/YYYY/MM/DD/) outside the time asked for are never listed nor
 * read: a day's hunt over a year of logs reads that day's objects. The
 * folder's date is CloudTrail's delivery day; a log file is delivered
 * minutes (rarely hours) after its events, so the day after the range is
 * read too, and nothing before it is needed.
 *
 * Objects are read `parallel` at a time through one curl multi handle, each
 * into its own file (a 5-minute CloudTrail file is small; memory stays that
 * of the transfers). An object that cannot be read is counted and named in
 * err; the others are still fetched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "s3/s3.h"
#include "s3/s3_int.h"

#define DAY_NS (86400LL * 1000000000LL)

typedef struct objs {
    sd_s3_object *v;
    size_t n, cap;
} objs;

typedef struct strs {
    char **v;
    size_t n, cap;
} strs;

static int push_str(strs *s, char *x) {
    if (!x) return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            free(x);
            return -1;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

/* The text of <tag>...</tag> from p (before end), XML entities decoded; NULL when absent. */
static char *xml_text(const char *p, const char *end, const char *tag, const char **after) {
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(p, open);
    if (!a || a >= end) return NULL;
    a += strlen(open);
    const char *b = strstr(a, close);
    if (!b || b > end) return NULL;
    if (after) *after = b + strlen(close);
    char *out = malloc((size_t)(b - a) + 1);
    if (!out) return NULL;
    size_t n = 0;
    static const struct {
        const char *ent;
        char ch;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (const char *q = a; q < b;) {
        size_t k = 0;
        for (; k < 5; k++)
            if (strncmp(q, ents[k].ent, strlen(ents[k].ent)) == 0) break;
        if (k < 5) {
            out[n++] = ents[k].ch;
            q += strlen(ents[k].ent);
        } else {
            out[n++] = *q++;
        }
    }
    out[n] = 0;
    return out;
}

/* [start, end] of a CloudTrail date folder, or 0 when prefix is not one. */
static int folder_span(const char *prefix, int64_t *start, int64_t *end) {
    const char *ct = strstr(prefix, "/CloudTrail/");
    if (!ct) return 0;
    const char *p = strchr(ct + strlen("/CloudTrail/"), '/'); /* past the region */
    if (!p) return 0;
    int y = 0, m = 0, d = 0, k = 0;
    int got = sscanf(p, "/%4d/%n", &y, &k) == 1 && k == 6 ? 1 : 0;
    if (got && sscanf(p + 5, "/%2d/%n", &m, &k) == 1 && k == 4) got = 2;
    if (got == 2 && sscanf(p + 8, "/%2d/%n", &d, &k) == 1 && k == 4) got = 3;
    if (!got) return 0;
    struct tm a = {.tm_year = y - 1900, .tm_mon = got >= 2 ? m - 1 : 0, .tm_mday = got == 3 ? d : 1};
    struct tm b = a;
    if (got == 1) b.tm_year++;
    if (got == 2) b.tm_mon++;
    if (got == 3) b.tm_mday++;
    *start = (int64_t)timegm(&a) * 1000000000LL;
    *end = (int64_t)timegm(&b) * 1000000000LL - 1;
    return 1;
}

static int walk(const sd_s3_creds *c, const char *bucket, const char *prefix, int64_t since, int64_t until, objs *out,
                sd_s3_fetch_stats *st, char *err, size_t errlen) {
    strs todo = {0};
    int rc = push_str(&todo, strdup(prefix));
    buf xml;
    sd_buf_init(&xml);
    int64_t until_read = until > INT64_MAX - DAY_NS ? INT64_MAX : until + DAY_NS;
    while (rc == 0 && todo.n) {
        char *pre = todo.v[--todo.n];
        char *token = NULL;
        do {
            if (sd_s3_list_page(c, bucket, pre, token, &xml, err, errlen) != 0) {
                rc = -1;
                break;
            }
            free(token);
            token = NULL;
            const char *p = xml.data, *end = xml.data + xml.len;
            const char *next;
            for (const char *a; (a = strstr(p, "<Contents>")) != NULL; p = next) {
                const char *b = strstr(a, "</Contents>");
                if (!b) break;
                next = b + 11;
                char *key = xml_text(a, b, "Key", NULL), *size = xml_text(a, b, "Size", NULL);
                int skip = !key || strstr(key, "/CloudTrail-Digest/") || (key[0] && key[strlen(key) - 1] == '/');
                if (!skip) {
                    if (out->n == out->cap) {
                        size_t cap = out->cap ? out->cap * 2 : 64;
                        sd_s3_object *v = realloc(out->v, cap * sizeof *v);
                        if (!v) {
                            rc = -1;
                            snprintf(err, errlen, "out of memory");
                            free(key);
                            free(size);
                            break;
                        }
                        out->v = v;
                        out->cap = cap;
                    }
                    out->v[out->n++] = (sd_s3_object){key, size ? strtoull(size, NULL, 10) : 0, NULL};
                    st->listed++;
                    key = NULL;
                }
                free(key);
                free(size);
            }
            p = xml.data;
            for (const char *a; rc == 0 && (a = strstr(p, "<CommonPrefixes>")) != NULL; p = next) {
                const char *b = strstr(a, "</CommonPrefixes>");
                if (!b) break;
                next = b + 17;
                char *sub = xml_text(a, b, "Prefix", NULL);
                int64_t s, e;
                if (sub && folder_span(sub, &s, &e) && (e < since || s > until_read)) {
                    st->pruned_folders++;
                    free(sub);
                } else if (sub && strstr(sub, "/CloudTrail-Digest/")) {
                    free(sub); /* digests are not events */
                } else if (sub && push_str(&todo, sub) != 0) {
                    rc = -1;
                    snprintf(err, errlen, "out of memory");
                }
            }
            char *trunc = xml_text(xml.data, end, "IsTruncated", NULL);
            if (trunc && strcmp(trunc, "true") == 0) token = xml_text(xml.data, end, "NextContinuationToken", NULL);
            free(trunc);
        } while (rc == 0 && token);
        free(token);
        free(pre);
    }
    for (size_t i = 0; i < todo.n; i++) free(todo.v[i]);
    free(todo.v);
    sd_buf_free(&xml);
    return rc;
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const sd_s3_object *)a)->key, ((const sd_s3_object *)b)->key);
}

typedef struct xfer {
    sd_s3_request r;
    FILE *f;
    size_t index;
} xfer;

static size_t to_file(char *p, size_t size, size_t n, void *user) { return fwrite(p, size, n, (FILE *)user) * size; }

/* A file name of dir for object i: its number and its key's last part, tamed. */
static char *file_for(const char *dir, size_t i, const char *key) {
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    buf b;
    sd_buf_init(&b);
    sd_buf_printf(&b, "%s/%06zu-", dir, i);
    for (const char *p = base; *p && b.len < 200; p++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                 ch == '-' || ch == '_';
        sd_buf_putc(&b, ok ? ch : '_');
    }
    return b.oom ? (sd_buf_free(&b), NULL) : sd_buf_steal(&b);
}

static int start(const sd_s3_creds *c, const char *bucket, const char *dir, sd_s3_object *o, size_t i, CURLM *m,
                 xfer *x, char *err, size_t errlen) {
    x->index = i;
    o->path = file_for(dir, i, o->key);
    x->f = o->path ? fopen(o->path, "wb") : NULL;
    if (!x->f) {
        snprintf(err, errlen, "%s: cannot write %s", o->key, o->path ? o->path : "a file");
        return -1;
    }
    if (sd_s3_request_init(&x->r, c, bucket, o->key, NULL, err, errlen) != 0) {
        fclose(x->f);
        x->f = NULL;
        return -1;
    }
    curl_easy_setopt(x->r.curl, CURLOPT_WRITEFUNCTION, to_file);
    curl_easy_setopt(x->r.curl, CURLOPT_WRITEDATA, x->f);
    curl_easy_setopt(x->r.curl, CURLOPT_TIMEOUT_MS, 300000L);
    curl_easy_setopt(x->r.curl, CURLOPT_PRIVATE, x);
    curl_multi_add_handle(m, x->r.curl);
    return 0;
}

int sd_s3_fetch_prefix(const char *bucket, const char *prefix, int64_t since_ns, int64_t until_ns, const char *dir,
                       int parallel, sd_s3_progress_fn progress, void *user, sd_s3_object **out, size_t *n,
                       sd_s3_fetch_stats *st, char *err, size_t errlen) {
    memset(st, 0, sizeof *st);
    *out = NULL;
    *n = 0;
    sd_s3_creds c;
    if (sd_s3_creds_load(&c, err, errlen) != 0) return -1;
    objs list = {0};
    if (walk(&c, bucket, prefix, since_ns, until_ns, &list, st, err, errlen) != 0) {
        sd_s3_objects_free(list.v, list.n);
        return -1;
    }
    if (list.n) qsort(list.v, list.n, sizeof *list.v, by_key);
    if (parallel < 1) parallel = 1;
    CURLM *m = curl_multi_init();
    xfer *xs = calloc((size_t)parallel, sizeof *xs);
    int failed = 0;
    char first_err[256] = "";
    size_t next = 0, active = 0;
    while (m && xs && (next < list.n || active)) {
        for (int k = 0; k < parallel && next < list.n; k++) {
            if (xs[k].f) continue;
            char e[256];
            if (start(&c, bucket, dir, &list.v[next], next, m, &xs[k], e, sizeof e) != 0) {
                failed++;
                if (!first_err[0]) snprintf(first_err, sizeof first_err, "%s", e);
            } else {
                active++;
            }
            next++;
        }
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) continue;
            xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            int bad = fclose(x->f) != 0 || msg->data.result != CURLE_OK || status != 200;
            x->f = NULL;
            sd_s3_object *o = &list.v[x->index];
            if (bad) {
                failed++;
                if (!first_err[0])
                    snprintf(first_err, sizeof first_err, "s3://%s/%s: GetObject: %s", bucket, o->key,
                             msg->data.result != CURLE_OK ? curl_easy_strerror(msg->data.result) : "HTTP error");
                remove(o->path);
                free(o->path);
                o->path = NULL;
            } else {
                st->fetched++;
                st->bytes += o->size;
            }
            curl_multi_remove_handle(m, msg->easy_handle);
            sd_s3_request_free(&x->r);
            active--;
            if (progress) progress(user, st, list.n);
        }
        if (active) curl_multi_poll(m, NULL, 0, 200, NULL);
    }
    if (!m || !xs) {
        failed = 1;
        snprintf(first_err, sizeof first_err, "out of memory");
    }
    free(xs);
    if (m) curl_multi_cleanup(m);
    *out = list.v;
    *n = list.n;
    if (failed)
        snprintf(err, errlen, "%d object%s could not be read; the first: %s", failed, failed == 1 ? "" : "s",
                 first_err);
    return failed ? 1 : 0;
}

void sd_s3_objects_free(sd_s3_object *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].path);
    }
    free(v);
}
