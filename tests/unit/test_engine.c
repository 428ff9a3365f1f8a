/* test_engine.c — the public API end to end: loading rules, sources, pushing
 * input, alerts and stats (include/secdet.h only, plus cJSON to read alerts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secdet.h"

#define MAX_ALERTS 64

typedef struct collected {
    size_t n;
    char *json[MAX_ALERTS];
    char *rule[MAX_ALERTS];
    char *message[MAX_ALERTS];
    char *id[MAX_ALERTS];
    size_t nerrors;
    uint64_t error_where[8];
    char *error_source[8];
    secdet_engine *engine; /* for the re-entry test */
    secdet_status reentry;
} collected;

static void on_alert(void *user, const secdet_alert *a) {
    collected *c = user;
    if (c->engine) c->reentry = secdet_push(c->engine, "jsonl", "{}\n", 3);
    if (c->n == MAX_ALERTS) return;
    size_t len = 0;
    const char *json = secdet_alert_json(a, &len);
    assert_int_equal(strlen(json), len);
    c->json[c->n] = strdup(json);
    c->rule[c->n] = strdup(secdet_alert_rule(a));
    c->message[c->n] = strdup(secdet_alert_message(a));
    c->id[c->n] = strdup(secdet_alert_id(a));
    c->n++;
}

static void on_error(void *user, const char *source, uint64_t where, const char *message) {
    collected *c = user;
    assert_non_null(message);
    if (c->nerrors < 8) {
        c->error_where[c->nerrors] = where;
        c->error_source[c->nerrors] = strdup(source);
    }
    c->nerrors++;
}

static void collected_free(collected *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->json[i]);
        free(c->rule[i]);
        free(c->message[i]);
        free(c->id[i]);
    }
    for (size_t i = 0; i < c->nerrors && i < 8; i++) free(c->error_source[i]);
    memset(c, 0, sizeof *c);
}

/* An engine with `rules` loaded (must compile), a jsonl source "jsonl" and a
 * cloudtrail source "cloudtrail", alerts and errors going to *c. */
static secdet_engine *engine_with(const char *rules, collected *c, const secdet_engine_opts *opts) {
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(opts, &e), SECDET_OK);
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_load_rules_string(e, "test.secdet", rules, strlen(rules), &d);
    if (st != SECDET_OK) {
        for (size_t i = 0; i < secdet_diagnostics_count(d); i++) {
            char *s = secdet_diagnostics_format(d, i);
            fprintf(stderr, "%s\n", s);
            secdet_free(s);
        }
    }
    assert_int_equal(st, SECDET_OK);
    assert_int_equal(secdet_diagnostics_errors(d), 0);
    secdet_diagnostics_free(d);
    memset(c, 0, sizeof *c);
    assert_int_equal(secdet_set_alert_callback(e, on_alert, c), SECDET_OK);
    assert_int_equal(secdet_set_error_callback(e, on_error, c), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "cloudtrail", &(secdet_source_opts){.format = SECDET_FMT_CLOUDTRAIL}),
                     SECDET_OK);
    return e;
}

static secdet_status push_str(secdet_engine *e, const char *source, const char *s) {
    return secdet_push(e, source, s, strlen(s));
}

static size_t count_rule(const collected *c, const char *rule) {
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) n += strcmp(c->rule[i], rule) == 0;
    return n;
}

/* The "source" field of the last alert collected (a static copy). */
static const char *last_alert_source(const collected *c) {
    static char out[64];
    cJSON *j = cJSON_Parse(c->json[c->n - 1]);
    assert_non_null(j);
    snprintf(out, sizeof out, "%s", cJSON_GetObjectItemCaseSensitive(j, "source")->valuestring);
    cJSON_Delete(j);
    return out;
}

static const char *const LOGIN_RULE = "rule console_login {\n"
                                      "    meta {\n"
                                      "        title = \"Console login\"\n"
                                      "        severity = high\n"
                                      "        tags = [\"t1\", \"t2\"]\n"
                                      "        description = \"A console sign-in\"\n"
                                      "    }\n"
                                      "    where .eventName == \"ConsoleLogin\"\n"
                                      "    output \"login by {.user} from {.ip} n={.n}\"\n"
                                      "}\n";

/* ---- Loading rules ------------------------------------------------------ */

static void test_rules_with_errors_report_file_line_and_column(void **state) {
    (void)state;
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    static const char bad[] = "rule r1 {\n    where .a == \"x\" and\n    output \"m\"\n}\n"
                              "rule r2 {\n    where .b == \n}\n";
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_load_rules_string(e, "bad.secdet", bad, strlen(bad), &d), SECDET_ERR_RULES);
    assert_non_null(d);
    assert_true(secdet_diagnostics_errors(d) >= 2); /* every error, not only the first */
    secdet_diagnostic de;
    assert_int_equal(secdet_diagnostics_get(d, 0, &de), SECDET_OK);
    assert_int_equal(de.severity, SECDET_DIAG_ERROR);
    assert_string_equal(de.file, "bad.secdet");
    assert_true(de.line >= 2);
    assert_true(de.column >= 1);
    char *s = secdet_diagnostics_format(d, 0);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "bad.secdet:%u:%u: ", de.line, de.column);
    assert_memory_equal(s, prefix, strlen(prefix));
    secdet_free(s);
    assert_int_equal(secdet_diagnostics_get(d, secdet_diagnostics_count(d), &de), SECDET_ERR_INVALID_ARG);
    secdet_diagnostics_free(d);
    assert_int_equal(secdet_rule_count(e), 0);
    secdet_engine_free(e);
}

static void test_failed_load_keeps_the_previous_rules(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(LOGIN_RULE, &c, NULL);
    static const char bad[] = "rule broken { where }\n";
    assert_int_equal(secdet_load_rules_string(e, "bad.secdet", bad, strlen(bad), NULL), SECDET_ERR_RULES);
    assert_int_equal(secdet_rule_count(e), 1);
    assert_int_equal(push_str(e, "jsonl", "{\"eventName\":\"ConsoleLogin\"}\n"), SECDET_OK);
    assert_int_equal(c.n, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_loads_share_one_namespace(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("macro is_login = .eventName == \"ConsoleLogin\"\n", &c, NULL);
    static const char uses[] = "rule uses_macro { where is_login }\n";
    assert_int_equal(secdet_load_rules_string(e, "b.secdet", uses, strlen(uses), NULL), SECDET_OK);
    assert_int_equal(secdet_rule_count(e), 1);
    /* the same rule name again, in a third source, is a duplicate */
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_load_rules_string(e, "c.secdet", uses, strlen(uses), &d), SECDET_ERR_RULES);
    assert_true(secdet_diagnostics_errors(d) >= 1);
    secdet_diagnostics_free(d);
    assert_int_equal(push_str(e, "jsonl", "{\"eventName\":\"ConsoleLogin\"}\n"), SECDET_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.rule[0], "uses_macro");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_successful_load_hands_back_its_warnings(void **state) {
    (void)state;
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    static const char src[] = "macro unused = .a == 1\nrule r { where .b == 1 }\n";
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_load_rules_string(e, "w.secdet", src, strlen(src), &d), SECDET_OK);
    assert_int_equal(secdet_diagnostics_errors(d), 0);
    assert_true(secdet_diagnostics_count(d) >= 1);
    secdet_diagnostic de;
    assert_int_equal(secdet_diagnostics_get(d, 0, &de), SECDET_OK);
    assert_int_equal(de.severity, SECDET_DIAG_WARNING);
    char *s = secdet_diagnostics_format(d, 0);
    assert_non_null(strstr(s, "w.secdet:1:"));
    assert_non_null(strstr(s, ": warning: "));
    secdet_free(s);
    secdet_diagnostics_free(d);
    assert_int_equal(secdet_rule_count(e), 1);
    secdet_engine_free(e);
}

static char *write_file(const char *dir, const char *name, const char *text) {
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_rules_dir_loads_every_secdet_file_recursively_in_path_order(void **state) {
    (void)state;
    char dir[] = "/tmp/secdet_test_rules_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[sizeof dir + 8];
    snprintf(sub, sizeof sub, "%s/a", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    char *f1 = write_file(dir, "b.secdet", "rule from_b { where uses_list }\n");
    char *f2 = write_file(sub, "x.secdet", "macro uses_list = .x in names\nrule from_a_x { where .y == 1 }\n");
    char *f3 = write_file(dir, "c.secdet", "list names = [\"p\", \"q\"]\n");
    char *f4 = write_file(dir, "notes.txt", "this is not a rule file {\n");
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_load_rules_dir(e, dir, &d), SECDET_OK);
    secdet_diagnostics_free(d);
    assert_int_equal(secdet_rule_count(e), 2);
    secdet_rule_info ri;
    assert_int_equal(secdet_rule_get(e, 0, &ri), SECDET_OK);
    assert_string_equal(ri.name, "from_a_x"); /* "<dir>/a/x.secdet" sorts before "<dir>/b.secdet" */
    assert_non_null(strstr(ri.file, "/a/x.secdet"));
    assert_int_equal(secdet_rule_get(e, 1, &ri), SECDET_OK);
    assert_string_equal(ri.name, "from_b");
    assert_int_equal(ri.line, 1);
    assert_int_equal(ri.is_private, 0);
    assert_int_equal(ri.is_aggregate, 0);
    secdet_engine_free(e);
    char *files[] = {f1, f2, f3, f4};
    for (int i = 0; i < 4; i++) {
        unlink(files[i]);
        free(files[i]);
    }
    rmdir(sub);
    rmdir(dir);
}

static void test_rule_file_over_the_size_limit_is_refused(void **state) {
    (void)state;
    char dir[] = "/tmp/secdet_test_big_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = write_file(dir, "big.secdet", LOGIN_RULE);
    secdet_engine_opts o;
    secdet_engine_opts_init(&o);
    o.max_rule_file_bytes = 32;
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(&o, &e), SECDET_OK);
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_load_rules_file(e, path, &d), SECDET_ERR_LIMIT);
    assert_int_equal(secdet_diagnostics_errors(d), 1);
    secdet_diagnostic de;
    assert_int_equal(secdet_diagnostics_get(d, 0, &de), SECDET_OK);
    assert_string_equal(de.file, path);
    secdet_diagnostics_free(d);
    assert_int_equal(secdet_load_rules_file(e, "/nonexistent/x.secdet", NULL), SECDET_ERR_IO);
    assert_int_equal(secdet_rule_count(e), 0);
    secdet_engine_free(e);
    unlink(path);
    free(path);
    rmdir(dir);
}

/* ---- Input ----------------------------------------------------------------- */

static void test_jsonl_lines_split_across_pushes_are_joined(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(LOGIN_RULE, &c, NULL);
    assert_int_equal(push_str(e, "jsonl", "{\"eventName\":\"Conso"), SECDET_OK);
    assert_int_equal(c.n, 0);
    assert_int_equal(push_str(e, "jsonl", "leLogin\",\"user\":\"a\"}\n{\"eventName\":\"ConsoleLogin\",\"user\":\"b\"}"),
                     SECDET_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.message[0], "login by a from - n=-");
    assert_int_equal(secdet_source_end(e, "jsonl"), SECDET_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.message[1], "login by b from - n=-");
    secdet_stats st;
    assert_int_equal(secdet_stats_get(e, &st), SECDET_OK);
    assert_int_equal(st.events, 2);
    assert_int_equal(st.alerts, 2);
    assert_int_equal(st.malformed, 0);
    assert_true(st.bytes > 60);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_cloudtrail_records_are_evaluated_as_they_complete(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(LOGIN_RULE, &c, NULL);
    static const char doc[] = "{\"Records\": [{\"eventName\":\"ConsoleLogin\",\"user\":\"x\"},"
                              "{\"eventName\":\"Other\"},{\"eventName\":\"ConsoleLogin\",\"user\":\"y\"}]}";
    assert_int_equal(secdet_push(e, "cloudtrail", doc, 20), SECDET_OK);
    assert_int_equal(c.n, 0); /* the first record is not complete yet */
    assert_int_equal(secdet_push(e, "cloudtrail", doc + 20, sizeof doc - 1 - 20), SECDET_OK);
    assert_int_equal(c.n, 2); /* each record as soon as it is complete */
    assert_int_equal(secdet_source_end(e, "cloudtrail"), SECDET_OK);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.message[0], "login by x from - n=-");
    assert_string_equal(c.message[1], "login by y from - n=-");
    cJSON *j = cJSON_Parse(c.json[0]);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "source")->valuestring, "cloudtrail");
    cJSON_Delete(j);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_malformed_line_is_counted_reported_and_skipped(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(LOGIN_RULE, &c, NULL);
    static const char in[] = "{\"eventName\":\"ConsoleLogin\"}\n{not json\n\n[1,2]\n{\"eventName\":\"ConsoleLogin\"}\n";
    assert_int_equal(push_str(e, "jsonl", in), SECDET_ERR_DECODE);
    assert_int_equal(c.n, 2); /* the good lines around the bad ones still ran */
    assert_int_equal(c.nerrors, 2);
    assert_int_equal(c.error_where[0], 2);
    assert_int_equal(c.error_where[1], 4);
    assert_string_equal(c.error_source[0], "jsonl");
    secdet_stats st;
    secdet_stats_get(e, &st);
    assert_int_equal(st.malformed, 2);
    assert_int_equal(st.events, 2);
    /* push_event reports malformed input too */
    assert_int_equal(secdet_push_event(e, "anything", "{oops", 5), SECDET_ERR_DECODE);
    assert_int_equal(c.nerrors, 3);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_auto_source_recognises_a_cloudtrail_document(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(LOGIN_RULE, &c, NULL);
    assert_int_equal(secdet_source_add(e, "auto", NULL), SECDET_OK);
    assert_int_equal(push_str(e, "auto",
                              "  {\"Records\":[{\"eventName\":\"ConsoleLogin\"},"
                              "{\"eventName\":\"ConsoleLogin\"}]}"),
                     SECDET_OK);
    assert_int_equal(secdet_source_end(e, "auto"), SECDET_OK);
    assert_int_equal(c.n, 2);
    /* a new stream on the same source may be JSON lines */
    assert_int_equal(push_str(e, "auto", "{\"eventName\":\"ConsoleLogin\"}\n"), SECDET_OK);
    assert_int_equal(secdet_source_end(e, "auto"), SECDET_OK);
    assert_int_equal(c.n, 3);
    assert_string_equal(last_alert_source(&c), "auto");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_unknown_and_duplicate_sources_are_refused(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(LOGIN_RULE, &c, NULL);
    assert_int_equal(push_str(e, "nope", "{}\n"), SECDET_ERR_UNKNOWN_SOURCE);
    assert_int_equal(secdet_source_end(e, "nope"), SECDET_ERR_UNKNOWN_SOURCE);
    assert_int_equal(secdet_source_add(e, "jsonl", NULL), SECDET_ERR_EXISTS);
    assert_int_equal(secdet_source_add(e, "x", &(secdet_source_opts){.format = (secdet_format)42}),
                     SECDET_ERR_INVALID_ARG);
    assert_int_equal(secdet_source_add(e, "y", &(secdet_source_opts){.time_field = "no dot"}), SECDET_ERR_INVALID_ARG);
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- Alerts ---------------------------------------------------------------- */

static void test_alert_json_carries_every_contract_field(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(LOGIN_RULE, &c, NULL);
    static const char ev[] = "{\"eventName\":\"ConsoleLogin\",\"user\":\"alice\",\"ip\":\"1.2.3.4\",\"n\":5.0,"
                             "\"eventTime\":\"2023-07-10T12:11:15Z\"}";
    assert_int_equal(secdet_push_event(e, "cloudtrail", ev, strlen(ev)), SECDET_OK);
    assert_int_equal(c.n, 1);
    cJSON *j = cJSON_Parse(c.json[0]);
    assert_non_null(j);
#define S(k) cJSON_GetObjectItemCaseSensitive(j, k)->valuestring
    assert_string_equal(S("rule"), "console_login");
    assert_string_equal(S("title"), "Console login");
    assert_string_equal(S("severity"), "high");
    assert_string_equal(S("time"), "2023-07-10T12:11:15Z");
    assert_string_equal(S("first_seen"), "2023-07-10T12:11:15Z");
    assert_string_equal(S("last_seen"), "2023-07-10T12:11:15Z");
    assert_string_equal(S("source"), "cloudtrail");
    assert_string_equal(S("message"), "login by alice from 1.2.3.4 n=5");
    assert_string_equal(S("id"), c.id[0]);
#undef S
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "tags")), 2);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "count")->valuedouble, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "suppressed")->valuedouble, 0);
    const cJSON *group = cJSON_GetObjectItemCaseSensitive(j, "group");
    assert_true(cJSON_IsObject(group) && group->child == NULL);
    cJSON *orig = cJSON_Parse(ev);
    assert_true(cJSON_Compare(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "events"), 0), orig, 1));
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "meta");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(meta, "description")->valuestring, "A console sign-in");
    cJSON_Delete(orig);
    cJSON_Delete(j);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_alert_id_is_stable_across_engines_and_for_duplicated_events(void **state) {
    (void)state;
    collected c1, c2;
    secdet_engine *e1 = engine_with(LOGIN_RULE, &c1, NULL);
    secdet_engine *e2 = engine_with(LOGIN_RULE, &c2, NULL);
    static const char lines[] = "{\"eventName\":\"ConsoleLogin\",\"eventID\":\"1\"}\n"
                                "{\"eventName\":\"ConsoleLogin\",\"eventID\":\"2\"}\n"
                                "{\"eventName\":\"ConsoleLogin\",\"eventID\":\"1\"}\n";
    assert_int_equal(push_str(e1, "jsonl", lines), SECDET_OK);
    assert_int_equal(push_str(e2, "jsonl", lines), SECDET_OK);
    assert_int_equal(c1.n, 3);
    assert_int_equal(c2.n, 3);
    for (int i = 0; i < 3; i++) assert_string_equal(c1.id[i], c2.id[i]);
    assert_string_equal(c1.id[0], c1.id[2]);     /* the duplicate */
    assert_string_not_equal(c1.id[0], c1.id[1]); /* a different event */
    collected_free(&c1);
    collected_free(&c2);
    secdet_engine_free(e1);
    secdet_engine_free(e2);
}

static void test_indexed_and_unindexed_rules_fire_exactly_when_they_should(void **state) {
    (void)state;
    static const char rules[] = "rule indexed { where .eventName == \"X\" and .ok == true }\n"
                                "rule indexed_in { where .eventName in [\"Y\", \"X\"] }\n"
                                "rule unindexed { where .n > 3 }\n";
    collected c;
    secdet_engine *e = engine_with(rules, &c, NULL);
    static const char in[] = "{\"eventName\":\"X\",\"ok\":true}\n"          /* indexed, indexed_in */
                             "{\"eventName\":\"X\",\"ok\":false,\"n\":4}\n" /* indexed_in, unindexed */
                             "{\"eventName\":\"Y\",\"n\":1}\n"              /* indexed_in */
                             "{\"eventName\":\"Z\",\"n\":9}\n"              /* unindexed */
                             "{\"eventName\":\"x\",\"ok\":true}\n"          /* nothing: case matters */
                             "{\"eventName\":[\"X\"],\"ok\":true}\n"        /* nothing: not a string */
                             "{\"ok\":true}\n";                             /* nothing */
    assert_int_equal(push_str(e, "jsonl", in), SECDET_OK);
    assert_int_equal(count_rule(&c, "indexed"), 1);
    assert_int_equal(count_rule(&c, "indexed_in"), 3);
    assert_int_equal(count_rule(&c, "unindexed"), 2);
    /* in rule order within one event */
    assert_string_equal(c.rule[0], "indexed");
    assert_string_equal(c.rule[1], "indexed_in");
    assert_string_equal(c.rule[2], "indexed_in");
    assert_string_equal(c.rule[3], "unindexed");
    secdet_stats st;
    secdet_stats_get(e, &st);
    assert_int_equal(st.events, 7);
    assert_true(st.rules_run < 7 * 3); /* the index spared some runs */
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_private_rules_never_alert_but_can_be_referenced(void **state) {
    (void)state;
    static const char rules[] = "rule base { where .eventName == \"A\"\n private }\n"
                                "rule uses_base { where base and .user == \"u\" }\n";
    collected c;
    secdet_engine *e = engine_with(rules, &c, NULL);
    assert_int_equal(push_str(e, "jsonl", "{\"eventName\":\"A\"}\n{\"eventName\":\"A\",\"user\":\"u\"}\n"), SECDET_OK);
    assert_int_equal(count_rule(&c, "base"), 0);
    assert_int_equal(count_rule(&c, "uses_base"), 1);
    secdet_rule_info ri;
    assert_int_equal(secdet_rule_get(e, 0, &ri), SECDET_OK);
    assert_int_equal(ri.is_private, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_on_clause_limits_rules_to_their_sources(void **state) {
    (void)state;
    static const char rules[] = "rule ct_only { on cloudtrail\n where .a == 1 }\n"
                                "rule any_source { where .a == 1 }\n";
    collected c;
    secdet_engine *e = engine_with(rules, &c, NULL);
    assert_int_equal(push_str(e, "jsonl", "{\"a\":1}\n"), SECDET_OK);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.rule[0], "any_source");
    assert_int_equal(secdet_push_event(e, "cloudtrail", "{\"a\":1}", 7), SECDET_OK);
    assert_int_equal(count_rule(&c, "ct_only"), 1);
    assert_int_equal(secdet_push_event(e, "never_added", "{\"a\":1}", 7), SECDET_OK);
    assert_int_equal(count_rule(&c, "ct_only"), 1);
    assert_int_equal(count_rule(&c, "any_source"), 3);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_stateless_group_holds_the_throttle_keys(void **state) {
    (void)state;
    static const char rules[] = "rule t { where .a == 1\n throttle 1h by .user, lower(.ip) }\n"
                                "rule plain { where .a == 1 }\n";
    collected c;
    secdet_engine *e = engine_with(rules, &c, NULL);
    assert_int_equal(push_str(e, "jsonl", "{\"a\":1,\"user\":\"bob\"}\n"), SECDET_OK);
    assert_int_equal(c.n, 2);
    cJSON *j = cJSON_Parse(c.json[0]);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "group");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(g, ".user")->valuestring, "bob");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(g, "lower(.ip)")));
    cJSON_Delete(j);
    j = cJSON_Parse(c.json[1]);
    g = cJSON_GetObjectItemCaseSensitive(j, "group");
    assert_null(g->child);
    cJSON_Delete(j);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_event_time_comes_from_the_time_field_else_the_push(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule r { where .a == 1 }\n", &c, NULL);
    assert_int_equal(
        secdet_source_add(e, "custom", &(secdet_source_opts){.format = SECDET_FMT_JSONL, .time_field = ".meta.\"ts\""}),
        SECDET_OK);
    assert_int_equal(push_str(e, "custom", "{\"a\":1,\"meta\":{\"ts\":\"2024-01-02T03:04:05.5Z\"}}\n"), SECDET_OK);
    assert_int_equal(push_str(e, "jsonl", "{\"a\":1,\"eventTime\":\"not a time\"}\n"), SECDET_OK);
    assert_int_equal(c.n, 2);
    cJSON *j = cJSON_Parse(c.json[0]);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "time")->valuestring, "2024-01-02T03:04:05.500Z");
    cJSON_Delete(j);
    j = cJSON_Parse(c.json[1]);
    const char *t = cJSON_GetObjectItemCaseSensitive(j, "time")->valuestring;
    assert_true(strncmp(t, "20", 2) == 0 && strcmp(t, "2024-01-02") > 0); /* now, not the bad field */
    cJSON_Delete(j);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_instruction_budget_stops_the_event_and_is_counted(void **state) {
    (void)state;
    static const char rules[] =
        "rule heavy { where .a == 1 and .b == 2 and .c == 3 and .d == 4 and .e == 5 and .f == 6 }\n"
        "rule light { where .a == 1 }\n";
    secdet_engine_opts o;
    secdet_engine_opts_init(&o);
    o.vm_budget = 4;
    collected c;
    secdet_engine *e = engine_with(rules, &c, &o);
    static const char ev[] = "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6}\n";
    assert_int_equal(push_str(e, "jsonl", ev), SECDET_OK);
    assert_int_equal(push_str(e, "jsonl", ev), SECDET_OK);
    secdet_stats st;
    secdet_stats_get(e, &st);
    assert_int_equal(st.budget_exceeded, 2); /* once per event */
    assert_int_equal(count_rule(&c, "heavy"), 0);
    collected_free(&c);
    secdet_engine_free(e);

    o.vm_budget = 0; /* unlimited */
    e = engine_with(rules, &c, &o);
    assert_int_equal(push_str(e, "jsonl", ev), SECDET_OK);
    secdet_stats_get(e, &st);
    assert_int_equal(st.budget_exceeded, 0);
    assert_int_equal(c.n, 2);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_callbacks_cannot_reenter_the_engine(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(LOGIN_RULE, &c, NULL);
    c.engine = e;
    assert_int_equal(push_str(e, "jsonl", "{\"eventName\":\"ConsoleLogin\"}\n"), SECDET_OK);
    assert_int_equal(c.reentry, SECDET_ERR_INVALID_ARG);
    assert_int_equal(c.n, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_small_api_helpers(void **state) {
    (void)state;
    assert_string_equal(secdet_version(), SECDET_VERSION_STRING);
    assert_string_equal(secdet_strerror(SECDET_ERR_RULES), "rules did not compile");
    secdet_format f;
    assert_int_equal(secdet_format_parse("cloudtrail", &f), SECDET_OK);
    assert_int_equal(f, SECDET_FMT_CLOUDTRAIL);
    assert_int_equal(secdet_format_parse("xml", &f), SECDET_ERR_INVALID_ARG);
    assert_string_equal(secdet_format_name(SECDET_FMT_JSONL), "jsonl");
    assert_string_equal(secdet_severity_name(SECDET_SEVERITY_CRITICAL), "critical");
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, NULL), SECDET_ERR_INVALID_ARG);
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    char *dis = NULL;
    assert_int_equal(secdet_disasm(e, &dis), SECDET_OK);
    assert_string_equal(dis, "");
    secdet_free(dis);
    assert_int_equal(secdet_load_rules_string(e, NULL, LOGIN_RULE, strlen(LOGIN_RULE), NULL), SECDET_OK);
    assert_int_equal(secdet_disasm(e, &dis), SECDET_OK);
    assert_true(strlen(dis) > 0);
    secdet_free(dis);
    secdet_rule_info ri;
    assert_int_equal(secdet_rule_get(e, 0, &ri), SECDET_OK);
    assert_string_equal(ri.file, "<string>");
    assert_int_equal(ri.severity, SECDET_SEVERITY_HIGH);
    assert_int_equal(secdet_rule_get(e, 1, &ri), SECDET_ERR_INVALID_ARG);
    secdet_engine_free(e);
    secdet_engine_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_with_errors_report_file_line_and_column),
        cmocka_unit_test(test_failed_load_keeps_the_previous_rules),
        cmocka_unit_test(test_loads_share_one_namespace),
        cmocka_unit_test(test_successful_load_hands_back_its_warnings),
        cmocka_unit_test(test_rules_dir_loads_every_secdet_file_recursively_in_path_order),
        cmocka_unit_test(test_rule_file_over_the_size_limit_is_refused),
        cmocka_unit_test(test_jsonl_lines_split_across_pushes_are_joined),
        cmocka_unit_test(test_cloudtrail_records_are_evaluated_as_they_complete),
        cmocka_unit_test(test_malformed_line_is_counted_reported_and_skipped),
        cmocka_unit_test(test_auto_source_recognises_a_cloudtrail_document),
        cmocka_unit_test(test_unknown_and_duplicate_sources_are_refused),
        cmocka_unit_test(test_alert_json_carries_every_contract_field),
        cmocka_unit_test(test_alert_id_is_stable_across_engines_and_for_duplicated_events),
        cmocka_unit_test(test_indexed_and_unindexed_rules_fire_exactly_when_they_should),
        cmocka_unit_test(test_private_rules_never_alert_but_can_be_referenced),
        cmocka_unit_test(test_on_clause_limits_rules_to_their_sources),
        cmocka_unit_test(test_stateless_group_holds_the_throttle_keys),
        cmocka_unit_test(test_event_time_comes_from_the_time_field_else_the_push),
        cmocka_unit_test(test_instruction_budget_stops_the_event_and_is_counted),
        cmocka_unit_test(test_callbacks_cannot_reenter_the_engine),
        cmocka_unit_test(test_small_api_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
