/* sink_filter.c — which alerts a sink takes: routing.
 *
 * Every sink filters the alerts offered to it, on the thread that pushes,
 * before anything is journaled: by severity (min_severity, and the set of
 * severities `max_severity` leaves), by tag, by rule, by source and by log
 * type. Each list is "any of these" (a glob each: `*` any run, `?` one
 * character; a tag's trailing `*` is a prefix, as it always was); an empty
 * list lets everything through; a rule glob starting with `!` leaves out
 * the rules it matches, whatever else matches. So one configuration sends
 * critical alerts to the on-call channel, everything to a file, the low
 * ones to a digest and Okta's to the identity team, each sink saying what
 * it wants.
 *
 * An alert's source is the name of the source its firing event came from
 * (by default the format's or the configured source's name); its log type
 * is that event's (secdet_alert_log_type: a source "idp" of log type okta
 * gives source "idp", log type "okta"; "jsonl" when it had none).
 */
#include <stdlib.h>
#include <string.h>

#include "sink/sink_int.h"
#include "vm/vm.h"

/* Owned copies of in[0..n), or -1 (a NULL entry: -2). */
static int copy_list(const char *const *in, size_t n, char ***out) {
    *out = NULL;
    if (!n) return 0;
    if (!in) return -2;
    char **c = calloc(n, sizeof *c);
    if (!c) return -1;
    *out = c;
    for (size_t i = 0; i < n; i++) {
        if (!in[i]) return -2;
        if (!(c[i] = strdup(in[i]))) return -1;
    }
    return 0;
}

static void free_list(char **l, size_t n) {
    for (size_t i = 0; l && i < n; i++) free(l[i]);
    free(l);
}

secdet_status sd_sink_filter_copy(secdet_sink *s, const secdet_sink_opts *o) {
    int rc = copy_list(o->tags, o->ntags, &s->tags);
    if (rc == 0) rc = copy_list(o->rules, o->nrules, &s->rules);
    if (rc == 0) rc = copy_list(o->sources, o->nsources, &s->sources);
    if (rc == 0) rc = copy_list(o->log_types, o->nlog_types, &s->log_types);
    s->opts.tags = s->opts.rules = s->opts.sources = s->opts.log_types = NULL;
    return rc == 0 ? SECDET_OK : rc == -1 ? SECDET_ERR_NOMEM : SECDET_ERR_INVALID_ARG;
}

void sd_sink_filter_free(secdet_sink *s) {
    free_list(s->tags, s->opts.ntags);
    free_list(s->rules, s->opts.nrules);
    free_list(s->sources, s->opts.nsources);
    free_list(s->log_types, s->opts.nlog_types);
    s->tags = s->rules = s->sources = s->log_types = NULL;
}

static bool glob(const char *pat, const char *s) { return sd_glob_match(pat, strlen(pat), s, strlen(s)); }

static bool tag_wanted(const secdet_sink *s, const secdet_alert *a) {
    if (s->opts.ntags == 0) return true;
    for (size_t i = 0; i < s->opts.ntags; i++) {
        const char *want = s->tags[i];
        size_t n = strlen(want);
        bool prefix = n > 0 && want[n - 1] == '*';
        for (size_t j = 0; j < secdet_alert_tag_count(a); j++) {
            const char *t = secdet_alert_tag(a, j);
            if (prefix ? strncmp(t, want, n - 1) == 0 : strcmp(t, want) == 0) return true;
        }
    }
    return false;
}

static bool rule_wanted(const secdet_sink *s, const char *rule) {
    bool any_positive = false, matched = false;
    for (size_t i = 0; i < s->opts.nrules; i++) {
        const char *g = s->rules[i];
        if (g[0] == '!') {
            if (glob(g + 1, rule)) return false;
        } else {
            any_positive = true;
            matched = matched || glob(g, rule);
        }
    }
    return !any_positive || matched;
}

/* Whether name matches one of globs[0..n); every name does when n == 0. */
static bool any_glob(char *const *globs, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (glob(globs[i], name ? name : "")) return true;
    return n == 0;
}

bool sd_sink_filter_wants(const secdet_sink *s, const secdet_alert *a) {
    secdet_severity sev = secdet_alert_severity(a);
    if (sev < s->opts.min_severity) return false;
    if (s->opts.severities && !(s->opts.severities & (1u << sev))) return false;
    const char *rule = secdet_alert_rule(a);
    return tag_wanted(s, a) && rule_wanted(s, rule ? rule : "") &&
           any_glob(s->sources, s->opts.nsources, secdet_alert_source(a)) &&
           any_glob(s->log_types, s->opts.nlog_types, secdet_alert_log_type(a));
}
