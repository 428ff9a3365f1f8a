/* time_value.c — an event time from whatever a log type writes there.
 *
 * Promises (LANGUAGE.md Part 2, "Log types"):
 *  - RFC 3339 text as sd_time_parse_rfc3339 reads it;
 *  - the same without a zone ("2022-12-11 02:57:48.693", as Panther and
 *    some exports write it), read as UTC;
 *  - epoch time as a JSON number or a string of digits (an optional
 *    fraction after a '.'), its unit told by its size: below 1e11 seconds
 *    (1e11 s is the year 5138), below 1e14 milliseconds (1e11 ms is 1973),
 *    below 1e17 microseconds, else nanoseconds;
 *  - anything else (another type, other text, a number that is not finite
 *    or outside what int64 nanoseconds hold) is not a time: false.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event/time.h"

/* Epoch time `x` in the unit its size gives, as ns. */
static bool epoch_ns(double x, int64_t *out) {
    if (!(x == x) || x > 9.2e18 || x < -9.2e18) return false; /* NaN or past int64 */
    double a = fabs(x), scale;
    if (a < 1e11)
        scale = 1e9;
    else if (a < 1e14)
        scale = 1e6;
    else if (a < 1e17)
        scale = 1e3;
    else
        scale = 1;
    if (x * scale >= 9.2e18 || x * scale <= -9.2e18) return false;
    /* Whole units times the scale, then the fraction: x * scale in doubles
     * would round 1647958913225 ms to ...225000064 ns. */
    double whole = trunc(x);
    *out = (int64_t)whole * (int64_t)scale + (int64_t)llround((x - whole) * scale);
    return true;
}

/* A string of digits with an optional fraction, as epoch time. */
static bool digits_ns(const char *s, size_t n, int64_t *out) {
    if (n == 0 || n > 40) return false;
    size_t dots = 0, i = s[0] == '-' ? 1 : 0;
    if (i == n) return false;
    for (; i < n; i++) {
        if (s[i] == '.')
            dots++;
        else if (s[i] < '0' || s[i] > '9')
            return false;
    }
    if (dots > 1 || s[n - 1] == '.' || s[0] == '.') return false;
    char tmp[48];
    memcpy(tmp, s, n);
    tmp[n] = 0;
    /* Integer digits exactly when there is no fraction: doubles are exact to
     * 2^53, which nanoseconds since 1970 pass, so whole numbers are read as
     * integers. */
    if (!dots) {
        bool neg = tmp[0] == '-';
        uint64_t v = 0;
        for (size_t k = neg ? 1 : 0; k < n; k++) {
            if (v > (UINT64_MAX - 9) / 10) return false;
            v = v * 10 + (uint64_t)(tmp[k] - '0');
        }
        if (v > (uint64_t)INT64_MAX) return false;
        int64_t iv = neg ? -(int64_t)v : (int64_t)v;
        uint64_t a = v;
        int64_t mul = a < 100000000000ull         ? 1000000000
                      : a < 100000000000000ull    ? 1000000
                      : a < 100000000000000000ull ? 1000
                                                  : 1;
        if (mul > 1 && (iv > INT64_MAX / mul || iv < INT64_MIN / mul)) return false;
        *out = iv * mul;
        return true;
    }
    char *end = NULL;
    double x = strtod(tmp, &end);
    return end == tmp + n && epoch_ns(x, out);
}

bool sd_time_parse_any(const char *s, size_t n, int64_t *ns_out) {
    if (!s) return false;
    if (sd_time_parse_rfc3339(s, n, ns_out)) return true;
    if (digits_ns(s, n, ns_out)) return true;
    /* Zone-less "YYYY-MM-DD hh:mm:ss[.f]": the same with a 'Z'. The date's
     * and the time's shape are the RFC 3339 parser's to check. */
    if (n >= 19 && n < 64 && s[4] == '-' && s[n - 1] >= '0' && s[n - 1] <= '9') {
        char tmp[64];
        memcpy(tmp, s, n);
        tmp[n] = 'Z';
        return sd_time_parse_rfc3339(tmp, n + 1, ns_out);
    }
    return false;
}

bool sd_time_parse_number(double x, int64_t *ns_out) { return epoch_ns(x, ns_out); }
