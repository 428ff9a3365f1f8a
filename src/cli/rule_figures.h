/*
 * rule_figures.h — what the commands say about tuning and per-rule
 * figures (rule_figures.c): exceptions past their date (check, scan and
 * run warn), the events exceptions took out (scan's closing lines), the
 * per-rule table (scan --summary) and its JSON (run's stats lines).
 */
#ifndef SECDET_CLI_RULE_FIGURES_H
#define SECDET_CLI_RULE_FIGURES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "secdet.h"

struct buf;

/* The start (UTC) of the day `date` ("YYYY-MM-DD") names, ns since the
 * epoch; -1 when it is no date. */
int64_t cli_day_start_ns(const char *date);
/* The start (UTC) of today by the clock. */
int64_t cli_today_ns(void);

/* Warns on stderr, once per place, of every exception whose date is
 * before the day that starts at today_ns ("file:line:col: warning: ...");
 * returns how many. */
size_t cli_warn_expired(const secdet_engine *engine, int64_t today_ns);

/* One rule's figures. */
typedef struct cli_rule_row {
    const char *rule;
    uint64_t alerts, suppressed, excepted;
} cli_rule_row;

/* The rules with any figure, loudest first (alerts, then suppressed, then
 * excepted, then name); *out is the caller's (free). How many, or 0 (also
 * when memory ran out: *out NULL). */
size_t cli_rule_rows(const secdet_engine *engine, cli_rule_row **out);
/* The rows as a JSON array of {"rule","alerts","suppressed","excepted"}. */
void cli_rule_rows_json(struct buf *b, const cli_rule_row *rows, size_t n);
/* The table `secdet scan --summary` prints. */
void cli_print_rule_table(FILE *out, const secdet_engine *engine);
/* One line per exception that took events out:
 * "excepted N events of RULE: FILE:LINE:COL "reason"" */
void cli_print_excepted(FILE *out, const secdet_engine *engine);

#endif
