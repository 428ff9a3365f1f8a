/* sum.c — `sum P >= N within DUR [by K, ...]`.
 *
 * Per group a ring of (time, value) entries inside the window, their
 * running total, and the ring of the last max_samples events. A record at
 * time t first drops the entries older than t − DUR (inclusive window, as
 * for count), adds its value, and when the total reaches N (passes it, for
 * `>`) the alert fires with `count` (entries in the window) and `sum`, and
 * the group is freed. An event whose P holds no number makes no record
 * (eval_agg.c). The total is kept by adding and subtracting, exact for
 * integers up to 2^53 (byte counts); a window that empties starts from 0.
 */
#include <string.h>

#include "correlate/snap_int.h"

void sd_corr_sum_put(buf *b, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    unsigned char x[8];
    for (int i = 0; i < 8; i++) x[i] = (unsigned char)(bits >> (8 * i));
    sd_buf_append(b, x, 8);
}

bool sd_sum_value(const corr_rec *r, double *v) {
    if (r->vals_len != 8) return false;
    const unsigned char *x = (const unsigned char *)r->data + r->key_len;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits |= (uint64_t)x[i] << (8 * i);
    memcpy(v, &bits, sizeof *v);
    return true;
}

void sd_sum_free_state(corr *c, corr_group *g) {
    sd_mem_free(c, g, g->u.m.ents, g->u.m.cap * sizeof(sum_ent));
    memset(&g->u.m, 0, sizeof g->u.m);
}

static int sum_push(corr *c, corr_group *g, int64_t t, double v) {
    if (g->u.m.n == g->u.m.cap) {
        uint32_t cap = g->u.m.cap ? g->u.m.cap + g->u.m.cap / 2 + 1 : 4;
        void *ring = g->u.m.ents;
        if (sd_ring_resize(c, g, &ring, &g->u.m.head, g->u.m.n, &g->u.m.cap, cap, sizeof(sum_ent)) != 0) return -1;
        g->u.m.ents = ring;
    }
    g->u.m.ents[(g->u.m.head + g->u.m.n) % g->u.m.cap] = (sum_ent){t, v};
    g->u.m.n++;
    g->u.m.total += v;
    return 0;
}

static void drop_before(corr_group *g, int64_t lo) {
    while (g->u.m.n > 0 && g->u.m.ents[g->u.m.head].t < lo) {
        g->u.m.total -= g->u.m.ents[g->u.m.head].v;
        g->u.m.head = (g->u.m.head + 1) % g->u.m.cap;
        g->u.m.n--;
    }
    if (g->u.m.n == 0) g->u.m.total = 0;
}

void sd_sum_apply(corr *c, const corr_rec *r) {
    const vm_rule *rule = &c->prog->rules[r->rule];
    double v;
    if (!sd_sum_value(r, &v)) return;
    int64_t dur = within_ns(rule);
    uint64_t h = sd_corr_hash(r->rule, GK_SUM, r->data, r->key_len);
    corr_group *g = sd_group_find(c, r->rule, GK_SUM, r->data, r->key_len, h);
    if (!g && !(g = sd_group_new(c, r->rule, GK_SUM, r->data, r->key_len, h))) return;
    drop_before(g, t_add(r->t, -dur));
    if (sum_push(c, g, r->t, v) != 0 || sd_samples_push(c, g, r->ev) != 0) return;
    sd_group_touch(c, g);
    double total = g->u.m.total;
    if (rule->sum_strict ? total > rule->sum_min : total >= rule->sum_min) {
        sd_window_fire(
            c, g, r,
            &(corr_fired){.first_ns = g->u.m.ents[g->u.m.head].t, .count = g->u.m.n, .has_sum = true, .sum = total});
        return;
    }
    sd_group_set_expiry(c, g, t_add(r->t, dur));
}

void sd_sum_snap_write(writer *w, const corr *c, const corr_group *g) {
    w_u32(w, g->u.m.n);
    for (uint32_t i = 0; i < g->u.m.n; i++) {
        const sum_ent *e = &g->u.m.ents[(g->u.m.head + i) % g->u.m.cap];
        w_i64(w, e->t);
        w_f64(w, e->v);
    }
    sd_snap_w_samples(w, c, g);
}

bool sd_sum_snap_read(reader *r, corr *c, corr_group *g) {
    uint32_t n = r_u32(r);
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        int64_t t = r_i64(r);
        double v = r_f64(r);
        if (g && sum_push(c, g, t, v) != 0) return false;
    }
    return !r->bad && sd_snap_r_samples(r, c, g, g != NULL);
}
