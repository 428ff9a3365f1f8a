/* compile_seq.c — a rule's fields from Part 2 of the language: a
 * sequence's `unordered`, its steps' keys, counts and `not`, a count rule
 * named as a step (its threshold, window and keys become the step's), and
 * a sum's threshold.
 *
 * With keys on the steps, the rule's own `by` is the first step's keys
 * compiled again: the alert's `group` names them (docs/language.md,
 * "Choices").
 */
#include <stdlib.h>

#include "lang/compile_int.h"

static void compile_step(compiler *c, const ast_rule *r, const ast_step *s, rule_step *out) {
    out->negated = s->negated;
    if (s->has_count) {
        out->count = (uint64_t)s->count + (s->count_gt ? 1 : 0);
        out->count_ms = s->within_ms > 0 ? s->within_ms : r->within_ms;
    }
    if (s->agg_rule) {
        const ast_rule *a = s->agg_rule;
        out->count = (uint64_t)a->threshold + (a->agg_gt ? 1 : 0);
        out->count_ms = a->within_ms;
        out->sub = sd_compile_keys(c, a->by, a->nby);
        out->nsub = out->sub ? (uint32_t)a->nby : 0;
    }
    out->by = sd_compile_keys(c, s->by, s->nby);
    out->nby = out->by ? (uint32_t)s->nby : 0;
}

void sd_compile_rule_ext(compiler *c, const ast_rule *r, vm_rule *out) {
    if (r->agg == AGG_SUM) {
        out->sum_min = r->threshold;
        out->sum_strict = r->agg_gt;
        out->threshold = 0;
    }
    if (r->agg != AGG_SEQUENCE || !out->steps) return;
    out->unordered = r->unordered;
    out->seq_ext = r->unordered;
    for (size_t i = 0; i < out->nsteps; i++) {
        compile_step(c, r, &r->steps[i], &out->steps[i]);
        if (out->steps[i].negated || out->steps[i].count) out->seq_ext = true;
        if (out->steps[i].nby) out->step_keys = true;
    }
    if (out->step_keys && !out->by) {
        out->by = sd_compile_keys(c, r->steps[0].by, r->steps[0].nby);
        out->nby = out->by ? (uint32_t)r->steps[0].nby : 0;
    }
}
