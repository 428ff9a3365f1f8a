/* format.h — what the network sinks send, as pure functions of an alert.
 *
 * Each formatter takes the alert's JSON (as secdet_alert_json gives it: the
 * shape of docs/language.md "Alerts") and appends to a buf; it never fails
 * on odd input (a missing field renders as "-"), only on JSON that does not
 * parse (returns -1, buf unchanged in length). They are fuzzed
 * (fuzz/fuzz_slack.c, fuzz/fuzz_syslog.c).
 */
#ifndef SECDET_SINK_FORMAT_H
#define SECDET_SINK_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* ---- Slack (incoming webhook, Block Kit) ----
 * {"text": fallback, "attachments": [{"color": by severity, "blocks": [
 *    header (plain_text title, ≤150 chars),
 *    section (mrkdwn message),
 *    section fields: Severity, Rule, then by the log type of the alert's
 *                    "fields": CloudTrail (or no "fields") Principal,
 *                    Source IP, Account, Region, Event, Event time (from
 *                    the firing event = last of "events":
 *                    userIdentity.arn (else .principalId, .userName),
 *                    sourceIPAddress, recipientAccountId (else
 *                    userIdentity.accountId), awsRegion, eventSource +
 *                    eventName, eventTime; "-" when missing); any other
 *                    log type: Log type, User, Source IP, Account, Action,
 *                    Outcome, Event time from "fields", only those it has;
 *                    then each path the rule's meta `show` names (a string
 *                    or a list), "path" -> its value in the firing event;
 *                    at most 10 fields (Slack's limit),
 *    CloudTrail only: section with a ```code block``` of requestParameters
 *    (compact JSON, cut to max_params bytes at a UTF-8 boundary, with "…"),
 *    context: alert id, count when > 1 ]}]}
 * Every piece of event data is escaped for mrkdwn: & -> &amp;, < -> &lt;,
 * > -> &gt; (so "<!channel>" or "<http://x|y>" in an event cannot ping or
 * forge a link), and ``` inside the code block cannot close it. Texts are cut
 * to Slack's limits (section text 3000, field 2000, header 150 chars). */
typedef struct slack_fmt_opts {
    size_t max_params;      /* bytes of requestParameters shown; 0 = 1500 */
    const char *username;   /* optional "username" of the message, or NULL */
    const char *icon_emoji; /* optional, or NULL */
    const char *channel;    /* optional "channel" override, or NULL */
} slack_fmt_opts;
int sd_slack_format(buf *out, const char *alert_json, size_t len, const slack_fmt_opts *o);
/* Severity colour: critical #8B0000, high #E01E5A, medium #ECB22E, low #36C5F0, info #A0A0A0. */
const char *sd_slack_color(const char *name);
/* Appends s[0..n) to t escaped for mrkdwn (& < > as entities, invalid UTF-8
 * as U+FFFD), at most `limit` UTF-16 units, cut with "…" (raw text: write
 * it with sd_buf_json_string). */
void sd_slack_mrkdwn(buf *t, const char *s, size_t n, size_t limit);

/* ---- Digest (format_digest.c) ----
 * Many alerts summarised in one message, by rule, loudest first: for each
 * rule its title, highest severity, count, first and last event time, the
 * message of its latest alert, its top groups (group object → count, the
 * most frequent first, ties in order of first appearance) and, in the
 * webhook form, the ids of its alerts. The webhook form is one JSON object
 *   {"type":"digest","sink":NAME,"alerts":N,"rules":R,"first_seen":T,"last_seen":T,
 *    "by_rule":[{"rule","title","severity","count","first_seen","last_seen",
 *                "message","top_groups":[{"group":{...},"count":K}],"ids":[...]}]}
 * and the Slack form one message: a fallback text, then an attachment
 * coloured by the highest severity with a header ("secdet digest: N alerts,
 * R rules"), the time span, a section per rule (at most max_rules, then one
 * line for the rest) — every piece of alert data escaped as in
 * sd_slack_format. Alerts whose JSON does not parse are counted and left out
 * ("unreadable"). Returns -1 only when memory runs out (out unchanged in
 * length). */
typedef struct digest_fmt_opts {
    const char *sink;     /* the sink's name */
    size_t top_groups;    /* per rule; 0 = 3 */
    size_t max_rules;     /* Slack sections; 0 = 20 */
    const char *username; /* Slack options, or NULL */
    const char *icon_emoji;
    const char *channel;
} digest_fmt_opts;
int sd_digest_format_json(buf *out, const char *const *alerts, const size_t *lens, size_t n, const digest_fmt_opts *o);
int sd_digest_format_slack(buf *out, const char *const *alerts, const size_t *lens, size_t n, const digest_fmt_opts *o);

/* ---- Syslog (RFC 5424) ----
 * <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [secdet@<pen> rule="..."
 *   severity="..." id="..." source="..." count="N" log_type="..." ip="..."
 *   user="..." account="..." action="..." outcome="..." event_id="..."] MSG
 * (the common fields the alert's "fields" has, each only when present)
 * PRI = facility*8 + severity: critical→2 (crit), high→3 (err), medium→4
 * (warning), low→5 (notice), info→6 (info). TIMESTAMP is the alert's event
 * time ("time"), RFC 3339 with microseconds, UTC ("Z"). HOSTNAME, APP-NAME,
 * PROCID, MSGID are PRINTUSASCII cut to RFC lengths (255, 48, 128, 32), "-"
 * when empty. SD-PARAM values escape '"', '\\' and ']' with a backslash.
 * MSG is the BOM-less UTF-8 text "title: message"; every control character
 * (below 0x20 and 0x7f), newlines included, becomes "\n", "\r", "\t" or
 * "\xHH", so one alert is always one line. No trailing newline: framing is
 * the transport's. */
typedef struct syslog_fmt_opts {
    int facility;         /* 0..23; default by caller (10 = authpriv... caller's choice) */
    const char *hostname; /* NULL/"" -> "-" */
    const char *app_name; /* NULL -> "secdet" */
    const char *procid;   /* NULL -> "-" */
    const char *msgid;    /* NULL -> "alert" */
    const char *sd_id;    /* NULL -> "secdet@32473" */
    size_t max_msg;       /* MSG part cut to this many bytes (UTF-8 boundary); 0 = 8192 */
} syslog_fmt_opts;
int sd_syslog_format(buf *out, const char *alert_json, size_t len, const syslog_fmt_opts *o);
/* Severity name ("high", ...) -> syslog severity 0..7 (unknown -> 5). */
int sd_syslog_severity(const char *name);

/* ---- Standard Webhooks signature (https://www.standardwebhooks.com) ----
 * Secret "whsec_<base64>" (the key is the decoded bytes; without the prefix
 * the whole string is base64). Signature header value:
 * "v1,<base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))>".
 * OpenSSL does HMAC and base64. */
/* 0 and key[0..*keylen) on success; -1 when not valid base64 or longer than keycap. */
int sd_webhook_secret_decode(const char *secret, unsigned char *key, size_t keycap, size_t *keylen);
/* Appends "v1,<base64>" to out. 0, or -1 on an OpenSSL failure. */
int sd_webhook_sign(buf *out, const unsigned char *key, size_t keylen, const char *id, int64_t timestamp,
                    const char *body, size_t len);

/* ---- Shared by the formatters (format_util.c) ----
 * A scalar's text and its length in *len: a non-empty string (all of it:
 * it may hold U+0000, which the formatters escape like any control
 * character), a number (integers without a fraction) or a boolean; NULL
 * for anything else (missing, null, "", object, array). tmp holds the
 * digits of a number. */
typedef struct cJSON cJSON;
const char *sd_format_scalar(const cJSON *it, char tmp[static 40], size_t *len);

#endif
