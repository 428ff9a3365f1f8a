/*
 * cmd_scan.c — `secdet scan --rules PATH FILE...`: events in, alerts out.
 *
 * One engine for the whole run, files in the order given, so correlation
 * spans files (CloudTrail writes one log file every few minutes). A
 * directory stands for the *.json, *.jsonl and *.gz files below it, in byte
 * order of their paths (as the Python binding's scan() orders a directory),
 * each file its own stream. Alerts go to stdout (JSON lines, or readable
 * lines on a terminal; scan_output.c); everything else — malformed events,
 * unreadable files, progress, the summary — to stderr, so stdout can be
 * piped into jq untouched.
 *
 * The source name of every event is --source, else the format's name; with
 * --format auto the format is decided per file from its first bytes (after
 * gunzip), so one run can mix CloudTrail log files and JSON lines.
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

#include "cli/scan.h"

#define SCAN_CHUNK_BYTES (1u << 20)

static void progress_tick(scan_ctx *ctx, int force) {
    if (!ctx->progress.enabled) {
        return;
    }
    secdet_stats stats = {0};
    (void)secdet_stats_get(ctx->engine, &stats);
    term_progress_state s = {
        .bytes_done = ctx->bytes_before + (ctx->input ? cli_input_consumed(ctx->input) : 0),
        .bytes_total = ctx->bytes_total,
        .events = stats.events,
        .alerts = ctx->alerts,
        .file = ctx->file,
    };
    term_progress_update(&ctx->progress, &s, force);
}

/*
 * Decides a file's format from its first bytes: a JSON object whose first key
 * is "Records" is a CloudTrail log file, anything else JSON lines.
 * Returns 1 when decided, 0 when more bytes are needed.
 */
static int detect_format(const unsigned char *p, size_t n, int at_end, secdet_format *out) {
    static const char records[] = "\"Records\"";
    size_t i = 0;
    if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        i = 3; /* UTF-8 byte order mark */
    }
    int seen_brace = 0;
    for (; i < n; i++) {
        unsigned char c = p[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        }
        if (!seen_brace) {
            if (c != '{') {
                break;
            }
            seen_brace = 1;
            continue;
        }
        size_t need = sizeof records - 1;
        size_t have = n - i < need ? n - i : need;
        if (memcmp(p + i, records, have) != 0) {
            break;
        }
        if (have < need) {
            if (at_end) {
                break;
            }
            return 0;
        }
        *out = SECDET_FMT_CLOUDTRAIL;
        return 1;
    }
    if (i == n && !at_end) {
        return 0;
    }
    *out = SECDET_FMT_JSONL;
    return 1;
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

/* Scans a mapped file (input_map.c) window by window, as scan_file does a read one. */
static int scan_mapped(scan_ctx *ctx, cli_map *m) {
    const unsigned char *p;
    size_t n;
    int got = cli_map_next(m, &p, &n);
    secdet_format detected = ctx->opts->format;
    if (got > 0 && detected == SECDET_FMT_AUTO) {
        (void)detect_format(p, n < SCAN_CHUNK_BYTES ? n : SCAN_CHUNK_BYTES, 1, &detected);
    }
    const char *source = ctx->opts->source ? ctx->opts->source : secdet_format_name(detected);
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
static int scan_file(scan_ctx *ctx, const char *path, unsigned char *buf) {
    ctx->file = strcmp(path, "-") == 0 ? "<stdin>" : path;
    ctx->errors_shown = 0;
    cli_map m;
    if (cli_map_open(path, &m)) {
        return scan_mapped(ctx, &m);
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
    secdet_format detected = ctx->opts->format;
    int decided = detected != SECDET_FMT_AUTO;
    for (;;) {
        size_t got = read_chunk(in, buf, SCAN_CHUNK_BYTES, n, &read_failed);
        int at_end = got == n || got == SCAN_CHUNK_BYTES || read_failed;
        n = got;
        if (decided || detect_format(buf, n, at_end, &detected)) {
            break;
        }
    }
    const char *source = ctx->opts->source ? ctx->opts->source : secdet_format_name(detected);

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

static int add_sources(scan_ctx *ctx) {
    const scan_options *o = ctx->opts;
    secdet_status status = SECDET_OK;
    if (o->source != NULL || o->format != SECDET_FMT_AUTO) {
        /* One source: named --source, else after the format. */
        secdet_source_opts so = {.format = o->format, .time_field = NULL};
        status = secdet_source_add(ctx->engine, o->source ? o->source : secdet_format_name(o->format), &so);
    } else {
        /* auto: the formats detect_format can pick, each its own source. */
        static const secdet_format picked[] = {SECDET_FMT_JSONL, SECDET_FMT_CLOUDTRAIL};
        for (size_t i = 0; i < sizeof picked / sizeof picked[0] && status == SECDET_OK; i++) {
            secdet_source_opts so = {.format = picked[i], .time_field = NULL};
            status = secdet_source_add(ctx->engine, secdet_format_name(picked[i]), &so);
        }
    }
    if (status != SECDET_OK) {
        fprintf(stderr, "secdet: cannot add the input source: %s\n", secdet_strerror(status));
        return -1;
    }
    return 0;
}

/* The files the arguments name: a directory stands for the files below it
 * that look like logs, taken as the Python binding takes them (hidden
 * files too; links to files followed, links to directories not), in byte
 * order of their paths. -1 when an argument could not be listed or holds
 * no such file (said on stderr); the others are still listed. */
static int expand_inputs(char **args, size_t count, cli_strings *files) {
    static const char *const suffixes[] = {".json", ".jsonl", ".gz", NULL};
    static const cli_walk how = {.suffixes = suffixes, .hidden = 1, .follow_links = 0};
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        size_t before = files->count;
        struct stat st;
        int is_dir = strcmp(args[i], "-") != 0 && stat(args[i], &st) == 0 && S_ISDIR(st.st_mode);
        if (cli_collect_files(args[i], &how, files) != 0) {
            fprintf(stderr, "secdet: %s: %s\n", args[i], strerror(errno));
            rc = -1;
        } else if (is_dir && files->count == before) {
            fprintf(stderr, "secdet: %s: no *.json, *.jsonl or *.gz files below it\n", args[i]);
            rc = -1;
        }
    }
    return rc;
}

static void print_summary(const scan_ctx *ctx, size_t files_read, double elapsed) {
    secdet_stats stats = {0};
    (void)secdet_stats_get(ctx->engine, &stats);
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
    (void)secdet_stats_get(ctx->engine, &s);
    fprintf(stderr,
            "{\"type\":\"stats\",\"events\":%llu,\"text_events\":%llu,\"malformed\":%llu,\"alerts\":%llu,"
            "\"shown\":%llu,\"filtered\":%llu,\"rules_run\":%llu,\"budget_exceeded\":%llu,\"late\":%llu,"
            "\"bytes\":%llu,\"evicted\":%llu,\"groups\":%llu,\"state_bytes\":%llu}\n",
            (unsigned long long)s.events, (unsigned long long)s.text_events, (unsigned long long)s.malformed,
            (unsigned long long)s.alerts, ctx->alerts, ctx->filtered, (unsigned long long)s.rules_run,
            (unsigned long long)s.budget_exceeded, (unsigned long long)s.late, (unsigned long long)s.bytes,
            (unsigned long long)s.evicted, (unsigned long long)s.groups, (unsigned long long)s.state_bytes);
}

static int run_scan(scan_ctx *ctx, char **args, size_t nargs) {
    cli_strings list = {0};
    int failed = expand_inputs(args, nargs, &list) != 0;
    char **files = list.items;
    size_t count = list.count;
    unsigned char *buf = malloc(SCAN_CHUNK_BYTES);
    if (buf == NULL) {
        fprintf(stderr, "secdet: out of memory\n");
        cli_strings_free(&list);
        return CLI_EXIT_ERROR;
    }
    /* The total is known only when every input is a regular file. stat(2),
     * not open: opening a named pipe to measure it would eat its first bytes. */
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (strcmp(files[i], "-") == 0 || stat(files[i], &st) != 0 || !S_ISREG(st.st_mode)) {
            ctx->bytes_total = 0;
            break;
        }
        ctx->bytes_total += (unsigned long long)st.st_size;
    }

    double started = term_now();
    size_t files_read = 0;
    for (size_t i = 0; i < count; i++) {
        if (scan_file(ctx, files[i], buf) != 0) {
            failed = 1;
        } else {
            files_read++;
        }
        progress_tick(ctx, 1);
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
    free(buf);
    cli_strings_free(&list);
    fflush(stdout);

    if (!ctx->opts->quiet) {
        print_summary(ctx, files_read, elapsed);
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
    secdet_engine_opts_init(&eo);
    if (o.lateness_ms >= 0) {
        eo.lateness_ms = o.lateness_ms;
    }
    if (o.max_samples > 0) {
        eo.max_samples = (uint32_t)o.max_samples;
    }
    if (o.max_state_mb > 0) {
        eo.max_state_bytes = (uint64_t)o.max_state_mb << 20;
    }
    secdet_status status = secdet_engine_new(&eo, &ctx.engine);
    if (status != SECDET_OK) {
        fprintf(stderr, "secdet: cannot create an engine: %s\n", secdet_strerror(status));
        scan_options_free(&o);
        return CLI_EXIT_ERROR;
    }
    cli_load_result loaded;
    if (cli_load_rules(ctx.engine, o.rules.items, o.rules.count, 1, &loaded) != 0) {
        rc = CLI_EXIT_ERROR;
    } else if (scan_check_filters(&ctx) != 0 || add_sources(&ctx) != 0 || load_state(&ctx) != 0) {
        rc = CLI_EXIT_ERROR;
    } else {
        secdet_set_alert_callback(ctx.engine, scan_on_alert, &ctx);
        secdet_set_error_callback(ctx.engine, scan_on_malformed, &ctx);
        rc = run_scan(&ctx, argv + optind, (size_t)(argc - optind));
    }
    secdet_engine_free(ctx.engine);
    scan_options_free(&o);
    return rc;
}
