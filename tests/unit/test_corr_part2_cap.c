/* test_corr_part2_cap.c — the correlation state Part 2 added (absence
 * windows, counted steps, unordered sets, per-step keys, sums) is bounded
 * like the other groups: under a small max_state_bytes, a stream of new
 * groups evicts the oldest (counted in stats.evicted), state_bytes never
 * goes over the cap, and once the watermark is past every window the
 * groups are freed (stats.groups 0) and their bytes given back (down to what
 * the tables keep, no more than after a Part 1 count rule's groups). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_correlate_util.h"

#define CAP (256u << 10)

static const char *const RULES[] = {
    "rule r { sequence within 1h by .g { a: .k == \"a\"; not b: .k == \"b\" } }\n",
    "rule r { sequence within 1h by .g { not a: .k == \"b\"; b: .k == \"a\"; not c: .k == \"c\"; d: .k == \"d\" } }\n",
    "rule r { sequence within 1h by .g { a: .k == \"a\" count >= 5 within 1h; b: .k == \"b\" } }\n",
    "rule r { sequence unordered within 1h by .g { a: .k == \"a\"; b: .k == \"b\"; c: .k == \"c\" } }\n",
    "rule r { sequence within 1h { a: .k == \"a\" by .g; b: .k == \"b\" by .h } }\n",
    "rule r { where .k == \"a\" sum .n >= 1e12 within 1h by .g }\n",
    /* the reference: a Part 1 count rule, what the tables keep after their groups are gone */
    "rule r { where .k == \"a\" count >= 1000000 within 1h by .g }\n",
};
#define NRULES (sizeof RULES / sizeof RULES[0])

/* Events one second apart, each of a new group, until CAP has evicted
 * `want` groups; state_bytes is checked after every push. */
static void fill_past_the_cap(secdet_engine *e, long want) {
    char f[160];
    long i = 0;
    for (; STAT(e, evicted) < (uint64_t)want; i++) {
        assert_true(i < 2000000); /* the cap must start evicting long before */
        snprintf(f, sizeof f, "\"k\":\"a\",\"g\":\"group-%ld\",\"h\":\"h-%ld\",\"n\":%ld", i, i, i);
        push_at(e, i * 1000, f);
        assert_true(STAT(e, state_bytes) <= CAP);
    }
    assert_true(STAT(e, groups) > 100);
}

static void test_new_state_is_evicted_at_the_cap_and_freed_after_its_window(void **state) {
    (void)state;
    uint64_t left[NRULES];
    for (size_t r = 0; r < NRULES; r++) {
        collected c;
        setup s = {.lateness_ms = 0, .max_state_bytes = CAP};
        secdet_engine *e = engine_with_opts(RULES[r], &c, &s);
        fill_past_the_cap(e, 1000);
        uint64_t groups = STAT(e, groups);
        /* An event far past every window: the expiry frees them all. */
        push_at(e, 100LL * 3600 * 1000, "\"k\":\"z\"");
        assert_true(STAT(e, groups) < groups);
        assert_int_equal(STAT(e, groups), 0);
        left[r] = STAT(e, state_bytes);
        collected_free(&c);
        secdet_engine_free(e);
    }
    for (size_t r = 0; r + 1 < NRULES; r++) assert_true(left[r] <= left[NRULES - 1]);
    assert_true(left[NRULES - 1] < CAP / 8);
}

/* An evicted absence window never fires: eviction drops what it knew (the
 * group might have seen its `not` event), it does not guess. The windows
 * kept fire as the watermark passes them. */
static void test_an_evicted_absence_window_does_not_fire(void **state) {
    (void)state;
    collected c;
    setup s = {.lateness_ms = 0, .max_state_bytes = CAP};
    secdet_engine *e = engine_with_opts(RULES[0], &c, &s);
    fill_past_the_cap(e, 1000);
    uint64_t kept = STAT(e, groups), evicted = STAT(e, evicted);
    assert_int_equal(c.n, 0);
    push_at(e, 100LL * 3600 * 1000, "\"k\":\"z\"");
    assert_int_equal(c.n, kept);
    assert_true(STAT(e, evicted) >= evicted);
    collected_free(&c);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_state_is_evicted_at_the_cap_and_freed_after_its_window),
        cmocka_unit_test(test_an_evicted_absence_window_does_not_fire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
