/* decode.c — bytes of a source → JSON events (see decode.h for the contract).
 *
 * Three layers, each seeing the output of the one before:
 *   gzip     a stream that starts with 1f 8b is inflated in streaming mode
 *            (zlib, multi-member); a corrupt or truncated stream is one error.
 *   format   DEC_AUTO buffers the first bytes until they tell JSON lines from
 *            a CloudTrail document, then replays them into the chosen format.
 *   events   JSON lines are parsed one by one, in place when a line lies
 *            inside the bytes given (no copy), else from a carry buffer that
 *            holds the partial line across feeds; a CloudTrail document is
 *            buffered whole and split into its Records at decoder_end.
 *
 * Promises beyond the header:
 *  - Error messages: "line N: invalid JSON near byte K" (K is 1-based within
 *    the line), "line N: control character U+000A in a string at byte K;
 *    it must be escaped" (cJSON would take it), "line N: not a JSON object",
 *    "line N: longer than M bytes", "line N: nested deeper than D",
 *    "record N: ..." likewise for CloudTrail records; document-level errors
 *    (no Records array, invalid JSON, too big, gzip) are reported with
 *    where = 0.
 *  - An over-long line is dropped as it streams by: at most max_event_bytes+1
 *    bytes of it are ever buffered.
 *  - A CloudTrail document may be at most 64 × max_event_bytes (1 GiB with
 *    the default limits); past that the rest of the stream is dropped.
 *  - Depth is checked here before cJSON sees the text, because cJSON's own
 *    nesting limit (1000) is fixed at its compile time.
 *  - When on_event returns non-zero, the rest of the stream is ignored: every
 *    further decoder_feed and the decoder_end return that value; decoder_end
 *    then resets the decoder. Out of memory behaves the same with -1.
 *  - decoder_format keeps reporting a finished stream's format after
 *    decoder_end, until the next stream's first feed.
 *  - CloudWatch Logs and EventBridge streams are buffered like a CloudTrail
 *    document and split into documents at decoder_end (aws_end); the
 *    envelopes themselves are decode_aws.c's.
 *  - With decoder_set_on_text, a DEC_JSONL line (within the size limit) goes
 *    to on_text as text first; only a line it declines is parsed here, so
 *    every error message is still worded here.
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
#include "util/buf.h"
#include "util/json.h"

#define DEFAULT_MAX_EVENT_BYTES ((size_t)1024 * 1024)
#define DEFAULT_MAX_DEPTH 64u
#define DOC_CAP_FACTOR 64          /* a CloudTrail document may hold this many max-size events */
#define INFLATE_CHUNK (64 * 1024)  /* inflated bytes handed on per step */
#define CARRY_KEEP_BYTES (1 << 20) /* carry memory kept across streams */

typedef enum { GZ_UNDECIDED, GZ_PLAIN, GZ_INFLATE, GZ_FAILED } gz_state;

struct decoder {
    dec_format want;   /* as created */
    dec_format fmt;    /* of the current stream; DEC_AUTO while undecided */
    size_t max_event;
    uint32_t max_depth;
    size_t max_doc;

    int stop;          /* sticky: the sink's stop value, or -1 after OOM */
    bool fresh;        /* decoder_end ran; the next feed starts a new stream */
    uint64_t line;     /* lines completed in this stream */
    bool skipping;     /* inside an over-long line: drop bytes up to '\n' */
    bool doc_dropped;  /* CloudTrail document over max_doc: drop the rest */
    buf carry;         /* partial line, undecided prefix, or the whole document */

    gz_state gz;
    bool have_first_byte; /* a 1-byte first feed that may start the magic */
    unsigned char first_byte;
    bool zs_ready;     /* zs initialised */
    bool member_open;  /* inside a gzip member (input consumed, no end yet) */
    bool member_done;  /* a member ended: the next input starts another */
    z_stream zs;
    unsigned char *zout;

    decode_text_fn on_text; /* decoder_set_on_text */
    dec_custom_fn custom; /* DEC_CUSTOM */
    void *custom_user;
};

/* ---- errors ------------------------------------------------------------ */

static void report(const decode_sink *sink, uint64_t where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(const decode_sink *sink, uint64_t where, const char *fmt, ...) {
    if (!sink || !sink->on_error) return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sink->on_error(sink->user, where, msg);
}

static int halt(decoder *d, int rc) {
    d->stop = rc;
    return rc;
}

/* ---- one JSON value ---------------------------------------------------- */

typedef enum { JSON_OK, JSON_INVALID, JSON_NOT_OBJECT, JSON_TOO_DEEP, JSON_CONTROL } json_status;

/* JSON_CONTROL: a raw control character inside a string (the byte at 0-based
 * pos: format with CONTROL_ARGS); cJSON would take it, hiding what follows
 * a NUL from every reader that stops there. */
#define CONTROL_FMT "control character U+%04X in a string at byte %zu; it must be escaped"
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
static cJSON *parse_json(const char *s, size_t len, uint32_t max_depth, bool want_object,
                         json_status *st, size_t *pos) {
    *pos = 0;
    if (too_deep(s, len, max_depth)) {
        *st = JSON_TOO_DEEP;
        return NULL;
    }
    size_t end = 0;
    /* json_parse_prefix stops after the value (an in-place line has no NUL
     * after it); trailing text is checked below. */
    int control = -1;
    cJSON *root = json_parse_prefix_control(s, len, 0, &end, &control);
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

cJSON *decode_json_object(const char *s, size_t len, uint32_t max_depth, const char **err) {
    /* *err must outlive the call and there is no state to hold a formatted
     * message, so the reasons are fixed strings without numbers. */
    static const char *const reasons[] = {NULL, "invalid JSON", "not a JSON object", "nested too deeply",
                                          "control character in a string (it must be escaped)"};
    json_status st = JSON_INVALID;
    size_t pos;
    cJSON *root = NULL;
    if (s && len > 0) root = parse_json(s, len, max_depth ? max_depth : DEFAULT_MAX_DEPTH, true, &st, &pos);
    if (!root && err) *err = reasons[st];
    return root;
}

/* Parses and emits one event; malformed ones are reported and skipped. */
static int emit(decoder *d, const char *s, size_t len, const char *unit, uint64_t where,
                const decode_sink *sink) {
    json_status st;
    size_t pos;
    cJSON *ev = parse_json(s, len, d->max_depth, true, &st, &pos);
    switch (st) {
    case JSON_OK: break;
    case JSON_INVALID:
        report(sink, where, "%s %llu: invalid JSON near byte %zu", unit, (unsigned long long)where, pos + 1);
        return 0;
    case JSON_NOT_OBJECT:
        report(sink, where, "%s %llu: not a JSON object", unit, (unsigned long long)where);
        return 0;
    case JSON_TOO_DEEP:
        report(sink, where, "%s %llu: nested deeper than %u", unit, (unsigned long long)where, d->max_depth);
        return 0;
    case JSON_CONTROL:
        report(sink, where, "%s %llu: " CONTROL_FMT, unit, (unsigned long long)where, CONTROL_ARGS(s, pos));
        return 0;
    }
    if (d->want == DEC_AUTO) {
        dec_format kind = aws_envelope_kind(ev);
        if (kind != DEC_AUTO) {
            aws_limits lim = {.max_event = d->max_event, .max_depth = d->max_depth, .max_inflated = d->max_doc};
            int arc = aws_emit(kind, ev, unit, where, &lim, sink);
            return arc ? halt(d, arc) : 0;
        }
    }
    int rc = sink && sink->on_event ? sink->on_event(sink->user, ev, where) : 0;
    cJSON_Delete(ev);
    return rc ? halt(d, rc) : 0;
}

/* ---- JSON lines -------------------------------------------------------- */

void decoder_set_on_text(decoder *d, decode_text_fn on_text) {
    if (d) d->on_text = on_text;
}

static void line_too_long(decoder *d, uint64_t line, const decode_sink *sink) {
    report(sink, line, "line %llu: longer than %zu bytes", (unsigned long long)line, d->max_event);
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
    /* The receiver scans the text itself; a line it declines (invalid, or
     * a form it leaves to cJSON) is parsed here as any other. */
    if (d->on_text && sink && d->want == DEC_JSONL) {
        int rc = d->on_text(sink->user, s, len, line);
        if (rc != DECODE_TEXT_DECLINED) return rc ? halt(d, rc) : 0;
    }
    return emit(d, s, len, "line", line, sink);
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
            buf_reset(&d->carry);
            d->skipping = true;
            continue; /* the skipping branch finds the same '\n', or waits for it */
        }
        if (!nl) {
            buf_append(&d->carry, p, part);
            return d->carry.oom ? halt(d, -1) : 0;
        }
        int rc;
        if (d->carry.len) {
            buf_append(&d->carry, p, part);
            if (d->carry.oom) return halt(d, -1);
            rc = jsonl_line(d, d->carry.data, d->carry.len, sink);
            buf_reset(&d->carry);
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

/* ---- CloudTrail -------------------------------------------------------- */

static int ct_feed(decoder *d, const char *p, size_t n, const decode_sink *sink) {
    if (d->doc_dropped) return 0;
    if (n > d->max_doc - d->carry.len) {
        report(sink, 0, "%s document larger than %zu bytes",
               d->fmt == DEC_CLOUDTRAIL ? "CloudTrail" : d->fmt == DEC_EVENTBRIDGE ? "EventBridge" : "CloudWatch Logs",
               d->max_doc);
        d->doc_dropped = true;
        buf_free(&d->carry);
        return 0;
    }
    buf_append(&d->carry, p, n);
    return d->carry.oom ? halt(d, -1) : 0;
}

static size_t skip_ws(const char *s, size_t n, size_t i) {
    while (i < n && is_ws(s[i])) i++;
    return i;
}

/* End of the JSON value at s[i], for text cJSON has already accepted (the
 * bounds are still checked so that nothing here can run off the buffer). */
static size_t value_end(const char *s, size_t n, size_t i) {
    uint32_t depth = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\') i++;
            i++;
        } else if (c == '{' || c == '[') {
            depth++;
            i++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return i;
            depth--;
            i++;
        } else if (depth == 0) {
            while (i < n && !is_ws(s[i]) && s[i] != ',' && s[i] != ']' && s[i] != '}') i++;
            return i;
        } else {
            i++;
        }
        if (depth == 0) break;
    }
    return i < n ? i : n;
}

/* Finds the text of root's member number `index` (0-based) and returns the
 * offset of its value; the document is valid JSON (cJSON parsed it). */
static size_t member_value_start(const char *s, size_t n, size_t index) {
    size_t i = skip_ws(s, n, 0);
    if (n - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0) i = skip_ws(s, n, i + 3);
    i++; /* '{' */
    for (size_t k = 0;; k++) {
        i = skip_ws(s, n, i);
        i = value_end(s, n, i); /* the key */
        i = skip_ws(s, n, i) + 1; /* ':' */
        i = skip_ws(s, n, i);
        if (k == index || i >= n) return i;
        i = value_end(s, n, i);
        i = skip_ws(s, n, i) + 1; /* ',' */
    }
}

static int ct_end(decoder *d, const decode_sink *sink) {
    const char *s = d->carry.data;
    size_t n = d->carry.len;
    if (d->doc_dropped || skip_ws(s, n, 0) == n) return 0;

    size_t at = 0;
    int control = -1;
    cJSON *root = json_parse_prefix_control(s, n, 0, &at, &control);
    if (control >= 0) {
        report(sink, 0, "not a CloudTrail document: " CONTROL_FMT, CONTROL_ARGS(s, at));
        return 0;
    }
    if (root) {
        size_t i = skip_ws(s, n, at);
        if (i < n) {
            cJSON_Delete(root);
            root = NULL;
            at = i;
        }
    }
    if (!root) {
        report(sink, 0, "not a CloudTrail document: invalid JSON near byte %zu", at + 1);
        return 0;
    }
    const cJSON *records = cJSON_GetObjectItemCaseSensitive(root, "Records");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(records)) {
        cJSON_Delete(root);
        report(sink, 0, "not a CloudTrail document: no \"Records\" array");
        return 0;
    }
    size_t index = 0;
    for (const cJSON *m = root->child; m != records; m = m->next) index++;

    /* Walk the records' text beside the tree: the text gives each record's
     * size and depth, the tree its parsed value (no second parse). */
    size_t i = member_value_start(s, n, index) + 1; /* past '[' */
    uint64_t number = 0;
    int rc = 0;
    for (const cJSON *rec = records->child; rec && rc == 0; rec = rec->next) {
        number++;
        i = skip_ws(s, n, i);
        if (i >= n) break; /* cannot happen for a document cJSON accepted */
        size_t start = i;
        i = value_end(s, n, i);
        size_t len = i - start;
        i = skip_ws(s, n, i) + 1; /* ',' or ']' */
        if (!cJSON_IsObject(rec)) {
            report(sink, number, "record %llu: not a JSON object", (unsigned long long)number);
        } else if (len > d->max_event) {
            report(sink, number, "record %llu: longer than %zu bytes", (unsigned long long)number, d->max_event);
        } else if (too_deep(s + start, len, d->max_depth)) {
            report(sink, number, "record %llu: nested deeper than %u", (unsigned long long)number, d->max_depth);
        } else if (sink && sink->on_event) {
            rc = sink->on_event(sink->user, rec, number);
        }
    }
    cJSON_Delete(root);
    return rc ? halt(d, rc) : 0;
}

/* ---- CloudWatch Logs and EventBridge -------------------------------------- */

/* The buffered stream as a sequence of JSON documents, each an envelope (in
 * DEC_AUTO, each document is looked at: an envelope is unwrapped, any other
 * object is one event). Invalid JSON ends the stream: nothing after it can
 * be told apart reliably. */
static int aws_end(decoder *d, const decode_sink *sink) {
    const char *s = d->carry.data;
    size_t n = d->carry.len;
    if (d->doc_dropped) return 0;
    size_t i = skip_ws(s, n, 0);
    if (n - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0) i = skip_ws(s, n, i + 3);
    aws_limits lim = {.max_event = d->max_event, .max_depth = d->max_depth, .max_inflated = d->max_doc};
    for (uint64_t doc = 1; i < n; doc++) {
        size_t len = 0; /* the document's length, or where it is invalid */
        int control = -1;
        cJSON *root = json_parse_prefix_control(s + i, n - i, 0, &len, &control);
        if (control >= 0)
            report(sink, doc, "document %llu: " CONTROL_FMT, (unsigned long long)doc, CONTROL_ARGS(s + i, len));
        else if (!root)
            report(sink, doc, "document %llu: invalid JSON near byte %zu", (unsigned long long)doc, len + 1);
        if (!root) return 0;
        dec_format kind = d->fmt;
        if (d->want == DEC_AUTO) kind = aws_envelope_kind(root);
        if (too_deep(s + i, len, d->max_depth)) {
            report(sink, doc, "document %llu: nested deeper than %u", (unsigned long long)doc, d->max_depth);
        } else if (!cJSON_IsObject(root)) {
            report(sink, doc, "document %llu: not a JSON object", (unsigned long long)doc);
        } else if (kind != DEC_CLOUDWATCH_LOGS && len > d->max_event) {
            report(sink, doc, "document %llu: longer than %zu bytes", (unsigned long long)doc, d->max_event);
        } else {
            int rc;
            if (kind == DEC_AUTO) /* a plain event among envelopes */
                rc = sink && sink->on_event ? sink->on_event(sink->user, root, doc) : 0;
            else
                rc = aws_emit(kind, root, "document", doc, &lim, sink), root = NULL;
            if (rc) {
                cJSON_Delete(root);
                return halt(d, rc);
            }
        }
        cJSON_Delete(root);
        i = skip_ws(s, n, i + len);
    }
    return 0;
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
    if (n - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0) i = skip_ws(s, n, i + 3);
    else if (n - i < 3 && memcmp(s + i, "\xEF\xBB\xBF", n - i) == 0 && i < n) return DEC_AUTO;
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
        return ct_feed(d, p, n, sink);

    if (d->carry.len == 0) { /* decide on the bytes given, without a copy */
        d->fmt = decide(d, p, n);
        if (d->fmt != DEC_AUTO) return format_feed(d, p, n, sink);
    }
    buf_append(&d->carry, p, n);
    if (d->carry.oom) return halt(d, -1);
    d->fmt = decide(d, d->carry.data, d->carry.len);
    if (d->fmt == DEC_AUTO) return 0;
    buf held = d->carry; /* replay the held bytes into the chosen format */
    buf_init(&d->carry);
    int rc = format_feed(d, held.data, held.len, sink);
    buf_free(&held);
    return rc;
}

static int format_end(decoder *d, const decode_sink *sink) {
    if (d->fmt == DEC_AUTO) {
        if (skip_ws(d->carry.data, d->carry.len, 0) == d->carry.len) return 0;
        buf held = d->carry;
        buf_init(&d->carry);
        d->fmt = DEC_JSONL; /* too short to be a CloudTrail document */
        int rc = jsonl_feed(d, held.data, held.len, sink);
        buf_free(&held);
        if (rc) return rc;
    }
    if (d->fmt == DEC_JSONL) return jsonl_end(d, sink);
    return d->fmt == DEC_CLOUDTRAIL ? ct_end(d, sink) : aws_end(d, sink);
}

/* ---- gzip -------------------------------------------------------------- */

static int gz_fail(decoder *d, const char *why, const decode_sink *sink) {
    report(sink, 0, "gzip: %s", why);
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
            return halt(d, -1);
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
                return halt(d, -1);
            } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
                return gz_fail(d, d->zs.msg ? d->zs.msg : "corrupt data", sink);
            }
            if (got) {
                int rc = format_feed(d, (const char *)d->zout, got, sink);
                if (rc) return rc;
            }
            /* Done with this input once it is used up and inflate had room to spare. */
            if (zr != Z_STREAM_END && d->zs.avail_out != 0 && (d->zs.avail_in == 0 || zr == Z_BUF_ERROR))
                break;
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

decoder *decoder_new(dec_format fmt, const decode_limits *lim) {
    if (fmt != DEC_AUTO && fmt != DEC_JSONL && fmt != DEC_CLOUDTRAIL && fmt != DEC_CLOUDWATCH_LOGS &&
        fmt != DEC_EVENTBRIDGE)
        return NULL;
    decoder *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->want = d->fmt = fmt;
    d->max_event = lim && lim->max_event_bytes ? lim->max_event_bytes : DEFAULT_MAX_EVENT_BYTES;
    d->max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH;
    d->max_doc = d->max_event > SIZE_MAX / DOC_CAP_FACTOR ? SIZE_MAX : d->max_event * DOC_CAP_FACTOR;
    buf_init(&d->carry);
    return d;
}

void decoder_free(decoder *d) {
    if (!d) return;
    if (d->zs_ready) inflateEnd(&d->zs);
    free(d->zout);
    buf_free(&d->carry);
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
    return rc ? halt(d, rc) : 0;
}

int decoder_feed(decoder *d, const void *bytes, size_t len, const decode_sink *sink) {
    if (!d) return -1;
    if (d->fresh) start_stream(d);
    if (d->stop) return d->stop;
    if (len == 0 || !bytes) return 0;
    if (d->want == DEC_CUSTOM) return custom_call(d, bytes, len, 0, sink);
    return gz_layer(d, bytes, len, sink);
}

int decoder_end(decoder *d, const decode_sink *sink) {
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
    d->skipping = d->doc_dropped = false;
    if (d->carry.cap > CARRY_KEEP_BYTES) buf_free(&d->carry);
    else buf_reset(&d->carry);
    if (d->carry.oom) buf_free(&d->carry);
    d->gz = GZ_UNDECIDED;
    d->have_first_byte = d->member_open = d->member_done = false;
    if (d->zs_ready) inflateReset(&d->zs);
    return rc;
}

dec_format decoder_format(const decoder *d) { return d ? d->fmt : DEC_AUTO; }

/* ---- custom formats ----------------------------------------------------- */

decoder *decoder_new_custom(dec_custom_fn fn, void *user, const decode_limits *lim) {
    if (!fn) return NULL;
    decoder *d = decoder_new(DEC_JSONL, lim);
    if (!d) return NULL;
    d->want = d->fmt = DEC_CUSTOM;
    d->custom = fn;
    d->custom_user = user;
    return d;
}

int decoder_emit(dec_emit *em, const char *json, size_t len) {
    if (!em) return -1;
    decoder *d = em->d;
    if (d->stop) return d->stop;
    uint64_t where = ++d->line;
    if (len > d->max_event) {
        report(em->sink, where, "event %llu: longer than %zu bytes", (unsigned long long)where, d->max_event);
        return 1;
    }
    json_status st = JSON_INVALID;
    size_t pos = 0;
    cJSON *ev = json && len ? parse_json(json, len, d->max_depth, true, &st, &pos) : NULL;
    if (!ev) {
        if (st == JSON_NOT_OBJECT)
            report(em->sink, where, "event %llu: not a JSON object", (unsigned long long)where);
        else if (st == JSON_TOO_DEEP)
            report(em->sink, where, "event %llu: nested deeper than %u", (unsigned long long)where, d->max_depth);
        else if (st == JSON_CONTROL)
            report(em->sink, where, "event %llu: " CONTROL_FMT, (unsigned long long)where, CONTROL_ARGS(json, pos));
        else
            report(em->sink, where, "event %llu: invalid JSON near byte %zu", (unsigned long long)where, pos + 1);
        return 1;
    }
    int rc = em->sink && em->sink->on_event ? em->sink->on_event(em->sink->user, ev, where) : 0;
    cJSON_Delete(ev);
    return rc ? halt(d, rc) : 0;
}

void decoder_emit_error(dec_emit *em, uint64_t where, const char *message) {
    if (em) report(em->sink, where, "%s", message ? message : "malformed input");
}
