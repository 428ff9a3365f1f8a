/* zsample.c — sample events of cold groups, kept compressed.
 *
 * At a million groups the sample each group keeps (the compact JSON an alert
 * will carry) is most of the state: 760–890 bytes of a CloudTrail record
 * against ~200 for all the rest. Events of one rule look alike — the same
 * keys, mostly the same values — so a sample is compressed with raw deflate
 * against a preset dictionary: a recent event of the same rule (renewed every
 * CORR_DICT_EVERY samples, so it follows the stream). Synthetic CloudTrail
 * records of 890 bytes become ~60; real ones of 1.3 kB ~250.
 *
 * Only when it pays, and only cold groups: nothing is compressed while the
 * state is under CORR_COLD_SHARE of its cap (deflate costs ~3 µs a sample,
 * which a state far from the cap does not need to spend). Past it, the
 * groups are taken in LRU order from the cold end, leaving the
 * CORR_WARM_GROUPS most recently seen alone, by a sweep between records
 * (sd_cold_sweep, run where the cap is enforced, before any eviction)
 * until the state is back under the share. A group seen again becomes warm:
 * its new sample stays raw until it is swept again; the compressed ones stay
 * compressed. So a group that keeps seeing events (a brute force) never
 * costs a deflate, and a group seen once costs one at most. The groups from c->cold_edge to the LRU tail are the cold ones
 * (state.c keeps that true as groups move and go).
 *
 * A compressed event (corr_zevent) has CORR_EV_Z in its len and belongs to
 * one sample slot (refs 1). It references its dictionary, which therefore
 * stays as long as any event compressed against it. It never leaves the
 * correlator: an alert's events are opened (decompressed into a raw event)
 * as the alert is queued, and a snapshot writes the JSON, so alerts and the
 * snapshot format are what they were.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "correlate/corr_int.h"
#include "util/limits.h"

/* 4 KiB window: an event and its dictionary (the dictionary's last 4 KiB).
 * Level 1 and a small hash: a cold group costs one fast deflate. */
#define Z_WBITS    (-12)
#define Z_LEVEL    1
#define Z_MEMLEVEL 5

typedef struct corr_zevent {
    uint32_t refs;    /* 1 */
    uint32_t len;     /* of the JSON, | CORR_EV_Z */
    uint32_t zlen;    /* bytes of z */
    corr_event *dict; /* what z was compressed against (referenced) */
    unsigned char z[];
} corr_zevent;

typedef struct corr_zip {
    z_stream d, i;
    bool d_ok, i_ok;
    unsigned char *out; /* deflate's output */
    size_t cap;
    corr_event **dict; /* per rule */
    uint32_t *uses;    /* samples compressed against dict[rule] */
    uint32_t ndict;
} corr_zip;

static size_t zevent_size(uint32_t zlen) { return sizeof(corr_zevent) + zlen; }

size_t sd_event_alloc_size(const corr_event *ev) {
    if (event_is_z(ev)) return zevent_size(((const corr_zevent *)(const void *)ev)->zlen);
    return sizeof(corr_event) + ev->len + 1;
}

corr_event *sd_zevent_dict(const corr_event *ev) { return ((const corr_zevent *)(const void *)ev)->dict; }

static corr_zip *zip_get(corr *c) {
    if (!c->zip) c->zip = calloc(1, sizeof *c->zip);
    return c->zip;
}

void sd_zip_dicts_clear(corr *c) {
    corr_zip *z = c->zip;
    if (!z) return;
    for (uint32_t i = 0; i < z->ndict; i++) sd_event_unref(c, z->dict[i]);
    free(z->dict);
    free(z->uses);
    z->dict = NULL;
    z->uses = NULL;
    z->ndict = 0;
}

void sd_zip_free(corr *c) {
    corr_zip *z = c->zip;
    if (!z) return;
    sd_zip_dicts_clear(c);
    if (z->d_ok) deflateEnd(&z->d);
    if (z->i_ok) inflateEnd(&z->i);
    free(z->out);
    free(z);
    c->zip = NULL;
}

/* Inflates ev into out (room for its len). */
static bool inflate_to(corr *c, const corr_zevent *ze, char *out) {
    corr_zip *z = zip_get(c);
    if (!z) return false;
    if (!z->i_ok) {
        if (inflateInit2(&z->i, Z_WBITS) != Z_OK) return false;
        z->i_ok = true;
    } else if (inflateReset(&z->i) != Z_OK) {
        return false;
    }
    if (inflateSetDictionary(&z->i, (const Bytef *)ze->dict->json, ze->dict->len) != Z_OK) return false;
    uint32_t len = ze->len & ~CORR_EV_Z;
    z->i.next_in = (Bytef *)(uintptr_t)ze->z;
    z->i.avail_in = ze->zlen;
    z->i.next_out = (Bytef *)out;
    z->i.avail_out = len;
    return inflate(&z->i, Z_FINISH) == Z_STREAM_END && z->i.avail_out == 0;
}

corr_event *sd_event_open(corr *c, corr_event *ev) {
    if (!event_is_z(ev)) {
        sd_event_ref(ev);
        return ev;
    }
    const corr_zevent *ze = (const corr_zevent *)(const void *)ev;
    uint32_t len = ze->len & ~CORR_EV_Z;
    corr_event *raw = sd_mem_alloc(c, NULL, sizeof(corr_event) + len + 1);
    if (!raw) return NULL;
    if (!inflate_to(c, ze, raw->json)) {
        sd_mem_free(c, NULL, raw, sizeof(corr_event) + len + 1);
        return NULL;
    }
    raw->refs = 1;
    raw->len = len;
    raw->snap_gen = 0;
    raw->snap_idx = 0;
    raw->json[len] = 0;
    return raw;
}

void sd_event_append_text(corr *c, const corr_event *ev, buf *b) {
    if (!event_is_z(ev)) {
        sd_buf_append(b, ev->json, ev->len);
        return;
    }
    const corr_zevent *ze = (const corr_zevent *)(const void *)ev;
    uint32_t len = ze->len & ~CORR_EV_Z;
    if (b->oom || !sd_buf_reserve(b, (size_t)len + 1) || !inflate_to(c, ze, b->data + b->len)) {
        b->oom = true;
        return;
    }
    b->len += len;
}

/* The dictionary for the next sample of `rule`, or NULL when ev becomes it
 * (it then stays raw). */
static corr_event *dict_for(corr *c, corr_zip *z, uint32_t rule, corr_event *ev) {
    if (rule >= z->ndict) {
        uint32_t n = c->prog && c->prog->nrules > rule ? c->prog->nrules : rule + 1;
        corr_event **d = realloc(z->dict, n * sizeof *d);
        if (!d) return NULL;
        z->dict = d;
        uint32_t *u = realloc(z->uses, n * sizeof *u);
        if (!u) return NULL;
        z->uses = u;
        for (uint32_t i = z->ndict; i < n; i++) {
            d[i] = NULL;
            u[i] = 0;
        }
        z->ndict = n;
    }
    if (z->dict[rule] && z->uses[rule] < CORR_DICT_EVERY) {
        z->uses[rule]++;
        return z->dict[rule];
    }
    sd_event_ref(ev);
    sd_event_unref(c, z->dict[rule]);
    z->dict[rule] = ev;
    z->uses[rule] = 0;
    return NULL;
}

/* Replaces *slot (a raw event) with a compressed copy when that is smaller. */
static void compress_slot(corr *c, uint32_t rule, corr_event **slot) {
    corr_event *ev = *slot;
    if (!ev || event_is_z(ev)) return;
    corr_zip *z = zip_get(c);
    if (!z) return;
    corr_event *dict = dict_for(c, z, rule, ev);
    if (!dict || dict == ev) return;
    if (!z->d_ok) {
        if (deflateInit2(&z->d, Z_LEVEL, Z_DEFLATED, Z_WBITS, Z_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK) return;
        z->d_ok = true;
    } else if (deflateReset(&z->d) != Z_OK) {
        return;
    }
    /* Not worth it unless the allocation shrinks. */
    size_t raw_cost = sd_mem_cost(sd_event_alloc_size(ev));
    if (sd_mem_cost(zevent_size(0)) >= raw_cost) return;
    size_t room = raw_cost - sd_mem_cost(zevent_size(0)) + 16; /* more output than that is no gain */
    if (z->cap < room) {
        unsigned char *p = realloc(z->out, room);
        if (!p) return;
        z->out = p;
        z->cap = room;
    }
    if (deflateSetDictionary(&z->d, (const Bytef *)dict->json, dict->len) != Z_OK) return;
    z->d.next_in = (Bytef *)ev->json;
    z->d.avail_in = ev->len;
    z->d.next_out = z->out;
    z->d.avail_out = (uInt)room;
    if (deflate(&z->d, Z_FINISH) != Z_STREAM_END) return; /* did not fit: incompressible */
    uint32_t zlen = (uint32_t)(room - z->d.avail_out);
    if (sd_mem_cost(zevent_size(zlen)) >= raw_cost) return;
    corr_zevent *ze = sd_mem_alloc(c, NULL, zevent_size(zlen));
    if (!ze) return;
    ze->refs = 1;
    ze->len = ev->len | CORR_EV_Z;
    ze->zlen = zlen;
    ze->dict = dict;
    sd_event_ref(dict);
    memcpy(ze->z, z->out, zlen);
    *slot = (corr_event *)(void *)ze;
    sd_event_unref(c, ev);
}

static void compress_group(corr *c, corr_group *g) {
    switch (g->kind) {
    case GK_COUNT:
    case GK_DISTINCT:
    case GK_SUM:
        for (uint32_t i = 0; i < g->sn; i++) compress_slot(c, g->rule, &sample_ring(g)[(g->shead + i) % g->scap]);
        break;
    case GK_SEQ: {
        seq_partial **slots = seq_slots(g);
        for (uint32_t k = 1; k < g->u.s.nsteps; k++)
            if (slots[k])
                for (uint32_t i = 0; i < k; i++) compress_slot(c, g->rule, &slots[k]->steps[i].ev);
        break;
    }
    default: break; /* the other kinds keep theirs raw */
    }
}

void sd_cold_sweep(corr *c) {
    uint64_t cap = c->opts.max_bytes;
    if (cap == 0) return;
    uint64_t from = cap / CORR_COLD_SHARE_DEN * CORR_COLD_SHARE_NUM;
    while (c->bytes > from && c->nwarm > CORR_WARM_GROUPS) {
        corr_group *g = c->cold_edge ? c->cold_edge->lprev : c->lru_tail;
        if (!g) break;
        compress_group(c, g);
        g->cold = 1;
        c->cold_edge = g;
        c->nwarm--;
    }
}

void sd_cold_touch(corr *c, corr_group *g) {
    if (!g->cold) return;
    if (c->cold_edge == g) c->cold_edge = g->lnext;
    g->cold = 0;
    c->nwarm++;
}

void sd_cold_forget(corr *c, corr_group *g) {
    if (!g->cold) {
        c->nwarm--;
        return;
    }
    if (c->cold_edge == g) c->cold_edge = g->lnext;
}
