/* test_lang_conditions.c — Part 2's "More conditions" (LANGUAGE.md) through
 * the real pipeline: source → parse → check → compile → VM, each condition
 * evaluated on the event as a parsed tree and as scanned text (the two ways
 * the engine reads events), which must agree. Element predicates, string
 * lists after like/startswith/endswith/contains, =~ and the i-forms under
 * Unicode simple case folding, b64decode, text, hour and weekday; and the
 * errors and warnings the checker gives for them. */
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

static program *compile_or_fail(const char *src) {
    diag_list d;
    sd_diag_init(&d);
    compile_input in = {.name = "t.secdet", .text = src, .len = strlen(src)};
    program *p = sd_compile_sources(&in, 1, NULL, &d);
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
    return p;
}

/* The last rule of `rules` on `json`: 1 or 0, read as a tree and as text (both must agree). */
static int eval_rules(const char *rules, const char *json) {
    program *p = compile_or_fail(rules);
    int got[2];
    for (int text = 0; text < 2; text++) {
        sd_event ev;
        vm_ctx vm;
        assert_int_equal(sd_event_init(&ev, p->paths, p->npaths), 0);
        assert_int_equal(sd_vm_init(&vm, p, 100000), 0);
        cJSON *root = NULL;
        if (text) {
            assert_int_equal(sd_event_scan_setup(&ev, NULL, 0, 1), 0);
            assert_int_equal(sd_event_begin_text(&ev, json, strlen(json), 64), 0);
        } else {
            root = cJSON_Parse(json);
            assert_non_null(root);
            sd_event_begin(&ev, root);
        }
        ev.source = UINT32_MAX;
        sd_vm_begin_event(&vm);
        bool result = false;
        assert_int_equal(sd_vm_rule_matches(&vm, &ev, p->nrules - 1, &result), VM_OK);
        got[text] = result;
        sd_vm_free(&vm);
        sd_event_free(&ev);
        cJSON_Delete(root);
    }
    sd_program_free(p);
    if (got[0] != got[1]) fail_msg("tree says %d, text says %d for %s", got[0], got[1], json);
    return got[0];
}

static int eval(const char *where, const char *json) {
    char rules[4096];
    snprintf(rules, sizeof rules, "rule r {\n  where %s\n}\n", where);
    return eval_rules(rules, json);
}

/* All diagnostics of `src` (errors and warnings), one a line. */
static char *diags_of(const char *src) {
    diag_list d;
    sd_diag_init(&d);
    compile_input in = {.name = "t.secdet", .text = src, .len = strlen(src)};
    program *p = sd_compile_sources(&in, 1, NULL, &d);
    sd_program_free(p);
    char *out = calloc(1, 8192);
    assert_non_null(out);
    for (size_t i = 0; i < d.count; i++) {
        char line[600];
        sd_diag_format(&d.items[i], line, sizeof line);
        strncat(out, line, 8191 - strlen(out));
        strncat(out, "\n", 8191 - strlen(out));
    }
    sd_diag_free(&d);
    return out;
}

static void assert_diag(const char *src, const char *want) {
    char *got = diags_of(src);
    if (!strstr(got, want)) fail_msg("expected a diagnostic containing\n  %s\ngot\n%s", want, got);
    free(got);
}

/* ---- any / all ------------------------------------------------------------------------------- */

/* GCP's admin grant: one binding delta with action ADD *and* an admin role. */
static const char DELTAS_MIXED[] =
    "{\"d\":[{\"action\":\"ADD\",\"role\":\"roles/viewer\"},{\"action\":\"REMOVE\",\"role\":\"roles/owner\"}]}";
static const char DELTAS_GRANT[] =
    "{\"d\":[{\"action\":\"REMOVE\",\"role\":\"roles/viewer\"},{\"action\":\"ADD\",\"role\":\"roles/owner\"}]}";

static void test_any_tests_both_sides_on_one_element(void **s) {
    (void)s;
    const char *c = "any .d[*] (.action == \"ADD\" and .role == \"roles/owner\")";
    assert_int_equal(eval(c, DELTAS_MIXED), 0);
    assert_int_equal(eval(c, DELTAS_GRANT), 1);
    /* [*] alone tests each side on any element: the wall the issue names */
    assert_int_equal(eval(".d[*].action == \"ADD\" and .d[*].role == \"roles/owner\"", DELTAS_MIXED), 1);
}

static void test_any_is_false_on_missing_empty_and_non_arrays(void **s) {
    (void)s;
    const char *c = "any .d[*] (exists .x)";
    assert_int_equal(eval(c, "{}"), 0);
    assert_int_equal(eval(c, "{\"d\":[]}"), 0);
    assert_int_equal(eval(c, "{\"d\":{\"x\":1}}"), 0);
    assert_int_equal(eval(c, "{\"d\":[{\"y\":1},{\"x\":null}]}"), 1);
    assert_int_equal(eval("not any .d[*] (exists .x)", "{}"), 1);
}

static void test_all_needs_elements_and_every_one(void **s) {
    (void)s;
    const char *c = "all .d[*] (.action == \"ADD\")";
    assert_int_equal(eval(c, "{\"d\":[{\"action\":\"ADD\"},{\"action\":\"ADD\"}]}"), 1);
    assert_int_equal(eval(c, "{\"d\":[{\"action\":\"ADD\"},{\"action\":\"DEL\"}]}"), 0);
    assert_int_equal(eval(c, "{\"d\":[]}"), 0);
    assert_int_equal(eval(c, "{}"), 0);
    assert_int_equal(eval(c, "{\"d\":\"ADD\"}"), 0);
}

static void test_dot_is_the_element_and_dollar_the_root(void **s) {
    (void)s;
    assert_int_equal(eval("any .tags[*] (. == \"prod\")", "{\"tags\":[\"dev\",\"prod\"]}"), 1);
    assert_int_equal(eval("any .tags[*] (. == \"prod\")", "{\"tags\":[\"dev\"]}"), 0);
    /* `.x` is the element's, `$.x` the event's: here only the root has .k */
    const char *ev = "{\"k\":1,\"e\":[{\"v\":2}]}";
    assert_int_equal(eval("any .e[*] ($.k == 1 and .v == 2)", ev), 1);
    assert_int_equal(eval("any .e[*] (.k == 1)", ev), 0);
    /* outside any/all, `$.x` is `.x` */
    assert_int_equal(eval("$.k == 1", ev), 1);
    /* an element that is an array: `.[0]` */
    assert_int_equal(eval("any .m[*] (.[1] == 5)", "{\"m\":[[1,2],[4,5]]}"), 1);
    /* `[*]` inside an element is per element too */
    assert_int_equal(eval("any .e[*] (.a[*] == 3)", "{\"e\":[{\"a\":[1,2]},{\"a\":[3]}]}"), 1);
}

static void test_nested_any_reads_the_inner_element(void **s) {
    (void)s;
    const char *c = "any .g[*] (.name == \"b\" and any .m[*] (. == 2))";
    assert_int_equal(eval(c, "{\"g\":[{\"name\":\"a\",\"m\":[2]},{\"name\":\"b\",\"m\":[1]}]}"), 0);
    assert_int_equal(eval(c, "{\"g\":[{\"name\":\"a\",\"m\":[1]},{\"name\":\"b\",\"m\":[3,2]}]}"), 1);
    /* the outer element's path from the inner body: through $ only for the root */
    assert_int_equal(eval("any .g[*] (any $.g[*] (.name == \"a\"))", "{\"g\":[{\"name\":\"a\"}]}"), 1);
    /* every element of every [*] along the path */
    assert_int_equal(eval("any .g[*].m[*] (. == 3)", "{\"g\":[{\"m\":[1]},{\"m\":[3]}]}"), 1);
}

static void test_functions_and_macros_inside_an_element(void **s) {
    (void)s;
    const char *rules = "macro admin = .role in [\"roles/owner\", \"roles/editor\"]\n"
                        "rule r { where any .d[*] (lower(.action) == \"add\" and admin) }\n";
    assert_int_equal(eval_rules(rules, "{\"d\":[{\"action\":\"Add\",\"role\":\"roles/editor\"}]}"), 1);
    assert_int_equal(eval_rules(rules, "{\"d\":[{\"action\":\"Add\"},{\"role\":\"roles/editor\"}]}"), 0);
    /* a rule named inside a body is about the event, as anywhere */
    const char *named = "rule is_x { where .k == \"x\" private }\n"
                        "rule r { where any .d[*] (. == 1 and is_x) }\n";
    assert_int_equal(eval_rules(named, "{\"k\":\"x\",\"d\":[0,1]}"), 1);
    assert_int_equal(eval_rules(named, "{\"k\":\"y\",\"d\":[0,1]}"), 0);
}

static void test_a_rule_may_be_named_all(void **s) {
    (void)s;
    const char *rules = "rule all { where .a == 1 }\nrule any { where all and .b == 2 }\n";
    assert_int_equal(eval_rules(rules, "{\"a\":1,\"b\":2}"), 1);
    assert_int_equal(eval_rules(rules, "{\"a\":2,\"b\":2}"), 0);
}

static void test_element_paths_outside_any_are_errors(void **s) {
    (void)s;
    assert_diag("rule r { where . == 1 }\n", "t.secdet:1:16: '.' reads the element of an any/all, and stands only");
    assert_diag("rule r { where any .d (.x == 1) }\n",
                "t.secdet:1:20: any takes a path ending in [*] (the elements to test), like .resources[*]");
    assert_diag("rule r { where all .d[*] .x == 1 }\n", "expected '(' and the condition every element must satisfy");
    assert_diag("rule r { where any .d[*] (.x == 1 }\n", "expected ')' to close '(' opened at 1:26");
}

/* ---- lists after like, startswith, endswith, contains ------------------------------------------ */

static void test_lists_after_string_tests(void **s) {
    (void)s;
    assert_int_equal(eval(".e like [\"Delete*\", \"Put*\"]", "{\"e\":\"PutBucketPolicy\"}"), 1);
    assert_int_equal(eval(".e like [\"Delete*\", \"Put*\"]", "{\"e\":\"GetBucketPolicy\"}"), 0);
    assert_int_equal(eval(".e startswith [\"Delete\", \"Put\"]", "{\"e\":\"DeleteTrail\"}"), 1);
    assert_int_equal(eval(".e endswith [\"Trail\", \"Key\"]", "{\"e\":\"CreateAccessKey\"}"), 1);
    assert_int_equal(eval(".e contains [\"xx\", \"Access\"]", "{\"e\":\"CreateAccessKey\"}"), 1);
    assert_int_equal(eval(".e contains [\"xx\", \"access\"]", "{\"e\":\"CreateAccessKey\"}"), 0);
    /* a [*] path: any value and any member */
    assert_int_equal(eval(".e[*] contains [\"q\", \"b\"]", "{\"e\":[\"a\",\"abc\"]}"), 1);
    /* an empty list holds nothing; a non-string is never matched */
    assert_int_equal(eval(".e contains []", "{\"e\":\"x\"}"), 0);
    assert_int_equal(eval(".e contains [\"1\"]", "{\"e\":1}"), 0);
    /* escaped wildcards are plain text to contains/startswith/endswith */
    assert_int_equal(eval(".e contains [\"a*b\"]", "{\"e\":\"xa*by\"}"), 1);
    assert_int_equal(eval(".e contains [\"a*b\"]", "{\"e\":\"xaZby\"}"), 0);
}

static void test_a_lists_name_after_string_tests(void **s) {
    (void)s;
    const char *rules = "list verbs = [\"Delete*\", \"Put*\"]\nlist pre = [\"Delete\", \"Put\"]\n"
                        "rule r { where .e like verbs and .e startswith pre and not .e endswith pre }\n";
    assert_int_equal(eval_rules(rules, "{\"e\":\"PutObject\"}"), 1);
    assert_int_equal(eval_rules(rules, "{\"e\":\"GetObject\"}"), 0);
    assert_diag("list n = [1, 2]\nrule r { where .e contains n }\n",
                "t.secdet:2:19: this test takes a list of strings, found a number in list n");
    assert_diag("rule r { where .e like [\"a\", 2] }\n",
                "t.secdet:1:30: this test takes a list of strings, found a number");
    assert_diag("list verbs = [\"a\"]\nrule r { where .e like verb }\n", "unknown list 'verb' (did you mean 'verbs'?)");
    assert_diag("macro m = .a == 1\nrule r { where .e like m }\n", "'m' is a macro, not a list");
}

/* ---- =~ and the i-forms --------------------------------------------------------------------------- */

static void test_fold_equal(void **s) {
    (void)s;
    assert_int_equal(eval(".u =~ \"Admin\"", "{\"u\":\"ADMIN\"}"), 1);
    assert_int_equal(eval(".u =~ \"Admin\"", "{\"u\":\"admin1\"}"), 0);
    assert_int_equal(eval("\"Admin\" =~ .u", "{\"u\":\"aDMIN\"}"), 1);
    /* Unicode simple case folding, not only ASCII */
    assert_int_equal(eval(".u =~ \"été\"", "{\"u\":\"ÉTÉ\"}"), 1);
    assert_int_equal(eval(".u =~ \"ΣΊΣΥΦΟΣ\"", "{\"u\":\"σίσυφοσ\"}"), 1);
    assert_int_equal(eval(".u =~ \"k\"", "{\"u\":\"\\u212a\"}"), 1); /* KELVIN SIGN */
    /* simple folding: ß is not ss */
    assert_int_equal(eval(".u =~ \"ss\"", "{\"u\":\"ß\"}"), 0);
    assert_int_equal(eval(".u =~ [\"root\", \"ADMIN\"]", "{\"u\":\"Admin\"}"), 1);
    assert_int_equal(eval(".u =~ [\"root\", \"ADMIN\"]", "{\"u\":\"user\"}"), 0);
    assert_int_equal(eval(".u =~ .v", "{\"u\":\"Été\",\"v\":\"éTÉ\"}"), 1);
    assert_int_equal(eval(".u =~ \"1\"", "{\"u\":1}"), 0);
    /* missing is false; not (=~) is true */
    assert_int_equal(eval(".u =~ \"a\"", "{}"), 0);
    assert_int_equal(eval("not .u =~ \"a\"", "{}"), 1);
}

static void test_fold_substring_tests(void **s) {
    (void)s;
    assert_int_equal(eval(".c icontains \"INVOKE-EXPRESSION\"", "{\"c\":\"x; invoke-Expression $y\"}"), 1);
    assert_int_equal(eval(".c istartswith \"POWERSHELL\"", "{\"c\":\"PowerShell -enc\"}"), 1);
    assert_int_equal(eval(".c iendswith \".EXE\"", "{\"c\":\"C:\\\\a\\\\b.exe\"}"), 1);
    assert_int_equal(eval(".c iendswith \".EXE\"", "{\"c\":\"b.ex\"}"), 0);
    assert_int_equal(eval(".c icontains [\"mimikatz\", \"ÉLEVÉ\"]", "{\"c\":\"niveau élevé\"}"), 1);
    assert_int_equal(eval(".c istartswith [\"x\", \"y\"]", "{\"c\":\"Yes\"}"), 1);
    assert_int_equal(eval(".c icontains .d", "{\"c\":\"ABCDE\",\"d\":\"cd\"}"), 1);
    assert_int_equal(eval(".c istartswith .d", "{\"c\":\"ABCDE\",\"d\":\"ab\"}"), 1);
    assert_int_equal(eval(".c iendswith .d", "{\"c\":\"ABCDE\",\"d\":\"dE\"}"), 1);
    assert_int_equal(eval(".c icontains \"\"", "{\"c\":\"x\"}"), 1);
}

static void test_ilike(void **s) {
    (void)s;
    assert_int_equal(eval(".e ilike \"delete*\"", "{\"e\":\"DeleteBucket\"}"), 1);
    assert_int_equal(eval(".e ilike \"d?lete*\"", "{\"e\":\"DÉLETEx\"}"), 1);
    assert_int_equal(eval(".e ilike [\"get*\", \"PUT*\"]", "{\"e\":\"putObject\"}"), 1);
    assert_int_equal(eval(".e ilike \"delete\"", "{\"e\":\"DeleteBucket\"}"), 0);
}

/* ---- functions --------------------------------------------------------------------------------------- */

static void test_b64decode(void **s) {
    (void)s;
    /* PowerShell -EncodedCommand is UTF-16LE: "Invoke-Expression $env:X" */
    const char *ps = "{\"c\":\"SQBuAHYAbwBrAGUALQBFAHgAcAByAGUAcwBzAGkAbwBuACAAJABlAG4AdgA6AFgA\"}";
    assert_int_equal(eval("b64decode(.c) == \"Invoke-Expression $env:X\"", ps), 1);
    /* UTF-8 when it is not UTF-16LE: "hello world" */
    assert_int_equal(eval("b64decode(.c) == \"hello world\"", "{\"c\":\"aGVsbG8gd29ybGQ=\"}"), 1);
    /* padding is optional; the URL-safe alphabet is read too */
    assert_int_equal(eval("b64decode(.c) == \"hello world\"", "{\"c\":\"aGVsbG8gd29ybGQ\"}"), 1);
    assert_int_equal(eval("b64decode(.c) == \"\\u00ff\\u00fe\"", "{\"c\":\"w7_DvQ\"}"), 0);
    assert_int_equal(eval("b64decode(.c) == \"\\u00ff\\u00fd\"", "{\"c\":\"w7_DvQ\"}"), 1);
    /* even-length UTF-8 text is not taken for UTF-16: "abcd", "éé" */
    assert_int_equal(eval("b64decode(.c) == \"abcd\"", "{\"c\":\"YWJjZA==\"}"), 1);
    assert_int_equal(eval("b64decode(.c) == \"\\u00e9\\u00e9\"", "{\"c\":\"w6nDqQ==\"}"), 1);
    /* not base64, not text, not a string: missing */
    assert_int_equal(eval("exists b64decode(.c)", "{\"c\":\"not base64!\"}"), 0);
    assert_int_equal(eval("exists b64decode(.c)", "{\"c\":\"/w==\"}"), 0); /* the byte 0xFF */
    assert_int_equal(eval("exists b64decode(.c)", "{\"c\":5}"), 0);
    assert_int_equal(eval("b64decode(.c) icontains \"INVOKE\"", ps), 1);
}

static void test_text(void **s) {
    (void)s;
    assert_int_equal(eval("text(.p) == \"{\\\"a\\\":[1,2.5,\\\"x\\\"],\\\"b\\\":null}\"",
                          "{\"p\":{\"a\":[1.0,2.5,\"x\"],\"b\":null}}"),
                     1);
    assert_int_equal(eval("text(.p) contains \"\\\"policy\\\":\"", "{\"p\":{\"policy\":{\"x\":1}}}"), 1);
    assert_int_equal(eval("text(.s) == \"abc\"", "{\"s\":\"abc\"}"), 1);
    assert_int_equal(eval("text(.n) == \"5\"", "{\"n\":5.0}"), 1);
    assert_int_equal(eval("text(.n) == \"true\"", "{\"n\":true}"), 1);
    assert_int_equal(eval("exists text(.n)", "{}"), 0);
    assert_int_equal(eval("text(.a[*]) == \"2\"", "{\"a\":[1,2]}"), 1);
}

static void test_hour_and_weekday(void **s) {
    (void)s;
    /* 2024-01-07 was a Sunday */
    const char *ev = "{\"t\":\"2024-01-07T23:30:00Z\",\"ms\":1704670200000,\"sec\":1704670200,\"str\":\"1704670200\"}";
    assert_int_equal(eval("hour(.t) == 23", ev), 1);
    assert_int_equal(eval("weekday(.t) == 7", ev), 1);
    assert_int_equal(eval("hour(.t, \"+09:00\") == 8 and weekday(.t, \"+09:00\") == 1", ev), 1);
    assert_int_equal(eval("hour(.t, \"-05:30\") == 18", ev), 1);
    assert_int_equal(eval("hour(.t, \"Z\") == 23", ev), 1);
    /* epoch seconds and milliseconds, numbers or digit strings */
    assert_int_equal(eval("hour(.ms) == 23 and hour(.sec) == 23 and hour(.str) == 23", ev), 1);
    /* the time's own offset is honoured: 08:30+09:00 is 23:30 UTC the day before */
    assert_int_equal(eval("hour(.t) == 23 and weekday(.t) == 7", "{\"t\":\"2024-01-08T08:30:00+09:00\"}"), 1);
    /* before the epoch */
    assert_int_equal(eval("hour(.t) == 23 and weekday(.t) == 3", "{\"t\":\"1969-12-31T23:00:00Z\"}"), 1);
    /* what is no time is missing */
    assert_int_equal(eval("exists hour(.t)", "{\"t\":\"yesterday\"}"), 0);
    /* epoch times past what 64-bit nanoseconds hold are no time either (fuzz_eval found
     * 1.7e19 ns converted to int64) */
    assert_int_equal(eval("exists hour(.t)", "{\"t\":17046702000000}"), 0);
    assert_int_equal(eval("exists weekday(.t)", "{\"t\":\"999999999999999999\"}"), 0);
    assert_int_equal(eval("exists hour(.t)", "{\"t\":-17046702000000}"), 0);
    assert_int_equal(eval("hour(.t) == 23", "{\"t\":9223372035}"), 1);
    assert_int_equal(eval("hour(.t) < 6 or hour(.t) >= 22", ev), 1);
}

static void test_function_errors_and_warnings(void **s) {
    (void)s;
    assert_diag("rule r { where hour(.t, \"9h\") == 1 }\n",
                "t.secdet:1:25: hour()'s offset is a string like \"+09:00\", \"-05:30\" or \"Z\"");
    assert_diag("rule r { where hour(.t, \"+1:00\") == 1 }\n", "hour()'s offset is a string like");
    assert_diag("rule r { where weekday(.t, \"+01:00\", 1) == 1 }\n",
                "weekday() takes a time and an optional offset, not 3 arguments");
    assert_diag("rule r { where text(.a, .b) == 1 }\n", "text() takes exactly one argument, not 2");
    assert_diag("rule r { where hour(.t) == 24 }\n",
                "t.secdet:1:25: warning: this test can never hold: hour() is a whole number from 0 to 23");
    assert_diag("rule r { where weekday(.t) == 0 }\n",
                "warning: this test can never hold: weekday() is a whole number");
    assert_diag("rule r { where hour(.t) > 23 }\n", "warning: this test can never hold: hour()");
    assert_diag("rule r { where b64decod(.c) == 1 }\n", "unknown function 'b64decod' (did you mean 'b64decode'?)");
    assert_diag("rule r { where .a icontains 1 }\n", "this test takes a string, found a number");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_any_tests_both_sides_on_one_element),
        cmocka_unit_test(test_any_is_false_on_missing_empty_and_non_arrays),
        cmocka_unit_test(test_all_needs_elements_and_every_one),
        cmocka_unit_test(test_dot_is_the_element_and_dollar_the_root),
        cmocka_unit_test(test_nested_any_reads_the_inner_element),
        cmocka_unit_test(test_functions_and_macros_inside_an_element),
        cmocka_unit_test(test_a_rule_may_be_named_all),
        cmocka_unit_test(test_element_paths_outside_any_are_errors),
        cmocka_unit_test(test_lists_after_string_tests),
        cmocka_unit_test(test_a_lists_name_after_string_tests),
        cmocka_unit_test(test_fold_equal),
        cmocka_unit_test(test_fold_substring_tests),
        cmocka_unit_test(test_ilike),
        cmocka_unit_test(test_b64decode),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_hour_and_weekday),
        cmocka_unit_test(test_function_errors_and_warnings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
