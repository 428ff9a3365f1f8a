/* test_corr_zsample.c — compressed samples of cold groups (issue 22:
 * src/correlate/zsample.c).
 *
 * Past 3/4 of its cap the correlator compresses the sample events of its
 * least recently seen groups instead of evicting groups. Checked here: a
 * state that would be evicted without it fits, the samples really are
 * compressed, and the alerts — their events, text and ids — are those of an
 * engine whose cap is far away (nothing compressed), also when the state
 * passes through a snapshot; and an alert still fires whole when the
 * dictionary its samples were compressed against is long gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_correlate_util.h"

#include "correlate/corr_int.h"
#include "engine/engine.h"

static const char RULES[] = "rule c { where .k == 1\n count >= 2 within 1h by .ip }\n"
                            "rule s { sequence within 1h by .u {\n a: .s == 1;\n b: .s == 2\n } }\n";

#define GROUPS 2000 /* 4000 alerts: MAX_ALERTS holds them */
/* Raw, GROUPS groups of each rule take about 3.5 MiB; compressed, about 1.5. */
#define CAP      (2u << 20)
#define FAR_AWAY (1u << 30)

/* An event of about 400 bytes, alike from one to the next but not the same. */
static void push_one(secdet_engine *e, int64_t ms, const char *what, long i) {
    char f[900];
    snprintf(f, sizeof f,
             "%s,\"n\":%ld,\"agent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
             "like Gecko) Chrome/122.0.0.0 Safari/537.36\",\"request\":\"%08lx-0001-4000-8000-%012lx\","
             "\"detail\":{\"region\":\"us-east-1\",\"account\":\"111122223333\",\"session\":%ld,"
             "\"mfa\":\"No\",\"to\":\"https://console.aws.amazon.com/console/home?state=hashArgs\"}",
             what, i, i * 2654435761u % 0xffffffffu, i * 40503u, i % 977);
    push_at(e, ms, f);
}

/* Phase 1: one event for each of GROUPS count groups and GROUPS sequences. */
static void phase1(secdet_engine *e) {
    char w[96];
    for (long i = 0; i < GROUPS; i++) {
        snprintf(w, sizeof w, "\"k\":1,\"ip\":\"10.0.%ld.%ld\"", i / 256, i % 256);
        push_one(e, 2 * i, w, i);
        snprintf(w, sizeof w, "\"s\":1,\"u\":\"user-%ld\"", i);
        push_one(e, 2 * i + 1, w, i + GROUPS);
    }
}

/* Phase 2: every group completes (oldest first, so the cold ones too). */
static void phase2(secdet_engine *e) {
    char w[96];
    for (long i = 0; i < GROUPS; i++) {
        snprintf(w, sizeof w, "\"k\":1,\"ip\":\"10.0.%ld.%ld\"", i / 256, i % 256);
        push_one(e, 100000 + 2 * i, w, i + 2 * GROUPS);
        snprintf(w, sizeof w, "\"s\":2,\"u\":\"user-%ld\"", i);
        push_one(e, 100000 + 2 * i + 1, w, i + 3 * GROUPS);
    }
    secdet_flush(e);
}

/* Sample events of the engine's groups that are compressed. */
static size_t compressed_samples(secdet_engine *e) {
    size_t n = 0;
    for (const corr_group *g = e->corr->lru_head; g; g = g->lnext) {
        if (g->kind == GK_COUNT) {
            for (uint32_t i = 0; i < g->sn; i++) n += event_is_z(sample_ring_c(g)[(g->shead + i) % g->scap]);
        } else if (g->kind == GK_SEQ && seq_slots_c(g)[1]) {
            n += event_is_z(seq_slots_c(g)[1]->steps[0].ev);
        }
    }
    return n;
}

static void assert_same_alerts(const collected *a, const collected *b) {
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->id[i], b->id[i]);
        assert_string_equal(a->json[i], b->json[i]);
    }
}

static secdet_engine *engine_capped(collected *c, uint64_t cap) {
    setup s = {.lateness_ms = 0, .max_samples = 5, .max_state_bytes = cap};
    return engine_with_opts(RULES, c, &s);
}

/* An engine far from its cap and one that has to compress, both through phase 1. */
static void two_engines(collected *want, collected *got, secdet_engine **ref, secdet_engine **e) {
    *ref = engine_capped(want, FAR_AWAY);
    *e = engine_capped(got, CAP);
    phase1(*ref);
    phase1(*e);
}

static void test_cold_samples_are_compressed_and_alerts_are_unchanged(void **state) {
    (void)state;
    collected want, got;
    secdet_engine *ref, *e;
    two_engines(&want, &got, &ref, &e);
    assert_int_equal(STAT(ref, groups), 2 * GROUPS);
    assert_int_equal(STAT(e, groups), 2 * GROUPS); /* nothing evicted: it fits */
    assert_int_equal(STAT(e, evicted), 0);
    assert_int_equal(compressed_samples(ref), 0); /* far from its cap: left alone */
    assert_true(compressed_samples(e) > GROUPS);
    assert_true(STAT(e, state_bytes) <= CAP / 4 * 3 + CAP / 16);
    assert_true(STAT(ref, state_bytes) > CAP); /* what it would take raw */
    phase2(ref);
    phase2(e);
    assert_int_equal(want.n, 2 * GROUPS);
    assert_same_alerts(&want, &got);
    assert_int_equal(STAT(e, evicted), 0);
    collected_free(&want);
    collected_free(&got);
    secdet_engine_free(ref);
    secdet_engine_free(e);
}

/* A snapshot writes the samples' JSON: read into an engine, the state goes on
 * as if nothing happened. */
static void test_compressed_samples_survive_a_snapshot(void **state) {
    (void)state;
    char path[96];
    snprintf(path, sizeof path, "/tmp/secdet_test_zsample_%d", (int)getpid());
    collected want, got;
    secdet_engine *ref = engine_capped(&want, FAR_AWAY);
    phase1(ref);
    phase2(ref);

    secdet_engine *e = engine_capped(&got, CAP);
    phase1(e);
    assert_true(compressed_samples(e) > GROUPS);
    assert_int_equal(secdet_snapshot_save(e, path), SECDET_OK);
    secdet_engine_free(e);
    e = engine_capped(&got, CAP);
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_snapshot_load(e, path, &d), SECDET_OK);
    secdet_diagnostics_free(d);
    assert_int_equal(STAT(e, groups), 2 * GROUPS);
    phase2(e);
    assert_same_alerts(&want, &got);
    unlink(path);
    collected_free(&want);
    collected_free(&got);
    secdet_engine_free(ref);
    secdet_engine_free(e);
}

/* Dictionaries are renewed every CORR_DICT_EVERY samples; a sample keeps the
 * one it was compressed against, so the oldest groups still open whole after
 * thousands of newer ones were compressed against later dictionaries. */
static void test_the_oldest_sample_opens_after_its_dictionary_was_replaced(void **state) {
    (void)state;
    collected want, got;
    secdet_engine *ref, *e;
    two_engines(&want, &got, &ref, &e);
    /* Complete only the second group of each rule (the first ones became
     * their rules' first dictionaries): compressed long ago. */
    const corr_group *old = e->corr->lru_tail->lprev->lprev;
    assert_true(old->kind == GK_COUNT && event_is_z(sample_ring_c(old)[old->shead]));
    for (int k = 0; k < 2; k++) {
        secdet_engine *x = k ? e : ref;
        push_one(x, 100000, "\"k\":1,\"ip\":\"10.0.0.1\"", 7);
        push_one(x, 100001, "\"s\":2,\"u\":\"user-1\"", 8);
    }
    assert_int_equal(want.n, 2);
    assert_same_alerts(&want, &got);
    collected_free(&want);
    collected_free(&got);
    secdet_engine_free(ref);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cold_samples_are_compressed_and_alerts_are_unchanged),
        cmocka_unit_test(test_compressed_samples_survive_a_snapshot),
        cmocka_unit_test(test_the_oldest_sample_opens_after_its_dictionary_was_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
