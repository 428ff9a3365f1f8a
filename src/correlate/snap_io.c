/* snap_io.c — events and sample rings in a snapshot (snap_int.h). */
#include <stdlib.h>

#include "correlate/snap_int.h"

void sd_snap_w_event(writer *w, corr_event *ev) {
    if (event_is_z(ev)) { /* held by one sample: written whole, as its JSON */
        w_u32(w, w->nevents++);
        uint32_t len = ev->len & ~CORR_EV_Z;
        w_u32(w, len);
        sd_event_append_text(w->c, ev, w->b);
        return;
    }
    if (ev->snap_gen == w->gen) {
        w_u32(w, ev->snap_idx);
        return;
    }
    ev->snap_gen = w->gen;
    ev->snap_idx = w->nevents++;
    w_u32(w, ev->snap_idx);
    w_str(w, ev->json, ev->len);
}

void sd_snap_w_samples(writer *w, const corr *c, const corr_group *g) {
    w_u32(w, g->sn);
    for (uint32_t i = 0; i < g->sn; i++) {
        w_i64(w, 0); /* a sample's time: the format has room for it, nothing reads it */
        w_event(w, sample_ring_c(g)[(g->shead + i) % g->scap]);
    }
}

corr_event *sd_snap_r_event(reader *r, corr *c) {
    uint32_t idx = r_u32(r);
    if (r->bad) return NULL;
    if (idx < r->nevents) return r->events[idx];
    if (idx != r->nevents) {
        r->bad = true;
        return NULL;
    }
    uint32_t len;
    const char *s = r_str(r, &len);
    if (!s) return NULL;
    if (r->nevents == r->capevents) {
        uint32_t cap = r->capevents ? r->capevents * 2 : 64;
        corr_event **p = realloc(r->events, cap * sizeof *p);
        if (!p) {
            r->bad = true;
            return NULL;
        }
        r->events = p;
        r->capevents = cap;
    }
    corr_event *ev = sd_corr_event_new(c, s, len);
    if (!ev) {
        r->bad = true;
        return NULL;
    }
    sd_event_ref(ev); /* the reader's own reference, dropped at the end */
    r->events[r->nevents++] = ev;
    return ev;
}

bool sd_snap_r_samples(reader *r, corr *c, corr_group *g, bool keep) {
    uint32_t n = r_u32(r); /* more than max_samples: the ring keeps the newest */
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        (void)r_i64(r); /* its time: not kept */
        corr_event *ev = r_event(r, c);
        if (ev && keep && sd_samples_push(c, g, ev) != 0) return false;
    }
    return !r->bad;
}
