/*
 * run_check.c — `secdet run --config FILE --check`: the whole configuration
 * checked, nothing started (like `nginx -t`).
 *
 * cfg_load has already checked every key, built every sink once from its
 * JSON (which reads its secret references but opens no spool, file or
 * connection) and parsed each Kafka input's own keys. This adds what only
 * starting would otherwise find: the rules compiled with the configured
 * limits, each source added (format and time field as the engine takes
 * them), and each Kafka input's librdkafka properties set on a client
 * configuration (names and values; no client is made, no broker contacted).
 * No port is bound, no input file opened, no spool directory created.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "kafka/kafka.h"

static int check_kafka_input(const char *path, const cfg_input *in, size_t si, size_t ii) {
    char err[512];
    bool aggregate;
    if (sd_kafka_input_check(in->kafka_json, strlen(in->kafka_json), true, &aggregate, err, sizeof err) != 0) {
        fprintf(stderr, "secdet: %s: sources[%zu].input[%zu] (kafka): %s\n", path, si, ii, err);
        return -1;
    }
    return 0;
}

int cfg_check(const cfg *c, const char *path) {
    secdet_engine *engine = NULL;
    secdet_status st = secdet_engine_new(&c->opts, &engine);
    if (st != SECDET_OK) {
        fprintf(stderr, "secdet: %s: limits: %s\n", path, secdet_strerror(st));
        return CLI_EXIT_ERROR;
    }
    int bad = 0;
    cli_load_result lr = {0, 0};
    char msg[320];
    if (cfg_define_log_types(c, engine, msg, sizeof msg) != 0) {
        fprintf(stderr, "secdet: %s: %s\n", path, msg);
        bad = 1;
    }
    if (cli_load_rules(engine, c->rules, c->nrules, 1, &lr) != 0) bad = 1;
    size_t ninputs = 0;
    for (size_t i = 0; i < c->nsources; i++) {
        const cfg_source *s = &c->sources[i];
        secdet_source_opts o = {
            .format = SECDET_FMT_AUTO, .time_field = s->time_field, .format_name = s->format, .log_type = s->log_type};
        st = secdet_source_add(engine, s->name, &o);
        if (st != SECDET_OK) {
            fprintf(stderr, "secdet: %s: sources[%zu]: %s\n", path, i, secdet_strerror(st));
            bad = 1;
        }
        for (size_t j = 0; j < s->ninputs; j++, ninputs++)
            if (s->inputs[j].type == CFG_IN_KAFKA && check_kafka_input(path, &s->inputs[j], i, j) != 0) bad = 1;
    }
    size_t nrules = secdet_rule_count(engine);
    secdet_engine_free(engine);
    if (bad) {
        fprintf(stderr, "secdet: %s: configuration has errors\n", path);
        return CLI_EXIT_ERROR;
    }
    fprintf(stderr, "secdet: %s: configuration OK (%zu rules, %zu sources, %zu inputs, %zu sinks)\n", path, nrules,
            c->nsources, ninputs, c->nsinks);
    return CLI_EXIT_OK;
}
