/* format_syslog.c — an alert as one RFC 5424 syslog message.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID rule="..."
 *   severity="..." id="..." source="..." count="N"] title: message
 *
 * What format.h promises, and the choices it leaves open:
 *  - TIMESTAMP is the alert's "time" re-written as UTC with six fraction
 *    digits (truncated, never rounded into the next second); "-" (NILVALUE)
 *    when "time" is missing or not RFC 3339.
 *  - HOSTNAME, APP-NAME, PROCID, MSGID and the SD-ID keep PRINTUSASCII
 *    (33..126) and turn every other byte into '_' (the SD-ID also '=', ']'
 *    and '"', which SD-NAME excludes); they are cut to the RFC's lengths.
 *    An out-of-range facility is taken as 1 (user-level).
 *  - Text (SD-PARAM values and MSG) is UTF-8: an invalid byte becomes
 *    U+FFFD; a control character (below 0x20, and 0x7f) becomes "\n", "\r",
 *    "\t" or "\xHH". SD-PARAM values also escape '"', '\' and ']'. MSG is cut
 *    to max_msg bytes at a character boundary, ending in "…" when cut; an
 *    escape sequence is never split.
 *  - A missing field is "-"; so one alert is always exactly one line.
 *  - Strings are taken whole (util/json.h): U+0000 in a message is "\x00",
 *    not the end of it.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "event/time.h"
#include "sink/format.h"
#include "util/severity.h"
#include "util/utf8.h"
#include "util/json.h"
#include "util/limits.h"

#define DEFAULT_SD_ID "secdet@32473"
#define ELLIPSIS      "\xE2\x80\xA6"
#define NS_PER_SEC    1000000000LL

/* Appends s[0..n) escaped as text (see the file comment; `sd` adds the
 * SD-PARAM escapes), at most `limit` bytes of it: what does not fit is cut at
 * a character boundary and "…" ends the text, within the limit. */
static void put_text(buf *out, const char *s, size_t n, size_t limit, bool sd) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t used = 0, safe = out->len; /* safe: where to cut, leaving room for "…" */
    for (size_t i = 0; i < n;) {
        unsigned char ch = u[i];
        const char *piece = s + i;
        size_t plen = 1, step = 1;
        char esc[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
        if (ch == '\n')
            piece = "\\n", plen = 2;
        else if (ch == '\r')
            piece = "\\r", plen = 2;
        else if (ch == '\t')
            piece = "\\t", plen = 2;
        else if (ch < 0x20 || ch == 0x7f)
            piece = esc, plen = 4;
        else if (sd && (ch == '"' || ch == '\\' || ch == ']'))
            esc[1] = (char)ch, piece = esc, plen = 2;
        else if (ch >= 0x80) {
            size_t l = sd_utf8_seq_len(u + i, n - i);
            if (l == 0)
                piece = "\xEF\xBF\xBD", plen = 3;
            else
                plen = step = l;
        }
        if (used + plen > limit) {
            out->len = safe;
            if (out->data) out->data[out->len] = 0;
            if (limit >= 3) sd_buf_puts(out, ELLIPSIS);
            return;
        }
        sd_buf_append(out, piece, plen);
        used += plen;
        if (used + 3 <= limit) safe = out->len;
        i += step;
    }
}

/* A header field: PRINTUSASCII, other bytes as '_' (and `also` too), cut to
 * max bytes; "-" when empty. */
static void put_header_field(buf *out, const char *s, size_t max, const char *also) {
    size_t n = s ? strnlen(s, max) : 0;
    if (n == 0) {
        sd_buf_putc(out, '-');
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        sd_buf_putc(out, c < 33 || c > 126 || (also && strchr(also, c)) ? '_' : (char)c);
    }
}

/* "time" as "YYYY-MM-DDThh:mm:ss.uuuuuuZ", or "-". */
static void put_timestamp(buf *out, const cJSON *t) {
    int64_t ns;
    if (!cJSON_IsString(t) || !t->valuestring || !sd_time_parse_rfc3339(t->valuestring, sd_json_string_len(t), &ns) ||
        ns < INT64_MIN + NS_PER_SEC) {
        sd_buf_putc(out, '-');
        return;
    }
    int64_t frac = ns % NS_PER_SEC;
    if (frac < 0) frac += NS_PER_SEC;
    char whole[40];
    size_t n = sd_time_format_rfc3339(ns - frac, whole); /* "...:ssZ": no fraction left */
    if (n == 0 || whole[n - 1] != 'Z') {
        sd_buf_putc(out, '-');
        return;
    }
    sd_buf_append(out, whole, n - 1);
    sd_buf_printf(out, ".%06lldZ", (long long)(frac / 1000));
}

/* A scalar field of the alert and its length in *len (a string may hold
 * U+0000, which put_text escapes), or "-". */
static const char *field(const cJSON *alert, const char *key, char tmp[static 40], size_t *len) {
    const char *s = sd_format_scalar(sd_json_member(alert, key), tmp, len);
    if (!s) *len = 1;
    return s ? s : "-";
}

static void put_param(buf *out, const cJSON *alert, const char *name) {
    char tmp[40];
    size_t n;
    const char *value = field(alert, name, tmp, &n);
    sd_buf_printf(out, " %s=\"", name);
    put_text(out, value, n, SIZE_MAX, true);
    sd_buf_putc(out, '"');
}

/* The alert's common fields as SD-PARAMs, those it has: log_type, ip, user,
 * account, action, outcome, event_id (the event's id; "id" is the alert's).
 * Its time is the header's; a field of several values is left out. */
static void put_fields(buf *out, const cJSON *alert) {
    static const struct {
        const char *key, *param;
    } order[] = {{"type", "log_type"}, {"ip", "ip"},           {"user", "user"},  {"account", "account"},
                 {"action", "action"}, {"outcome", "outcome"}, {"id", "event_id"}};
    const cJSON *fields = sd_json_member(alert, "fields");
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        char tmp[40];
        size_t n;
        const char *value = sd_format_scalar(sd_json_member(fields, order[i].key), tmp, &n);
        if (!value) continue;
        sd_buf_printf(out, " %s=\"", order[i].param);
        put_text(out, value, n, SIZE_MAX, true);
        sd_buf_putc(out, '"');
    }
}

int sd_syslog_format(buf *out, const char *alert_json, size_t len, const syslog_fmt_opts *o) {
    cJSON *alert = alert_json ? sd_json_parse(alert_json, len, 0, NULL) : NULL;
    if (!alert) return -1;
    size_t start = out->len;
    syslog_fmt_opts d = {.facility = 1};
    if (!o) o = &d;
    char tmp[40], tsev[40];
    size_t n;
    const char *sev = field(alert, "severity", tsev, &n);
    int facility = o->facility >= 0 && o->facility <= 23 ? o->facility : 1;
    sd_buf_printf(out, "<%d>1 ", facility * 8 + sd_syslog_severity(sev));
    put_timestamp(out, sd_json_member(alert, "time"));
    sd_buf_putc(out, ' ');
    put_header_field(out, o->hostname, 255, NULL);
    sd_buf_putc(out, ' ');
    put_header_field(out, o->app_name ? o->app_name : "secdet", 48, NULL);
    sd_buf_putc(out, ' ');
    put_header_field(out, o->procid, 128, NULL);
    sd_buf_putc(out, ' ');
    put_header_field(out, o->msgid ? o->msgid : "alert", 32, NULL);
    sd_buf_puts(out, " [");
    put_header_field(out, o->sd_id && o->sd_id[0] ? o->sd_id : DEFAULT_SD_ID, 32, "=]\"");
    put_param(out, alert, "rule");
    put_param(out, alert, "severity");
    put_param(out, alert, "id");
    put_param(out, alert, "source");
    put_param(out, alert, "count");
    put_fields(out, alert);
    sd_buf_puts(out, "] ");

    buf msg;
    sd_buf_init(&msg);
    const char *text = field(alert, "title", tmp, &n);
    sd_buf_append(&msg, text, n);
    sd_buf_puts(&msg, ": ");
    text = field(alert, "message", tmp, &n);
    sd_buf_append(&msg, text, n);
    put_text(out, msg.data ? msg.data : "", msg.len, o->max_msg ? o->max_msg : LIMIT_SYSLOG_MSG_DEFAULT, false);

    bool oom = msg.oom || out->oom;
    sd_buf_free(&msg);
    cJSON_Delete(alert);
    if (oom) {
        out->len = start;
        if (out->data) out->data[start] = 0;
        return -1;
    }
    return 0;
}

int sd_syslog_severity(const char *name) {
    secdet_severity level;
    return sd_severity_parse(name, true, &level) ? sd_severity_get(level)->syslog : 5; /* notice */
}
