/* test_tuning_reload.c — LANGUAGE.md Part 2 tuning across a reload of the
 * rule files, through the public API: an except added on reload keeps the
 * rules' correlation state, the per-rule figures follow the rules, and the
 * explanation lists what each tune changes (include/secdet.h only, plus
 * cJSON to read alerts). The tuning itself is test_tuning.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_tuning_util.h"

/* ---- reloads, figures, the explanation --------------------------------------------------- */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* An engine with the rule file `path` (text) loaded, for reloads. */
static secdet_engine *engine_file(const char *path, const char *text, got *g) {
    write_file(path, text);
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    assert_int_equal(secdet_load_rules_file(e, path, NULL), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    secdet_set_alert_callback(e, on_alert, g);
    return e;
}

static void reload(secdet_engine *e, const char *path, const char *text) {
    write_file(path, text);
    const char *paths[] = {path};
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_reload_rules(e, paths, 1, &d);
    if (st != SECDET_OK) print_diag(d);
    assert_int_equal(st, SECDET_OK);
    secdet_diagnostics_free(d);
}

/* An exception filters what comes next; it keeps the window of an attack in
 * progress (the fingerprint leaves exceptions out). Disabling drops it. */
static void test_adding_an_except_on_reload_keeps_the_rules_correlation_state(void **state) {
    (void)state;
    got g = {0};
    char path[256];
    snprintf(path, sizeof path, "/tmp/test_tuning_state_%d.secdet", (int)getpid());
    const char *rule = "rule burst { where .eventName == \"Fail\" count >= 2 within 1h by .user }\n";
    char tuned[512], disabled[512];
    snprintf(tuned, sizeof tuned, "%stune burst { except .user == \"scanner\" }\n", rule);
    snprintf(disabled, sizeof disabled, "%sdisable burst\n", rule);
    secdet_engine *e = engine_file(path, rule, &g);
    push(e, "{\"eventTime\":\"2024-03-14T10:00:00Z\",\"eventName\":\"Fail\",\"user\":\"u\"}\n");
    reload(e, path, tuned);
    push(e, "{\"eventTime\":\"2024-03-14T10:00:05Z\",\"eventName\":\"Fail\",\"user\":\"u\"}\n");
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(g.n, 1); /* the event from before the reload still counted */
    push(e, "{\"eventTime\":\"2024-03-14T10:01:00Z\",\"eventName\":\"Fail\",\"user\":\"v\"}\n");
    reload(e, path, disabled);
    reload(e, path, rule);
    push(e, "{\"eventTime\":\"2024-03-14T10:01:05Z\",\"eventName\":\"Fail\",\"user\":\"v\"}\n");
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(g.n, 1); /* v's first event went with the disabled rule's state */
    remove(path);
    secdet_engine_free(e);
    got_free(&g);
}

static void test_the_figures_follow_the_rules_across_a_reload(void **state) {
    (void)state;
    got g = {0};
    char path[256];
    snprintf(path, sizeof path, "/tmp/test_tuning_fig_%d.secdet", (int)getpid());
    secdet_engine *e = engine_file(path, "rule r { where .eventName == \"X\" }\ntune r { except .n == 0 }\n", &g);
    push(e, "{\"eventName\":\"X\",\"n\":0}\n{\"eventName\":\"X\",\"n\":1}\n");
    reload(e, path,
           "rule q { where .eventName == \"Y\" }\nrule r { where .eventName == \"X\" }\ntune r { except .n == 0 }\n"
           "tune r { except .n == 5 }\n");
    /* r moved to index 1, its figures with it; its exception moved a line
     * down: at a new place it starts at 0 (the rule's own count stays). */
    secdet_rule_stats st = stats_of(e, "r");
    assert_int_equal(st.alerts, 1);
    assert_int_equal(st.excepted, 1);
    assert_int_equal(st.nexcepts, 2);
    assert_int_equal(stats_of(e, "q").alerts, 0);
    secdet_rule_except x;
    assert_int_equal(secdet_rule_except_get(e, rule_index(e, "r"), 0, &x), SECDET_OK);
    assert_int_equal(x.excepted, 0);
    reload(e, path,
           "rule q { where .eventName == \"Y\" }\nrule r { where .eventName == \"X\" }\ntune r { except .n == 0 }\n"
           "tune r { except .n == 6 }\n");
    push(e, "{\"eventName\":\"X\",\"n\":0}\n");
    assert_int_equal(secdet_rule_except_get(e, rule_index(e, "r"), 0, &x), SECDET_OK);
    assert_int_equal(x.excepted, 1); /* kept across a reload at the same place */
    remove(path);
    secdet_engine_free(e);
    got_free(&g);
}

static void test_the_explanation_lists_what_each_tune_changes(void **state) {
    (void)state;
    got g = {0};
    const char *files[] = {"pack.secdet",
                           "rule a_one { meta { severity = high } where .x == 1 throttle 10m by .u }\n"
                           "rule a_two { where .x == 2 }\n",
                           "local.secdet",
                           "tune a_one {\n"
                           "    except .u == \"svc\" until 2027-01-31 \"service account\"\n"
                           "    severity = low\n"
                           "}\n"
                           "tune a_* { throttle 1h by .u, .v; output \"{rule}: {.u}\" }\n"
                           "disable a_two \"noisy\"\n"
                           "tune b_* { severity = low }\n"};
    secdet_engine *e = engine_files(files, 2, &g);
    char *text = NULL;
    assert_int_equal(secdet_tuning_explain(e, &text), SECDET_OK);
    assert_string_equal(text, "local.secdet:1:1: tune a_one (1 rule)\n"
                              "    a_one: except .u == \"svc\" until 2027-01-31 \"service account\"\n"
                              "    a_one: severity high -> low\n"
                              "local.secdet:5:1: tune a_* (2 rules)\n"
                              "    a_one: throttle 1h by .u, .v (was: throttle 10m by .u)\n"
                              "    a_one: output \"{rule}: {.u}\"\n"
                              "    a_two: throttle 1h by .u, .v (was: no throttle)\n"
                              "    a_two: output \"{rule}: {.u}\"\n"
                              "local.secdet:6:1: disable a_two (1 rule) \"noisy\"\n"
                              "    a_two: disabled\n"
                              "local.secdet:7:1: tune b_* (no rule)\n");
    secdet_free(text);
    secdet_engine_free(e);
    got_free(&g);
    secdet_engine *empty = engine_with("rule r { where .x == 1 }\n", &g);
    assert_int_equal(secdet_tuning_explain(empty, &text), SECDET_OK);
    assert_string_equal(text, "");
    secdet_free(text);
    assert_int_equal(secdet_rule_stats_get(empty, 1, &(secdet_rule_stats){0}), SECDET_ERR_INVALID_ARG);
    secdet_engine_free(empty);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adding_an_except_on_reload_keeps_the_rules_correlation_state),
        cmocka_unit_test(test_the_figures_follow_the_rules_across_a_reload),
        cmocka_unit_test(test_the_explanation_lists_what_each_tune_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
