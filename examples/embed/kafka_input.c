/*
 * kafka_input.c — a detection service in a Kafka consumer group: reads
 * CloudTrail records (one JSON object per message) from a topic, evaluates
 * a rule directory, prints every alert as a JSON line, and commits each
 * partition's offsets only once its events are evaluated.
 *
 *     ./kafka_input BROKERS GROUP TOPIC RULES_DIR [STAGE_JSON_MEMBERS]
 *     ./kafka_input 127.0.0.1:9092 secdet cloudtrail rules/aws
 *
 * Start several with the same GROUP: Kafka shares the partitions among them
 * and moves them when one stops or dies. The optional fifth argument adds
 * members to the input's JSON (e.g. "\"stage\":\"partition\",
 * \"repartition_topic\":\"rep\"" for stage 1 of docs/scale-out.md).
 *
 * secdet_kafka_run blocks this thread: polling, evaluating, committing and
 * calling on_alert all happen here. SIGTERM/SIGINT call secdet_kafka_stop —
 * safe from a signal handler — and run returns once the partitions are
 * committed and the group is left; then the held correlation events are
 * flushed and the sinks (none here) drained.
 */
#include <secdet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A signal handler can reach the input only through a global; this is the
 * program's, not the library's (the library keeps no global state). */
static secdet_kafka *volatile g_kafka;

static void on_signal(int sig) {
    (void)sig;
    if (g_kafka) secdet_kafka_stop(g_kafka);
}

static void on_alert(void *user, const secdet_alert *alert) {
    unsigned long *n = user;
    (*n)++;
    size_t len = 0;
    const char *json = secdet_alert_json(alert, &len); /* valid only during this call */
    fwrite(json, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static void on_log(void *user, const char *message) {
    (void)user;
    fprintf(stderr, "kafka_input: %s\n", message);
}

static int fail(const char *what, secdet_status st, secdet_engine *e) {
    fprintf(stderr, "kafka_input: %s: %s\n", what, secdet_strerror(st));
    secdet_engine_free(e);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: kafka_input BROKERS GROUP TOPIC RULES_DIR [JSON_MEMBERS]\n");
        return 2;
    }
    secdet_engine *e = NULL;
    secdet_status st = secdet_engine_new(NULL, &e);
    if (st != SECDET_OK) return fail("engine", st, NULL);
    secdet_diagnostics *d = NULL;
    st = secdet_load_rules_dir(e, argv[4], &d);
    for (size_t i = 0; i < secdet_diagnostics_count(d); i++) {
        char *m = secdet_diagnostics_format(d, i);
        fprintf(stderr, "%s\n", m);
        secdet_free(m);
    }
    secdet_diagnostics_free(d);
    if (st != SECDET_OK) return fail("rules", st, e);
    secdet_source_opts src = {.format = SECDET_FMT_JSONL};
    if ((st = secdet_source_add(e, "cloudtrail", &src)) != SECDET_OK) return fail("source", st, e);
    unsigned long alerts = 0;
    secdet_set_alert_callback(e, on_alert, &alerts);

    /* The input's configuration: the same JSON `secdet run` takes. Real
     * code would build it with a JSON library rather than by hand. */
    char conf[2048];
    int n =
        snprintf(conf, sizeof conf, "{\"type\":\"kafka\",\"brokers\":\"%s\",\"group\":\"%s\",\"topics\":[\"%s\"]%s%s}",
                 argv[1], argv[2], argv[3], argc == 6 ? "," : "", argc == 6 ? argv[5] : "");
    if (n < 0 || (size_t)n >= sizeof conf) return fail("arguments", SECDET_ERR_INVALID_ARG, e);
    secdet_kafka *k = NULL;
    char *err = NULL;
    st = secdet_kafka_new(e, "cloudtrail", conf, (size_t)n, &k, &err);
    if (st != SECDET_OK) {
        fprintf(stderr, "kafka_input: %s\n", err ? err : secdet_strerror(st));
        secdet_free(err);
        secdet_engine_free(e);
        return 1;
    }
    secdet_kafka_set_log(k, on_log, NULL);
    g_kafka = k;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    fprintf(stderr, "kafka_input: consuming %s as group %s\n", argv[3], argv[2]);

    st = secdet_kafka_run(k);
    g_kafka = NULL;
    secdet_flush(e); /* aggregation alerts still held for ordering */
    secdet_drain(e, 10000);
    secdet_kafka_stats ks;
    secdet_kafka_stats_get(k, &ks);
    fprintf(stderr, "kafka_input: %llu messages, %lu alerts, %llu commits\n", (unsigned long long)ks.messages, alerts,
            (unsigned long long)ks.commits);
    secdet_kafka_free(k);
    secdet_engine_free(e);
    return st == SECDET_OK ? 0 : 1;
}
