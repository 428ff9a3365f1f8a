/* decode_int.h — what decode.c (gzip, format detection, JSON lines, one
 * event's way out) and decode_doc.c (streams of JSON documents: CloudTrail,
 * CloudWatch Logs, EventBridge) share. Not a public interface.
 */
#ifndef SECDET_EVENT_DECODE_INT_H
#define SECDET_EVENT_DECODE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "event/decode.h"
#include "event/span.h"
#include "util/buf.h"

typedef enum { GZ_UNDECIDED, GZ_PLAIN, GZ_INFLATE, GZ_FAILED } gz_state;

/* Where decode_doc.c is in a stream of documents (see there). */
typedef struct doc_stream {
    int state;
    uint64_t doc;       /* documents begun in this stream */
    uint64_t record;    /* CloudTrail records (log files' and bare ones) emitted or reported */
    uint64_t pos;       /* bytes of the stream read so far */
    uint64_t doc_start; /* pos of the current document's first byte */
    span_frame frame;   /* the value being crossed */
    uint8_t bom;        /* bytes of a UTF-8 byte order mark matched */
    /* The unit being kept (d->carry holds what earlier feeds gave of it). */
    bool capturing;
    bool overflow;   /* it outgrew cap_limit: its bytes are no longer kept */
    size_t cap_from; /* where it starts in the current feed (0: in an earlier one) */
    size_t cap_limit;
    /* CloudTrail: the key being read, and what the document showed so far. */
    char key[96];
    size_t key_len;
    bool key_escaped;
    bool records_seen; /* a "Records" member came */
    bool records_bad;  /* ... and it is not an array */
} doc_stream;

struct decoder {
    dec_format want; /* as created */
    dec_format fmt;  /* of the current stream; DEC_AUTO while undecided */
    size_t max_event;
    uint32_t max_depth;
    size_t max_doc;

    int stop;      /* sticky: the sink's stop value, or -1 after OOM */
    bool fresh;    /* sd_decoder_end ran; the next feed starts a new stream */
    uint64_t line; /* lines completed in this stream */
    bool skipping; /* inside an over-long line: drop bytes up to '\n' */
    buf carry;     /* partial line, undecided prefix, or the unit a document stream keeps */
    buf text;      /* events written out for on_text (decode_aws.c's envelopes) */
    doc_stream ds;

    gz_state gz;
    bool have_first_byte; /* a 1-byte first feed that may start the magic */
    unsigned char first_byte;
    bool zs_ready;    /* zs initialised */
    bool member_open; /* inside a gzip member (input consumed, no end yet) */
    bool member_done; /* a member ended: the next input starts another */
    z_stream zs;
    unsigned char *zout;

    decode_text_fn on_text; /* sd_decoder_set_on_text */
    dec_custom_fn custom;   /* DEC_CUSTOM */
    void *custom_user;
};

void sd_decode_report(const decode_sink *sink, uint64_t where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records the stop value (sticky until sd_decoder_end) and returns it. */
int sd_decode_halt(decoder *d, int rc);

/* One unit of the stream — a line, a record, a document — whose text is
 * s[0..len), called `unit` number `where` in messages. `kind` is what it
 * is: DEC_AUTO a plain event, DEC_EVENTBRIDGE or DEC_CLOUDWATCH_LOGS an
 * envelope to unwrap. Goes to on_text when the receiver takes it (an
 * EventBridge envelope as the text of its event), else it is parsed here
 * and handed to on_event, or reported as malformed. Returns 0 or the stop
 * value (sd_decode_halt already applied). */
int sd_decode_unit(decoder *d, const char *s, size_t len, const char *unit, uint64_t where, dec_format kind,
                   const decode_sink *sink);

/* decode_doc.c: DEC_CLOUDTRAIL, DEC_CLOUDWATCH_LOGS and DEC_EVENTBRIDGE
 * streams (d->fmt), fed after the gzip layer. */
int sd_doc_feed(decoder *d, const char *p, size_t n, const decode_sink *sink);
int sd_doc_end(decoder *d, const decode_sink *sink);
void sd_doc_reset(decoder *d);

#endif
