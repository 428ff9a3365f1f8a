/* wire.h — the messages on the repartition topic, between stage 1 and
 * stage 2 (docs/scale-out.md, "What travels between the stages"), written
 * and read without librdkafka: a message is its key and a list of headers.
 *
 *   forward:   key   = rule name, NUL, group key bytes
 *              headers secdet-rule, secdet-source, secdet-time (ns, decimal),
 *                      secdet-origin ("topic/partition" it was read from),
 *                      secdet-seq ("offset:index" in that origin)
 *              value = the event's compact JSON (not looked at here)
 *   heartbeat: no key, empty value, headers secdet-watermark (the origin),
 *              secdet-time (ns, or "none"), secdet-idle ("1" at its end, or
 *              "0"), secdet-origins (every origin there is, comma-separated)
 *
 * Reading is strict, since every field steers stage 2's state: decimal
 * numbers without sign, space or overflow (a time may be negative), names
 * without NUL bytes (they become C strings: "a\0b" must not select rule
 * "a"), origins without commas (they are listed comma-separated), and a
 * forward's key must begin with its rule. What sd_kwire_forward_headers and
 * sd_kwire_heartbeat_headers write, sd_kwire_read reads back to the same fields
 * (fuzz/fuzz_repartition.c checks that).
 */
#ifndef SECDET_KAFKA_WIRE_H
#define SECDET_KAFKA_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define KWIRE_ORIGIN_MAX 512 /* longest origin ("topic/partition": a topic has at most 249 bytes) */

typedef struct kwire_header {
    const char *name;
    const char *value;
    size_t len;
} kwire_header;

/* The last header called `name` of message `msg`; false when it has none
 * (a header without a value counts as none). */
typedef bool (*kwire_get_fn)(void *msg, const char *name, const char **value, size_t *len);

typedef enum { KWIRE_BAD, KWIRE_FORWARD, KWIRE_HEARTBEAT } kwire_kind;

/* Fields point into the message read (its headers and key). */
typedef struct kwire_forward {
    const char *rule, *source, *origin, *group;
    size_t rule_len, source_len, origin_len, group_len;
    int64_t time_ns;
    int64_t off;  /* the origin message's offset (>= 0) */
    uint32_t idx; /* the forward's index within it */
} kwire_forward;

typedef struct kwire_heartbeat {
    const char *origin, *origins; /* origins NULL when the header is absent */
    size_t origin_len, origins_len;
    bool any; /* time_ns is known (else the header said "none") */
    int64_t time_ns;
    bool idle;
} kwire_heartbeat;

typedef struct kwire_msg {
    kwire_kind kind;
    kwire_forward f;   /* KWIRE_FORWARD */
    kwire_heartbeat h; /* KWIRE_HEARTBEAT */
} kwire_msg;

/* Reads a message (key may be NULL). KWIRE_BAD with the reason in err
 * ("secdet-seq: expected offset:index", ...). A message with a
 * secdet-watermark header is a heartbeat, any other a forward. */
kwire_kind sd_kwire_read(kwire_get_fn get, void *msg, const void *key, size_t key_len, kwire_msg *out, char *err,
                         size_t errlen);

/* Calls fn for each name of a heartbeat's origins list, in order; false
 * when the list is malformed (an empty name, a NUL byte, a name too long)
 * before calling fn at all. */
bool sd_kwire_origins_each(const char *list, size_t len, void (*fn)(void *user, const char *name, size_t len),
                           void *user);

/* Text a message's numbers are written in (kept by the caller while the
 * headers are used). */
typedef struct kwire_text {
    char time[24];
    char seq[48];
} kwire_text;

/* The headers of a forward (5) and its key (rule, NUL, group) into key. */
size_t sd_kwire_forward_headers(const kwire_forward *f, kwire_text *t, kwire_header h[5]);
void sd_kwire_forward_key(const kwire_forward *f, buf *key);
/* The headers of a heartbeat (4; 3 when origins is NULL). */
size_t sd_kwire_heartbeat_headers(const kwire_heartbeat *b, kwire_text *t, kwire_header h[4]);

#endif
