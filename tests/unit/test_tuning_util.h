/* test_tuning_util.h — helpers shared by the tuning tests (test_tuning.c,
 * test_tuning_reload.c): an engine of rule files with one jsonl source whose
 * alerts are kept (rule, severity, message, group, count), events pushed to
 * its end, and a rule's figures by name. Public API only (include/secdet.h,
 * plus cJSON to read alerts). */
#ifndef SECDET_TEST_TUNING_UTIL_H
#define SECDET_TEST_TUNING_UTIL_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secdet.h"

#define MAX_ALERTS 32

typedef struct got {
    size_t n;
    char *rule[MAX_ALERTS];
    char *severity[MAX_ALERTS];
    char *message[MAX_ALERTS];
    char *group[MAX_ALERTS]; /* the group object as compact JSON */
    int64_t count[MAX_ALERTS];
    secdet_severity level[MAX_ALERTS]; /* secdet_alert_severity */
} got;

static inline void on_alert(void *user, const secdet_alert *a) {
    got *g = user;
    if (g->n == MAX_ALERTS) return;
    size_t len = 0;
    const char *json = secdet_alert_json(a, &len);
    cJSON *root = cJSON_ParseWithLength(json, len);
    assert_non_null(root);
    g->rule[g->n] = strdup(cJSON_GetObjectItem(root, "rule")->valuestring);
    g->severity[g->n] = strdup(cJSON_GetObjectItem(root, "severity")->valuestring);
    g->message[g->n] = strdup(cJSON_GetObjectItem(root, "message")->valuestring);
    g->group[g->n] = cJSON_PrintUnformatted(cJSON_GetObjectItem(root, "group"));
    g->count[g->n] = (int64_t)cJSON_GetObjectItem(root, "count")->valuedouble;
    g->level[g->n] = secdet_alert_severity(a);
    g->n++;
    cJSON_Delete(root);
}

static inline void got_free(got *g) {
    for (size_t i = 0; i < g->n; i++) {
        free(g->rule[i]);
        free(g->severity[i]);
        free(g->message[i]);
        free(g->group[i]);
    }
    memset(g, 0, sizeof *g);
}

static inline void print_diag(const secdet_diagnostics *d) {
    for (size_t i = 0; i < secdet_diagnostics_count(d); i++) {
        char *s = secdet_diagnostics_format(d, i);
        fprintf(stderr, "%s\n", s);
        secdet_free(s);
    }
}

/* Loads each of files[0..n) (name, text) in order; every load must compile. */
static inline secdet_engine *engine_files(const char *const *files, size_t n, got *g) {
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    for (size_t i = 0; i < n; i++) {
        secdet_diagnostics *d = NULL;
        secdet_status st = secdet_load_rules_string(e, files[2 * i], files[2 * i + 1], strlen(files[2 * i + 1]), &d);
        if (st != SECDET_OK) print_diag(d);
        assert_int_equal(st, SECDET_OK);
        secdet_diagnostics_free(d);
    }
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    secdet_set_alert_callback(e, on_alert, g);
    return e;
}

static inline secdet_engine *engine_with(const char *rules, got *g) {
    const char *files[] = {"pack.secdet", rules};
    return engine_files(files, 1, g);
}

static inline void push(secdet_engine *e, const char *lines) {
    assert_int_equal(secdet_push(e, "jsonl", lines, strlen(lines)), SECDET_OK);
    assert_int_equal(secdet_source_end(e, "jsonl"), SECDET_OK);
}

/* The index of the rule named `name`. */
static inline size_t rule_index(const secdet_engine *e, const char *name) {
    for (size_t i = 0; i < secdet_rule_count(e); i++) {
        secdet_rule_info info;
        assert_int_equal(secdet_rule_get(e, i, &info), SECDET_OK);
        if (strcmp(info.name, name) == 0) return i;
    }
    fail_msg("no rule %s", name);
    return 0;
}

static inline secdet_rule_stats stats_of(const secdet_engine *e, const char *name) {
    secdet_rule_stats st;
    assert_int_equal(secdet_rule_stats_get(e, rule_index(e, name), &st), SECDET_OK);
    return st;
}

#endif
