/*
 * run_sinks.c — `secdet run`'s sinks made again on SIGHUP (config.h).
 *
 * A configuration's sinks keep their secret references ({"env": ...},
 * {"file": ...}); making each sink again from its JSON reads them anew. All
 * or nothing, like a rule reload: when any sink cannot be made, none is
 * touched and every error is printed (naming keys, never values). Otherwise
 * each sink whose resolved configuration changed takes the new one on the
 * delivery thread, keeping its queue and spool (sd_engine_sink_reconfigure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "engine/outer.h"
#include "sink/sink_secrets.h"

bool cfg_sink_diagnostics(const secdet_diagnostics *d, size_t i) {
    bool error = false;
    for (size_t k = 0; k < secdet_diagnostics_count(d); k++) {
        secdet_diagnostic e;
        if (secdet_diagnostics_get(d, k, &e) != SECDET_OK) continue;
        error |= e.severity == SECDET_DIAG_ERROR;
        fprintf(stderr, "secdet: sinks[%zu]: %s%s\n", i, e.severity == SECDET_DIAG_ERROR ? "" : "warning: ", e.message);
    }
    return error;
}

size_t cfg_sinks_reload(const cfg *conf, secdet_engine *engine, size_t *changed) {
    *changed = 0;
    size_t n = conf->nsinks, errors = 0;
    secdet_sink **next = calloc(n ? n : 1, sizeof *next);
    if (!next) {
        fprintf(stderr, "secdet: reload of the sinks: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const cfg_sink *c = &conf->sinks[i];
        secdet_diagnostics *d = NULL;
        secdet_status st = secdet_sink_from_json(c->json, strlen(c->json), &next[i], &d);
        if (cfg_sink_diagnostics(d, i) || st != SECDET_OK) {
            if (!secdet_diagnostics_errors(d))
                fprintf(stderr, "secdet: sinks[%zu] (%s): %s\n", i, c->name, secdet_strerror(st));
            errors++;
        }
        secdet_diagnostics_free(d);
    }
    bool built = errors == 0;
    if (!built) fprintf(stderr, "secdet: reload of the sinks failed; every sink keeps its previous configuration\n");
    for (size_t i = 0; i < n; i++) {
        if (!built) {
            secdet_sink_free(next[i]);
            continue;
        }
        bool swapped = false;
        /* secdet run adds the sinks in configuration order: sink i is sinks[i]. */
        secdet_status st = sd_engine_sink_reconfigure(engine, i, next[i], &swapped);
        if (st != SECDET_OK) {
            fprintf(stderr, "secdet: sinks[%zu] (%s): cannot take the new configuration: %s\n", i, conf->sinks[i].name,
                    secdet_strerror(st));
            errors++;
        }
        *changed += swapped;
    }
    free(next);
    return errors;
}
