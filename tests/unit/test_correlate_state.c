/* test_correlate_state.c — correlation state through the public API:
 * expiry as the watermark passes, eviction under the cap, state size per
 * group, arrival-order independence, snapshots (restore, changed rules,
 * corrupt files) and rule reloads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <zlib.h>

#include "test_correlate_util.h"

/* ---- state: expiry, eviction ----------------------------------------------------------------- */

static void test_expired_groups_are_freed_as_the_watermark_passes(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with("rule c { where .k == 1\n count >= 10 within 10s by .ip }\n", &c, 5000);
    for (int i = 0; i < 100; i++) {
        char f[64];
        snprintf(f, sizeof f, "\"k\":1,\"ip\":\"10.0.0.%d\"", i);
        push_at(e, 0, f);
    }
    push_at(e, 6000, "\"x\":1"); /* watermark 1 s: the records are applied */
    assert_int_equal(STAT(e, groups), 100);
    uint64_t bytes = STAT(e, state_bytes);
    push_at(e, 14000, "\"x\":1"); /* watermark 9 s: still inside the windows */
    assert_int_equal(STAT(e, groups), 100);
    push_at(e, 15001, "\"x\":1"); /* watermark 10.001 s: every window is over */
    assert_int_equal(STAT(e, groups), 0);
    assert_true(STAT(e, state_bytes) < bytes);
    assert_int_equal(c.n, 0);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_eviction_keeps_state_under_the_cap(void **state) {
    (void)state;
    collected c;
    const uint64_t cap = 256 * 1024;
    setup s = {.lateness_ms = 0, .max_state_bytes = cap};
    secdet_engine *e = engine_with_opts("rule c { where .k == 1\n count >= 1000 within 1h by .ip }\n", &c, &s);
    for (int i = 0; i < 20000; i++) {
        char f[96];
        snprintf(f, sizeof f, "\"k\":1,\"ip\":\"10.%d.%d.%d\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"", i >> 16,
                 (i >> 8) & 255, i & 255);
        push_at(e, i, f);
        assert_true(STAT(e, state_bytes) <= cap);
    }
    assert_true(STAT(e, evicted) > 0);
    assert_true(STAT(e, groups) > 100);
    assert_int_equal(STAT(e, groups) + STAT(e, evicted), 20000);
    /* The most recently seen groups survive: the newest ip still counts. */
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_state_per_count_group_is_small(void **state) {
    (void)state;
    collected c;
    setup s = {.lateness_ms = 0, .max_samples = 1};
    secdet_engine *e = engine_with_opts("rule c { where .k == 1\n count >= 5 within 1h by .ip }\n", &c, &s);
    uint64_t before = STAT(e, state_bytes);
    const int groups = 10000;
    for (int i = 0; i < groups; i++) {
        char f[64];
        snprintf(f, sizeof f, "\"k\":1,\"ip\":\"10.0.%d.%d\"", i >> 8, i & 255);
        push_at(e, i, f);
    }
    assert_int_equal(STAT(e, groups), groups);
    uint64_t per = (STAT(e, state_bytes) - before) / groups;
    /* Each group holds one sample event (~60 bytes of JSON here) besides its state. */
    fprintf(stderr, "state per count group (one small sample each): %llu bytes\n", (unsigned long long)per);
    assert_true(per < 300 + 120);
    collected_free(&c);
    secdet_engine_free(e);
}

/* ---- determinism ------------------------------------------------------------------------------ */

/* The templates read the firing event ({.n}, {.user}) and the group: what
 * an aggregation alert keeps of its firing event (its record's aux, and the
 * throttle key) must survive a snapshot and a different arrival order. */
static const char MIXED[] =
    "rule cnt { where .kind == \"login\"\n count >= 3 within 2m by .ip\n output \"{count} at {.n} from {group}\" }\n"
    "rule dis { where .kind == \"login\"\n distinct .user >= 3 within 5m by .ip\n output \"{.user} {distinct}\" }\n"
    "rule seq { sequence within 10m by .user { r: .kind == \"recon\"; x: .kind == \"escalate\" }\n"
    "  output \"{group} escalated at {.n}\" }\n"
    "rule thr { where .kind == \"root\"\n throttle 3m by .ip\n output \"root {.n} {group}\" }\n"
    "rule cth { where .kind == \"login\"\n count >= 2 within 1m by .user\n throttle 4m by .user\n output \"{.n}\" }\n";

static size_t gen_stream(gen_event *out, size_t n, uint64_t seed) {
    static const char *const kinds[] = {"login", "login", "login", "recon", "escalate", "root", "noise"};
    uint64_t s = seed;
    int64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        t += (int64_t)(rng_next(&s) % 20000);
        const char *k = kinds[rng_next(&s) % 7];
        snprintf(out[i].fields, sizeof out[i].fields, "\"kind\":\"%s\",\"ip\":\"ip%d\",\"user\":\"u%d\",\"n\":%zu", k,
                 (int)(rng_next(&s) % 4), (int)(rng_next(&s) % 5), i);
        out[i].t = t;
    }
    return n;
}

static void assert_same_alerts(const collected *a, const collected *b) {
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) assert_string_equal(a->json[i], b->json[i]);
}

static void test_alerts_do_not_depend_on_arrival_order_within_lateness(void **state) {
    (void)state;
    enum { N = 600 };
    const int64_t lateness = 10 * 60 * 1000;
    gen_event *evs = calloc(N, sizeof *evs);
    gen_stream(evs, N, 42);
    collected in_order, shuffled;
    secdet_engine *e1 = run_stream(MIXED, lateness, evs, N, &in_order);
    /* Arrival = event time + up to half the lateness: nobody is late. */
    shuffle_by_arrival(evs, N, 7, (uint64_t)(lateness / 2));
    secdet_engine *e2 = run_stream(MIXED, lateness, evs, N, &shuffled);
    assert_int_equal(STAT(e2, late), 0);
    assert_true(in_order.n > 10 && in_order.n < MAX_ALERTS);
    /* The stateless throttled rule is in arrival order by design; compare the rest. */
    collected a = {0}, b = {0};
    for (size_t i = 0; i < in_order.n; i++)
        if (!strstr(in_order.json[i], "\"rule\":\"thr\"")) a.json[a.n++] = in_order.json[i];
    for (size_t i = 0; i < shuffled.n; i++)
        if (!strstr(shuffled.json[i], "\"rule\":\"thr\"")) b.json[b.n++] = shuffled.json[i];
    assert_same_alerts(&a, &b);
    collected_free(&in_order);
    collected_free(&shuffled);
    secdet_engine_free(e1);
    secdet_engine_free(e2);
    free(evs);
}

/* ---- snapshots ----------------------------------------------------------------------------------- */

static void test_snapshot_restore_gives_the_same_alerts_as_one_run(void **state) {
    (void)state;
    enum { N = 600 };
    const int64_t lateness = 5 * 60 * 1000;
    gen_event *evs = calloc(N, sizeof *evs);
    gen_stream(evs, N, 4242);
    collected whole, split;
    secdet_engine *e1 = run_stream(MIXED, lateness, evs, N, &whole);
    assert_true(whole.n > 10 && whole.n < MAX_ALERTS);

    run_cut_by_snapshot(MIXED, lateness, evs, N / 2, N, "snap", &split);
    assert_same_alerts(&whole, &split);
    collected_free(&whole);
    collected_free(&split);
    secdet_engine_free(e1);
    free(evs);
}

static void test_snapshot_with_a_changed_ruleset_drops_exactly_the_changed_rules(void **state) {
    (void)state;
    static const char before[] = "rule keep { where .k == 1\n count >= 3 within 1h }\n"
                                 "rule change { where .k == 1\n count >= 3 within 1h }\n"
                                 "rule gone { where .k == 1\n count >= 3 within 1h }\n";
    static const char after[] = "rule keep { where .k == 1\n count >= 3 within 1h\n output \"new text\" }\n"
                                "rule change { where .k == 1\n count >= 3 within 2h }\n"
                                "rule added { where .k == 1\n count >= 3 within 1h }\n";
    collected c;
    char *path = tmp_path("changed");
    secdet_engine *e = engine_with(before, &c, 0);
    push_at(e, 0, "\"k\":1");
    push_at(e, 1000, "\"k\":1");
    assert_int_equal(secdet_snapshot_save(e, path), SECDET_OK);
    secdet_engine_free(e);

    e = engine_with(after, &c, 0);
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_snapshot_load(e, path, &d), SECDET_OK);
    assert_int_equal(secdet_diagnostics_errors(d), 0);
    assert_int_equal(secdet_diagnostics_count(d), 2);
    secdet_diagnostic one;
    secdet_diagnostics_get(d, 0, &one);
    assert_int_equal(one.severity, SECDET_DIAG_WARNING);
    assert_non_null(strstr(one.message, "'change' changed"));
    secdet_diagnostics_get(d, 1, &one);
    assert_non_null(strstr(one.message, "'gone' is no longer loaded"));
    secdet_diagnostics_free(d);
    push_at(e, 2000, "\"k\":1");
    assert_int_equal(c.n, 1); /* only `keep` had two events already */
    assert_str_field(&c, 0, "rule", "keep");
    assert_str_field(&c, 0, "message", "new text");
    unlink(path);
    free(path);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_corrupt_snapshot_is_refused_and_state_kept(void **state) {
    (void)state;
    collected c;
    char *path = tmp_path("corrupt");
    secdet_engine *e = engine_with(COUNT2, &c, 0);
    push_at(e, 0, "\"k\":1,\"ip\":\"a\"");
    assert_int_equal(secdet_snapshot_save(e, path), SECDET_OK);

    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, len - 3, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, len - 3, SEEK_SET);
    fputc(ch ^ 0x40, f);
    fclose(f);
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_snapshot_load(e, path, &d), SECDET_ERR_DECODE);
    assert_int_equal(secdet_diagnostics_errors(d), 1);
    secdet_diagnostic one;
    secdet_diagnostics_get(d, 0, &one);
    assert_non_null(strstr(one.message, "checksum"));
    secdet_diagnostics_free(d);

    assert_int_equal(truncate(path, len / 2), 0);
    assert_int_equal(secdet_snapshot_load(e, path, &d), SECDET_ERR_DECODE);
    secdet_diagnostics_free(d);

    f = fopen(path, "wb");
    fputs("{\"not\":\"a snapshot\"}", f);
    fclose(f);
    assert_int_equal(secdet_snapshot_load(e, path, &d), SECDET_ERR_DECODE);
    secdet_diagnostics_get(d, 0, &one);
    assert_non_null(strstr(one.message, "not a secdet state snapshot"));
    secdet_diagnostics_free(d);
    assert_int_equal(secdet_snapshot_load(e, "/nonexistent/dir/x", NULL), SECDET_ERR_IO);

    /* The state from before is still there: one more event fires. */
    push_at(e, 1000, "\"k\":1,\"ip\":\"a\"");
    assert_int_equal(c.n, 1);
    unlink(path);
    free(path);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_reloading_rules_keeps_the_state_of_unchanged_rules(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(COUNT2, &c, 0);
    push_at(e, 0, "\"k\":1,\"ip\":\"a\"");
    static const char more[] = "rule other { where .k == 2\n count >= 2 within 10s }\n";
    assert_int_equal(secdet_load_rules_string(e, "more.secdet", more, strlen(more), NULL), SECDET_OK);
    push_at(e, 1000, "\"k\":1,\"ip\":\"a\"");
    assert_int_equal(c.n, 1);
    collected_free(&c);
    secdet_engine_free(e);
}

/* A reload that changes only a rule's output template keeps its state (the
 * fingerprint leaves the message out), and the events held for ordering
 * then fire with the new template, their fields taken from the events. */
static void test_reload_with_a_new_template_renders_held_events_with_it(void **state) {
    (void)state;
    char *path = tmp_path("tpl.secdet");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("rule c { where .k == 1\n count >= 2 within 1h by .ip\n output \"old {.n}\" }\n", f);
    fclose(f);
    collected c;
    secdet_engine *e = engine_with("rule c { where .k == 1\n count >= 2 within 1h by .ip\n output \"old {.n}\" }\n", &c,
                                   60 * 60 * 1000); /* everything held for ordering */
    push_at(e, 0, "\"k\":1,\"ip\":\"a\",\"n\":\"first\"");
    push_at(e, 1000, "\"k\":1,\"ip\":\"a\",\"n\":\"second\"");
    assert_int_equal(c.n, 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("rule c { where .k == 1\n count >= 2 within 1h by .ip\n output \"new {.n} from {group} ({.ip})\" }\n", f);
    fclose(f);
    const char *paths[] = {path};
    assert_int_equal(secdet_reload_rules(e, paths, 1, NULL), SECDET_OK);
    assert_int_equal(secdet_flush(e), SECDET_OK);
    assert_int_equal(c.n, 1);
    assert_non_null(strstr(c.json[0], "\"message\":\"new second from a (a)\""));
    collected_free(&c);
    secdet_engine_free(e);
    remove(path);
    free(path);
}

/* A snapshot whose payload was changed but whose checksum was made to fit
 * again: every length and index is checked, so loading it either works or is
 * refused — it never crashes (run under ASan). */
static void test_damaged_snapshot_with_a_valid_checksum_never_crashes(void **state) {
    (void)state;
    enum { N = 200 };
    gen_event *evs = calloc(N, sizeof *evs);
    gen_stream(evs, N, 99);
    collected c;
    char *path = tmp_path("fuzz");
    secdet_engine *e = engine_with(MIXED, &c, 10 * 60 * 1000);
    run_events(e, evs, 0, N);
    assert_int_equal(secdet_snapshot_save(e, path), SECDET_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char orig[1 << 20], data[1 << 20];
    size_t len = fread(orig, 1, sizeof orig, f);
    fclose(f);
    assert_true(len > 64 && len < sizeof orig);
    uint64_t s = 12345;
    int refused = 0;
    for (int round = 0; round < 300; round++) {
        memcpy(data, orig, len);
        int flips = 1 + (int)(rng_next(&s) % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = 32 + rng_next(&s) % (len - 32);
            data[at] = (unsigned char)rng_next(&s);
        }
        uLong crc = crc32(0L, data + 32, (uInt)(len - 32));
        for (int k = 0; k < 4; k++) data[24 + k] = (unsigned char)(crc >> (8 * k));
        f = fopen(path, "wb");
        fwrite(data, 1, len, f);
        fclose(f);
        secdet_diagnostics *d = NULL;
        secdet_status st = secdet_snapshot_load(e, path, &d);
        assert_true(st == SECDET_OK || st == SECDET_ERR_DECODE);
        if (st != SECDET_OK) refused++;
        secdet_diagnostics_free(d);
        /* Whatever was loaded must still work. */
        push_at(e, evs[N - 1].t + 1000, "\"kind\":\"login\",\"ip\":\"ip1\",\"user\":\"u1\"");
        secdet_flush(e);
    }
    assert_true(refused > 0);
    unlink(path);
    free(path);
    collected_free(&c);
    secdet_engine_free(e);
    free(evs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expired_groups_are_freed_as_the_watermark_passes),
        cmocka_unit_test(test_eviction_keeps_state_under_the_cap),
        cmocka_unit_test(test_state_per_count_group_is_small),
        cmocka_unit_test(test_alerts_do_not_depend_on_arrival_order_within_lateness),
        cmocka_unit_test(test_snapshot_restore_gives_the_same_alerts_as_one_run),
        cmocka_unit_test(test_snapshot_with_a_changed_ruleset_drops_exactly_the_changed_rules),
        cmocka_unit_test(test_corrupt_snapshot_is_refused_and_state_kept),
        cmocka_unit_test(test_reloading_rules_keeps_the_state_of_unchanged_rules),
        cmocka_unit_test(test_reload_with_a_new_template_renders_held_events_with_it),
        cmocka_unit_test(test_damaged_snapshot_with_a_valid_checksum_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
