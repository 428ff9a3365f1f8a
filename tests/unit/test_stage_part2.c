/* test_stage_part2.c — Part 2's correlation across the two-stage scale-out
 * (docs/scale-out.md), without Kafka: stage 1 forwards one match per group
 * (a sequence whose steps have keys of their own may make several groups of
 * one event), stage 2 keeps only the group it is told (what src/kafka/
 * stage2.c passes: the forward's key), its partitions move by snapshot
 * bytes, and absences fire as the partitions' watermarks move. The alerts
 * must be exactly those of one engine reading everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_stage_util.h"

static const char *const RULES =
    "rule fail3 { where .k == \"fail\" count >= 3 within 1m by .u private }\n"
    "rule xkeys { sequence within 2m { a: .k == \"fail\" by .ip; b: .k == \"b\" by .u } output \"x {.i} {group}\" }\n"
    "rule xboth { sequence within 30s { a: .k == \"fail\" by .ip; b: .k == \"fail\" or .k == \"b\" by .u } }\n"
    "rule absent { sequence within 1m by .ip { a: .k == \"a\"; not b: .k == \"b\" } output \"abs {.i} {.o}\" }\n"
    "rule lead { sequence within 2s by .u { not a: .k == \"a\"; b: .k == \"b\" } }\n"
    "rule counted { sequence within 3m by .ip { f: .k == \"fail\" count >= 2 within 30s; b: .k == \"b\" } }\n"
    "rule aggstep { sequence within 3m by .ip { f: fail3; b: .k == \"b\" } }\n"
    "rule unord { sequence unordered within 1m by .u { a: .k == \"a\"; b: .k == \"b\"; f: .k == \"fail\" } }\n"
    "rule total { where .k == \"fail\" sum .n >= 20 within 1m by .ip output \"{sum}\" }\n";

/* Origin o's event i at (2i + o) * 900 ms: fields where ip and user share values. */
#define PER_ORIGIN 400
static void push_event(secdet_engine *e, int o, int i) {
    static const char *const kinds[] = {"fail", "fail", "a", "b", "noise"};
    uint32_t h = (uint32_t)(o * 7919 + i) * 2654435761u;
    char f[200];
    snprintf(f, sizeof f, "\"k\":\"%s\",\"ip\":\"h%u\",\"u\":\"h%u\",\"n\":%u,\"o\":%d,\"i\":%d", kinds[(h >> 8) % 5],
             (h >> 16) % 3, (h >> 20) % 3, (h >> 24) % 9, o, i);
    push_at(e, (int64_t)(2 * i + o) * 900, f);
}

static void two_stages(size_t move, size_t nparts) {
    collected c1, c2, single;
    fwds *w = calloc(1, sizeof *w);
    secdet_engine *s1 = engine_with(RULES, &c1, 0);
    sd_engine_set_forward(s1, on_forward, w);
    memset(&c2, 0, sizeof c2);
    part p[3];
    for (size_t i = 0; i < nparts; i++) p[i] = (part){.e = stage2_engine(s1, &c2)};
    size_t fed = 0;
    for (int o = 0; o < 2; o++) {
        for (int i = 0; i < PER_ORIGIN; i++) {
            push_event(s1, o, i);
            for (; fed < w->n; fed++) {
                const fwd *f = &w->f[fed];
                part *q = &p[key_hash(f) % nparts];
                assert_int_equal(sd_engine_push_forwarded_group(q->e, f->source, f->rule, f->key, f->key_len,
                                                                f->time_ns, f->json, strlen(f->json)),
                                 SECDET_OK);
                if (fed == move) move_partition(&p[nparts - 1], s1, &c2, "p"); /* the last, to another instance */
            }
            int64_t t = ((int64_t)BASE_S * 1000 + (int64_t)(2 * i + o) * 900) * 1000000;
            for (size_t k = 0; k < nparts; k++) part_report(&p[k], o, t);
        }
    }
    for (size_t i = 0; i < nparts; i++) assert_int_equal(secdet_flush(p[i].e), SECDET_OK);
    assert_int_equal(c1.n, 0); /* every rule here keeps state: stage 1 alerts nothing */

    secdet_engine *one = engine_with(RULES, &single, 0);
    for (int i = 0; i < PER_ORIGIN; i++)
        for (int o = 0; o < 2; o++) push_event(one, o, i);
    assert_int_equal(secdet_flush(one), SECDET_OK);
    static const char *const rules[] = {"xkeys", "xboth", "absent", "lead", "counted", "aggstep", "unord", "total"};
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        if (count_rule(&single, rules[r]) == 0) fail_msg("the stream never fires %s", rules[r]);
    }
    char *want = ids_of(&single);
    char *got = ids_of(&c2);
    assert_int_equal(c2.n, single.n);
    assert_string_equal(got, want);
    free(want);
    free(got);
    collected_free(&c2);
    collected_free(&single);
    fwds_free(w);
    free(w);
    collected_free(&c1);
    for (size_t i = 0; i < nparts; i++) secdet_engine_free(p[i].e);
    secdet_engine_free(one);
    secdet_engine_free(s1);
}

static void test_two_stages_equal_one_engine(void **state) {
    (void)state;
    two_stages(SIZE_MAX, 2);
    two_stages(SIZE_MAX, 3);
}

static void test_two_stages_equal_one_engine_across_a_move(void **state) {
    (void)state;
    two_stages(300, 2);
    two_stages(900, 3);
}

/* One event, two groups: a forward per group, each with its key. */
static void test_stage1_forwards_each_group_of_an_event(void **state) {
    (void)state;
    collected c;
    fwds *w = calloc(1, sizeof *w);
    secdet_engine *e = engine_with("rule x { sequence within 1m { a: .k == 1 by .p; b: .j == 1 by .q } }\n", &c, 0);
    sd_engine_set_forward(e, on_forward, w);
    push_at(e, 0, "\"k\":1,\"j\":1,\"p\":\"one\",\"q\":\"two\"");
    push_at(e, 1, "\"k\":1,\"j\":1,\"p\":\"same\",\"q\":\"same\"");
    assert_int_equal(w->n, 3);
    assert_memory_equal(w->f[0].key, "\"one\"", 6);
    assert_memory_equal(w->f[1].key, "\"two\"", 6);
    assert_memory_equal(w->f[2].key, "\"same\"", 7);
    fwds_free(w);
    free(w);
    collected_free(&c);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_stages_equal_one_engine),
        cmocka_unit_test(test_two_stages_equal_one_engine_across_a_move),
        cmocka_unit_test(test_stage1_forwards_each_group_of_an_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
