/*
 * tcp_service.c — a detection service: receives JSON events on TCP (one per
 * line), evaluates rules, and handles every alert in a callback.
 *
 *     ./tcp_service [PORT]        (PORT 0 or none: any free port)
 *     printf '{"eventName":"ConsoleLogin","user":"root"}\n' | nc 127.0.0.1 PORT
 *
 * Copy it and change three things: the rules (or load them from files with
 * secdet_load_rules_dir), the source's format, and what on_alert does with
 * an alert (here: print it as a JSON line; yours may page someone).
 *
 * The engine runs its own libuv event loop (secdet_run_loop): reading the
 * sockets, decoding, evaluating and calling on_alert all happen on this one
 * thread, so on_alert needs no locking. SIGTERM/SIGINT call secdet_stop —
 * the one call that is safe from a signal handler — and the loop returns
 * once what was received has been evaluated.
 */
#include <secdet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char rules[] = "rule root_console_login {\n"
                            "    meta { severity = high }\n"
                            "    where .eventName == \"ConsoleLogin\" and .user == \"root\"\n"
                            "    output \"root signed in from {.ip}\"\n"
                            "}\n";

/* A signal handler can reach the engine only through a global; this is the
 * program's, not the library's (the library keeps no global state). */
static secdet_engine *volatile g_engine;

static void on_signal(int sig) {
    (void)sig;
    if (g_engine) secdet_stop(g_engine);
}

typedef struct service {
    unsigned long alerts;
} service;

static void on_alert(void *user, const secdet_alert *alert) {
    service *svc = user;
    svc->alerts++;
    size_t len = 0;
    const char *json = secdet_alert_json(alert, &len); /* valid only during this call */
    fwrite(json, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static void on_error(void *user, const char *source, uint64_t where, const char *message) {
    (void)user;
    (void)where;
    fprintf(stderr, "tcp_service: malformed input on %s: %s\n", source, message);
}

int main(int argc, char **argv) {
    unsigned port = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;
    secdet_engine *engine = NULL;
    if (secdet_engine_new(NULL, &engine) != SECDET_OK) return 1;

    secdet_diagnostics *diag = NULL;
    if (secdet_load_rules_string(engine, "service.secdet", rules, strlen(rules), &diag) != SECDET_OK) {
        for (size_t i = 0; i < secdet_diagnostics_count(diag); i++) {
            char *text = secdet_diagnostics_format(diag, i);
            fprintf(stderr, "%s\n", text ? text : "?");
            secdet_free(text);
        }
        secdet_diagnostics_free(diag);
        secdet_engine_free(engine);
        return 1;
    }
    secdet_diagnostics_free(diag);

    service svc = {0};
    secdet_set_alert_callback(engine, on_alert, &svc);
    secdet_set_error_callback(engine, on_error, NULL);
    secdet_source_opts src = {.format = SECDET_FMT_JSONL};
    unsigned input = 0;
    if (secdet_source_add(engine, "app", &src) != SECDET_OK ||
        secdet_input_tcp(engine, "app", "127.0.0.1", (uint16_t)port, SECDET_FRAMING_LINES, NULL, &input) != SECDET_OK) {
        fprintf(stderr, "tcp_service: cannot listen on 127.0.0.1:%u: %s\n", port, secdet_input_error(engine));
        secdet_engine_free(engine);
        return 1;
    }

    g_engine = engine;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("listening on 127.0.0.1:%u\n", (unsigned)secdet_input_port(engine, input));
    fflush(stdout);

    secdet_run_loop(engine); /* until secdet_stop */
    secdet_flush(engine);    /* alerts of events still held for ordering */

    secdet_stats stats;
    secdet_stats_get(engine, &stats);
    fprintf(stderr, "tcp_service: %llu events, %llu malformed, %lu alerts\n", (unsigned long long)stats.events,
            (unsigned long long)stats.malformed, svc.alerts);
    g_engine = NULL;
    secdet_engine_free(engine);
    return 0;
}
