/* decode.h — bytes of a source → JSON events.
 *
 * A decoder turns the bytes pushed to one source into parsed events, one at a
 * time, handed to a callback; malformed input is reported to another callback
 * with its position (1-based line for JSON lines, 1-based record for a
 * CloudTrail document) and skipped — the rest goes on.
 *
 * Formats:
 *  - DEC_JSONL: one JSON object per line (blank lines skipped, \r\n accepted).
 *    A trailing partial line is kept until the next feed or decoder_end.
 *  - DEC_CLOUDTRAIL: {"Records": [ ... ]}; bytes are buffered until
 *    decoder_end, then each element of Records is one event.
 *  - DEC_AUTO: decided by the first non-blank bytes of a stream: a JSON
 *    object whose first key is "Records" is CloudTrail, anything else JSON lines.
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

typedef enum { DEC_AUTO = 0, DEC_JSONL = 1, DEC_CLOUDTRAIL = 2 } dec_format;

typedef struct decode_limits {
    size_t max_event_bytes; /* 0 = 16 MiB */
    uint32_t max_depth;     /* 0 = 64 */
} decode_limits;

typedef struct decode_sink {
    /* One event: `event` is a JSON object, borrowed for the call (the decoder
     * frees it after). `where` is its line or record number. Return 0 to go
     * on, non-zero to stop decoding (decoder_feed/end then return it). */
    int (*on_event)(void *user, const cJSON *event, uint64_t where);
    /* One malformed event: where, and a message such as
     * "line 17: invalid JSON at byte 42" or "record 3: not a JSON object". */
    void (*on_error)(void *user, uint64_t where, const char *message);
    void *user;
} decode_sink;

typedef struct decoder decoder;

decoder *decoder_new(dec_format fmt, const decode_limits *lim);
void decoder_free(decoder *d);
/* Feeds bytes; calls the sink for every complete event. Returns 0, or the
 * sink's non-zero stop value, or -1 on OOM. */
int decoder_feed(decoder *d, const void *bytes, size_t len, const decode_sink *sink);
/* End of stream: decodes what is buffered, then resets for a new stream. */
int decoder_end(decoder *d, const decode_sink *sink);
/* The format a DEC_AUTO decoder settled on for the current stream (DEC_AUTO while undecided). */
dec_format decoder_format(const decoder *d);
/* Parses one JSON object (depth-limited). NULL with *err set ("invalid JSON at byte N", "not a JSON object", "nested deeper than 64") on failure. */
cJSON *decode_json_object(const char *s, size_t len, uint32_t max_depth, const char **err);

#endif
