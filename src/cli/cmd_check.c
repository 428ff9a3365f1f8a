/*
 * cmd_check.c — `secdet check RULES...`: compile, print every diagnostic.
 *
 * All RULES go into one engine, as they would for a scan, so that names
 * shared across files resolve the same way. Diagnostics go to stderr in the
 * compiler's `file:line:col: message` form that editors jump to.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

int cmd_check(int argc, char **argv) {
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        switch (c) {
        case 'h': cli_usage("check", stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("check", c, optopt, argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return cli_usage_error("check", "no rule files given%s", "");
    }

    secdet_engine *engine = NULL;
    secdet_status status = secdet_engine_new(NULL, &engine);
    if (status != SECDET_OK) {
        fprintf(stderr, "secdet: cannot create an engine: %s\n", secdet_strerror(status));
        return CLI_EXIT_ERROR;
    }
    cli_load_result result;
    int rc = cli_load_rules(engine, argv + optind, (size_t)(argc - optind), 1, &result);
    if (rc == 0) {
        /* Always plural: scripts match this line. */
        fprintf(stderr, "%zu rules OK (%zu warnings)\n", secdet_rule_count(engine),
                result.warnings);
    } else {
        fprintf(stderr, "%zu error%s, %zu warning%s\n", result.errors,
                result.errors == 1 ? "" : "s", result.warnings, result.warnings == 1 ? "" : "s");
    }
    secdet_engine_free(engine);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}
