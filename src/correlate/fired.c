/* fired.c — alerts that are due, waiting for the engine.
 *
 * Applying a record can complete an alert; the correlator throttles it (the
 * rule's `throttle`, by the record's throttle key) and keeps it as a value —
 * times, counts, the group key, the firing record's aux bytes and
 * referenced sample events — in a FIFO, and the engine takes them after the
 * step (sd_corr_advance, sd_corr_flush, sd_corr_set_watermark) that made them due.
 * So nothing here calls out of the correlator, and the engine builds every
 * alert at one place of its own, never from inside the correlator's loops.
 *
 * The queue is transient (drained after every step) and is not counted in
 * the state's bytes; it holds at most the alerts one step completes.
 */
#include <stdlib.h>
#include <string.h>

#include "correlate/corr_int.h"

static void fired_push(corr *c, const corr_fired *f) {
    if (c->nfired == c->capfired) {
        size_t cap = c->capfired ? c->capfired * 2 : 16;
        fired_item **q = malloc(cap * sizeof *q);
        if (!q) return;
        for (size_t i = 0; i < c->nfired; i++) q[i] = c->fired[(c->fired_head + i) % c->capfired];
        free(c->fired);
        c->fired = q;
        c->capfired = cap;
        c->fired_head = 0;
    }
    size_t n = sizeof(fired_item) + (size_t)f->key_len + f->aux_len;
    fired_item *it = malloc(n);
    corr_event **evs = malloc(f->nevents * sizeof *evs);
    if (!it || !evs) {
        free(it);
        free(evs);
        return;
    }
    it->f = *f;
    if (f->key_len) memcpy(it->data, f->key, f->key_len);
    if (f->aux_len) memcpy(it->data + f->key_len, f->aux, f->aux_len);
    it->f.key = it->data;
    it->f.aux = it->data + f->key_len;
    for (uint32_t i = 0; i < f->nevents; i++) {
        evs[i] = sd_event_open(c, f->events[i]); /* a compressed sample is opened here, once */
        if (!evs[i]) {
            while (i-- > 0) sd_event_unref(c, evs[i]);
            free(it);
            free(evs);
            return;
        }
    }
    it->f.events = evs;
    it->f.item = it;
    c->fired[(c->fired_head + c->nfired) % c->capfired] = it;
    c->nfired++;
}

static int64_t throttle_ns(const vm_rule *r) {
    int64_t ms = r->throttle_ms < 0 ? 0 : r->throttle_ms;
    return ms > INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000;
}

void sd_corr_fire_kept(corr *c, uint32_t rule_ix, const char *tkey, uint32_t tkey_len, const char *aux,
                       uint32_t aux_len, corr_fired *f) {
    if (f->nevents == 0 || !c->prog || rule_ix >= c->prog->nrules) return;
    const vm_rule *rule = &c->prog->rules[rule_ix];
    /* The throttle runs here, as the alert fires in event-time order: its
     * state must see the alerts in the order the records are applied, with
     * the expiry of throttles driven by the same watermark. */
    if (rule->has_throttle &&
        !sd_corr_throttle(c, rule_ix, tkey, tkey_len, f->time_ns, throttle_ns(rule), &f->suppressed))
        return;
    f->aux = aux;
    f->aux_len = aux_len;
    fired_push(c, f);
}

void sd_corr_fire(corr *c, const corr_rec *r, corr_fired *f) {
    sd_corr_fire_kept(c, r->rule, rec_tkey(r), r->tkey_len, rec_aux(r), r->aux_len, f);
}

bool sd_corr_take_fired(corr *c, corr_fired *out) {
    if (c->nfired == 0) return false;
    fired_item *it = c->fired[c->fired_head];
    c->fired_head = (c->fired_head + 1) % c->capfired;
    c->nfired--;
    *out = it->f;
    return true;
}

void sd_corr_fired_release(corr *c, corr_fired *f) {
    fired_item *it = f->item;
    if (!it) return;
    for (uint32_t i = 0; i < it->f.nevents; i++) sd_event_unref(c, it->f.events[i]);
    free(it->f.events);
    free(it);
    memset(f, 0, sizeof *f);
}

void sd_fired_clear(corr *c) {
    while (c->nfired) {
        corr_fired f;
        sd_corr_take_fired(c, &f);
        sd_corr_fired_release(c, &f);
    }
    free(c->fired);
    c->fired = NULL;
    c->capfired = c->fired_head = 0;
}
