/* decode_aws.c — CloudWatch Logs and EventBridge envelopes → events (see
 * decode_aws.h for the shapes and the members added).
 *
 * Base64 is OpenSSL's (EVP_DecodeBlock) and gzip is zlib's; the decompressed
 * size is capped while it inflates (sd_aws_payload_cap), so a small payload
 * cannot expand without bound. Every message text is parsed with the
 * decoder's depth limit before cJSON sees it (sd_decode_json_object). Strings
 * are read and copied with their lengths (util/json.h): one holding U+0000
 * is neither cut nor mistaken for a shorter one.
 */
#define _GNU_SOURCE /* memmem */
#include "event/decode_aws.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "event/span.h"
#include "event/time.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/limits.h"

static void report(const decode_sink *sink, uint64_t where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void report(const decode_sink *sink, uint64_t where, const char *fmt, ...) {
    if (!sink || !sink->on_error) return;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sink->on_error(sink->user, where, msg);
}

static const cJSON *member(const cJSON *obj, const char *key) {
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

const char *const sd_decode_envelope_markers[DECODE_ENVELOPE_MARKERS] = {"awslogs", "messageType", "detail-type",
                                                                         "subscription", "events"};

dec_format sd_aws_envelope_kind_text(const char *s, size_t n) {
    enum { AWSLOGS, MESSAGE_TYPE, LOG_EVENTS, DETAIL_TYPE, DETAIL, NKEYS };
    static const char *const keys[NKEYS] = {"awslogs", "messageType", "logEvents", "detail-type", "detail"};
    span_member mem[NKEYS];
    bool seen[NKEYS];
    /* not an object: not an envelope (the parse says what it is) */
    if (sd_span_first_members(s, n, keys, NKEYS, mem, seen) != 0) return DEC_AUTO;
    char first[NKEYS]; /* the first byte of the first value of each key; 0: none */
    for (int k = 0; k < NKEYS; k++) first[k] = seen[k] ? s[mem[k].value] : 0;
    if (first[AWSLOGS] == '{' || (first[MESSAGE_TYPE] && first[LOG_EVENTS] == '[')) return DEC_CLOUDWATCH_LOGS;
    if (first[DETAIL_TYPE] == '"' && first[DETAIL]) return DEC_EVENTBRIDGE;
    return DEC_AUTO;
}

/* ---- events as text ---------------------------------------------------------- */

/* Whether the object s[0..n) has a top-level member `name` (as cJSON would
 * find it). Without the name's text, or a \u escape that could spell it, in
 * the object, it has none: the common case costs a memmem or two. */
static bool has_member(const char *s, size_t n, const char *name) {
    if (!memmem(s, n, name, strlen(name)) && !memmem(s, n, "\\u", 2)) return false;
    span_walk w;
    span_member m;
    if (sd_span_walk_start(&w, s, n) != 0) return true; /* not framed: the scanner will refuse it anyway */
    while (sd_span_walk_next(&w, &m) == 1)
        if (sd_span_key_is(s, &m, name)) return true;
    return false;
}

/* Writes the object s[0..n) (its last byte is its '}') with the member
 * `"name":` + value text added at its end, into b. */
static void with_member(buf *b, const char *s, size_t n, const char *name, const char *value, size_t vlen) {
    size_t i = 0;
    while (i < n && s[i] != '{') i++;
    for (i++; i < n && span_is_ws((unsigned char)s[i]); i++) {}
    bool empty = i == n - 1;
    sd_buf_reset(b);
    sd_buf_append(b, s, n - 1);
    if (!empty) sd_buf_putc(b, ',');
    sd_buf_putc(b, '"');
    sd_buf_puts(b, name);
    sd_buf_puts(b, "\":");
    sd_buf_append(b, value, vlen);
    sd_buf_putc(b, '}');
}

int sd_aws_eventbridge_text(const char *s, size_t n, uint64_t where, const aws_limits *lim, const decode_sink *sink) {
    if (!lim->on_text || !lim->text || !sink) return DECODE_TEXT_DECLINED;
    span_walk w;
    span_member m, detail = {0};
    bool have_detail = false, have_type = false;
    if (sd_span_walk_start(&w, s, n) != 0) return DECODE_TEXT_DECLINED;
    int r;
    while ((r = sd_span_walk_next(&w, &m)) == 1) {
        if (!have_detail && sd_span_key_is(s, &m, "detail")) {
            detail = m;
            have_detail = true;
        } else if (!have_type && sd_span_key_is(s, &m, "detail-type")) {
            if (s[m.value] != '"') return DECODE_TEXT_DECLINED;
            have_type = true;
        }
    }
    /* The parse checks the envelope's depth, not its event's: so here. */
    const char *d = s + detail.value;
    size_t dlen = detail.value_len;
    /* Framed by brackets, `{"a":1]` ends too: the text must close as an object. */
    if (r < 0 || !have_detail || !have_type || d[0] != '{' || d[dlen - 1] != '}' || w.deepest > lim->max_depth)
        return DECODE_TEXT_DECLINED;
    /* An event with its own member keeps it, and its text would leave the
     * envelope's other members unchecked: rare enough to be parsed. */
    if (has_member(d, dlen, "_eventbridge")) return DECODE_TEXT_DECLINED;
    /* The envelope without its detail, members in their order and as written. */
    buf env;
    sd_buf_init(&env);
    sd_buf_putc(&env, '{');
    sd_span_walk_start(&w, s, n);
    while (sd_span_walk_next(&w, &m) == 1) {
        if (m.key == detail.key) continue;
        if (env.len > 1) sd_buf_putc(&env, ',');
        sd_buf_append(&env, s + m.key, m.value + m.value_len - m.key);
    }
    sd_buf_putc(&env, '}');
    with_member(lim->text, d, dlen, "_eventbridge", env.data, env.len);
    bool oom = env.oom || lim->text->oom;
    sd_buf_free(&env);
    if (oom) return -1;
    return lim->on_text(sink->user, lim->text->data, lim->text->len, where, 0);
}

/* ---- base64(gzip(JSON)) ------------------------------------------------ */

size_t sd_aws_payload_cap(const aws_limits *lim) {
    size_t cap = lim->max_event > SIZE_MAX / LIMIT_AWS_PAYLOAD_EVENT_FACTOR
                     ? SIZE_MAX
                     : lim->max_event * LIMIT_AWS_PAYLOAD_EVENT_FACTOR;
    if (cap < AWS_PAYLOAD_FLOOR) cap = AWS_PAYLOAD_FLOOR;
    return cap < lim->max_inflated ? cap : lim->max_inflated;
}

bool sd_decode_base64(const char *s, size_t n, buf *out) {
    if (n == 0 || n % 4 != 0 || n > (size_t)INT32_MAX) return false;
    size_t pad = (s[n - 1] == '=') + (s[n - 2] == '=');
    if (!sd_buf_reserve(out, n / 4 * 3 + 1)) return false;
    int got = EVP_DecodeBlock((unsigned char *)out->data, (const unsigned char *)s, (int)n);
    if (got < 0 || (size_t)got < pad) return false;
    out->len = (size_t)got - pad;
    out->data[out->len] = 0;
    return true;
}

typedef enum { GZ_OK, GZ_CORRUPT, GZ_TRUNCATED, GZ_TOO_BIG, GZ_NOMEM } gz_result;

static gz_result gunzip(const unsigned char *in, size_t n, size_t cap, buf *out) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return GZ_NOMEM;
    zs.next_in = (unsigned char *)(uintptr_t)in;
    zs.avail_in = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
    gz_result res = GZ_OK;
    for (;;) {
        if (!sd_buf_reserve(out, 64 * 1024)) {
            res = GZ_NOMEM;
            break;
        }
        size_t room = out->cap - out->len - 1;
        zs.next_out = (unsigned char *)out->data + out->len;
        zs.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        uInt before = zs.avail_out;
        int zr = inflate(&zs, Z_NO_FLUSH);
        out->len += before - zs.avail_out;
        out->data[out->len] = 0;
        if (out->len > cap) {
            res = GZ_TOO_BIG;
            break;
        }
        if (zr == Z_STREAM_END) break;
        if (zr == Z_MEM_ERROR) {
            res = GZ_NOMEM;
            break;
        }
        if (zr == Z_BUF_ERROR || (zr == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)) {
            res = GZ_TRUNCATED; /* input used up before the end of the stream */
            break;
        }
        if (zr != Z_OK) {
            res = GZ_CORRUPT;
            break;
        }
    }
    inflateEnd(&zs);
    return res;
}

/* {"awslogs": {"data": "..."}} → the decoded document; NULL after reporting why. */
static cJSON *unwrap_payload(const cJSON *root, const char *unit, uint64_t doc, const aws_limits *lim,
                             const decode_sink *sink, bool *oom) {
    const cJSON *data = member(member(root, "awslogs"), "data");
    if (!cJSON_IsString(data)) {
        report(sink, doc, "%s %llu: not a CloudWatch Logs payload: no \"awslogs.data\" string", unit,
               (unsigned long long)doc);
        return NULL;
    }
    buf raw, json;
    sd_buf_init(&raw);
    sd_buf_init(&json);
    cJSON *out = NULL;
    if (!sd_decode_base64(data->valuestring, sd_json_string_len(data), &raw)) {
        if (raw.oom)
            *oom = true;
        else
            report(sink, doc, "%s %llu: awslogs.data: invalid base64", unit, (unsigned long long)doc);
        goto done;
    }
    size_t cap = sd_aws_payload_cap(lim);
    gz_result gz = gunzip((const unsigned char *)raw.data, raw.len, cap, &json);
    static const char *const why[] = {"", "corrupt gzip data", "truncated gzip data", "", ""};
    if (gz == GZ_NOMEM) {
        *oom = true;
        goto done;
    }
    if (gz == GZ_TOO_BIG) {
        report(sink, doc, "%s %llu: awslogs.data: decompresses to more than %zu bytes (a payload's limit)", unit,
               (unsigned long long)doc, cap);
        goto done;
    }
    if (gz != GZ_OK) {
        report(sink, doc, "%s %llu: awslogs.data: %s", unit, (unsigned long long)doc, why[gz]);
        goto done;
    }
    const char *err = NULL;
    out = sd_decode_json_object(json.data, json.len, lim->max_depth, &err);
    if (!out)
        report(sink, doc, "%s %llu: awslogs.data: decompressed payload: %s", unit, (unsigned long long)doc,
               err ? err : "invalid JSON");
done:
    sd_buf_free(&raw);
    sd_buf_free(&json);
    return out;
}

/* ---- CloudWatch Logs ----------------------------------------------------- */

static void copy_member(cJSON *to, const cJSON *from, const char *key) {
    const cJSON *v = member(from, key);
    if (v) cJSON_AddItemToObject(to, key, sd_json_duplicate(v));
}

/* The "_cloudwatch" member of one log event's event. NULL when out of memory. */
static cJSON *cw_meta(const cJSON *doc, const cJSON *le) {
    cJSON *m = cJSON_CreateObject();
    if (!m) return NULL;
    copy_member(m, doc, "logGroup");
    copy_member(m, doc, "logStream");
    copy_member(m, doc, "owner");
    copy_member(m, doc, "subscriptionFilters");
    copy_member(m, le, "id");
    const cJSON *ts = member(le, "timestamp");
    if (cJSON_IsNumber(ts)) {
        cJSON_AddItemToObject(m, "timestamp", sd_json_duplicate(ts));
        double ms = ts->valuedouble;
        if (ms > -9.2e12 && ms < 9.2e12) { /* within int64 nanoseconds */
            char text[40];
            sd_time_format_rfc3339((int64_t)ms * 1000000, text);
            cJSON_AddStringToObject(m, "time", text);
        }
    }
    return m;
}

/* Whether a tree holds a string or key with U+0000 (util/json.h). */
static bool holds_nul(const cJSON *node) {
    for (; node; node = node->next)
        if ((node->type & (JSON_STRING_HAS_NUL | JSON_KEY_HAS_NUL)) || holds_nul(node->child)) return true;
    return false;
}

/* A log event's message to on_text, with "_cloudwatch" added as cw_meta
 * makes it; as on_text returns, or DECODE_TEXT_DECLINED when it was
 * declined or is not written as an object. */
static int cw_text(const cJSON *doc, const cJSON *le, const char *msg, size_t len, uint64_t where,
                   const aws_limits *lim, const decode_sink *sink) {
    size_t end = len; /* after the object, JSON's whitespace only, as the parse allows */
    while (end > 0 && (msg[end - 1] == ' ' || msg[end - 1] == '\t' || msg[end - 1] == '\n' || msg[end - 1] == '\r'))
        end--;
    if (end == 0 || msg[end - 1] != '}') return DECODE_TEXT_DECLINED; /* the parse says what it is */
    if (has_member(msg, len, "_cloudwatch")) return lim->on_text(sink->user, msg, len, where, 0);
    cJSON *meta = cw_meta(doc, le);
    if (!meta) return -1;
    if (holds_nul(meta)) { /* cJSON's printer would cut it: rare enough to be parsed */
        cJSON_Delete(meta);
        return DECODE_TEXT_DECLINED;
    }
    char *text = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    if (!text) return -1;
    with_member(lim->text, msg, end, "_cloudwatch", text, strlen(text));
    cJSON_free(text);
    if (lim->text->oom) return -1;
    return lim->on_text(sink->user, lim->text->data, lim->text->len, where, 0);
}

static int cw_emit(const cJSON *doc, const char *unit, uint64_t docno, const aws_limits *lim, const decode_sink *sink) {
    const cJSON *type = member(doc, "messageType");
    static const char control[] = "CONTROL_MESSAGE";
    if (cJSON_IsString(type) && sd_json_string_len(type) == sizeof control - 1 &&
        memcmp(type->valuestring, control, sizeof control - 1) == 0)
        return 0;
    const cJSON *events = member(doc, "logEvents");
    if (!cJSON_IsArray(events)) {
        report(sink, docno, "%s %llu: not a CloudWatch Logs payload: no \"logEvents\" array", unit,
               (unsigned long long)docno);
        return 0;
    }
    uint64_t i = 0;
    for (const cJSON *le = events->child; le; le = le->next, i++) {
        const cJSON *msg = member(le, "message");
        if (!cJSON_IsString(msg)) {
            report(sink, i + 1, "%s %llu: logEvents[%llu]: no \"message\" string", unit, (unsigned long long)docno,
                   (unsigned long long)i);
            continue;
        }
        size_t len = sd_json_string_len(msg);
        if (len > lim->max_event) {
            report(sink, i + 1, "%s %llu: logEvents[%llu]: message longer than %zu bytes", unit,
                   (unsigned long long)docno, (unsigned long long)i, lim->max_event);
            continue;
        }
        if (lim->on_text && sink) {
            int rc = cw_text(doc, le, msg->valuestring, len, i + 1, lim, sink);
            if (rc != DECODE_TEXT_DECLINED) {
                if (rc) return rc;
                continue;
            }
        }
        const char *err = NULL;
        cJSON *ev = sd_decode_json_object(msg->valuestring, len, lim->max_depth, &err);
        if (!ev) {
            report(sink, i + 1, "%s %llu: logEvents[%llu]: message: %s", unit, (unsigned long long)docno,
                   (unsigned long long)i, err ? err : "invalid JSON");
            continue;
        }
        if (!cJSON_GetObjectItemCaseSensitive(ev, "_cloudwatch")) {
            cJSON *meta = cw_meta(doc, le);
            if (!meta || !cJSON_AddItemToObject(ev, "_cloudwatch", meta)) {
                cJSON_Delete(meta);
                cJSON_Delete(ev);
                return -1;
            }
        }
        int rc = sink && sink->on_event ? sink->on_event(sink->user, ev, i + 1) : 0;
        cJSON_Delete(ev);
        if (rc) return rc;
    }
    return 0;
}

/* ---- EventBridge ---------------------------------------------------------- */

static int eb_emit(cJSON *root, const char *unit, uint64_t docno, const decode_sink *sink) {
    const cJSON *dt = member(root, "detail-type");
    const cJSON *d = member(root, "detail");
    if (!cJSON_IsString(dt) || !cJSON_IsObject(d)) {
        report(sink, docno, "%s %llu: not an EventBridge event: %s", unit, (unsigned long long)docno,
               !cJSON_IsString(dt) ? "no \"detail-type\" string" : "no \"detail\" object");
        return 0;
    }
    cJSON *detail = cJSON_DetachItemFromObjectCaseSensitive(root, "detail");
    /* What is left of root is the envelope; it moves into the event. */
    if (!cJSON_GetObjectItemCaseSensitive(detail, "_eventbridge")) {
        cJSON *env = sd_json_duplicate(root);
        if (!env || !cJSON_AddItemToObject(detail, "_eventbridge", env)) {
            cJSON_Delete(env);
            cJSON_Delete(detail);
            return -1;
        }
    }
    int rc = sink && sink->on_event ? sink->on_event(sink->user, detail, docno) : 0;
    cJSON_Delete(detail);
    return rc;
}

int sd_aws_emit(dec_format fmt, cJSON *root, const char *unit, uint64_t doc, const aws_limits *lim,
                const decode_sink *sink) {
    int rc = 0;
    if (fmt == DEC_EVENTBRIDGE) {
        rc = eb_emit(root, unit, doc, sink);
    } else if (fmt == DEC_CLOUDWATCH_LOGS) {
        /* As sd_aws_envelope_kind_text tells them apart: a payload is an "awslogs" object. */
        if (cJSON_IsObject(member(root, "awslogs"))) {
            bool oom = false;
            cJSON *inner = unwrap_payload(root, unit, doc, lim, sink, &oom);
            if (oom)
                rc = -1;
            else if (inner)
                rc = cw_emit(inner, unit, doc, lim, sink);
            cJSON_Delete(inner);
        } else {
            rc = cw_emit(root, unit, doc, lim, sink);
        }
    }
    cJSON_Delete(root);
    return rc;
}
