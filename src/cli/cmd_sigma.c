/*
 * cmd_sigma.c — `secdet sigma convert RULES... [-o DIR]`: Sigma rules as
 * secdet rules.
 *
 * The conversion is pySigma's work (bindings/sigma, the Python package
 * pysigma-backend-secdet); this command only runs it, so that a user need
 * not learn sigma-cli first. $SECDET_PYTHON names the interpreter (default
 * python3). When the package is missing it says so and how to install it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/* argv[1] of the interpreter: imports the package or explains, then runs it. */
static const char bootstrap[] =
    "import sys\n"
    "try:\n"
    "    from sigma_backend_secdet.__main__ import main\n"
    "except ImportError as e:\n"
    "    sys.stderr.write('secdet sigma: the Python package pysigma-backend-secdet is needed '\n"
    "                     '(pip install ./bindings/sigma, which installs pySigma too): %s\\n' % e)\n"
    "    sys.exit(2)\n"
    "sys.exit(main(sys.argv[1:]))\n";

int cmd_sigma(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cli_usage("sigma", argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_ERROR : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "convert") != 0) {
        return cli_usage_error("sigma", "unknown subcommand '%s' (expected convert)", argv[1]);
    }
    const char *python = getenv("SECDET_PYTHON");
    if (python == NULL || python[0] == '\0') python = "python3";
    /* python -c BOOTSTRAP convert ARGS... NULL */
    char **args = calloc((size_t)argc + 3, sizeof *args);
    if (args == NULL) {
        fputs("secdet sigma: out of memory\n", stderr);
        return CLI_EXIT_ERROR;
    }
    args[0] = (char *)python;
    args[1] = (char *)"-c";
    args[2] = (char *)bootstrap;
    for (int i = 1; i < argc; i++) args[i + 2] = argv[i];
    fflush(stdout);
    execvp(python, args);
    fprintf(stderr, "secdet sigma: cannot run %s (set SECDET_PYTHON): ", python);
    perror(NULL);
    free(args);
    return CLI_EXIT_ERROR;
}
