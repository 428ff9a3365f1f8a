/* framer.h — cuts a byte stream into messages: lines, or RFC 6587 octet
 * counting ("LEN SP MSG"). No I/O and no event loop: the inputs (TCP
 * connections, stdin, file tails) feed it what they read, and the fuzz
 * target fuzz_framing feeds it arbitrary bytes in arbitrary chunks.
 *
 * Promises:
 *  - Every message handed out is at most `max` bytes (max_event_bytes); a
 *    longer one is reported (FRAMER_OVERSIZED) and dropped as it streams
 *    by: at most max + 1 bytes of it are ever held.
 *  - Where the stream is cut into chunks changes nothing: the same bytes in
 *    one feed or in many give the same messages and the same problems.
 *  - Lines: a message is a line without its '\n' and one trailing '\r';
 *    blank lines (spaces, tabs, '\r') are skipped; at the end of the stream
 *    a last line without '\n' is a message too.
 *  - Octet counting: a count that is not digits then a space breaks the
 *    stream for good (FRAMER_BAD_COUNT; feed returns false from then on,
 *    and hands out nothing more); newlines between frames are allowed; a
 *    stream that ends inside a frame reports FRAMER_PARTIAL.
 */
#ifndef SECDET_IO_FRAMER_H
#define SECDET_IO_FRAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secdet.h"
#include "util/buf.h"

typedef enum {
    FRAMER_OVERSIZED, /* a message longer than max, dropped */
    FRAMER_BAD_COUNT, /* octet counting: not a count; the stream is broken */
    FRAMER_PARTIAL,   /* octet counting: the stream ended inside a frame */
    FRAMER_NOMEM,     /* a message dropped: out of memory */
} framer_problem;

typedef struct framer_out {
    /* One complete message; p is valid during the call only. */
    void (*message)(void *user, const char *p, size_t n);
    /* Something dropped or broken; `text` says what, in words. */
    void (*problem)(void *user, framer_problem what, const char *text);
} framer_out;

typedef enum { OC_LEN, OC_BODY, OC_SKIP } octet_state;

typedef struct framer {
    secdet_framing mode;
    size_t max; /* longest message */
    const framer_out *out;
    void *user;
    buf msg;       /* the message so far */
    bool skipping; /* lines: inside an over-long line, dropped up to '\n' */
    octet_state oc;
    uint64_t oc_len; /* the count being read, then the bytes still expected */
    unsigned oc_digits;
    bool broken; /* octet counting lost sync: the stream cannot go on */
} framer;

void sd_framer_init(framer *f, secdet_framing mode, size_t max, const framer_out *out, void *user);
void sd_framer_free(framer *f);
/* Feeds bytes; complete messages go to out->message before it returns.
 * false when the stream is broken (octet counting). */
bool sd_framer_feed(framer *f, const char *p, size_t n);
/* End of the stream: a last line without '\n' is a message; a partial
 * frame is reported. The framer is then ready for a new stream. */
void sd_framer_end(framer *f);
/* Bytes of an unfinished message held (or a count being read). */
bool sd_framer_holds_partial(const framer *f);

#endif
