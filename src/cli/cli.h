/*
 * cli.h — what the pieces of the `secdet` command share.
 *
 * The command is written against the public header only (include/secdet.h):
 * it is the library's first user and must not need anything a user of the
 * library could not have. Every command returns its exit status:
 * 0 it ran, 1 a finding the caller asked to fail on (alerts, failed tests),
 * 2 unusable rules, unreadable input or a usage error.
 */
#ifndef SECDET_CLI_H
#define SECDET_CLI_H

#include <stddef.h>

#include "secdet.h"

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FINDING = 1,
    CLI_EXIT_ERROR = 2,
};

/* Commands: argv[0] is the command's name ("scan"); getopt starts at argv[1]. */
int cmd_check(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_disasm(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_sigma(int argc, char **argv);
int cmd_hunt(int argc, char **argv);

/* `one` when n is 1, else `many`: "1 rule", "2 rules", "0 rules". */
const char *cli_plural(unsigned long long n, const char *one, const char *many);

/* Usage text of one command (NULL: the overview) to `out`. */
void cli_usage(const char *command, void *out_stream);
/* Reports a bad option the way every command does: message and usage on stderr. */
int cli_usage_error(const char *command, const char *fmt, const char *arg);
/* Reports a getopt_long failure (unknown option or missing argument) for
 * `command`: ret is what getopt_long returned (`?` or `:`), opt its optopt,
 * arg the argv word it stopped at. */
int cli_bad_option(const char *command, int ret, int opt, const char *arg);

/* ---- Rules (rules.c) ---------------------------------------------------- */

/* Called before anything is printed on stderr (lets a progress bar clear itself). */
typedef void (*cli_before_print_fn)(void *user);

typedef struct cli_load_result {
    size_t errors;   /* diagnostics that are errors, plus files that could not be read */
    size_t warnings; /* distinct warnings */
} cli_load_result;

/*
 * Loads every RULES argument (a file, or a directory: every *.secdet below it)
 * into `engine`, printing each distinct diagnostic once on stderr when
 * `print` is non-zero. Goes on after a failing argument so that every error
 * is shown. Returns 0 when everything loaded, -1 otherwise.
 */
int cli_load_rules(secdet_engine *engine, char *const *paths, size_t count, int print, cli_load_result *result);

/* The shared front of `check` and `disasm` (COMMAND [-h] RULES...): parses
 * the options, creates an engine with default options and loads RULES into
 * it, printing every diagnostic. Returns -1 when the command should go on
 * (then *engine is set and *loaded says whether the rules compiled), or an
 * exit status to return at once. */
int cli_rules_command(const char *name, int argc, char **argv, secdet_engine **engine, int *loaded,
                      cli_load_result *result);

/* A growable list of owned strings. */
typedef struct cli_strings {
    char **items;
    size_t count;
    size_t cap;
} cli_strings;

int cli_strings_push(cli_strings *list, const char *s);
void cli_strings_free(cli_strings *list);

/* How cli_collect_files walks a directory. */
typedef struct cli_walk {
    const char *const *suffixes; /* files whose names end in one of these (NULL-terminated) */
    int hidden;                  /* names starting with '.' too */
    int follow_links;            /* descend into symbolic links to directories */
} cli_walk;

/* The files an argument names: itself when it is not a directory (or "-"),
 * else the regular files below it that `how` takes, in byte order of their
 * paths. -1 with errno on failure. */
int cli_collect_files(const char *arg, const cli_walk *how, cli_strings *out);

/* Every rule file a RULES argument names: the file itself, or every *.secdet
 * below a directory (not hidden ones) in byte order of the paths. -1 with
 * errno on failure (also when it does not exist). */
int cli_collect_rule_files(const char *arg, cli_strings *out);

/* ---- Pack manifests (pack.c) -------------------------------------------- */

/* A pack's manifest, DIR/pack.json (docs/rules.md, "Pack manifest"). */
typedef struct cli_pack {
    char *dir;
    char *name;
    char *version;
    cli_strings log_types;
} cli_pack;

/* Reads DIR/pack.json. 0, or -1 with what is wrong in err; *min_engine is the
 * minimum engine version as (major << 32 | minor << 16 | patch). */
int cli_pack_read(const char *dir, cli_pack *pack, long *min_engine, char *err, size_t errlen);
void cli_pack_free(cli_pack *pack);
/* The directory of `file` when a pack.json sits beside it (owned), else NULL. */
char *cli_pack_dir_of(const char *file);
/* Checks every pack.json below the RULES arguments against the loaded rules,
 * printing each problem on stderr; returns the number of errors. */
size_t cli_packs_check(const secdet_engine *engine, char *const *paths, size_t count);

/* ---- Terminal (term.c) -------------------------------------------------- */

int term_is_tty(int fd);
/* A tty, NO_COLOR unset or empty, TERM not "dumb". */
int term_colour_ok(int fd);
int term_width(int fd);
/* Monotonic seconds. */
double term_now(void);
/* Writes `s` with control characters (C0, DEL, C1) replaced by '?': event
 * fields come from attackers and must not drive the terminal. */
void term_write_safe(void *out_stream, const char *s);
/* The same for n bytes (a U+0000 among them is shown as '?' too). */
void term_write_safe_n(void *out_stream, const char *s, size_t n);

typedef struct term_progress {
    int enabled;
    int shown;        /* a bar is on the screen */
    double last_draw; /* term_now() of the last redraw */
    double started;
} term_progress;

typedef struct term_progress_state {
    unsigned long long bytes_done;
    unsigned long long bytes_total; /* 0: unknown */
    unsigned long long events;
    unsigned long long alerts;
    const char *file;
} term_progress_state;

void term_progress_init(term_progress *p, int enabled);
/* Redraws at most ten times a second unless `force`. */
void term_progress_update(term_progress *p, const term_progress_state *s, int force);
/* Erases the bar (before other output on stderr, and at the end). */
void term_progress_clear(term_progress *p);

/* ---- Input (input.c) ---------------------------------------------------- */

/*
 * A file or stdin, plain or gzip (by its magic bytes), read in pieces. Reads
 * return as soon as some bytes are there, so a pipe is processed as it flows.
 */
typedef struct cli_input cli_input;

/* `path` "-" is stdin. On failure returns NULL and sets errno. */
cli_input *cli_input_open(const char *path);
/* Bytes read into buf (> 0), 0 at the end, -1 on an error (cli_input_error says what). */
long cli_input_read(cli_input *in, void *buf, size_t cap);
const char *cli_input_error(const cli_input *in);
/* Raw bytes consumed so far (compressed bytes for gzip), for progress. */
unsigned long long cli_input_consumed(const cli_input *in);
/* The file's size when it is a regular file, else 0. */
unsigned long long cli_input_size(const cli_input *in);
void cli_input_close(cli_input *in);

/* A regular, uncompressed file read through mappings (input_map.c), one
 * window at a time, without a copy. cli_map_open gives 1 when the file is
 * to be read so, 0 when it is to be read with cli_input instead (stdin, a
 * pipe, gzip, empty, or any failure). cli_map_next maps the next window
 * (unmapping the last): 1 and its bytes, 0 at the end, -1 on an error
 * (errno). */
typedef struct cli_map {
    int fd;
    size_t size, at; /* the file's size when opened; bytes mapped so far */
    const unsigned char *data;
    size_t len; /* the window mapped now */
} cli_map;
int cli_map_open(const char *path, cli_map *m);
int cli_map_next(cli_map *m, const unsigned char **data, size_t *len);
void cli_map_close(cli_map *m);

/* ---- Test files (testfile.c) -------------------------------------------- */

/* One event of a test, its JSON object's text inside the parsed line. */
typedef struct cli_test_event {
    const char *json;
    size_t len;
} cli_test_event;

/*
 * One line of a X.tests.jsonl file. Strings are owned; the events point into
 * the line. A line carries either one "event" or an "events" array (a stream
 * pushed in order to one engine); either way `events` lists them, and
 * event / event_len are the first (what single-event callers use).
 */
typedef struct cli_test_case {
    char *rule;
    char *source; /* NULL when the line has none (the rule's `on` decides) */
    char *name;   /* NULL when none */
    int expect_match;
    long expect_alerts; /* exact number of the rule's alerts; -1 when the line has none */
    const char *event;  /* the first event object's text, inside the parsed line */
    size_t event_len;
    cli_test_event *events; /* owned array, event_count >= 1 */
    size_t event_count;
} cli_test_case;

/*
 * Parses one test line. Returns 0, or -1 with a message in err (size errlen)
 * saying what is wrong with it.
 */
int cli_test_parse(const char *line, size_t len, cli_test_case *out, char *err, size_t errlen);
void cli_test_case_free(cli_test_case *tc);

#endif /* SECDET_CLI_H */
