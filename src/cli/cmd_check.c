/*
 * cmd_check.c — `secdet check [--today DATE] [--explain-tuning] RULES...`:
 * compile, print every diagnostic.
 *
 * All RULES go into one engine, as they would for a scan, so that names
 * shared across files resolve the same way. Diagnostics go to stderr in the
 * compiler's `file:line:col: message` form that editors jump to, followed by
 * a warning for each exception past its date (today by the clock, or
 * --today, so that a test or a CI job can ask about a fixed day).
 * --explain-tuning prints on stdout what each tune and disable changes.
 * Every pack manifest (pack.json) under a directory argument is read and
 * held to its rules (pack.c); a bad manifest fails the check like a bad rule.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/rule_figures.h"

/* What tuning changes, on stdout. */
static void explain_tuning(const secdet_engine *engine) {
    char *text = NULL;
    if (secdet_tuning_explain(engine, &text) != SECDET_OK) {
        fprintf(stderr, "secdet: out of memory\n");
        return;
    }
    fputs(text[0] ? text : "no tune or disable declarations\n", stdout);
    secdet_free(text);
}

int cmd_check(int argc, char **argv) {
    static const struct option long_options[] = {
        {"today", required_argument, NULL, 'd'},
        {"explain-tuning", no_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int64_t today = cli_today_ns();
    int explain = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        switch (c) {
        case 'd':
            today = cli_day_start_ns(optarg);
            if (today < 0) return cli_usage_error("check", "bad --today '%s' (a date: YYYY-MM-DD)", optarg);
            break;
        case 'x': explain = 1; break;
        case 'h': cli_usage("check", stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("check", c, optopt, argv[optind - 1]);
        }
    }
    if (optind >= argc) return cli_usage_error("check", "no rule files given%s", "");
    secdet_engine *engine = NULL;
    secdet_status status = secdet_engine_new(NULL, &engine);
    if (status != SECDET_OK) {
        fprintf(stderr, "secdet: cannot create an engine: %s\n", secdet_strerror(status));
        return CLI_EXIT_ERROR;
    }
    cli_load_result result;
    int loaded = cli_load_rules(engine, argv + optind, (size_t)(argc - optind), 1, &result) == 0;
    size_t pack_errors = loaded ? cli_packs_check(engine, argv + optind, (size_t)(argc - optind)) : 0;
    if (pack_errors != 0) {
        loaded = 0;
        result.errors += pack_errors;
    }
    if (loaded) {
        result.warnings += cli_warn_expired(engine, today);
        size_t rules = secdet_rule_count(engine);
        fprintf(stderr, "%zu %s OK (%zu %s)\n", rules, cli_plural(rules, "rule", "rules"), result.warnings,
                cli_plural(result.warnings, "warning", "warnings"));
        if (explain) explain_tuning(engine);
    } else {
        fprintf(stderr, "%zu %s, %zu %s\n", result.errors, cli_plural(result.errors, "error", "errors"),
                result.warnings, cli_plural(result.warnings, "warning", "warnings"));
    }
    secdet_engine_free(engine);
    return loaded ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}
