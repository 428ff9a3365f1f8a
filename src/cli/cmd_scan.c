/*
 * cmd_scan.c — `secdet scan --rules PATH FILE...`: events in, alerts out.
 *
 * One engine for the whole run, so correlation spans files (CloudTrail
 * writes one log file every few minutes). A directory stands for the
 * *.json, *.jsonl and *.gz files below it, each file its own stream. Alerts go to stdout (JSON lines, or readable
 * lines on a terminal; scan_output.c); everything else — malformed events,
 * unreadable files, progress, the summary — to stderr, so stdout can be
 * piped into jq untouched.
 *
 * Inputs are PATH or TYPE:PATH and each file's events go to a source with a
 * log type (scan_inputs.c): TYPE, --source, or by the file's first bytes
 * and each event's shape, so one run can mix CloudTrail log files, Okta,
 * GCP and the rest. One file is pushed as it is read; several are merged in
 * event-time order first (scan_merge.c), so that the lateness only has to
 * cover the disorder inside one file.
 * A file that cannot be read is reported and skipped; the run goes on and
 * exits 2 at the end. A malformed event is reported with its line (jsonl) or
 * record (cloudtrail) number and the rest of the file is still scanned.
 *
 * The progress bar is drawn on stderr when both stderr and stdout are
 * terminals: not when stdout goes to a pager or a file (a bar there would
 * draw over what the pager shows, or hide nothing worth it). --progress and
 * --no-progress decide instead.
 *
 * Correlation: after the last file the engine is flushed (events held for
 * ordering are released and their alerts printed). With --state FILE the
 * correlation state is loaded from FILE at the start when it exists and
 * saved to it at the end, before that flush, so the next run continues the
 * same stream (events of the next files up to the lateness behind still
 * correlate); alerts that the final flush gave may then come again from the
 * next run, with the same ids.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/rule_figures.h"
#include "cli/scan.h"

#define SCAN_CHUNK_BYTES (1u << 20)

/* The run's counters: the engine's, plus those of -j's other engines. */
static void scan_stats_get(const scan_ctx *ctx, secdet_stats *out) {
    (void)secdet_stats_get(ctx->engine, out);
    scan_stats_add(out, &ctx->more);
}

static void progress_tick(scan_ctx *ctx, int force) {
    if (!ctx->progress.enabled) {
        return;
    }
    secdet_stats stats = {0};
    scan_stats_get(ctx, &stats);
    term_progress_state s = {
        .bytes_done = ctx->bytes_before + (ctx->input ? cli_input_consumed(ctx->input) : 0),
        .bytes_total = ctx->bytes_total,
        .events = stats.events,
        .alerts = ctx->alerts,
        .file = ctx->file,
    };
    term_progress_update(&ctx->progress, &s, force);
}

/* Reads until the buffer holds `cap` bytes or, for a pipe, until something
 * arrived. Returns the bytes now in the buffer (`have` or more; no more than
 * `have` at the end of the input). On a read error sets *failed and still
 * returns what the buffer holds, so that what was read gets evaluated. */
static size_t read_chunk(cli_input *in, unsigned char *buf, size_t cap, size_t have, int *failed) {
    size_t n = have;
    int regular = cli_input_size(in) > 0;
    if (!regular) {
        /* The next read may wait for a pipe (tail -f): show the alerts so far. */
        fflush(stdout);
    }
    while (n < cap) {
        long r = cli_input_read(in, buf + n, cap - n);
        if (r < 0) {
            *failed = 1;
            break;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (!regular) {
            break; /* push what a pipe delivered: events are evaluated as they arrive */
        }
    }
    return n;
}

static int push_checked(scan_ctx *ctx, const char *source, const void *bytes, size_t len) {
    secdet_status status = len ? secdet_push(ctx->engine, source, bytes, len) : secdet_source_end(ctx->engine, source);
    while (status == SECDET_ERR_BUSY) { /* a sink cannot take more: wait, then the same bytes again */
        (void)secdet_drain(ctx->engine, 100);
        status = secdet_push(ctx->engine, source, bytes, len);
    }
    if (status == SECDET_OK || status == SECDET_ERR_DECODE) {
        return 0; /* malformed events were reported by the callback */
    }
    term_progress_clear(&ctx->progress);
    fprintf(stderr, "secdet: %s: %s\n", ctx->file, secdet_strerror(status));
    return -1;
}

/* Scans a mapped file (input_map.c) window by window, as scan_one does a read one. */
static int scan_mapped(scan_ctx *ctx, const scan_file *f, cli_map *m) {
    const unsigned char *p = NULL;
    size_t n = 0;
    int got = cli_map_next(m, &p, &n);
    secdet_format detected = SECDET_FMT_AUTO;
    int decided = f->type != NULL || ctx->opts->source != NULL || ctx->opts->format != SECDET_FMT_AUTO;
    if (got > 0 && !decided) {
        (void)scan_detect_format(p, n < SCAN_CHUNK_BYTES ? n : SCAN_CHUNK_BYTES, 1, &detected);
    }
    const char *source = scan_source_for(ctx, f, detected);
    if (source == NULL) {
        cli_map_close(m);
        return -1;
    }
    int failed = 0;
    for (; got > 0 && !failed; got = cli_map_next(m, &p, &n)) {
        failed = push_checked(ctx, source, p, n) != 0;
        ctx->bytes_before += n;
        progress_tick(ctx, 0);
    }
    if (got < 0) {
        term_progress_clear(&ctx->progress);
        fprintf(stderr, "secdet: %s: %s\n", ctx->file, strerror(errno));
    }
    if (!failed && push_checked(ctx, source, NULL, 0) != 0) {
        failed = 1;
    }
    cli_map_close(m);
    return failed || got < 0 ? -1 : 0;
}

/* Scans one file. -1 when it could not be read (or not to its end). */
static int scan_one(scan_ctx *ctx, const scan_file *f, unsigned char *buf) {
    const char *path = f->path;
    ctx->file = strcmp(path, "-") == 0 ? "<stdin>" : path;
    ctx->errors_shown = 0;
    cli_map m;
    if (cli_map_open(path, &m)) {
        return scan_mapped(ctx, f, &m);
    }
    cli_input *in = cli_input_open(path);
    if (in == NULL) {
        term_progress_clear(&ctx->progress);
        fprintf(stderr, "secdet: %s: %s\n", ctx->file, strerror(errno));
        return -1;
    }
    ctx->input = in;

    /* Enough of the start to decide the format. */
    size_t n = 0;
    int read_failed = 0;
    secdet_format detected = SECDET_FMT_AUTO;
    int decided = f->type != NULL || ctx->opts->source != NULL || ctx->opts->format != SECDET_FMT_AUTO;
    for (;;) {
        size_t got = read_chunk(in, buf, SCAN_CHUNK_BYTES, n, &read_failed);
        int at_end = got == n || got == SCAN_CHUNK_BYTES || read_failed;
        n = got;
        if (decided || scan_detect_format(buf, n, at_end, &detected)) {
            break;
        }
    }
    const char *source = scan_source_for(ctx, f, detected);
    if (source == NULL) {
        ctx->input = NULL;
        cli_input_close(in);
        return -1;
    }

    /* Even after a read error, what was read is evaluated. */
    int push_failed = 0;
    while (n > 0) {
        if (push_checked(ctx, source, buf, n) != 0) {
            push_failed = 1;
            break;
        }
        progress_tick(ctx, 0);
        if (read_failed) {
            break;
        }
        n = read_chunk(in, buf, SCAN_CHUNK_BYTES, 0, &read_failed);
    }
    if (!push_failed && push_checked(ctx, source, NULL, 0) != 0) {
        push_failed = 1;
    }
    if (read_failed) {
        term_progress_clear(&ctx->progress);
        fprintf(stderr, "secdet: %s: %s\n", ctx->file, cli_input_error(in));
    }
    ctx->bytes_before += cli_input_consumed(in);
    ctx->input = NULL;
    cli_input_close(in);
    return read_failed || push_failed ? -1 : 0;
}

static void print_summary(const scan_ctx *ctx, size_t files_read, double elapsed) {
    secdet_stats stats = {0};
    scan_stats_get(ctx, &stats);
    unsigned long long events = stats.events;
    double rate = elapsed > 0 ? (double)events / elapsed : 0.0;
    fprintf(stderr, "scanned %llu %s (%llu malformed) from %zu %s, %llu %s", events,
            cli_plural(events, "event", "events"), (unsigned long long)stats.malformed, files_read,
            cli_plural(files_read, "file", "files"), ctx->alerts, cli_plural(ctx->alerts, "alert", "alerts"));
    if (ctx->opts->rule_globs.count > 0 || ctx->opts->min_severity > SECDET_SEVERITY_INFO) {
        fprintf(stderr, " (%llu filtered out)", ctx->filtered);
    }
    fprintf(stderr, ", in %.2f s (%.0f events/s)\n", elapsed, rate);
    /* Correlation losses must not go unseen. */
    if (stats.late || stats.evicted) {
        fprintf(stderr,
                "secdet: %llu late %s (older than the lateness; not correlated), %llu correlation %s evicted "
                "to stay under the state cap (--max-state)\n",
                (unsigned long long)stats.late, cli_plural(stats.late, "event", "events"),
                (unsigned long long)stats.evicted, cli_plural(stats.evicted, "group", "groups"));
    }
}

/* --stats: the engine's counters, one JSON object on stderr. */
static void print_stats(const scan_ctx *ctx) {
    secdet_stats s = {0};
    scan_stats_get(ctx, &s);
    fprintf(stderr,
            "{\"type\":\"stats\",\"events\":%llu,\"text_events\":%llu,\"malformed\":%llu,\"alerts\":%llu,"
            "\"shown\":%llu,\"filtered\":%llu,\"rules_run\":%llu,\"budget_exceeded\":%llu,\"late\":%llu,"
            "\"bytes\":%llu,\"evicted\":%llu,\"groups\":%llu,\"state_bytes\":%llu}\n",
            (unsigned long long)s.events, (unsigned long long)s.text_events, (unsigned long long)s.malformed,
            (unsigned long long)s.alerts, ctx->alerts, ctx->filtered, (unsigned long long)s.rules_run,
            (unsigned long long)s.budget_exceeded, (unsigned long long)s.late, (unsigned long long)s.bytes,
            (unsigned long long)s.evicted, (unsigned long long)s.groups, (unsigned long long)s.state_bytes);
}

int scan_run(scan_ctx *ctx, char **args, size_t nargs) {
    scan_files list = {0};
    int failed = scan_expand_inputs(ctx->engine, args, nargs, &list) != 0;
    size_t count = list.n;
    unsigned char *buf = malloc(SCAN_CHUNK_BYTES);
    if (buf == NULL) {
        fprintf(stderr, "secdet: out of memory\n");
        scan_files_free(&list);
        return CLI_EXIT_ERROR;
    }
    /* The total is known only when every input is a regular file. stat(2),
     * not open: opening a named pipe to measure it would eat its first bytes. */
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        const char *path = list.v[i].path;
        if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            ctx->bytes_total = 0;
            break;
        }
        ctx->bytes_total += (unsigned long long)st.st_size;
    }

    double started = term_now();
    size_t files_read = 0;
    if (scan_parallel(ctx, &list, &failed, &files_read)) {
        /* -j N: split across engines (scan_parallel.c) */
    } else if (count == 1) { /* one stream: pushed as it is read */
        if (scan_one(ctx, &list.v[0], buf) != 0) {
            failed = 1;
        } else {
            files_read++;
        }
        progress_tick(ctx, 1);
    } else if (count > 1 && scan_merge(ctx, &list, &files_read) != 0) {
        failed = 1;
    }
    /* The state is saved before the final flush: it still holds the events
     * waiting for ordering, which the next run's events may precede. */
    if (ctx->opts->state != NULL) {
        secdet_status st = secdet_snapshot_save(ctx->engine, ctx->opts->state);
        if (st != SECDET_OK) {
            term_progress_clear(&ctx->progress);
            fprintf(stderr, "secdet: cannot save the state to %s: %s\n", ctx->opts->state, secdet_strerror(st));
            failed = 1;
        }
    }
    (void)secdet_flush(ctx->engine);
    double elapsed = term_now() - started;
    term_progress_clear(&ctx->progress);
    if (ctx->after_flush) ctx->after_flush(ctx);
    free(buf);
    scan_files_free(&list);
    fflush(stdout);

    if (!ctx->opts->quiet) {
        print_summary(ctx, files_read, elapsed);
        cli_print_excepted(stderr, ctx->engine);
    }
    if (ctx->opts->summary) {
        cli_print_rule_table(stderr, ctx->engine);
    }
    if (ctx->opts->stats) {
        print_stats(ctx);
    }
    if (failed) {
        return CLI_EXIT_ERROR;
    }
    if (ctx->opts->fail_on_alert && ctx->alerts > 0) {
        return CLI_EXIT_FINDING;
    }
    return CLI_EXIT_OK;
}

/* --state FILE: loads it when it exists. Rules whose state was dropped are
 * named on stderr; a damaged file stops the run (it would be overwritten). */
static int load_state(scan_ctx *ctx) {
    const char *path = ctx->opts->state;
    if (path == NULL) {
        return 0;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        return 0;
    }
    secdet_diagnostics *report = NULL;
    secdet_status st = secdet_snapshot_load(ctx->engine, path, &report);
    size_t n = secdet_diagnostics_count(report);
    for (size_t i = 0; i < n; i++) {
        secdet_diagnostic d;
        if (secdet_diagnostics_get(report, i, &d) != SECDET_OK) {
            continue;
        }
        if (d.severity == SECDET_DIAG_WARNING && ctx->opts->quiet) {
            continue;
        }
        char *line = secdet_diagnostics_format(report, i);
        if (line != NULL) {
            fprintf(stderr, "%s\n", line);
        }
        secdet_free(line);
    }
    secdet_diagnostics_free(report);
    if (st != SECDET_OK) {
        if (n == 0) {
            fprintf(stderr, "secdet: cannot load the state from %s: %s\n", path, secdet_strerror(st));
        }
        return -1;
    }
    return 0;
}

int cmd_scan(int argc, char **argv) {
    scan_options o;
    int rc = scan_parse_options(argc, argv, &o);
    if (rc >= 0) {
        scan_options_free(&o);
        return rc;
    }

    scan_ctx ctx = {.opts = &o};
    ctx.stdout_is_tty = term_is_tty(STDOUT_FILENO);
    ctx.text = o.output_json == 0 || (o.output_json < 0 && ctx.stdout_is_tty);
    ctx.colour = ctx.text && term_colour_ok(STDOUT_FILENO);
    int progress = o.progress == SCAN_PROGRESS_ON ||
                   (o.progress == SCAN_PROGRESS_AUTO && !o.quiet && term_is_tty(STDERR_FILENO) && ctx.stdout_is_tty);
    term_progress_init(&ctx.progress, progress);

    secdet_engine_opts eo;
    scan_engine_opts(&o, &eo);
    secdet_status status = secdet_engine_new(&eo, &ctx.engine);
    if (status != SECDET_OK) {
        fprintf(stderr, "secdet: cannot create an engine: %s\n", secdet_strerror(status));
        scan_options_free(&o);
        return CLI_EXIT_ERROR;
    }
    cli_load_result loaded;
    int rules_ok = cli_load_rules(ctx.engine, o.rules.items, o.rules.count, 1, &loaded) == 0;
    if (rules_ok && !o.quiet) (void)cli_warn_expired(ctx.engine, cli_today_ns());
    if (!rules_ok) {
        rc = CLI_EXIT_ERROR;
    } else if (scan_check_filters(&ctx) != 0 || load_state(&ctx) != 0) {
        rc = CLI_EXIT_ERROR;
    } else {
        secdet_set_alert_callback(ctx.engine, scan_on_alert, &ctx);
        secdet_set_error_callback(ctx.engine, scan_on_malformed, &ctx);
        rc = scan_run(&ctx, argv + optind, (size_t)(argc - optind));
    }
    secdet_engine_free(ctx.engine);
    scan_options_free(&o);
    return rc;
}
