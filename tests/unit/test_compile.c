/* test_compile.c — the language contract through the real pipeline:
 * source text → parse → check → compile → VM on a parsed JSON event.
 * Each test names the behaviour of LANGUAGE.md it pins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "event/event.h"
#include "lang/compile.h"
#include "vm/vm.h"

static program *compile_text(const char *src, diag_list *d) {
    compile_input in = {.name = "t.secdet", .text = src, .len = strlen(src)};
    return sd_compile_sources(&in, 1, NULL, d);
}

static uint32_t find_rule(const program *p, const char *name) {
    for (uint32_t i = 0; i < p->nrules; i++)
        if (strcmp(p->rules[i].name, name) == 0) return i;
    fail_msg("no rule %s", name);
    return 0;
}

static uint32_t find_source(const program *p, const char *name) {
    for (uint32_t i = 0; i < p->nsources; i++)
        if (strcmp(p->source_names[i], name) == 0) return i;
    return UINT32_MAX;
}

/* 1 when rule `name` of `rules` matches `json` pushed to source `src`, 0 when not. */
static int eval_src(const char *rules, const char *name, const char *src, const char *json) {
    diag_list d;
    sd_diag_init(&d);
    program *p = compile_text(rules, &d);
    if (!p) {
        for (size_t i = 0; i < d.count; i++) {
            char line[512];
            sd_diag_format(&d.items[i], line, sizeof line);
            print_error("%s\n", line);
        }
        sd_diag_free(&d);
        fail_msg("rules did not compile");
    }
    sd_diag_free(&d);
    cJSON *ev_json = cJSON_Parse(json);
    assert_non_null(ev_json);
    sd_event ev;
    vm_ctx vm;
    assert_int_equal(sd_event_init(&ev, p->paths, p->npaths), 0);
    assert_int_equal(sd_vm_init(&vm, p, 100000), 0);
    sd_event_begin(&ev, ev_json);
    ev.source = find_source(p, src);
    sd_vm_begin_event(&vm);
    bool result = false;
    assert_int_equal(sd_vm_rule_matches(&vm, &ev, find_rule(p, name), &result), VM_OK);
    sd_vm_free(&vm);
    sd_event_free(&ev);
    cJSON_Delete(ev_json);
    sd_program_free(p);
    return result ? 1 : 0;
}

static int eval(const char *where, const char *json) {
    char rules[4096];
    snprintf(rules, sizeof rules, "rule r {\n  where %s\n}\n", where);
    return eval_src(rules, "r", "cloudtrail", json);
}

/* ---- equality and missing fields ---------------------------------------- */

static void test_eq_string(void **s) {
    (void)s;
    assert_int_equal(eval(".eventName == \"ConsoleLogin\"", "{\"eventName\":\"ConsoleLogin\"}"), 1);
    assert_int_equal(eval(".eventName == \"ConsoleLogin\"", "{\"eventName\":\"consolelogin\"}"), 0);
}

static void test_eq_never_coerces(void **s) {
    (void)s;
    assert_int_equal(eval(".n == 1", "{\"n\":\"1\"}"), 0);
    assert_int_equal(eval(".n == \"1\"", "{\"n\":1}"), 0);
    assert_int_equal(eval(".n == 1", "{\"n\":1.0}"), 1);
    assert_int_equal(eval(".b == true", "{\"b\":true}"), 1);
    assert_int_equal(eval(".b == null", "{\"b\":null}"), 1);
}

static void test_ne_on_missing_field_is_true(void **s) {
    (void)s;
    assert_int_equal(eval(".a != \"x\"", "{}"), 1);
    assert_int_equal(eval(".a == \"x\"", "{}"), 0);
    assert_int_equal(eval(".a.b != \"x\"", "{\"a\":\"str\"}"), 1);
}

static void test_ordering_on_missing_or_mixed_is_false(void **s) {
    (void)s;
    assert_int_equal(eval(".n < 5", "{}"), 0);
    assert_int_equal(eval(".n < 5", "{\"n\":\"3\"}"), 0);
    assert_int_equal(eval(".n < 5", "{\"n\":3}"), 1);
    assert_int_equal(eval(".s >= \"b\"", "{\"s\":\"ba\"}"), 1);
    assert_int_equal(eval("5 > .n", "{\"n\":3}"), 1);
}

static void test_star_is_existential(void **s) {
    (void)s;
    const char *ev = "{\"resources\":[{\"ARN\":\"a\"},{\"ARN\":\"b\"}]}";
    assert_int_equal(eval(".resources[*].ARN == \"b\"", ev), 1);
    assert_int_equal(eval(".resources[*].ARN == \"c\"", ev), 0);
    assert_int_equal(eval(".resources[1].ARN == \"b\"", ev), 1);
    assert_int_equal(eval(".resources[0].ARN == \"b\"", ev), 0);
    /* != is not (==): true only when no element equals */
    assert_int_equal(eval(".resources[*].ARN != \"b\"", ev), 0);
    assert_int_equal(eval(".resources[*].ARN != \"c\"", ev), 1);
}

static void test_star_on_both_sides_any_pair(void **s) {
    (void)s;
    assert_int_equal(eval(".a[*] == .b[*]", "{\"a\":[1,2,3],\"b\":[9,3]}"), 1);
    assert_int_equal(eval(".a[*] == .b[*]", "{\"a\":[1,2],\"b\":[9,3]}"), 0);
}

static void test_field_to_field_comparison(void **s) {
    (void)s;
    const char *w = ".userIdentity.accountId != .recipientAccountId";
    assert_int_equal(eval(w, "{\"userIdentity\":{\"accountId\":\"1\"},\"recipientAccountId\":\"2\"}"), 1);
    assert_int_equal(eval(w, "{\"userIdentity\":{\"accountId\":\"1\"},\"recipientAccountId\":\"1\"}"), 0);
}

/* Equality of nested objects is linear in their size: cJSON_Compare would take
 * 2^depth steps here and never finish. */
static void test_object_equality_is_not_exponential_in_depth(void **s) {
    (void)s;
    char ev[2048] = "{\"a\":", nest[1024] = "";
    for (int i = 0; i < 50; i++) strcat(nest, "{\"x\":");
    strcat(nest, "1");
    for (int i = 0; i < 50; i++) strcat(nest, "}");
    strcat(ev, nest);
    strcat(ev, ",\"b\":");
    strcat(ev, nest);
    strcat(ev, "}");
    assert_int_equal(eval(".a == .b", ev), 1);
    assert_int_equal(eval(".a != .b", ev), 0);
}

static void test_quoted_keys(void **s) {
    (void)s;
    assert_int_equal(eval(".\"key with spaces\" == 1", "{\"key with spaces\":1}"), 1);
    assert_int_equal(
        eval(".requestParameters.\"bucket-name\" == \"b\"", "{\"requestParameters\":{\"bucket-name\":\"b\"}}"), 1);
}

/* ---- sets, CIDR, strings ------------------------------------------------ */

static void test_in_literal_and_named_list(void **s) {
    (void)s;
    assert_int_equal(eval(".e in [\"A\", \"B\", 3]", "{\"e\":\"B\"}"), 1);
    assert_int_equal(eval(".e in [\"A\", \"B\", 3]", "{\"e\":3}"), 1);
    assert_int_equal(eval(".e in [\"A\", \"B\", 3]", "{\"e\":\"3\"}"), 0);
    const char *rules = "list l = [\"X\", \"Y\"]\nrule r { where .e in l }\n";
    assert_int_equal(eval_src(rules, "r", "x", "{\"e\":\"Y\"}"), 1);
    assert_int_equal(eval_src(rules, "r", "x", "{\"e\":\"Z\"}"), 0);
}

static void test_cidr_v4_v6(void **s) {
    (void)s;
    const char *w = ".ip in cidr(\"10.1.2.3/8\", \"fd00::/8\", \"192.168.1.1\")";
    assert_int_equal(eval(w, "{\"ip\":\"10.200.0.1\"}"), 1);
    assert_int_equal(eval(w, "{\"ip\":\"11.0.0.1\"}"), 0);
    assert_int_equal(eval(w, "{\"ip\":\"fd12::1\"}"), 1);
    assert_int_equal(eval(w, "{\"ip\":\"192.168.1.1\"}"), 1);
    assert_int_equal(eval(w, "{\"ip\":\"192.168.1.2\"}"), 0);
    assert_int_equal(eval(w, "{\"ip\":\"AWS Internal\"}"), 0);
    assert_int_equal(eval(".ip in cidr(\"::/0\")", "{\"ip\":\"10.0.0.1\"}"), 0);
}

static void test_string_tests_are_case_sensitive(void **s) {
    (void)s;
    assert_int_equal(eval(".s contains \"Deny\"", "{\"s\":\"AccessDenyX\"}"), 1);
    assert_int_equal(eval(".s contains \"deny\"", "{\"s\":\"AccessDenyX\"}"), 0);
    assert_int_equal(eval(".s startswith \"Acc\"", "{\"s\":\"AccessDenyX\"}"), 1);
    assert_int_equal(eval(".s endswith \"X\"", "{\"s\":\"AccessDenyX\"}"), 1);
    assert_int_equal(eval(".s endswith \"X\"", "{\"s\":5}"), 0);
}

static void test_like_globs(void **s) {
    (void)s;
    assert_int_equal(eval(".e like \"Access*Denied?\"", "{\"e\":\"AccessIsDenied!\"}"), 1);
    assert_int_equal(eval(".e like \"Access*Denied?\"", "{\"e\":\"AccessIsDenied\"}"), 0);
    assert_int_equal(eval(".e like \"*UnauthorizedOperation\"", "{\"e\":\"Client.UnauthorizedOperation\"}"), 1);
    assert_int_equal(eval(".e like \"AccessDenied*\"", "{\"e\":\"AccessDeniedException\"}"), 1);
    assert_int_equal(eval(".e like \"AccessDenied*\"", "{\"e\":\"xAccessDenied\"}"), 0);
    assert_int_equal(eval(".e like \"*Denied*\"", "{\"e\":\"xDeniedx\"}"), 1);
    assert_int_equal(eval(".e like \"exact\"", "{\"e\":\"exact\"}"), 1);
    assert_int_equal(eval(".e like \"exact\"", "{\"e\":\"exactly\"}"), 0);
    assert_int_equal(eval(".e like \"caf?\"", "{\"e\":\"caf\\u00e9\"}"), 1);
    assert_int_equal(eval(".e like \"*\"", "{\"e\":\"\"}"), 1);
    assert_int_equal(eval(".e like \"*\"", "{\"e\":1}"), 0);
}

static void test_matches_regex_with_flags(void **s) {
    (void)s;
    assert_int_equal(eval(".ua matches /aws-cli\\/2\\./", "{\"ua\":\"aws-cli/2.0 Python\"}"), 1);
    assert_int_equal(eval(".ua matches /AWS-CLI/i", "{\"ua\":\"aws-cli/2.0\"}"), 1);
    assert_int_equal(eval(".ua matches /AWS-CLI/", "{\"ua\":\"aws-cli/2.0\"}"), 0);
    assert_int_equal(eval(".ua matches /x/", "{\"ua\":\"\\u00ff\\u00fe x\"}"), 1);
}

static void test_exists_counts_null_as_present(void **s) {
    (void)s;
    assert_int_equal(eval("exists .a", "{\"a\":null}"), 1);
    assert_int_equal(eval("exists .a", "{}"), 0);
    assert_int_equal(eval("not exists .userIdentity.invokedBy", "{\"userIdentity\":{}}"), 1);
}

/* ---- functions ---------------------------------------------------------- */

static void test_lower_upper_fold_ascii_only(void **s) {
    (void)s;
    assert_int_equal(eval("lower(.e) == \"consolelogin\"", "{\"e\":\"ConsoleLogin\"}"), 1);
    assert_int_equal(eval("lower(.e) == \"ConsoleLogin\"", "{\"e\":\"ConsoleLogin\"}"), 0);
    assert_int_equal(eval("upper(.e) == \"ABC\"", "{\"e\":\"aBc\"}"), 1);
    assert_int_equal(eval("lower(.e) in [\"a\", \"b\"]", "{\"e\":\"B\"}"), 1);
    assert_int_equal(eval("lower(.e) contains \"log\"", "{\"e\":\"ConsoleLogin\"}"), 1);
    /* a non-string is missing after lower() */
    assert_int_equal(eval("lower(.n) == \"1\"", "{\"n\":1}"), 0);
    assert_int_equal(eval("lower(.n) != \"1\"", "{\"n\":1}"), 1);
}

static void test_len_counts_code_points_elements_members(void **s) {
    (void)s;
    assert_int_equal(eval("len(.s) == 4", "{\"s\":\"caf\\u00e9\"}"), 1);
    assert_int_equal(eval("len(.a) == 3", "{\"a\":[1,2,3]}"), 1);
    assert_int_equal(eval("len(.o) == 2", "{\"o\":{\"x\":1,\"y\":2}}"), 1);
    assert_int_equal(eval("len(.n) == 1", "{\"n\":5}"), 0);
}

static void test_coalesce_first_present_not_null(void **s) {
    (void)s;
    const char *w = "coalesce(.a, .b, .c) == \"x\"";
    assert_int_equal(eval(w, "{\"a\":null,\"c\":\"x\"}"), 1);
    assert_int_equal(eval(w, "{\"a\":\"y\",\"c\":\"x\"}"), 0);
    assert_int_equal(eval("lower(coalesce(.a, .b)) == \"x\"", "{\"b\":\"X\"}"), 1);
}

/* ---- structure ---------------------------------------------------------- */

static void test_precedence_or_and_not(void **s) {
    (void)s;
    /* a or (b and (not c)) */
    const char *w = ".a == 1 or .b == 1 and not .c == 1";
    assert_int_equal(eval(w, "{\"a\":1,\"c\":1}"), 1);
    assert_int_equal(eval(w, "{\"b\":1,\"c\":1}"), 0);
    assert_int_equal(eval(w, "{\"b\":1}"), 1);
    assert_int_equal(eval("(.a == 1 or .b == 1) and .c == 1", "{\"a\":1}"), 0);
}

static void test_macros_and_rule_references(void **s) {
    (void)s;
    const char *rules = "macro login = .eventName == \"ConsoleLogin\"\n"
                        "rule base { on cloudtrail where login private }\n"
                        "rule r { where base and .ok == true }\n";
    assert_int_equal(eval_src(rules, "r", "cloudtrail", "{\"eventName\":\"ConsoleLogin\",\"ok\":true}"), 1);
    /* a rule name means: from one of its sources, and its where holds */
    assert_int_equal(eval_src(rules, "r", "okta", "{\"eventName\":\"ConsoleLogin\",\"ok\":true}"), 0);
    assert_int_equal(eval_src(rules, "base", "cloudtrail", "{\"eventName\":\"ConsoleLogin\"}"), 1);
}

static void test_on_restricts_sources(void **s) {
    (void)s;
    const char *rules = "rule r { on cloudtrail, cloudwatch-logs where .a == 1 }\n";
    assert_int_equal(eval_src(rules, "r", "cloudtrail", "{\"a\":1}"), 1);
    assert_int_equal(eval_src(rules, "r", "cloudwatch-logs", "{\"a\":1}"), 1);
    assert_int_equal(eval_src(rules, "r", "jsonl", "{\"a\":1}"), 0);
}

/* ---- errors ------------------------------------------------------------- */

/* Compiles `src`, expects failure, returns all diagnostics joined by '\n'. */
static char *errors_of(const char *src) {
    diag_list d;
    sd_diag_init(&d);
    program *p = compile_text(src, &d);
    assert_null(p);
    static char out[8192];
    out[0] = 0;
    for (size_t i = 0; i < d.count; i++) {
        char line[1024];
        sd_diag_format(&d.items[i], line, sizeof line);
        strncat(out, line, sizeof out - strlen(out) - 2);
        strcat(out, "\n");
    }
    sd_diag_free(&d);
    return out;
}

static void assert_has(const char *haystack, const char *needle) {
    if (!strstr(haystack, needle)) fail_msg("expected %s in:\n%s", needle, haystack);
}

static void test_duplicate_name_names_both_places(void **s) {
    (void)s;
    char *e = errors_of("macro a = .x == 1\nrule b { where a }\n\nlist a = [1]\n");
    assert_has(e, "t.secdet:4:1: duplicate name 'a'");
    assert_has(e, "t.secdet:1:1");
}

static void test_unknown_names_and_cycles(void **s) {
    (void)s;
    char *e = errors_of("rule r { where nosuch }\n");
    assert_has(e, "t.secdet:1:16: unknown name 'nosuch'");
    e = errors_of("macro a = b\nmacro b = a\nrule r { where a }\n");
    assert_has(e, "refers to itself");
    e = errors_of("rule r { where .x in nolist }\n");
    assert_has(e, "unknown list 'nolist'");
}

static void test_bad_regex_reports_pcre2_message(void **s) {
    (void)s;
    char *e = errors_of("rule r {\n  where .a matches /ab(c/\n}\n");
    assert_has(e, "t.secdet:2:");
    assert_has(e, "bad regex /ab(c/");
    assert_has(e, "offset");
}

static void test_bad_cidr(void **s) {
    (void)s;
    char *e = errors_of("rule r { where .ip in cidr(\"10.0.0.0/33\") }\n");
    assert_has(e, "bad CIDR \"10.0.0.0/33\"");
    e = errors_of("rule r { where .ip in cidr(\"nope\") }\n");
    assert_has(e, "bad CIDR");
}

static void test_star_in_by_key_is_an_error(void **s) {
    (void)s;
    char *e = errors_of("rule r { where .a == 1\n count >= 2 within 5m by .r[*].x }\n");
    assert_has(e, "may not contain [*]");
}

static void test_template_errors(void **s) {
    (void)s;
    char *e = errors_of("rule r { where .a == 1 output \"x { y\" }\n");
    assert_has(e, "lone '{'");
    e = errors_of("rule r { where .a == 1 output \"x } y\" }\n");
    assert_has(e, "lone '}'");
    e = errors_of("rule r { where .a == 1 output \"{nosuch}\" }\n");
    assert_has(e, "unknown substitution '{nosuch}'");
}

static void test_aggregate_rule_cannot_stand_in_condition(void **s) {
    (void)s;
    char *e = errors_of("rule agg { where .a == 1 count >= 3 within 1m }\nrule r { where agg }\n");
    assert_has(e, "has an aggregation");
}

static void test_every_error_is_reported(void **s) {
    (void)s;
    char *e = errors_of("rule a { where x1 }\nrule b { where x2 }\nrule c { where .z matches /(/ }\n");
    assert_has(e, "'x1'");
    assert_has(e, "'x2'");
    assert_has(e, "bad regex");
}

static void test_unused_macro_is_a_warning_not_an_error(void **s) {
    (void)s;
    diag_list d;
    sd_diag_init(&d);
    program *p = compile_text("macro m = .a == 1\nrule r { where .b == 2 }\n", &d);
    assert_non_null(p);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 1);
    assert_non_null(strstr(d.items[0].message, "macro 'm' is never used"));
    sd_program_free(p);
    sd_diag_free(&d);
}

static void test_rule_that_can_never_match_is_a_warning(void **s) {
    (void)s;
    diag_list d;
    sd_diag_init(&d);
    program *p = compile_text("rule r { where .b == \"x\" and .b == \"y\" }\n"
                              "rule q { where lower(.a) == \"ABC\" }\n"
                              "rule ok { where .b == \"x\" and .b in [\"x\", \"y\"] }\n",
                              &d);
    assert_non_null(p);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 2);
    assert_non_null(strstr(d.items[0].message + 0, "can never"));
    assert_non_null(strstr(d.items[1].message, "can never"));
    sd_program_free(p);
    sd_diag_free(&d);
}

/* ---- compiled form ------------------------------------------------------ */

static void test_index_files_rules_under_required_values(void **s) {
    (void)s;
    diag_list d;
    sd_diag_init(&d);
    program *p = compile_text("rule a { where .eventName == \"X\" and .b == 1 }\n"
                              "rule b { where (.eventName == \"Y\" or .eventName == \"Z\") }\n"
                              "rule c { where .eventName != \"X\" }\n"
                              "rule d { where .eventName == \"X\" or .q == 1 }\n",
                              &d);
    assert_non_null(p);
    assert_int_equal(p->nindexes, 1);
    assert_int_equal(p->nalways, 2); /* c and d cannot be indexed */
    assert_int_equal(p->always[0], 2);
    assert_int_equal(p->always[1], 3);
    char *dis = sd_program_disasm(p);
    assert_non_null(strstr(dis, "dispatch: .eventName in {\"X\"}"));
    assert_non_null(strstr(dis, "EQK"));
    assert_non_null(strstr(dis, "t.secdet:1"));
    free(dis);
    sd_program_free(p);
    sd_diag_free(&d);
}

static void test_aggregations_compile(void **s) {
    (void)s;
    diag_list d;
    sd_diag_init(&d);
    program *p =
        compile_text("rule c { where .a == 1 count > 4 within 10m by .ip, lower(coalesce(.u, .v)) }\n"
                     "rule dd { where .a == 1 distinct .user >= 10 within 1h by .ip throttle 1h by .ip }\n"
                     "rule s { sequence within 1h by .arn { recon: .e == \"List\"; esc: .e == \"Attach\"; } }\n",
                     &d);
    assert_non_null(p);
    assert_int_equal(p->rules[0].agg, RAGG_COUNT);
    assert_int_equal(p->rules[0].threshold, 5);
    assert_int_equal(p->rules[0].within_ms, 600000);
    assert_int_equal(p->rules[0].nby, 2);
    assert_string_equal(p->rules[0].by[1].text, "lower(coalesce(.u, .v))");
    assert_int_equal(p->rules[1].agg, RAGG_DISTINCT);
    assert_true(p->rules[1].has_throttle);
    assert_int_equal(p->rules[2].agg, RAGG_SEQUENCE);
    assert_int_equal(p->rules[2].nsteps, 2);
    sd_program_free(p);
    sd_diag_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eq_string),
        cmocka_unit_test(test_eq_never_coerces),
        cmocka_unit_test(test_ne_on_missing_field_is_true),
        cmocka_unit_test(test_ordering_on_missing_or_mixed_is_false),
        cmocka_unit_test(test_star_is_existential),
        cmocka_unit_test(test_star_on_both_sides_any_pair),
        cmocka_unit_test(test_field_to_field_comparison),
        cmocka_unit_test(test_quoted_keys),
        cmocka_unit_test(test_object_equality_is_not_exponential_in_depth),
        cmocka_unit_test(test_in_literal_and_named_list),
        cmocka_unit_test(test_cidr_v4_v6),
        cmocka_unit_test(test_string_tests_are_case_sensitive),
        cmocka_unit_test(test_like_globs),
        cmocka_unit_test(test_matches_regex_with_flags),
        cmocka_unit_test(test_exists_counts_null_as_present),
        cmocka_unit_test(test_lower_upper_fold_ascii_only),
        cmocka_unit_test(test_len_counts_code_points_elements_members),
        cmocka_unit_test(test_coalesce_first_present_not_null),
        cmocka_unit_test(test_precedence_or_and_not),
        cmocka_unit_test(test_macros_and_rule_references),
        cmocka_unit_test(test_on_restricts_sources),
        cmocka_unit_test(test_duplicate_name_names_both_places),
        cmocka_unit_test(test_unknown_names_and_cycles),
        cmocka_unit_test(test_bad_regex_reports_pcre2_message),
        cmocka_unit_test(test_bad_cidr),
        cmocka_unit_test(test_star_in_by_key_is_an_error),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_aggregate_rule_cannot_stand_in_condition),
        cmocka_unit_test(test_every_error_is_reported),
        cmocka_unit_test(test_unused_macro_is_a_warning_not_an_error),
        cmocka_unit_test(test_rule_that_can_never_match_is_a_warning),
        cmocka_unit_test(test_index_files_rules_under_required_values),
        cmocka_unit_test(test_aggregations_compile),
    };
    return cmocka_run_group_tests_name("compile", tests, NULL, NULL);
}
