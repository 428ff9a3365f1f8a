/*
 * cmd_disasm.c — `secdet disasm RULES...`: the compiled bytecode, readable.
 *
 * The EXPLAIN of secdet: what the compiler made of a rule, one instruction
 * a line with the source line it came from.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

int cmd_disasm(int argc, char **argv) {
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        switch (c) {
        case 'h': cli_usage("disasm", stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("disasm", c, optopt, argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return cli_usage_error("disasm", "no rule files given%s", "");
    }

    secdet_engine *engine = NULL;
    secdet_status status = secdet_engine_new(NULL, &engine);
    if (status != SECDET_OK) {
        fprintf(stderr, "secdet: cannot create an engine: %s\n", secdet_strerror(status));
        return CLI_EXIT_ERROR;
    }
    int rc = CLI_EXIT_OK;
    cli_load_result result;
    if (cli_load_rules(engine, argv + optind, (size_t)(argc - optind), 1, &result) != 0) {
        rc = CLI_EXIT_ERROR;
    } else {
        char *text = NULL;
        status = secdet_disasm(engine, &text);
        if (status != SECDET_OK) {
            fprintf(stderr, "secdet: disassembly failed: %s\n", secdet_strerror(status));
            rc = CLI_EXIT_ERROR;
        } else if (text != NULL) {
            fputs(text, stdout);
        }
        secdet_free(text);
    }
    secdet_engine_free(engine);
    return rc;
}
