/* test_corr_group_size.c — the compact group layout of issue 22 (a million
 * groups under the default cap): a sequence group of two steps costs its
 * header and key (its one partial lives in the header) and the event;
 * a sample ring that starts with one sample and grows to max_samples still
 * gives the newest max_samples events oldest first, also across a snapshot
 * taken while it is half grown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_correlate_util.h"

#include "correlate/corr_int.h"
#include "engine/engine.h"

static const char SEQ2[] = "rule s { sequence within 1h by .u {\n a: .s == 1;\n b: .s == 2\n } }\n";

static void test_a_two_step_sequence_group_costs_header_one_step_and_the_event(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(SEQ2, &c, 0);
    char f[96];
    for (int i = 0; i < 100; i++) { /* the table and heap arrays are made */
        snprintf(f, sizeof f, "\"s\":1,\"u\":\"user-%03d\"", i);
        push_at(e, 0, f);
    }
    uint64_t before = STAT(e, state_bytes);
    push_at(e, 0, "\"s\":1,\"u\":\"user-100\"");
    assert_int_equal(STAT(e, groups), 101);
    const corr_group *g = e->corr->lru_head; /* the group just made */
    assert_int_equal(g->kind, GK_SEQ);
    const seq_partial *p = seq_slots_c(g)[1];
    assert_non_null(p);
    const corr_event *ev = p->steps[0].ev;
    /* header, slots, the partial (its start and step a: in the group) and key */
    uint64_t want = sd_mem_cost(sizeof(corr_group) + g->key_len) + sd_mem_cost(sizeof(corr_event) + ev->len + 1);
    assert_ptr_equal(p, seq_inline_partial((corr_group *)g));
    assert_int_equal(STAT(e, state_bytes) - before, want);
    /* And it still completes. */
    push_at(e, 1000, "\"s\":2,\"u\":\"user-100\",\"n\":9");
    secdet_flush(e);
    assert_int_equal(c.n, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static const char COUNT7[] = "rule c { where .k == 1\n count >= 7 within 1h by .ip }\n";

static void push_n(secdet_engine *e, int from, int to) {
    char f[96];
    for (int n = from; n <= to; n++) {
        snprintf(f, sizeof f, "\"k\":1,\"ip\":\"10.0.0.1\",\"n\":%d", n);
        push_at(e, n * 1000, f);
    }
}

static void test_a_growing_sample_ring_keeps_the_newest_samples_in_order(void **state) {
    (void)state;
    collected c;
    setup s = {.lateness_ms = 0, .max_samples = 5};
    secdet_engine *e = engine_with_opts(COUNT7, &c, &s);
    push_n(e, 1, 7); /* the ring grows 1, 2, 4, 5, then turns */
    assert_int_equal(c.n, 1);
    assert_sample_ns(&c, 0, "3,4,5,6,7");
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_a_half_grown_sample_ring_survives_a_snapshot(void **state) {
    (void)state;
    char path[96];
    snprintf(path, sizeof path, "/tmp/secdet_test_group_size_%d", (int)getpid());
    collected c;
    setup s = {.lateness_ms = 0, .max_samples = 5};
    secdet_engine *e = engine_with_opts(COUNT7, &c, &s);
    push_n(e, 1, 3); /* a ring of room for 4 holding 3 */
    assert_int_equal(e->corr->lru_head->scap, 4);
    assert_int_equal(secdet_snapshot_save(e, path), SECDET_OK);
    secdet_engine_free(e);

    e = engine_with_opts(COUNT7, &c, &s);
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_snapshot_load(e, path, &d), SECDET_OK);
    secdet_diagnostics_free(d);
    push_n(e, 4, 7);
    assert_int_equal(c.n, 1);
    assert_sample_ns(&c, 0, "3,4,5,6,7");
    unlink(path);
    collected_free(&c);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_two_step_sequence_group_costs_header_one_step_and_the_event),
        cmocka_unit_test(test_a_growing_sample_ring_keeps_the_newest_samples_in_order),
        cmocka_unit_test(test_a_half_grown_sample_ring_survives_a_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
