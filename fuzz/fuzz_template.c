/* fuzz_template.c — libFuzzer target: output templates, rendered.
 *
 * Byte 0 picks the mode:
 *   bit 0 = 0  the payload is a rule's output template (written into a
 *              string literal with its quotes, backslashes and control
 *              bytes escaped, so the text reaching the template parser is
 *              exactly the payload), compiled and rendered on fixed events;
 *   bit 0 = 1  the payload is one event (a JSON object) rendered by a fixed
 *              set of templates that use every placeholder.
 *   bits 1-2   the rule's clause: 0 stateless, 1 count by two keys,
 *              2 distinct, 3 throttle by a key ({count}, {distinct} and
 *              {group} each render something in one of them);
 *   bit 3      a 40-byte message limit (engine option max_message_bytes),
 *              so every template is also cut at a UTF-8 boundary.
 * Properties: every alert's message fits the limit; its JSON parses, and
 * when the message is valid UTF-8 without NUL, the JSON's "message" is the
 * message byte for byte (the JSON writer's escaping is lossless).
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secdet.h"
#include "utf8_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_LIMIT 40

static const char *const CLAUSES[4] = {
    "",
    "count >= 2 within 1h by .user, lower(.ip)\n",
    "distinct .name >= 2 within 1h by .user\n",
    "throttle 1h by .user\n",
};

/* Events every template is rendered on: strings, numbers, nesting, [*],
 * quoted keys, unicode, missing fields. Two per user so counts complete. */
static const char EVENTS[] =
    "{\"eventTime\":\"2024-03-14T09:00:00Z\",\"user\":\"alice\",\"ip\":\"10.0.0.1\",\"name\":\"A\","
    "\"n\":5,\"f\":2.5,\"big\":1e300,\"b\":true,\"z\":null,\"s\":\"caf\\u00e9 \\ud83d\\ude00\","
    "\"a\":[{\"b\":1},{\"b\":\"two\"},{\"c\":[1,2]}],\"o\":{\"x\":{\"y\":[]}},\"key with spaces\":\"k\"}\n"
    "{\"eventTime\":\"2024-03-14T09:00:01Z\",\"user\":\"alice\",\"ip\":\"10.0.0.1\",\"name\":\"B\","
    "\"n\":-0.1,\"s\":\"tab\\there\\nnewline \\\"q\\\" \\\\\",\"a\":[],\"o\":{}}\n"
    "{\"eventTime\":\"2024-03-14T09:00:02Z\",\"user\":\"bob\",\"name\":\"A\",\"s\":\"x\"}\n"
    "{\"eventTime\":\"2024-03-14T09:00:03Z\",\"user\":\"bob\",\"name\":\"C\",\"a\":[null,true,false,0]}\n";

/* A template with every placeholder, and a few that stress the edges. */
static const char *const FIXED_TEMPLATES[] = {
    "{rule} {title} {severity} {count} {distinct} {group} {{literal}}",
    "{.user} {.ip} {.n} {.f} {.big} {.b} {.z} {.s} {.missing} {.o} {.a}",
    "{.a[*].b} {.a[0].c[*]} {.a[*]} {.\\\"key with spaces\\\"} {.o.x.y} {.o.x.y[*]}",
    "\\u00e9\\u2026 {.s}{.s}{.s}{.s}{.s}{.s}{.s}{.s}{.s}{.s}{.s}{.s}{.s}{.s}",
};

typedef struct alert_state {
    size_t limit;
    unsigned alerts;
} alert_state;

static void check_alert(void *user, const secdet_alert *a) {
    alert_state *st = user;
    st->alerts++;
    const char *msg = secdet_alert_message(a);
    if (!msg) __builtin_trap();
    size_t mlen = strlen(msg);
    if (mlen > st->limit) __builtin_trap();
    size_t len = 0;
    const char *json = secdet_alert_json(a, &len);
    cJSON *obj = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(obj)) __builtin_trap();
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "message");
    if (!cJSON_IsString(m)) __builtin_trap();
    if (oracle_utf8_clean((const unsigned char *)msg, mlen) && strcmp(m->valuestring, msg) != 0) __builtin_trap();
    cJSON_Delete(obj);
}

/* `output "..."` with the template's bytes escaped for a rule string. */
static void append_template(char *out, size_t *n, const char *t, size_t len, bool raw) {
    static const char hex[] = "0123456789abcdef";
    memcpy(out + *n, "    output \"", 12);
    *n += 12;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (raw) {
            out[(*n)++] = (char)c;
        } else if (c == '"' || c == '\\') {
            out[(*n)++] = '\\';
            out[(*n)++] = (char)c;
        } else if (c < 0x20) {
            memcpy(out + *n, "\\u00", 4);
            out[*n + 4] = hex[c >> 4];
            out[*n + 5] = hex[c & 15];
            *n += 6;
        } else {
            out[(*n)++] = (char)c;
        }
    }
    memcpy(out + *n, "\"\n", 2);
    *n += 2;
}

/* Loads one rule per template (t_0, t_1, ...) with the chosen clause. */
static bool load_rules(secdet_engine *e, const char *const *tpls, const size_t *lens, size_t ntpl, bool raw,
                       const char *clause) {
    size_t cap = 256;
    for (size_t i = 0; i < ntpl; i++) cap += 256 + strlen(clause) + lens[i] * 6;
    char *text = malloc(cap);
    if (!text) return false;
    size_t n = 0;
    for (size_t i = 0; i < ntpl; i++) {
        n += (size_t)snprintf(text + n, cap - n,
                              "rule t_%zu {\n    meta { title = \"T%zu\" severity = critical }\n"
                              "    where exists .user\n    %s",
                              i, i, clause);
        append_template(text, &n, tpls[i], lens[i], raw);
        memcpy(text + n, "}\n", 2);
        n += 2;
    }
    bool ok = secdet_load_rules_string(e, "template.secdet", text, n, NULL) == SECDET_OK;
    free(text);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    bool fuzz_event = data[0] & 1u;
    const char *clause = CLAUSES[(data[0] >> 1) & 3u];
    bool small = data[0] & 8u;
    const char *payload = (const char *)data + 1;
    size_t plen = size - 1;

    secdet_engine_opts opts;
    secdet_engine_opts_init(&opts);
    if (small) opts.max_message_bytes = SMALL_LIMIT;
    secdet_engine *e = NULL;
    if (secdet_engine_new(&opts, &e) != SECDET_OK) return 0;
    alert_state st = {.limit = small ? SMALL_LIMIT : 65536};
    secdet_set_alert_callback(e, check_alert, &st);

    bool loaded;
    if (fuzz_event) {
        size_t n = sizeof FIXED_TEMPLATES / sizeof FIXED_TEMPLATES[0];
        size_t lens[sizeof FIXED_TEMPLATES / sizeof FIXED_TEMPLATES[0]];
        for (size_t i = 0; i < n; i++) lens[i] = strlen(FIXED_TEMPLATES[i]);
        loaded = load_rules(e, FIXED_TEMPLATES, lens, n, true, clause);
        if (!loaded) __builtin_trap(); /* the fixed templates must compile */
        (void)secdet_push_event(e, "jsonl", payload, plen);
        (void)secdet_push_event(e, "jsonl", payload, plen);
    } else {
        const char *tpl[1] = {payload};
        size_t lens[1] = {plen};
        loaded = load_rules(e, tpl, lens, 1, false, clause);
        if (loaded) {
            secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL});
            (void)secdet_push(e, "jsonl", EVENTS, sizeof EVENTS - 1);
            (void)secdet_source_end(e, "jsonl");
        }
    }
    (void)secdet_flush(e);
    secdet_engine_free(e);
    return 0;
}
