/* test_template.c — output templates rendered as LANGUAGE.md "Output templates" says.
 *
 * The template parts are filled by hand (the compiler parses template text);
 * each test renders one template against one event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"

#define MAX_PATHS 8
#define MAX_PARTS 16

typedef struct tpl_fixture {
    program prog;
    vm_rule rule;
    sd_path paths[MAX_PATHS];
    uint32_t npaths;
    tpl_part parts[MAX_PARTS];
    sd_event ev;
    cJSON *event;
    buf out;
} tpl_fixture;

static const char *const EVENT =
    "{\"user\":\"alice\",\"n\":5,\"f\":1.25,\"z\":null,\"t\":true,\"no\":false,"
    "\"obj\":{\"a\":[1,\"x\"]},\"arr\":[1,2],\"res\":[{\"ARN\":\"a1\"},{\"ARN\":\"a2\"},{\"x\":1}],"
    "\"empty\":[],\"ip\":\"10.1.2.3\"}";

static void setup(tpl_fixture *f, const char *event_json) {
    memset(f, 0, sizeof *f);
    f->rule = (vm_rule){.name = "r1", .title = "Rule one", .sev = SECDET_SEVERITY_CRITICAL, .output = f->parts};
    f->prog.rules = &f->rule;
    f->prog.nrules = 1;
    f->prog.paths = f->paths;
    f->event = cJSON_Parse(event_json);
    assert_non_null(f->event);
    sd_buf_init(&f->out);
}

static void teardown(tpl_fixture *f) {
    sd_event_free(&f->ev);
    for (uint32_t i = 0; i < f->npaths; i++) sd_path_free(&f->paths[i]);
    cJSON_Delete(f->event);
    sd_buf_free(&f->out);
}

static void text(tpl_fixture *f, const char *s) {
    f->parts[f->rule.noutput++] = (tpl_part){.kind = TPL_TEXT, .text = (char *)s, .len = strlen(s)};
}

static void field(tpl_fixture *f, const char *path) {
    const char *err = NULL;
    assert_int_equal(sd_path_parse(path, strlen(path), &f->paths[f->npaths], &err), strlen(path));
    f->parts[f->rule.noutput++] = (tpl_part){.kind = TPL_PATH, .path = f->npaths++};
}

static void named(tpl_fixture *f, tpl_kind k) { f->parts[f->rule.noutput++] = (tpl_part){.kind = k}; }

/* Renders with a stateless spec (count 1, no keys) unless *spec is given. */
static const char *render(tpl_fixture *f, alert_spec *spec, size_t max) {
    f->prog.npaths = f->npaths;
    sd_event_free(&f->ev);
    assert_int_equal(sd_event_init(&f->ev, f->paths, f->npaths), 0);
    sd_event_begin(&f->ev, f->event);
    const cJSON *events[1] = {f->event};
    alert_spec s = {.prog = &f->prog, .rule = 0, .count = 1, .events = events, .nevents = 1};
    if (spec) s = *spec;
    s.ev = &f->ev;
    sd_buf_reset(&f->out);
    sd_template_render(&f->out, &s, max);
    assert_false(f->out.oom);
    return f->out.data ? f->out.data : "";
}

static void test_path_values_render_as_text(void **state) {
    (void)state;
    tpl_fixture f;
    setup(&f, EVENT);
    text(&f, "user ");
    field(&f, ".user");
    text(&f, " n=");
    field(&f, ".n");
    text(&f, " f=");
    field(&f, ".f");
    text(&f, " ");
    field(&f, ".z");
    text(&f, "/");
    field(&f, ".t");
    text(&f, "/");
    field(&f, ".no");
    assert_string_equal(render(&f, NULL, 0), "user alice n=5 f=1.25 null/true/false");
    teardown(&f);
}

static void test_missing_field_renders_dash(void **state) {
    (void)state;
    tpl_fixture f;
    setup(&f, EVENT);
    text(&f, "[");
    field(&f, ".nope.deeper");
    text(&f, "]");
    assert_string_equal(render(&f, NULL, 0), "[-]");
    teardown(&f);
}

static void test_objects_and_arrays_render_as_compact_json(void **state) {
    (void)state;
    tpl_fixture f;
    setup(&f, EVENT);
    field(&f, ".obj");
    text(&f, " ");
    field(&f, ".arr");
    assert_string_equal(render(&f, NULL, 0), "{\"a\":[1,\"x\"]} [1,2]");
    teardown(&f);
}

static void test_star_path_joins_values_and_renders_dash_when_empty(void **state) {
    (void)state;
    tpl_fixture f;
    setup(&f, EVENT);
    field(&f, ".res[*].ARN");
    text(&f, " | ");
    field(&f, ".empty[*]");
    assert_string_equal(render(&f, NULL, 0), "a1, a2 | -");
    teardown(&f);
}

static void test_named_substitutions_for_a_stateless_rule(void **state) {
    (void)state;
    tpl_fixture f;
    setup(&f, EVENT);
    named(&f, TPL_RULE);
    text(&f, " ");
    named(&f, TPL_TITLE);
    text(&f, " ");
    named(&f, TPL_SEVERITY);
    text(&f, " count=");
    named(&f, TPL_COUNT);
    text(&f, " distinct=");
    named(&f, TPL_DISTINCT);
    text(&f, " group=");
    named(&f, TPL_GROUP);
    assert_string_equal(render(&f, NULL, 0), "r1 Rule one critical count=1 distinct=- group=-");
    teardown(&f);
}

static void test_group_joins_key_values_and_count_distinct_show_numbers(void **state) {
    (void)state;
    tpl_fixture f;
    setup(&f, EVENT);
    named(&f, TPL_GROUP);
    text(&f, " ");
    named(&f, TPL_COUNT);
    text(&f, "/");
    named(&f, TPL_DISTINCT);
    rule_key keys[3] = {{.text = ".user"}, {.text = ".missing"}, {.text = ".n"}};
    sd_value v0 = {.type = SD_STR, .str = "alice", .len = 5}, v2 = {.type = SD_NUM, .num = 42};
    sd_values vals[3] = {{1, &v0}, {0, NULL}, {1, &v2}};
    const cJSON *events[1] = {f.event};
    alert_spec spec = {.prog = &f.prog,
                       .count = 12,
                       .has_distinct = true,
                       .distinct = 4,
                       .keys = keys,
                       .key_vals = vals,
                       .nkeys = 3,
                       .events = events,
                       .nevents = 1};
    assert_string_equal(render(&f, &spec, 0), "alice, -, 42 12/4");
    teardown(&f);
}

static void test_rule_without_template_renders_its_title(void **state) {
    (void)state;
    tpl_fixture f;
    setup(&f, EVENT);
    f.rule.output = NULL;
    assert_string_equal(render(&f, NULL, 0), "Rule one");
    f.rule.title = NULL; /* the title defaults to the name */
    assert_string_equal(render(&f, NULL, 0), "r1");
    teardown(&f);
}

static void test_long_message_is_cut_at_the_cap_with_an_ellipsis(void **state) {
    (void)state;
    /* 300 two-byte characters: a cut at an odd byte would split one */
    char json[1024] = "{\"s\":\"";
    for (int i = 0; i < 300; i++) strcat(json, "\xC3\xA9");
    strcat(json, "\"}");
    tpl_fixture f;
    setup(&f, json);
    text(&f, "x");
    field(&f, ".s");
    text(&f, "tail");
    const char *out = render(&f, NULL, 100);
    size_t n = strlen(out);
    assert_true(n <= 100);
    assert_true(n >= 90);
    assert_memory_equal(out + n - 3, "\xE2\x80\xA6", 3);
    /* everything before the ellipsis is whole characters: "x" then é's */
    assert_int_equal((n - 3 - 1) % 2, 0);
    assert_null(strstr(out, "tail"));
    teardown(&f);
}

static void test_message_at_the_cap_is_not_cut(void **state) {
    (void)state;
    tpl_fixture f;
    setup(&f, EVENT);
    text(&f, "0123456789");
    assert_string_equal(render(&f, NULL, 10), "0123456789");
    assert_string_equal(render(&f, NULL, 9), "012345\xE2\x80\xA6");
    teardown(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_values_render_as_text),
        cmocka_unit_test(test_missing_field_renders_dash),
        cmocka_unit_test(test_objects_and_arrays_render_as_compact_json),
        cmocka_unit_test(test_star_path_joins_values_and_renders_dash_when_empty),
        cmocka_unit_test(test_named_substitutions_for_a_stateless_rule),
        cmocka_unit_test(test_group_joins_key_values_and_count_distinct_show_numbers),
        cmocka_unit_test(test_rule_without_template_renders_its_title),
        cmocka_unit_test(test_long_message_is_cut_at_the_cap_with_an_ellipsis),
        cmocka_unit_test(test_message_at_the_cap_is_not_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
