/* json.h — a thread-safe JSON parser that builds cJSON trees.
 *
 * cJSON's own parse functions (Parse, ParseWithLength, ParseWithOpts and
 * ParseWithLengthOpts, all cJSON_-prefixed) write a process-global error
 * pointer on every call, so two threads parsing at once race (the pushing
 * thread decoding events and the sink delivery thread formatting alerts
 * did, before the library used these functions instead). These
 * functions keep all their state on the caller's stack and build the tree
 * only with cJSON's constructors (cJSON_Create*, cJSON_AddItemTo*), which
 * read cJSON's allocation hooks and write nothing shared. Free the result
 * with cJSON_Delete, as usual.
 *
 * What they accept, the trees they build and the offsets they report are
 * exactly those of cJSON 1.7.15 as shipped by Debian (numbers of any length,
 * see CVE-2023-26819) — scan.c's validating scanner and the decoders'
 * messages are defined in terms of it. In particular, like cJSON:
 *  - any byte <= 32 (NUL included) is whitespace; a UTF-8 BOM is skipped
 *    when the text is at least 5 bytes long;
 *  - a number is the longest run of the bytes 0-9 + - . e E, of which the
 *    longest prefix strtod takes is the value ("01" is 1, "1." is 1, "-.5"
 *    is -0.5, "1e999" is infinity, "1e" is 1 followed by "e"); valueint
 *    saturates at INT_MIN/INT_MAX;
 *  - strings may hold raw control bytes and invalid UTF-8; \u escapes with
 *    bad hex digits decode as U+0000, and a string value is cut at its
 *    first U+0000; a lone low surrogate, or a high one not followed by
 *    \u and a low one, is an error;
 *  - duplicate keys are all kept, in document order;
 *  - nesting deeper than CJSON_NESTING_LIMIT (1000) containers is refused;
 *  - nothing after the first value is looked at.
 * Unlike cJSON, numbers do not depend on the locale: '.' is the decimal
 * point whatever LC_NUMERIC says (the text is handed to strtod with '.'
 * replaced by the locale's radix, read with the thread-safe nl_langinfo).
 */
#ifndef SECDET_UTIL_JSON_H
#define SECDET_UTIL_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Parses the first JSON value of s[0..len), as cJSON's ParseWithLength(s,
 * len) does: text after that value is not looked at (check it with
 * json_parse_prefix's end when it matters). max_depth > 0 also refuses more
 * than max_depth nested arrays/objects (a scalar has depth 0, "[]" depth 1).
 * Returns NULL on invalid JSON, on too deep nesting or when out of memory;
 * then, when err_offset is not NULL, *err_offset is the byte offset where
 * parsing failed (the offset cJSON's end pointer gave: < len, 0 when len is
 * 0). */
cJSON *json_parse(const char *s, size_t len, size_t max_depth, size_t *err_offset);

/* The same, reporting in *end (when not NULL) the offset just past the
 * value on success — what cJSON's ParseWithLengthOpts(s, len, &end, 0) gives,
 * for reading several values from one text — and the error offset on
 * failure. */
cJSON *json_parse_prefix(const char *s, size_t len, size_t max_depth, size_t *end);

#endif
