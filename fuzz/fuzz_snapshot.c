/* fuzz_snapshot.c — libFuzzer target: correlation state snapshots, read.
 *
 * secdet_snapshot_load promises that a damaged snapshot is refused, never
 * trusted: every length and index is checked, and the engine is unchanged
 * when the file is refused. Random bytes would nearly all stop at the
 * header's CRC, so by default this target writes a valid header (magic,
 * version, payload length, CRC-32) in front of the input and hands the
 * payload parser exactly the fuzzed bytes.
 *
 * Byte 0: bit 0 set — the input is the whole file, header included (the
 * header checks themselves). The rest of the input is the payload (or file).
 * The engine has the fixed ruleset of fuzz_eval (eval_rules.h), so rule
 * names and fingerprints in a snapshot it wrote (the seeds) match.
 * After a load that succeeds, the restored state must be usable: fixed
 * events are pushed and flushed, and the state is written and read back
 * (which must succeed: the reader accepts whatever the writer writes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "engine/engine.h"
#include "eval_rules.h"
#include "secdet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER 32u

static const char EVENTS[] =
    "{\"eventTime\":\"2024-03-14T09:00:00Z\",\"eventName\":\"ConsoleLogin\",\"user\":\"eve\",\"s\":\"a\"}\n"
    "{\"eventTime\":\"2024-03-14T09:00:05Z\",\"eventName\":\"StopLogging\",\"user\":\"eve\",\"s\":\"b\"}\n"
    "{\"eventTime\":\"2024-03-14T09:20:00Z\",\"eventName\":\"AccessDenied\",\"user\":\"eve\",\"s\":\"t\"}\n";

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void on_alert(void *user, const secdet_alert *a) {
    (void)user;
    size_t len = 0;
    if (!secdet_alert_json(a, &len) || len == 0) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    bool whole = data[0] & 1u;
    const uint8_t *payload = data + 1;
    size_t plen = size - 1;

    unsigned char *file = malloc(HEADER + plen + 1);
    if (!file) return 0;
    size_t flen;
    if (whole) {
        memcpy(file, payload, plen);
        flen = plen;
    } else {
        memcpy(file, "SDCORSNP", 8);
        put32(file + 8, 1); /* version */
        put32(file + 12, 0);
        put32(file + 16, (uint32_t)plen); /* payload length, low */
        put32(file + 20, (uint32_t)((uint64_t)plen >> 32));
        put32(file + 24, (uint32_t)crc32(0, payload, (uInt)plen));
        put32(file + 28, 0);
        memcpy(file + HEADER, payload, plen);
        flen = HEADER + plen;
    }

    secdet_engine_opts opts;
    secdet_engine_opts_init(&opts);
    opts.max_samples = 3;
    opts.lateness_ms = 60000;
    secdet_engine *e = NULL;
    if (secdet_engine_new(&opts, &e) != SECDET_OK) {
        free(file);
        return 0;
    }
    if (secdet_load_rules_string(e, "eval.secdet", EVAL_RULES, sizeof EVAL_RULES - 1, NULL) != SECDET_OK)
        __builtin_trap();
    secdet_set_alert_callback(e, on_alert, NULL);

    diag_list d;
    sd_diag_init(&d);
    secdet_status st = sd_engine_restore_bytes(e, (const char *)file, flen, "fuzz.snapshot", &d);
    if (st == SECDET_ERR_DECODE && d.errors == 0) __builtin_trap(); /* a refusal says why */
    sd_diag_free(&d);

    if (st == SECDET_OK) {
        (void)secdet_push_event(e, "jsonl", EVENTS, strchr(EVENTS, '\n') - EVENTS);
        secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL});
        (void)secdet_push(e, "jsonl", EVENTS, sizeof EVENTS - 1);
        buf b;
        sd_buf_init(&b);
        if (sd_engine_snapshot_bytes(e, &b) == SECDET_OK) {
            sd_diag_init(&d);
            if (sd_engine_restore_bytes(e, b.data, b.len, "again", &d) == SECDET_ERR_DECODE) __builtin_trap();
            sd_diag_free(&d);
        }
        sd_buf_free(&b);
        (void)secdet_flush(e);
    }
    secdet_engine_free(e);
    free(file);
    return 0;
}
