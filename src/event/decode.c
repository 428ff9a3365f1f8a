/* decode.c — bytes of a source → JSON events (see decode.h for the contract).
 *
 * Three layers, each seeing the output of the one before:
 *   gzip     a stream that starts with 1f 8b is inflated in streaming mode
 *            (zlib, multi-member); a corrupt or truncated stream is one error.
 *   format   DEC_AUTO buffers the first bytes until they tell JSON lines from
 *            a CloudTrail document, then replays them into the chosen format.
 *   events   JSON lines are cut one by one, in place when a line lies inside
 *            the bytes given (no copy), else from a carry buffer that holds
 *            the partial line across feeds; streams of JSON documents
 *            (CloudTrail, CloudWatch Logs, EventBridge) are decode_doc.c's.
 * Every event then takes one way out (sd_decode_unit): to the receiver's
 * on_text as text when it takes it — the fast path, no tree — else parsed
 * here with cJSON and handed to on_event, or reported as malformed.
 *
 * Promises beyond the header:
 *  - Error messages: "line N: invalid JSON near byte K" (K is 1-based within
 *    the line), "line N: control character U+000A in a string at byte K;
 *    it must be escaped" (cJSON would take it), "line N: not a JSON object",
 *    "line N: longer than M bytes", "line N: nested deeper than D",
 *    "record N: ..." likewise for CloudTrail records, "document N: ..." for
 *    documents; a CloudTrail stream's document-level errors and gzip errors
 *    are reported with where = 0.
 *  - An over-long line is dropped as it streams by: at most max_event_bytes+1
 *    bytes of it are ever buffered.
 *  - Depth is checked here before cJSON sees the text, because cJSON's own
 *    nesting limit (1000) is fixed at its compile time.
 *  - When on_event (or on_text) returns non-zero, the rest of the stream is
 *    ignored: every further sd_decoder_feed and the sd_decoder_end return that
 *    value; sd_decoder_end then resets the decoder. Out of memory behaves the
 *    same with -1.
 *  - sd_decoder_format keeps reporting a finished stream's format after
 *    sd_decoder_end, until the next stream's first feed.
 *  - What on_text takes gives the same event as the parse would have: the
 *    receiver takes only text it validates, and anything it declines comes
 *    here.
 */
#include "event/decode.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "event/decode_aws.h"
#include "event/decode_google.h"
#include "event/decode_int.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/limits.h"

#define DEFAULT_MAX_EVENT_BYTES ((size_t)1024 * 1024)
#define INFLATE_CHUNK           (64 * 1024) /* inflated bytes handed on per step */
#define CARRY_KEEP_BYTES        (1 << 20)   /* carry memory kept across streams */

/* ---- errors ------------------------------------------------------------ */

void sd_decode_report(const decode_sink *sink, uint64_t where, const char *fmt, ...) {
    if (!sink || !sink->on_error) return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sink->on_error(sink->user, where, msg);
}

int sd_decode_halt(decoder *d, int rc) {
    d->stop = rc;
    return rc;
}

/* ---- one JSON value ---------------------------------------------------- */

typedef enum { JSON_OK, JSON_INVALID, JSON_NOT_OBJECT, JSON_TOO_DEEP, JSON_CONTROL } json_status;

/* JSON_CONTROL: a raw control character inside a string (the byte at 0-based
 * pos: format with CONTROL_ARGS); cJSON would take it, hiding what follows
 * a NUL from every reader that stops there. */
#define CONTROL_FMT          "control character U+%04X in a string at byte %zu; it must be escaped"
#define CONTROL_ARGS(s, pos) (unsigned)(unsigned char)(s)[pos], (size_t)(pos) + 1

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Deeper than max? Counting the openers first is a loop over fixed 32-byte
 * blocks that compilers vectorise even at -O2 ('{' and '[' differ only in bit
 * 0x20, so one compare finds both); only text with more openers than the
 * limit pays for the exact scan that skips strings and tracks closers. */
static bool too_deep(const char *s, size_t n, uint32_t max) {
    if (n <= max) return false; /* each level takes a byte */
    const unsigned char *u = (const unsigned char *)s;
    size_t openers = 0, i = 0;
    for (; i + 32 <= n && openers <= max; i += 32) {
        unsigned char block = 0;
        for (int j = 0; j < 32; j++) block += (unsigned char)((u[i + (size_t)j] | 0x20) == '{');
        openers += block;
    }
    for (; i < n; i++) openers += (u[i] | 0x20) == '{';
    if (openers <= max) return false;
    uint32_t depth = 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\') i++;
        } else if (c == '{' || c == '[') {
            if (++depth > max) return true;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return false;
}

/* Parses s[0..len) as exactly one JSON value (whitespace around it allowed).
 * On JSON_INVALID *pos is the 0-based offset near the error, on
 * JSON_CONTROL that of the control character. */
static cJSON *parse_json(const char *s, size_t len, uint32_t max_depth, bool want_object, json_status *st,
                         size_t *pos) {
    *pos = 0;
    if (too_deep(s, len, max_depth)) {
        *st = JSON_TOO_DEEP;
        return NULL;
    }
    size_t end = 0;
    /* sd_json_parse_prefix stops after the value (an in-place line has no NUL
     * after it); trailing text is checked below. */
    int control = -1;
    cJSON *root = sd_json_parse_prefix_control(s, len, 0, &end, &control);
    if (!root) {
        *st = control >= 0 ? JSON_CONTROL : JSON_INVALID;
        *pos = end;
        return NULL;
    }
    for (const char *p = s + end; p < s + len; p++) {
        if (!is_ws(*p)) {
            cJSON_Delete(root);
            *st = JSON_INVALID;
            *pos = (size_t)(p - s);
            return NULL;
        }
    }
    if (want_object && !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *st = JSON_NOT_OBJECT;
        return NULL;
    }
    *st = JSON_OK;
    return root;
}

cJSON *sd_decode_json_object(const char *s, size_t len, uint32_t max_depth, const char **err) {
    /* *err must outlive the call and there is no state to hold a formatted
     * message, so the reasons are fixed strings without numbers. */
    static const char *const reasons[] = {NULL, "invalid JSON", "not a JSON object", "nested too deeply",
                                          "control character in a string (it must be escaped)"};
    json_status st = JSON_INVALID;
    size_t pos;
    cJSON *root = NULL;
    if (s && len > 0) root = parse_json(s, len, max_depth ? max_depth : LIMIT_JSON_DEPTH_DEFAULT, true, &st, &pos);
    if (!root && err) *err = reasons[st];
    return root;
}

/* ---- one event's way out ------------------------------------------------- */

static aws_limits aws_limits_of(decoder *d) {
    return (aws_limits){.max_event = d->max_event,
                        .max_depth = d->max_depth,
                        .max_inflated = d->max_doc,
                        .on_text = d->on_text,
                        .text = &d->text};
}

/* Parses and emits one unit; malformed ones are reported and skipped. */
static int decode_parsed(decoder *d, const char *s, size_t len, const char *unit, uint64_t where, dec_format kind,
                         const decode_sink *sink) {
    json_status st;
    size_t pos;
    cJSON *ev = parse_json(s, len, d->max_depth, true, &st, &pos);
    switch (st) {
    case JSON_OK: break;
    case JSON_INVALID:
        sd_decode_report(sink, where, "%s %llu: invalid JSON near byte %zu", unit, (unsigned long long)where, pos + 1);
        return 0;
    case JSON_NOT_OBJECT:
        sd_decode_report(sink, where, "%s %llu: not a JSON object", unit, (unsigned long long)where);
        return 0;
    case JSON_TOO_DEEP:
        sd_decode_report(sink, where, "%s %llu: nested deeper than %u", unit, (unsigned long long)where, d->max_depth);
        return 0;
    case JSON_CONTROL:
        sd_decode_report(sink, where, "%s %llu: " CONTROL_FMT, unit, (unsigned long long)where, CONTROL_ARGS(s, pos));
        return 0;
    }
    if (kind != DEC_AUTO) {
        aws_limits lim = aws_limits_of(d);
        int arc = kind == DEC_PUBSUB || kind == DEC_GWS_ACTIVITY ? sd_google_emit(kind, ev, unit, where, &lim, sink)
                                                                 : sd_aws_emit(kind, ev, unit, where, &lim, sink);
        return arc ? sd_decode_halt(d, arc) : 0;
    }
    int rc = sink && sink->on_event ? sink->on_event(sink->user, ev, where) : 0;
    cJSON_Delete(ev);
    return rc ? sd_decode_halt(d, rc) : 0;
}

int sd_decode_unit(decoder *d, const char *s, size_t len, const char *unit, uint64_t where, dec_format kind,
                   const decode_sink *sink) {
    if (d->on_text && sink) {
        int rc = DECODE_TEXT_DECLINED;
        if (kind == DEC_EVENTBRIDGE) {
            aws_limits lim = aws_limits_of(d);
            rc = sd_aws_eventbridge_text(s, len, where, &lim, sink);
        } else if (kind == DEC_AUTO) {
            rc = d->on_text(sink->user, s, len, where, 0);
        }
        if (rc != DECODE_TEXT_DECLINED) return rc ? sd_decode_halt(d, rc) : 0;
    }
    return decode_parsed(d, s, len, unit, where, kind, sink);
}

/* ---- JSON lines -------------------------------------------------------- */

void sd_decoder_set_on_text(decoder *d, decode_text_fn on_text) {
    if (d) d->on_text = on_text;
}

static void line_too_long(decoder *d, uint64_t line, const decode_sink *sink) {
    sd_decode_report(sink, line, "line %llu: longer than %zu bytes", (unsigned long long)line, d->max_event);
}

/* One complete line, without its '\n'. */
static int jsonl_line(decoder *d, const char *s, size_t len, const decode_sink *sink) {
    uint64_t line = ++d->line;
    if (len > 0 && s[len - 1] == '\r') len--;
    if (len == 0 || is_ws(s[0])) {
        size_t i = 0;
        while (i < len && is_ws(s[i])) i++;
        if (i == len) return 0; /* blank */
    }
    if (len > d->max_event) {
        line_too_long(d, line, sink);
        return 0;
    }
    if (d->want != DEC_AUTO) return sd_decode_unit(d, s, len, "line", line, DEC_AUTO, sink);
    /* In DEC_AUTO a line may be an envelope to unwrap. The receiver's scan
     * of the line tells (it declines a line with an envelope's member) at
     * no extra cost; only such lines, and those it cannot take, are looked
     * at here. */
    if (d->on_text && sink) {
        int rc = d->on_text(sink->user, s, len, line, DECODE_TEXT_MAY_BE_ENVELOPE);
        if (rc != DECODE_TEXT_DECLINED) return rc ? sd_decode_halt(d, rc) : 0;
    }
    dec_format kind = sd_aws_envelope_kind_text(s, len);
    if (kind == DEC_AUTO) kind = sd_google_envelope_kind_text(s, len);
    if (kind == DEC_AUTO) return decode_parsed(d, s, len, "line", line, DEC_AUTO, sink);
    return sd_decode_unit(d, s, len, "line", line, kind, sink);
}

static int jsonl_feed(decoder *d, const char *p, size_t n, const decode_sink *sink) {
    const char *end = p + n;
    /* A buffered line may still end in '\r', hence the one byte of slack. */
    size_t carry_max = d->max_event < SIZE_MAX ? d->max_event + 1 : SIZE_MAX;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (d->skipping) {
            if (!nl) return 0;
            d->skipping = false;
            d->line++;
            p = nl + 1;
            continue;
        }
        size_t part = (size_t)((nl ? nl : end) - p);
        if (d->carry.len + part > carry_max) {
            line_too_long(d, d->line + 1, sink);
            sd_buf_reset(&d->carry);
            d->skipping = true;
            continue; /* the skipping branch finds the same '\n', or waits for it */
        }
        if (!nl) {
            sd_buf_append(&d->carry, p, part);
            return d->carry.oom ? sd_decode_halt(d, -1) : 0;
        }
        int rc;
        if (d->carry.len) {
            sd_buf_append(&d->carry, p, part);
            if (d->carry.oom) return sd_decode_halt(d, -1);
            rc = jsonl_line(d, d->carry.data, d->carry.len, sink);
            sd_buf_reset(&d->carry);
        } else {
            rc = jsonl_line(d, p, part, sink); /* in place: the common case */
        }
        if (rc) return rc;
        p = nl + 1;
    }
    return 0;
}

static int jsonl_end(decoder *d, const decode_sink *sink) {
    if (d->skipping || d->carry.len == 0) return 0;
    return jsonl_line(d, d->carry.data, d->carry.len, sink);
}

static size_t skip_ws(const char *s, size_t n, size_t i) {
    while (i < n && is_ws(s[i])) i++;
    return i;
}

/* ---- format detection -------------------------------------------------- */

/* Is s[i..n) the start of the JSON string `key` (quotes included)? 1 yes,
 * 0 no, -1 too few bytes to tell. */
static int key_at(const char *s, size_t n, size_t i, const char *key) {
    for (size_t k = 0; key[k]; k++, i++) {
        if (i == n) return -1;
        if (s[i] != key[k]) return 0;
    }
    return 1;
}

/* The format from a stream's first bytes (by the first key of a JSON
 * object); DEC_AUTO if too few. */
static dec_format sniff(const char *s, size_t n) {
    static const struct {
        const char *key;
        dec_format fmt;
    } firsts[] = {
        {"\"Records\"", DEC_CLOUDTRAIL},
        {"\"awslogs\"", DEC_CLOUDWATCH_LOGS},
        {"\"messageType\"", DEC_CLOUDWATCH_LOGS},
    };
    size_t i = skip_ws(s, n, 0);
    if (n - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0)
        i = skip_ws(s, n, i + 3);
    else if (n - i < 3 && memcmp(s + i, "\xEF\xBB\xBF", n - i) == 0 && i < n)
        return DEC_AUTO;
    if (i == n) return DEC_AUTO;
    if (s[i] != '{') return DEC_JSONL;
    i = skip_ws(s, n, i + 1);
    bool undecided = false;
    for (size_t k = 0; k < sizeof firsts / sizeof firsts[0]; k++) {
        int at = key_at(s, n, i, firsts[k].key);
        if (at == 1) return firsts[k].fmt;
        if (at < 0) undecided = true;
    }
    return undecided ? DEC_AUTO : DEC_JSONL;
}

/* The format from the first bytes; a prefix longer than one event that still
 * cannot tell is JSON lines. Only the first max_event+1 bytes are looked at,
 * so the answer does not depend on how the bytes were split into feeds. */
static dec_format decide(const decoder *d, const char *s, size_t n) {
    size_t window = d->max_event < SIZE_MAX ? d->max_event + 1 : SIZE_MAX;
    dec_format f = sniff(s, n < window ? n : window);
    return f == DEC_AUTO && n >= window ? DEC_JSONL : f;
}

static int format_feed(decoder *d, const char *p, size_t n, const decode_sink *sink) {
    if (d->fmt == DEC_JSONL) return jsonl_feed(d, p, n, sink);
    if (d->fmt == DEC_CLOUDTRAIL || d->fmt == DEC_CLOUDWATCH_LOGS || d->fmt == DEC_EVENTBRIDGE)
        return sd_doc_feed(d, p, n, sink);

    if (d->carry.len == 0) { /* decide on the bytes given, without a copy */
        d->fmt = decide(d, p, n);
        if (d->fmt != DEC_AUTO) return format_feed(d, p, n, sink);
    }
    sd_buf_append(&d->carry, p, n);
    if (d->carry.oom) return sd_decode_halt(d, -1);
    d->fmt = decide(d, d->carry.data, d->carry.len);
    if (d->fmt == DEC_AUTO) return 0;
    buf held = d->carry; /* replay the held bytes into the chosen format */
    sd_buf_init(&d->carry);
    int rc = format_feed(d, held.data, held.len, sink);
    sd_buf_free(&held);
    return rc;
}

static int format_end(decoder *d, const decode_sink *sink) {
    if (d->fmt == DEC_AUTO) {
        if (skip_ws(d->carry.data, d->carry.len, 0) == d->carry.len) return 0;
        buf held = d->carry;
        sd_buf_init(&d->carry);
        d->fmt = DEC_JSONL; /* too short to be a CloudTrail document */
        int rc = jsonl_feed(d, held.data, held.len, sink);
        sd_buf_free(&held);
        if (rc) return rc;
    }
    if (d->fmt == DEC_JSONL) return jsonl_end(d, sink);
    return sd_doc_end(d, sink);
}

/* ---- gzip -------------------------------------------------------------- */

static int gz_fail(decoder *d, const char *why, const decode_sink *sink) {
    sd_decode_report(sink, 0, "gzip: %s", why);
    d->gz = GZ_FAILED;
    return 0;
}

static int gz_feed(decoder *d, const unsigned char *p, size_t n, const decode_sink *sink) {
    if (!d->zs_ready) {
        d->zout = malloc(INFLATE_CHUNK);
        memset(&d->zs, 0, sizeof d->zs);
        if (!d->zout || inflateInit2(&d->zs, 16 + MAX_WBITS) != Z_OK) {
            free(d->zout);
            d->zout = NULL;
            return sd_decode_halt(d, -1);
        }
        d->zs_ready = true;
    }
    while (n > 0) {
        /* zlib counts in uInt; feed huge buffers in slices */
        uInt slice = n > (size_t)UINT32_MAX ? UINT32_MAX : (uInt)n;
        d->zs.next_in = (unsigned char *)(uintptr_t)p;
        d->zs.avail_in = slice;
        p += slice;
        n -= slice;
        for (;;) {
            if (d->member_done) { /* concatenated members: gzip -c a b > ab */
                if (d->zs.avail_in == 0) break;
                inflateReset(&d->zs);
                d->member_done = false;
            }
            d->zs.next_out = d->zout;
            d->zs.avail_out = INFLATE_CHUNK;
            uInt before = d->zs.avail_in;
            int zr = inflate(&d->zs, Z_NO_FLUSH);
            size_t got = INFLATE_CHUNK - d->zs.avail_out;
            if (before != d->zs.avail_in) d->member_open = true;
            if (zr == Z_STREAM_END) {
                d->member_done = true;
                d->member_open = false;
            } else if (zr == Z_MEM_ERROR) {
                return sd_decode_halt(d, -1);
            } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
                return gz_fail(d, d->zs.msg ? d->zs.msg : "corrupt data", sink);
            }
            if (got) {
                int rc = format_feed(d, (const char *)d->zout, got, sink);
                if (rc) return rc;
            }
            /* Done with this input once it is used up and inflate had room to spare. */
            if (zr != Z_STREAM_END && d->zs.avail_out != 0 && (d->zs.avail_in == 0 || zr == Z_BUF_ERROR)) break;
        }
    }
    return 0;
}

static int gz_layer(decoder *d, const unsigned char *p, size_t n, const decode_sink *sink) {
    if (d->gz == GZ_UNDECIDED) {
        unsigned char b0 = d->have_first_byte ? d->first_byte : p[0];
        const unsigned char *second = d->have_first_byte ? p : n > 1 ? p + 1 : NULL;
        if (!second) { /* one byte so far */
            if (b0 != 0x1f) {
                d->gz = GZ_PLAIN;
            } else {
                d->have_first_byte = true;
                d->first_byte = b0;
                return 0;
            }
        } else {
            d->gz = b0 == 0x1f && *second == 0x8b ? GZ_INFLATE : GZ_PLAIN;
        }
        if (d->have_first_byte) {
            d->have_first_byte = false;
            int rc = d->gz == GZ_INFLATE ? gz_feed(d, &d->first_byte, 1, sink)
                                         : format_feed(d, (const char *)&d->first_byte, 1, sink);
            if (rc) return rc;
        }
    }
    switch (d->gz) {
    case GZ_PLAIN: return format_feed(d, (const char *)p, n, sink);
    case GZ_INFLATE: return gz_feed(d, p, n, sink);
    default: return 0; /* failed: the rest of the stream is unreadable */
    }
}

/* ---- public ------------------------------------------------------------ */

decoder *sd_decoder_new(dec_format fmt, const decode_limits *lim) {
    if (fmt != DEC_AUTO && fmt != DEC_JSONL && fmt != DEC_CLOUDTRAIL && fmt != DEC_CLOUDWATCH_LOGS &&
        fmt != DEC_EVENTBRIDGE)
        return NULL;
    decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->want = d->fmt = fmt;
    d->max_event = lim && lim->max_event_bytes ? lim->max_event_bytes : DEFAULT_MAX_EVENT_BYTES;
    d->max_depth = lim && lim->max_depth ? lim->max_depth : LIMIT_JSON_DEPTH_DEFAULT;
    d->max_doc =
        d->max_event > SIZE_MAX / LIMIT_DOCUMENT_EVENT_FACTOR ? SIZE_MAX : d->max_event * LIMIT_DOCUMENT_EVENT_FACTOR;
    sd_buf_init(&d->carry);
    sd_buf_init(&d->text);
    sd_doc_reset(d);
    return d;
}

void sd_decoder_free(decoder *d) {
    if (!d) return;
    if (d->zs_ready) inflateEnd(&d->zs);
    free(d->zout);
    sd_buf_free(&d->carry);
    sd_buf_free(&d->text);
    free(d);
}

static void start_stream(decoder *d) {
    d->fresh = false;
    d->fmt = d->want;
}

struct dec_emit {
    decoder *d;
    const decode_sink *sink;
};

static int custom_call(decoder *d, const void *bytes, size_t len, int end, const decode_sink *sink) {
    dec_emit em = {.d = d, .sink = sink};
    int rc = d->custom(d->custom_user, bytes, len, end, &em);
    return rc ? sd_decode_halt(d, rc) : 0;
}

int sd_decoder_feed(decoder *d, const void *bytes, size_t len, const decode_sink *sink) {
    if (!d) return -1;
    if (d->fresh) start_stream(d);
    if (d->stop) return d->stop;
    if (len == 0 || !bytes) return 0;
    if (d->want == DEC_CUSTOM) return custom_call(d, bytes, len, 0, sink);
    return gz_layer(d, bytes, len, sink);
}

int sd_decoder_end(decoder *d, const decode_sink *sink) {
    if (!d) return -1;
    if (d->fresh) start_stream(d);
    int rc = d->stop;
    if (!rc && d->want == DEC_CUSTOM) rc = custom_call(d, NULL, 0, 1, sink);
    if (!rc && d->have_first_byte) { /* a lone first byte: not gzip */
        d->have_first_byte = false;
        d->gz = GZ_PLAIN;
        rc = format_feed(d, (const char *)&d->first_byte, 1, sink);
    }
    if (!rc && d->gz == GZ_INFLATE && d->member_open) gz_fail(d, "unexpected end of data", sink);
    if (!rc) rc = format_end(d, sink);

    /* Reset for the next stream; the format stays visible until it starts. */
    d->stop = 0;
    d->fresh = true;
    d->line = 0;
    d->skipping = false;
    sd_doc_reset(d);
    if (d->carry.cap > CARRY_KEEP_BYTES)
        sd_buf_free(&d->carry);
    else
        sd_buf_reset(&d->carry);
    if (d->carry.oom) sd_buf_free(&d->carry);
    if (d->text.cap > CARRY_KEEP_BYTES || d->text.oom) sd_buf_free(&d->text);
    d->gz = GZ_UNDECIDED;
    d->have_first_byte = d->member_open = d->member_done = false;
    if (d->zs_ready) inflateReset(&d->zs);
    return rc;
}

dec_format sd_decoder_format(const decoder *d) { return d ? d->fmt : DEC_AUTO; }

/* ---- custom formats ----------------------------------------------------- */

decoder *sd_decoder_new_custom(dec_custom_fn fn, void *user, const decode_limits *lim) {
    if (!fn) return NULL;
    decoder *d = sd_decoder_new(DEC_JSONL, lim);
    if (!d) return NULL;
    d->want = d->fmt = DEC_CUSTOM;
    d->custom = fn;
    d->custom_user = user;
    return d;
}

int sd_decoder_emit(dec_emit *em, const char *json, size_t len) {
    if (!em) return -1;
    decoder *d = em->d;
    if (d->stop) return d->stop;
    uint64_t where = ++d->line;
    if (len > d->max_event) {
        sd_decode_report(em->sink, where, "event %llu: longer than %zu bytes", (unsigned long long)where, d->max_event);
        return 1;
    }
    if (d->on_text && em->sink && json && len) {
        int rc = d->on_text(em->sink->user, json, len, where, 0);
        if (rc != DECODE_TEXT_DECLINED) return rc ? sd_decode_halt(d, rc) : 0;
    }
    json_status st = JSON_INVALID;
    size_t pos = 0;
    cJSON *ev = json && len ? parse_json(json, len, d->max_depth, true, &st, &pos) : NULL;
    if (!ev) {
        if (st == JSON_NOT_OBJECT)
            sd_decode_report(em->sink, where, "event %llu: not a JSON object", (unsigned long long)where);
        else if (st == JSON_TOO_DEEP)
            sd_decode_report(em->sink, where, "event %llu: nested deeper than %u", (unsigned long long)where,
                             d->max_depth);
        else if (st == JSON_CONTROL)
            sd_decode_report(em->sink, where, "event %llu: " CONTROL_FMT, (unsigned long long)where,
                             CONTROL_ARGS(json, pos));
        else
            sd_decode_report(em->sink, where, "event %llu: invalid JSON near byte %zu", (unsigned long long)where,
                             pos + 1);
        return 1;
    }
    int rc = em->sink && em->sink->on_event ? em->sink->on_event(em->sink->user, ev, where) : 0;
    cJSON_Delete(ev);
    return rc ? sd_decode_halt(d, rc) : 0;
}

void sd_decoder_emit_error(dec_emit *em, uint64_t where, const char *message) {
    if (em) sd_decode_report(em->sink, where, "%s", message ? message : "malformed input");
}
