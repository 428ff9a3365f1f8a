/* test_stage_records.c — forwarded correlation records (outer.h,
 * sd_engine_set_forward_records, sd_engine_push_record; what `secdet scan
 * -j` does, src/engine/scan_split.c): a reader forwards the record its
 * correlator would have kept of each match (a throttled stateless rule's
 * match as a match), correlators keep them without parsing the event, and
 * the alerts, ids included, are those of one engine reading everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_stage_util.h"

/* Counts, a distinct count and a sum whose messages read the event, a
 * throttle by another key than the group, sequences with keys per step, a
 * count rule as a step, an absence, and a throttled stateless rule. */
static const char *const RULES =
    "rule fail3 { where .k == \"fail\" count >= 3 within 1m by .u private }\n"
    "rule burst { where .k == \"fail\" count >= 2 within 1m by .u throttle 5m by .ip output \"{count} {.i}\" }\n"
    "rule spread { where .k == \"fail\" distinct .ip >= 2 within 2m by .u output \"{distinct} {.i} {.o}\" }\n"
    "rule total { where .k == \"fail\" sum .n >= 20 within 1m by .ip output \"{sum} {.i}\" }\n"
    "rule xkeys { sequence within 2m { a: .k == \"fail\" by .ip; b: .k == \"b\" by .u } output \"x {.i} {group}\" }\n"
    "rule aggstep { sequence within 3m by .ip { f: fail3; b: .k == \"b\" } }\n"
    "rule absent { sequence within 4s by .ip { a: .k == \"a\"; not b: .k == \"b\" } output \"abs {.i}\" }\n"
    "rule root { where .k == \"a\" throttle 1m by .ip output \"root {.i}\" }\n"
    "rule plain { where .k == \"b\" and .n == 3 }\n";

#define EVENTS 900
static void push_event(secdet_engine *e, int i) {
    static const char *const kinds[] = {"fail", "fail", "a", "b", "noise"};
    uint32_t h = (uint32_t)i * 2654435761u;
    char f[200];
    snprintf(f, sizeof f, "\"k\":\"%s\",\"ip\":\"h%u\",\"u\":\"h%u\",\"n\":%u,\"o\":%d,\"i\":%d", kinds[(h >> 8) % 5],
             (h >> 16) % 3, (h >> 20) % 3, (h >> 24) % 9, i % 2, i);
    push_at(e, (int64_t)i * 900, f);
}

/* A forward with its bytes copied. */
typedef struct rec {
    engine_forward f;
    char *bytes;
} rec;

typedef struct recs {
    size_t n;
    rec r[8192];
} recs;

static char *copy_in(char *d, const char **s, size_t n) {
    if (n) memcpy(d, *s, n);
    *s = d;
    return d + n + 1;
}

static void on_record(void *user, const engine_forward *f) {
    recs *w = user;
    assert_true(w->n < sizeof w->r / sizeof w->r[0]);
    rec *d = &w->r[w->n++];
    d->f = *f;
    size_t rl = strlen(f->rule), sl = strlen(f->source);
    d->bytes = calloc(1, rl + sl + f->key_len + f->vals_len + f->tkey_len + f->aux_len + f->len + 7);
    char *p = copy_in(d->bytes, &d->f.rule, rl);
    p = copy_in(p, &d->f.source, sl);
    p = copy_in(p, &d->f.key, f->key_len);
    p = copy_in(p, &d->f.vals, f->vals_len);
    p = copy_in(p, &d->f.tkey, f->tkey_len);
    p = copy_in(p, &d->f.aux, f->aux_len);
    (void)copy_in(p, &d->f.json, f->len);
}

/* The partition of a forward, as scan_split.c picks it: a throttled
 * aggregation by its rule alone, else by rule and key. */
static uint32_t part_of(const engine_forward *f, uint32_t nparts) {
    uint32_t h = 2166136261u;
    for (const char *s = f->rule; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    for (uint32_t i = 0; !f->throttled && i < f->key_len; i++) h = (h ^ (uint8_t)f->key[i]) * 16777619u;
    return h % nparts;
}

/* The alerts of c whole (ids, counts, messages, suppressed counts), sorted,
 * one a line. */
static char *alerts_of(collected *c) {
    qsort(c->json, c->n, sizeof c->json[0], cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < c->n; i++) len += strlen(c->json[i]) + 1;
    char *s = calloc(1, len);
    for (size_t i = 0; i < c->n; i++) {
        strcat(s, c->json[i]);
        strcat(s, "\n");
    }
    return s;
}

static char *one_engine_alerts(size_t *n) {
    collected c;
    secdet_engine *e = engine_with(RULES, &c, 0);
    for (int i = 0; i < EVENTS; i++) push_event(e, i);
    assert_int_equal(secdet_flush(e), SECDET_OK);
    *n = c.n;
    char *all = alerts_of(&c);
    collected_free(&c);
    secdet_engine_free(e);
    return all;
}

static void test_records_give_the_alerts_of_one_engine(void **state) {
    (void)state;
    enum { NPARTS = 2 };
    collected c;
    recs *w = calloc(1, sizeof *w);
    secdet_engine *reader = engine_with(RULES, &c, 0);
    sd_engine_set_forward(reader, on_record, w);
    sd_engine_set_forward_records(reader, true);
    secdet_engine *p[NPARTS];
    /* Correlators as scan_split.c makes them: their own time, moved past each event (sd_engine_advance). */
    for (int k = 0; k < NPARTS; k++) p[k] = engine_with(RULES, &c, 0);
    size_t fed = 0, records = 0, matches = 0;
    for (int i = 0; i < EVENTS; i++) {
        push_event(reader, i);
        for (; fed < w->n; fed++) {
            const engine_forward *f = &w->r[fed].f;
            secdet_engine *q = p[part_of(f, NPARTS)];
            if (f->record) {
                assert_int_equal(sd_engine_push_record(q, f), SECDET_OK);
                records++;
            } else {
                assert_string_equal(f->rule, "root"); /* the throttled stateless rule */
                assert_int_equal(sd_engine_push_forwarded_group(q, f->source, f->rule, f->key, f->key_len, f->time_ns,
                                                                f->json, f->len),
                                 SECDET_OK);
                matches++;
            }
        }
        int64_t t = ((int64_t)BASE_S * 1000 + (int64_t)i * 900) * 1000000;
        for (int k = 0; k < NPARTS; k++) sd_engine_advance(p[k], t);
    }
    assert_true(records > 100 && matches > 20);
    for (int k = 0; k < NPARTS; k++) assert_int_equal(secdet_flush(p[k]), SECDET_OK);
    secdet_stats st;
    secdet_stats_get(reader, &st);
    assert_int_equal(st.groups, 0); /* the reader keeps no state */
    size_t n_one = 0;
    char *want = one_engine_alerts(&n_one);
    assert_true(n_one > 30);
    assert_true(count_rule(&c, "burst") > 0 && count_rule(&c, "spread") > 0 && count_rule(&c, "total") > 0);
    assert_true(count_rule(&c, "xkeys") > 0 && count_rule(&c, "aggstep") > 0 && count_rule(&c, "absent") > 0);
    assert_int_equal(c.n, n_one);
    char *got = alerts_of(&c);
    assert_string_equal(got, want);
    free(got);
    free(want);
    for (size_t i = 0; i < w->n; i++) free(w->r[i].bytes);
    free(w);
    collected_free(&c);
    for (int k = 0; k < NPARTS; k++) secdet_engine_free(p[k]);
    secdet_engine_free(reader);
}

/* A record that names a rule this engine does not have at that index. */
static void test_record_for_another_rule(void **state) {
    (void)state;
    collected c;
    secdet_engine *e = engine_with(RULES, &c, 0);
    const char *json = "{\"k\":\"fail\"}";
    engine_forward f = {.rule = "burst", .source = "jsonl", .json = json, .len = strlen(json), .record = true};
    f.rule_index = 0; /* fail3 */
    assert_int_equal(sd_engine_push_record(e, &f), SECDET_ERR_INVALID_ARG);
    f.rule_index = 1000;
    assert_int_equal(sd_engine_push_record(e, &f), SECDET_ERR_INVALID_ARG);
    f.rule_index = 1;
    f.record = false; /* a match is not a record */
    assert_int_equal(sd_engine_push_record(e, &f), SECDET_ERR_INVALID_ARG);
    assert_int_equal(STAT(e, malformed), 2);
    assert_int_equal(c.n, 0);
    collected_free(&c);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_give_the_alerts_of_one_engine),
        cmocka_unit_test(test_record_for_another_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
