/* fuzz_config.c — libFuzzer target: the `secdet run` configuration loader.
 *
 * The input is the configuration file's text. cfg_parse must either accept
 * it (then everything it filled in is well-formed: names set, paths
 * resolved, a sink at least, each sink's completed JSON accepted by
 * secdet_sink_from_json) or refuse it with a message naming the JSON
 * path — never crash, leak or read out of bounds. Relative paths resolve
 * against a fixed directory; nothing is opened (rules are loaded later, by
 * `secdet run`, not by the loader).
 */
#include <stdint.h>
#include <string.h>

#include "cli/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    cfg c;
    char err[512];
    err[0] = 0;
    if (cfg_parse("/fuzz/secdet.json", (const char *)data, size, &c, err, sizeof err) == 0) {
        if (c.nsinks == 0 || c.nsources == 0 || c.nrules == 0) __builtin_trap();
        for (size_t i = 0; i < c.nsources; i++)
            if (!c.sources[i].name) __builtin_trap();
        for (size_t i = 0; i < c.nrules; i++)
            if (!c.rules[i] || c.rules[i][0] != '/') __builtin_trap(); /* resolved against /fuzz */
        /* Every sink was checked by building it: its completed JSON builds again. */
        for (size_t i = 0; i < c.nsinks; i++) {
            secdet_sink *sink = NULL;
            if (!c.sinks[i].json || !c.sinks[i].name ||
                secdet_sink_from_json(c.sinks[i].json, strlen(c.sinks[i].json), &sink, NULL) != SECDET_OK)
                __builtin_trap();
            secdet_sink_free(sink);
        }
        cfg_free(&c);
    } else if (!err[0] || !memchr(err, 0, sizeof err)) {
        __builtin_trap(); /* every refusal says why */
    }
    return 0;
}
