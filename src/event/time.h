/* time.h — event time: RFC 3339 parsing and formatting (UTC, nanoseconds). */
#ifndef SECDET_EVENT_TIME_H
#define SECDET_EVENT_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses RFC 3339 ("2023-07-10T12:11:15Z", "...15.123456Z", "...15+02:00",
 * lower-case t/z and a space separator accepted) into ns since the epoch.
 * false when the text is not a valid timestamp (the whole string must match). */
bool sd_time_parse_rfc3339(const char *s, size_t len, int64_t *ns_out);
/* Any time a log type may write as text (time_value.c): RFC 3339, the same
 * without a zone (read as UTC), or epoch seconds / ms / us / ns as a string
 * of digits (an optional fraction), the unit told by its size. */
bool sd_time_parse_any(const char *s, size_t len, int64_t *ns_out);
/* Epoch time as a JSON number, the unit told by its size (as above). */
bool sd_time_parse_number(double x, int64_t *ns_out);
/* Formats as "2023-07-10T12:11:15Z", or with the shortest of .mmm/.uuuuuu/.nnnnnnnnn
 * when there are fractional seconds. out must hold 40 bytes. Returns the length. */
size_t sd_time_format_rfc3339(int64_t ns, char *out);
/* The current wall-clock time, ns since the epoch. */
int64_t sd_time_now_ns(void);

#endif
