/* snap_int.h — the snapshot's byte format, shared by snapshot.c (the file,
 * records, rules, the first kinds of group) and the files of the newer
 * group kinds, each of which writes and reads its own state (sum.c,
 * seqx_snap.c, seqset.c). Integers are little-endian; an event is written
 * once, as its JSON, and later by number. */
#ifndef SECDET_CORRELATE_SNAP_INT_H
#define SECDET_CORRELATE_SNAP_INT_H

#include <string.h>

#include "correlate/corr_int.h"

typedef struct writer {
    buf *b;
    uint32_t nevents;
    uint32_t gen;
    corr *c; /* to open compressed samples */
} writer;

static inline void w_u8(writer *w, uint8_t v) { sd_buf_append(w->b, &v, 1); }
static inline void w_u32(writer *w, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    sd_buf_append(w->b, b, 4);
}
static inline void w_u64(writer *w, uint64_t v) {
    w_u32(w, (uint32_t)v);
    w_u32(w, (uint32_t)(v >> 32));
}
static inline void w_i64(writer *w, int64_t v) { w_u64(w, (uint64_t)v); }
static inline void w_str(writer *w, const char *s, uint32_t n) {
    w_u32(w, n);
    sd_buf_append(w->b, s, n);
}

static inline void w_f64(writer *w, double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    w_u64(w, bits);
}

typedef struct reader {
    const unsigned char *p, *end;
    bool bad;
    corr_event **events;
    uint32_t nevents, capevents;
    const uint32_t *srcmap; /* the snapshot's source numbers → the correlator's */
    uint32_t nsrc;
} reader;

static inline bool r_need(reader *r, size_t n) {
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return false;
    }
    return true;
}
static inline uint8_t r_u8(reader *r) { return r_need(r, 1) ? *r->p++ : 0; }
static inline uint32_t r_u32(reader *r) {
    if (!r_need(r, 4)) return 0;
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}
static inline uint64_t r_u64(reader *r) {
    uint64_t lo = r_u32(r);
    return lo | (uint64_t)r_u32(r) << 32;
}
static inline int64_t r_i64(reader *r) { return (int64_t)r_u64(r); }
static inline const char *r_str(reader *r, uint32_t *len) {
    *len = r_u32(r);
    if (!r_need(r, *len)) return NULL;
    const char *s = (const char *)r->p;
    r->p += *len;
    return s;
}

static inline double r_f64(reader *r) {
    uint64_t bits = r_u64(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* snap_io.c */
/* An event: its number, followed by its JSON the first time. */
void sd_snap_w_event(writer *w, corr_event *ev);
/* A group's sample ring (count, distinct, sum). */
void sd_snap_w_samples(writer *w, const corr *c, const corr_group *g);
/* An event reference; new events are created in c (refs 0, owned by the reader's table). */
corr_event *sd_snap_r_event(reader *r, corr *c);
/* A sample ring into g (kept only when `keep`); false when malformed or out of memory. */
bool sd_snap_r_samples(reader *r, corr *c, corr_group *g, bool keep);
static inline void w_event(writer *w, corr_event *ev) { sd_snap_w_event(w, ev); }
static inline corr_event *r_event(reader *r, corr *c) { return sd_snap_r_event(r, c); }

/* The state of the newer kinds of group (written after the group's rule,
 * kind, key and expiry); read into g, which is NULL when its rule is
 * dropped (the bytes are read all the same). False when malformed. */
void sd_sum_snap_write(writer *w, const corr *c, const corr_group *g);
bool sd_sum_snap_read(reader *r, corr *c, corr_group *g);
void sd_seqx_snap_write(writer *w, const corr *c, const corr_group *g);
bool sd_seqx_snap_read(reader *r, corr *c, corr_group *g);
void sd_set_snap_write(writer *w, const corr *c, const corr_group *g);
bool sd_set_snap_read(reader *r, corr *c, corr_group *g);

#endif
