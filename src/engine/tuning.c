/* tuning.c — exceptions, severity cases and the per-rule figures (tuning.h),
 * and the public calls that read them.
 *
 * An exception is checked only once its rule matched, so a ruleset without
 * tuning pays nothing and a tuned rule pays for its exceptions only when it
 * would have alerted (or recorded). The first exception that holds is the
 * one counted, so a rule's exceptions' counts add up to its `excepted`.
 * An exception's date is compared with the event's time, not the clock:
 * a log replayed later gives the alerts it gave live, and a scan is
 * reproducible.
 *
 * The figures are plain counters indexed by rule, written on the thread
 * that pushes (the engine is single-threaded) and read by the stats calls.
 * A reload carries them over by rule name — an exception's by its file,
 * line and column — so the noisy rules stay visible across a SIGHUP.
 */
#include "engine/tuning.h"

#include <stdlib.h>
#include <string.h>

void sd_tune_counts_free(rule_counts *c) {
    if (!c) return;
    free(c->alerts);
    free(c->throttled);
    free(c->excepted);
    free(c->except_base);
    free(c->except_hits);
    free(c);
}

static rule_counts *counts_new(const program *p) {
    rule_counts *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    uint32_t n = p->nrules;
    c->nrules = n;
    c->alerts = calloc(n ? n : 1, sizeof *c->alerts);
    c->throttled = calloc(n ? n : 1, sizeof *c->throttled);
    c->excepted = calloc(n ? n : 1, sizeof *c->excepted);
    c->except_base = calloc((size_t)n + 1, sizeof *c->except_base);
    if (!c->alerts || !c->throttled || !c->excepted || !c->except_base) {
        sd_tune_counts_free(c);
        return NULL;
    }
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        c->except_base[i] = total;
        total += p->rules[i].tuning ? p->rules[i].tuning->nexcepts : 0;
    }
    c->except_base[n] = total;
    if (!(c->except_hits = calloc(total ? total : 1, sizeof *c->except_hits))) {
        sd_tune_counts_free(c);
        return NULL;
    }
    return c;
}

static bool same_place(const rule_except *a, const rule_except *b) {
    return a->line == b->line && a->col == b->col && a->file && b->file && strcmp(a->file, b->file) == 0;
}

/* The counts of rules (and exceptions) that the old program had too. */
static void carry(rule_counts *to, const program *np, const rule_counts *from, const program *op) {
    for (uint32_t i = 0; i < np->nrules; i++) {
        /* Mostly the same rules in the same order: try the same index first. */
        uint32_t j = i < op->nrules && strcmp(op->rules[i].name, np->rules[i].name) == 0 ? i : 0;
        while (j < op->nrules && strcmp(op->rules[j].name, np->rules[i].name) != 0) j++;
        if (j == op->nrules) continue;
        to->alerts[i] = from->alerts[j];
        to->throttled[i] = from->throttled[j];
        to->excepted[i] = from->excepted[j];
        const rule_tuning *nt = np->rules[i].tuning, *ot = op->rules[j].tuning;
        for (uint32_t a = 0; nt && ot && a < nt->nexcepts; a++)
            for (uint32_t b = 0; b < ot->nexcepts; b++)
                if (same_place(&nt->excepts[a], &ot->excepts[b]))
                    to->except_hits[to->except_base[i] + a] = from->except_hits[from->except_base[j] + b];
    }
}

void sd_tune_swap(secdet_engine *e, engine_ruleset *next) {
    if (!next->counts) next->counts = counts_new(next->prog);
    rule_counts *c = next->counts;
    if (c && e->rs && e->rs->counts) carry(c, next->prog, e->rs->counts, e->rs->prog);
    sd_corr_set_throttle_counts(e->corr, c ? c->throttled : NULL, c ? c->nrules : 0);
}

int sd_tune_except(secdet_engine *e, uint32_t r, sd_event *ev) {
    engine_ruleset *rs = e->rs;
    const rule_tuning *t = rs->prog->rules[r].tuning;
    for (uint32_t i = 0; t && i < t->nexcepts; i++) {
        const rule_except *x = &t->excepts[i];
        if (ev->time_ns >= x->until_ns) continue; /* past its date */
        bool holds = false;
        vm_status st = sd_vm_run_cond(&rs->vm, ev, x->code, &holds);
        if (st == VM_BUDGET) return -1;
        if (st != VM_OK || !holds) continue;
        rule_counts *c = rs->counts;
        if (c) {
            c->excepted[r]++;
            c->except_hits[c->except_base[r] + i]++;
        }
        return 1;
    }
    return 0;
}

bool sd_tune_severity(secdet_engine *e, const vm_rule *rule, sd_event *ev, secdet_severity *out) {
    const rule_tuning *t = rule->tuning;
    for (uint32_t i = 0; t && i < t->ncases; i++) {
        bool holds = false;
        /* Out of budget: the rule's own severity; the alert still goes out. */
        if (sd_vm_run_cond(&e->rs->vm, ev, t->cases[i].code, &holds) != VM_OK) return false;
        if (holds) {
            *out = t->cases[i].level;
            return true;
        }
    }
    return false;
}

void sd_tune_count_alert(secdet_engine *e, uint32_t r) {
    rule_counts *c = e->rs ? e->rs->counts : NULL;
    if (c && r < c->nrules) c->alerts[r]++;
}

/* 0: none of the cases held (the rule's own severity); else level + 1. */
void sd_tune_aux_severity(secdet_engine *e, const vm_rule *rule, sd_event *ev) {
    secdet_severity s;
    unsigned char b = sd_tune_severity(e, rule, ev, &s) ? (unsigned char)(s + 1) : 0;
    sd_buf_append(&e->auxbuf, &b, 1);
}

bool sd_tune_aux_take(const vm_rule *rule, const char **aux, uint32_t *len, secdet_severity *out) {
    if (!sd_tune_has_cases(rule) || !*aux || *len == 0) return false;
    unsigned char b = (unsigned char)(*aux)[0];
    (*aux)++;
    (*len)--;
    if (b == 0 || b > SECDET_SEVERITY_CRITICAL + 1) return false;
    *out = (secdet_severity)(b - 1);
    return true;
}

/* ---- the public calls ------------------------------------------------------------------ */

secdet_status secdet_rule_stats_get(const secdet_engine *e, size_t i, secdet_rule_stats *out) {
    if (!e || !out || !e->rs || i >= e->rs->prog->nrules) return SECDET_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    const rule_tuning *t = e->rs->prog->rules[i].tuning;
    const rule_counts *c = e->rs->counts;
    if (c) {
        out->alerts = c->alerts[i];
        out->suppressed = c->throttled[i];
        out->excepted = c->excepted[i];
    }
    out->nexcepts = t ? t->nexcepts : 0;
    out->disabled = t && t->disabled ? 1 : 0;
    return SECDET_OK;
}

secdet_status secdet_rule_except_get(const secdet_engine *e, size_t i, size_t k, secdet_rule_except *out) {
    if (!e || !out || !e->rs || i >= e->rs->prog->nrules) return SECDET_ERR_INVALID_ARG;
    const rule_tuning *t = e->rs->prog->rules[i].tuning;
    if (!t || k >= t->nexcepts) return SECDET_ERR_INVALID_ARG;
    const rule_except *x = &t->excepts[k];
    const rule_counts *c = e->rs->counts;
    out->file = x->file ? x->file : "";
    out->line = x->line;
    out->column = x->col;
    out->condition = x->text ? x->text : "";
    out->reason = x->reason ? x->reason : "";
    out->until = x->until ? x->until : "";
    out->until_ns = x->until_ns;
    out->excepted = c ? c->except_hits[c->except_base[i] + k] : 0;
    return SECDET_OK;
}

secdet_status secdet_tuning_explain(const secdet_engine *e, char **out) {
    if (!e || !out) return SECDET_ERR_INVALID_ARG;
    const char *text = e->rs && e->rs->prog->tuning_text ? e->rs->prog->tuning_text : "";
    *out = strdup(text);
    return *out ? SECDET_OK : SECDET_ERR_NOMEM;
}
