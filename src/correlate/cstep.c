/* cstep.c — the counts of counted sequence steps (see cstep.h). */
#include "correlate/cstep.h"

#include <string.h>

void sd_cstep_subkey(const vm_rule *rule, const corr_rec *r, uint32_t step, const char **key, uint32_t *klen) {
    *key = "";
    *klen = 0;
    if (!rule->steps[step].nsub) return;
    /* Walk the values blob: one key per count-rule step the record satisfies, in step order. */
    const unsigned char *p = (const unsigned char *)r->data + r->key_len;
    uint32_t left = r->vals_len;
    for (uint32_t i = 0; i <= step && i < rule->nsteps; i++) {
        if (!rule->steps[i].nsub || !(r->mask & ((uint64_t)1 << i))) continue;
        if (left < 4) return;
        uint32_t n = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (n > left - 4) return;
        if (i == step) {
            *key = (const char *)p + 4;
            *klen = n;
            return;
        }
        p += 4 + n;
        left -= 4 + n;
    }
}

cs_sub *sd_cstep_sub(corr *c, corr_group *g, cstep *cs, const char *key, uint32_t klen) {
    for (uint32_t i = 0; i < cs->nsubs; i++)
        if (cs->subs[i].klen == klen && (klen == 0 || memcmp(cs->subs[i].key, key, klen) == 0)) return &cs->subs[i];
    if (cs->nsubs == cs->capsubs) {
        uint32_t cap = cs->capsubs ? cs->capsubs * 2 : 1;
        cs_sub *p = sd_mem_realloc(c, g, cs->subs, cs->capsubs * sizeof *p, cap * sizeof *p);
        if (!p) return NULL;
        cs->subs = p;
        cs->capsubs = cap;
    }
    cs_sub *s = &cs->subs[cs->nsubs];
    memset(s, 0, sizeof *s);
    if (klen) {
        s->key = sd_mem_alloc(c, g, klen);
        if (!s->key) return NULL;
        memcpy(s->key, key, klen);
        s->klen = klen;
    }
    cs->nsubs++;
    return s;
}

int sd_cstep_push(corr *c, corr_group *g, cs_sub *s, int64_t t, uint64_t seq, uint64_t limit) {
    if (limit == 0) limit = 1;
    if (s->n >= limit) { /* the oldest can no longer be among the newest `limit` */
        s->head = (s->head + 1) % s->cap;
        s->n--;
    }
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap + s->cap / 2 + 1 : 4;
        if (cap > limit) cap = (uint32_t)limit;
        if (cap <= s->n) cap = s->n + 1;
        void *ring = s->hits;
        if (sd_ring_resize(c, g, &ring, &s->head, s->n, &s->cap, cap, sizeof(cs_hit)) != 0) return -1;
        s->hits = ring;
    }
    s->hits[(s->head + s->n) % s->cap] = (cs_hit){t, seq};
    s->n++;
    return 0;
}

void sd_cstep_drop_older(cs_sub *s, int64_t lo) {
    while (s->n > 0 && s->hits[s->head].t < lo) {
        s->head = (s->head + 1) % s->cap;
        s->n--;
    }
}

void sd_cstep_drop_upto(cs_sub *s, int64_t t, uint64_t seq) {
    while (s->n > 0 && !cs_before(t, seq, s->hits[s->head].t, s->hits[s->head].seq)) {
        s->head = (s->head + 1) % s->cap;
        s->n--;
    }
}

bool sd_cstep_any_between(const cstep *cs, int64_t at, uint64_t as, int64_t bt, uint64_t bs) {
    for (uint32_t i = 0; i < cs->nsubs; i++) {
        const cs_sub *s = &cs->subs[i];
        for (uint32_t k = 0; k < s->n; k++) {
            const cs_hit *h = &s->hits[(s->head + k) % s->cap];
            if (cs_before(at, as, h->t, h->seq) && cs_before(h->t, h->seq, bt, bs)) return true;
        }
    }
    return false;
}

static void sub_free(corr *c, corr_group *g, cs_sub *s) {
    sd_mem_free(c, g, s->hits, s->cap * sizeof(cs_hit));
    if (s->klen) sd_mem_free(c, g, s->key, s->klen);
    memset(s, 0, sizeof *s);
}

void sd_cstep_compact(corr *c, corr_group *g, cstep *cs) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < cs->nsubs; i++) {
        if (cs->subs[i].n == 0)
            sub_free(c, g, &cs->subs[i]);
        else
            cs->subs[k++] = cs->subs[i];
    }
    cs->nsubs = k;
}

int64_t sd_cstep_newest(const cstep *cs) {
    int64_t t = INT64_MIN;
    for (uint32_t i = 0; i < cs->nsubs; i++) {
        const cs_sub *s = &cs->subs[i];
        if (s->n && s->hits[(s->head + s->n - 1) % s->cap].t > t) t = s->hits[(s->head + s->n - 1) % s->cap].t;
    }
    return t;
}

void sd_cstep_free(corr *c, corr_group *g, cstep *cs) {
    for (uint32_t i = 0; i < cs->nsubs; i++) sub_free(c, g, &cs->subs[i]);
    sd_mem_free(c, g, cs->subs, cs->capsubs * sizeof(cs_sub));
    memset(cs, 0, sizeof *cs);
}

void sd_cstep_write(writer *w, const cstep *cs) {
    w_u32(w, cs->nsubs);
    for (uint32_t i = 0; i < cs->nsubs; i++) {
        const cs_sub *s = &cs->subs[i];
        w_str(w, s->key ? s->key : "", s->klen);
        w_u32(w, s->n);
        for (uint32_t k = 0; k < s->n; k++) {
            const cs_hit *h = &s->hits[(s->head + k) % s->cap];
            w_i64(w, h->t);
            w_u64(w, h->seq);
        }
    }
}

bool sd_cstep_read(reader *r, corr *c, corr_group *g, cstep *cs, uint64_t limit) {
    uint32_t nsubs = r_u32(r);
    for (uint32_t i = 0; i < nsubs && !r->bad; i++) {
        uint32_t klen;
        const char *key = r_str(r, &klen);
        uint32_t n = r_u32(r);
        if (!key || r->bad) return false;
        cs_sub *s = g ? sd_cstep_sub(c, g, cs, key, klen) : NULL;
        if (g && !s) return false;
        for (uint32_t k = 0; k < n && !r->bad; k++) {
            int64_t t = r_i64(r);
            uint64_t seq = r_u64(r);
            if (s && sd_cstep_push(c, g, s, t, seq, limit) != 0) return false;
        }
    }
    return !r->bad;
}
