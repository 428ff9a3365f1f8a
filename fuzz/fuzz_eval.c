/* fuzz_eval.c — libFuzzer target: fuzzed events through a fixed ruleset.
 *
 * The ruleset (EVAL_RULES, eval_rules.h) uses every operator, function and
 * clause of the language. The events come from the input and go through the
 * public API exactly as an embedding program would send them: secdet_push
 * (in chunks) or secdet_push_event per line, then secdet_source_end. Then
 * the correlation state (held events, windows, partial sequences,
 * throttles) is written as a snapshot and read back into the engine, and
 * secdet_flush releases what is held.
 *
 * Byte 0 chooses the engine and the path in:
 *   bits 0-1  source format: 0 jsonl, 1 cloudtrail, 2 auto, 3 push_event per line
 *   bit 2     a tiny VM instruction budget (64) instead of the default
 *   bit 3     lateness 0 (every out-of-order event is late) instead of 1 minute
 *   bit 4     a tiny correlation state cap (4 KiB: eviction)
 *   bits 5-7  push in chunks of 2^(k+2) bytes (7: all at once)
 * Properties checked on every alert: its JSON parses as an object with the
 * right rule name, a 32-hex-digit id and a message; stats.alerts equals the
 * number of alerts delivered; a snapshot the engine wrote reads back, and
 * writing the state read gives the same bytes again.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "eval_rules.h"
#include "secdet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct alert_state {
    uint64_t alerts;
} alert_state;

static void check_alert(void *user, const secdet_alert *a) {
    alert_state *st = user;
    st->alerts++;
    size_t len = 0;
    const char *json = secdet_alert_json(a, &len);
    const char *rule = secdet_alert_rule(a);
    const char *id = secdet_alert_id(a);
    if (!json || !rule || !id || !secdet_alert_message(a) || !secdet_alert_title(a)) __builtin_trap();
    if (strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32) __builtin_trap();
    cJSON *obj = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(obj)) __builtin_trap();
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(obj, "rule");
    if (!cJSON_IsString(r) || strcmp(r->valuestring, rule) != 0) __builtin_trap();
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(obj, "events"))) __builtin_trap();
    cJSON_Delete(obj);
}

static void on_error(void *user, const char *source, uint64_t where, const char *message) {
    (void)user;
    (void)where;
    if (!source || !message || !message[0]) __builtin_trap();
}

static void push_lines(secdet_engine *e, const char *src, const char *p, size_t n) {
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        (void)secdet_push_event(e, src, p, len);
        if (!nl) break;
        p += len + 1;
        n -= len + 1;
    }
}

/* The engine's correlation state → snapshot bytes → the engine again. */
static void snapshot_round_trip(secdet_engine *e) {
    buf first, second;
    sd_buf_init(&first);
    sd_buf_init(&second);
    if (sd_engine_snapshot_bytes(e, &first) == SECDET_OK) {
        diag_list d;
        sd_diag_init(&d);
        secdet_status st = sd_engine_restore_bytes(e, first.data, first.len, "round-trip", &d);
        if (st == SECDET_ERR_DECODE || d.warnings) __builtin_trap(); /* out of memory is allowed */
        if (st == SECDET_OK && sd_engine_snapshot_bytes(e, &second) == SECDET_OK &&
            (second.len != first.len || memcmp(first.data, second.data, first.len) != 0))
            __builtin_trap();
        sd_diag_free(&d);
    }
    sd_buf_free(&first);
    sd_buf_free(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned how = data[0] & 3u;
    const char *payload = (const char *)data + 1;
    size_t plen = size - 1;

    secdet_engine_opts opts;
    secdet_engine_opts_init(&opts);
    opts.max_samples = 3;
    opts.lateness_ms = (data[0] & 8u) ? 0 : 60000;
    if (data[0] & 4u) opts.vm_budget = 64;
    if (data[0] & 16u) opts.max_state_bytes = 4096;
    secdet_engine *e = NULL;
    if (secdet_engine_new(&opts, &e) != SECDET_OK) return 0;
    if (secdet_load_rules_string(e, "eval.secdet", EVAL_RULES, sizeof EVAL_RULES - 1, NULL) != SECDET_OK)
        __builtin_trap(); /* the fixed ruleset must always load */

    alert_state st = {0};
    secdet_set_alert_callback(e, check_alert, &st);
    secdet_set_error_callback(e, on_error, NULL);

    static const char *const names[4] = {"jsonl", "cloudtrail", "auto", "jsonl"};
    static const secdet_format fmts[4] = {SECDET_FMT_JSONL, SECDET_FMT_CLOUDTRAIL, SECDET_FMT_AUTO, SECDET_FMT_JSONL};
    const char *src = names[how];
    secdet_source_opts so = {.format = fmts[how], .time_field = NULL};
    if (secdet_source_add(e, src, &so) != SECDET_OK) __builtin_trap();

    if (how == 3) {
        push_lines(e, src, payload, plen);
    } else {
        unsigned k = (data[0] >> 5) & 7u;
        size_t chunk = k == 7 ? (plen ? plen : 1) : (size_t)4 << k;
        for (size_t off = 0; off < plen; off += chunk) {
            size_t len = plen - off < chunk ? plen - off : chunk;
            (void)secdet_push(e, src, payload + off, len);
        }
        (void)secdet_source_end(e, src);
    }
    snapshot_round_trip(e);
    (void)secdet_flush(e);

    secdet_stats stats;
    if (secdet_stats_get(e, &stats) != SECDET_OK || stats.alerts != st.alerts) __builtin_trap();
    secdet_engine_free(e);
    return 0;
}
