/*
 * cmd_scan.c — `secdet scan --rules PATH FILE...`: events in, alerts out.
 *
 * One engine for the whole run, files in the order given, so correlation
 * spans files (CloudTrail writes one log file every few minutes). Alerts go
 * to stdout (JSON lines, or readable lines on a terminal); everything else —
 * malformed events, unreadable files, progress, the summary — to stderr, so
 * stdout can be piped into jq untouched.
 *
 * The source name of every event is --source, else the format's name; with
 * --format auto the format is decided per file from its first bytes (after
 * gunzip), so one run can mix CloudTrail log files and JSON lines.
 * A file that cannot be read is reported and skipped; the run goes on and
 * exits 2 at the end. A malformed event is reported with its line (jsonl) or
 * record (cloudtrail) number and the rest of the file is still scanned.
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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#define SCAN_CHUNK_BYTES (1u << 20)
/* Malformed events reported per file; the rest are only counted. */
#define MAX_ERRORS_SHOWN_PER_FILE 100
#define SEVERITY_WIDTH            8 /* "CRITICAL" */

typedef struct scan_options {
    cli_strings rules;
    secdet_format format;
    const char *source; /* NULL: the format's name */
    int output_json;    /* -1: decide from the terminal */
    int fail_on_alert;
    int progress;
    int quiet;
    const char *state;     /* --state FILE, or NULL */
    int64_t lateness_ms;   /* --lateness; -1: the engine's default */
    long max_samples;      /* --max-samples; -1: the engine's default */
    long long max_state_mb; /* --max-state; -1: the engine's default */
} scan_options;

typedef struct scan_ctx {
    const scan_options *opts;
    secdet_engine *engine;
    int text; /* readable lines instead of JSON */
    int colour;
    int stdout_is_tty;
    term_progress progress;
    const char *file;           /* the file being read, as shown in messages */
    secdet_format file_format;  /* its format (message style: line or record) */
    unsigned long errors_shown; /* malformed events reported for this file */
    unsigned long long alerts;
    unsigned long long bytes_before; /* raw bytes of the files already read */
    unsigned long long bytes_total;  /* 0: unknown (stdin, a pipe) */
    const cli_input *input;
} scan_ctx;

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

static const char *severity_colour(secdet_severity sev) {
    switch (sev) {
    case SECDET_SEVERITY_CRITICAL: return "\033[1;31m";
    case SECDET_SEVERITY_HIGH: return "\033[31m";
    case SECDET_SEVERITY_MEDIUM: return "\033[33m";
    case SECDET_SEVERITY_LOW: return "\033[36m";
    default: return "\033[2m";
    }
}

/* "2023-07-10T12:11:15Z" (seconds are enough for a person reading). */
static void format_time(char *buf, size_t len, int64_t ns) {
    int64_t secs = ns / 1000000000;
    if (ns < 0 && ns % 1000000000 != 0) {
        secs--; /* floor, so times before 1970 are not a second late */
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, len, "-");
    }
}

static void print_alert_text(scan_ctx *ctx, const secdet_alert *alert) {
    secdet_severity sev = secdet_alert_severity(alert);
    const char *name = secdet_severity_name(sev);
    char upper[16];
    size_t i = 0;
    for (; name != NULL && name[i] != '\0' && i + 1 < sizeof upper; i++) {
        upper[i] = (name[i] >= 'a' && name[i] <= 'z') ? (char)(name[i] - 'a' + 'A') : name[i];
    }
    upper[i] = '\0';
    char when[40];
    format_time(when, sizeof when, secdet_alert_time_ns(alert));
    const char *rule = secdet_alert_rule(alert);
    const char *message = secdet_alert_message(alert);

    if (ctx->colour) {
        fprintf(stdout, "%s%-*s\033[0m", severity_colour(sev), SEVERITY_WIDTH, upper);
    } else {
        fprintf(stdout, "%-*s", SEVERITY_WIDTH, upper);
    }
    fprintf(stdout, "  %s  ", when);
    term_write_safe(stdout, rule ? rule : "-");
    fputs("  ", stdout);
    term_write_safe(stdout, message ? message : "");
    putc('\n', stdout);
}

static void on_alert(void *user, const secdet_alert *alert) {
    scan_ctx *ctx = user;
    ctx->alerts++;
    if (ctx->text) {
        if (ctx->stdout_is_tty) {
            term_progress_clear(&ctx->progress); /* same screen */
        }
        print_alert_text(ctx, alert);
        return;
    }
    size_t len = 0;
    const char *json = secdet_alert_json(alert, &len);
    if (json != NULL) {
        fwrite(json, 1, len, stdout);
        putc('\n', stdout);
    }
}

/* The decoder's messages may start with their own "line N: " or
 * "record N: "; we print the place in the FILE:LINE form, so drop it. */
static const char *strip_place(const char *message, uint64_t where) {
    static const char *const words[] = {"line ", "record "};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t len = strlen(words[i]);
        if (strncmp(message, words[i], len) != 0) {
            continue;
        }
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(message + len, &end, 10);
        if (errno == 0 && end != message + len && n == where && end[0] == ':' && end[1] == ' ') {
            return end + 2;
        }
    }
    return message;
}

static void on_malformed(void *user, const char *source, uint64_t where, const char *message) {
    (void)source;
    scan_ctx *ctx = user;
    message = message ? strip_place(message, where) : "malformed event";
    ctx->errors_shown++;
    if (ctx->errors_shown > MAX_ERRORS_SHOWN_PER_FILE) {
        return;
    }
    term_progress_clear(&ctx->progress);
    const char *file = ctx->file ? ctx->file : "-";
    if (ctx->errors_shown == MAX_ERRORS_SHOWN_PER_FILE) {
        fprintf(stderr, "%s: more malformed events; further ones are only counted\n", file);
        return;
    }
    if (where == 0) {
        fprintf(stderr, "%s: %s\n", file, message);
    } else if (ctx->file_format == SECDET_FMT_CLOUDTRAIL) {
        fprintf(stderr, "%s: record %llu: %s\n", file, (unsigned long long)where, message);
    } else {
        fprintf(stderr, "%s:%llu: %s\n", file, (unsigned long long)where, message);
    }
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
    secdet_status status =
        len ? secdet_push(ctx->engine, source, bytes, len) : secdet_source_end(ctx->engine, source);
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

/* Scans one file. -1 when it could not be read (or not to its end). */
static int scan_file(scan_ctx *ctx, const char *path, unsigned char *buf) {
    ctx->file = strcmp(path, "-") == 0 ? "<stdin>" : path;
    ctx->errors_shown = 0;
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
    ctx->file_format = detected;
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

/* "500ms", "30s", "10m", "1h", "7d" (or a bare number of milliseconds) → ms; -1 when bad. */
static int64_t parse_duration_ms(const char *text) {
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno != 0 || end == text || n < 0 || text[0] == '-' || text[0] == '+') {
        return -1;
    }
    static const struct {
        const char *unit;
        long long ms;
    } units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            return n > INT64_MAX / units[i].ms ? -1 : (int64_t)(n * units[i].ms);
        }
    }
    return -1;
}

static int parse_options(int argc, char **argv, scan_options *o) {
    enum { OPT_FAIL_ON_ALERT = 256, OPT_NO_PROGRESS, OPT_STATE, OPT_LATENESS, OPT_MAX_SAMPLES, OPT_MAX_STATE };
    static const struct option long_options[] = {
        {"rules", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'},
        {"source", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"fail-on-alert", no_argument, NULL, OPT_FAIL_ON_ALERT},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"quiet", no_argument, NULL, 'q'},
        {"state", required_argument, NULL, OPT_STATE},
        {"lateness", required_argument, NULL, OPT_LATENESS},
        {"max-samples", required_argument, NULL, OPT_MAX_SAMPLES},
        {"max-state", required_argument, NULL, OPT_MAX_STATE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":r:f:s:o:qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (cli_strings_push(&o->rules, optarg) != 0) {
                fprintf(stderr, "secdet: out of memory\n");
                return CLI_EXIT_ERROR;
            }
            break;
        case 'f':
            if (secdet_format_parse(optarg, &o->format) != SECDET_OK) {
                return cli_usage_error("scan", "unknown format '%s' (auto, jsonl, cloudtrail)",
                                       optarg);
            }
            break;
        case 's':
            if (optarg[0] == '\0') {
                return cli_usage_error("scan", "--source needs a name%s", "");
            }
            o->source = optarg;
            break;
        case 'o':
            if (strcmp(optarg, "json") == 0) {
                o->output_json = 1;
            } else if (strcmp(optarg, "text") == 0) {
                o->output_json = 0;
            } else {
                return cli_usage_error("scan", "unknown output '%s' (json, text)", optarg);
            }
            break;
        case OPT_FAIL_ON_ALERT: o->fail_on_alert = 1; break;
        case OPT_NO_PROGRESS: o->progress = 0; break;
        case OPT_STATE:
            if (optarg[0] == '\0') {
                return cli_usage_error("scan", "--state needs a file name%s", "");
            }
            o->state = optarg;
            break;
        case OPT_LATENESS:
            o->lateness_ms = parse_duration_ms(optarg);
            if (o->lateness_ms < 0) {
                return cli_usage_error("scan", "bad --lateness '%s' (a duration: 500ms, 30s, 10m, 1h, 7d)",
                                       optarg);
            }
            break;
        case OPT_MAX_SAMPLES: {
            char *end = NULL;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || n < 1 || n > 1000) {
                return cli_usage_error("scan", "bad --max-samples '%s' (a number from 1 to 1000)", optarg);
            }
            o->max_samples = n;
            break;
        }
        case OPT_MAX_STATE: {
            char *end = NULL;
            errno = 0;
            long long mb = strtoll(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || mb < 1 || mb > 1048576) {
                return cli_usage_error("scan", "bad --max-state '%s' (MiB, from 1 to 1048576)", optarg);
            }
            o->max_state_mb = mb;
            break;
        }
        case 'q': o->quiet = 1; break;
        case 'h': cli_usage("scan", stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("scan", c, optopt, argv[optind - 1]);
        }
    }
    if (o->rules.count == 0) {
        return cli_usage_error("scan", "--rules PATH is required%s", "");
    }
    if (optind >= argc) {
        return cli_usage_error("scan", "no input files given (use '-' for stdin)%s", "");
    }
    return -1;
}

static int add_sources(scan_ctx *ctx) {
    secdet_status status;
    if (ctx->opts->source != NULL) {
        secdet_source_opts so = {.format = ctx->opts->format, .time_field = NULL};
        status = secdet_source_add(ctx->engine, ctx->opts->source, &so);
    } else {
        secdet_source_opts jsonl = {.format = SECDET_FMT_JSONL, .time_field = NULL};
        secdet_source_opts cloudtrail = {.format = SECDET_FMT_CLOUDTRAIL, .time_field = NULL};
        status = secdet_source_add(ctx->engine, secdet_format_name(SECDET_FMT_JSONL), &jsonl);
        if (status == SECDET_OK) {
            status = secdet_source_add(ctx->engine, secdet_format_name(SECDET_FMT_CLOUDTRAIL),
                                       &cloudtrail);
        }
    }
    if (status != SECDET_OK) {
        fprintf(stderr, "secdet: cannot add the input source: %s\n", secdet_strerror(status));
        return -1;
    }
    return 0;
}

static int run_scan(scan_ctx *ctx, char **files, size_t count) {
    unsigned char *buf = malloc(SCAN_CHUNK_BYTES);
    if (buf == NULL) {
        fprintf(stderr, "secdet: out of memory\n");
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
    int failed = 0;
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
    fflush(stdout);

    secdet_stats stats = {0};
    (void)secdet_stats_get(ctx->engine, &stats);
    if (!ctx->opts->quiet) {
        double rate = elapsed > 0 ? (double)stats.events / elapsed : 0.0;
        /* A fixed shape (no singulars): scripts match this line. */
        fprintf(stderr,
                "scanned %llu events (%llu malformed) from %zu files, %llu alerts, "
                "in %.2f s (%.0f events/s)\n",
                (unsigned long long)stats.events, (unsigned long long)stats.malformed, files_read,
                ctx->alerts, elapsed, rate);
        /* Correlation losses must not go unseen. */
        if (stats.late || stats.evicted)
            fprintf(stderr,
                    "secdet: %llu late events (older than the lateness; not correlated), %llu correlation "
                    "groups evicted to stay under the state cap (--max-state)\n",
                    (unsigned long long)stats.late, (unsigned long long)stats.evicted);
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
    scan_options o = {.format = SECDET_FMT_AUTO, .output_json = -1, .progress = 1, .lateness_ms = -1,
                      .max_samples = -1, .max_state_mb = -1};
    int rc = parse_options(argc, argv, &o);
    if (rc >= 0) {
        cli_strings_free(&o.rules);
        return rc;
    }

    scan_ctx ctx = {.opts = &o};
    ctx.stdout_is_tty = term_is_tty(STDOUT_FILENO);
    ctx.text = o.output_json == 0 || (o.output_json < 0 && ctx.stdout_is_tty);
    ctx.colour = ctx.text && term_colour_ok(STDOUT_FILENO);
    term_progress_init(&ctx.progress, o.progress && !o.quiet && term_is_tty(STDERR_FILENO));

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
        cli_strings_free(&o.rules);
        return CLI_EXIT_ERROR;
    }
    cli_load_result loaded;
    if (cli_load_rules(ctx.engine, o.rules.items, o.rules.count, 1, &loaded) != 0) {
        rc = CLI_EXIT_ERROR;
    } else if (add_sources(&ctx) != 0) {
        rc = CLI_EXIT_ERROR;
    } else if (load_state(&ctx) != 0) {
        rc = CLI_EXIT_ERROR;
    } else {
        secdet_set_alert_callback(ctx.engine, on_alert, &ctx);
        secdet_set_error_callback(ctx.engine, on_malformed, &ctx);
        rc = run_scan(&ctx, argv + optind, (size_t)(argc - optind));
    }
    secdet_engine_free(ctx.engine);
    cli_strings_free(&o.rules);
    return rc;
}
