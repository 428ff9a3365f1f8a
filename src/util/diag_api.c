/* diag_api.c — the public diagnostics handle (include/secdet.h): a
 * diag_list handed to the caller, read through accessors. */
#include <stdlib.h>
#include <string.h>

#include "secdet.h"
#include "util/diag.h"

size_t secdet_diagnostics_count(const secdet_diagnostics *d) { return d ? d->list.count : 0; }

size_t secdet_diagnostics_errors(const secdet_diagnostics *d) { return d ? d->list.errors : 0; }

secdet_status secdet_diagnostics_get(const secdet_diagnostics *d, size_t i, secdet_diagnostic *out) {
    if (!d || !out || i >= d->list.count) return SECDET_ERR_INVALID_ARG;
    const diag_entry *de = &d->list.items[i];
    out->severity = de->severity == DIAG_ERROR ? SECDET_DIAG_ERROR : SECDET_DIAG_WARNING;
    out->file = de->file ? de->file : "";
    out->line = de->line;
    out->column = de->column;
    out->message = de->message ? de->message : "";
    return SECDET_OK;
}

char *secdet_diagnostics_format(const secdet_diagnostics *d, size_t i) {
    if (!d || i >= d->list.count) return NULL;
    const diag_entry *de = &d->list.items[i];
    size_t need = (de->file ? strlen(de->file) : 0) + (de->message ? strlen(de->message) : 0) + 64;
    char *s = malloc(need);
    if (!s) return NULL;
    sd_diag_format(de, s, need);
    return s;
}

void secdet_diagnostics_free(secdet_diagnostics *d) {
    if (!d) return;
    sd_diag_free(&d->list);
    free(d);
}
