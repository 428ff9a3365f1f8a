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
    long jobs; /* -j N; 0: not given (the number of cores) */
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
    secdet_stats more; /* -j: the counters of the engines other than `engine` */
    /* Called once everything is read and flushed, before the summary
     * (`secdet hunt` prints its timeline there). NULL for scan. */
    void (*after_flush)(struct scan_ctx *ctx);
} scan_ctx;

/* ---- Inputs (scan_inputs.c) and the merge of several (scan_merge.c) ---- */

/* One file to read, and the log type its TYPE:PATH input named (NULL: none). */
typedef struct scan_file {
    char *path;
    char *type;
} scan_file;

typedef struct scan_files {
    scan_file *v;
    size_t n, cap;
} scan_files;

/* The files the arguments name (PATH or TYPE:PATH; a directory stands for
 * the log files below it). -1 when an argument could not be listed or
 * holds no such file (said on stderr); the others are still listed. */
int scan_expand_inputs(secdet_engine *e, char **args, size_t count, scan_files *out);
void scan_files_free(scan_files *f);
/* A file's format from its first bytes: CLOUDTRAIL for a JSON object whose
 * first key is "Records", else AUTO. 1 when decided, 0 when more bytes are
 * needed. */
int scan_detect_format(const unsigned char *p, size_t n, int at_end, secdet_format *out);
/* The source file f's events are pushed to, added when first needed (the
 * detected format matters when neither TYPE: nor --source names it). NULL
 * when it cannot be added (said). */
const char *scan_source_for(scan_ctx *ctx, const scan_file *f, secdet_format detected);
/* Reads several files as one stream in event-time order. -1 when a file
 * could not be read (said); *files_read counts those read. */
int scan_merge(scan_ctx *ctx, const scan_files *files, size_t *files_read);
/* -j N (scan_parallel.c): scans files[0] on N engines when the run can be
 * split with the same alerts; returns 1 when it did (*failed set), 0 when
 * the run must be scanned the -j 1 way. */
int scan_parallel(scan_ctx *ctx, const scan_files *files, int *failed, size_t *files_read);
/* Adds the counters a scan reports (events, alerts, ...) of s to *to. */
void scan_stats_add(secdet_stats *to, const secdet_stats *s);

/* Reads every input (one pushed as read, several merged in event-time
 * order), flushes, prints the summary; `secdet hunt` runs it too, with its
 * own alert callback. The exit status. */
int scan_run(scan_ctx *ctx, char **args, size_t nargs);

/* "500ms", "30s", "10m", "1h", "7d" (or a bare number of milliseconds) → ms; -1 when bad. */
int64_t scan_parse_duration_ms(const char *text);

/* The defaults (nothing chosen: the engine's, the terminal's). */
void scan_options_init(scan_options *o);
/* The engine options the scan options ask for. */
void scan_engine_opts(const scan_options *o, secdet_engine_opts *eo);

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
