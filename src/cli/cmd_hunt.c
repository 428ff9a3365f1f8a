/*
 * cmd_hunt.c — `secdet hunt [CONDITION | --rules R] INPUT...`: every event
 * of one question, across every log, as one timeline.
 *
 * The inputs are scan's (TYPE:PATH, directories, several files merged in
 * event-time order, each event routed to the source of its log type), and
 * so is the run: cmd_scan.c's scan_run with the hunt's alert callback. A
 * CONDITION is the `where` of one rule without `on`, so it sees every log
 * type and may use the common fields (@ip, @user, ...); its output
 * template renders the table's columns (--fields: any path or common field,
 * each rendered as the language renders a template's field, through the
 * event's log type). With --rules the rules' alerts are the timeline,
 * aggregations included (a retro-hunt).
 *
 * Matches are held and printed sorted by event time at the end: a file's
 * events need not be in order, and the merge of several is ordered only as
 * far as each file is. What is held is the matches (one line each), not
 * the events read. --since/--until keep the events (alerts) of that time.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/hunt.h"
#include "util/buf.h"

static const char default_fields[] = "@type,@action,@user,@ip,@outcome,summary";

const char *const hunt_summary_paths[] = {
    ".eventSource",  ".displayMessage",     ".title", ".protoPayload.serviceName", ".id.applicationName",
    ".ComputerName", ".event.ComputerName", NULL};

int hunt_parse_time(const char *text, int64_t *ns) {
    int64_t ago = scan_parse_duration_ms(text);
    if (ago >= 0 && strchr(text, '-') == NULL) {
        *ns = ((int64_t)time(NULL) * 1000 - ago) * 1000000;
        return 0;
    }
    struct tm tm = {0};
    int n = 0;
    if (sscanf(text, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10) return -1;
    const char *p = text + n;
    long frac_ns = 0;
    int off_s = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &k) != 2 || k != 5) return -1;
        p += 1 + k;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &tm.tm_sec, &k) != 1 || k != 2) return -1;
            p += 3;
            if (*p == '.') {
                long scale = 100000000;
                for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) frac_ns += scale * (*p - '0');
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int hh, mm;
            if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &k) != 2 || k != 5) return -1;
            off_s = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
            p += 6;
        }
    }
    if (*p != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ns = ((int64_t)timegm(&tm) - off_s) * 1000000000 + frac_ns;
    return 0;
}

/* The rule a CONDITION stands for: its where, and an output template that
 * renders the fields (or the --count-by key) apart by HUNT_SEP. */
static char *condition_rule(const hunt_ctx *h) {
    buf b;
    sd_buf_init(&b);
    /* The condition on a line of its own, so its diagnostics' columns are the user's. */
    sd_buf_puts(&b, "rule hunt {\nwhere\n");
    sd_buf_puts(&b, h->condition);
    sd_buf_puts(&b, "\noutput \"");
    if (h->count_by && !h->count_by_time) {
        sd_buf_printf(&b, "{%s}", h->count_by);
    } else {
        for (size_t i = 0; i < h->fields.count; i++) {
            if (i) sd_buf_puts(&b, "\\u001f");
            if (strcmp(h->fields.items[i], "summary") != 0) {
                sd_buf_printf(&b, "{%s}", h->fields.items[i]);
                continue;
            }
            for (size_t k = 0; hunt_summary_paths[k]; k++)
                sd_buf_printf(&b, "%s{%s}", k ? "\\u001e" : "", hunt_summary_paths[k]);
        }
    }
    sd_buf_puts(&b, "\"\n}\n");
    return b.oom ? (sd_buf_free(&b), NULL) : sd_buf_steal(&b);
}

static int load_condition(hunt_ctx *h) {
    char *text = condition_rule(h);
    if (!text) return -1;
    secdet_diagnostics *diag = NULL;
    secdet_status st = secdet_load_rules_string(h->sc.engine, "condition", text, strlen(text), &diag);
    size_t n = secdet_diagnostics_count(diag);
    for (size_t i = 0; i < n; i++) {
        char *line = secdet_diagnostics_format(diag, i);
        if (line) fprintf(stderr, "%s\n", line);
        secdet_free(line);
    }
    secdet_diagnostics_free(diag);
    free(text);
    if (st != SECDET_OK && n == 0) fprintf(stderr, "secdet hunt: %s\n", secdet_strerror(st));
    return st == SECDET_OK ? 0 : -1;
}

static int split_fields(const char *list, cli_strings *out) {
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *one = strndup(p, n);
        if (!one || !*one || strchr(one, '"') || strchr(one, '{') || strchr(one, '}')) {
            free(one);
            return -1;
        }
        int rc = cli_strings_push(out, one);
        free(one);
        if (rc != 0) return -1;
        p += n + (comma ? 1 : 0);
    }
    return out->count ? 0 : -1;
}

static int parse_options(hunt_ctx *h, int argc, char **argv) {
    enum { OPT_SINCE = 256, OPT_UNTIL, OPT_FIELDS, OPT_COUNT_BY, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_LATENESS };
    static const struct option long_options[] = {
        {"rules", required_argument, NULL, 'r'},
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"fields", required_argument, NULL, OPT_FIELDS},
        {"count-by", required_argument, NULL, OPT_COUNT_BY},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"lateness", required_argument, NULL, OPT_LATENESS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *fields = NULL;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":r:o:qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (cli_strings_push(&h->so.rules, optarg) != 0) return CLI_EXIT_ERROR;
            break;
        case OPT_SINCE:
        case OPT_UNTIL:
            if (hunt_parse_time(optarg, c == OPT_SINCE ? &h->since : &h->until) != 0)
                return cli_usage_error("hunt", "bad time '%s' (2024-03-14, 2024-03-14T15:04:05Z, or 24h ago as 24h)",
                                       optarg);
            break;
        case OPT_FIELDS: fields = optarg; break;
        case OPT_COUNT_BY: h->count_by = optarg; break;
        case 'o':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
                return cli_usage_error("hunt", "unknown output '%s' (json, table)", optarg);
            h->so.output_json = strcmp(optarg, "json") == 0;
            break;
        case OPT_LATENESS:
            h->so.lateness_ms = scan_parse_duration_ms(optarg);
            if (h->so.lateness_ms < 0) return cli_usage_error("hunt", "bad --lateness '%s'", optarg);
            break;
        case OPT_PROGRESS: h->so.progress = SCAN_PROGRESS_ON; break;
        case OPT_NO_PROGRESS: h->so.progress = SCAN_PROGRESS_OFF; break;
        case 'q': h->so.quiet = 1; break;
        case 'h': cli_usage("hunt", stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("hunt", c, optopt, argv[optind - 1]);
        }
    }
    if (h->so.rules.count == 0) {
        if (optind >= argc) return cli_usage_error("hunt", "a CONDITION or --rules R is required%s", "");
        h->condition = argv[optind++];
    }
    if (optind >= argc) return cli_usage_error("hunt", "no input given (files, directories, '-' for stdin)%s", "");
    if (h->count_by) {
        if (strcmp(h->count_by, "hour(@time)") == 0) h->count_by_time = 13;
        if (strcmp(h->count_by, "day(@time)") == 0) h->count_by_time = 10;
        if (h->so.rules.count && !h->count_by_time)
            return cli_usage_error("hunt", "with --rules, --count-by is hour(@time) or day(@time), not '%s'",
                                   h->count_by);
    }
    if (fields && h->so.rules.count)
        return cli_usage_error("hunt", "--fields goes with a CONDITION, not --rules%s", "");
    if (split_fields(fields ? fields : default_fields, &h->fields) != 0)
        return cli_usage_error("hunt", "bad --fields '%s' (paths or common fields, comma-separated)",
                               fields ? fields : "");
    return -1;
}

/* The timeline before scan's summary, so the summary is the last line. */
static void print_held(scan_ctx *ctx) {
    hunt_print((hunt_ctx *)ctx);
    fflush(stdout);
}

int cmd_hunt(int argc, char **argv) {
    hunt_ctx *h = calloc(1, sizeof *h);
    if (!h) return CLI_EXIT_ERROR;
    scan_options_init(&h->so);
    h->since = INT64_MIN;
    h->until = INT64_MAX;
    int rc = parse_options(h, argc, argv);
    if (rc < 0) {
        scan_ctx *ctx = &h->sc;
        ctx->opts = &h->so;
        ctx->stdout_is_tty = term_is_tty(STDOUT_FILENO);
        h->table = h->so.output_json == 0 || (h->so.output_json < 0 && ctx->stdout_is_tty);
        int progress = h->so.progress == SCAN_PROGRESS_ON ||
                       (h->so.progress == SCAN_PROGRESS_AUTO && !h->so.quiet && term_is_tty(STDERR_FILENO));
        term_progress_init(&ctx->progress, progress);
        secdet_engine_opts eo;
        secdet_engine_opts_init(&eo);
        if (h->so.lateness_ms >= 0) eo.lateness_ms = h->so.lateness_ms;
        if (secdet_engine_new(&eo, &ctx->engine) != SECDET_OK) {
            fprintf(stderr, "secdet: cannot create an engine\n");
            rc = CLI_EXIT_ERROR;
        } else {
            cli_load_result loaded;
            int ok = h->condition ? load_condition(h) == 0
                                  : cli_load_rules(ctx->engine, h->so.rules.items, h->so.rules.count, 1, &loaded) == 0;
            if (!ok) {
                rc = CLI_EXIT_ERROR;
            } else {
                secdet_set_alert_callback(ctx->engine, hunt_on_alert, h);
                ctx->after_flush = print_held;
                secdet_set_error_callback(ctx->engine, scan_on_malformed, ctx);
                cli_strings inputs = {0};
                int s3_failed = hunt_s3_expand(h, argv + optind, (size_t)(argc - optind), &inputs) != 0;
                /* An S3 prefix with nothing in the time asked is an empty timeline, not an error. */
                rc = inputs.count ? scan_run(ctx, inputs.items, inputs.count) : CLI_EXIT_OK;
                if (s3_failed) rc = CLI_EXIT_ERROR;
                cli_strings_free(&inputs);
                hunt_s3_cleanup(h);
                if (h->oom) {
                    fprintf(stderr, "secdet: out of memory: some matches were lost\n");
                    rc = CLI_EXIT_ERROR;
                }
            }
            secdet_engine_free(ctx->engine);
        }
    }
    hunt_free_rows(h);
    cli_strings_free(&h->fields);
    scan_options_free(&h->so);
    free(h);
    return rc;
}
