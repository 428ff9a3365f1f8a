/* test_corr_part2_state.c — the state Part 2's correlation adds (sum
 * windows, counted steps, absences waiting for the watermark, leading
 * `not` events, unordered sets, count rules named as steps, per-step keys)
 * through snapshots and reloads: a run cut anywhere and restored gives the
 * alerts, ids and messages of an uninterrupted one; the alerts do not
 * depend on arrival order within the lateness; an absence window left open
 * at the end of a scan is kept by the snapshot and closed by a later run; a
 * version 1 snapshot (before Part 2) is still read; reloading the same rules
 * keeps the state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_correlate_util.h"

#define MIN (60 * 1000)

/* Every new kind of state, with templates that read the firing event (the
 * aux a snapshot leaves out and the engine makes again). */
static const char PART2[] =
    "rule fail5 { where .kind == \"fail\" count >= 3 within 4m by .user private }\n"
    "rule sum_b { where .kind == \"xfer\" sum .bytes >= 900 within 5m by .user output \"{sum} {.n} {group}\" }\n"
    "rule absent { sequence within 6m by .user { a: .kind == \"recon\"; not b: .kind == \"fix\" }\n"
    "  output \"absent {.n} {group}\" }\n"
    "rule lead { sequence within 5m by .user { not s: .kind == \"sso\"; l: .kind == \"login\" } output \"lead {.n}\" "
    "}\n"
    "rule mid { sequence within 8m by .user { a: .kind == \"recon\"; not b: .kind == \"fix\"; c: .kind == \"root\" }\n"
    "  output \"mid {.n}\" }\n"
    "rule counted { sequence within 20m by .user { f: .kind == \"fail\" count >= 3 within 5m; ok: .kind == \"login\" "
    "}\n"
    "  output \"counted {count} {.n}\" }\n"
    "rule aggstep { sequence within 20m by .ip { f: fail5; ok: .kind == \"login\" } output \"agg {.n} {group}\" }\n"
    "rule unord { sequence unordered within 7m by .user { x: .kind == \"recon\"; y: .kind == \"xfer\"; z: .kind == "
    "\"root\" }\n"
    "  output \"unord {.n}\" }\n"
    "rule xkeys { sequence within 10m { a: .kind == \"fail\" by .ip; b: .kind == \"root\" by .user }\n"
    "  output \"xkeys {.n} {group}\" }\n"
    "rule absent_thr { sequence within 3m by .ip { a: .kind == \"xfer\"; not b: .kind == \"fix\" }\n"
    "  throttle 10m by .ip output \"thr {.n}\" }\n";

static void gen_stream(gen_event *out, size_t n, uint64_t seed) {
    static const char *const kinds[] = {"fail", "fail", "xfer", "recon", "fix", "sso", "login", "root", "noise"};
    uint64_t s = seed;
    int64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        t += (int64_t)(rng_next(&s) % 40000);
        const char *k = kinds[rng_next(&s) % 9];
        int user = (int)(rng_next(&s) % 3);
        snprintf(out[i].fields, sizeof out[i].fields,
                 "\"kind\":\"%s\",\"ip\":\"h%d\",\"user\":\"h%d\",\"bytes\":%d,\"n\":%zu", k, user,
                 (int)(rng_next(&s) % 3), (int)(rng_next(&s) % 500), i);
        out[i].t = t;
    }
}

/* Alerts as a sorted list of their JSON (the order of alerts made due by
 * one watermark move may differ between runs; their set may not). */
static void assert_same_alerts(collected *a, collected *b) {
    assert_int_equal(a->n, b->n);
    qsort(a->json, a->n, sizeof *a->json, cmp_str);
    qsort(b->json, b->n, sizeof *b->json, cmp_str);
    for (size_t i = 0; i < a->n; i++) assert_string_equal(a->json[i], b->json[i]);
}

/* Runs evs whole, then cut at `cut` with a snapshot in between; the same alerts. */
static void whole_versus_cut(const gen_event *evs, size_t n, size_t cut, int64_t lateness, bool every_kind) {
    collected whole, split;
    secdet_engine *e1 = run_stream(PART2, lateness, evs, n, &whole);
    if (every_kind) {
        static const char *const rules[] = {"sum_b",   "absent", "lead",  "mid",       "counted",
                                            "aggstep", "unord",  "xkeys", "absent_thr"};
        for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
            if (count_rule(&whole, rules[i]) == 0) fail_msg("the stream never fires %s", rules[i]);
    }
    run_cut_by_snapshot(PART2, lateness, evs, cut, n, "cut", &split);
    assert_same_alerts(&whole, &split);
    collected_free(&whole);
    collected_free(&split);
    secdet_engine_free(e1);
}

static void test_snapshot_anywhere_gives_the_same_alerts(void **state) {
    (void)state;
    enum { N = 500 };
    gen_event *evs = calloc(N, sizeof *evs);
    gen_stream(evs, N, 77);
    whole_versus_cut(evs, N, N / 2, 0, true);
    for (size_t cut = 1; cut < N; cut += 37) whole_versus_cut(evs, N, cut, 3 * MIN, false);
    free(evs);
}

static void test_alerts_do_not_depend_on_arrival_order_within_lateness(void **state) {
    (void)state;
    enum { N = 500 };
    const int64_t lateness = 10 * MIN;
    gen_event *evs = calloc(N, sizeof *evs);
    gen_stream(evs, N, 991);
    collected inorder, shuffled;
    secdet_engine *e1 = run_stream(PART2, lateness, evs, N, &inorder);
    /* each event arrives up to 9 minutes late */
    shuffle_by_arrival(evs, N, 5, 9 * MIN);
    secdet_engine *e2 = run_stream(PART2, lateness, evs, N, &shuffled);
    assert_int_equal(STAT(e2, late), 0);
    assert_same_alerts(&inorder, &shuffled);
    collected_free(&inorder);
    collected_free(&shuffled);
    secdet_engine_free(e1);
    secdet_engine_free(e2);
    free(evs);
}

/* `secdet scan --state`: the state is saved before the last flush, so an
 * absence whose window is still open at the end of the input is kept, and a
 * later run closes it. */
static void test_an_open_absence_window_is_kept_and_closed_by_a_later_run(void **state) {
    (void)state;
    static const char GD[] = "rule gd {\n"
                             "    sequence within 1h by .ip {\n"
                             "        finding: .kind == \"finding\";\n"
                             "        not quarantine: .kind == \"quarantine\"\n"
                             "    }\n"
                             "    throttle 1h by .ip\n"
                             "    output \"{.title} on {.ip} at {.n}\"\n"
                             "}\n";
    char *path = tmp_path("open");
    collected c1;
    secdet_engine *e1 = engine_with(GD, &c1, 15 * MIN);
    push_at(e1, 0, "\"kind\":\"finding\",\"ip\":\"a\",\"title\":\"Recon:EC2/PortProbe\",\"n\":1");
    push_at(e1, 10 * MIN, "\"kind\":\"finding\",\"ip\":\"b\",\"title\":\"Backdoor:EC2/C&CActivity\",\"n\":2");
    push_at(e1, 50 * MIN, "\"kind\":\"noise\"");
    assert_int_equal(secdet_snapshot_save(e1, path), SECDET_OK);
    secdet_flush(e1);
    assert_int_equal(c1.n, 0); /* the end of this input is not past either window */

    /* the next run: b is quarantined in time, a is not */
    collected c2;
    secdet_engine *e2 = engine_with(GD, &c2, 15 * MIN);
    assert_int_equal(secdet_snapshot_load(e2, path, NULL), SECDET_OK);
    push_at(e2, 65 * MIN, "\"kind\":\"quarantine\",\"ip\":\"b\"");
    push_at(e2, 100 * MIN, "\"kind\":\"noise\"");
    assert_int_equal(c2.n, 1);
    /* the message is made from the finding's record, remade after the load */
    assert_str_field(&c2, 0, "message", "Recon:EC2/PortProbe on a at 1");
    assert_str_field(&c2, 0, "time", "2024-01-01T00:00:00Z");

    /* the same id as an uninterrupted run gives */
    collected c3;
    secdet_engine *e3 = engine_with(GD, &c3, 15 * MIN);
    push_at(e3, 0, "\"kind\":\"finding\",\"ip\":\"a\",\"title\":\"Recon:EC2/PortProbe\",\"n\":1");
    push_at(e3, 10 * MIN, "\"kind\":\"finding\",\"ip\":\"b\",\"title\":\"Backdoor:EC2/C&CActivity\",\"n\":2");
    push_at(e3, 50 * MIN, "\"kind\":\"noise\"");
    push_at(e3, 65 * MIN, "\"kind\":\"quarantine\",\"ip\":\"b\"");
    push_at(e3, 100 * MIN, "\"kind\":\"noise\"");
    assert_int_equal(c3.n, 1);
    assert_string_equal(c2.json[0], c3.json[0]);
    unlink(path);
    free(path);
    collected_free(&c1);
    collected_free(&c2);
    collected_free(&c3);
    secdet_engine_free(e1);
    secdet_engine_free(e2);
    secdet_engine_free(e3);
}

/* A version 1 file (before Part 2) has the same bytes for the state it can
 * hold: the version field says 1. It is read, and its state goes on. */
static void test_a_version_1_snapshot_is_read(void **state) {
    (void)state;
    char *path = tmp_path("v1");
    collected c;
    secdet_engine *e = engine_with(COUNT2, &c, 0);
    push_at(e, 0, "\"k\":1,\"ip\":\"a\",\"n\":1");
    assert_int_equal(secdet_snapshot_save(e, path), SECDET_OK);
    secdet_engine_free(e);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    unsigned char ver[4];
    fseek(f, 8, SEEK_SET);
    assert_int_equal(fread(ver, 1, 4, f), 4);
    assert_int_equal(ver[0], 2); /* this build writes version 2 */
    fseek(f, 8, SEEK_SET);
    fputc(1, f);
    fclose(f);
    e = engine_with(COUNT2, &c, 0);
    assert_int_equal(secdet_snapshot_load(e, path, NULL), SECDET_OK);
    push_at(e, 1000, "\"k\":1,\"ip\":\"a\",\"n\":2");
    assert_int_equal(c.n, 1);
    assert_str_field(&c, 0, "message", "2 from a: 2");
    /* a version from the future is refused, saying which this build reads */
    f = fopen(path, "r+b");
    fseek(f, 8, SEEK_SET);
    fputc(3, f);
    fclose(f);
    secdet_diagnostics *d = NULL;
    assert_int_equal(secdet_snapshot_load(e, path, &d), SECDET_ERR_DECODE);
    secdet_diagnostic one;
    secdet_diagnostics_get(d, 0, &one);
    assert_non_null(strstr(one.message, "snapshot format version 3 is not supported (this build reads 1 to 2)"));
    secdet_diagnostics_free(d);
    unlink(path);
    free(path);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_reloading_the_same_rules_keeps_the_new_state(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(PART2, &c, 0);
    push_at(e, 0, "\"kind\":\"recon\",\"user\":\"u1\",\"n\":1");
    push_at(e, 1000, "\"kind\":\"xfer\",\"user\":\"u1\",\"bytes\":800,\"ip\":\"ipx\",\"n\":2");
    uint64_t groups = STAT(e, groups);
    assert_true(groups >= 3);
    secdet_diagnostics *d = NULL;
    /* loading a file adds to the ruleset: a rule that changes nothing of these */
    assert_int_equal(secdet_load_rules_string(e, "more.secdet", "rule extra { where .zz == 1 }\n", 29, &d), SECDET_OK);
    secdet_diagnostics_free(d);
    assert_int_equal(STAT(e, groups), groups);
    push_at(e, 2000, "\"kind\":\"xfer\",\"user\":\"u1\",\"bytes\":100,\"ip\":\"ipx\",\"n\":3");
    assert_int_equal(count_rule(&c, "sum_b"), 1);
    push_at(e, 7 * MIN, "\"kind\":\"noise\""); /* past the recon's 6m: the absence fires */
    assert_int_equal(count_rule(&c, "absent"), 1);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_changing_a_step_drops_the_state(void **state) {
    (void)state;
    static const char A[] = "rule s { sequence within 1h by .u { a: .k == 1; not b: .k == 2 } }\n";
    static const char B[] = "rule s { sequence within 1h by .u { a: .k == 1; not b: .k == 3 } }\n";
    static const char C[] = "rule s { sequence within 1h by .u { a: .k == 1; b: .k == 2 } }\n";
    char *path = tmp_path("changed");
    collected c;
    secdet_engine *e = engine_with(A, &c, 0);
    push_at(e, 0, "\"k\":1,\"u\":\"x\"");
    assert_int_equal(secdet_snapshot_save(e, path), SECDET_OK);
    secdet_engine_free(e);
    const char *others[] = {B, C};
    for (int i = 0; i < 2; i++) {
        e = engine_with(others[i], &c, 0);
        secdet_diagnostics *d = NULL;
        assert_int_equal(secdet_snapshot_load(e, path, &d), SECDET_OK);
        assert_int_equal(secdet_diagnostics_count(d), 1); /* "rule 's' changed since the snapshot" */
        secdet_diagnostics_free(d);
        assert_int_equal(STAT(e, groups), 0);
        secdet_engine_free(e);
    }
    unlink(path);
    free(path);
    collected_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_anywhere_gives_the_same_alerts),
        cmocka_unit_test(test_alerts_do_not_depend_on_arrival_order_within_lateness),
        cmocka_unit_test(test_an_open_absence_window_is_kept_and_closed_by_a_later_run),
        cmocka_unit_test(test_a_version_1_snapshot_is_read),
        cmocka_unit_test(test_reloading_the_same_rules_keeps_the_new_state),
        cmocka_unit_test(test_changing_a_step_drops_the_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
