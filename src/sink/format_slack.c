/* format_slack.c — an alert as a Slack incoming-webhook message (Block Kit).
 *
 * The shape is format.h's: a fallback "text" ("[SEVERITY] title: message"),
 * then one attachment coloured by severity holding a header (the title), a
 * section (the message), a section of fields laid out by the event's log
 * type (the alert's "fields": CloudTrail's principal, address, account,
 * region, event and time; any other log type's common fields, only those
 * it has) and the ones the rule's meta `show` names, a code block of
 * CloudTrail's requestParameters (left out when the event has none, or
 * null) and a context line (alert id, count when > 1).
 *
 * Every text that carries alert or event data is built in two steps: first
 * escaped for mrkdwn (& < > become entities; in the code block each backtick
 * is also wrapped in zero-width spaces, so no run of three can close the
 * block) and cut to Slack's limit with "…", then written as a JSON string by
 * sd_buf_json_string. Limits are counted in UTF-16 code units, as Slack counts
 * (a character outside the BMP counts 2); a cut never splits a character or
 * an entity. Invalid UTF-8 bytes become U+FFFD before the count. Texts are
 * taken whole (util/json.h): U+0000 in one is written as "\u0000", not the
 * end of it; requestParameters is written as the alert writes JSON.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alert/alert.h"
#include "event/event.h"
#include "event/path.h"
#include "sink/format.h"
#include "util/severity.h"
#include "util/utf8.h"
#include "util/json.h"
#include "util/limits.h"

#define ELLIPSIS "\xE2\x80\xA6" /* U+2026, one UTF-16 unit */
#define ZWSP     "\xE2\x80\x8B" /* U+200B */
#define FENCE    "```"

/* Appends s[0..n) to t escaped for mrkdwn, at most `limit` UTF-16 units of
 * it; what does not fit is cut at a character boundary and "…" ends the text
 * (within the limit). `code`: also wrap each backtick in zero-width spaces. */
static void put_mrkdwn(buf *t, const char *s, size_t n, size_t limit, bool code) {
    const unsigned char *u = (const unsigned char *)s;
    size_t units = 0, safe = t->len; /* safe: where to cut, leaving room for "…" */
    for (size_t i = 0; i < n;) {
        const char *piece = s + i;
        size_t plen = 1, step = 1, w = 1;
        if (u[i] == '&') {
            piece = "&amp;";
            plen = 5;
            w = 5;
        } else if (u[i] == '<') {
            piece = "&lt;";
            plen = 4;
            w = 4;
        } else if (u[i] == '>') {
            piece = "&gt;";
            plen = 4;
            w = 4;
        } else if (u[i] == '`' && code) {
            piece = ZWSP "`" ZWSP;
            plen = 7;
            w = 3;
        } else if (u[i] >= 0x80) {
            size_t l = sd_utf8_seq_len(u + i, n - i);
            if (l == 0) {
                piece = "\xEF\xBF\xBD";
                plen = 3;
            } else {
                plen = step = l;
                w = l == 4 ? 2 : 1;
            }
        }
        if (units + w > limit) {
            t->len = safe;
            if (t->data) t->data[t->len] = 0;
            if (limit >= 1) sd_buf_puts(t, ELLIPSIS);
            return;
        }
        sd_buf_append(t, piece, plen);
        units += w;
        if (units < limit) safe = t->len;
        i += step;
    }
}

void sd_slack_mrkdwn(buf *t, const char *s, size_t n, size_t limit) { put_mrkdwn(t, s, n, limit, false); }

static const cJSON *get(const cJSON *obj, const char *key) { return sd_json_member(obj, key); }

/* A text and its length: alert and event strings may hold U+0000, which is
 * written escaped like any control character (util/json.h). */
typedef struct span {
    const char *s;
    size_t n;
} span;

static bool is_dash(span t) { return t.n == 1 && t.s[0] == '-'; }

/* The scalar text of the first of up to three keys of obj that has one, else "-". */
static span pick(const cJSON *obj, const char *k1, const char *k2, const char *k3, char tmp[static 40]) {
    const char *keys[3] = {k1, k2, k3};
    for (int i = 0; i < 3; i++) {
        span t = {NULL, 0};
        if (keys[i]) t.s = sd_format_scalar(get(obj, keys[i]), tmp, &t.n);
        if (t.s) return t;
    }
    return (span){"-", 1};
}

/* The last element of the alert's "events": the firing event, or NULL. */
static const cJSON *firing_event(const cJSON *alert) {
    const cJSON *evs = get(alert, "events");
    if (!cJSON_IsArray(evs) || !evs->child) return NULL;
    const cJSON *last = evs->child;
    while (last->next) last = last->next;
    return cJSON_IsObject(last) ? last : NULL;
}

typedef struct slack_ctx {
    buf *out;
    buf t;   /* one text being built */
    buf raw; /* unescaped pieces put together before escaping */
} slack_ctx;

/* Writes t as a JSON string. */
static void emit_t(slack_ctx *c) { sd_buf_json_string(c->out, c->t.data ? c->t.data : "", c->t.len); }

/* "prefix" + escaped s, the whole at most limit units, as a JSON string. The
 * prefix is the formatter's own ASCII. */
static void emit_text(slack_ctx *c, const char *prefix, span s, size_t limit) {
    sd_buf_reset(&c->t);
    sd_buf_puts(&c->t, prefix);
    put_mrkdwn(&c->t, s.s, s.n, limit - strlen(prefix), false);
    emit_t(c);
}

static void emit_field(slack_ctx *c, bool first, const char *label, span value) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "*%.60s*\n", label);
    sd_buf_puts(c->out, first ? "{\"type\":\"mrkdwn\",\"text\":" : ",{\"type\":\"mrkdwn\",\"text\":");
    emit_text(c, prefix, value, LIMIT_SLACK_FIELD);
    sd_buf_putc(c->out, '}');
}

/* "text": "[SEVERITY] title: message". */
static void emit_fallback(slack_ctx *c, span sev, span title, span msg) {
    sd_buf_reset(&c->raw);
    sd_buf_putc(&c->raw, '[');
    for (size_t i = 0; i < sev.n; i++) {
        char ch = sev.s[i];
        sd_buf_putc(&c->raw, ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch);
    }
    sd_buf_puts(&c->raw, "] ");
    sd_buf_append(&c->raw, title.s, title.n);
    sd_buf_puts(&c->raw, ": ");
    sd_buf_append(&c->raw, msg.s, msg.n);
    sd_buf_puts(c->out, "{\"text\":");
    emit_text(c, "", (span){c->raw.data ? c->raw.data : "", c->raw.len}, LIMIT_SLACK_TEXT);
}

static void emit_option(buf *out, const char *key, const char *value) {
    if (!value) return;
    sd_buf_printf(out, ",\"%s\":", key);
    sd_buf_json_string(out, value, strlen(value));
}

/* The layout of a CloudTrail event: who, from where, in which account and
 * region, what, when — six fields. */
static void emit_cloudtrail(slack_ctx *c, const cJSON *ev) {
    const cJSON *uid = get(ev, "userIdentity");
    char t1[40], t2[40];
    emit_field(c, false, "Principal", pick(uid, "arn", "principalId", "userName", t1));
    emit_field(c, false, "Source IP", pick(ev, "sourceIPAddress", NULL, NULL, t1));
    span acct = pick(ev, "recipientAccountId", NULL, NULL, t1);
    if (is_dash(acct)) acct = pick(uid, "accountId", NULL, NULL, t1);
    emit_field(c, false, "Account", acct);
    emit_field(c, false, "Region", pick(ev, "awsRegion", NULL, NULL, t1));
    span src = pick(ev, "eventSource", NULL, NULL, t1);
    span name = pick(ev, "eventName", NULL, NULL, t2);
    sd_buf_reset(&c->raw);
    if (!is_dash(src) && !is_dash(name)) {
        sd_buf_append(&c->raw, src.s, src.n);
        sd_buf_puts(&c->raw, " / ");
        sd_buf_append(&c->raw, name.s, name.n);
    } else {
        span one = is_dash(src) ? name : src;
        sd_buf_append(&c->raw, one.s, one.n);
    }
    emit_field(c, false, "Event", (span){c->raw.data ? c->raw.data : "", c->raw.len});
    emit_field(c, false, "Event time", pick(ev, "eventTime", NULL, NULL, t1));
}

/* The fields a rule's meta names to show (`show = [".awsRegion", ...]`, or
 * one path as a string), each as "path: value" from the firing event, while
 * there is room (*room fields left). */
static void emit_shown(slack_ctx *c, const cJSON *alert, const cJSON *ev, int *room) {
    const cJSON *show = get(get(alert, "meta"), "show");
    const cJSON *one = cJSON_IsString(show) ? show : NULL;
    const cJSON *item = one ? one : cJSON_IsArray(show) ? show->child : NULL;
    sd_arena arena;
    sd_arena_init(&arena);
    for (; item && *room > 0; item = one ? NULL : item->next) {
        sd_path p;
        const char *err = NULL;
        size_t n = cJSON_IsString(item) ? sd_json_string_len(item) : 0;
        if (n == 0 || sd_path_parse(item->valuestring, n, &p, &err) != n || p.common) {
            if (n && (p.text || p.segs)) sd_path_free(&p);
            continue;
        }
        sd_values v;
        sd_value single;
        sd_path_resolve(&p, ev, &arena, &v, &single);
        sd_buf_reset(&c->raw);
        for (uint32_t i = 0; i < v.n; i++) {
            if (i) sd_buf_puts(&c->raw, ", ");
            sd_alert_value_text(&c->raw, &v.v[i]);
        }
        if (v.n == 0) sd_buf_putc(&c->raw, '-');
        /* The rule's own text, but a key may be quoted: nothing in it may format. */
        char label[64];
        snprintf(label, sizeof label, "%.60s", p.text);
        for (char *k = label; *k; k++)
            if (*k == '<' || *k == '>' || *k == '&' || *k == '*' || *k == '`' || (unsigned char)*k < 0x20) *k = '_';
        emit_field(c, false, label, (span){c->raw.data ? c->raw.data : "", c->raw.len});
        (*room)--;
        sd_path_free(&p);
    }
    sd_arena_free(&arena);
}

/* The layout of an event that is not CloudTrail's: its common fields (the
 * alert's "fields"), only those it has. */
static void emit_common(slack_ctx *c, const cJSON *fields, int *room) {
    static const struct {
        const char *key, *label;
    } order[] = {{"type", "Log type"}, {"user", "User"},       {"ip", "Source IP"},   {"account", "Account"},
                 {"action", "Action"}, {"outcome", "Outcome"}, {"time", "Event time"}};
    char t1[40];
    for (size_t i = 0; i < sizeof order / sizeof order[0] && *room > 0; i++) {
        const cJSON *v = get(fields, order[i].key);
        span t = {NULL, 0};
        if (cJSON_IsArray(v)) { /* several values: as the alert writes them */
            sd_buf_reset(&c->raw);
            sd_alert_json_write(&c->raw, v);
            t = (span){c->raw.data ? c->raw.data : "", c->raw.len};
        } else {
            t.s = sd_format_scalar(v, t1, &t.n);
        }
        if (!t.s) continue;
        emit_field(c, false, order[i].label, t);
        (*room)--;
    }
}

/* Whether the alert's event is laid out as CloudTrail's: its "fields" say
 * cloudtrail, or jsonl (no profile, so no common fields to show: the layout
 * as before log types, which shows what a CloudTrail-shaped event pushed to
 * a source of one's own has), or it has none (an alert of an older engine). */
static bool cloudtrail_layout(const cJSON *alert) {
    const cJSON *fields = get(alert, "fields");
    const cJSON *type = get(fields, "type");
    return !cJSON_IsObject(fields) || !cJSON_IsString(type) || strcmp(type->valuestring, "cloudtrail") == 0 ||
           strcmp(type->valuestring, "jsonl") == 0;
}

static void emit_fields(slack_ctx *c, span sev, span rule, const cJSON *alert, const cJSON *ev) {
    int room = LIMIT_SLACK_FIELDS - 2;
    sd_buf_puts(c->out, ",{\"type\":\"section\",\"fields\":[");
    emit_field(c, true, "Severity", sev);
    emit_field(c, false, "Rule", rule);
    if (cloudtrail_layout(alert)) {
        emit_cloudtrail(c, ev);
        room -= 6;
    } else {
        emit_common(c, get(alert, "fields"), &room);
    }
    emit_shown(c, alert, ev, &room);
    sd_buf_puts(c->out, "]}");
}

/* The requestParameters code block: compact JSON cut to max_params bytes
 * (with "…" inside that budget), then escaped and cut to the section limit. */
static void emit_params(slack_ctx *c, const cJSON *ev, size_t max_params) {
    const cJSON *rp = get(ev, "requestParameters");
    if (!rp || cJSON_IsNull(rp)) return;
    sd_buf_reset(&c->t); /* the JSON text first, written whole (strings may hold U+0000) */
    sd_alert_json_write(&c->t, rp);
    const char *json = c->t.data ? c->t.data : "";
    size_t n = c->t.len;
    sd_buf_reset(&c->raw);
    if (n <= max_params) {
        sd_buf_append(&c->raw, json, n);
    } else {
        size_t keep = max_params >= 3 ? max_params - 3 : max_params;
        while (keep > 0 && ((unsigned char)json[keep] & 0xC0) == 0x80) keep--;
        sd_buf_append(&c->raw, json, keep);
        if (max_params >= 3) sd_buf_puts(&c->raw, ELLIPSIS);
    }
    sd_buf_reset(&c->t);
    sd_buf_puts(&c->t, FENCE);
    put_mrkdwn(&c->t, c->raw.data ? c->raw.data : "", c->raw.len, LIMIT_SLACK_SECTION - 6, true);
    sd_buf_puts(&c->t, FENCE);
    sd_buf_puts(c->out, ",{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":");
    emit_t(c);
    sd_buf_puts(c->out, "}}");
}

static void emit_context(slack_ctx *c, const cJSON *alert) {
    char tmp[40];
    sd_buf_puts(c->out, ",{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":");
    emit_text(c, "secdet alert ", pick(alert, "id", NULL, NULL, tmp), LIMIT_SLACK_SECTION);
    sd_buf_putc(c->out, '}');
    const cJSON *count = get(alert, "count");
    if (cJSON_IsNumber(count) && count->valuedouble > 1) {
        sd_buf_puts(c->out, ",{\"type\":\"mrkdwn\",\"text\":");
        span t;
        t.s = sd_format_scalar(count, tmp, &t.n);
        emit_text(c, "count ", t, LIMIT_SLACK_SECTION);
        sd_buf_putc(c->out, '}');
    }
    sd_buf_puts(c->out, "]}");
}

int sd_slack_format(buf *out, const char *alert_json, size_t len, const slack_fmt_opts *o) {
    cJSON *alert = alert_json ? sd_json_parse(alert_json, len, 0, NULL) : NULL;
    if (!alert) return -1;
    size_t start = out->len;
    size_t max_params = o && o->max_params ? o->max_params : LIMIT_SLACK_PARAMS_DEFAULT;
    slack_ctx c = {.out = out};
    sd_buf_init(&c.t);
    sd_buf_init(&c.raw);
    char t1[40], t2[40], t3[40], t4[40];
    span sev = pick(alert, "severity", NULL, NULL, t1);
    span title = pick(alert, "title", NULL, NULL, t2);
    span msg = pick(alert, "message", NULL, NULL, t3);
    span rule = pick(alert, "rule", NULL, NULL, t4);
    const cJSON *ev = firing_event(alert);

    emit_fallback(&c, sev, title, msg);
    if (o) {
        emit_option(out, "username", o->username);
        emit_option(out, "icon_emoji", o->icon_emoji);
        emit_option(out, "channel", o->channel);
    }
    sd_buf_printf(out, ",\"attachments\":[{\"color\":\"%s\",\"blocks\":[", sd_slack_color(sev.s));
    sd_buf_puts(out, "{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":");
    emit_text(&c, "", title, LIMIT_SLACK_HEADER);
    sd_buf_puts(out, "}},{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":");
    emit_text(&c, "", msg, LIMIT_SLACK_SECTION);
    sd_buf_puts(out, "}}");
    emit_fields(&c, sev, rule, alert, ev);
    if (cloudtrail_layout(alert)) emit_params(&c, ev, max_params);
    emit_context(&c, alert);
    sd_buf_puts(out, "]}]}");

    bool oom = c.t.oom || c.raw.oom || out->oom;
    sd_buf_free(&c.t);
    sd_buf_free(&c.raw);
    cJSON_Delete(alert);
    if (oom) {
        out->len = start;
        if (out->data) out->data[start] = 0;
        return -1;
    }
    return 0;
}

const char *sd_slack_color(const char *name) {
    secdet_severity level;
    return sd_severity_get(sd_severity_parse(name, true, &level) ? level : SECDET_SEVERITY_INFO)->slack_rgb;
}
