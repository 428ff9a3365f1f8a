/* snapshot.c — the correlator's state as a file, and back.
 *
 * Layout (integers little-endian; snap_int.h):
 *   header   "SDCORSNP" | u32 version (2; 1 is read too) | u32 0 | u64 payload length | u32 CRC-32 | u32 0
 *   payload  watermark, newest time, sequence counter; the source names;
 *            the rule table (name, fingerprint, aggregation) of every rule
 *            with state; the held records; every group, least recently seen
 *            first, with its window, partial sequences or throttle.
 * An event's JSON is written once, where it is first referred to, and later
 * by number, so events shared by records and samples stay shared.
 *
 * Reading is all or nothing: the file is parsed into a fresh correlator
 * which replaces the old one only when everything was read; every length is
 * checked against what is left, so a damaged file is refused, never trusted.
 * Rules are matched by name and fingerprint; a rule that is gone or changed
 * loses its state, and a warning names it.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "correlate/corr_int.h"
#include "correlate/snap_int.h"
#include "util/limits.h"

#define SNAP_MAGIC "SDCORSNP"
/* Version 2 added the groups of sum rules and of sequences with counted,
 * `not` or unordered steps; a version 1 file is read as it is (it has
 * none of them, and nothing else changed). */
#define SNAP_VERSION        2u
#define SNAP_VERSION_OLDEST 1u
#define SNAP_HEADER         32u

/* ---- Writing ------------------------------------------------------------------- */

static void w_group(writer *w, const corr *c, const corr_group *g) {
    w_u32(w, g->rule);
    w_u8(w, g->kind);
    w_str(w, g->key, g->key_len);
    w_i64(w, g->expires);
    switch (g->kind) {
    case GK_COUNT:
        w_u32(w, g->u.c.n);
        for (uint32_t i = 0; i < g->u.c.n; i++) w_i64(w, g->u.c.times[(g->u.c.head + i) % g->u.c.cap]);
        sd_snap_w_samples(w, c, g);
        break;
    case GK_DISTINCT:
        w_u32(w, g->u.d.n);
        for (uint32_t i = 0; i < g->u.d.n; i++) {
            const dentry *e = &g->u.d.ents[(g->u.d.head + i) % g->u.d.cap];
            w_i64(w, e->t);
            w_u32(w, e->n);
            for (uint32_t k = 0; k < e->n; k++) {
                const dval *v = e->n == 1 ? e->v.one : e->v.many[k];
                w_str(w, v->bytes, v->len);
            }
        }
        sd_snap_w_samples(w, c, g);
        break;
    case GK_SEQ:
        w_u32(w, g->u.s.nsteps);
        for (uint32_t k = 1; k < g->u.s.nsteps; k++) {
            const seq_partial *p = seq_slots_c(g)[k];
            w_u8(w, p != NULL);
            if (!p) continue;
            w_i64(w, p->start);
            for (uint32_t i = 0; i < k; i++) {
                w_i64(w, p->steps[i].t);
                w_event(w, p->steps[i].ev);
            }
        }
        break;
    case GK_THROTTLE:
        w_i64(w, g->u.t.last);
        w_u64(w, g->u.t.suppressed);
        break;
    case GK_SUM: sd_sum_snap_write(w, c, g); break;
    case GK_SEQX: sd_seqx_snap_write(w, c, g); break;
    case GK_SET: sd_set_snap_write(w, c, g); break;
    }
}

static bool rule_has_state(const vm_rule *r) { return r->agg != RAGG_NONE || r->has_throttle; }

int sd_corr_snapshot_write(corr *c, buf *out) {
    size_t start = out->len;
    char header[SNAP_HEADER] = {0};
    sd_buf_append(out, header, sizeof header);
    writer w = {.b = out, .nevents = 0, .gen = ++c->snap_gen ? c->snap_gen : ++c->snap_gen, .c = c};

    w_i64(&w, c->watermark);
    w_i64(&w, c->max_time);
    w_u8(&w, c->any_time);
    w_u64(&w, c->seq);
    w_u32(&w, c->nsources);
    for (uint32_t i = 0; i < c->nsources; i++) w_str(&w, c->sources[i], (uint32_t)strlen(c->sources[i]));
    uint32_t nrules = c->prog ? c->prog->nrules : 0;
    w_u32(&w, nrules);
    for (uint32_t i = 0; i < nrules; i++) {
        const vm_rule *r = &c->prog->rules[i];
        w_u8(&w, rule_has_state(r));
        if (!rule_has_state(r)) continue;
        w_str(&w, r->name, (uint32_t)strlen(r->name));
        sd_buf_append(out, c->fps[i].b, CORR_FP_BYTES);
        w_u8(&w, (uint8_t)r->agg);
    }
    w_u64(&w, c->nrecs);
    for (size_t i = 0; i < c->nrecs; i++) {
        const corr_rec *r = c->recs[i];
        w_i64(&w, r->t);
        w_u64(&w, r->seq);
        w_u64(&w, r->mask);
        w_u32(&w, r->rule);
        w_u32(&w, r->src);
        w_u32(&w, r->nvals);
        w_str(&w, r->data, r->key_len);
        w_str(&w, r->data + r->key_len, r->vals_len);
        w_event(&w, r->ev);
    }
    w_u64(&w, c->ngroups);
    for (const corr_group *g = c->lru_tail; g; g = g->lprev) w_group(&w, c, g);
    if (out->oom) return -1;

    uint64_t plen = out->len - start - SNAP_HEADER;
    unsigned char *h = (unsigned char *)out->data + start;
    memcpy(h, SNAP_MAGIC, 8);
    uint32_t crc = 0;
    const unsigned char *payload = h + SNAP_HEADER;
    for (uint64_t done = 0; done < plen;) {
        uInt n = plen - done > (1u << 30) ? (1u << 30) : (uInt)(plen - done);
        crc = (uint32_t)crc32(crc, payload + done, n);
        done += n;
    }
    uint64_t fields[] = {SNAP_VERSION, 0, plen & 0xFFFFFFFFu, plen >> 32, crc, 0};
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 4; k++) h[8 + 4 * i + k] = (unsigned char)(fields[i] >> (8 * k));
    return 0;
}

/* ---- Reading --------------------------------------------------------------------------- */

/* Reads one group; `map` gives the current rule of each snapshot rule (UINT32_MAX: dropped). */
static bool r_group(reader *r, corr *c, const uint32_t *map, uint32_t nmap) {
    uint32_t srule = r_u32(r);
    uint8_t kind = r_u8(r);
    uint32_t klen;
    const char *key = r_str(r, &klen);
    int64_t expires = r_i64(r);
    if (r->bad || srule >= nmap || kind < GK_COUNT || kind > GK_LAST) return false;
    uint32_t rule = map[srule];
    bool keep = rule != UINT32_MAX;
    corr_group *g = NULL;
    if (keep) {
        uint64_t h = sd_corr_hash(rule, kind, key, klen);
        if (sd_group_find(c, rule, kind, key, klen, h)) return false; /* duplicate */
        g = sd_group_new(c, rule, kind, key, klen, h);
        if (!g) return false;
    }
    switch (kind) {
    case GK_COUNT: {
        uint32_t n = r_u32(r);
        for (uint32_t i = 0; i < n && !r->bad; i++) {
            int64_t t = r_i64(r);
            if (keep && sd_count_push(c, g, t) != 0) return false;
        }
        if (!sd_snap_r_samples(r, c, g, keep)) return false;
        break;
    }
    case GK_DISTINCT: {
        uint32_t n = r_u32(r);
        buf blob;
        sd_buf_init(&blob);
        for (uint32_t i = 0; i < n && !r->bad; i++) {
            int64_t t = r_i64(r);
            uint32_t nv = r_u32(r);
            sd_buf_reset(&blob);
            for (uint32_t k = 0; k < nv && !r->bad; k++) {
                uint32_t len;
                const char *v = r_str(r, &len);
                if (v) sd_corr_vals_put(&blob, v, len);
            }
            if (keep && !r->bad && (blob.oom || sd_distinct_push(c, g, t, blob.data, (uint32_t)blob.len, nv) != 1))
                r->bad = true;
        }
        sd_buf_free(&blob);
        if (r->bad || !sd_snap_r_samples(r, c, g, keep)) return false;
        break;
    }
    case GK_SEQ: {
        uint32_t nsteps = r_u32(r);
        if (r->bad || nsteps < 2 || nsteps > CORR_MAX_STEPS) return false;
        if (keep) {
            if (c->prog->rules[rule].nsteps != nsteps) return false;
            if (sd_seq_init_slots(c, g, nsteps) != 0) return false;
        }
        for (uint32_t k = 1; k < nsteps && !r->bad; k++) {
            if (!r_u8(r)) continue;
            seq_partial *p = NULL;
            if (keep) {
                p = sd_seq_partial_new(c, g);
                if (!p) return false;
                seq_slots(g)[k] = p;
            }
            int64_t start = r_i64(r);
            if (p) p->start = start;
            for (uint32_t i = 0; i < k; i++) {
                int64_t t = r_i64(r);
                corr_event *ev = r_event(r, c);
                if (!ev) return false;
                if (p) {
                    sd_event_ref(ev);
                    p->steps[i] = (corr_sample){t, ev};
                }
            }
        }
        break;
    }
    case GK_THROTTLE: {
        int64_t last = r_i64(r);
        uint64_t sup = r_u64(r);
        if (keep) {
            g->u.t.last = last;
            g->u.t.suppressed = sup;
        }
        break;
    }
    case GK_SUM:
        if (!sd_sum_snap_read(r, c, g)) return false;
        break;
    case GK_SEQX:
        if (!sd_seqx_snap_read(r, c, g)) return false;
        break;
    case GK_SET:
        if (!sd_set_snap_read(r, c, g)) return false;
        break;
    }
    if (r->bad) return false;
    if (keep) sd_group_set_expiry(c, g, expires);
    return true;
}

static void reader_free(reader *r, corr *c) {
    for (uint32_t i = 0; i < r->nevents; i++) sd_event_unref(c, r->events[i]);
    free(r->events);
}

static bool check_header(const unsigned char *h, size_t len, const char *name, diag_list *d, size_t *plen) {
    if (len < SNAP_HEADER || memcmp(h, SNAP_MAGIC, 8) != 0) {
        sd_diag_add(d, DIAG_ERROR, name, 0, 0, "not a secdet state snapshot");
        return false;
    }
    uint32_t f[6];
    for (int i = 0; i < 6; i++)
        f[i] = (uint32_t)h[8 + 4 * i] | (uint32_t)h[9 + 4 * i] << 8 | (uint32_t)h[10 + 4 * i] << 16 |
               (uint32_t)h[11 + 4 * i] << 24;
    if (f[0] < SNAP_VERSION_OLDEST || f[0] > SNAP_VERSION) {
        sd_diag_add(d, DIAG_ERROR, name, 0, 0,
                    "snapshot format version %u is not supported (this build reads %u to %u)", f[0],
                    SNAP_VERSION_OLDEST, SNAP_VERSION);
        return false;
    }
    uint64_t p = (uint64_t)f[2] | (uint64_t)f[3] << 32;
    if (p != len - SNAP_HEADER) {
        sd_diag_add(d, DIAG_ERROR, name, 0, 0,
                    "snapshot is truncated or has trailing bytes (%llu payload bytes expected, %llu present)",
                    (unsigned long long)p, (unsigned long long)(len - SNAP_HEADER));
        return false;
    }
    uint32_t crc = 0;
    for (uint64_t done = 0; done < p;) {
        uInt n = p - done > (1u << 30) ? (1u << 30) : (uInt)(p - done);
        crc = (uint32_t)crc32(crc, h + SNAP_HEADER + done, n);
        done += n;
    }
    if (crc != f[4]) {
        sd_diag_add(d, DIAG_ERROR, name, 0, 0, "snapshot checksum mismatch: the file is corrupt");
        return false;
    }
    *plen = (size_t)p;
    return true;
}

static uint32_t find_rule(const program *p, const char *name, uint32_t len) {
    for (uint32_t i = 0; p && i < p->nrules; i++)
        if (strlen(p->rules[i].name) == len && memcmp(p->rules[i].name, name, len) == 0) return i;
    return UINT32_MAX;
}

static int read_into(corr *c, reader *r, const char *name, diag_list *d) {
    c->watermark = r_i64(r);
    c->max_time = r_i64(r);
    c->any_time = r_u8(r) != 0;
    c->seq = r_u64(r);
    uint32_t nsrc = r_u32(r);
    if (r->bad || nsrc > (size_t)(r->end - r->p) / 4) return -1;
    uint32_t *srcmap = calloc(nsrc ? nsrc : 1, sizeof *srcmap);
    if (!srcmap) return -2;
    for (uint32_t i = 0; i < nsrc && !r->bad; i++) {
        uint32_t len;
        const char *s = r_str(r, &len);
        if (!s || memchr(s, 0, len)) {
            r->bad = true;
            break;
        }
        char *tmp = malloc((size_t)len + 1);
        if (!tmp) {
            free(srcmap);
            return -2;
        }
        memcpy(tmp, s, len);
        tmp[len] = 0;
        srcmap[i] = sd_corr_source_id(c, tmp);
        free(tmp);
        if (srcmap[i] == UINT32_MAX) {
            free(srcmap);
            return -2;
        }
    }
    r->srcmap = srcmap;
    r->nsrc = nsrc;
    uint32_t nrules = r_u32(r);
    uint32_t *map = NULL;
    if (!r->bad && nrules <= (size_t)(r->end - r->p)) map = malloc((nrules ? nrules : 1) * sizeof *map);
    if (!map) {
        free(srcmap);
        return r->bad || nrules > (size_t)(r->end - r->p) ? -1 : -2;
    }
    for (uint32_t i = 0; i < nrules && !r->bad; i++) {
        map[i] = UINT32_MAX;
        if (!r_u8(r)) continue;
        uint32_t len;
        const char *rname = r_str(r, &len);
        if (!rname || !r_need(r, CORR_FP_BYTES + 1)) break;
        const unsigned char *fp = r->p;
        r->p += CORR_FP_BYTES;
        uint8_t agg = r_u8(r);
        uint32_t now = find_rule(c->prog, rname, len);
        if (now != UINT32_MAX && memcmp(c->fps[now].b, fp, CORR_FP_BYTES) == 0 &&
            (uint8_t)c->prog->rules[now].agg == agg) {
            map[i] = now;
        } else {
            sd_diag_add(d, DIAG_WARNING, name, 0, 0,
                        now == UINT32_MAX ? "rule '%.*s' is no longer loaded; its state was dropped"
                                          : "rule '%.*s' changed since the snapshot; its state was dropped",
                        (int)(len > 200 ? 200 : len), rname);
        }
    }
    uint64_t nrecs = r_u64(r);
    for (uint64_t i = 0; i < nrecs && !r->bad; i++) {
        int64_t t = r_i64(r);
        uint64_t seq = r_u64(r);
        uint64_t mask = r_u64(r);
        uint32_t srule = r_u32(r), src = r_u32(r), nvals = r_u32(r);
        uint32_t klen, vlen;
        const char *key = r_str(r, &klen);
        const char *vals = r_str(r, &vlen);
        corr_event *ev = r_event(r, c);
        if (r->bad || srule >= nrules || src >= nsrc || nvals > vlen / 4) {
            r->bad = true;
            break;
        }
        if (map[srule] == UINT32_MAX) continue;
        uint64_t keep_seq = c->seq;
        c->seq = seq;
        /* Records are written without their aux: the engine makes it again
         * from the event once the snapshot is in (corr_held_set_aux). */
        corr_input in = {.rule = map[srule],
                         .src = srcmap[src],
                         .t = t,
                         .key = key,
                         .key_len = klen,
                         .vals = vals,
                         .vals_len = vlen,
                         .nvals = nvals,
                         .mask = mask,
                         .ev = ev};
        int rc = sd_corr_add(c, &in);
        c->seq = keep_seq;
        if (rc != 0) r->bad = true;
    }
    uint64_t ngroups = r_u64(r);
    for (uint64_t i = 0; i < ngroups && !r->bad; i++)
        if (!r_group(r, c, map, nrules)) r->bad = true;
    if (!r->bad && r->p != r->end) r->bad = true;
    free(map);
    free(srcmap);
    return r->bad ? -1 : 0;
}

int sd_corr_snapshot_read(corr *c, const char *data, size_t len, const char *name, diag_list *d) {
    size_t plen = 0;
    if (!check_header((const unsigned char *)data, len, name, d, &plen)) return -1;
    corr *fresh = sd_corr_new(&c->opts);
    if (!fresh) return -2;
    fresh->prog = c->prog;
    fresh->fps = c->fps;
    fresh->external_wm = c->external_wm; /* a setting of the engine, not state */
    fresh->opts.max_bytes = 0;           /* no eviction while loading; the cap applies at the next event */
    reader r = {.p = (const unsigned char *)data + SNAP_HEADER, .end = (const unsigned char *)data + len};
    size_t warnings_before = d->count;
    int rc = read_into(fresh, &r, name, d);
    reader_free(&r, fresh);
    if (rc != 0) {
        /* Drop the warnings of a file that is refused: only the error stands. */
        while (d->count > warnings_before) {
            diag_entry *e = &d->items[--d->count];
            free(e->file);
            free(e->message);
            d->warnings--;
        }
        if (rc == -1)
            sd_diag_add(d, DIAG_ERROR, name, 0, 0, "snapshot is malformed (a length or index is out of range)");
        sd_corr_free(fresh);
        return rc;
    }
    fresh->opts.max_bytes = c->opts.max_bytes;
    corr tmp = *c;
    *c = *fresh;
    *fresh = tmp;
    sd_corr_free(fresh);
    return 0;
}
