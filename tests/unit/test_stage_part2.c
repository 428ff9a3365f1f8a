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

#include "test_correlate_util.h"

#include "engine/engine.h"

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

#define MAX_FWD 8192

typedef struct fwd {
    char *rule, *source, *json, *key;
    uint32_t key_len;
    int64_t time_ns;
} fwd;

typedef struct fwds {
    size_t n;
    fwd f[MAX_FWD];
} fwds;

static void on_forward(void *user, const engine_forward *f) {
    fwds *w = user;
    assert_true(w->n < MAX_FWD);
    fwd *d = &w->f[w->n++];
    d->rule = strdup(f->rule);
    d->source = strdup(f->source);
    d->json = strndup(f->json, f->len);
    d->key = malloc(f->key_len + 1);
    memcpy(d->key, f->key, f->key_len);
    d->key_len = f->key_len;
    d->time_ns = f->time_ns;
}

static void fwds_free(fwds *w) {
    for (size_t i = 0; i < w->n; i++) {
        free(w->f[i].rule);
        free(w->f[i].source);
        free(w->f[i].json);
        free(w->f[i].key);
    }
    w->n = 0;
}

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

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *ids_of(collected *c) {
    qsort(c->id, c->n, sizeof c->id[0], cmp_str);
    size_t len = 1;
    for (size_t i = 0; i < c->n; i++) len += strlen(c->id[i]) + 1;
    char *s = calloc(1, len);
    for (size_t i = 0; i < c->n; i++) {
        strcat(s, c->id[i]);
        strcat(s, " ");
    }
    return s;
}

typedef struct part {
    secdet_engine *e;
    bool known[2];
    int64_t max[2];
    int64_t wm;
    bool wm_set;
} part;

static void part_report(part *p, int o, int64_t t) {
    if (!p->known[o] || t > p->max[o]) p->max[o] = t;
    p->known[o] = true;
    if (!p->known[0] || !p->known[1]) return;
    int64_t wm = p->max[0] < p->max[1] ? p->max[0] : p->max[1];
    if (p->wm_set && wm <= p->wm) return;
    p->wm = wm;
    p->wm_set = true;
    sd_engine_set_watermark(p->e, wm);
}

static uint32_t key_hash(const fwd *f) {
    uint32_t h = 2166136261u;
    for (const char *s = f->rule; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    for (uint32_t i = 0; i < f->key_len; i++) h = (h ^ (uint8_t)f->key[i]) * 16777619u;
    return h;
}

static secdet_engine *stage2_engine(const secdet_engine *rules_from, collected *c) {
    secdet_engine_opts o;
    secdet_engine_opts_init(&o);
    o.lateness_ms = 0;
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(&o, &e), SECDET_OK);
    diag_list d;
    sd_diag_init(&d);
    assert_int_equal(sd_engine_copy_rules(e, rules_from, &d), SECDET_OK);
    sd_diag_free(&d);
    sd_engine_set_external_watermark(e);
    secdet_set_alert_callback(e, on_alert, c);
    return e;
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
                if (fed == move) { /* the last partition moves to another instance */
                    buf b;
                    sd_buf_init(&b);
                    assert_int_equal(sd_engine_snapshot_bytes(p[nparts - 1].e, &b), SECDET_OK);
                    secdet_engine *moved = stage2_engine(s1, &c2);
                    diag_list d;
                    sd_diag_init(&d);
                    assert_int_equal(sd_engine_restore_bytes(moved, b.data, b.len, "p", &d), SECDET_OK);
                    assert_int_equal(d.count, 0);
                    sd_diag_free(&d);
                    sd_buf_free(&b);
                    secdet_engine_free(p[nparts - 1].e);
                    p[nparts - 1].e = moved;
                }
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
        char want[64];
        snprintf(want, sizeof want, "\"rule\":\"%s\"", rules[r]);
        bool seen = false;
        for (size_t i = 0; i < single.n && !seen; i++) seen = strstr(single.json[i], want) != NULL;
        if (!seen) fail_msg("the stream never fires %s", rules[r]);
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
