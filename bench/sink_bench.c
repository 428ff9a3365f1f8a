/*
 * sink_bench.c — what sinks cost, measured through the C API
 * (bench/sink_bench.sh runs it and prints the table).
 *
 *   sink_bench deliver --sink JSON [-n N]
 *       An engine with one rule that fires on every event and the sink
 *       JSON (secdet_sink_from_json, e.g. a webhook to bench/http_sink_server);
 *       pushes N distinct JSON-lines events (default 100000), then
 *       secdet_drain. Times the push and push + drain: alerts/s delivered.
 *
 *   sink_bench eval --rules FILE --input FILE [--sink JSON]...
 *       An engine with the rules, the input (JSON lines of CloudTrail
 *       records) pushed in 1 MiB chunks to a source "cloudtrail"; with
 *       --sink, those sinks too (e.g. a webhook to a closed port with a
 *       spool_dir: the endpoint down). Times the evaluation (push, end,
 *       flush) — what a sink that is down costs the thread that pushes;
 *       the drain afterwards (bounded by --drain-ms, default 2000) is not
 *       timed.
 *
 * Prints one line "RESULT key=value ..." on stdout (wall and CPU seconds of
 * the timed part, counters), and the sinks' counters on stderr.
 * Exit status 0, or 1 with a message on any error (a sink that dropped or
 * dead-lettered an alert in `deliver` is an error: the number would lie).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "secdet.h"

#define CHUNK (1u << 20)

static const char EVERY_RULE[] = "rule every {\n"
                                 "    meta { title = \"bench\" severity = high tags = [\"bench\"] }\n"
                                 "    where .eventName == \"Bench\"\n"
                                 "    output \"event {.n} by {.user}\"\n"
                                 "}\n";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static int fail(const char *what, secdet_status st) {
    fprintf(stderr, "sink_bench: %s: %s\n", what, secdet_strerror(st));
    return 1;
}

static void print_diag(secdet_diagnostics *d) {
    for (size_t i = 0; i < secdet_diagnostics_count(d); i++) {
        char *t = secdet_diagnostics_format(d, i);
        if (t) fprintf(stderr, "%s\n", t);
        secdet_free(t);
    }
}

static int add_sink(secdet_engine *e, const char *json) {
    secdet_sink *s = NULL;
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_sink_from_json(json, strlen(json), &s, &d);
    if (st != SECDET_OK) {
        print_diag(d);
        secdet_diagnostics_free(d);
        return fail("sink", st);
    }
    secdet_diagnostics_free(d);
    st = secdet_sink_add(e, s);
    return st == SECDET_OK ? 0 : fail("secdet_sink_add", st);
}

static void on_sink_log(void *user, const char *sink, const char *message) {
    unsigned *n = user;
    if ((*n)++ < 5) fprintf(stderr, "sink %s: %s\n", sink, message);
}

/* Sums of the sinks' counters; each sink's on stderr. */
static void sink_totals(secdet_engine *e, secdet_sink_stats *sum) {
    memset(sum, 0, sizeof *sum);
    for (size_t i = 0; i < secdet_sink_count(e); i++) {
        secdet_sink_stats s;
        if (secdet_sink_stats_get(e, i, &s) != SECDET_OK) continue;
        fprintf(stderr,
                "sink %s: accepted %llu delivered %llu retries %llu dead_lettered %llu dropped %llu pending %llu "
                "spool_bytes %llu%s%s\n",
                secdet_sink_name(e, i), (unsigned long long)s.accepted, (unsigned long long)s.delivered,
                (unsigned long long)s.retries, (unsigned long long)s.dead_lettered, (unsigned long long)s.dropped,
                (unsigned long long)s.pending, (unsigned long long)s.spool_bytes, s.last_error[0] ? " last_error " : "",
                s.last_error);
        sum->accepted += s.accepted;
        sum->delivered += s.delivered;
        sum->retries += s.retries;
        sum->dead_lettered += s.dead_lettered;
        sum->dropped += s.dropped;
        sum->pending += s.pending;
        sum->spool_bytes += s.spool_bytes;
    }
}

/* Pushes [data, data+len) in CHUNK pieces, then ends the source and flushes. */
static int push_all(secdet_engine *e, const char *source, const char *data, size_t len) {
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        secdet_status st = secdet_push(e, source, data + off, n);
        if (st != SECDET_OK && st != SECDET_ERR_DECODE) return fail("secdet_push", st);
    }
    secdet_status st = secdet_source_end(e, source);
    if (st != SECDET_OK && st != SECDET_ERR_DECODE) return fail("secdet_source_end", st);
    st = secdet_flush(e);
    return st == SECDET_OK ? 0 : fail("secdet_flush", st);
}

static int cmd_deliver(const char *sink_json, unsigned long n) {
    secdet_engine *e = NULL;
    secdet_status st = secdet_engine_new(NULL, &e);
    if (st != SECDET_OK) return fail("engine", st);
    int rc = 1;
    char *data = NULL;
    unsigned logged = 0;
    secdet_diagnostics *d = NULL;
    st = secdet_load_rules_string(e, "every.secdet", EVERY_RULE, sizeof EVERY_RULE - 1, &d);
    if (st != SECDET_OK) print_diag(d);
    secdet_diagnostics_free(d);
    if (st != SECDET_OK) {
        fail("rules", st);
        goto out;
    }
    secdet_source_opts so = {.format = SECDET_FMT_JSONL};
    if ((st = secdet_source_add(e, "bench", &so)) != SECDET_OK) {
        fail("source", st);
        goto out;
    }
    secdet_set_sink_log(e, on_sink_log, &logged);
    if (add_sink(e, sink_json) != 0) goto out;

    size_t cap = n * 96 + 1, len = 0;
    if (!(data = malloc(cap))) {
        fprintf(stderr, "sink_bench: out of memory\n");
        goto out;
    }
    for (unsigned long i = 0; i < n; i++)
        len += (size_t)snprintf(
            data + len, cap - len,
            "{\"eventName\":\"Bench\",\"n\":%lu,\"user\":\"u%lu\",\"sourceIPAddress\":\"192.0.2.%lu\"}\n", i, i % 1000,
            i % 250);

    double t0 = now_s(), c0 = cpu_s();
    if (push_all(e, "bench", data, len) != 0) goto out;
    double t_push = now_s();
    st = secdet_drain(e, 600000);
    double t1 = now_s(), c1 = cpu_s();
    if (st != SECDET_OK) {
        fail("secdet_drain", st);
        goto out;
    }
    secdet_stats es;
    secdet_stats_get(e, &es);
    secdet_sink_stats sum;
    sink_totals(e, &sum);
    printf("RESULT mode=deliver alerts=%llu push_s=%.4f wall_s=%.4f cpu_s=%.4f alerts_per_s=%.0f delivered=%llu "
           "dropped=%llu dead_lettered=%llu retries=%llu\n",
           (unsigned long long)es.alerts, t_push - t0, t1 - t0, c1 - c0, (double)sum.delivered / (t1 - t0),
           (unsigned long long)sum.delivered, (unsigned long long)sum.dropped, (unsigned long long)sum.dead_lettered,
           (unsigned long long)sum.retries);
    if (es.alerts != n || sum.delivered != n) {
        fprintf(stderr, "sink_bench: %lu events, %llu alerts, %llu delivered: not every alert was delivered\n", n,
                (unsigned long long)es.alerts, (unsigned long long)sum.delivered);
        goto out;
    }
    rc = 0;
out:
    secdet_engine_free(e);
    free(data);
    return rc;
}

static int cmd_eval(const char *rules, const char *input, const char *const *sinks, size_t nsinks, long drain_ms) {
    int fd = open(input, O_RDONLY);
    char *data = malloc(CHUNK);
    if (fd < 0 || !data) {
        fprintf(stderr, "sink_bench: %s: %s\n", input, fd < 0 ? strerror(errno) : "out of memory");
        if (fd >= 0) close(fd);
        free(data);
        return 1;
    }
    secdet_engine *e = NULL;
    secdet_status st = secdet_engine_new(NULL, &e);
    if (st != SECDET_OK) {
        close(fd);
        free(data);
        return fail("engine", st);
    }
    int rc = 1;
    unsigned logged = 0;
    secdet_diagnostics *d = NULL;
    st = secdet_load_rules_file(e, rules, &d);
    if (st != SECDET_OK) print_diag(d);
    secdet_diagnostics_free(d);
    if (st != SECDET_OK) {
        fail(rules, st);
        goto out;
    }
    secdet_source_opts so = {.format = SECDET_FMT_JSONL};
    if ((st = secdet_source_add(e, "cloudtrail", &so)) != SECDET_OK) {
        fail("source", st);
        goto out;
    }
    if (nsinks) secdet_set_sink_log(e, on_sink_log, &logged);
    for (size_t i = 0; i < nsinks; i++)
        if (add_sink(e, sinks[i]) != 0) goto out;

    /* Read in 1 MiB chunks, as `secdet scan` does; run it on a warm page cache. */
    double t0 = now_s(), c0 = cpu_s();
    for (;;) {
        ssize_t got = read(fd, data, CHUNK);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            fprintf(stderr, "sink_bench: %s: %s\n", input, strerror(errno));
            goto out;
        }
        if (got == 0) break;
        st = secdet_push(e, "cloudtrail", data, (size_t)got);
        if (st != SECDET_OK && st != SECDET_ERR_DECODE) {
            fail("secdet_push", st);
            goto out;
        }
    }
    if (push_all(e, "cloudtrail", data, 0) != 0) goto out; /* end + flush */
    double t1 = now_s(), c1 = cpu_s();
    if (nsinks) secdet_drain(e, drain_ms); /* untimed; a sink that is down may time out */
    secdet_stats es;
    secdet_stats_get(e, &es);
    secdet_sink_stats sum;
    sink_totals(e, &sum);
    printf("RESULT mode=eval sinks=%zu events=%llu alerts=%llu wall_s=%.4f cpu_s=%.4f events_per_s=%.0f "
           "accepted=%llu dropped=%llu spool_bytes=%llu\n",
           nsinks, (unsigned long long)es.events, (unsigned long long)es.alerts, t1 - t0, c1 - c0,
           (double)es.events / (t1 - t0), (unsigned long long)sum.accepted, (unsigned long long)sum.dropped,
           (unsigned long long)sum.spool_bytes);
    if (nsinks && sum.dropped) {
        fprintf(stderr, "sink_bench: %llu alerts dropped: the spool did not take them all\n",
                (unsigned long long)sum.dropped);
        goto out;
    }
    rc = 0;
out:
    secdet_engine_free(e);
    close(fd);
    free(data);
    return rc;
}

static int usage(void) {
    fprintf(stderr, "usage: sink_bench deliver --sink JSON [-n N]\n"
                    "       sink_bench eval --rules FILE --input FILE [--sink JSON]... [--drain-ms MS]\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const char *sinks[16];
    size_t nsinks = 0;
    const char *rules = NULL, *input = NULL;
    unsigned long n = 100000;
    long drain_ms = 2000;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        i++;
        if (strcmp(a, "--sink") == 0 && nsinks < sizeof sinks / sizeof sinks[0])
            sinks[nsinks++] = v;
        else if (strcmp(a, "--rules") == 0)
            rules = v;
        else if (strcmp(a, "--input") == 0)
            input = v;
        else if (strcmp(a, "-n") == 0)
            n = strtoul(v, NULL, 10);
        else if (strcmp(a, "--drain-ms") == 0)
            drain_ms = strtol(v, NULL, 10);
        else
            return usage();
    }
    if (strcmp(argv[1], "deliver") == 0) {
        if (nsinks != 1 || n == 0) return usage();
        return cmd_deliver(sinks[0], n);
    }
    if (strcmp(argv[1], "eval") == 0) {
        if (!rules || !input) return usage();
        return cmd_eval(rules, input, sinks, nsinks, drain_ms);
    }
    return usage();
}
