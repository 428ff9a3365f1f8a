/* decode_doc.c — streams of JSON documents: CloudTrail log files (and bare
 * records), CloudWatch Logs payloads, EventBridge events.
 *
 * A stream is a sequence of documents: one, several one after the other as
 * `cat` or Firehose make them, one per line. Each is crossed once, as the
 * bytes arrive, with span.h's framer; nothing is parsed whole.
 *
 * CloudTrail: the top-level object's members are read here; the elements
 * of the first "Records" array are cut out one by one and each handed on
 * (sd_decode_unit: to on_text, the scanner, as text) as soon as its closing
 * bracket arrives. So memory holds one record and the carry of a feed, not
 * a log file, and a stream of any length can be read. A document without a
 * "Records" member is itself one record (JSON lines of records); it is
 * kept until its end, or until Records shows it is a log file. Members other
 * than Records are crossed by their brackets and quotes, not validated.
 * Framing that breaks — a missing ',' or ':', a key that is not a string,
 * the stream ending inside a document — ends the stream: nothing after it
 * can be told apart reliably. It is reported once, with the document's
 * number and the byte within it; the records before it were handed on.
 *
 * CloudWatch Logs and EventBridge: each document is kept whole (up to the
 * size limit) until its end, then unwrapped (decode_aws.c). A document that
 * is not JSON is reported and the next one is read.
 *
 * Record numbers ("record N") and document numbers run through the stream.
 */
#include <string.h>

#include "event/decode_aws.h"
#include "event/decode_int.h"

enum {
    DS_BETWEEN,      /* between documents */
    DS_KEY_OR_END,   /* CloudTrail: after the document's '{' */
    DS_KEY_NEXT,     /* after ',' between members */
    DS_KEY,          /* in a key */
    DS_KEY_ESCAPE,   /* after a backslash in a key */
    DS_COLON,        /* after a key */
    DS_VALUE,        /* before a member's value */
    DS_SKIP,         /* in a member's value other than Records */
    DS_AFTER_MEMBER, /* after a member's value */
    DS_ELEM_FIRST,   /* after Records' '[' */
    DS_ELEM_NEXT,    /* after ',' between records */
    DS_ELEM,         /* in a record */
    DS_AFTER_ELEM,   /* after a record */
    DS_SKIP_DOC,     /* in a document that is not an object */
    DS_DOC,          /* CloudWatch Logs, EventBridge: in a document */
    DS_DEAD,         /* after broken framing: the rest of the stream is ignored */
};

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

void sd_doc_reset(decoder *d) {
    memset(&d->ds, 0, sizeof d->ds);
    d->ds.state = DS_BETWEEN;
}

/* ---- the unit being kept --------------------------------------------------- */

static void keep_start(decoder *d, size_t at, size_t limit) {
    doc_stream *ds = &d->ds;
    ds->capturing = true;
    ds->overflow = false;
    ds->cap_from = at;
    ds->cap_limit = limit;
    sd_buf_reset(&d->carry);
}

/* At the end of a feed: what it gave of the unit waits in d->carry. */
static int keep_rest(decoder *d, const char *p, size_t n) {
    doc_stream *ds = &d->ds;
    if (!ds->capturing) return 0;
    size_t add = n - ds->cap_from;
    ds->cap_from = 0;
    if (ds->overflow) return 0;
    if (add > ds->cap_limit - d->carry.len) {
        ds->overflow = true;
        sd_buf_reset(&d->carry);
        return 0;
    }
    sd_buf_append(&d->carry, p + n - add, add);
    return d->carry.oom ? -1 : 0;
}

/* The unit ended before p[end]: its text (in place when it lies in this
 * feed), or NULL when it outgrew the limit (*oom set when memory ran out). */
static const char *keep_take(decoder *d, const char *p, size_t end, size_t *len, bool *oom) {
    doc_stream *ds = &d->ds;
    size_t add = end - ds->cap_from;
    ds->capturing = false;
    *oom = false;
    if (ds->overflow || add > ds->cap_limit - d->carry.len) return NULL;
    if (d->carry.len == 0) {
        *len = add;
        return p ? p + ds->cap_from : "";
    }
    if (add) sd_buf_append(&d->carry, p + ds->cap_from, add);
    *oom = d->carry.oom;
    *len = d->carry.len;
    return *oom ? NULL : d->carry.data;
}

/* ---- errors ------------------------------------------------------------------ */

/* Framing broke at p[at]: reported, and the rest of the stream is ignored. */
static void report_broken(decoder *d, size_t at, const decode_sink *sink) {
    doc_stream *ds = &d->ds;
    sd_decode_report(sink, 0, "document %llu: invalid JSON near byte %llu; the rest of the stream is skipped",
                     (unsigned long long)ds->doc, (unsigned long long)(ds->pos + at - ds->doc_start + 1));
    ds->state = DS_DEAD;
    ds->capturing = false;
}

/* A byte that cannot start a document (or a value). */
static bool is_delimiter(unsigned char c) { return c == ',' || c == ':' || c == ']' || c == '}'; }

/* Between documents: 0 the byte was whitespace or part of a byte order mark
 * (consumed), 1 a document starts with it (ds->doc counts it), -1 broken
 * (reported). */
static int between(decoder *d, const char *p, size_t i, const decode_sink *sink) {
    doc_stream *ds = &d->ds;
    unsigned char c = (unsigned char)p[i];
    if (ds->bom || c == BOM[0]) {
        if (c == BOM[ds->bom]) {
            ds->bom = (uint8_t)((ds->bom + 1) % 3);
            return 0;
        }
        ds->bom = 0;
    } else if (span_is_ws(c)) {
        return 0;
    }
    ds->doc++;
    ds->doc_start = ds->pos + i;
    if (is_delimiter(c)) {
        report_broken(d, i, sink);
        return -1;
    }
    return 1;
}

/* ---- CloudTrail ---------------------------------------------------------------- */

static bool key_is_records(const doc_stream *ds) {
    static const char records[] = "Records";
    if (ds->key_len > sizeof ds->key) return false; /* longer than any spelling of it */
    if (!ds->key_escaped) return ds->key_len == sizeof records - 1 && memcmp(ds->key, records, ds->key_len) == 0;
    char token[sizeof ds->key + 2];
    token[0] = '"';
    memcpy(token + 1, ds->key, ds->key_len);
    token[ds->key_len + 1] = '"';
    span_member m = {.key = 0, .key_len = ds->key_len + 2, .key_escaped = true};
    return sd_span_key_is(token, &m, records);
}

static void key_add(doc_stream *ds, const char *p, size_t n) {
    if (ds->key_len > sizeof ds->key) return;
    if (memchr(p, 0, n)) ds->key_escaped = true; /* cJSON's reading of it is not its bytes */
    if (n > sizeof ds->key - ds->key_len) {
        ds->key_len = sizeof ds->key + 1;
        return;
    }
    memcpy(ds->key + ds->key_len, p, n);
    ds->key_len += n;
}

/* One record's text ended before p[end] (or a document without Records). */
static int ct_record(decoder *d, const char *p, size_t end, const decode_sink *sink) {
    uint64_t number = ++d->ds.record;
    size_t len = 0;
    bool oom;
    const char *text = keep_take(d, p, end, &len, &oom);
    if (oom) return sd_decode_halt(d, -1);
    int rc = 0;
    if (!text)
        sd_decode_report(sink, number, "record %llu: longer than %zu bytes", (unsigned long long)number, d->max_event);
    else
        rc = sd_decode_unit(d, text, len, "record", number, DEC_AUTO, sink);
    sd_buf_reset(&d->carry);
    return rc;
}

/* The document's '}' is p[end - 1]. */
static int ct_document_end(decoder *d, const char *p, size_t end, const decode_sink *sink) {
    doc_stream *ds = &d->ds;
    ds->state = DS_BETWEEN;
    if (ds->capturing) return ct_record(d, p, end, sink); /* no Records: one record */
    if (ds->records_bad)
        sd_decode_report(sink, 0, "document %llu: not a CloudTrail log file: \"Records\" is not an array",
                         (unsigned long long)ds->doc);
    return 0;
}

/* Frames the value starting at p[i]; returns the offset after what it took. */
static size_t frame(doc_stream *ds, const char *p, size_t i, size_t n, int done_state) {
    i += sd_span_frame_run(&ds->frame, p + i, n - i);
    if (ds->frame.mode == SPAN_DONE) ds->state = done_state;
    return i;
}

static int ct_feed(decoder *d, const char *p, size_t n, const decode_sink *sink) {
    doc_stream *ds = &d->ds;
    size_t i = 0;
    int rc = 0;
    while (i < n && rc == 0 && ds->state != DS_DEAD) {
        unsigned char c = (unsigned char)p[i];
        int st = ds->state;
        /* Whitespace between the parts of a document. */
        if (span_is_ws(c) && st != DS_BETWEEN && st != DS_KEY && st != DS_KEY_ESCAPE && st != DS_SKIP &&
            st != DS_ELEM && st != DS_SKIP_DOC) {
            i++;
            continue;
        }
        switch (st) {
        case DS_BETWEEN: {
            int b = between(d, p, i, sink);
            if (b == 0) {
                i++;
            } else if (b > 0 && c == '{') {
                ds->records_seen = ds->records_bad = false;
                keep_start(d, i, d->max_event); /* a record, unless Records comes */
                ds->state = DS_KEY_OR_END;
                i++;
            } else if (b > 0) {
                sd_span_frame_start(&ds->frame);
                ds->state = DS_SKIP_DOC;
            }
            break;
        }
        case DS_SKIP_DOC:
            i = frame(ds, p, i, n, DS_BETWEEN);
            if (ds->state == DS_BETWEEN)
                sd_decode_report(sink, 0, "document %llu: not a JSON object", (unsigned long long)ds->doc);
            break;
        case DS_KEY_OR_END:
        case DS_KEY_NEXT:
            if (c == '"') {
                ds->key_len = 0;
                ds->key_escaped = false;
                ds->state = DS_KEY;
                i++;
            } else if (c == '}' && st == DS_KEY_OR_END) {
                rc = ct_document_end(d, p, ++i, sink);
            } else {
                report_broken(d, i, sink);
            }
            break;
        case DS_KEY: {
            size_t j = i;
            while (j < n && p[j] != '"' && p[j] != '\\') j++;
            key_add(ds, p + i, j - i);
            if (j < n && p[j] == '\\') {
                ds->key_escaped = true;
                key_add(ds, p + j, 1);
                ds->state = DS_KEY_ESCAPE;
                j++;
            } else if (j < n) {
                ds->state = DS_COLON;
                j++;
            }
            i = j;
            break;
        }
        case DS_KEY_ESCAPE:
            key_add(ds, p + i, 1);
            ds->state = DS_KEY;
            i++;
            break;
        case DS_COLON:
            if (c != ':') {
                report_broken(d, i, sink);
                break;
            }
            ds->state = DS_VALUE;
            i++;
            break;
        case DS_VALUE:
            if (is_delimiter(c)) {
                report_broken(d, i, sink);
                break;
            }
            if (!ds->records_seen && key_is_records(ds)) {
                ds->records_seen = true;
                ds->capturing = false; /* a log file, not a record */
                if (c == '[') {
                    ds->state = DS_ELEM_FIRST;
                    i++;
                    break;
                }
                ds->records_bad = true;
            }
            sd_span_frame_start(&ds->frame);
            ds->state = DS_SKIP;
            break;
        case DS_SKIP: i = frame(ds, p, i, n, DS_AFTER_MEMBER); break;
        case DS_AFTER_MEMBER:
            if (c == ',') {
                ds->state = DS_KEY_NEXT;
                i++;
            } else if (c == '}') {
                rc = ct_document_end(d, p, ++i, sink);
            } else {
                report_broken(d, i, sink);
            }
            break;
        case DS_ELEM_FIRST:
        case DS_ELEM_NEXT:
            if (c == ']' && st == DS_ELEM_FIRST) {
                ds->state = DS_AFTER_MEMBER;
                i++;
            } else if (is_delimiter(c)) {
                report_broken(d, i, sink);
            } else {
                keep_start(d, i, d->max_event);
                sd_span_frame_start(&ds->frame);
                ds->state = DS_ELEM;
            }
            break;
        case DS_ELEM:
            i = frame(ds, p, i, n, DS_AFTER_ELEM);
            if (ds->state == DS_AFTER_ELEM) rc = ct_record(d, p, i, sink);
            break;
        case DS_AFTER_ELEM:
            if (c == ',') {
                ds->state = DS_ELEM_NEXT;
                i++;
            } else if (c == ']') {
                ds->state = DS_AFTER_MEMBER;
                i++;
            } else {
                report_broken(d, i, sink);
            }
            break;
        default: i = n; break;
        }
    }
    if (rc) return rc;
    ds->pos += n;
    return keep_rest(d, p, n) ? sd_decode_halt(d, -1) : 0;
}

static int ct_end(decoder *d, const decode_sink *sink) {
    doc_stream *ds = &d->ds;
    if (ds->state == DS_BETWEEN || ds->state == DS_DEAD) return 0;
    if (ds->state == DS_SKIP_DOC) { /* a scalar that ends with the stream */
        sd_decode_report(sink, 0, "document %llu: not a JSON object", (unsigned long long)ds->doc);
        return 0;
    }
    sd_decode_report(sink, 0, "document %llu: unexpected end of data after byte %llu (truncated?)",
                     (unsigned long long)ds->doc, (unsigned long long)(ds->pos - ds->doc_start));
    return 0;
}

/* ---- CloudWatch Logs and EventBridge ----------------------------------------------- */

/* One whole document (or what the stream held of it at its end). */
static int aws_document(decoder *d, const char *s, size_t len, const decode_sink *sink) {
    uint64_t doc = d->ds.doc;
    dec_format kind = d->want == DEC_AUTO ? sd_aws_envelope_kind_text(s, len) : d->fmt;
    if (kind != DEC_CLOUDWATCH_LOGS && len > d->max_event) {
        sd_decode_report(sink, doc, "document %llu: longer than %zu bytes", (unsigned long long)doc, d->max_event);
        return 0;
    }
    return sd_decode_unit(d, s, len, "document", doc, kind, sink);
}

static int aws_kept(decoder *d, const char *p, size_t end, const decode_sink *sink) {
    size_t len = 0;
    bool oom;
    const char *text = keep_take(d, p, end, &len, &oom);
    if (oom) return sd_decode_halt(d, -1);
    int rc = 0;
    unsigned long long doc = d->ds.doc;
    if (text)
        rc = aws_document(d, text, len, sink);
    else if (d->fmt == DEC_EVENTBRIDGE)
        sd_decode_report(sink, doc, "document %llu: longer than %zu bytes", doc, d->max_event);
    else
        sd_decode_report(sink, doc, "document %llu: larger than %zu bytes", doc, d->max_doc);
    sd_buf_reset(&d->carry);
    return rc;
}

static int aws_feed(decoder *d, const char *p, size_t n, const decode_sink *sink) {
    doc_stream *ds = &d->ds;
    size_t i = 0;
    int rc = 0;
    while (i < n && rc == 0 && ds->state != DS_DEAD) {
        if (ds->state == DS_BETWEEN) {
            int b = between(d, p, i, sink);
            if (b == 0) {
                i++;
            } else if (b > 0) {
                /* An EventBridge document past max_event is malformed: no need to keep more. */
                size_t cap = d->fmt == DEC_EVENTBRIDGE && d->max_event < SIZE_MAX ? d->max_event + 1 : d->max_doc;
                keep_start(d, i, cap);
                sd_span_frame_start(&ds->frame);
                ds->state = DS_DOC;
            }
            continue;
        }
        i = frame(ds, p, i, n, DS_BETWEEN);
        if (ds->state == DS_BETWEEN) rc = aws_kept(d, p, i, sink);
    }
    if (rc) return rc;
    ds->pos += n;
    return keep_rest(d, p, n) ? sd_decode_halt(d, -1) : 0;
}

static int aws_end(decoder *d, const decode_sink *sink) {
    if (d->ds.state != DS_DOC) return 0;
    d->ds.state = DS_BETWEEN;
    return aws_kept(d, NULL, 0, sink); /* unfinished: the parse says what is wrong */
}

/* ---- the format's way in ---------------------------------------------------------- */

int sd_doc_feed(decoder *d, const char *p, size_t n, const decode_sink *sink) {
    return d->fmt == DEC_CLOUDTRAIL ? ct_feed(d, p, n, sink) : aws_feed(d, p, n, sink);
}

int sd_doc_end(decoder *d, const decode_sink *sink) {
    return d->fmt == DEC_CLOUDTRAIL ? ct_end(d, sink) : aws_end(d, sink);
}
