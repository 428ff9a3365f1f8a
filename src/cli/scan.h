/*
 * scan.h — what the pieces of `secdet scan` share: its options
 * (scan_options.c), what it prints (scan_output.c) and the run itself
 * (cmd_scan.c).
 */
#ifndef SECDET_CLI_SCAN_H
#define SECDET_CLI_SCAN_H

#include <stdint.h>

#include "cli/cli.h"

enum { SCAN_PROGRESS_AUTO, SCAN_PROGRESS_ON, SCAN_PROGRESS_OFF };

typedef struct scan_options {
    cli_strings rules;
    secdet_format format;
    const char *source; /* NULL: the format's name */
    int output_json;    /* -1: decide from the terminal */
    int fail_on_alert;
    int progress; /* SCAN_PROGRESS_*: --progress, --no-progress, else by the terminals */
    int quiet;
    int stats;              /* --stats: the engine's counters at the end */
    int summary;            /* --summary: the per-rule table at the end */
    const char *state;      /* --state FILE, or NULL */
    int64_t lateness_ms;    /* --lateness; -1: the engine's default */
    long max_samples;       /* --max-samples; -1: the engine's default */
    long long max_state_mb; /* --max-state; -1: the engine's default */
    /* What is printed (and what --fail-on-alert counts): alerts of at least
     * this severity, of a rule matching one of the globs (any when none). */
    secdet_severity min_severity;
    cli_strings rule_globs;
} scan_options;

typedef struct scan_ctx {
    const scan_options *opts;
    secdet_engine *engine;
    int text; /* readable lines instead of JSON */
    int colour;
    int stdout_is_tty;
    term_progress progress;
    const char *file;                /* the file being read, as shown in messages */
    unsigned long errors_shown;      /* malformed events reported for this file */
    unsigned long long alerts;       /* alerts printed */
    unsigned long long filtered;     /* alerts the filters left out */
    unsigned long long bytes_before; /* raw bytes of the files already read */
    unsigned long long bytes_total;  /* 0: unknown (stdin, a pipe) */
    const cli_input *input;
} scan_ctx;

/* Parses scan's argv into o (filled with the defaults first). Returns -1 to
 * go on, else the exit status (help printed, or a usage error). */
int scan_parse_options(int argc, char **argv, scan_options *o);
void scan_options_free(scan_options *o);

/* Checks the --rule globs against the loaded rules: a glob that matches no
 * rule that alerts is a mistake (it would hide everything). 0 or -1 (said). */
int scan_check_filters(const scan_ctx *ctx);
/* The engine's callbacks: an alert (printed when the filters want it), a
 * malformed event (reported with its file and place). */
void scan_on_alert(void *user, const secdet_alert *alert);
void scan_on_malformed(void *user, const char *source, uint64_t where, const char *message);

#endif
