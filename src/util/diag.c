/* diag.c — diagnostics list (see diag.h). */
#include "util/diag.h"
#include "util/limits.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sd_diag_init(diag_list *d) { memset(d, 0, sizeof *d); }

void sd_diag_free(diag_list *d) {
    for (size_t i = 0; i < d->count; i++) {
        free(d->items[i].file);
        free(d->items[i].message);
    }
    free(d->items);
    memset(d, 0, sizeof *d);
}

/* Appends an entry owning msg; NULL when memory ran out (msg freed). */
static diag_entry *diag_push(diag_list *d, diag_severity sev, const char *file, unsigned line, unsigned col,
                             char *msg) {
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        diag_entry *p = realloc(d->items, cap * sizeof *p);
        if (!p) {
            free(msg);
            return NULL;
        }
        d->items = p;
        d->cap = cap;
    }
    diag_entry *e = &d->items[d->count++];
    e->severity = sev;
    e->file = strdup(file ? file : "");
    e->line = line;
    e->column = col;
    e->message = msg;
    e->seq = d->count - 1;
    e->last = 0;
    return e;
}

void sd_diag_add(diag_list *d, diag_severity sev, const char *file, unsigned line, unsigned col, const char *fmt, ...) {
    size_t max = d->max_errors ? d->max_errors : LIMIT_DIAG_ERRORS;
    if (sev == DIAG_ERROR) {
        d->errors++;
        if (d->errors > max) {
            if (d->errors == max + 1) {
                diag_entry *e =
                    diag_push(d, DIAG_ERROR, file, line, col, strdup("too many errors; stopping the report here"));
                if (e) e->last = 1;
            }
            return;
        }
    } else {
        d->warnings++;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    char *msg = malloc((size_t)n + 1);
    if (!msg) return;
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    (void)diag_push(d, sev, file, line, col, msg);
}

typedef struct sort_ctx {
    const char *const *files;
    size_t nfiles;
} sort_ctx;

static size_t file_rank(const sort_ctx *x, const char *file) {
    for (size_t i = 0; i < x->nfiles; i++)
        if (x->files[i] && strcmp(x->files[i], file) == 0) return i;
    return x->nfiles;
}

static int compare(const diag_entry *a, const diag_entry *b, const sort_ctx *x) {
    if (a->last != b->last) return a->last - b->last;
    size_t ra = file_rank(x, a->file), rb = file_rank(x, b->file);
    if (ra != rb) return ra < rb ? -1 : 1;
    if (ra == x->nfiles) {
        int c = strcmp(a->file, b->file);
        if (c) return c;
    }
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    if (a->column != b->column) return a->column < b->column ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Insertion sort: a ruleset's diagnostics are few (errors are capped) and
 * mostly in order already; qsort has no context argument in C11. */
void sd_diag_sort(diag_list *d, size_t from, const char *const *files, size_t nfiles) {
    sort_ctx x = {files, nfiles};
    for (size_t i = from + 1; i < d->count; i++) {
        diag_entry e = d->items[i];
        size_t j = i;
        while (j > from && compare(&e, &d->items[j - 1], &x) < 0) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = e;
    }
}

/* Errors print exactly as the language contract shows them,
 * "file:line:col: message"; warnings say so: "file:line:col: warning: message". */
void sd_diag_format(const diag_entry *e, char *out, size_t outsz) {
    const char *kind = e->severity == DIAG_ERROR ? "" : "warning: ";
    if (e->file && e->file[0] && e->line)
        snprintf(out, outsz, "%s:%u:%u: %s%s", e->file, e->line, e->column, kind, e->message);
    else if (e->file && e->file[0])
        snprintf(out, outsz, "%s: %s%s", e->file, kind, e->message);
    else
        snprintf(out, outsz, "%s%s", kind, e->message);
}
