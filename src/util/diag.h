/* diag.h — diagnostics: every error and warning the rule compiler reports.
 *
 * A diag_list is the internal body of the public secdet_diagnostics handle.
 * Each entry carries file, line, column (1-based; 0 when unknown) and a
 * message; the list keeps insertion order (until sd_diag_sort puts it in
 * source order) and caps errors at `max_errors` (further errors are counted,
 * and one "too many errors" entry is added).
 */
#ifndef SECDET_UTIL_DIAG_H
#define SECDET_UTIL_DIAG_H

#include <stddef.h>

typedef enum { DIAG_ERROR = 0, DIAG_WARNING = 1 } diag_severity;

typedef struct diag_entry {
    diag_severity severity;
    char *file; /* owned */
    unsigned line, column;
    char *message; /* owned, no trailing newline */
    size_t seq;    /* insertion order (sd_diag_sort keeps it among equals) */
    int last;      /* the "too many errors" marker: sorts after everything */
} diag_entry;

typedef struct diag_list {
    diag_entry *items;
    size_t count, cap;
    size_t errors, warnings; /* totals, including ones dropped past the cap */
    size_t max_errors;       /* 0 = default (100) */
} diag_list;

/* The body of the public handle (secdet_diagnostics_*, diag_api.c). */
struct secdet_diagnostics {
    diag_list list;
};

void sd_diag_init(diag_list *d);
void sd_diag_free(diag_list *d);
void sd_diag_add(diag_list *d, diag_severity sev, const char *file, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Sorts the entries from index `from` on by file (files[0..nfiles) first,
 * in that order; any other file after them, by name), line and column;
 * errors and warnings together, the order of insertion kept among equals. */
void sd_diag_sort(diag_list *d, size_t from, const char *const *files, size_t nfiles);
/* "file:line:col: message" (warnings: "file:line:col: warning: message"). */
void sd_diag_format(const diag_entry *e, char *out, size_t outsz);

#endif
