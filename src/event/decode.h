/* decode.h — bytes of a source → JSON events.
 *
 * A decoder turns the bytes pushed to one source into parsed events, one at a
 * time, handed to a callback; malformed input is reported to another callback
 * with its position (1-based line for JSON lines, 1-based record for a
 * CloudTrail document) and skipped — the rest goes on.
 *
 * Formats:
 *  - DEC_JSONL: one JSON object per line (blank lines skipped, \r\n accepted).
 *    A trailing partial line is kept until the next feed or sd_decoder_end.
 *  - DEC_CLOUDTRAIL: a sequence of JSON documents (one, several one after
 *    the other as `cat` makes them, one per line), each a log file
 *    {"Records": [ ... ]} whose elements are events, or one record (an
 *    object without "Records": JSON lines of records). Records are handed
 *    over as each one's text completes, so memory holds one record, not a
 *    file. Broken framing between records ends the stream (reported).
 *  - DEC_CLOUDWATCH_LOGS, DEC_EVENTBRIDGE (decode_aws.h): a sequence of JSON
 *    documents, each an envelope whose events are emitted when the document
 *    completes. An EventBridge document larger than max_event_bytes is
 *    malformed; any document may be at most 64 × max_event_bytes.
 *  - DEC_AUTO: decided by the first non-blank bytes of a stream: a JSON
 *    object whose first key is "Records" is CloudTrail, "awslogs" or
 *    "messageType" CloudWatch Logs, anything else JSON lines; a JSON line
 *    that is an EventBridge or CloudWatch Logs envelope (decode_aws.h) is
 *    unwrapped into its events.
 *  - DEC_CUSTOM (sd_decoder_new_custom): the caller's function decodes the raw
 *    bytes (no gzip layer) and hands each event's JSON text to sd_decoder_emit.
 * Any format: a stream starting with the gzip magic (1f 8b) is inflated
 * (streaming, multi-member) before decoding.
 *
 * Limits: an event (line or record) larger than max_event_bytes, or nested
 * deeper than max_depth, is malformed.
 */
#ifndef SECDET_EVENT_DECODE_H
#define SECDET_EVENT_DECODE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cJSON cJSON;

typedef enum {
    DEC_AUTO = 0,
    DEC_JSONL = 1,
    DEC_CLOUDTRAIL = 2,
    DEC_CLOUDWATCH_LOGS = 3,
    DEC_EVENTBRIDGE = 4,
    DEC_CUSTOM = 5,
    /* Envelopes a JSON line of a DEC_AUTO stream may be (decode_google.h);
     * kinds of a unit, not formats a decoder is made with. */
    DEC_PUBSUB = 6,
    DEC_GWS_ACTIVITY = 7,
} dec_format;

typedef struct decoder decoder;

typedef struct decode_limits {
    size_t max_event_bytes; /* 0 = 1 MiB */
    uint32_t max_depth;     /* 0 = 64 */
} decode_limits;

typedef struct decode_sink {
    /* One event: `event` is a JSON object, borrowed for the call (the decoder
     * frees it after). `where` is its line or record number. Return 0 to go
     * on, non-zero to stop decoding (sd_decoder_feed/end then return it). */
    int (*on_event)(void *user, const cJSON *event, uint64_t where);
    /* One malformed event: where, and a message such as
     * "line 17: invalid JSON at byte 42" or "record 3: not a JSON object". */
    void (*on_error)(void *user, uint64_t where, const char *message);
    void *user;
} decode_sink;

/* Optional: the raw JSON text of each event is handed to on_text(sink->user,
 * ...) instead of being parsed (no cJSON, no depth pre-scan: the receiver
 * validates it). Events with a text of their own are: a JSON line, a
 * CloudTrail record, a plain document among envelopes, and the event of an
 * EventBridge envelope or of a CloudWatch Logs message, written out as text
 * with its "_eventbridge" / "_cloudwatch" member added (decode_aws.h). It
 * returns 0 when it took the text, DECODE_TEXT_DECLINED to have it parsed
 * and handed to on_event (or reported as malformed) as usual, or any other
 * non-zero value to stop (as on_event). A declined text may be handed over
 * again in another form (an envelope's event), never twice the same.
 * `flags`: DECODE_TEXT_MAY_BE_ENVELOPE on a JSON line of a DEC_AUTO stream,
 * which the receiver must decline when its object has a top-level member
 * named in sd_decode_envelope_markers: the decoder then looks at it and
 * unwraps it when it is an envelope. NULL turns it off. */
typedef int (*decode_text_fn)(void *user, const char *text, size_t len, uint64_t where, unsigned flags);
#define DECODE_TEXT_DECLINED        (-0x5EC)
#define DECODE_TEXT_MAY_BE_ENVELOPE 1u
#define DECODE_ENVELOPE_MARKERS     5
extern const char *const sd_decode_envelope_markers[DECODE_ENVELOPE_MARKERS];
void sd_decoder_set_on_text(decoder *d, decode_text_fn on_text);

decoder *sd_decoder_new(dec_format fmt, const decode_limits *lim);
void sd_decoder_free(decoder *d);
/* Feeds bytes; calls the sink for every complete event. Returns 0, or the
 * sink's non-zero stop value, or -1 on OOM. */
int sd_decoder_feed(decoder *d, const void *bytes, size_t len, const decode_sink *sink);
/* End of stream: decodes what is buffered, then resets for a new stream. */
int sd_decoder_end(decoder *d, const decode_sink *sink);
/* The format a DEC_AUTO decoder settled on for the current stream (DEC_AUTO while undecided). */
dec_format sd_decoder_format(const decoder *d);
/* Parses one JSON object (depth-limited). NULL with *err set ("invalid JSON at byte N", "not a JSON object", "nested deeper than 64") on failure. */
cJSON *sd_decode_json_object(const char *s, size_t len, uint32_t max_depth, const char **err);

/* ---- Custom formats ---- */

/* Handed to a custom decode function for the duration of its call. */
typedef struct dec_emit dec_emit;
/* Decodes `len` bytes (end != 0: end of stream, bytes may be NULL). Calls
 * sd_decoder_emit per event. Returns 0, or non-zero to stop (as on_event). */
typedef int (*dec_custom_fn)(void *user, const void *bytes, size_t len, int end, dec_emit *em);
decoder *sd_decoder_new_custom(dec_custom_fn fn, void *user, const decode_limits *lim);
/* One event's JSON text: parsed (depth and size limits), handed to the sink
 * with where = its 1-based number in the stream. Returns 0 when emitted, 1
 * when malformed (reported), or the sink's non-zero stop value (negative
 * values included: -1 is out of memory). */
int sd_decoder_emit(dec_emit *em, const char *json, size_t len);
/* Reports a malformed part of the input (counted like any malformed event). */
void sd_decoder_emit_error(dec_emit *em, uint64_t where, const char *message);

#endif
