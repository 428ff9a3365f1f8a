/* test_stage.c — the engine's side of the two-stage scale-out
 * (src/engine_stage.c; docs/scale-out.md), without Kafka: stage 1's
 * forwards, stage 2's rule-scoped pushes and external watermark, and a
 * partition's state moved by snapshot bytes. The Kafka driver around them
 * is tested with a real broker in tests/kafka. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define MAX_FWD 4096
#include "test_stage_util.h"

static const char *const RULES =
    "rule burst { where .k == \"fail\"\n count >= 3 within 1m by .ip\n output \"burst {group}\" }\n"
    "rule spread { where .k == \"fail\"\n distinct .u >= 2 within 2m by .ip }\n"
    "rule root { where .k == \"root\"\n throttle 1h by .ip\n output \"root {.ip}\" }\n"
    "rule plain { where .k == \"plain\" }\n"
    "rule seq { sequence within 1m by .u { a: .k == \"a\"; b: .k == \"b\" } }\n";

/* A deterministic stream: event i of origin o at (2i + o) * 700 ms. */
#define PER_ORIGIN 400
static void event_fields(int o, int i, char *out, size_t n) {
    static const char *const kinds[] = {"fail", "fail", "root", "plain", "a", "b", "noise"};
    static const char *const ips[] = {"x", "y", "z", "w"};
    uint32_t h = (uint32_t)(o * 7919 + i) * 2654435761u;
    snprintf(out, n, "\"k\":\"%s\",\"ip\":\"%s\",\"u\":\"u%u\",\"o\":%d,\"i\":%d", kinds[(h >> 8) % 7],
             ips[(h >> 16) % 4], (h >> 20) % 3, o, i);
}
static int64_t event_ms(int o, int i) { return (int64_t)(2 * i + o) * 700; }

static void push_origin_event(secdet_engine *e, int o, int i) {
    char f[256];
    event_fields(o, i, f, sizeof f);
    push_at(e, event_ms(o, i), f);
}

/* Everything in one engine, in time order. */
static char *single_engine_ids(size_t *n) {
    collected c;
    secdet_engine *e = engine_with(RULES, &c, 0);
    for (int i = 0; i < PER_ORIGIN; i++)
        for (int o = 0; o < 2; o++) push_origin_event(e, o, i);
    assert_int_equal(secdet_flush(e), SECDET_OK);
    *n = c.n;
    char *ids = ids_of(&c);
    collected_free(&c);
    secdet_engine_free(e);
    return ids;
}

static void test_stage1_forwards_what_needs_state(void **state) {
    (void)state;
    collected c;
    fwds *w = calloc(1, sizeof *w);
    secdet_engine *e = engine_with(RULES, &c, 0);
    sd_engine_set_forward(e, on_forward, w);
    push_at(e, 0, "\"k\":\"fail\",\"ip\":\"x\",\"u\":\"a\"");
    push_at(e, 1, "\"k\":\"root\",\"ip\":\"y\"");
    push_at(e, 2, "\"k\":\"plain\"");
    push_at(e, 3, "\"k\":\"a\",\"u\":\"u1\"");
    assert_int_equal(secdet_flush(e), SECDET_OK);
    /* Only the unthrottled stateless rule alerts here. */
    assert_int_equal(c.n, 1);
    char *rule = str_field(&c, 0, "rule");
    assert_string_equal(rule, "plain");
    free(rule);
    /* fail -> burst and spread (key "x"), root (throttle key "y"), a -> seq (key "u1"). */
    assert_int_equal(w->n, 4);
    assert_string_equal(w->f[0].rule, "burst");
    assert_string_equal(w->f[1].rule, "spread");
    assert_int_equal(w->f[0].key_len, 4);
    assert_memory_equal(w->f[0].key, "\"x\"", 4); /* JSON text and its NUL */
    assert_string_equal(w->f[2].rule, "root");
    assert_memory_equal(w->f[2].key, "\"y\"", 4);
    assert_string_equal(w->f[3].rule, "seq");
    assert_memory_equal(w->f[3].key, "\"u1\"", 5);
    assert_string_equal(w->f[0].source, "jsonl");
    assert_int_equal(w->f[1].time_ns, (int64_t)BASE_S * 1000000000);
    assert_non_null(strstr(w->f[0].json, "\"ip\":\"x\""));
    secdet_stats st;
    secdet_stats_get(e, &st);
    assert_int_equal(st.groups, 0); /* stage 1 keeps no state */
    fwds_free(w);
    free(w);
    collected_free(&c);
    secdet_engine_free(e);
}

/* Stage 1 reads origin 0 to its end before origin 1 (the worst skew two
 * stage-1 instances can have); stage 2 has two partitions and, at `move`
 * forwards, hands partition 1's state to a fresh engine by snapshot bytes.
 * The alerts must be exactly those of one engine reading everything. */
static void two_stages(size_t move) {
    collected c1, c2;
    fwds *w = calloc(1, sizeof *w);
    secdet_engine *s1 = engine_with(RULES, &c1, 0);
    sd_engine_set_forward(s1, on_forward, w);
    memset(&c2, 0, sizeof c2);
    part p[2] = {{.e = stage2_engine(s1, &c2)}, {.e = stage2_engine(s1, &c2)}};
    size_t fed = 0;
    for (int o = 0; o < 2; o++) {
        for (int i = 0; i < PER_ORIGIN; i++) {
            w->origin = o;
            push_origin_event(s1, o, i);
            for (; fed < w->n; fed++) {
                const fwd *f = &w->f[fed];
                part *q = &p[key_hash(f) % 2];
                assert_int_equal(
                    sd_engine_push_forwarded(q->e, f->source, f->rule, f->time_ns, f->json, strlen(f->json)),
                    SECDET_OK);
                if (fed == move) move_partition(&p[1], s1, &c2, "p1"); /* to another instance */
            }
            /* The heartbeat: how far origin o has got, to every partition. */
            int64_t t = ((int64_t)BASE_S * 1000 + event_ms(o, i)) * 1000000;
            part_report(&p[0], o, t);
            part_report(&p[1], o, t);
        }
    }
    for (int i = 0; i < 2; i++) assert_int_equal(secdet_flush(p[i].e), SECDET_OK);
    /* Stage 1's stateless alerts and stage 2's, together, against one engine. */
    for (size_t i = 0; i < c1.n && c2.n < MAX_ALERTS; i++) {
        c2.json[c2.n] = strdup(c1.json[i]);
        c2.id[c2.n++] = strdup(c1.id[i]);
    }
    size_t n_single = 0;
    char *want = single_engine_ids(&n_single);
    assert_true(n_single > 20); /* the stream must exercise the rules */
    char *got = ids_of(&c2);
    assert_int_equal(c2.n, n_single);
    assert_string_equal(got, want);
    free(want);
    free(got);
    collected_free(&c2);
    fwds_free(w);
    free(w);
    collected_free(&c1);
    for (int i = 0; i < 2; i++) secdet_engine_free(p[i].e);
    secdet_engine_free(s1);
}

static void test_two_stages_equal_one_engine(void **state) {
    (void)state;
    two_stages(SIZE_MAX);
}

static void test_two_stages_equal_one_engine_across_a_move(void **state) {
    (void)state;
    two_stages(150);
}

/* Why stage 2 moves its watermark on the slowest origin: an engine keeping
 * its own (newest time seen, lateness 0) drops origin 1's events as late
 * when origin 0 arrives first, and loses alerts. */
static void test_own_watermark_would_lose_alerts(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(RULES, &c, 0);
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < PER_ORIGIN; i++) push_origin_event(e, o, i);
    secdet_flush(e);
    secdet_stats st;
    secdet_stats_get(e, &st);
    size_t n_single = 0;
    free(single_engine_ids(&n_single));
    assert_true(st.late > 0);
    assert_true(c.n < n_single);
    collected_free(&c);
    secdet_engine_free(e);
}

static void test_forwarded_event_for_an_unknown_rule(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(RULES, &c, 0);
    sd_engine_set_external_watermark(e);
    const char *ev = "{\"k\":\"fail\"}";
    assert_int_equal(sd_engine_push_forwarded(e, "jsonl", "nope", 0, ev, strlen(ev)), SECDET_ERR_INVALID_ARG);
    assert_int_equal(sd_engine_push_forwarded(e, "jsonl", "burst", 0, "{", 1), SECDET_ERR_DECODE);
    secdet_stats st;
    secdet_stats_get(e, &st);
    assert_int_equal(st.malformed, 2);
    collected_free(&c);
    secdet_engine_free(e);
}

/* Stage 2 applies a throttled stateless rule in event-time order: the
 * earliest event of the hour goes out, whatever arrived first. */
static void test_stage2_throttle_in_event_time_order(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(RULES, &c, 0);
    sd_engine_set_external_watermark(e);
    char j1[128], j2[128], t1[40], t2[40];
    fmt_time(5000, t2, sizeof t2);
    fmt_time(1000, t1, sizeof t1);
    snprintf(j2, sizeof j2, "{\"eventTime\":\"%s\",\"k\":\"root\",\"ip\":\"x\",\"n\":2}", t2);
    snprintf(j1, sizeof j1, "{\"eventTime\":\"%s\",\"k\":\"root\",\"ip\":\"x\",\"n\":1}", t1);
    int64_t ns = (int64_t)BASE_S * 1000000000;
    assert_int_equal(sd_engine_push_forwarded(e, "jsonl", "root", ns + 5000000000LL, j2, strlen(j2)), SECDET_OK);
    assert_int_equal(sd_engine_push_forwarded(e, "jsonl", "root", ns + 1000000000LL, j1, strlen(j1)), SECDET_OK);
    assert_int_equal(c.n, 0); /* held until the watermark passes */
    sd_engine_set_watermark(e, ns + 10000000000LL);
    assert_int_equal(c.n, 1);
    char *t = str_field(&c, 0, "time");
    assert_string_equal(t, "2024-01-01T00:00:01Z");
    free(t);
    char *m = str_field(&c, 0, "message");
    assert_string_equal(m, "root x");
    free(m);
    collected_free(&c);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stage1_forwards_what_needs_state),
        cmocka_unit_test(test_two_stages_equal_one_engine),
        cmocka_unit_test(test_two_stages_equal_one_engine_across_a_move),
        cmocka_unit_test(test_own_watermark_would_lose_alerts),
        cmocka_unit_test(test_forwarded_event_for_an_unknown_rule),
        cmocka_unit_test(test_stage2_throttle_in_event_time_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
