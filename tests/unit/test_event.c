/* test_event.c — the event layer: arena, field cache, path resolution, values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "event/event.h"

/* Parses a test path such as ".a.b[0][*]" (identifier keys, quoted keys
 * without escapes) into an sd_path; the test owns it (sd_path_free). */
static sd_path make_path(const char *spec) {
    sd_path p;
    memset(&p, 0, sizeof p);
    p.segs = calloc(strlen(spec) + 1, sizeof *p.segs);
    assert_non_null(p.segs);
    const char *s = spec;
    while (*s) {
        path_seg *g = &p.segs[p.nsegs++];
        if (s[0] == '.' && s[1] == '"') {
            const char *e = strchr(s + 2, '"');
            assert_non_null(e);
            g->kind = SEG_KEY;
            g->key_len = (size_t)(e - (s + 2));
            g->key = strndup(s + 2, g->key_len);
            s = e + 1;
        } else if (s[0] == '.') {
            size_t n = strcspn(s + 1, ".[");
            g->kind = SEG_KEY;
            g->key = strndup(s + 1, n);
            g->key_len = n;
            s += 1 + n;
        } else if (s[0] == '[' && s[1] == '*') {
            g->kind = SEG_STAR;
            p.has_star = true;
            s += 3;
        } else if (s[0] == '[') {
            g->kind = SEG_INDEX;
            g->index = (uint32_t)strtoul(s + 1, NULL, 10);
            s = strchr(s, ']') + 1;
        } else {
            fail_msg("bad test path %s", spec);
        }
    }
    p.text = strdup(spec);
    return p;
}

/* ---- arena ---- */

static void test_arena_allocations_are_8_aligned_and_distinct(void **state) {
    (void)state;
    sd_arena a;
    sd_arena_init(&a);
    char *prev = NULL;
    for (int i = 1; i < 200; i++) {
        char *p = sd_arena_alloc(&a, (size_t)(i % 13) + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 8, 0);
        memset(p, 0xAB, (size_t)(i % 13) + 1);
        if (prev) assert_ptr_not_equal(p, prev);
        prev = p;
    }
    sd_arena_free(&a);
}

static void test_arena_large_allocation_and_reset_reuses_memory(void **state) {
    (void)state;
    sd_arena a;
    sd_arena_init(&a);
    char *small = sd_arena_alloc(&a, 16);
    assert_non_null(small);
    char *big = sd_arena_alloc(&a, 100000);
    assert_non_null(big);
    memset(big, 1, 100000);
    sd_arena_reset(&a);
    /* After a reset one block holds at least what the last event used. */
    assert_ptr_equal(a.head, a.cur);
    char *again = sd_arena_alloc(&a, 100000);
    assert_non_null(again);
    assert_ptr_equal(a.head, a.cur);
    memset(again, 2, 100000);
    sd_arena_reset(&a);
    sd_arena_reset(&a);
    assert_non_null(sd_arena_alloc(&a, 8));
    sd_arena_free(&a);
    sd_arena_reset(&a); /* reset of an empty arena is fine */
    sd_arena_free(&a);
}

/* ---- path resolution ---- */

typedef struct fixture {
    sd_path paths[16];
    uint32_t npaths;
    sd_event ev;
    cJSON *root;
} fixture;

static uint32_t fx_path(fixture *f, const char *spec) {
    f->paths[f->npaths] = make_path(spec);
    return f->npaths++;
}

static void fx_start(fixture *f, const char *json) {
    assert_int_equal(sd_event_init(&f->ev, f->paths, f->npaths), 0);
    f->root = cJSON_Parse(json);
    assert_non_null(f->root);
    sd_event_begin(&f->ev, f->root);
}

static void fx_end(fixture *f) {
    sd_event_free(&f->ev);
    cJSON_Delete(f->root);
    for (uint32_t i = 0; i < f->npaths; i++) sd_path_free(&f->paths[i]);
}

static const char *EV = "{\"eventName\":\"ConsoleLogin\",\"EventName\":\"upper\","
                        "\"user\":{\"arn\":\"arn:aws:iam::1:user/bob\",\"mfa\":null,\"n\":3},"
                        "\"resources\":[{\"ARN\":\"r1\"},{\"ARN\":\"r2\"},{\"x\":1}],"
                        "\"tags\":[\"a\",\"b\"],\"key with spaces\":true,\"empty\":[],"
                        "\"m\":[[1,2],[3]]}";

static void test_key_lookup_is_case_sensitive(void **state) {
    (void)state;
    fixture f = {0};
    uint32_t lower = fx_path(&f, ".eventName"), upper = fx_path(&f, ".EventName"), none = fx_path(&f, ".eventname");
    fx_start(&f, EV);
    const sd_values *v = sd_event_field(&f.ev, lower);
    assert_int_equal(v->n, 1);
    assert_int_equal(v->v[0].type, SD_STR);
    assert_int_equal(v->v[0].len, strlen("ConsoleLogin"));
    assert_memory_equal(v->v[0].str, "ConsoleLogin", v->v[0].len);
    v = sd_event_field(&f.ev, upper);
    assert_int_equal(v->n, 1);
    assert_memory_equal(v->v[0].str, "upper", 5);
    assert_int_equal(sd_event_field(&f.ev, none)->n, 0);
    fx_end(&f);
}

static void test_nested_keys_indexes_and_quoted_keys_resolve(void **state) {
    (void)state;
    fixture f = {0};
    uint32_t arn = fx_path(&f, ".user.arn"), r1 = fx_path(&f, ".resources[1].ARN"),
             q = fx_path(&f, ".\"key with spaces\""), oob = fx_path(&f, ".resources[7].ARN");
    fx_start(&f, EV);
    const sd_values *v = sd_event_field(&f.ev, arn);
    assert_int_equal(v->n, 1);
    assert_memory_equal(v->v[0].str, "arn:aws:iam::1:user/bob", v->v[0].len);
    v = sd_event_field(&f.ev, r1);
    assert_int_equal(v->n, 1);
    assert_memory_equal(v->v[0].str, "r2", 2);
    v = sd_event_field(&f.ev, q);
    assert_int_equal(v->n, 1);
    assert_int_equal(v->v[0].type, SD_BOOL);
    assert_int_equal(v->v[0].b, 1);
    assert_int_equal(sd_event_field(&f.ev, oob)->n, 0);
    fx_end(&f);
}

static void test_path_through_scalar_or_wrong_container_is_missing(void **state) {
    (void)state;
    fixture f = {0};
    uint32_t through_str = fx_path(&f, ".eventName.x"), key_on_array = fx_path(&f, ".tags.a"),
             index_on_object = fx_path(&f, ".user[0]"), through_null = fx_path(&f, ".user.mfa.x");
    fx_start(&f, EV);
    assert_int_equal(sd_event_field(&f.ev, through_str)->n, 0);
    assert_int_equal(sd_event_field(&f.ev, key_on_array)->n, 0);
    assert_int_equal(sd_event_field(&f.ev, index_on_object)->n, 0);
    assert_int_equal(sd_event_field(&f.ev, through_null)->n, 0);
    fx_end(&f);
}

static void test_json_null_is_a_present_value(void **state) {
    (void)state;
    fixture f = {0};
    uint32_t mfa = fx_path(&f, ".user.mfa");
    fx_start(&f, EV);
    const sd_values *v = sd_event_field(&f.ev, mfa);
    assert_int_equal(v->n, 1);
    assert_int_equal(v->v[0].type, SD_NULL);
    fx_end(&f);
}

static void test_star_selects_every_element_and_skips_missing(void **state) {
    (void)state;
    fixture f = {0};
    uint32_t arns = fx_path(&f, ".resources[*].ARN"), tags = fx_path(&f, ".tags[*]"), nested = fx_path(&f, ".m[*][*]"),
             empty = fx_path(&f, ".empty[*]"), on_object = fx_path(&f, ".user[*]"),
             on_missing = fx_path(&f, ".nope[*].x");
    fx_start(&f, EV);
    const sd_values *v = sd_event_field(&f.ev, arns);
    assert_int_equal(v->n, 2); /* the third element has no ARN */
    assert_memory_equal(v->v[0].str, "r1", 2);
    assert_memory_equal(v->v[1].str, "r2", 2);
    v = sd_event_field(&f.ev, tags);
    assert_int_equal(v->n, 2);
    v = sd_event_field(&f.ev, nested);
    assert_int_equal(v->n, 3);
    assert_true(v->v[0].num == 1 && v->v[1].num == 2 && v->v[2].num == 3);
    assert_int_equal(sd_event_field(&f.ev, empty)->n, 0);
    assert_int_equal(sd_event_field(&f.ev, on_object)->n, 0);
    assert_int_equal(sd_event_field(&f.ev, on_missing)->n, 0);
    fx_end(&f);
}

static void test_field_cache_resolves_once_per_event_and_resets(void **state) {
    (void)state;
    fixture f = {0};
    uint32_t name = fx_path(&f, ".eventName");
    fx_start(&f, EV);
    const sd_values *a = sd_event_field(&f.ev, name);
    const sd_value *first = a->v;
    const sd_values *b = sd_event_field(&f.ev, name);
    assert_ptr_equal(a, b);
    assert_ptr_equal(first, b->v);
    cJSON *other = cJSON_Parse("{\"eventName\":\"Other\"}");
    sd_event_begin(&f.ev, other);
    const sd_values *c = sd_event_field(&f.ev, name);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->v[0].len, 5);
    assert_memory_equal(c->v[0].str, "Other", 5);
    cJSON *none = cJSON_Parse("{}");
    sd_event_begin(&f.ev, none);
    assert_int_equal(sd_event_field(&f.ev, name)->n, 0);
    cJSON_Delete(other);
    cJSON_Delete(none);
    fx_end(&f);
}

static void test_unknown_path_id_is_missing_not_a_crash(void **state) {
    (void)state;
    fixture f = {0};
    fx_path(&f, ".eventName");
    fx_start(&f, EV);
    const sd_values *v = sd_event_field(&f.ev, 99);
    assert_non_null(v);
    assert_int_equal(v->n, 0);
    fx_end(&f);
}

static void test_path_resolve_is_uncached_with_same_semantics(void **state) {
    (void)state;
    cJSON *root = cJSON_Parse(EV);
    sd_arena a;
    sd_arena_init(&a);
    sd_path p = make_path(".resources[*].ARN");
    sd_values out;
    sd_value one;
    sd_path_resolve(&p, root, &a, &out, &one);
    assert_int_equal(out.n, 2);
    sd_path_free(&p);
    p = make_path(".user.n");
    sd_path_resolve(&p, root, &a, &out, &one);
    assert_int_equal(out.n, 1);
    assert_ptr_equal(out.v, &one);
    assert_true(one.type == SD_NUM && one.num == 3);
    sd_path_free(&p);
    sd_arena_free(&a);
    cJSON_Delete(root);
}

static void test_value_from_json_covers_every_type(void **state) {
    (void)state;
    cJSON *root = cJSON_Parse("{\"s\":\"h\\u00e9\",\"n\":-1.5,\"t\":true,\"f\":false,\"z\":null,"
                              "\"a\":[1,2,3],\"o\":{\"x\":1,\"y\":2}}");
    sd_value v;
    sd_value_from_json(cJSON_GetObjectItem(root, "s"), &v);
    assert_int_equal(v.type, SD_STR);
    assert_int_equal(v.len, 3); /* bytes: h + two for é */
    sd_value_from_json(cJSON_GetObjectItem(root, "n"), &v);
    assert_true(v.type == SD_NUM && v.num == -1.5);
    sd_value_from_json(cJSON_GetObjectItem(root, "t"), &v);
    assert_true(v.type == SD_BOOL && v.b == 1);
    sd_value_from_json(cJSON_GetObjectItem(root, "f"), &v);
    assert_true(v.type == SD_BOOL && v.b == 0);
    sd_value_from_json(cJSON_GetObjectItem(root, "z"), &v);
    assert_int_equal(v.type, SD_NULL);
    sd_value_from_json(cJSON_GetObjectItem(root, "a"), &v);
    assert_true(v.type == SD_ARR && v.len == 3 && v.node != NULL);
    sd_value_from_json(cJSON_GetObjectItem(root, "o"), &v);
    assert_true(v.type == SD_OBJ && v.len == 2);
    cJSON_Delete(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_allocations_are_8_aligned_and_distinct),
        cmocka_unit_test(test_arena_large_allocation_and_reset_reuses_memory),
        cmocka_unit_test(test_key_lookup_is_case_sensitive),
        cmocka_unit_test(test_nested_keys_indexes_and_quoted_keys_resolve),
        cmocka_unit_test(test_path_through_scalar_or_wrong_container_is_missing),
        cmocka_unit_test(test_json_null_is_a_present_value),
        cmocka_unit_test(test_star_selects_every_element_and_skips_missing),
        cmocka_unit_test(test_field_cache_resolves_once_per_event_and_resets),
        cmocka_unit_test(test_unknown_path_id_is_missing_not_a_crash),
        cmocka_unit_test(test_path_resolve_is_uncached_with_same_semantics),
        cmocka_unit_test(test_value_from_json_covers_every_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
