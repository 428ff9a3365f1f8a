/* fuzz_config.c — libFuzzer target: the `secdet run` configuration loader.
 *
 * The input is the configuration file's text. cfg_parse must either accept
 * it (then everything it filled in is well-formed: names set, paths
 * resolved, a sink at least, each sink's completed JSON accepted by
 * secdet_sink_from_json) or refuse it with a message naming the JSON
 * path — never crash, leak or read out of bounds. Relative paths resolve
 * against a fixed directory; nothing is opened (rules are loaded later, by
 * `secdet run`, not by the loader).
 *
 * A kafka input, when accepted, is the configuration's only input; its
 * checked JSON reads again (sd_kcfg_parse, as secdet_kafka_new will) to the
 * stage the loader noted; its properties then go to librdkafka as
 * secdet_kafka_new will hand them (sd_kafka_conf_new, and the producer
 * settings for stage 1 and 2), and a refusal there names what it refuses
 * without quoting any property's value (values may be passwords: a value
 * of 8 bytes or more with a letter and a digit never appears in it).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/config.h"
#include "util/kafka_conf.h"
#include "kafka/kafka_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether some property's name holds v (names are quoted: they say which). */
static bool in_a_name(const cJSON *props, const char *v) {
    for (const cJSON *p = props->child; p; p = p->next)
        if (p->string && strstr(p->string, v)) return true;
    return false;
}

/* Whether err quotes a property's value that looks like a secret. */
static bool quotes_a_value(const cJSON *props, const char *err) {
    for (const cJSON *p = props ? props->child : NULL; p; p = p->next) {
        if (!cJSON_IsString(p) || in_a_name(props, p->valuestring)) continue;
        const char *v = p->valuestring;
        bool letter = false, digit = false;
        for (const char *q = v; *q; q++) {
            letter = letter || isalpha((unsigned char)*q);
            digit = digit || isdigit((unsigned char)*q);
        }
        if (strlen(v) >= 8 && letter && digit && strstr(err, v)) return true;
    }
    return false;
}

static void check_kafka(const cfg *c, const cfg_source *src, const cfg_input *in) {
    if (c->kafka != src || src->ninputs != 1 || !in->kafka_json) __builtin_trap();
    kcfg k;
    char err[400];
    err[0] = 0;
    if (sd_kcfg_parse(in->kafka_json, strlen(in->kafka_json), &k, err, sizeof err) != 0) __builtin_trap();
    if (in->kafka_stage2 != (k.stage == KSTAGE_AGGREGATE)) __builtin_trap();
    rd_kafka_conf_t *conf = sd_kafka_conf_new(k.brokers, k.props, "secdet", err, sizeof err);
    if (conf && k.stage != KSTAGE_SINGLE && sd_kafka_conf_producer(conf, k.props, err, sizeof err) != 0) {
        rd_kafka_conf_destroy(conf);
        conf = NULL;
    }
    if (conf)
        rd_kafka_conf_destroy(conf);
    else if (!err[0] || quotes_a_value(k.props, err))
        __builtin_trap();
    sd_kcfg_free(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    cfg c;
    char err[512];
    err[0] = 0;
    if (cfg_parse("/fuzz/secdet.json", (const char *)data, size, &c, err, sizeof err) == 0) {
        if (c.nsinks == 0 || c.nsources == 0 || c.nrules == 0) __builtin_trap();
        for (size_t i = 0; i < c.nsources; i++) {
            if (!c.sources[i].name) __builtin_trap();
            for (size_t j = 0; j < c.sources[i].ninputs; j++)
                if (c.sources[i].inputs[j].type == CFG_IN_KAFKA)
                    check_kafka(&c, &c.sources[i], &c.sources[i].inputs[j]);
        }
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
