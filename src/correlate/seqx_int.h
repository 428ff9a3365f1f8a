/* seqx_int.h — the state of an ordered sequence with counted or `not`
 * steps (seqx.c; seqx_snap.c writes and reads it, and hands the engine
 * what a due absence keeps of its firing record). */
#ifndef SECDET_CORRELATE_SEQX_INT_H
#define SECDET_CORRELATE_SEQX_INT_H

#include "correlate/cstep.h"
#include "util/limits.h"

/* A partial: the positive steps filled so far (one sample each), when the
 * first completed, when it arrived where it waits, and how many events
 * matched (a counted step adds its count). */
typedef struct sx_partial {
    int64_t start; /* the first step completed: the sequence's DUR runs from here */
    int64_t first; /* the first event of it (a counted first step: the oldest of its N) */
    int64_t arr_t;
    uint64_t arr_seq;
    uint64_t nev;
    corr_sample steps[]; /* one per positive step */
} sx_partial;

typedef struct sx_slot {
    sx_partial **v; /* in arrival order */
    uint32_t n, cap;
} sx_slot;

typedef struct seqx_state {
    uint32_t npos;
    bool has_lead; /* the last event of a leading `not` step */
    int64_t lead_t;
    uint64_t lead_seq;
    sx_slot *slots; /* npos + 1: slots[j] waits for positive step j; slots[npos] holds the pending completion */
    cstep *counts;  /* npos: the counts of counted positive steps */
    /* the pending completion's firing record: source, throttle key and aux (pextra: tkey then aux) */
    uint32_t psrc, ptkey_len, paux_len;
    char *pextra;
} seqx_state;

/* A rule's steps, seen as positive steps and the guards before each. */
typedef struct sx_shape {
    uint32_t npos;
    uint32_t pos[CORR_MAX_STEPS];        /* step index of each positive step */
    uint64_t guards[CORR_MAX_STEPS + 1]; /* the `not` steps before positive j; [npos]: after the last */
    int64_t dur;
} sx_shape;

void sd_seqx_shape(const vm_rule *rule, sx_shape *sh);
size_t sd_seqx_state_size(uint32_t npos);
seqx_state *sd_seqx_state_new(corr *c, corr_group *g, uint32_t npos);
size_t sd_seqx_partial_size(uint32_t npos);
sx_partial *sd_seqx_partial_new(corr *c, corr_group *g, uint32_t npos);
void sd_seqx_partial_free(corr *c, corr_group *g, sx_partial *p, uint32_t npos, uint32_t filled);
int sd_seqx_slot_append(corr *c, corr_group *g, uint32_t j, sx_partial *p);
int sd_seqx_keep_extra(corr *c, corr_group *g, uint32_t src, const char *tkey, uint32_t tkey_len, const char *aux,
                       uint32_t aux_len);

#endif
