/*
 * main.c — the `secdet` command: picks the sub-command and owns stdout.
 *
 * stdout carries results (alerts, disassembly, test lines), so when it is not
 * a terminal it is fully buffered with a large buffer: a scan that writes
 * millions of alert lines must not make a write(2) per line. The buffer is
 * released only after stdout is closed, and a failed close (a full disk, a
 * closed pipe) is an error: output that was lost must not exit 0.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define STDOUT_BUFFER_BYTES (1u << 20)

static const char usage_overview[] =
    "usage: secdet COMMAND [OPTIONS] ARGS...\n"
    "\n"
    "commands:\n"
    "  check RULES...            compile rule files and directories, print every error\n"
    "  scan --rules PATH FILE... evaluate events and print alerts as JSON lines\n"
    "  test RULES...             run each rule file's X.tests.jsonl test events\n"
    "  disasm RULES...           print the compiled bytecode\n"
    "  hunt CONDITION INPUT...   every event that meets CONDITION, across log types, as one timeline\n"
    "  sql [--dialect D] RULES...  compile rules to SQL for a log lake (Athena, Trino, DuckDB)\n"
    "  sigma convert SIGMA... [-o DIR]  Sigma rules as secdet rules (needs pysigma-backend-secdet)\n"
    "  run --config FILE         run as a detector: inputs, rules and sinks from FILE\n"
    "                            (--check: check FILE and exit)\n"
    "  version                   print the version\n"
    "  help [COMMAND]            print this text, or a command's\n"
    "\n"
    "RULES are .secdet files or directories (every *.secdet below them).\n"
    "Run 'secdet COMMAND --help' for a command's options.\n";

static const char usage_check[] = "usage: secdet check [OPTIONS] RULES...\n"
                                  "\n"
                                  "Compiles RULES (files, or directories: every *.secdet below them) into one\n"
                                  "ruleset and prints every error and warning on stderr as 'file:line:col: message'.\n"
                                  "A pack manifest (pack.json) in a directory below RULES is checked too: its\n"
                                  "members, the engine version it needs, and the log types its rules read.\n"
                                  "\n"
                                  "options:\n"
                                  "      --today DATE      warn of exceptions whose date is before DATE\n"
                                  "                        (YYYY-MM-DD; default: today)\n"
                                  "      --explain-tuning  print on stdout what each tune and disable changes\n"
                                  "  -h, --help            print this text\n"
                                  "\n"
                                  "exit status: 0 the rules compile, 2 they do not.\n";

static const char usage_scan[] =
    "usage: secdet scan --rules PATH [OPTIONS] [TYPE:]FILE...\n"
    "\n"
    "Evaluates the events in each FILE (plain or gzip; '-' is stdin; a directory\n"
    "stands for its *.json, *.jsonl and *.gz files, recursively, in name order)\n"
    "as one stream, the inputs merged in event-time order, and prints every\n"
    "alert on stdout: JSON lines, or readable lines on a terminal. A summary\n"
    "follows on stderr. Each event's log type (okta, gcp-audit, ...) is told by\n"
    "its shape, or by TYPE for every event of TYPE:FILE (docs/log-types.md).\n"
    "\n"
    "options:\n"
    "  -r, --rules PATH          a rule file or directory (repeatable, required)\n"
    "  -f, --format FORMAT       auto (default: CloudTrail log files or JSON lines,\n"
    "                            per file), jsonl, cloudtrail, cloudwatch-logs or\n"
    "                            eventbridge\n"
    "  -s, --source NAME         the source name of every event (default: its\n"
    "                            log type's, e.g. 'okta' or 'cloudtrail')\n"
    "  -o, --output json|text    alert format (default: text on a terminal, else json)\n"
    "      --min-severity LEVEL  print only alerts of at least LEVEL (info, low,\n"
    "                            medium, high, critical)\n"
    "      --rule GLOB           print only alerts of rules whose name matches GLOB\n"
    "                            (repeatable; shell globs: * ? [...]); every rule is\n"
    "                            still evaluated\n"
    "      --fail-on-alert       exit 1 when any alert was printed\n"
    "      --progress            draw the progress bar on stderr even when stdout or\n"
    "                            stderr is not a terminal\n"
    "      --no-progress         no progress bar (default: one when both stdout and\n"
    "                            stderr are terminals)\n"
    "      --lateness DUR        allowed lateness of out-of-order events for\n"
    "                            correlation (default 15m; e.g. 500ms, 30s, 10m, 1h)\n"
    "      --max-samples N       sample events carried by an aggregation alert\n"
    "                            (default 5)\n"
    "      --max-state MIB       cap on correlation state, MiB (default 256); past it\n"
    "                            the least recently seen groups are evicted\n"
    "      --state FILE          correlation state: restored from FILE when it\n"
    "                            exists, saved to it at the end (see docs/correlation.md)\n"
    "      --stats               print the engine's counters as a JSON line on stderr\n"
    "                            at the end\n"
    "      --summary             print a table of alerts, suppressed and excepted\n"
    "                            events per rule, loudest first, on stderr at the end\n"
    "  -j, --jobs N              engines on threads (default: one per core): a JSON\n"
    "                            lines file is cut into N parts at line ends, the\n"
    "                            matches of correlating rules go to one engine in\n"
    "                            the file's order; the alerts are those of -j 1, in\n"
    "                            another order. Several inputs, stdin, gzip and\n"
    "                            other formats run on one (docs/performance.md)\n"
    "  -q, --quiet               no closing summary (and no progress bar unless\n"
    "                            --progress)\n"
    "  -h, --help                print this text\n"
    "\n"
    "exit status: 0 it ran, 1 an alert was printed with --fail-on-alert,\n"
    "2 unusable rules, options or input.\n";

static const char usage_test[] = "usage: secdet test [OPTIONS] RULES...\n"
                                 "\n"
                                 "For each rule file X.secdet, runs the tests in X.tests.jsonl beside it: one\n"
                                 "JSON object a line, {\"rule\": NAME, \"expect\": \"match\"|\"no-match\",\n"
                                 "\"source\": NAME (default \"cloudtrail\"), \"event\": {...}, \"name\": TEXT}.\n"
                                 "Instead of \"event\", \"events\": [...] is a stream pushed in order and then\n"
                                 "flushed (for count, distinct and sequence rules); \"expect_alerts\": N asks\n"
                                 "for exactly N alerts of the rule.\n"
                                 "Every rule that alerts needs a test that must fire and one that must not.\n"
                                 "Ends with the line 'N passed, M failed'.\n"
                                 "\n"
                                 "options:\n"
                                 "  -v, --verbose   print every test, not only failures\n"
                                 "  -c, --coverage  report, per pack, the rules without a test that must fire\n"
                                 "                  or one that must not (they fail the run either way)\n"
                                 "  -h, --help      print this text\n"
                                 "\n"
                                 "exit status: 0 all passed, 1 some failed, 2 unusable rules or tests.\n";

static const char usage_disasm[] = "usage: secdet disasm [OPTIONS] RULES...\n"
                                   "\n"
                                   "Compiles RULES and prints their bytecode, one instruction a line.\n"
                                   "\n"
                                   "options:\n"
                                   "  -h, --help    print this text\n";

static const char usage_hunt[] =
    "usage: secdet hunt [OPTIONS] CONDITION INPUT...\n"
    "       secdet hunt [OPTIONS] --rules RULES INPUT...\n"
    "\n"
    "Prints every event that meets CONDITION (a rule's where: '@ip == \"203.0.113.7\"'),\n"
    "or every alert of RULES, from files, directories and TYPE:PATH inputs of any\n"
    "log types, as one timeline in event-time order: a table on a terminal, JSON\n"
    "lines otherwise (docs/investigate.md).\n"
    "\n"
    "options:\n"
    "  -r, --rules RULES     rules instead of a CONDITION (a retro-hunt; aggregations too)\n"
    "      --since T         events at or after T: 2024-03-14, 2024-03-14T15:04:05Z, or 24h (ago)\n"
    "      --until T         events at or before T\n"
    "      --fields F,...    the table's columns after the time (paths or common fields;\n"
    "                        default @type,@action,@user,@ip,@outcome,summary)\n"
    "      --count-by K      a histogram of K instead (a path, a common field, hour(@time), day(@time))\n"
    "  -o, --output FORMAT   table or json (default: table on a terminal, else json)\n"
    "      --lateness DUR    how far out of order events may come (aggregations)\n"
    "      --progress, --no-progress   the progress bar (default: when stderr is a terminal)\n"
    "  -q, --quiet           no summary\n"
    "  -h, --help            print this text\n"
    "\n"
    "exit status: 0 it ran, 2 a bad condition, rules or input, or a usage error.\n";

static const char usage_sigma[] = "usage: secdet sigma convert SIGMA... [-o DIR] [--placeholders FILE]\n"
                                  "                            [--logsource KEY=VALUE[,KEY=VALUE...]:SOURCE]...\n"
                                  "                            [--other-source NAME] [--pipeline FILE]...\n"
                                  "                            [--report FILE]\n"
                                  "\n"
                                  "Converts Sigma rules (.yml files and directories) into secdet rule files, one\n"
                                  "per Sigma file in DIR (default: stdout); a rule secdet cannot express exactly\n"
                                  "is refused, named on stderr with its id and the reason (docs/sigma.md).\n"
                                  "--logsource product=windows:jsonl: rules of a logsource without a secdet log\n"
                                  "type that it matches (KEY category, product or service) become `on jsonl`,\n"
                                  "fields as written; the first matching --logsource wins, --other-source NAME\n"
                                  "takes the rest. --pipeline FILE: a pySigma pipeline of field-name mappings\n"
                                  "that renames those rules' fields.\n"
                                  "Runs the Python package pysigma-backend-secdet (pip install ./bindings/sigma)\n"
                                  "with $SECDET_PYTHON (default python3).\n"
                                  "\n"
                                  "exit status: 0 all converted, 1 some refused, 2 a usage error or no package.\n";

static const char usage_sql[] =
    "usage: secdet sql [--dialect athena|trino|duckdb] RULES...\n"
    "       secdet sql [--dialect D] --table LOGTYPE\n"
    "\n"
    "Compiles each rule of RULES to one SQL statement over its log type's table\n"
    "(docs/investigate.md): a rule that the dialect cannot express exactly is\n"
    "refused, named on stderr with the reason. --table prints the table's DDL.\n"
    "\n"
    "options:\n"
    "  -d, --dialect D   athena (default), trino or duckdb\n"
    "  -t, --table T     print the CREATE TABLE of log type T's table and exit\n"
    "  -h, --help        print this text\n"
    "\n"
    "exit status: 0 every rule compiled, 1 some refused, 2 unusable rules or a usage error.\n";

static const char usage_run[] = "usage: secdet run --config FILE [--check]\n"
                                "\n"
                                "Runs until SIGTERM or SIGINT: reads events from the inputs FILE names (file\n"
                                "tails, stdin, TCP, UDP, a Kafka consumer group), evaluates the rules it names,\n"
                                "and hands every alert to its sinks (stdout, file, webhook, Slack, syslog, Kafka).\n"
                                "FILE's schema is in docs/config.md; the Kafka input's in docs/scale-out.md.\n"
                                "\n"
                                "signals: SIGHUP reloads the rules (a set with errors is rejected and the old one\n"
                                "keeps running), SIGUSR1 prints stats as a JSON line on stderr, SIGTERM/SIGINT\n"
                                "evaluate what was read, flush and exit 0.\n"
                                "\n"
                                "options:\n"
                                "  -c, --config FILE   the configuration (JSON)\n"
                                "  -t, --check         check FILE whole (keys, rules, sinks, secrets, inputs'\n"
                                "                      settings) and exit, starting nothing: no port bound, no\n"
                                "                      input read, no spool created, no broker contacted\n"
                                "  -h, --help          print this text\n"
                                "\n"
                                "exit status: 0 stopped by a signal or the inputs ended (with --check: the\n"
                                "configuration is good), 2 unusable configuration or rules.\n";

const char *cli_plural(unsigned long long n, const char *one, const char *many) { return n == 1 ? one : many; }

void cli_usage(const char *command, void *out_stream) {
    FILE *out = out_stream;
    const char *text = usage_overview;
    if (command != NULL) {
        if (strcmp(command, "check") == 0) {
            text = usage_check;
        } else if (strcmp(command, "scan") == 0) {
            text = usage_scan;
        } else if (strcmp(command, "test") == 0) {
            text = usage_test;
        } else if (strcmp(command, "disasm") == 0) {
            text = usage_disasm;
        } else if (strcmp(command, "hunt") == 0) {
            text = usage_hunt;
        } else if (strcmp(command, "sql") == 0) {
            text = usage_sql;
        } else if (strcmp(command, "sigma") == 0) {
            text = usage_sigma;
        } else if (strcmp(command, "run") == 0) {
            text = usage_run;
        }
    }
    fputs(text, out);
}

int cli_usage_error(const char *command, const char *fmt, const char *arg) {
    fprintf(stderr, "secdet%s%s: ", command ? " " : "", command ? command : "");
    /* fmt is always one of our literals with at most one %s. */
    fprintf(stderr, fmt, arg ? arg : "");
    fputs("\n\n", stderr);
    cli_usage(command, stderr);
    return CLI_EXIT_ERROR;
}

int cli_bad_option(const char *command, int ret, int opt, const char *arg) {
    char shortopt[3] = {'-', (char)opt, '\0'};
    /* For a bundled short option ("-qx") the argv word is not the option. */
    const char *shown = (opt != 0 && (arg == NULL || strncmp(arg, "--", 2) != 0)) ? shortopt : arg;
    if (ret == ':') {
        return cli_usage_error(command, "option '%s' needs an argument", shown);
    }
    return cli_usage_error(command, "unknown option '%s'", shown);
}

static int print_version(void) {
    printf("secdet %s (libsecdet %s)\n", SECDET_VERSION_STRING, secdet_version());
    return CLI_EXIT_OK;
}

static int run(int argc, char **argv) {
    if (argc < 2) {
        cli_usage(NULL, stderr);
        return CLI_EXIT_ERROR;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        return print_version();
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        const char *topic = argc > 2 ? argv[2] : NULL;
        if (topic != NULL && strcmp(topic, "check") != 0 && strcmp(topic, "scan") != 0 && strcmp(topic, "test") != 0 &&
            strcmp(topic, "disasm") != 0 && strcmp(topic, "run") != 0 && strcmp(topic, "sql") != 0 &&
            strcmp(topic, "hunt") != 0 && strcmp(topic, "sigma") != 0) {
            return cli_usage_error(NULL, "no help for unknown command '%s'", topic);
        }
        cli_usage(topic, stdout);
        return CLI_EXIT_OK;
    }
    /* The command's getopt sees its own name as argv[0]. */
    if (strcmp(cmd, "check") == 0) {
        return cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "scan") == 0) {
        return cmd_scan(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "test") == 0) {
        return cmd_test(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "disasm") == 0) {
        return cmd_disasm(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "run") == 0) {
        return cmd_run(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "hunt") == 0) {
        return cmd_hunt(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "sql") == 0) {
        return cmd_sql(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "sigma") == 0) {
        return cmd_sigma(argc - 1, argv + 1);
    }
    if (cmd[0] == '-') {
        return cli_usage_error(NULL, "unknown option '%s'", cmd);
    }
    return cli_usage_error(NULL, "unknown command '%s'", cmd);
}

int main(int argc, char **argv) {
    char *outbuf = NULL;
    if (!term_is_tty(STDOUT_FILENO)) {
        outbuf = malloc(STDOUT_BUFFER_BYTES);
        if (outbuf != NULL && setvbuf(stdout, outbuf, _IOFBF, STDOUT_BUFFER_BYTES) != 0) {
            free(outbuf);
            outbuf = NULL;
        }
    }
    int rc = run(argc, argv);
    if (fclose(stdout) != 0) {
        fprintf(stderr, "secdet: error writing output\n");
        rc = CLI_EXIT_ERROR;
    }
    free(outbuf);
    return rc;
}
