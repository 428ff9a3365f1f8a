/*
 * cmd_disasm.c — `secdet disasm RULES...`: the compiled bytecode, readable.
 *
 * The EXPLAIN of secdet: what the compiler made of a rule, one instruction
 * a line with the source line it came from.
 */
#include <stdio.h>

#include "cli/cli.h"

int cmd_disasm(int argc, char **argv) {
    secdet_engine *engine = NULL;
    int loaded = 0;
    cli_load_result result;
    int rc = cli_rules_command("disasm", argc, argv, &engine, &loaded, &result);
    if (rc >= 0) return rc;
    rc = CLI_EXIT_OK;
    if (!loaded) {
        rc = CLI_EXIT_ERROR;
    } else {
        char *text = NULL;
        secdet_status status = secdet_disasm(engine, &text);
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
