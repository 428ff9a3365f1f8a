/*
 * cmd_sql.c — `secdet sql [--dialect D] RULES...`: rules as SQL for a log lake.
 *
 * The rules are loaded into an engine first, so their diagnostics are the
 * ones every command prints and rules that do not compile stop here. Then
 * each alerting rule becomes one statement on stdout (src/sql/); a rule the
 * dialect cannot express exactly is named on stderr with the reason, and
 * its place on stdout is an SQL comment saying so. `--table TYPE` prints the
 * table the statements read (docs/investigate.md).
 *
 * Exit status: 0 when every rule was compiled, 1 when one was refused (the
 * others are still printed), 2 for rules that do not load or a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sql/sql.h"

static char *read_all(const char *path, size_t *len) {
    buf b;
    sd_buf_init(&b);
    if (sd_buf_read_file(&b, path) != 0) return sd_buf_free(&b), NULL;
    *len = b.len;
    return sd_buf_steal(&b);
}

static int compile_files(char *const *args, size_t nargs, sql_dialect d) {
    cli_strings paths = {0};
    for (size_t i = 0; i < nargs; i++) {
        if (cli_collect_rule_files(args[i], &paths) != 0) {
            fprintf(stderr, "secdet: %s: cannot read\n", args[i]);
            cli_strings_free(&paths);
            return CLI_EXIT_ERROR;
        }
    }
    compile_input *in = calloc(paths.count ? paths.count : 1, sizeof *in);
    int rc = in ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    for (size_t i = 0; in && i < paths.count && rc == CLI_EXIT_OK; i++) {
        in[i].name = paths.items[i];
        in[i].text = read_all(paths.items[i], &in[i].len);
        if (!in[i].text) {
            fprintf(stderr, "secdet: %s: cannot read\n", paths.items[i]);
            rc = CLI_EXIT_ERROR;
        }
    }
    buf out, refused;
    sd_buf_init(&out);
    sd_buf_init(&refused);
    size_t compiled = 0, nrefused = 0;
    if (rc == CLI_EXIT_OK && sd_sql_compile_sources(in, paths.count, d, &out, &refused, &compiled, &nrefused) != 0) {
        fprintf(stderr, "secdet: the rules could not be compiled to SQL\n");
        rc = CLI_EXIT_ERROR;
    }
    if (rc == CLI_EXIT_OK) {
        if (out.data) fputs(out.data, stdout);
        if (refused.data) {
            for (char *line = strtok(refused.data, "\n"); line; line = strtok(NULL, "\n"))
                fprintf(stderr, "secdet: %s\n", line);
        }
        fprintf(stderr, "%zu %s compiled to SQL, %zu refused\n", compiled, cli_plural(compiled, "rule", "rules"),
                nrefused);
        if (nrefused) rc = CLI_EXIT_FINDING;
    }
    sd_buf_free(&out);
    sd_buf_free(&refused);
    for (size_t i = 0; in && i < paths.count; i++) free((char *)in[i].text);
    free(in);
    cli_strings_free(&paths);
    return rc;
}

int cmd_sql(int argc, char **argv) {
    static const struct option long_options[] = {
        {"dialect", required_argument, NULL, 'd'},
        {"table", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sql_dialect d = SQL_ATHENA;
    const char *table = NULL;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":d:t:h", long_options, NULL)) != -1) {
        switch (c) {
        case 'd':
            if (sd_sql_dialect_parse(optarg, &d) != 0)
                return cli_usage_error("sql", "unknown dialect '%s' (athena, trino, duckdb)", optarg);
            break;
        case 't': table = optarg; break;
        case 'h': cli_usage("sql", stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("sql", c, optopt, argv[optind - 1]);
        }
    }
    if (table) {
        buf ddl;
        sd_buf_init(&ddl);
        int rc = sd_sql_table_ddl(table, d, &ddl);
        if (rc == 0) fputs(ddl.data, stdout);
        sd_buf_free(&ddl);
        if (rc != 0)
            fprintf(stderr,
                    "secdet: no documented table for log type '%s' (cloudtrail, guardduty, gcp-audit, gworkspace, okta "
                    "and crowdstrike have one)\n",
                    table);
        return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    }
    if (optind >= argc) return cli_usage_error("sql", "no RULES given%s", "");
    secdet_engine *engine = NULL;
    if (secdet_engine_new(NULL, &engine) != SECDET_OK) {
        fprintf(stderr, "secdet: cannot create an engine\n");
        return CLI_EXIT_ERROR;
    }
    cli_load_result loaded;
    int ok = cli_load_rules(engine, argv + optind, (size_t)(argc - optind), 1, &loaded) == 0;
    secdet_engine_free(engine);
    if (!ok) return CLI_EXIT_ERROR;
    return compile_files(argv + optind, (size_t)(argc - optind), d);
}
