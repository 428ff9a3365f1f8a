/* seqx_snap.c — an ordered sequence's state with counted and `not` steps
 * (seqx.c) in a snapshot, and what a due absence keeps of its firing
 * record, handed to the engine to make again.
 *
 * Layout: npos, the leading guard (flag, time, arrival), then for each slot
 * 1..npos its partials (start, first, arrival, events matched, one sample per
 * filled step), the pending one's source, then each positive step's counts
 * (cstep.c). The pending partial's throttle key and aux are not written,
 * like a record's: the engine makes them again from its last step's event
 * (sd_corr_held_*), once the snapshot is read.
 */
#include <stdlib.h>
#include <string.h>

#include "correlate/seqx_int.h"

void sd_seqx_snap_write(writer *w, const corr *c, const corr_group *g) {
    (void)c;
    const seqx_state *x = g->u.x;
    w_u32(w, x->npos);
    w_u8(w, x->has_lead);
    w_i64(w, x->lead_t);
    w_u64(w, x->lead_seq);
    for (uint32_t j = 1; j <= x->npos; j++) {
        const sx_slot *s = &x->slots[j];
        w_u32(w, s->n);
        for (uint32_t i = 0; i < s->n; i++) {
            const sx_partial *p = s->v[i];
            w_i64(w, p->start);
            w_i64(w, p->first);
            w_i64(w, p->arr_t);
            w_u64(w, p->arr_seq);
            w_u64(w, p->nev);
            for (uint32_t k = 0; k < j; k++) {
                w_i64(w, p->steps[k].t);
                w_event(w, p->steps[k].ev);
            }
        }
    }
    w_u32(w, x->psrc);
    for (uint32_t j = 0; j < x->npos; j++) sd_cstep_write(w, &x->counts[j]);
}

/* Reads a slot's partials (j steps filled each) into g (NULL: dropped). */
static bool read_slot(reader *r, corr *c, corr_group *g, uint32_t npos, uint32_t j) {
    uint32_t n = r_u32(r);
    if (r->bad || n > (size_t)(r->end - r->p)) return false;
    for (uint32_t i = 0; i < n && !r->bad; i++) {
        sx_partial *p = g ? sd_seqx_partial_new(c, g, npos) : NULL;
        if (g && !p) return false;
        int64_t start = r_i64(r), first = r_i64(r), arr_t = r_i64(r);
        uint64_t arr_seq = r_u64(r), nev = r_u64(r);
        if (p) {
            p->start = start;
            p->first = first;
            p->arr_t = arr_t;
            p->arr_seq = arr_seq;
            p->nev = nev;
        }
        uint32_t filled = 0;
        for (uint32_t k = 0; k < j && !r->bad; k++) {
            int64_t t = r_i64(r);
            corr_event *ev = r_event(r, c);
            if (!ev) break;
            if (p) {
                sd_event_ref(ev);
                p->steps[k] = (corr_sample){t, ev};
                filled++;
            }
        }
        if (p) {
            if (r->bad || sd_seqx_slot_append(c, g, j, p) != 0) {
                sd_seqx_partial_free(c, g, p, npos, filled);
                return false;
            }
        }
    }
    return !r->bad;
}

bool sd_seqx_snap_read(reader *r, corr *c, corr_group *g) {
    uint32_t npos = r_u32(r);
    if (r->bad || npos == 0 || npos > CORR_MAX_STEPS) return false;
    const vm_rule *rule = g ? &c->prog->rules[g->rule] : NULL;
    sx_shape sh;
    if (rule) {
        sd_seqx_shape(rule, &sh);
        if (!rule->seq_ext || rule->unordered || sh.npos != npos) return false;
        if (!(g->u.x = sd_seqx_state_new(c, g, npos))) return false;
    }
    seqx_state *x = g ? g->u.x : NULL;
    bool lead = r_u8(r) != 0;
    int64_t lead_t = r_i64(r);
    uint64_t lead_seq = r_u64(r);
    if (x) {
        x->has_lead = lead;
        x->lead_t = lead_t;
        x->lead_seq = lead_seq;
    }
    for (uint32_t j = 1; j <= npos; j++)
        if (!read_slot(r, c, g, npos, j)) return false;
    uint32_t src = r_u32(r);
    if (r->bad || (x && x->slots[npos].n && src >= r->nsrc)) return false;
    if (x && x->slots[npos].n) {
        if (x->slots[npos].n > 1) return false;
        x->psrc = r->srcmap[src];
    }
    for (uint32_t j = 0; j < npos; j++) {
        uint64_t limit = rule ? rule->steps[sh.pos[j]].count : 1;
        if (!sd_cstep_read(r, c, g, x ? &x->counts[j] : NULL, limit)) return false;
    }
    return !r->bad;
}

/* ---- What a due absence keeps, for the engine (sd_corr_held_*) ------------------------------ */

size_t sd_seqx_kept_count(corr *c) {
    c->nkept = 0;
    for (corr_group *g = c->lru_head; g; g = g->lnext) {
        if (g->kind != GK_SEQX || !g->u.x || !g->u.x->slots[g->u.x->npos].n) continue;
        if (c->nkept == c->capkept) {
            size_t cap = c->capkept ? c->capkept * 2 : 16;
            corr_group **v = realloc(c->kept, cap * sizeof *v);
            if (!v) break; /* the rest go out without their aux */
            c->kept = v;
            c->capkept = cap;
        }
        c->kept[c->nkept++] = g;
    }
    return c->nkept;
}

void sd_seqx_kept_get(corr *c, size_t i, uint32_t *rule, const corr_event **ev, const char **key, uint32_t *key_len) {
    const corr_group *g = c->kept[i];
    const seqx_state *x = g->u.x;
    const sx_partial *p = x->slots[x->npos].v[0];
    *rule = g->rule;
    *ev = p->steps[x->npos - 1].ev;
    *key = g->key;
    *key_len = g->key_len;
}

int sd_seqx_kept_set(corr *c, size_t i, const char *tkey, uint32_t tkey_len, const char *aux, uint32_t aux_len) {
    corr_group *g = c->kept[i];
    return sd_seqx_keep_extra(c, g, g->u.x->psrc, tkey, tkey_len, aux, aux_len);
}
