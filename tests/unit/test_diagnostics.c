/* test_diagnostics.c — what the compiler says about broken rules: the
 * nearest known word for a typo, every error and warning of a ruleset even
 * after a syntax error, all of them in source order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lang/compile.h"
#include "util/suggest.h"

/* Compiles files (name, text, name, text, ..., NULL) and returns the
 * diagnostics as "file:line:col: message" lines joined by '\n'. */
static char *diagnose_files(const char *const *pairs, int *compiled) {
    compile_input in[8];
    size_t n = 0;
    for (; pairs[2 * n]; n++) in[n] = (compile_input){pairs[2 * n], pairs[2 * n + 1], strlen(pairs[2 * n + 1])};
    diag_list d;
    sd_diag_init(&d);
    program *p = sd_compile_sources(in, n, NULL, &d);
    if (compiled) *compiled = p != NULL;
    sd_program_free(p);
    size_t cap = 1, len = 0;
    for (size_t i = 0; i < d.count; i++) cap += 600;
    char *out = calloc(cap, 1);
    assert_non_null(out);
    for (size_t i = 0; i < d.count; i++) {
        sd_diag_format(&d.items[i], out + len, cap - len);
        len += strlen(out + len);
        out[len++] = '\n';
    }
    out[len] = 0;
    sd_diag_free(&d);
    return out;
}

static char *diagnose(const char *src) {
    const char *files[] = {"t.secdet", src, NULL};
    return diagnose_files(files, NULL);
}

static void expect(const char *src, const char *want) {
    char *got = diagnose(src);
    if (strcmp(got, want) != 0) print_error("got:\n%swant:\n%s", got, want);
    assert_string_equal(got, want);
    free(got);
}

static void test_suggest_picks_the_nearest_word_within_a_third_of_its_length(void **state) {
    (void)state;
    static const char *const words[] = {"lower", "upper", "len", "coalesce"};
    const struct {
        const char *word, *want;
    } cases[] = {
        {"tolower", "lower"},
        {"lowr", "lower"},
        {"uper", "upper"},
        {"coalese", "coalesce"},
        {"lne", "len"},
        {"size", NULL},
        {"lower", NULL} /* itself is no typo */,
        {"x", NULL},
        {"totally_different", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        suggest s;
        sd_suggest_init(&s, cases[i].word);
        sd_suggest_offer_all(&s, words, 4);
        if (cases[i].want) {
            assert_non_null(sd_suggest_best(&s));
            assert_string_equal(sd_suggest_best(&s), cases[i].want);
        } else {
            assert_null(sd_suggest_best(&s));
        }
    }
}

static void test_unknown_function_says_so_and_names_the_nearest(void **state) {
    (void)state;
    expect("rule r { where tolower(.x) == \"a\" }\n",
           "t.secdet:1:16: unknown function 'tolower' (did you mean 'lower'?); the functions are lower, upper, len, "
           "coalesce, b64decode, text, hour, weekday\n");
    /* on the right of a comparison and in a key, too */
    expect("rule r { where .a == toupper(.b) }\n",
           "t.secdet:1:22: unknown function 'toupper' (did you mean 'upper'?); the functions are lower, upper, len, "
           "coalesce, b64decode, text, hour, weekday\n");
    expect("rule r { where .a == 1 count >= 2 within 1m by size(.b) }\n",
           "t.secdet:1:48: unknown function 'size'; the functions are lower, upper, len, coalesce, b64decode, "
           "text, hour, weekday\n");
}

static void test_a_bare_word_where_a_value_goes_suggests_the_field(void **state) {
    (void)state;
    expect("rule r { where .a == b }\n",
           "t.secdet:1:22: expected a field path or a value, found 'b' (write '.b' for the field)\n");
}

static void test_keyword_typos_suggest_the_keyword(void **state) {
    (void)state;
    expect("rule r {\n  wher .x == 1\n}\n",
           "t.secdet:2:3: expected a rule clause (meta, on, where, count, distinct, sum, sequence, throttle, output, "
           "private) or '}' after '{', found 'wher' (did you mean 'where'?)\n");
    expect("rule r {\n  where .x == 1 adn .y == 2\n}\n",
           "t.secdet:2:17: expected a rule clause (meta, on, where, count, distinct, sum, sequence, throttle, output, "
           "private) or '}' after '1', found 'adn' (did you mean 'and'?)\n");
    expect("rul r { where .x == 1 }\n", "t.secdet:1:1: expected 'list', 'macro' or 'rule', found 'rul' (did you "
                                        "mean 'rule'?)\n");
}

static void test_unknown_names_suggest_the_nearest_declared_one(void **state) {
    (void)state;
    expect("macro console_login = .a == 1\nrule r { where consol_login }\n",
           "t.secdet:1:1: warning: macro 'console_login' is never used\n"
           "t.secdet:2:16: unknown name 'consol_login': not a macro or rule (did you mean 'console_login'?)\n");
    expect("list admins = [\"a\"]\nrule r { where .u in admin }\n",
           "t.secdet:1:1: warning: list 'admins' is never used\n"
           "t.secdet:2:19: unknown list 'admin' (did you mean 'admins'?)\n");
    expect("rule r { meta { severity = hgih } where .a == 1 }\n",
           "t.secdet:1:28: severity must be one of info, low, medium, high, critical (did you mean 'high'?)\n");
}

static void test_errors_and_warnings_after_a_syntax_error_are_all_reported(void **state) {
    (void)state;
    /* A syntax error in `a` no longer hides the unknown name in `b`, the bad
     * severity in `c` or the unused macro; the broken rule's name is still
     * known (no "unknown name 'a'"), and the macro only the broken rule
     * mentions is not called unused. */
    expect("macro used_by_broken = .x == 1\n"
           "macro unused = .y == 1\n"
           "rule a { where used_by_broken and .z == }\n"
           "rule b { where a and nope }\n"
           "rule c { meta { severity = hgh } where .q == 1 }\n"
           "rule d { where lower(.n) == \"ABC\" }\n",
           "t.secdet:2:1: warning: macro 'unused' is never used\n"
           "t.secdet:3:41: expected a field path or a value after '==', found '}'\n"
           "t.secdet:4:22: unknown name 'nope': not a macro or rule\n"
           "t.secdet:5:28: severity must be one of info, low, medium, high, critical (did you mean 'high'?)\n"
           "t.secdet:6:26: warning: this test can never hold: lower() never yields \"ABC\"\n");
}

static void test_a_list_with_a_syntax_error_is_still_known(void **state) {
    (void)state;
    expect("list l = [1, 2\nrule r { where .a in l }\n", "t.secdet:2:1: expected ',' or ']' after '2', found 'rule'\n");
}

static void test_diagnostics_come_sorted_by_file_line_and_column(void **state) {
    (void)state;
    /* The checker runs after the parser, yet its findings in b.secdet come
     * after every finding in a.secdet, and lines interleave by position. */
    const char *files[] = {"a.secdet", "macro m1 = .a == 1\nrule r1 { where .x == 1 and nope }\nrule r2 { wher }\n",
                           "b.secdet", "rule r3 { where zzz }\nmacro m2 = .b == 1\n", NULL};
    int compiled = 1;
    char *got = diagnose_files(files, &compiled);
    assert_false(compiled);
    assert_string_equal(got, "a.secdet:1:1: warning: macro 'm1' is never used\n"
                             "a.secdet:2:29: unknown name 'nope': not a macro or rule\n"
                             "a.secdet:3:11: expected a rule clause (meta, on, where, count, distinct, sum, sequence, "
                             "throttle, output, private) or '}' after '{', found 'wher' (did you mean 'where'?)\n"
                             "b.secdet:1:17: unknown name 'zzz': not a macro or rule\n"
                             "b.secdet:2:1: warning: macro 'm2' is never used\n");
    free(got);
}

static void test_a_trailing_comma_in_a_list_is_accepted(void **state) {
    (void)state;
    int compiled = 0;
    const char *files[] = {"t.secdet", "list l = [\"a\", \"b\",]\nrule r { where .a in l or .b in [1, 2,] }\n", NULL};
    char *got = diagnose_files(files, &compiled);
    assert_true(compiled);
    assert_string_equal(got, "");
    free(got);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suggest_picks_the_nearest_word_within_a_third_of_its_length),
        cmocka_unit_test(test_unknown_function_says_so_and_names_the_nearest),
        cmocka_unit_test(test_a_bare_word_where_a_value_goes_suggests_the_field),
        cmocka_unit_test(test_keyword_typos_suggest_the_keyword),
        cmocka_unit_test(test_unknown_names_suggest_the_nearest_declared_one),
        cmocka_unit_test(test_errors_and_warnings_after_a_syntax_error_are_all_reported),
        cmocka_unit_test(test_a_list_with_a_syntax_error_is_still_known),
        cmocka_unit_test(test_diagnostics_come_sorted_by_file_line_and_column),
        cmocka_unit_test(test_a_trailing_comma_in_a_list_is_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
