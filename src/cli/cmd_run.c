/*
 * cmd_run.c — `secdet run --config FILE`: a long-running detector.
 *
 * Reads events from the inputs of the configuration (file tails, stdin, TCP,
 * UDP) on one libuv loop — this command's own, handed to the library as "the
 * caller's loop" — and hands every alert to the sinks of the configuration
 * (the library's delivery thread delivers them: docs/sinks.md).
 * Everything happens on that loop's thread, so the signal handlers below
 * (libuv's uv_signal_t: they run as ordinary loop callbacks, not in signal
 * context) can reload, report and stop between two events:
 *
 *   SIGHUP          reload the rules (secdet_reload_rules): every diagnostic
 *                   is printed; a set with errors is rejected and the old one
 *                   keeps running; correlation state of unchanged rules stays.
 *                   Then read the sinks' secret references again: each sink
 *                   whose configuration changed takes the new one, keeping
 *                   its queue and spool (sd_sink_reconfigure); if any fails to
 *                   read, every sink keeps its old one
 *   SIGTERM, SIGINT stop the inputs, evaluate what they queued, flush, wait
 *                   up to drain_timeout_ms for the sinks to deliver (with a
 *                   spool as without: a spool keeps what is left, it does
 *                   not deliver it), exit 0 — saying how many alerts are
 *                   left and, per sink, where they are kept
 *   SIGUSR1         one stats line
 *
 * stderr carries status lines, each one JSON object with a "type":
 * "listening" (an input's source, kind, address and bound port), "ready",
 * "reload", "stats", "stopped" (stats lines carry a "sinks" array of each
 * sink's counters); and malformed-input reports, rule diagnostics and
 * delivery problems ("secdet: sink NAME: ...") as plain text. *
 * `--check` stops after loading the configuration and hands it to
 * cfg_check (run_check.c), which starts nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <uv.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "cli/rule_figures.h"
#include "util/buf.h"

enum { KAFKA_STATS = 1, KAFKA_RELOAD = 2 };
static void on_kafka_tick(void *user);

typedef struct run_state {
    cfg conf;
    secdet_engine *engine;
    uv_loop_t loop;
    uv_signal_t sig_hup, sig_term, sig_int, sig_usr1;
    uv_timer_t stats_timer;
    int stopping;
    int handles_ready; /* the signal and timer handles were initialised */
    int handles_closed;
    secdet_kafka *kafka;   /* a kafka input: its consumer loop runs on the main thread */
    atomic_int kafka_want; /* KAFKA_STATS / KAFKA_RELOAD, set on the loop thread, done in on_kafka_tick */
    int kafka_stage2;
    uv_async_t kafka_done; /* ... and this loop (signals, stats) on another until it ends */
} run_state;

/* ---- alerts, errors, status lines ---------------------------------------------- */

/* "secdet: KIND NAME: message" as one locked write, so that a line from
 * another thread (delivery, loop) never lands inside it. */
static void log_line(const char *kind, const char *name, const char *message) {
    flockfile(stderr);
    fprintf(stderr, "secdet: %s %s: ", kind, name);
    term_write_safe(stderr, message);
    fputc('\n', stderr);
    fflush(stderr);
    funlockfile(stderr);
}

/* On the delivery thread. */
static void on_sink_log(void *user, const char *sink, const char *message) {
    (void)user;
    log_line("sink", sink, message);
}

static void on_error(void *user, const char *source, uint64_t where, const char *message) {
    (void)user;
    fprintf(stderr, "secdet: malformed input: %s: ", source);
    if (where) fprintf(stderr, "%llu: ", (unsigned long long)where);
    term_write_safe(stderr, message);
    fputc('\n', stderr);
}

/* Inputs' warnings, refused clients, accept and TLS failures (rate limited
 * by the library), on the loop thread. */
static void on_input_log(void *user, const char *source, const char *message) {
    (void)user;
    log_line("input", source, message);
}

static void on_kafka_log(void *user, const char *message) {
    (void)user;
    flockfile(stderr);
    fputs("secdet: ", stderr);
    term_write_safe(stderr, message);
    fputc('\n', stderr);
    fflush(stderr);
    funlockfile(stderr);
}

static void print_stats(run_state *rs, const char *type) {
    secdet_stats s;
    if (secdet_stats_get(rs->engine, &s) != SECDET_OK) return;
    flockfile(stderr); /* the delivery thread's log lines wait (on_sink_log) */
    fprintf(stderr,
            "{\"type\":\"%s\",\"events\":%llu,\"malformed\":%llu,\"alerts\":%llu,\"rules_run\":%llu,"
            "\"budget_exceeded\":%llu,\"late\":%llu,\"bytes\":%llu,\"evicted\":%llu,\"groups\":%llu,"
            "\"state_bytes\":%llu,\"udp_dropped\":%llu,\"input_paused\":%llu,\"queued\":%llu,"
            "\"oversized\":%llu,\"connections\":%llu,\"connections_refused\":%llu,\"accept_errors\":%llu,"
            "\"idle_closed\":%llu,\"tls_failed\":%llu,\"rules\":%zu,\"by_rule\":",
            type, (unsigned long long)s.events, (unsigned long long)s.malformed, (unsigned long long)s.alerts,
            (unsigned long long)s.rules_run, (unsigned long long)s.budget_exceeded, (unsigned long long)s.late,
            (unsigned long long)s.bytes, (unsigned long long)s.evicted, (unsigned long long)s.groups,
            (unsigned long long)s.state_bytes, (unsigned long long)s.udp_dropped, (unsigned long long)s.input_paused,
            (unsigned long long)s.queued, (unsigned long long)s.oversized, (unsigned long long)s.connections,
            (unsigned long long)s.connections_refused, (unsigned long long)s.accept_errors,
            (unsigned long long)s.idle_closed, (unsigned long long)s.tls_failed, secdet_rule_count(rs->engine));
    buf b;
    sd_buf_init(&b);
    cli_rule_row *rows = NULL;
    size_t nrows = cli_rule_rows(rs->engine, &rows);
    cli_rule_rows_json(&b, rows, nrows); /* loudest first: the noisy rules at a glance */
    free(rows);
    sd_buf_puts(&b, ",\"sinks\":[");
    for (size_t i = 0; i < secdet_sink_count(rs->engine); i++) {
        secdet_sink_stats k;
        if (secdet_sink_stats_get(rs->engine, i, &k) != SECDET_OK) continue;
        const char *name = secdet_sink_name(rs->engine, i);
        sd_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        sd_buf_json_string(&b, name, strlen(name));
        sd_buf_printf(&b,
                      ",\"accepted\":%llu,\"filtered\":%llu,\"delivered\":%llu,\"retries\":%llu,"
                      "\"dead_lettered\":%llu,\"dropped\":%llu,\"pending\":%llu,\"spool_bytes\":%llu,"
                      "\"spool_corrupt\":%llu,\"in_flight\":%u,\"failing\":%s,\"last_error\":",
                      (unsigned long long)k.accepted, (unsigned long long)k.filtered, (unsigned long long)k.delivered,
                      (unsigned long long)k.retries, (unsigned long long)k.dead_lettered, (unsigned long long)k.dropped,
                      (unsigned long long)k.pending, (unsigned long long)k.spool_bytes,
                      (unsigned long long)k.spool_corrupt, k.in_flight, k.failing ? "true" : "false");
        sd_buf_json_string(&b, k.last_error, strlen(k.last_error));
        sd_buf_putc(&b, '}');
    }
    if (b.len && !b.oom) fwrite(b.data, 1, b.len, stderr);
    sd_buf_free(&b);
    fputs("]}\n", stderr);
    fflush(stderr);
    funlockfile(stderr);
}

static void print_diagnostics(const secdet_diagnostics *d) {
    size_t n = secdet_diagnostics_count(d);
    for (size_t i = 0; i < n; i++) {
        char *text = secdet_diagnostics_format(d, i);
        if (text) fprintf(stderr, "%s\n", text);
        secdet_free(text);
    }
}

/* ---- signals ------------------------------------------------------------------------ */

static void reload(run_state *rs) {
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_reload_rules(rs->engine, (const char *const *)rs->conf.rules, rs->conf.nrules, &d);
    print_diagnostics(d);
    if (st == SECDET_OK) (void)cli_warn_expired(rs->engine, cli_today_ns());
    if (st != SECDET_OK)
        fprintf(stderr, "secdet: reload failed (%s); the previous rules keep running\n", secdet_strerror(st));
    size_t changed = 0;
    size_t sink_errors = cfg_sinks_reload(&rs->conf, rs->engine, &changed);
    fprintf(stderr,
            "{\"type\":\"reload\",\"ok\":%s,\"errors\":%zu,\"rules\":%zu,\"rules_ok\":%s,\"sinks_ok\":%s,"
            "\"sinks_reconfigured\":%zu}\n",
            st == SECDET_OK && !sink_errors ? "true" : "false", secdet_diagnostics_errors(d) + sink_errors,
            secdet_rule_count(rs->engine), st == SECDET_OK ? "true" : "false", sink_errors ? "false" : "true", changed);
    fflush(stderr);
    secdet_diagnostics_free(d);
}

static void close_own_handles(run_state *rs) {
    if (!rs->handles_ready || rs->handles_closed) return;
    rs->handles_closed = 1;
    uv_handle_t *hs[] = {(uv_handle_t *)&rs->sig_hup, (uv_handle_t *)&rs->sig_term, (uv_handle_t *)&rs->sig_int,
                         (uv_handle_t *)&rs->sig_usr1, (uv_handle_t *)&rs->stats_timer};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (!uv_is_closing(hs[i])) uv_close(hs[i], NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
    run_state *rs = h->data;
    if (rs->kafka && (signum == SIGHUP || signum == SIGUSR1)) {
        /* The engine belongs to the consumer loop's thread: on_kafka_tick does it there. */
        atomic_fetch_or(&rs->kafka_want, signum == SIGHUP ? KAFKA_RELOAD : KAFKA_STATS);
    } else if (signum == SIGHUP) {
        reload(rs);
    } else if (signum == SIGUSR1) {
        print_stats(rs, "stats");
    } else if (rs->kafka) {
        secdet_kafka_stop(rs->kafka); /* secdet_kafka_run returns; then kafka_done closes the loop */
    } else if (!rs->stopping) {
        rs->stopping = 1;
        /* The inputs close and their queue drains on the loop; once nothing
         * is left (these handles included), uv_run returns. */
        if (secdet_stop(rs->engine) != SECDET_OK) uv_stop(&rs->loop);
        close_own_handles(rs);
    }
}

static void on_stats_timer(uv_timer_t *t) {
    run_state *rs = t->data;
    if (rs->kafka)
        atomic_fetch_or(&rs->kafka_want, KAFKA_STATS);
    else
        print_stats(rs, "stats");
}

/* ---- setup ---------------------------------------------------------------------------- */

static int open_sinks(run_state *rs) {
    secdet_set_sink_log(rs->engine, on_sink_log, rs);
    /* The root of the spools; each sink makes its own directory in it. */
    if (rs->conf.spool_dir && mkdir(rs->conf.spool_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "secdet: spool_dir %s: %s\n", rs->conf.spool_dir, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < rs->conf.nsinks; i++) {
        const cfg_sink *c = &rs->conf.sinks[i];
        secdet_sink *sink = NULL;
        secdet_diagnostics *d = NULL;
        /* Made again (the load only checked it): its secrets are read now.
         * Warnings were printed with the load's. */
        secdet_status st = secdet_sink_from_json(c->json, strlen(c->json), &sink, &d);
        if (st != SECDET_OK) {
            if (!cfg_sink_diagnostics(d, i))
                fprintf(stderr, "secdet: sinks[%zu] (%s): %s\n", i, c->name, secdet_strerror(st));
            secdet_diagnostics_free(d);
            return -1;
        }
        secdet_diagnostics_free(d);
        st = secdet_sink_add(rs->engine, sink);
        if (st != SECDET_OK) {
            /* The spool's own reason came first, through on_sink_log. */
            fprintf(stderr, "secdet: sinks[%zu] (%s): %s\n", i, c->name,
                    st == SECDET_ERR_IO ? "cannot open its spool (the reason is above)" : secdet_strerror(st));
            return -1;
        }
    }
    return 0;
}

static const char *input_kind(cfg_input_type t) {
    switch (t) {
    case CFG_IN_FILE: return "file";
    case CFG_IN_STDIN: return "stdin";
    case CFG_IN_TCP: return "tcp";
    case CFG_IN_UDP: return "udp";
    case CFG_IN_KAFKA: return "kafka";
    }
    return "?";
}

static int start_inputs(run_state *rs) {
    for (size_t i = 0; i < rs->conf.nsources; i++) {
        const cfg_source *s = &rs->conf.sources[i];
        for (size_t j = 0; j < s->ninputs; j++) {
            const cfg_input *in = &s->inputs[j];
            unsigned id = 0;
            secdet_status st = SECDET_OK;
            switch (in->type) {
            case CFG_IN_FILE:
                st = secdet_input_file_tail(rs->engine, s->name, in->path, in->from_start, in->poll_ms, &rs->loop);
                break;
            case CFG_IN_STDIN: st = secdet_input_stdin(rs->engine, s->name, &rs->loop); break;
            case CFG_IN_KAFKA: {
                char *msg = NULL;
                st = secdet_kafka_new(rs->engine, s->name, in->kafka_json, strlen(in->kafka_json), &rs->kafka, &msg);
                if (st != SECDET_OK && msg) {
                    fprintf(stderr, "secdet: sources[%zu].input[%zu] (kafka): %s\n", i, j, msg);
                    secdet_free(msg);
                    return -1;
                }
                secdet_free(msg);
                if (st == SECDET_OK) {
                    secdet_kafka_set_log(rs->kafka, on_kafka_log, rs);
                    secdet_kafka_set_tick(rs->kafka, 100, on_kafka_tick, rs);
                    rs->kafka_stage2 = in->kafka_stage2;
                }
                break;
            }
            case CFG_IN_TCP: {
                secdet_tcp_opts o;
                secdet_tcp_opts_init(&o);
                o.framing = in->framing;
                if (in->max_connections) o.max_connections = in->max_connections;
                o.idle_timeout_ms = in->idle_timeout_ms;
                o.tls_cert = in->tls_cert;
                o.tls_key = in->tls_key;
                o.tls_key_passphrase = in->tls_key_passphrase;
                o.tls_client_ca = in->tls_client_ca;
                o.tls_require_client_cert = in->tls_require_client_cert;
                if (in->tls_handshake_timeout_ms) o.tls_handshake_timeout_ms = in->tls_handshake_timeout_ms;
                st = secdet_input_tcp_ex(rs->engine, s->name, in->address, in->port, &o, &rs->loop, &id);
                break;
            }
            case CFG_IN_UDP: st = secdet_input_udp(rs->engine, s->name, in->address, in->port, &rs->loop, &id); break;
            }
            if (st != SECDET_OK) {
                const char *why = secdet_input_error(rs->engine);
                fprintf(stderr, "secdet: sources[%zu].input[%zu] (%s): %s\n", i, j, input_kind(in->type),
                        why[0] ? why : secdet_strerror(st));
                return -1;
            }
            fprintf(stderr, "{\"type\":\"listening\",\"source\":\"%s\",\"input\":\"%s\"", s->name,
                    input_kind(in->type));
            if (in->type == CFG_IN_TCP || in->type == CFG_IN_UDP)
                fprintf(stderr, ",\"address\":\"%s\",\"port\":%u", in->address,
                        (unsigned)secdet_input_port(rs->engine, id));
            fprintf(stderr, "}\n");
        }
    }
    return 0;
}

static int setup(run_state *rs) {
    secdet_status st = secdet_engine_new(&rs->conf.opts, &rs->engine);
    if (st != SECDET_OK) {
        fprintf(stderr, "secdet: cannot create the engine: %s\n", secdet_strerror(st));
        return -1;
    }
    secdet_set_error_callback(rs->engine, on_error, rs);
    secdet_set_input_log(rs->engine, on_input_log, rs);
    cli_load_result lr = {0, 0};
    char msg[320];
    if (cfg_define_log_types(&rs->conf, rs->engine, msg, sizeof msg) != 0) {
        fprintf(stderr, "secdet: %s\n", msg);
        return -1;
    }
    if (cli_load_rules(rs->engine, rs->conf.rules, rs->conf.nrules, 1, &lr) != 0) return -1;
    (void)cli_warn_expired(rs->engine, cli_today_ns());
    for (size_t i = 0; i < rs->conf.nsources; i++) {
        const cfg_source *s = &rs->conf.sources[i];
        secdet_source_opts o = {
            .format = SECDET_FMT_AUTO, .time_field = s->time_field, .format_name = s->format, .log_type = s->log_type};
        st = secdet_source_add(rs->engine, s->name, &o);
        if (st != SECDET_OK) {
            fprintf(stderr, "secdet: sources[%zu]: %s\n", i, secdet_strerror(st));
            return -1;
        }
    }
    if (rs->conf.queue_messages || rs->conf.queue_bytes)
        secdet_set_queue_limits(rs->engine, rs->conf.queue_messages, rs->conf.queue_bytes);
    if (open_sinks(rs) != 0 || start_inputs(rs) != 0) return -1;

    uv_signal_t *sigs[] = {&rs->sig_hup, &rs->sig_term, &rs->sig_int, &rs->sig_usr1};
    int nums[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1};
    for (size_t i = 0; i < 4; i++) {
        uv_signal_init(&rs->loop, sigs[i]);
        sigs[i]->data = rs;
        uv_signal_start(sigs[i], on_signal, nums[i]);
        uv_unref((uv_handle_t *)sigs[i]); /* the inputs keep the loop alive, not these */
    }
    uv_timer_init(&rs->loop, &rs->stats_timer);
    rs->stats_timer.data = rs;
    rs->handles_ready = 1;
    if (rs->conf.stats_interval > 0) {
        uint64_t ms = (uint64_t)(rs->conf.stats_interval * 1000.0);
        uv_timer_start(&rs->stats_timer, on_stats_timer, ms ? ms : 1, ms ? ms : 1);
        uv_unref((uv_handle_t *)&rs->stats_timer);
    }
    return 0;
}

/* ---- a kafka input ----------------------------------------------------------------- */

static void on_kafka_done(uv_async_t *a) {
    run_state *rs = a->data;
    close_own_handles(rs);
    uv_close((uv_handle_t *)a, NULL);
}

static void loop_thread(void *arg) {
    run_state *rs = arg;
    uv_run(&rs->loop, UV_RUN_DEFAULT);
}

static void print_kafka_stats(run_state *rs) {
    secdet_kafka_stats k;
    if (secdet_kafka_stats_get(rs->kafka, &k) != SECDET_OK) return;
    fprintf(stderr,
            "{\"type\":\"kafka\",\"messages\":%llu,\"commits\":%llu,\"forwarded\":%llu,\"heartbeats\":%llu,"
            "\"duplicates\":%llu,\"checkpoints\":%llu,\"restored\":%llu,\"rebalances\":%llu,\"paused\":%llu,"
            "\"events\":%llu,\"late\":%llu,\"groups\":%llu,\"partitions\":%llu}\n",
            (unsigned long long)k.messages, (unsigned long long)k.commits, (unsigned long long)k.forwarded,
            (unsigned long long)k.heartbeats, (unsigned long long)k.duplicates, (unsigned long long)k.checkpoints,
            (unsigned long long)k.restored, (unsigned long long)k.rebalances, (unsigned long long)k.paused,
            (unsigned long long)k.events, (unsigned long long)k.late, (unsigned long long)k.groups,
            (unsigned long long)k.partitions);
    fflush(stderr);
}

/* On the consumer loop's thread, between messages. A stage-2 input keeps
 * an engine per partition with its own copy of the rules: restarting the
 * instance is how its rules change. */
static void on_kafka_tick(void *user) {
    run_state *rs = user;
    int want = atomic_exchange(&rs->kafka_want, 0);
    if (want & KAFKA_RELOAD) {
        if (rs->kafka_stage2) {
            fprintf(stderr, "secdet: reload is not available in stage aggregate (restart the instance: its "
                            "partitions move to the others and back with their state)\n");
            fflush(stderr);
        } else {
            reload(rs);
        }
    }
    if (want & KAFKA_STATS) {
        print_stats(rs, "stats");
        print_kafka_stats(rs);
    }
}

/* The consumer loop on this thread; signals (and the stats timer) on the
 * libuv loop in another, until the consumer loop is done. */
static int run_kafka(run_state *rs) {
    uv_thread_t t;
    rs->kafka_done.data = rs;
    if (uv_async_init(&rs->loop, &rs->kafka_done, on_kafka_done) != 0 || uv_thread_create(&t, loop_thread, rs) != 0)
        return -1;
    secdet_status st = secdet_kafka_run(rs->kafka);
    uv_async_send(&rs->kafka_done);
    uv_thread_join(&t);
    if (st != SECDET_OK) fprintf(stderr, "secdet: kafka input: %s\n", secdet_strerror(st));
    return st == SECDET_OK ? 0 : -1;
}

/* Every TCP client holds a descriptor: the soft limit (often 1024) goes up
 * to the hard one, as servers do, so max_connections is what limits them. */
static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int cmd_run(int argc, char **argv) {
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int c, check_only = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":c:th", longopts, NULL)) != -1) {
        if (c == 'c') {
            config = optarg;
        } else if (c == 't') {
            check_only = 1;
        } else if (c == 'h') {
            cli_usage("run", stdout);
            return CLI_EXIT_OK;
        } else {
            return cli_bad_option("run", c, optopt, argv[optind - 1]);
        }
    }
    if (!config) return cli_usage_error("run", "%s", "--config is required");
    if (optind < argc) return cli_usage_error("run", "unexpected argument '%s'", argv[optind]);

    run_state rs;
    memset(&rs, 0, sizeof rs);
    char err[512];
    if (cfg_load(config, &rs.conf, err, sizeof err) != 0) {
        fprintf(stderr, "secdet: %s\n", err);
        return CLI_EXIT_ERROR;
    }
    for (size_t i = 0; i < rs.conf.nwarnings; i++) fprintf(stderr, "secdet: %s\n", rs.conf.warnings[i]);
    if (check_only) {
        int code = cfg_check(&rs.conf, config);
        cfg_free(&rs.conf);
        return code;
    }
    if (uv_loop_init(&rs.loop) != 0) {
        cfg_free(&rs.conf);
        return CLI_EXIT_ERROR;
    }
    signal(SIGPIPE, SIG_IGN); /* a sink reader going away must not kill the detector */
    raise_fd_limit();
    int code = CLI_EXIT_OK;
    if (setup(&rs) != 0) {
        code = CLI_EXIT_ERROR;
        if (rs.engine) secdet_stop(rs.engine);
        close_own_handles(&rs);
    } else {
        fprintf(stderr, "{\"type\":\"ready\",\"rules\":%zu}\n", secdet_rule_count(rs.engine));
        fflush(stderr);
        if (rs.kafka) {
            if (run_kafka(&rs) != 0) code = CLI_EXIT_ERROR;
        } else {
            uv_run(&rs.loop, UV_RUN_DEFAULT);
        }
        secdet_flush(rs.engine); /* aggregation alerts still held for ordering */
        if (secdet_drain(rs.engine, rs.conf.drain_timeout_ms) != SECDET_OK) {
            unsigned long long pending = 0;
            secdet_sink_stats k;
            for (size_t i = 0; i < secdet_sink_count(rs.engine); i++)
                if (secdet_sink_stats_get(rs.engine, i, &k) == SECDET_OK) pending += k.pending;
            /* Each sink's own line, at secdet_engine_free below, says where its are. */
            fprintf(stderr, "secdet: delivery not finished after %lld ms: %llu alert(s) not delivered\n",
                    (long long)rs.conf.drain_timeout_ms, pending);
        }
        print_stats(&rs, "stopped");
        if (rs.kafka) print_kafka_stats(&rs);
    }
    secdet_kafka_free(rs.kafka);
    close_own_handles(&rs);
    secdet_engine_free(rs.engine);
    uv_run(&rs.loop, UV_RUN_DEFAULT); /* the closed handles' callbacks */
    uv_loop_close(&rs.loop);
    fflush(stdout);
    cfg_free(&rs.conf);
    return code;
}
