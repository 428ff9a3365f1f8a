/*
 * cmd_check.c — `secdet check RULES...`: compile, print every diagnostic.
 *
 * All RULES go into one engine, as they would for a scan, so that names
 * shared across files resolve the same way. Diagnostics go to stderr in the
 * compiler's `file:line:col: message` form that editors jump to. Every pack
 * manifest (pack.json) under a directory argument is read and held to its
 * rules (pack.c); a bad manifest fails the check like a bad rule.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

int cmd_check(int argc, char **argv) {
    secdet_engine *engine = NULL;
    int loaded = 0;
    cli_load_result result;
    int rc = cli_rules_command("check", argc, argv, &engine, &loaded, &result);
    if (rc >= 0) return rc;
    size_t pack_errors = loaded ? cli_packs_check(engine, argv + optind, (size_t)(argc - optind)) : 0;
    if (pack_errors != 0) {
        loaded = 0;
        result.errors += pack_errors;
    }
    if (loaded) {
        size_t rules = secdet_rule_count(engine);
        fprintf(stderr, "%zu %s OK (%zu %s)\n", rules, cli_plural(rules, "rule", "rules"), result.warnings,
                cli_plural(result.warnings, "warning", "warnings"));
    } else {
        fprintf(stderr, "%zu %s, %zu %s\n", result.errors, cli_plural(result.errors, "error", "errors"),
                result.warnings, cli_plural(result.warnings, "warning", "warnings"));
    }
    secdet_engine_free(engine);
    return loaded ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}
