/* alert_text.c — whether an event's text is already the compact JSON an
 * alert carries, so it can be copied instead of re-written.
 *
 * sd_alert_json_from_text (alert.c) re-writes every token of an event the
 * scanner accepted, so that the alert (and its id) is the same bytes as the
 * cJSON tree of the event would give. Most events arrive in exactly that
 * form already (JSON lines written by a JSON library: no whitespace, plain
 * strings, integers), and re-writing them cost a fifth of `secdet scan`
 * (issue 22). sd_alert_text_compact says, in one pass that goes 16 bytes at
 * a time through string bodies, whether the re-write would give the text
 * back unchanged; it answers false whenever in doubt, which only costs the
 * re-write. The text is one sd_scan_run accepted (valid JSON, no raw
 * control bytes in strings); nothing else is assumed.
 *
 * Unchanged means: no BOM, no whitespace between tokens, nesting within
 * LIMIT_ALERT_JSON_DEPTH; numbers that are plain integers of at most 15
 * digits and not "-0" (those are copied by the re-write too); strings whose
 * bytes are valid UTF-8 (the re-write turns a bad byte into U+FFFD) and
 * whose escapes are only those it writes the same way: \" \\ \n \r \t \b \f.
 */
#include <stdbool.h>
#include <stddef.h>

#include "alert/alert.h"
#include "util/limits.h"
#include "util/utf8.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The offset of the first '"', '\\' or byte >= 0x80 of s[i..n), or n (raw
 * control bytes cannot occur: the scanner refused them). */
static size_t find_quote_bs_high(const unsigned char *s, size_t i, size_t n) {
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, bs)), x);
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#endif
    while (i < n && s[i] != '"' && s[i] != '\\' && s[i] < 0x80) i++;
    return i;
}

/* s[i] == '"': the offset past the closing quote when the string is written
 * back unchanged, else 0. */
static size_t compact_string(const unsigned char *s, size_t i, size_t n) {
    i++;
    for (;;) {
        i = find_quote_bs_high(s, i, n);
        if (i >= n) return 0;
        unsigned char c = s[i];
        if (c == '"') return i + 1;
        if (c == '\\') {
            if (i + 1 >= n) return 0;
            switch (s[i + 1]) {
            case '"':
            case '\\':
            case 'n':
            case 'r':
            case 't':
            case 'b':
            case 'f': i += 2; continue;
            default: return 0; /* \/ and \u are written otherwise */
            }
        }
        size_t l = sd_utf8_seq_len(s + i, n - i);
        if (!l) return 0;
        i += l;
    }
}

bool sd_alert_text_compact(const char *text, size_t len) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    unsigned depth = 0;
    while (i < len) {
        unsigned char c = s[i];
        switch (c) {
        case '{':
        case '[':
            if (++depth > LIMIT_ALERT_JSON_DEPTH) return false;
            i++;
            break;
        case '}':
        case ']': depth--; /* fall through */
        case ',':
        case ':': i++; break;
        case '"':
            i = compact_string(s, i, len);
            if (!i) return false;
            break;
        case 't':
        case 'n': i += 4; break; /* true, null: the scanner checked the letters */
        case 'f': i += 5; break;
        case '-':
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9': {
            size_t j = i + (c == '-');
            size_t d = j;
            while (j < len && s[j] >= '0' && s[j] <= '9') j++;
            if (j - d > 15 || j == d) return false;
            if (c == '-' && j - d == 1 && s[d] == '0') return false; /* -0 is written 0 */
            if (j < len && (s[j] == '.' || s[j] == 'e' || s[j] == 'E')) return false;
            i = j;
            break;
        }
        default: return false; /* whitespace, a BOM */
        }
    }
    return true;
}
