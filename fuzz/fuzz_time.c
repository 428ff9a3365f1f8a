/* fuzz_time.c — libFuzzer target: RFC 3339 event time, parse ⇄ format.
 *
 * Two round-trip properties, checked on every input (a violation traps, so
 * the fuzzer keeps the input):
 *  1. text → ns → text → ns: when the input parses, its formatted form must
 *     parse back to the same instant and format to the same text again (the
 *     formatter emits only what the parser accepts, and loses nothing).
 *  2. ns → text → ns: the first 8 input bytes as an int64 instant must format
 *     to text that parses back to exactly that instant — for every instant
 *     time.c promises to parse (all of int64 but the last partial second
 *     above INT64_MIN, which time.c documents as given up).
 * The formatter's output must also fit the 40 bytes time.h promises and
 * end in 'Z'.
 */
#include <stdint.h>
#include <string.h>

#include "event/time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS_PER_SEC 1000000000LL

static void check_formatted(const char *out, size_t n) {
    if (n == 0 || n >= 40 || out[n] != 0 || out[n - 1] != 'Z' || strlen(out) != n) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    int64_t ns = 0;
    char out[40], again[40];

    if (sd_time_parse_rfc3339(s, size, &ns)) {
        size_t n = sd_time_format_rfc3339(ns, out);
        check_formatted(out, n);
        int64_t ns2 = 0;
        if (!sd_time_parse_rfc3339(out, n, &ns2) || ns2 != ns) __builtin_trap();
        size_t n2 = sd_time_format_rfc3339(ns2, again);
        if (n2 != n || memcmp(out, again, n) != 0) __builtin_trap();
    }

    if (size >= 8) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) u = (u << 8) | data[i];
        int64_t inst = (int64_t)u;
        size_t n = sd_time_format_rfc3339(inst, out);
        check_formatted(out, n);
        int64_t back = 0;
        bool ok = sd_time_parse_rfc3339(out, n, &back);
        if (inst >= (INT64_MIN / NS_PER_SEC) * NS_PER_SEC) {
            if (!ok || back != inst) __builtin_trap();
        }
    }
    return 0;
}
