/* check_fields.c — the warning for a field no event of the rule's log types
 * has (LANGUAGE.md Part 2, "Diagnostics").
 *
 * A rule whose `on` names only log types with known fields (cloudtrail,
 * okta, ...: event/logtype.h) gets a warning for each field path it reads —
 * in its condition and the macros it uses, its steps, keys, distinct value
 * and output template — that none of those log types has, with the nearest
 * known path: `.eventTyp` in a rule `on okta` says "did you mean
 * '.eventType'?". A rule that names anything else in `on` (a source of its
 * own), or no `on` at all, could see any field and gets none; common fields
 * (@ip) are every log type's. Rules a rule names are checked as
 * themselves, with their own `on`. It is a warning, never an error: real
 * events carry fields no schema lists, and the rule still loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/logtype.h"
#include "lang/compile.h"

typedef struct field_check {
    const ast_ruleset *rs;
    diag_list *d;
    const ast_rule *rule;
    const sd_logtype *types[16];
    size_t ntypes;
    const ast_macro **seen; /* macros walked for this rule (a cycle is the checker's error) */
    size_t nseen, cap_seen;
    src_loc *said; /* places warned about: a macro's path once, whatever rules use it */
    size_t nsaid, cap_said;
} field_check;

static bool said_before(field_check *fc, src_loc at) {
    for (size_t i = 0; i < fc->nsaid; i++)
        if (fc->said[i].file == at.file && fc->said[i].line == at.line && fc->said[i].col == at.col) return true;
    if (fc->nsaid == fc->cap_said) {
        size_t cap = fc->cap_said ? fc->cap_said * 2 : 16;
        src_loc *v = realloc(fc->said, cap * sizeof *v);
        if (!v) return true;
        fc->said = v;
        fc->cap_said = cap;
    }
    fc->said[fc->nsaid++] = at;
    return false;
}

static void check_path(field_check *fc, const sd_path *p, src_loc at) {
    if (p->common) return;
    for (size_t i = 0; i < fc->ntypes; i++)
        if (sd_logtype_has_path(fc->types[i], p)) return;
    if (said_before(fc, at)) return;
    char names[160] = "";
    for (size_t i = 0; i < fc->ntypes; i++) {
        size_t n = strlen(names);
        snprintf(names + n, sizeof names - n, "%s%s",
                 i == 0                ? ""
                 : i + 1 == fc->ntypes ? " or "
                                       : ", ",
                 fc->types[i]->name);
    }
    suggest s;
    sd_suggest_init(&s, p->text);
    for (size_t i = 0; i < fc->ntypes; i++) sd_logtype_offer_paths(fc->types[i], &s);
    const char *near = sd_suggest_best(&s);
    const char *file = at.file < fc->rs->nfiles ? fc->rs->files[at.file] : "";
    if (near)
        sd_diag_add(fc->d, DIAG_WARNING, file, at.line, at.col,
                    "no %s event has the field '%s' (did you mean '%s'?); rule '%s' reads it", names, p->text, near,
                    fc->rule->name);
    else
        sd_diag_add(fc->d, DIAG_WARNING, file, at.line, at.col, "no %s event has the field '%s'; rule '%s' reads it",
                    names, p->text, fc->rule->name);
}

static void check_expr(field_check *fc, const ast_expr *e) {
    if (!e) return;
    if (e->kind == EXPR_PATH) check_path(fc, &e->path, e->loc);
    for (size_t i = 0; e->kind == EXPR_CALL && i < e->nargs; i++) check_expr(fc, e->args[i]);
}

static void check_cond(field_check *fc, const ast_cond *c) {
    if (!c) return;
    switch (c->kind) {
    case COND_OR:
    case COND_AND:
        check_cond(fc, c->l);
        check_cond(fc, c->r);
        break;
    case COND_NOT: check_cond(fc, c->l); break;
    case COND_NAME:
        if (c->macro) {
            for (size_t i = 0; i < fc->nseen; i++)
                if (fc->seen[i] == c->macro) return;
            if (fc->nseen == fc->cap_seen) {
                size_t cap = fc->cap_seen ? fc->cap_seen * 2 : 8;
                const ast_macro **v = realloc(fc->seen, cap * sizeof *v);
                if (!v) return;
                fc->seen = v;
                fc->cap_seen = cap;
            }
            fc->seen[fc->nseen++] = c->macro;
            check_cond(fc, c->macro->cond);
        }
        break; /* a rule's name: checked as that rule, with its own `on` */
    default: check_expr(fc, c->lhs); check_expr(fc, c->rhs);
    }
}

/* The {.path} parts of the output template, each at its column. */
static void check_template(field_check *fc, const ast_rule *r) {
    const char *s = r->output;
    for (size_t i = 0; s && s[i]; i++) {
        if (s[i] == '{' && s[i + 1] == '{') {
            i++;
            continue;
        }
        if (s[i] != '{' || s[i + 1] != '.') continue;
        const char *close = strchr(s + i, '}');
        if (!close) return;
        sd_path p;
        const char *err = NULL;
        size_t len = (size_t)(close - (s + i + 1));
        size_t used = sd_path_parse(s + i + 1, len, &p, &err);
        if (used == len) {
            src_loc at = r->output_loc;
            at.col += (uint32_t)i + 1; /* at the '{', as the template's own errors are */
            check_path(fc, &p, at);
        }
        sd_path_free(&p); /* a path that stops short of the '}' holds its segments too */
        i += len + 1;
    }
}

static void check_rule(field_check *fc, const ast_rule *r, const sd_logtypes *lts) {
    fc->rule = r;
    fc->ntypes = 0;
    fc->nseen = 0;
    if (r->non == 0 || r->non > sizeof fc->types / sizeof fc->types[0]) return;
    for (size_t i = 0; i < r->non; i++) {
        const sd_logtype *lt = sd_logtypes_find(lts, r->on[i]);
        if (!lt || !lt->has_known) return; /* a source of its own: any field may be there */
        fc->types[fc->ntypes++] = lt;
    }
    check_cond(fc, r->where);
    for (size_t i = 0; i < r->nsteps; i++) check_cond(fc, r->steps[i].cond);
    check_expr(fc, r->distinct);
    for (size_t i = 0; i < r->nby; i++) check_expr(fc, r->by[i].expr);
    for (size_t i = 0; i < r->nthrottle_by; i++) check_expr(fc, r->throttle_by[i].expr);
    check_template(fc, r);
}

void sd_check_known_fields(const ast_ruleset *rs, const sd_logtypes *log_types, diag_list *d) {
    sd_logtypes builtin;
    const sd_logtypes *lts = log_types;
    if (!lts) {
        if (sd_logtypes_init(&builtin) != 0) return; /* out of memory: no warnings */
        lts = &builtin;
    }
    field_check fc = {.rs = rs, .d = d};
    for (size_t i = 0; i < rs->nrules; i++)
        if (!rs->rules[i]->broken) check_rule(&fc, rs->rules[i], lts);
    free(fc.seen);
    free(fc.said);
    if (!log_types) sd_logtypes_free(&builtin);
}
