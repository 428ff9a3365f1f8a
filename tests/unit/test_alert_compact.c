/* test_alert_compact.c — the alert copies an event's text when it is already
 * compact (alert/alert_text.c), and only then.
 *
 * The oracle is the tree: for every text the scanner accepts, what the
 * alert carries (sd_alert_json_from_text) must be byte for byte what
 * sd_alert_json_write makes of sd_json_parse's tree; and where
 * sd_alert_text_compact says "copy", the text itself must be exactly that.
 * Each case also says which answer it expects, so a check that answered
 * "copy" too often (or never) fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "alert/alert.h"
#include "event/event.h"
#include "util/buf.h"
#include "util/json.h"

static void check_one(const char *text, size_t len, bool want_compact) {
    sd_path p;
    const char *err = NULL;
    assert_int_equal(sd_path_parse(".a", 2, &p, &err), 2);
    sd_event ev;
    assert_int_equal(sd_event_init(&ev, &p, 1), 0);
    assert_int_equal(sd_event_scan_setup(&ev, NULL, 0, 1), 0);
    if (sd_event_begin_text(&ev, text, len, 0) != 0) fail_msg("the scanner refused %.*s", (int)len, text);
    cJSON *root = sd_json_parse(text, len, 0, NULL);
    assert_non_null(root);
    buf tree, got;
    sd_buf_init(&tree);
    sd_buf_init(&got);
    sd_alert_json_write(&tree, root);
    assert_int_equal(sd_alert_json_from_text(&got, text, len), 0);
    if (got.len != tree.len || memcmp(got.data, tree.data, tree.len) != 0)
        fail_msg("alert JSON differs from the tree's:\n%s\n%s", got.data, tree.data);
    bool compact = sd_alert_text_compact(text, len);
    if (compact != want_compact) fail_msg("compact %d, expected %d: %.*s", compact, want_compact, (int)len, text);
    if (compact && (tree.len != len || memcmp(tree.data, text, len) != 0))
        fail_msg("called compact but written otherwise:\n%.*s\n%s", (int)len, text, tree.data);
    sd_buf_free(&tree);
    sd_buf_free(&got);
    cJSON_Delete(root);
    sd_event_free(&ev);
    sd_path_free(&p);
}

static void check(const char *text, bool want_compact) { check_one(text, strlen(text), want_compact); }

static void test_compact_lines_are_copied(void **state) {
    (void)state;
    check("{}", true);
    check("{\"a\":1,\"b\":[true,false,null,-12,0],\"c\":{\"d\":\"x\"}}", true);
    check("{\"a\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"}", true);          /* valid UTF-8 */
    check("{\"a\":\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\"}", true);                     /* escapes written the same */
    check("{\"a\":123456789012345,\"b\":-123456789012345}", true);                 /* 15 digits */
    check("{\"long\":\"0123456789abcdef0123456789abcdef0123456789\\\"x\"}", true); /* escape past a block */
}

static void test_texts_the_rewrite_changes_are_not_copied(void **state) {
    (void)state;
    check("{ \"a\":1}", false);
    check("{\"a\":1}\n", false);
    check("\xEF\xBB\xBF{\"a\":1}", false);
    check("{\"a\":\"\\/\"}", false);
    check("{\"a\":\"\\u0041\"}", false);
    check("{\"a\":\"\\u001f\"}", false);
    check("{\"a\":\"\\ud83d\\ude00\"}", false);
    check("{\"a\":1.5}", false);
    check("{\"a\":1e3}", false);
    check("{\"a\":-0}", false);
    check("{\"a\":1234567890123456}", false); /* 16 digits */
    check("{\"a\":\"\xC3\"}", false);         /* cut UTF-8 */
    check("{\"a\":\"\xED\xA0\x80\"}", false); /* a surrogate */
    check("{\"a\":\"\xC0\xAF\"}", false);     /* overlong */
    check("{\"a\":\"0123456789abcdef0123456789\xFF\"}", false);
}

/* The non-ASCII byte or the escape at every offset across the 16-byte blocks. */
static void test_every_offset_across_block_edges(void **state) {
    (void)state;
    char text[128];
    for (int k = 0; k < 40; k++) {
        static const char *const inserts[] = {"\xC3\xA9", "\\\"", "\\u0041", "\xFF", " "};
        static const bool compact[] = {true, true, false, false, false};
        for (size_t w = 0; w < sizeof inserts / sizeof inserts[0]; w++) {
            int n;
            if (w == 4)
                n = snprintf(text, sizeof text, "{\"a\":\"%.*s\",%s\"b\":1}", k,
                             "0123456789012345678901234567890123456789", inserts[w]);
            else
                n = snprintf(text, sizeof text, "{\"a\":\"%.*s%sz\"}", k, "0123456789012345678901234567890123456789",
                             inserts[w]);
            check_one(text, (size_t)n, compact[w]);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_lines_are_copied),
        cmocka_unit_test(test_texts_the_rewrite_changes_are_not_copied),
        cmocka_unit_test(test_every_offset_across_block_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
