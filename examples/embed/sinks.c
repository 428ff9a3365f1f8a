/*
 * sinks.c — delivering alerts with libsecdet's sinks.
 *
 * An engine with two sinks: a JSON-lines file with a spool (configured from
 * JSON, as `secdet run` would), and a callback that counts what it gets but
 * only takes high and critical alerts. Pushes a few events, waits for
 * delivery with secdet_drain, and prints each sink's counters.
 *
 * Usage: sinks DIR   (the file and the spool go under DIR, which must exist)
 * Exit status: 0 when the file got both alerts and the callback the critical
 * one only; 1 otherwise; 2 when the library refused to start.
 *
 * Build against an installed libsecdet:
 *     cc sinks.c $(pkg-config --cflags --libs secdet) -o sinks
 */
#include <secdet.h>

#include <stdio.h>
#include <string.h>

static const char RULES[] = "rule root_login {\n"
                            "    meta { title = \"Root console sign-in\"  severity = critical }\n"
                            "    where .eventName == \"ConsoleLogin\" and .userIdentity.type == \"Root\"\n"
                            "}\n"
                            "rule access_denied {\n"
                            "    meta { title = \"Access denied\"  severity = low }\n"
                            "    where .errorCode == \"AccessDenied\"\n"
                            "}\n";

static const char EVENTS[] = "{\"eventName\":\"ConsoleLogin\",\"userIdentity\":{\"type\":\"Root\"}}\n"
                             "{\"eventName\":\"GetObject\",\"errorCode\":\"AccessDenied\"}\n"
                             "{\"eventName\":\"ListBuckets\"}\n";

/* Runs on the engine's delivery thread, never on the pushing one. */
static secdet_sink_result on_delivery(void *user, const secdet_delivery *d) {
    int *count = user;
    (*count)++;
    printf("callback: %s alert %s\n", secdet_severity_name(secdet_delivery_severity(d)), secdet_delivery_id(d));
    return SECDET_SINK_OK;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: sinks DIR\n");
        return 2;
    }
    secdet_engine *e = NULL;
    if (secdet_engine_new(NULL, &e) != SECDET_OK ||
        secdet_load_rules_string(e, "inline.secdet", RULES, strlen(RULES), NULL) != SECDET_OK ||
        secdet_source_add(e, "app", &(secdet_source_opts){.format = SECDET_FMT_JSONL}) != SECDET_OK) {
        fprintf(stderr, "sinks: could not set up the engine\n");
        secdet_engine_free(e);
        return 2;
    }

    /* A file sink from JSON: the same object as in secdet run's "sinks". */
    char json[1024];
    snprintf(json, sizeof json,
             "{\"type\":\"file\",\"name\":\"alerts-file\",\"path\":\"%s/alerts.jsonl\",\"spool_dir\":\"%s/spool\"}",
             argv[1], argv[1]);
    secdet_sink *sink = NULL;
    secdet_diagnostics *diag = NULL;
    if (secdet_sink_from_json(json, strlen(json), &sink, &diag) != SECDET_OK || secdet_sink_add(e, sink) != SECDET_OK) {
        secdet_diagnostic d;
        if (secdet_diagnostics_get(diag, 0, &d) == SECDET_OK) fprintf(stderr, "sinks: %s\n", d.message);
        secdet_diagnostics_free(diag);
        secdet_engine_free(e);
        return 2;
    }
    secdet_diagnostics_free(diag); /* warnings only, if any */

    /* A callback sink for high and critical alerts only. */
    int count = 0;
    secdet_sink_opts opts;
    secdet_sink_opts_init(&opts);
    opts.name = "urgent";
    opts.min_severity = SECDET_SEVERITY_HIGH;
    if (secdet_sink_callback(on_delivery, &count, &opts, &sink) != SECDET_OK || secdet_sink_add(e, sink) != SECDET_OK) {
        secdet_engine_free(e);
        return 2;
    }

    secdet_push(e, "app", EVENTS, strlen(EVENTS));
    /* Wait (at most 10 s) until every alert is delivered, then report. */
    secdet_status st = secdet_drain(e, 10000);
    int ok = st == SECDET_OK;
    for (size_t i = 0; i < secdet_sink_count(e); i++) {
        secdet_sink_stats s;
        secdet_sink_stats_get(e, i, &s);
        printf("%-12s accepted %llu, filtered %llu, delivered %llu, pending %llu\n", secdet_sink_name(e, i),
               (unsigned long long)s.accepted, (unsigned long long)s.filtered, (unsigned long long)s.delivered,
               (unsigned long long)s.pending);
        ok &= s.delivered == (i == 0 ? 2u : 1u);
    }
    secdet_engine_free(e);
    ok &= count == 1;
    printf("%s\n", ok ? "ok" : "unexpected result");
    return ok ? 0 : 1;
}
