/* test_correlate.c — aggregation rules end to end through the public API:
 * count, distinct, sequence and throttle over event time, lateness and the
 * reorder buffer. Every stream is built by hand with explicit event times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_correlate_util.h"

/* ---- count ---------------------------------------------------------------------- */

static void test_count_events_exactly_dur_apart_share_a_span(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(COUNT2, &c, 0);
    push_at(e, 0, "\"k\":1,\"ip\":\"a\",\"n\":1");
    push_at(e, 10000, "\"k\":1,\"ip\":\"a\",\"n\":2");
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal((int)num_field(&c, 0, "count"), 2);
    assert_str_field(&c, 0, "first_seen", "2024-01-01T00:00:00Z");
    assert_str_field(&c, 0, "last_seen", "2024-01-01T00:00:10Z");
    assert_str_field(&c, 0, "time", "2024-01-01T00:00:10Z");
    assert_str_field(&c, 0, "message", "2 from a: 2");
    assert_sample_ns(&c, 0, "1,2");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_count_events_dur_plus_1ms_apart_do_not(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(COUNT2, &c, 0);
    push_at(e, 0, "\"k\":1,\"ip\":\"a\"");
    push_at(e, 10001, "\"k\":1,\"ip\":\"a\"");
    secdet_flush(e);
    assert_int_equal(c.n, 0);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_count_greater_than_n_needs_n_plus_one(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule c { where .k == 1\n count > 2 within 1m }\n", &c, 0);
    push_at(e, 0, "\"k\":1");
    push_at(e, 1000, "\"k\":1");
    assert_int_equal(c.n, 0);
    push_at(e, 2000, "\"k\":1");
    assert_int_equal(c.n, 1);
    assert_int_equal((int)num_field(&c, 0, "count"), 3);
    cJSON *j = alert_obj(&c, 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "group")->child); /* {} without by */
    cJSON_Delete(j);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_count_group_starts_from_zero_after_firing(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(COUNT2, &c, 0);
    for (int i = 0; i < 5; i++) push_at(e, i * 1000, "\"k\":1,\"ip\":\"a\"");
    secdet_flush(e);
    /* 0+1 fire, 2+3 fire, 4 alone waits */
    assert_int_equal(c.n, 2);
    assert_str_field(&c, 1, "first_seen", "2024-01-01T00:00:02Z");
    assert_int_equal((int)num_field(&c, 1, "count"), 2);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_count_groups_by_key_and_missing_key_is_its_own_group(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(COUNT2, &c, 0);
    push_at(e, 0, "\"k\":1,\"ip\":\"a\"");
    push_at(e, 1, "\"k\":1,\"ip\":\"b\"");
    push_at(e, 2, "\"k\":1");
    assert_int_equal(c.n, 0);
    push_at(e, 3, "\"k\":1");
    assert_int_equal(c.n, 1);
    cJSON *j = alert_obj(&c, 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "group"), ".ip")));
    cJSON_Delete(j);
    assert_str_field(&c, 0, "message", "2 from -: -"); /* a missing value renders as - */
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_count_samples_are_capped_and_end_with_the_firing_event(void **state) {
    (void)state;
    collected c;
    setup s = {.lateness_ms = 0, .max_samples = 2};
    secdet_engine *e = engine_with_opts("rule c { where .k == 1\n count >= 4 within 1m }\n", &c, &s);
    for (int i = 1; i <= 4; i++) {
        char f[64];
        snprintf(f, sizeof f, "\"k\":1,\"n\":%d", i);
        push_at(e, i, f);
    }
    assert_int_equal(c.n, 1);
    assert_int_equal((int)num_field(&c, 0, "count"), 4);
    assert_sample_ns(&c, 0, "3,4");
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- distinct ------------------------------------------------------------------------ */

static void test_distinct_counts_null_ignores_missing_and_repeats(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule d { where .k == 1\n distinct .user >= 3 within 1m by .ip\n"
                                   " output \"{distinct} users, {count} events\" }\n",
                                   &c, 0);
    push_at(e, 0, "\"k\":1,\"ip\":\"x\",\"user\":\"a\"");
    push_at(e, 1, "\"k\":1,\"ip\":\"x\",\"user\":null");
    push_at(e, 2, "\"k\":1,\"ip\":\"x\"");                /* missing: ignored */
    push_at(e, 3, "\"k\":1,\"ip\":\"x\",\"user\":\"a\""); /* repeat */
    push_at(e, 4, "\"k\":1,\"ip\":\"y\",\"user\":\"b\""); /* other group */
    assert_int_equal(c.n, 0);
    push_at(e, 5, "\"k\":1,\"ip\":\"x\",\"user\":\"b\"");
    assert_int_equal(c.n, 1);
    assert_int_equal((int)num_field(&c, 0, "distinct"), 3);
    assert_int_equal((int)num_field(&c, 0, "count"), 4);
    assert_str_field(&c, 0, "message", "3 users, 4 events");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_distinct_counts_every_value_of_a_star_path(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule d { where .k == 1\n distinct .u[*] >= 3 within 1m }\n", &c, 0);
    push_at(e, 0, "\"k\":1,\"u\":[\"a\",\"a\",\"b\"]");
    assert_int_equal(c.n, 0);
    push_at(e, 1, "\"k\":1,\"u\":[]"); /* selects nothing: ignored */
    push_at(e, 2, "\"k\":1,\"u\":[\"b\",\"c\"]");
    assert_int_equal(c.n, 1);
    assert_int_equal((int)num_field(&c, 0, "distinct"), 3);
    assert_int_equal((int)num_field(&c, 0, "count"), 2);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_distinct_values_leave_the_window(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule d { where .k == 1\n distinct .u >= 2 within 10s }\n", &c, 0);
    push_at(e, 0, "\"k\":1,\"u\":\"a\"");
    push_at(e, 10001, "\"k\":1,\"u\":\"b\""); /* a has left */
    assert_int_equal(c.n, 0);
    push_at(e, 20001, "\"k\":1,\"u\":\"c\""); /* b at exactly DUR before: shares the span */
    assert_int_equal(c.n, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- sequence -------------------------------------------------------------------------- */

static const char SEQ2[] = "rule s { sequence within 10s by .user { a: .step == \"a\"; b: .step == \"b\" }\n"
                           " output \"{count} steps by {group}\" }\n";

static void test_sequence_in_order_fires(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(SEQ2, &c, 0);
    push_at(e, 0, "\"step\":\"a\",\"user\":\"u\",\"n\":1");
    push_at(e, 1000, "\"step\":\"b\",\"user\":\"v\",\"n\":2"); /* other group */
    push_at(e, 2000, "\"step\":\"b\",\"user\":\"u\",\"n\":3");
    assert_int_equal(c.n, 1);
    assert_int_equal((int)num_field(&c, 0, "count"), 2);
    assert_str_field(&c, 0, "message", "2 steps by u");
    assert_str_field(&c, 0, "first_seen", "2024-01-01T00:00:00Z");
    assert_sample_ns(&c, 0, "1,3");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_sequence_in_the_wrong_order_does_not_fire(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(SEQ2, &c, 0);
    push_at(e, 0, "\"step\":\"b\",\"user\":\"u\"");
    push_at(e, 1000, "\"step\":\"a\",\"user\":\"u\"");
    secdet_flush(e);
    assert_int_equal(c.n, 0);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_sequence_out_of_order_within_lateness_fires(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(SEQ2, &c, 60000);
    push_at(e, 5000, "\"step\":\"b\",\"user\":\"u\"");
    push_at(e, 1000, "\"step\":\"a\",\"user\":\"u\""); /* arrives after, happened before */
    assert_int_equal(c.n, 0);                          /* held for ordering */
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(STAT(e, late), 0);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_sequence_step_beyond_lateness_is_late_and_not_counted(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule s { sequence within 1h by .user { a: .step == \"a\"; b: .step == \"b\" } }\n"
                                   "rule plain { where .step == \"a\" }\n",
                                   &c, 1000);
    push_at(e, 5000, "\"step\":\"b\",\"user\":\"u\"");
    push_at(e, 10000, "\"other\":1");
    push_at(e, 1000, "\"step\":\"a\",\"user\":\"u\""); /* 9 s behind the newest, lateness 1 s */
    assert_int_equal(STAT(e, late), 1);
    assert_int_equal(c.n, 1); /* the stateless rule still fires */
    assert_str_field(&c, 0, "rule", "plain");
    push_at(e, 20000, "\"step\":\"b\",\"user\":\"u\"");
    secdet_flush(e);
    assert_int_equal(c.n, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_sequence_may_finish_exactly_dur_after_its_first_step(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(SEQ2, &c, 0);
    push_at(e, 0, "\"step\":\"a\",\"user\":\"u\"");
    push_at(e, 10000, "\"step\":\"b\",\"user\":\"u\"");
    assert_int_equal(c.n, 1);
    push_at(e, 100000, "\"step\":\"a\",\"user\":\"u\"");
    push_at(e, 110001, "\"step\":\"b\",\"user\":\"u\"");
    assert_int_equal(c.n, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_one_event_advances_several_partial_sequences(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule s { sequence within 1m { w: .w == 1; x: .x == 1; y: .y == 1; z: .z == 1 } }\n"
                                   "rule s2 { sequence within 1m { x: .x == 1; y: .y == 1 } }\n",
                                   &c, 0);
    push_at(e, 0, "\"n\":1,\"w\":1");
    push_at(e, 1000, "\"n\":2,\"w\":1,\"x\":1"); /* A: w,x; B starts: w */
    push_at(e, 2000, "\"n\":3,\"x\":1,\"y\":1"); /* A: w,x,y and B: w,x; s2 fires (2 then 3) */
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "rule", "s2");
    assert_sample_ns(&c, 0, "2,3");
    push_at(e, 3000, "\"n\":4,\"y\":1"); /* B: w,x,y dominates A (later start) */
    push_at(e, 4000, "\"n\":5,\"z\":1");
    assert_int_equal(c.n, 2);
    assert_str_field(&c, 1, "rule", "s");
    assert_sample_ns(&c, 1, "2,3,4,5");
    assert_str_field(&c, 1, "first_seen", "2024-01-01T00:00:01Z");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_one_event_never_fills_two_steps_of_one_partial(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule s { sequence within 1m { a: .a == 1; b: .b == 1; c: .c == 1 } }\n", &c, 0);
    push_at(e, 0, "\"a\":1,\"b\":1");
    push_at(e, 1000, "\"c\":1");
    assert_int_equal(c.n, 0);
    push_at(e, 2000, "\"b\":1,\"c\":1");
    assert_int_equal(c.n, 0);
    push_at(e, 3000, "\"c\":1");
    assert_int_equal(c.n, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_completing_event_does_not_start_a_new_sequence(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(SEQ2, &c, 0);
    push_at(e, 0, "\"step\":\"a\",\"user\":\"u\"");
    push_at(e, 1000, "\"step\":[\"a\",\"b\"],\"user\":\"u\""); /* satisfies both steps */
    assert_int_equal(c.n, 0);                                  /* [..] == "a" is false: a scalar compare on an array */
    collected_free(&c);
    secdet_engine_free(e);

    e = engine_with("rule s { sequence within 10s { a: .a == 1; b: .b == 1 } }\n", &c, 0);
    push_at(e, 0, "\"a\":1");
    push_at(e, 1000, "\"a\":1,\"b\":1"); /* completes; must not start another */
    assert_int_equal(c.n, 1);
    push_at(e, 2000, "\"b\":1");
    assert_int_equal(c.n, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_sequence_steps_may_name_other_rules(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule recon { where .eventName == \"ListUsers\"\n private }\n"
                                   "rule esc { where .eventName == \"AttachUserPolicy\"\n private }\n"
                                   "rule s { sequence within 1h by .user { r: recon; e: esc } }\n",
                                   &c, 0);
    push_at(e, 0, "\"eventName\":\"ListUsers\",\"user\":\"m\"");
    push_at(e, 1000, "\"eventName\":\"AttachUserPolicy\",\"user\":\"m\"");
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "rule", "s");
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- throttle ---------------------------------------------------------------------------- */

static void test_throttle_suppresses_through_t_plus_dur_and_counts(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule r { where .k == 1\n throttle 10s by .ip }\n", &c, 0);
    push_at(e, 0, "\"k\":1,\"ip\":\"a\"");
    push_at(e, 5000, "\"k\":1,\"ip\":\"a\"");
    push_at(e, 6000, "\"k\":1,\"ip\":\"b\"");  /* other key */
    push_at(e, 10000, "\"k\":1,\"ip\":\"a\""); /* exactly t+DUR: suppressed */
    push_at(e, 10001, "\"k\":1,\"ip\":\"a\"");
    assert_int_equal(c.n, 3);
    assert_int_equal((int)num_field(&c, 0, "suppressed"), 0);
    assert_int_equal((int)num_field(&c, 2, "suppressed"), 2);
    assert_str_field(&c, 2, "time", "2024-01-01T00:00:10.001Z");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_throttle_applies_to_aggregation_alerts(void **state) {
    (void)state;
    collected c;
    secdet_engine *e =
        engine_with("rule c { where .k == 1\n count >= 2 within 1m by .ip\n throttle 1h by .ip }\n", &c, 0);
    for (int i = 0; i < 6; i++) push_at(e, i * 1000, "\"k\":1,\"ip\":\"a\"");
    assert_int_equal(c.n, 1);
    push_at(e, 3601000 + 2000, "\"k\":1,\"ip\":\"a\"");
    push_at(e, 3601000 + 3000, "\"k\":1,\"ip\":\"a\"");
    assert_int_equal(c.n, 2);
    assert_int_equal((int)num_field(&c, 1, "suppressed"), 2);
    collected_free(&c);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_events_exactly_dur_apart_share_a_span),
        cmocka_unit_test(test_count_events_dur_plus_1ms_apart_do_not),
        cmocka_unit_test(test_count_greater_than_n_needs_n_plus_one),
        cmocka_unit_test(test_count_group_starts_from_zero_after_firing),
        cmocka_unit_test(test_count_groups_by_key_and_missing_key_is_its_own_group),
        cmocka_unit_test(test_count_samples_are_capped_and_end_with_the_firing_event),
        cmocka_unit_test(test_distinct_counts_null_ignores_missing_and_repeats),
        cmocka_unit_test(test_distinct_counts_every_value_of_a_star_path),
        cmocka_unit_test(test_distinct_values_leave_the_window),
        cmocka_unit_test(test_sequence_in_order_fires),
        cmocka_unit_test(test_sequence_in_the_wrong_order_does_not_fire),
        cmocka_unit_test(test_sequence_out_of_order_within_lateness_fires),
        cmocka_unit_test(test_sequence_step_beyond_lateness_is_late_and_not_counted),
        cmocka_unit_test(test_sequence_may_finish_exactly_dur_after_its_first_step),
        cmocka_unit_test(test_one_event_advances_several_partial_sequences),
        cmocka_unit_test(test_one_event_never_fills_two_steps_of_one_partial),
        cmocka_unit_test(test_completing_event_does_not_start_a_new_sequence),
        cmocka_unit_test(test_sequence_steps_may_name_other_rules),
        cmocka_unit_test(test_throttle_suppresses_through_t_plus_dur_and_counts),
        cmocka_unit_test(test_throttle_applies_to_aggregation_alerts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
