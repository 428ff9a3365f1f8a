/* compile_tune.c — a rule as its tunes leave it, compiled (tune.h).
 *
 * A tune's `throttle` and `output` are compiled as if the rule said them:
 * the rule is compiled from a view (a copy of its node with the deciding
 * tune's throttle and output in place of its own), so its throttle keys,
 * its group and its template come out exactly as for a rule written that
 * way, and a bad template in a tune is reported in the tune. A tune's
 * `severity` replaces the rule's (its severity cases too: the tune means
 * "this rule's alerts are this severe"). Exceptions and severity cases
 * become condition programs beside the rule's own (vm/tuning.h); an
 * exception is compiled for every rule its tune names, since each rule's
 * registers are its own.
 *
 * The explanation (program.tuning_text) is written here too, while the
 * tunes and the rules as written are both at hand: one line per tune, then
 * one per rule and change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile_int.h"
#include "lang/tune.h"
#include "util/buf.h"
#include "util/severity.h"
#include "vm/tuning.h"

const ast_rule *sd_tune_rule_view(const ast_rule *r, ast_rule *view) {
    const ast_rule_tuning *rt = r->tuning;
    if (!rt || (!rt->throttle_by && !rt->output_by)) return r;
    *view = *r;
    if (rt->throttle_by) {
        const ast_tune *t = rt->throttle_by;
        view->has_throttle = true;
        view->throttle_ms = t->throttle_ms;
        view->throttle_by = t->throttle_by;
        view->nthrottle_by = t->nthrottle_by;
        view->throttle_loc = t->throttle_loc;
    }
    if (rt->output_by) {
        view->output = rt->output_by->output;
        view->output_loc = rt->output_by->output_loc;
    }
    return view;
}

static const char *file_name(const compiler *c, src_loc l) {
    return l.file < c->rs->nfiles ? c->rs->files[l.file] : "";
}

static char *dup_or_null(compiler *c, const char *s) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) c->oom = true;
    return d;
}

static void compile_excepts(compiler *c, const ast_rule_tuning *rt, rule_tuning *out) {
    size_t n = 0;
    for (size_t i = 0; i < rt->ntunes; i++) n += rt->tunes[i]->nexcepts;
    if (!n) return;
    if (!(out->excepts = calloc(n, sizeof *out->excepts))) {
        c->oom = true;
        return;
    }
    for (size_t i = 0; i < rt->ntunes; i++) {
        const ast_tune *t = rt->tunes[i];
        for (size_t k = 0; k < t->nexcepts; k++) {
            const ast_except *x = &t->excepts[k];
            rule_except *e = &out->excepts[out->nexcepts++];
            e->code = sd_compile_cond_program(c, x->cond, x->loc);
            e->until_ns = x->until ? x->until_ns : INT64_MAX;
            e->until = dup_or_null(c, x->until);
            e->reason = dup_or_null(c, x->reason);
            e->text = dup_or_null(c, x->text);
            e->file = dup_or_null(c, file_name(c, x->loc));
            e->line = x->loc.line;
            e->col = x->loc.col;
        }
    }
}

void sd_compile_rule_tuning(compiler *c, const ast_rule *r, vm_rule *out) {
    const ast_rule_tuning *rt = r->tuning;
    if (!rt) return;
    rule_tuning *tu = calloc(1, sizeof *tu);
    if (!tu) {
        c->oom = true;
        return;
    }
    out->tuning = tu;
    if (rt->severity_by) {
        out->sev = rt->severity_by->severity;
    } else if (rt->ncases) {
        if (!(tu->cases = calloc(rt->ncases, sizeof *tu->cases))) {
            c->oom = true;
            return;
        }
        for (size_t i = 0; i < rt->ncases; i++) {
            tu->cases[i].level = rt->cases[i].level;
            tu->cases[i].code = sd_compile_cond_program(c, rt->cases[i].cond, rt->cases[i].loc);
            tu->ncases++;
        }
    }
    compile_excepts(c, rt, tu);
    if (rt->disabled_by) {
        const ast_tune *t = rt->disabled_by;
        char at[300];
        snprintf(at, sizeof at, "%s:%u:%u", file_name(c, t->loc), (unsigned)t->loc.line, (unsigned)t->loc.col);
        tu->disabled = true;
        tu->disabled_reason = dup_or_null(c, t->reason);
        tu->disabled_at = dup_or_null(c, at);
    }
}

/* ---- the explanation ------------------------------------------------------------------ */

static void put_duration(buf *b, int64_t ms) {
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms > 0 && ms % units[i].ms == 0) {
            sd_buf_printf(b, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    sd_buf_printf(b, "%lldms", (long long)ms);
}

static void put_throttle(buf *b, int64_t ms, const ast_key *keys, size_t n) {
    sd_buf_puts(b, "throttle ");
    put_duration(b, ms);
    for (size_t i = 0; i < n; i++) sd_buf_printf(b, "%s%s", i ? ", " : " by ", keys[i].text);
}

static void put_loc(buf *b, const compiler *c, src_loc l) {
    sd_buf_printf(b, "%s:%u:%u", file_name(c, l), (unsigned)l.line, (unsigned)l.col);
}

static void put_overridden(buf *b, const compiler *c, const ast_tune *by, const ast_tune *t) {
    if (by != t) {
        sd_buf_puts(b, " (overridden by ");
        put_loc(b, c, by->loc);
        sd_buf_putc(b, ')');
    }
}

/* The severity the rule's meta gives (the checker refused any other name). */
static secdet_severity meta_severity(const ast_rule *r) {
    secdet_severity s = SECDET_SEVERITY_MEDIUM;
    for (size_t i = 0; i < r->nmeta; i++)
        if (strcmp(r->meta[i].key, "severity") == 0 && r->meta[i].value.str)
            (void)sd_severity_parse(r->meta[i].value.str, false, &s);
    return s;
}

static void explain_rule(buf *b, const compiler *c, const ast_tune *t, const ast_rule *r) {
    const ast_rule_tuning *rt = r->tuning;
    if (t->disable) {
        sd_buf_printf(b, "    %s: disabled", r->name);
        if (rt->disabled_by != t) {
            sd_buf_puts(b, " (already by ");
            put_loc(b, c, rt->disabled_by->loc);
            sd_buf_putc(b, ')');
        }
        sd_buf_putc(b, '\n');
        return;
    }
    for (size_t k = 0; k < t->nexcepts; k++) {
        const ast_except *x = &t->excepts[k];
        sd_buf_printf(b, "    %s: except %s", r->name, x->text ? x->text : "?");
        if (x->until) sd_buf_printf(b, " until %s", x->until);
        if (x->reason) {
            sd_buf_putc(b, ' ');
            sd_buf_json_string(b, x->reason, strlen(x->reason));
        }
        sd_buf_putc(b, '\n');
    }
    if (t->has_severity) {
        sd_buf_printf(b, "    %s: severity %s%s -> %s", r->name, sd_severity_name(meta_severity(r)),
                      rt->ncases ? " (and its severity cases)" : "", sd_severity_name(t->severity));
        put_overridden(b, c, rt->severity_by, t);
        sd_buf_putc(b, '\n');
    }
    if (t->has_throttle) {
        sd_buf_printf(b, "    %s: ", r->name);
        put_throttle(b, t->throttle_ms, t->throttle_by, t->nthrottle_by);
        sd_buf_puts(b, " (was: ");
        if (r->has_throttle)
            put_throttle(b, r->throttle_ms, r->throttle_by, r->nthrottle_by);
        else
            sd_buf_puts(b, "no throttle");
        sd_buf_putc(b, ')');
        put_overridden(b, c, rt->throttle_by, t);
        sd_buf_putc(b, '\n');
    }
    if (t->output) {
        sd_buf_printf(b, "    %s: output ", r->name);
        sd_buf_json_string(b, t->output, strlen(t->output));
        put_overridden(b, c, rt->output_by, t);
        sd_buf_putc(b, '\n');
    }
}

static bool names(const ast_rule *r, const ast_tune *t) {
    for (size_t i = 0; r->tuning && i < r->tuning->ntunes; i++)
        if (r->tuning->tunes[i] == t) return true;
    return false;
}

void sd_compile_tuning_text(compiler *c) {
    const ast_tuning *tg = c->rs->tuning;
    if (!tg || !tg->ntunes) return;
    buf b;
    sd_buf_init(&b);
    for (size_t i = 0; i < tg->ntunes; i++) {
        const ast_tune *t = tg->tunes[i];
        if (t->broken) continue;
        put_loc(&b, c, t->loc);
        sd_buf_printf(&b, ": %s %s", t->disable ? "disable" : "tune", t->target);
        if (t->nmatched)
            sd_buf_printf(&b, " (%zu rule%s)", t->nmatched, t->nmatched == 1 ? "" : "s");
        else
            sd_buf_puts(&b, " (no rule)");
        if (t->reason) {
            sd_buf_putc(&b, ' ');
            sd_buf_json_string(&b, t->reason, strlen(t->reason));
        }
        sd_buf_putc(&b, '\n');
        for (size_t k = 0; k < c->rs->nrules; k++)
            if (names(c->rs->rules[k], t)) explain_rule(&b, c, t, c->rs->rules[k]);
    }
    if (b.oom) {
        c->oom = true;
        sd_buf_free(&b);
        return;
    }
    c->p->tuning_text = sd_buf_steal(&b);
}
