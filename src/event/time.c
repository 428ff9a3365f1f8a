/* time.c — event time: RFC 3339 text <-> nanoseconds since the Unix epoch (UTC).
 *
 * Promises:
 *  - Parsing accepts exactly "YYYY-MM-DD" sep "hh:mm:ss" [ "." 1+ digits ] zone,
 *    sep one of 'T', 't', ' ', zone one of 'Z', 'z', "+hh:mm", "-hh:mm". The
 *    whole text must match; anything else is rejected rather than guessed at.
 *  - Fractions keep nanosecond precision; digits past the ninth are checked
 *    to be digits and then dropped (truncated, not rounded, so a time never
 *    moves into the next second).
 *  - Ranges are validated: month 1-12, day within the month (leap years by the
 *    Gregorian rule), hour 0-23, minute 0-59, second 0-60, offset hours 0-23 and
 *    minutes 0-59.
 *  - A leap second (ss = 60) is folded to hh:mm:59.999999999 of the same minute,
 *    whatever its fraction: the event stays in its own minute and day and still
 *    sorts after every other event of that minute. It is accepted at any minute,
 *    because with an offset the leap minute is not 23:59 local time.
 *  - A time outside what int64 nanoseconds can hold (about 1677-09-21 to
 *    2262-04-11) is rejected.
 *  - No timegm(), no locale, no TZ: the calendar arithmetic is done here, so
 *    results do not depend on the process environment.
 *  - Formatting is always UTC with 'Z'; the fraction is printed only when
 *    non-zero, using the shortest of 3, 6 or 9 digits that is exact.
 */
#include "event/time.h"

#include <time.h>

#define NS_PER_SEC  1000000000LL
#define SEC_PER_DAY 86400LL

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
 * Counting years from March puts the leap day at the end of the year, so the
 * day of the year follows from the month alone; the 400-year cycle (146097
 * days) keeps every division on non-negative numbers for years >= 0. */
static int64_t days_from_civil(int64_t y, int m, int d) {
    if (m <= 2) y -= 1;
    int64_t cycle = y / 400; /* y >= -1 here: see callers */
    if (y < 0) cycle = -1;
    int64_t year_of_cycle = y - cycle * 400;      /* 0..399 */
    int month_from_march = m > 2 ? m - 3 : m + 9; /* 0..11 */
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
    int64_t day_of_cycle = year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
    /* 719468 = days from 0000-03-01 to 1970-01-01 */
    return cycle * 146097 + day_of_cycle - 719468;
}

/* The inverse of days_from_civil, for any day count an int64 of ns can reach. */
static void civil_from_days(int64_t days, int64_t *y, int *m, int *d) {
    int64_t z = days + 719468; /* days since 0000-03-01 */
    int64_t cycle = (z >= 0 ? z : z - 146096) / 146097;
    int64_t day_of_cycle = z - cycle * 146097; /* 0..146096 */
    int64_t year_of_cycle =
        (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36524 - day_of_cycle / 146096) / 365; /* 0..399 */
    int64_t day_of_year = day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153; /* 0..11 */
    *d = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    *m = (int)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    *y = year_of_cycle + cycle * 400 + (*m <= 2 ? 1 : 0);
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int64_t y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n decimal digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, int n, int *out) {
    if (len - *i < (size_t)n) return false;
    int v = 0;
    for (int k = 0; k < n; k++) {
        char c = s[*i + (size_t)k];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *i += (size_t)n;
    *out = v;
    return true;
}

static bool expect(const char *s, size_t len, size_t *i, char c) {
    if (*i >= len || s[*i] != c) return false;
    (*i)++;
    return true;
}

bool sd_time_parse_rfc3339(const char *s, size_t len, int64_t *ns_out) {
    if (!s) return false;
    size_t i = 0;
    int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0; /* set before use; zeroed for gcc -O3 */
    if (!digits(s, len, &i, 4, &year) || !expect(s, len, &i, '-') || !digits(s, len, &i, 2, &mon) ||
        !expect(s, len, &i, '-') || !digits(s, len, &i, 2, &day))
        return false;
    if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return false;
    i++;
    if (!digits(s, len, &i, 2, &hour) || !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &min) ||
        !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &sec))
        return false;

    int64_t frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        int kept = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (kept < 9) {
                frac = frac * 10 + (s[i] - '0');
                kept++;
            }
            i++;
        }
        if (i == start) return false;
        for (; kept < 9; kept++) frac *= 10;
    }

    int offset_sec = 0;
    if (i >= len) return false;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1;
        int oh, om;
        i++;
        if (!digits(s, len, &i, 2, &oh) || !expect(s, len, &i, ':') || !digits(s, len, &i, 2, &om)) return false;
        if (oh > 23 || om > 59) return false;
        offset_sec = sign * (oh * 3600 + om * 60);
    } else {
        return false;
    }
    if (i != len) return false;

    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon)) return false;
    if (hour > 23 || min > 59 || sec > 60) return false;
    if (sec == 60) {
        sec = 59;
        frac = NS_PER_SEC - 1;
    }

    int64_t secs = days_from_civil(year, mon, day) * SEC_PER_DAY + hour * 3600 + min * 60 + sec - offset_sec;
    /* secs * 1e9 + frac must fit in int64 (frac is in [0, 1e9)); the few
     * representable instants just above INT64_MIN's whole second are given up. */
    if (secs > INT64_MAX / NS_PER_SEC || secs < INT64_MIN / NS_PER_SEC) return false;
    if (secs == INT64_MAX / NS_PER_SEC && frac > INT64_MAX % NS_PER_SEC) return false;
    *ns_out = secs * NS_PER_SEC + frac;
    return true;
}

static char *put_num(char *p, int64_t v, int width) {
    for (int k = width - 1; k >= 0; k--) {
        p[k] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

size_t sd_time_format_rfc3339(int64_t ns, char *out) {
    /* Floor division: a time before 1970 still has a fraction in [0, 1e9). */
    int64_t secs = ns / NS_PER_SEC;
    int64_t frac = ns % NS_PER_SEC;
    if (frac < 0) {
        frac += NS_PER_SEC;
        secs -= 1;
    }
    int64_t days = secs / SEC_PER_DAY;
    int64_t rem = secs % SEC_PER_DAY;
    if (rem < 0) {
        rem += SEC_PER_DAY;
        days -= 1;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);

    char *p = out;
    p = put_num(p, y, 4); /* int64 ns spans years 1677..2262: always 4 digits */
    *p++ = '-';
    p = put_num(p, m, 2);
    *p++ = '-';
    p = put_num(p, d, 2);
    *p++ = 'T';
    p = put_num(p, rem / 3600, 2);
    *p++ = ':';
    p = put_num(p, rem / 60 % 60, 2);
    *p++ = ':';
    p = put_num(p, rem % 60, 2);
    if (frac) {
        *p++ = '.';
        if (frac % 1000000 == 0)
            p = put_num(p, frac / 1000000, 3);
        else if (frac % 1000 == 0)
            p = put_num(p, frac / 1000, 6);
        else
            p = put_num(p, frac, 9);
    }
    *p++ = 'Z';
    *p = 0;
    return (size_t)(p - out);
}

int64_t sd_time_now_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}
