/* test_framer.c — lines and octet counting (src/io/framer.c) as the stream
 * inputs use them, without sockets: the limits at their exact edges, what
 * breaks a stream, and that chunking never changes the result (the fuzz
 * target fuzz_framing checks that on any bytes; here on the cases that
 * matter, at every split point). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/framer.h"

/* Everything out of a framer, as text: "[msg]" per message, "!O" "!B" "!P"
 * per problem (oversized, bad count, partial). */
typedef struct got {
    buf text;
} got;

static void on_message(void *user, const char *p, size_t n) {
    got *g = user;
    sd_buf_putc(&g->text, '[');
    sd_buf_append(&g->text, p, n);
    sd_buf_putc(&g->text, ']');
}

static void on_problem(void *user, framer_problem what, const char *text) {
    got *g = user;
    assert_non_null(text);
    sd_buf_puts(&g->text, what == FRAMER_OVERSIZED ? "!O" : what == FRAMER_BAD_COUNT ? "!B" : "!P");
}

static const framer_out out = {on_message, on_problem};

/* Frames `in` fed in two parts split at `at` (at = len: one feed), ended. */
static char *frame_split(secdet_framing mode, size_t max, const char *in, size_t at) {
    got g;
    sd_buf_init(&g.text);
    framer f;
    sd_framer_init(&f, mode, max, &out, &g);
    size_t len = strlen(in);
    sd_framer_feed(&f, in, at);
    sd_framer_feed(&f, in + at, len - at);
    sd_framer_end(&f);
    sd_framer_free(&f);
    sd_buf_putc(&g.text, 0); /* "" when nothing came out */
    return sd_buf_steal(&g.text);
}

/* Frames `in` and checks every split point gives `want`. */
static void expect(secdet_framing mode, size_t max, const char *in, const char *want) {
    for (size_t at = 0; at <= strlen(in); at++) {
        char *s = frame_split(mode, max, in, at);
        if (strcmp(s, want) != 0) fail_msg("split at %zu of \"%s\": got \"%s\", want \"%s\"", at, in, s, want);
        free(s);
    }
}

#define LINES  SECDET_FRAMING_LINES
#define OCTETS SECDET_FRAMING_OCTET_COUNTED

static void test_a_line_of_exactly_max_bytes_passes_and_one_more_is_oversized(void **state) {
    (void)state;
    expect(LINES, 8, "12345678\n", "[12345678]");
    expect(LINES, 8, "12345678\r\n", "[12345678]"); /* the '\r' is not counted */
    expect(LINES, 8, "123456789\n", "!O");          /* max + 1 bytes, no '\r' to take off */
    expect(LINES, 8, "123456789\r\n", "!O");
    expect(LINES, 8, "123456789\nok\n", "!O[ok]"); /* the next line is not affected */
    expect(LINES, 8, "123456789", "!O");           /* at the end of the stream too */
}

static void test_lines_skip_blanks_and_end_with_a_last_line_without_newline(void **state) {
    (void)state;
    expect(LINES, 100, "a\n\n \t\r\n\r\nb\r\nlast", "[a][b][last]");
    expect(LINES, 100, "x\r\r\n", "[x\r]"); /* one '\r' belongs to the line end */
    expect(LINES, 3, "a very long line indeed\nabc\n", "!O[abc]");
}

static void test_octet_counted_frames_with_newlines_between_and_empty_frames(void **state) {
    (void)state;
    expect(OCTETS, 100, "5 hello3 abc", "[hello][abc]");
    expect(OCTETS, 100, "\n5 he\nlo\r\n0 2 \n\n", "[he\nlo][\n\n]");
    expect(OCTETS, 100, "0005 hello", "[hello]");
}

static void test_an_oversized_frame_is_skipped_and_the_next_one_read(void **state) {
    (void)state;
    expect(OCTETS, 4, "5 hello4 abcd", "!O[abcd]");
    expect(OCTETS, 4, "5 hel", "!O!P"); /* ended inside the skipped frame */
}

static void test_a_bad_count_breaks_the_stream_for_good(void **state) {
    (void)state;
    expect(OCTETS, 100, "3 abc12x 3 def", "[abc]!B");
    expect(OCTETS, 100, " 3 abc", "!B");                 /* a space before any digit */
    expect(OCTETS, 100, "99999999999999999999 x", "!B"); /* a 20th digit */
    expect(OCTETS, 100, "3 abc3 de", "[abc]!P");
    expect(OCTETS, 100, "3 abc12", "[abc]!P");

    got g;
    sd_buf_init(&g.text);
    framer f;
    sd_framer_init(&f, OCTETS, 100, &out, &g);
    assert_true(sd_framer_feed(&f, "1 a", 3));
    assert_false(sd_framer_feed(&f, "x", 1));
    assert_false(sd_framer_feed(&f, "1 b", 3)); /* nothing more comes out */
    sd_framer_end(&f);                          /* and no partial reported on top */
    sd_framer_free(&f);
    sd_buf_putc(&g.text, 0);
    assert_string_equal(g.text.data, "[a]!B");
    sd_buf_free(&g.text);
}

static void test_partial_reports_what_is_held(void **state) {
    (void)state;
    got g;
    sd_buf_init(&g.text);
    framer f;
    sd_framer_init(&f, LINES, 100, &out, &g);
    assert_false(sd_framer_holds_partial(&f));
    sd_framer_feed(&f, "abc", 3);
    assert_true(sd_framer_holds_partial(&f));
    sd_framer_feed(&f, "\n", 1);
    assert_false(sd_framer_holds_partial(&f));
    sd_framer_free(&f);
    sd_framer_init(&f, OCTETS, 100, &out, &g);
    sd_framer_feed(&f, "12", 2);
    assert_true(sd_framer_holds_partial(&f));
    sd_framer_free(&f);
    sd_buf_free(&g.text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_line_of_exactly_max_bytes_passes_and_one_more_is_oversized),
        cmocka_unit_test(test_lines_skip_blanks_and_end_with_a_last_line_without_newline),
        cmocka_unit_test(test_octet_counted_frames_with_newlines_between_and_empty_frames),
        cmocka_unit_test(test_an_oversized_frame_is_skipped_and_the_next_one_read),
        cmocka_unit_test(test_a_bad_count_breaks_the_stream_for_good),
        cmocka_unit_test(test_partial_reports_what_is_held),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
