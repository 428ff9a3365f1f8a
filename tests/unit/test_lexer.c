/* test_lexer.c — the rule lexer: every token kind, escapes, durations,
 * regexes, paths, and the exact position of every lexical error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lang/lexer.h"

/* Lexes the first token of src. */
static lex_token first(const char *src) {
    lexer lx;
    lex_token t;
    sd_lexer_init(&lx, src, strlen(src));
    sd_lexer_next(&lx, &t);
    return t;
}

static void assert_error_at(const char *src, uint32_t line, uint32_t col, const char *msg) {
    lex_token t = first(src);
    assert_int_equal(t.kind, TOK_ERROR);
    assert_non_null(t.str);
    assert_string_equal(t.str, msg);
    assert_int_equal(t.err_line, line);
    assert_int_equal(t.err_col, col);
    sd_lexer_token_free(&t);
}

static void assert_string_token(const char *src, const char *want, size_t want_len) {
    lex_token t = first(src);
    assert_int_equal(t.kind, TOK_STRING);
    assert_int_equal(t.str_len, want_len);
    assert_memory_equal(t.str, want, want_len);
    sd_lexer_token_free(&t);
}

static void test_punctuation_and_identifiers_carry_line_and_column(void **state) {
    (void)state;
    const char *src = "rule x_1 {\n  a == b != c < d <= e > f >= g = ( ) [ ] , ; : }";
    tok_kind want[] = {TOK_IDENT, TOK_IDENT, TOK_LBRACE, TOK_IDENT,  TOK_EQ,     TOK_IDENT,    TOK_NE,
                       TOK_IDENT, TOK_LT,    TOK_IDENT,  TOK_LE,     TOK_IDENT,  TOK_GT,       TOK_IDENT,
                       TOK_GE,    TOK_IDENT, TOK_ASSIGN, TOK_LPAREN, TOK_RPAREN, TOK_LBRACKET, TOK_RBRACKET,
                       TOK_COMMA, TOK_SEMI,  TOK_COLON,  TOK_RBRACE, TOK_EOF};
    lexer lx;
    sd_lexer_init(&lx, src, strlen(src));
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        lex_token t;
        sd_lexer_next(&lx, &t);
        assert_int_equal(t.kind, want[i]);
        if (i == 1) {
            assert_string_equal(t.str, "x_1");
            assert_int_equal(t.line, 1);
            assert_int_equal(t.col, 6);
            assert_false(t.line_start);
        }
        if (i == 3) {
            assert_string_equal(t.str, "a");
            assert_int_equal(t.line, 2);
            assert_int_equal(t.col, 3);
            assert_true(t.line_start);
        }
        if (i == 4) assert_int_equal(t.col, 5);
        if (i == 10) assert_int_equal(t.col, 19); /* <= */
        sd_lexer_token_free(&t);
    }
}

static void test_empty_input_is_end_of_file_at_1_1(void **state) {
    (void)state;
    lex_token t = first("");
    assert_int_equal(t.kind, TOK_EOF);
    assert_int_equal(t.line, 1);
    assert_int_equal(t.col, 1);
    t = first("  # only a comment\n\n");
    assert_int_equal(t.kind, TOK_EOF);
    assert_int_equal(t.line, 3);
}

static void test_comment_runs_to_end_of_line(void **state) {
    (void)state;
    lex_token t = first("# rule x { where\n  macro");
    assert_int_equal(t.kind, TOK_IDENT);
    assert_string_equal(t.str, "macro");
    assert_int_equal(t.line, 2);
    assert_int_equal(t.col, 3);
    sd_lexer_token_free(&t);
}

static void test_byte_order_mark_is_skipped_and_columns_start_after_it(void **state) {
    (void)state;
    lex_token t = first("\xEF\xBB\xBFrule");
    assert_int_equal(t.kind, TOK_IDENT);
    assert_int_equal(t.col, 1);
    sd_lexer_token_free(&t);
}

static void test_string_json_escapes_decode(void **state) {
    (void)state;
    assert_string_token("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "a\"b\\c/d\b\f\n\r\t", 12);
    assert_string_token("\"\\u00e9\\u20AC\"", "\xC3\xA9\xE2\x82\xAC", 5);
    assert_string_token("\"caf\xC3\xA9\"", "caf\xC3\xA9", 5);
    assert_string_token("\"\"", "", 0);
}

static void test_surrogate_pair_joins_to_one_utf8_character(void **state) {
    (void)state;
    assert_string_token("\"\\ud83d\\ude00!\"", "\xF0\x9F\x98\x80!", 5);
}

static void test_invalid_escape_is_reported_at_its_backslash(void **state) {
    (void)state;
    assert_error_at("\"ab\\q\"", 1, 4, "invalid escape '\\q' in string");
    assert_error_at("  \"\\x41\"", 1, 4, "invalid escape '\\x' in string");
    assert_error_at("\"\\u12G4\"", 1, 2, "invalid \\u escape in string (expected four hex digits)");
}

static void test_lone_surrogates_are_errors(void **state) {
    (void)state;
    assert_error_at("\"a\\ud83d\"", 1, 3, "lone surrogate \\uD83D in string");
    assert_error_at("\"a\\ud83d\\u0041\"", 1, 3, "lone surrogate \\uD83D in string");
    assert_error_at("\"\\ude00\"", 1, 2, "lone surrogate \\uDE00 in string");
}

static void test_nul_escape_is_refused(void **state) {
    (void)state;
    assert_error_at("\"ab\\u0000\"", 1, 4, "\\u0000 (NUL) is not allowed in a string");
}

static void test_raw_control_character_in_string_is_an_error_at_its_column(void **state) {
    (void)state;
    assert_error_at("\"ab\tc\"", 1, 4, "control character U+0009 in string (write it as an escape)");
}

static void test_newline_or_end_inside_string_is_unterminated_at_the_quote(void **state) {
    (void)state;
    assert_error_at("  \"abc\ndef\"", 1, 3, "unterminated string");
    assert_error_at("\n  \"abc", 2, 3, "unterminated string");
    assert_error_at("\"abc\\", 1, 1, "unterminated string");
    assert_error_at("\"abc\r\n\"", 1, 1, "unterminated string");
}

static void test_invalid_utf8_in_string_is_reported_at_the_byte(void **state) {
    (void)state;
    assert_error_at("\"ab\xFF\"", 1, 4, "invalid UTF-8 byte 0xFF in string");
    assert_error_at("\"\xC3\"", 1, 2, "invalid UTF-8 byte 0xC3 in string");
    assert_error_at("\"\xED\xA0\x80\"", 1, 2, "invalid UTF-8 byte 0xED in string"); /* encoded surrogate */
}

static void test_invalid_utf8_outside_strings_and_in_comments(void **state) {
    (void)state;
    assert_error_at("  \xFE", 1, 3, "invalid UTF-8 byte 0xFE");
    assert_error_at("# ok \xC0\x80 bad\n", 1, 6, "invalid UTF-8 byte 0xC0 in comment");
}

static void test_lexing_resumes_after_a_bad_string(void **state) {
    (void)state;
    const char *src = "\"a\\qb\" next";
    lexer lx;
    lex_token t;
    sd_lexer_init(&lx, src, strlen(src));
    sd_lexer_next(&lx, &t);
    assert_int_equal(t.kind, TOK_ERROR);
    sd_lexer_token_free(&t);
    sd_lexer_next(&lx, &t);
    assert_int_equal(t.kind, TOK_IDENT);
    assert_string_equal(t.str, "next");
    sd_lexer_token_free(&t);
}

static void test_numbers(void **state) {
    (void)state;
    const struct {
        const char *src;
        double v;
    } cases[] = {{"42", 42}, {"-1.5", -1.5}, {"1e3", 1000}, {"2.5E-2", 0.025}, {"0", 0}, {"-7", -7}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lex_token t = first(cases[i].src);
        assert_int_equal(t.kind, TOK_NUMBER);
        assert_true(t.num == cases[i].v);
        assert_int_equal(t.len, strlen(cases[i].src));
    }
    assert_error_at("1.", 1, 3, "expected a digit after the decimal point");
    assert_error_at("1e999", 1, 1, "number out of range");
}

static void test_durations_are_stored_in_milliseconds(void **state) {
    (void)state;
    const struct {
        const char *src;
        double ms;
    } cases[] = {{"500ms", 500},    {"30s", 30000}, {"10m", 600000}, {"1h", 3600000},
                 {"7d", 604800000}, {"1.5s", 1500}, {"0s", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lex_token t = first(cases[i].src);
        assert_int_equal(t.kind, TOK_DURATION);
        assert_true(t.num == cases[i].ms);
    }
}

static void test_bad_durations(void **state) {
    (void)state;
    assert_error_at("10x", 1, 3, "invalid duration unit 'x' (expected ms, s, m, h or d)");
    assert_error_at("5mins", 1, 2, "invalid duration unit 'mins' (expected ms, s, m, h or d)");
    assert_error_at("-5m", 1, 1, "a duration cannot be negative");
    assert_error_at("0.5ms", 1, 1, "a duration must be a whole number of milliseconds");
    assert_error_at("1e300d", 1, 1, "duration too large");
}

static lex_token regex(const char *src) {
    lexer lx;
    lex_token t;
    sd_lexer_init(&lx, src, strlen(src));
    sd_lexer_next(&lx, &t);
    assert_int_equal(t.kind, TOK_SLASH);
    sd_lexer_rescan_regex(&lx, &t);
    return t;
}

static void test_regex_is_lexed_on_request_with_flags(void **state) {
    (void)state;
    lex_token t = regex("/^Access\\/De\\d+nied$/im rest");
    assert_int_equal(t.kind, TOK_REGEX);
    assert_string_equal(t.str, "^Access/De\\d+nied$");
    assert_string_equal(t.flags, "im");
    assert_int_equal(t.len, strlen("/^Access\\/De\\d+nied$/im"));
    sd_lexer_token_free(&t);
    t = regex("/a\\\\/sx");
    assert_int_equal(t.kind, TOK_REGEX);
    assert_string_equal(t.str, "a\\\\");
    assert_string_equal(t.flags, "sx");
    sd_lexer_token_free(&t);
    t = regex("/[\"#]/");
    assert_int_equal(t.kind, TOK_REGEX);
    assert_string_equal(t.str, "[\"#]");
    assert_string_equal(t.flags, "");
    sd_lexer_token_free(&t);
}

static void test_regex_continues_lexing_after_it(void **state) {
    (void)state;
    const char *src = "/x/i and";
    lexer lx;
    lex_token t;
    sd_lexer_init(&lx, src, strlen(src));
    sd_lexer_next(&lx, &t);
    sd_lexer_rescan_regex(&lx, &t);
    assert_int_equal(t.kind, TOK_REGEX);
    sd_lexer_token_free(&t);
    sd_lexer_next(&lx, &t);
    assert_int_equal(t.kind, TOK_IDENT);
    assert_string_equal(t.str, "and");
    assert_int_equal(t.col, 6);
    sd_lexer_token_free(&t);
}

static void test_bad_regex_flags_and_unterminated_regex(void **state) {
    (void)state;
    lex_token t = regex("/abc/ig");
    assert_int_equal(t.kind, TOK_ERROR);
    assert_string_equal(t.str, "invalid regex flag 'g' (allowed: i, m, s, x)");
    assert_int_equal(t.err_col, 7);
    sd_lexer_token_free(&t);
    t = regex("/abc/ii");
    assert_int_equal(t.kind, TOK_ERROR);
    assert_string_equal(t.str, "duplicate regex flag 'i'");
    assert_int_equal(t.err_col, 7);
    sd_lexer_token_free(&t);
    t = regex("  /abc\n/");
    assert_int_equal(t.kind, TOK_ERROR);
    assert_string_equal(t.str, "unterminated regex");
    assert_int_equal(t.err_col, 3);
    sd_lexer_token_free(&t);
    t = regex("/ab\xFF/");
    assert_int_equal(t.kind, TOK_ERROR);
    assert_string_equal(t.str, "invalid UTF-8 byte 0xFF in regex");
    assert_int_equal(t.err_col, 4);
    sd_lexer_token_free(&t);
}

static void assert_path(const char *src, const char *text, uint32_t nsegs, bool star) {
    lex_token t = first(src);
    assert_int_equal(t.kind, TOK_PATH);
    assert_string_equal(t.path.text, text);
    assert_int_equal(t.path.nsegs, nsegs);
    assert_int_equal(t.path.has_star, star);
    sd_lexer_token_free(&t);
}

static void test_path_forms(void **state) {
    (void)state;
    assert_path(".eventName", ".eventName", 1, false);
    assert_path(".resources[0].ARN", ".resources[0].ARN", 3, false);
    assert_path(".resources[*].ARN", ".resources[*].ARN", 3, true);
    assert_path(".\"key with spaces\"", ".\"key with spaces\"", 1, false);
    assert_path(".requestParameters.\"bucket-name\"", ".requestParameters.\"bucket-name\"", 2, false);
    assert_path(".\"plain\"", ".plain", 1, false); /* canonical: identifier keys bare */
    assert_path(".a[1][2][*]", ".a[1][2][*]", 4, true);
    assert_path(".\"\\u00e9t\\u00e9\"", ".\"\xC3\xA9t\xC3\xA9\"", 1, false);
}

static void test_path_segments_hold_decoded_keys_and_indexes(void **state) {
    (void)state;
    lex_token t = first(".a.\"b c\"[7][*] == 1");
    assert_int_equal(t.kind, TOK_PATH);
    assert_int_equal(t.path.segs[0].kind, SEG_KEY);
    assert_string_equal(t.path.segs[0].key, "a");
    assert_string_equal(t.path.segs[1].key, "b c");
    assert_int_equal(t.path.segs[1].key_len, 3);
    assert_int_equal(t.path.segs[2].kind, SEG_INDEX);
    assert_int_equal(t.path.segs[2].index, 7);
    assert_int_equal(t.path.segs[3].kind, SEG_STAR);
    assert_int_equal(t.len, strlen(".a.\"b c\"[7][*]"));
    sd_lexer_token_free(&t);
}

static void test_bad_paths(void **state) {
    (void)state;
    assert_error_at(".a. == 1", 1, 4, "expected a field name after '.'");
    /* A lone `.` is a path (an any/all element: Part 2); two dots are not. */
    assert_error_at("..a", 1, 2, "expected a field name after '.'");
    assert_error_at(".a[x]", 1, 4, "expected an index or '*' after '[' in a field path");
    assert_error_at(".a[1", 1, 5, "expected ']' to close '[' at column 3");
    assert_error_at(".a[4294967296]", 1, 4, "array index too large");
    assert_error_at(".\"a\\u0000\"", 1, 4, "\\u0000 (NUL) is not allowed in a string");
}

static void test_space_ends_a_path(void **state) {
    (void)state;
    const char *src = ".a [0]";
    lexer lx;
    lex_token t;
    sd_lexer_init(&lx, src, strlen(src));
    sd_lexer_next(&lx, &t);
    assert_int_equal(t.kind, TOK_PATH);
    assert_int_equal(t.path.nsegs, 1);
    sd_lexer_token_free(&t);
    sd_lexer_next(&lx, &t);
    assert_int_equal(t.kind, TOK_LBRACKET);
}

static void test_hyphenated_name_is_lexed_on_request(void **state) {
    (void)state;
    const char *src = "cloudwatch-logs, x-";
    lexer lx;
    lex_token t;
    sd_lexer_init(&lx, src, strlen(src));
    sd_lexer_next(&lx, &t);
    assert_string_equal(t.str, "cloudwatch");
    sd_lexer_rescan_hyphen_name(&lx, &t);
    assert_int_equal(t.kind, TOK_IDENT);
    assert_string_equal(t.str, "cloudwatch-logs");
    assert_int_equal(t.col, 1);
    sd_lexer_token_free(&t);
    sd_lexer_next(&lx, &t);
    assert_int_equal(t.kind, TOK_COMMA);
    sd_lexer_next(&lx, &t);
    sd_lexer_rescan_hyphen_name(&lx, &t);
    assert_string_equal(t.str, "x"); /* a trailing '-' is not part of the name */
    sd_lexer_token_free(&t);
}

static void test_unexpected_characters(void **state) {
    (void)state;
    assert_error_at("  %", 1, 3, "unexpected character '%'"); /* '@' starts a common field (@ip) */
    assert_error_at("  ! b", 1, 3, "unexpected '!' (write '!=' or 'not')");
    assert_error_at("- x", 1, 1, "unexpected character '-'");
    assert_error_at("\xC3\xA9", 1, 1, "unexpected character '\xC3\xA9'");
}

static void test_nul_byte_in_source_is_an_error(void **state) {
    (void)state;
    const char src[] = {'a', ' ', 0, 'b'};
    lexer lx;
    lex_token t;
    sd_lexer_init(&lx, src, sizeof src);
    sd_lexer_next(&lx, &t);
    sd_lexer_token_free(&t);
    sd_lexer_next(&lx, &t);
    assert_int_equal(t.kind, TOK_ERROR);
    assert_string_equal(t.str, "unexpected control character U+0000");
    assert_int_equal(t.err_col, 3);
    sd_lexer_token_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_punctuation_and_identifiers_carry_line_and_column),
        cmocka_unit_test(test_empty_input_is_end_of_file_at_1_1),
        cmocka_unit_test(test_comment_runs_to_end_of_line),
        cmocka_unit_test(test_byte_order_mark_is_skipped_and_columns_start_after_it),
        cmocka_unit_test(test_string_json_escapes_decode),
        cmocka_unit_test(test_surrogate_pair_joins_to_one_utf8_character),
        cmocka_unit_test(test_invalid_escape_is_reported_at_its_backslash),
        cmocka_unit_test(test_lone_surrogates_are_errors),
        cmocka_unit_test(test_nul_escape_is_refused),
        cmocka_unit_test(test_raw_control_character_in_string_is_an_error_at_its_column),
        cmocka_unit_test(test_newline_or_end_inside_string_is_unterminated_at_the_quote),
        cmocka_unit_test(test_invalid_utf8_in_string_is_reported_at_the_byte),
        cmocka_unit_test(test_invalid_utf8_outside_strings_and_in_comments),
        cmocka_unit_test(test_lexing_resumes_after_a_bad_string),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_durations_are_stored_in_milliseconds),
        cmocka_unit_test(test_bad_durations),
        cmocka_unit_test(test_regex_is_lexed_on_request_with_flags),
        cmocka_unit_test(test_regex_continues_lexing_after_it),
        cmocka_unit_test(test_bad_regex_flags_and_unterminated_regex),
        cmocka_unit_test(test_path_forms),
        cmocka_unit_test(test_path_segments_hold_decoded_keys_and_indexes),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_space_ends_a_path),
        cmocka_unit_test(test_hyphenated_name_is_lexed_on_request),
        cmocka_unit_test(test_unexpected_characters),
        cmocka_unit_test(test_nul_byte_in_source_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
