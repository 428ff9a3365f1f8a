/* decode_aws.h — AWS envelopes: CloudWatch Logs subscription payloads and
 * EventBridge events, unwrapped into the events rules see.
 *
 * Used by decode.c for the DEC_CLOUDWATCH_LOGS and DEC_EVENTBRIDGE formats
 * (and by DEC_AUTO, which recognises the envelopes); not a public interface.
 *
 *  - CloudWatch Logs: {"awslogs": {"data": base64(gzip(JSON))}} or the JSON
 *    it decodes to, {"messageType": "DATA_MESSAGE", "logGroup": ...,
 *    "logEvents": [{"id", "timestamp", "message"}, ...]}. Each
 *    logEvents[].message is one event (itself a JSON object), with member
 *    "_cloudwatch" added: {logGroup, logStream, owner, subscriptionFilters,
 *    id, timestamp, time} where time is the log event's timestamp in RFC 3339.
 *    A CONTROL_MESSAGE payload yields nothing and is not an error.
 *  - EventBridge: {"version", "id", "detail-type", "source", "account",
 *    "time", "region", "resources", "detail": {...}}. The event is `detail`,
 *    with member "_eventbridge" added: the envelope without `detail`.
 *  In both, an event that already has that member keeps its own.
 *
 * Each event goes to the decoder's on_text as text when it has one: the
 * text is written out with the member added (no tree is built), and only
 * what on_text declines is built as a cJSON tree for on_event, so both ways
 * give the same event.
 */
#ifndef SECDET_EVENT_DECODE_AWS_H
#define SECDET_EVENT_DECODE_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/decode.h"
#include "util/limits.h"

typedef struct cJSON cJSON;

struct buf;

typedef struct aws_limits {
    size_t max_event; /* largest message (CloudWatch) or event document (EventBridge) */
    uint32_t max_depth;
    size_t max_inflated; /* ceiling on a decompressed CloudWatch payload (the document limit) */
    /* The decoder's on_text (NULL: every event is a tree for on_event), and
     * a buffer to write the events' texts in. */
    decode_text_fn on_text;
    struct buf *text;
} aws_limits;

/* What one CloudWatch Logs payload (awslogs.data) may decompress to:
 * LIMIT_AWS_PAYLOAD_EVENT_FACTOR x max_event, at least AWS_PAYLOAD_FLOOR, never
 * more than max_inflated. Past it the payload is malformed, reported and
 * skipped, before its JSON is parsed.
 *
 * Why these numbers: what AWS puts in one payload comes from PutLogEvents
 * batches, at most 1 MiB of messages (and 26 bytes per event, at most
 * 10 000 events); as JSON that is at most ~7 MiB even when escaping makes
 * every message 6 times longer (control characters as \u00XX), usually
 * under 2 MiB. A payload is held whole, with cJSON's tree of it, so before
 * this cap (64 x max_event, the document limit) a gzip bomb of ~90 KB in
 * base64 cost 64 MiB and the tree besides; now one costs at most 8 MiB
 * (with the default 1 MiB max_event) and the tree. */
#define AWS_PAYLOAD_FLOOR ((size_t)8 << 20)
size_t sd_aws_payload_cap(const aws_limits *lim);

/* Decodes standard base64 (padding required, no line breaks) into out
 * (NUL-terminated after its len). false when invalid or out of memory. */
bool sd_decode_base64(const char *s, size_t n, struct buf *out);

/* The envelope that the JSON text s[0..n) is, by its top-level members (the
 * first of each name, as cJSON finds them): DEC_CLOUDWATCH_LOGS ("awslogs"
 * an object, or "messageType" with "logEvents" an array), DEC_EVENTBRIDGE
 * ("detail-type" a string, with "detail"), else DEC_AUTO (none, or not an
 * object). Every such envelope has a member named in
 * sd_decode_envelope_markers (decode.h). */
dec_format sd_aws_envelope_kind_text(const char *s, size_t n);

/*
 * The event of the EventBridge envelope s[0..n) to lim->on_text as text:
 * detail's text with "_eventbridge" (the rest of the envelope's text)
 * added. Returns what on_text returned (0 taken, or a stop value), or
 * DECODE_TEXT_DECLINED when it was declined or the text cannot be made (not
 * framed as an envelope whose detail is an object, nested deeper than
 * lim->max_depth): then nothing was emitted, and the envelope is to be
 * parsed and handed to sd_aws_emit, which says what is wrong with it.
 */
int sd_aws_eventbridge_text(const char *s, size_t n, uint64_t where, const aws_limits *lim, const decode_sink *sink);

/*
 * Emits the events inside one envelope document of format `fmt`. Takes
 * `root` (freed here). `doc` is the document's 1-based number in the stream,
 * `unit` what it is called in messages ("document 2: ...", "line 7: ..."). Errors: an envelope of the wrong
 * shape, bad base64, a corrupt or truncated gzip stream, a message that is
 * not a JSON object are reported (where: the document number, or for a
 * logEvents entry its 1-based index) and skipped. A CloudWatch Logs
 * message goes to lim->on_text as text first (with "_cloudwatch" added).
 * Returns 0, the sink's non-zero stop value, or -1 when out of memory.
 */
int sd_aws_emit(dec_format fmt, cJSON *root, const char *unit, uint64_t doc, const aws_limits *lim,
                const decode_sink *sink);

#endif
