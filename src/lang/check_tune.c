/* check_tune.c — tunes meet rules: targets resolved, tunes applied in file
 * order, their contents checked (tune.h).
 *
 * A target that is a rule's name must name one (an error otherwise, with
 * the nearest name); a glob matches the rules that alert — private rules
 * never do, so a glob leaves them out — and a glob that matches none is a
 * warning, since an overlay written for a pack may outlive some of its
 * rules. Naming a private rule outright is a warning: nothing of a tune
 * can change a rule that never alerts.
 *
 * Tunes apply in file order (the files as loaded, then source order):
 * every `except` of every tune naming a rule applies to it; of `severity`,
 * `throttle` and `output`, the last tune that sets one decides; a `disable`
 * is final. The conditions of exceptions and severity cases, and a
 * throttle's keys, are checked by the checker's own functions (hooks), so
 * names resolve and macros count as used exactly as in rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/check_int.h"
#include "lang/tune.h"
#include "util/suggest.h"
#include "vm/vm.h"

typedef struct tcheck {
    ast_ruleset *rs;
    diag_list *d;
    const tune_check_hooks *hooks;
    size_t errors;
} tcheck;

static bool oom(tcheck *c) {
    sd_diag_add(c->d, DIAG_ERROR, "", 0, 0, "out of memory");
    c->errors++;
    return false;
}

/* Hangs tune t on rule r (after the tunes before it). */
static bool apply(tcheck *c, ast_rule *r, const ast_tune *t) {
    if (!r->tuning && !(r->tuning = calloc(1, sizeof *r->tuning))) return oom(c);
    ast_rule_tuning *rt = r->tuning;
    const ast_tune **tunes = realloc(rt->tunes, (rt->ntunes + 1) * sizeof *tunes);
    if (!tunes) return oom(c);
    rt->tunes = tunes;
    rt->tunes[rt->ntunes++] = t;
    if (t->disable && !rt->disabled_by) rt->disabled_by = t;
    if (t->has_severity) rt->severity_by = t;
    if (t->has_throttle) rt->throttle_by = t;
    if (t->output) rt->output_by = t;
    return true;
}

static ast_rule *find_rule(const ast_ruleset *rs, const char *name) {
    for (size_t i = 0; i < rs->nrules; i++)
        if (strcmp(rs->rules[i]->name, name) == 0) return rs->rules[i];
    return NULL;
}

static void resolve(tcheck *c, ast_tune *t) {
    const char *what = t->disable ? "disable" : "tune";
    if (!t->glob) {
        ast_rule *r = find_rule(c->rs, t->target);
        if (!r) {
            suggest s;
            sd_suggest_init(&s, t->target);
            for (size_t i = 0; i < c->rs->nrules; i++) sd_suggest_offer(&s, c->rs->rules[i]->name);
            char hint[96] = "";
            if (sd_suggest_best(&s)) snprintf(hint, sizeof hint, " (did you mean '%s'?)", sd_suggest_best(&s));
            ERR(c, t->target_loc, "%s '%s' names no rule%s", what, t->target, hint);
            return;
        }
        if (r->broken) return; /* its own error was reported */
        if (r->is_private)
            WARN(c, t->target_loc, "rule '%s' is private: it never alerts, so this %s changes nothing", r->name, what);
        else if (apply(c, r, t))
            t->nmatched = 1;
        return;
    }
    size_t plen = strlen(t->target);
    for (size_t i = 0; i < c->rs->nrules; i++) {
        ast_rule *r = c->rs->rules[i];
        if (r->broken || r->is_private || !sd_glob_match(t->target, plen, r->name, strlen(r->name))) continue;
        if (!apply(c, r, t)) return;
        t->nmatched++;
    }
    if (t->nmatched == 0) WARN(c, t->target_loc, "%s '%s' matches no rule that alerts", what, t->target);
}

static void check_contents(tcheck *c, ast_tune *t) {
    for (size_t i = 0; i < t->nexcepts; i++) c->hooks->cond(c->hooks->user, t->excepts[i].cond);
    if (t->has_throttle) {
        if (t->throttle_ms <= 0) ERR(c, t->throttle_loc, "'throttle' needs a positive duration");
        c->hooks->keys(c->hooks->user, t->throttle_by, t->nthrottle_by);
    }
}

size_t sd_check_tuning(ast_ruleset *rs, diag_list *d, const tune_check_hooks *hooks) {
    tcheck c = {.rs = rs, .d = d, .hooks = hooks};
    for (size_t i = 0; i < rs->nrules; i++) {
        const ast_rule_tuning *rt = rs->rules[i]->tuning;
        for (size_t k = 0; rt && !rs->rules[i]->broken && k < rt->ncases; k++)
            hooks->cond(hooks->user, rt->cases[k].cond);
    }
    for (size_t i = 0; rs->tuning && i < rs->tuning->ntunes; i++) {
        ast_tune *t = rs->tuning->tunes[i];
        if (t->broken) continue;
        resolve(&c, t);
        check_contents(&c, t);
    }
    return c.errors;
}
