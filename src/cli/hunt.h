/*
 * hunt.h — what the pieces of `secdet hunt` share: its options and the run
 * (cmd_hunt.c), the timeline and the histogram it prints (hunt_output.c).
 */
#ifndef SECDET_CLI_HUNT_H
#define SECDET_CLI_HUNT_H

#include <stdint.h>

#include "cli/scan.h"

typedef struct hunt_row {
    int64_t t;  /* event time, ns */
    size_t seq; /* arrival: ties keep it */
    char *text; /* a table row's cells joined by HUNT_SEP, or a JSON line */
} hunt_row;

typedef struct hunt_count {
    char *key;
    unsigned long long n;
} hunt_count;

#define HUNT_SEP '\x1f' /* between the cells the output template renders */
#define HUNT_ALT '\x1e' /* between the candidates of the summary cell: the first an event has is shown */

/* The summary column: the first of these fields an event has — what a
 * person reads first in each log type (CloudTrail's service, Okta's
 * message, a finding's title, GCP's service, Workspace's application,
 * the host of an EDR event). */
extern const char *const hunt_summary_paths[];

typedef struct hunt_ctx {
    scan_ctx sc; /* first: the engine's callbacks get a hunt_ctx where scan's get a scan_ctx */
    scan_options so;
    const char *condition; /* NULL with --rules */
    cli_strings fields;    /* the table's columns after the time (condition mode) */
    const char *count_by;  /* --count-by K, or NULL */
    int count_by_time;     /* 0: by K's value; 13: hour(@time); 10: day(@time) (digits of the time kept) */
    int64_t since, until;  /* ns; INT64_MIN / INT64_MAX when not given */
    int table;             /* a table (terminal) or JSON lines */
    hunt_row *rows;        /* held to be printed in event-time order */
    size_t nrows, caprows;
    hunt_count *counts; /* open addressing, capcounts a power of two */
    size_t ncounts, capcounts;
    int oom;
    char *tmpdir;        /* where s3:// objects were fetched (hunt_s3.c), or NULL */
    cli_strings fetched; /* the files fetched there */
} hunt_ctx;

/* The inputs with every s3://bucket/prefix (or TYPE:s3://...) replaced by
 * the files its objects were fetched to (TYPE: kept). -1 when an input
 * could not be listed or read whole (said); what was read is still there. */
int hunt_s3_expand(hunt_ctx *h, char **args, size_t nargs, cli_strings *out);
/* Removes the fetched files and their directory. */
void hunt_s3_cleanup(hunt_ctx *h);

/* The engine's alert callback of a hunt: held as a row, or counted. */
void hunt_on_alert(void *user, const secdet_alert *alert);
/* Prints what was held: the timeline sorted by event time, or the counts. */
void hunt_print(hunt_ctx *h);
void hunt_free_rows(hunt_ctx *h);
/* "2024-03-14", "2024-03-14T15:04:05Z" (a fraction, an offset), or a
 * duration back from now ("90m", "24h", "7d") → ns since the epoch; 0 or -1. */
int hunt_parse_time(const char *text, int64_t *ns);

#endif
