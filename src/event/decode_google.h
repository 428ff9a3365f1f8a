/* decode_google.h — Google's envelopes: a Pub/Sub push message wrapping a
 * Cloud Logging LogEntry, and an Admin SDK Reports activity whose events[]
 * are the events (LANGUAGE.md Part 2, "Log types").
 *
 * Used by decode.c for the JSON lines of a DEC_AUTO stream, beside the AWS
 * envelopes (decode_aws.h); not a public interface.
 *
 *  - Pub/Sub push: {"message": {"data": base64(JSON), "messageId",
 *    "publishTime", "attributes", ...}, "subscription": "projects/..."}.
 *    The event is the decoded data (a JSON object, e.g. a LogEntry), with
 *    member "_pubsub" added: the message without its data, and the
 *    subscription. An event that already has "_pubsub" keeps its own.
 *  - Reports activity: {"kind": "admin#reports#activity", "id", "actor",
 *    "ipAddress", ..., "events": [{"type", "name", "parameters": [...]}, ...]}.
 *    Each element of events[] is one event: the activity's other members,
 *    then the element's, where "parameters" (a list of {"name", "value" |
 *    "intValue" | "boolValue" | "multiValue" | "multiIntValue" |
 *    "messageValue" | "multiMessageValue"}) becomes an object name -> value
 *    (intValue as a number when it is a whole number within 2^53, messages
 *    as objects of their parameters). An activity without events gives none.
 *
 * Events are handed to the sink's on_event as trees (both envelopes are
 * rare enough beside the events they carry that text is not worth it).
 */
#ifndef SECDET_EVENT_DECODE_GOOGLE_H
#define SECDET_EVENT_DECODE_GOOGLE_H

#include <stddef.h>
#include <stdint.h>

#include "event/decode_aws.h"

/* DEC_PUBSUB ("subscription" a string and "message" an object),
 * DEC_GWS_ACTIVITY ("kind" "admin#reports#activity" and "events" an array)
 * or DEC_AUTO, from the top-level members of the JSON text s[0..n). */
dec_format sd_google_envelope_kind_text(const char *s, size_t n);

/* Emits the events of envelope `root` of that kind (root is freed here),
 * as sd_aws_emit does: errors (no data, bad base64, data that is not a
 * JSON object) are reported with the unit's number and skipped. Returns 0,
 * the sink's non-zero stop value, or -1 when out of memory. */
int sd_google_emit(dec_format kind, cJSON *root, const char *unit, uint64_t where, const aws_limits *lim,
                   const decode_sink *sink);

#endif
