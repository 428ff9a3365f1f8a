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
 * those of cJSON 1.7.15 as shipped by Debian (numbers of any length, see
 * CVE-2023-26819) — scan.c's validating scanner and the decoders' messages
 * are defined in terms of it — with two departures, so that no string
 * content can hide from rules (json.c says how and why):
 *  - a raw control character (U+0000-U+001F) inside a string is refused
 *    (sd_json_parse_prefix_control tells that failure apart);
 *  - a string holding U+0000 keeps all its bytes (cJSON cuts it at the
 *    first): read a string node's length with sd_json_string_len and a key
 *    with sd_json_key_bytes, look members up with sd_json_member, and copy a tree
 *    with sd_json_duplicate, never cJSON_Duplicate (which would cut the copy's
 *    strings but keep their recorded lengths).
 * Otherwise, like cJSON:
 *  - any byte <= 32 (NUL included) is whitespace outside strings; a UTF-8
 *    BOM is skipped when the text is at least 5 bytes long;
 *  - a number is the longest run of the bytes 0-9 + - . e E, of which the
 *    longest prefix strtod takes is the value ("01" is 1, "1." is 1, "-.5"
 *    is -0.5, "1e999" is infinity, "1e" is 1 followed by "e"); valueint
 *    saturates at INT_MIN/INT_MAX;
 *  - strings may hold invalid UTF-8; \u escapes with bad hex digits decode
 *    as U+0000; a lone low surrogate, or a high one not followed by \u and a
 *    low one, is an error;
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

#include "util/buf.h"

/* Marks on nodes sd_json_parse builds, in bits of `type` that cJSON's own
 * functions mask off (they read type & 0xFF):
 *  - JSON_STRING_HAS_NUL: a string value holding U+0000; valuestring has
 *    all its bytes then a NUL, valuedouble its length in bytes;
 *  - JSON_KEY_HAS_NUL: a member whose key holds U+0000; `string` is the key
 *    encoded without NUL bytes (sd_json_key_bytes decodes it). */
#define JSON_STRING_HAS_NUL (1 << 12)
#define JSON_KEY_HAS_NUL    (1 << 13)

/* Parses the first JSON value of s[0..len), as cJSON's ParseWithLength(s,
 * len) does: text after that value is not looked at (check it with
 * sd_json_parse_prefix's end when it matters). max_depth > 0 also refuses more
 * than max_depth nested arrays/objects (a scalar has depth 0, "[]" depth 1).
 * Returns NULL on invalid JSON, on too deep nesting or when out of memory;
 * then, when err_offset is not NULL, *err_offset is the byte offset where
 * parsing failed (the offset cJSON's end pointer gave: < len, 0 when len is
 * 0). */
cJSON *sd_json_parse(const char *s, size_t len, size_t max_depth, size_t *err_offset);

/* The same, reporting in *end (when not NULL) the offset just past the
 * value on success — what cJSON's ParseWithLengthOpts(s, len, &end, 0) gives,
 * for reading several values from one text — and the error offset on
 * failure. */
cJSON *sd_json_parse_prefix(const char *s, size_t len, size_t max_depth, size_t *end);

/* The same; on failure *control (when not NULL) is the raw control
 * character (0x00-0x1F) inside a string that made it fail, at offset *end,
 * or -1 when it failed for another reason (-1 on success too). */
cJSON *sd_json_parse_prefix_control(const char *s, size_t len, size_t max_depth, size_t *end, int *control);

/* The byte length of a string node's value (0 for NULL or no string). */
size_t sd_json_string_len(const cJSON *node);
/* A member's key bytes and their length: `string` itself, or for a key
 * holding U+0000 its decoding in tmp (valid until tmp changes). */
const char *sd_json_key_bytes(const cJSON *member, buf *tmp, size_t *len);
/* The first member of an object whose key is exactly `key`, or NULL (as
 * cJSON_GetObjectItemCaseSensitive, without mistaking an encoded key for
 * another). */
const cJSON *sd_json_member(const cJSON *object, const char *key);
/* A deep copy that keeps strings holding U+0000 whole; NULL on OOM. */
cJSON *sd_json_duplicate(const cJSON *node);

#endif
