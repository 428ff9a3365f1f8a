/*
 * scan_options.c — `secdet scan`'s command line.
 *
 * Every option is listed in `secdet help scan` (main.c) and in the README's
 * command table; tests/cli checks that the two name the same options.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/scan.h"
#include "util/severity.h"

/* "500ms", "30s", "10m", "1h", "7d" (or a bare number of milliseconds) → ms; -1 when bad. */
int64_t scan_parse_duration_ms(const char *text) {
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

/* A whole decimal number within [lo, hi], or -1. */
static long long parse_number(const char *text, long long lo, long long hi) {
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || n < lo || n > hi) {
        return -1;
    }
    return n;
}

/* "info" .. "critical" (any case) → 0, or -1. */
static int parse_severity(const char *text, secdet_severity *out) {
    return sd_severity_parse(text, true, out) ? 0 : -1;
}

static int push_or_fail(cli_strings *list, const char *s) {
    if (cli_strings_push(list, s) != 0) {
        fprintf(stderr, "secdet: out of memory\n");
        return -1;
    }
    return 0;
}

void scan_options_init(scan_options *o) {
    *o = (scan_options){.format = SECDET_FMT_AUTO,
                        .output_json = -1,
                        .progress = SCAN_PROGRESS_AUTO,
                        .lateness_ms = -1,
                        .max_samples = -1,
                        .max_state_mb = -1,
                        .min_severity = SECDET_SEVERITY_INFO};
}

void scan_engine_opts(const scan_options *o, secdet_engine_opts *eo) {
    secdet_engine_opts_init(eo);
    if (o->lateness_ms >= 0) {
        eo->lateness_ms = o->lateness_ms;
    }
    if (o->max_samples > 0) {
        eo->max_samples = (uint32_t)o->max_samples;
    }
    if (o->max_state_mb > 0) {
        eo->max_state_bytes = (uint64_t)o->max_state_mb << 20;
    }
}

int scan_parse_options(int argc, char **argv, scan_options *o) {
    enum {
        OPT_FAIL_ON_ALERT = 256,
        OPT_PROGRESS,
        OPT_NO_PROGRESS,
        OPT_STATE,
        OPT_LATENESS,
        OPT_MAX_SAMPLES,
        OPT_MAX_STATE,
        OPT_MIN_SEVERITY,
        OPT_RULE,
        OPT_STATS,
        OPT_SUMMARY,
    };
    static const struct option long_options[] = {
        {"rules", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'f'},
        {"source", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"min-severity", required_argument, NULL, OPT_MIN_SEVERITY},
        {"rule", required_argument, NULL, OPT_RULE},
        {"fail-on-alert", no_argument, NULL, OPT_FAIL_ON_ALERT},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"quiet", no_argument, NULL, 'q'},
        {"stats", no_argument, NULL, OPT_STATS},
        {"summary", no_argument, NULL, OPT_SUMMARY},
        {"jobs", required_argument, NULL, 'j'},
        {"state", required_argument, NULL, OPT_STATE},
        {"lateness", required_argument, NULL, OPT_LATENESS},
        {"max-samples", required_argument, NULL, OPT_MAX_SAMPLES},
        {"max-state", required_argument, NULL, OPT_MAX_STATE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    scan_options_init(o);
    opterr = 0;
    int c;
    long long n;
    while ((c = getopt_long(argc, argv, ":r:f:s:o:j:qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (push_or_fail(&o->rules, optarg) != 0) return CLI_EXIT_ERROR;
            break;
        case 'f':
            if (secdet_format_parse(optarg, &o->format) != SECDET_OK) {
                return cli_usage_error(
                    "scan", "unknown format '%s' (auto, jsonl, cloudtrail, cloudwatch-logs, eventbridge)", optarg);
            }
            break;
        case 's':
            if (optarg[0] == '\0') return cli_usage_error("scan", "--source needs a name%s", "");
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
        case OPT_MIN_SEVERITY:
            if (parse_severity(optarg, &o->min_severity) != 0) {
                return cli_usage_error("scan", "unknown severity '%s' (info, low, medium, high, critical)", optarg);
            }
            break;
        case OPT_RULE:
            if (optarg[0] == '\0') return cli_usage_error("scan", "--rule needs a rule name or glob%s", "");
            if (push_or_fail(&o->rule_globs, optarg) != 0) return CLI_EXIT_ERROR;
            break;
        case OPT_FAIL_ON_ALERT: o->fail_on_alert = 1; break;
        case OPT_PROGRESS: o->progress = SCAN_PROGRESS_ON; break;
        case OPT_NO_PROGRESS: o->progress = SCAN_PROGRESS_OFF; break;
        case OPT_STATS: o->stats = 1; break;
        case OPT_SUMMARY: o->summary = 1; break;
        case OPT_STATE:
            if (optarg[0] == '\0') return cli_usage_error("scan", "--state needs a file name%s", "");
            o->state = optarg;
            break;
        case OPT_LATENESS:
            o->lateness_ms = scan_parse_duration_ms(optarg);
            if (o->lateness_ms < 0) {
                return cli_usage_error("scan", "bad --lateness '%s' (a duration: 500ms, 30s, 10m, 1h, 7d)", optarg);
            }
            break;
        case OPT_MAX_SAMPLES:
            n = parse_number(optarg, 1, 1000);
            if (n < 0) return cli_usage_error("scan", "bad --max-samples '%s' (a number from 1 to 1000)", optarg);
            o->max_samples = (long)n;
            break;
        case OPT_MAX_STATE:
            n = parse_number(optarg, 1, 1048576);
            if (n < 0) return cli_usage_error("scan", "bad --max-state '%s' (MiB, from 1 to 1048576)", optarg);
            o->max_state_mb = n;
            break;
        case 'j':
            n = parse_number(optarg, 1, 256);
            if (n < 0) return cli_usage_error("scan", "bad --jobs '%s' (a number from 1 to 256)", optarg);
            o->jobs = (long)n;
            break;
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

void scan_options_free(scan_options *o) {
    cli_strings_free(&o->rules);
    cli_strings_free(&o->rule_globs);
}
