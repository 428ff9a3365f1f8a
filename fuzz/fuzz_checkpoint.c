/* fuzz_checkpoint.c — libFuzzer target: stage 2's partition checkpoints
 * (src/kafka/checkpoint.c), read back on assignment.
 *
 * The input is a checkpoint envelope as it sits on the state topic: magic,
 * the offset to resume at, the origins table, then an engine snapshot. A
 * damaged envelope must be refused (sd_kafka_envelope_read -1) without
 * trusting a length; one that parses hands its tail to the snapshot reader,
 * which must refuse or restore. After a restore the partition engine must
 * be usable: events are pushed for a rule, the watermark moved, the state
 * flushed. Every origin name read must be NUL-free (they become header
 * values and log text). The engine has the fixed ruleset of fuzz_eval
 * (eval_rules.h), so the seeds' snapshots (fuzz/seeds.py) match its rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval_rules.h"
#include "engine/engine.h"
#include "kafka/kafka_int.h"
#include "secdet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char EVENT[] = "{\"eventTime\":\"2024-03-14T09:00:00Z\",\"eventName\":\"ConsoleLogin\",\"user\":\"eve\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    secdet_engine_opts opts;
    secdet_engine_opts_init(&opts);
    opts.max_samples = 3;
    s2part s;
    memset(&s, 0, sizeof s);
    if (secdet_engine_new(&opts, &s.pe) != SECDET_OK) return 0;
    if (secdet_load_rules_string(s.pe, "eval.secdet", EVAL_RULES, sizeof EVAL_RULES - 1, NULL) != SECDET_OK)
        __builtin_trap();
    sd_engine_set_external_watermark(s.pe);

    int64_t next = 0;
    size_t at = 0;
    if (sd_kafka_envelope_read(&s, data, size, &next, &at) == 0) {
        if (at > size) __builtin_trap();
        for (size_t i = 0; i < s.no; i++)
            if (!s.o[i].name) __builtin_trap();
        diag_list d;
        sd_diag_init(&d);
        secdet_status st = sd_engine_restore_bytes(s.pe, (const char *)data + at, size - at, "fuzz", &d);
        if (st == SECDET_ERR_DECODE && d.errors == 0) __builtin_trap(); /* a refusal says why */
        sd_diag_free(&d);
        if (st == SECDET_OK) {
            const program *p = s.pe->rs->prog;
            for (uint32_t r = 0; r < p->nrules; r++)
                (void)sd_engine_push_forwarded(s.pe, "jsonl", p->rules[r].name, 1710406800000000000LL, EVENT,
                                               sizeof EVENT - 1);
            sd_engine_set_watermark(s.pe, 1710406800000000000LL);
            (void)secdet_flush(s.pe);
        }
    }
    for (size_t i = 0; i < s.no; i++) free(s.o[i].name);
    free(s.o);
    secdet_engine_free(s.pe);
    return 0;
}
