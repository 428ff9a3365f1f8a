/* test_stage_util.h — helpers shared by the two-stage scale-out tests
 * (test_stage.c, test_stage_part2.c), on top of test_correlate_util.h:
 * stage 1's forwards collected, a stage-2 partition that moves its
 * watermark on the slowest of two origins (as src/kafka/stage2.c does),
 * the partition a forward goes to, and a partition moved to a fresh engine
 * by snapshot bytes. A test may define MAX_FWD (forwards it may collect)
 * before including this. */
#ifndef SECDET_TEST_STAGE_UTIL_H
#define SECDET_TEST_STAGE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_correlate_util.h"

#include "engine/engine.h"

#ifndef MAX_FWD
#define MAX_FWD 8192
#endif

typedef struct fwd {
    char *rule, *source, *json, *key;
    uint32_t key_len;
    int64_t time_ns;
    int origin;
} fwd;

typedef struct fwds {
    size_t n;
    int origin; /* of the event being pushed */
    fwd f[MAX_FWD];
} fwds;

static inline void on_forward(void *user, const engine_forward *f) {
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
    d->origin = w->origin;
}

static inline void fwds_free(fwds *w) {
    for (size_t i = 0; i < w->n; i++) {
        free(w->f[i].rule);
        free(w->f[i].source);
        free(w->f[i].json);
        free(w->f[i].key);
    }
    w->n = 0;
}

/* The ids of c, sorted, joined by spaces. */
static inline char *ids_of(collected *c) {
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

/* What the driver does (src/kafka/stage2.c): the watermark is the oldest of
 * the origins' newest times, once both have reported, minus the lateness (0). */
static inline void part_report(part *p, int o, int64_t t) {
    if (!p->known[o] || t > p->max[o]) p->max[o] = t;
    p->known[o] = true;
    if (!p->known[0] || !p->known[1]) return;
    int64_t wm = p->max[0] < p->max[1] ? p->max[0] : p->max[1];
    if (p->wm_set && wm <= p->wm) return;
    p->wm = wm;
    p->wm_set = true;
    sd_engine_set_watermark(p->e, wm);
}

/* The partition hash of a forward: its rule and its key. */
static inline uint32_t key_hash(const fwd *f) {
    uint32_t h = 2166136261u;
    for (const char *s = f->rule; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    for (uint32_t i = 0; i < f->key_len; i++) h = (h ^ (uint8_t)f->key[i]) * 16777619u;
    return h;
}

/* A stage-2 engine with the rules of rules_from, its watermark set from
 * outside, its alerts into c. */
static inline secdet_engine *stage2_engine(const secdet_engine *rules_from, collected *c) {
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

/* Moves partition p to another instance: a fresh stage-2 engine (rules of
 * s1, alerts into c) restored from p's snapshot bytes (named name in
 * diagnostics, of which there must be none) takes p's place. */
static inline void move_partition(part *p, const secdet_engine *s1, collected *c, const char *name) {
    buf b;
    sd_buf_init(&b);
    assert_int_equal(sd_engine_snapshot_bytes(p->e, &b), SECDET_OK);
    secdet_engine *moved = stage2_engine(s1, c);
    diag_list d;
    sd_diag_init(&d);
    assert_int_equal(sd_engine_restore_bytes(moved, b.data, b.len, name, &d), SECDET_OK);
    assert_int_equal(d.count, 0);
    sd_diag_free(&d);
    sd_buf_free(&b);
    secdet_engine_free(p->e);
    p->e = moved;
}

#endif
