/* wire.c — forwards and heartbeats on the repartition topic, written and
 * read (see wire.h for the format and what reading refuses). Pure: no
 * librdkafka, no engine; stage1.c hands the headers written here to
 * rd_kafka_producev, stage2.c reads what the consumer hands it.
 */
#include "kafka/wire.h"
#include "util/limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static kwire_kind bad(char *err, size_t errlen, const char *why) {
    snprintf(err, errlen, "%s", why);
    return KWIRE_BAD;
}

/* A decimal int64: an optional '-' (when neg_ok), then 1 to 19 digits, in range. */
static bool read_i64(const char *v, size_t n, bool neg_ok, int64_t *out) {
    size_t i = 0;
    bool neg = neg_ok && n > 0 && v[0] == '-';
    if (neg) i++;
    if (i == n || n - i > 19) return false;
    uint64_t x = 0;
    for (; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return false;
        x = x * 10 + (uint64_t)(v[i] - '0'); /* 19 digits fit in uint64 */
    }
    if (x > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) return false;
    *out = neg ? (int64_t)(0 - x) : (int64_t)x;
    return true;
}

static bool name_ok(const char *v, size_t n, size_t max) { return n > 0 && n <= max && !memchr(v, '\0', n); }

static bool origin_ok(const char *v, size_t n) { return name_ok(v, n, KWIRE_ORIGIN_MAX) && !memchr(v, ',', n); }

bool sd_kwire_origins_each(const char *list, size_t len, void (*fn)(void *user, const char *name, size_t len),
                           void *user) {
    for (int pass = 0; pass < 2; pass++) { /* check the whole list, then hand it out */
        for (size_t a = 0; a < len;) {
            const char *comma = memchr(list + a, ',', len - a);
            size_t b = comma ? (size_t)(comma - list) : len;
            if (!origin_ok(list + a, b - a) || (comma && b + 1 == len)) return false;
            if (pass == 1 && fn) fn(user, list + a, b - a);
            a = b + 1;
        }
    }
    return true;
}

static kwire_kind read_heartbeat(kwire_get_fn get, void *msg, const char *origin, size_t olen, kwire_heartbeat *h,
                                 char *err, size_t errlen) {
    const char *v;
    size_t n;
    if (!origin_ok(origin, olen))
        return bad(err, errlen, "secdet-watermark: expected an origin (1 to 512 bytes, no NUL or comma)");
    h->origin = origin;
    h->origin_len = olen;
    if (!get(msg, "secdet-time", &v, &n)) return bad(err, errlen, "heartbeat without secdet-time");
    if (n == 4 && memcmp(v, "none", 4) == 0)
        h->any = false;
    else if (read_i64(v, n, true, &h->time_ns))
        h->any = true;
    else
        return bad(err, errlen, "secdet-time: expected nanoseconds or \"none\"");
    if (get(msg, "secdet-idle", &v, &n)) {
        if (n != 1 || (v[0] != '0' && v[0] != '1')) return bad(err, errlen, "secdet-idle: expected 0 or 1");
        h->idle = v[0] == '1';
    }
    if (get(msg, "secdet-origins", &v, &n)) {
        if (!sd_kwire_origins_each(v, n, NULL, NULL))
            return bad(err, errlen, "secdet-origins: expected origins separated by commas");
        h->origins = v;
        h->origins_len = n;
    }
    return KWIRE_HEARTBEAT;
}

static kwire_kind read_forward(kwire_get_fn get, void *msg, const void *key, size_t key_len, kwire_forward *f,
                               char *err, size_t errlen) {
    const char *v;
    size_t n;
    if (!get(msg, "secdet-rule", &f->rule, &f->rule_len))
        return bad(err, errlen, "not a forwarded event or a heartbeat (no secdet-rule or secdet-watermark header)");
    if (!name_ok(f->rule, f->rule_len, LIMIT_KAFKA_NAME))
        return bad(err, errlen, "secdet-rule: expected a rule name (1 to 255 bytes, no NUL)");
    if (!get(msg, "secdet-source", &f->source, &f->source_len) || !name_ok(f->source, f->source_len, LIMIT_KAFKA_NAME))
        return bad(err, errlen, "secdet-source: expected a source name (1 to 255 bytes, no NUL)");
    if (!get(msg, "secdet-time", &v, &n) || !read_i64(v, n, true, &f->time_ns))
        return bad(err, errlen, "secdet-time: expected nanoseconds");
    if (!get(msg, "secdet-origin", &f->origin, &f->origin_len) || !origin_ok(f->origin, f->origin_len))
        return bad(err, errlen, "secdet-origin: expected an origin (1 to 512 bytes, no NUL or comma)");
    const char *colon = get(msg, "secdet-seq", &v, &n) ? memchr(v, ':', n) : NULL;
    int64_t idx = 0;
    if (!colon || !read_i64(v, (size_t)(colon - v), false, &f->off) ||
        !read_i64(colon + 1, n - (size_t)(colon - v) - 1, false, &idx) || idx > UINT32_MAX)
        return bad(err, errlen, "secdet-seq: expected offset:index");
    f->idx = (uint32_t)idx;
    /* The key decided the partition: it must be this rule's. */
    const char *k = key;
    if (!k || key_len <= f->rule_len || memcmp(k, f->rule, f->rule_len) != 0 || k[f->rule_len] != '\0')
        return bad(err, errlen, "key: expected the rule's name, a NUL byte and the group key");
    f->group = k + f->rule_len + 1;
    f->group_len = key_len - f->rule_len - 1;
    return KWIRE_FORWARD;
}

kwire_kind sd_kwire_read(kwire_get_fn get, void *msg, const void *key, size_t key_len, kwire_msg *out, char *err,
                         size_t errlen) {
    memset(out, 0, sizeof *out);
    const char *origin;
    size_t olen;
    if (get(msg, "secdet-watermark", &origin, &olen))
        out->kind = read_heartbeat(get, msg, origin, olen, &out->h, err, errlen);
    else
        out->kind = read_forward(get, msg, key, key_len, &out->f, err, errlen);
    return out->kind;
}

size_t sd_kwire_forward_headers(const kwire_forward *f, kwire_text *t, kwire_header h[5]) {
    snprintf(t->time, sizeof t->time, "%" PRId64, f->time_ns);
    snprintf(t->seq, sizeof t->seq, "%" PRId64 ":%" PRIu32, f->off, f->idx);
    h[0] = (kwire_header){"secdet-rule", f->rule, f->rule_len};
    h[1] = (kwire_header){"secdet-source", f->source, f->source_len};
    h[2] = (kwire_header){"secdet-time", t->time, strlen(t->time)};
    h[3] = (kwire_header){"secdet-origin", f->origin, f->origin_len};
    h[4] = (kwire_header){"secdet-seq", t->seq, strlen(t->seq)};
    return 5;
}

void sd_kwire_forward_key(const kwire_forward *f, buf *key) {
    sd_buf_reset(key);
    sd_buf_append(key, f->rule, f->rule_len);
    sd_buf_putc(key, '\0');
    sd_buf_append(key, f->group, f->group_len);
}

size_t sd_kwire_heartbeat_headers(const kwire_heartbeat *b, kwire_text *t, kwire_header h[4]) {
    if (b->any)
        snprintf(t->time, sizeof t->time, "%" PRId64, b->time_ns);
    else
        snprintf(t->time, sizeof t->time, "none");
    h[0] = (kwire_header){"secdet-watermark", b->origin, b->origin_len};
    h[1] = (kwire_header){"secdet-time", t->time, strlen(t->time)};
    h[2] = (kwire_header){"secdet-idle", b->idle ? "1" : "0", 1};
    if (!b->origins) return 3;
    h[3] = (kwire_header){"secdet-origins", b->origins, b->origins_len};
    return 4;
}
