/* cstep.h — the counts of counted sequence steps (cstep.c), shared by
 * seqx.c (ordered) and seqset.c (unordered).
 *
 * A counted step (`name: C count >= N within D`, or a count rule named as a
 * step) keeps, per group of the sequence, the times of its matches: a ring
 * of at most N hits, the newest, inside the step's window D. A count rule
 * named as a step also has keys of its own, and its matches count apart
 * per value of them (a "sub": its key bytes and its ring); a plain counted
 * step has one sub, with no key. Everything is accounted to the group.
 */
#ifndef SECDET_CORRELATE_CSTEP_H
#define SECDET_CORRELATE_CSTEP_H

#include "correlate/corr_int.h"
#include "correlate/snap_int.h"

typedef struct cs_hit {
    int64_t t;
    uint64_t seq; /* arrival: ties of time are ordered by it */
} cs_hit;

typedef struct cs_sub {
    cs_hit *hits; /* ring, oldest at head */
    uint32_t head, n, cap;
    uint32_t klen;
    char *key;
} cs_sub;

typedef struct cstep {
    cs_sub *subs;
    uint32_t nsubs, capsubs;
} cstep;

/* Whether (t1, s1) comes before (t2, s2) in event-time order. */
static inline bool cs_before(int64_t t1, uint64_t s1, int64_t t2, uint64_t s2) {
    return t1 < t2 || (t1 == t2 && s1 < s2);
}

/* The key of a count rule's step `step` in record r's values (its keys for
 * each such step the record satisfies, in step order); "" for a plain step. */
void sd_cstep_subkey(const vm_rule *rule, const corr_rec *r, uint32_t step, const char **key, uint32_t *klen);
/* The sub of `key`, made when missing; NULL on OOM. */
cs_sub *sd_cstep_sub(corr *c, corr_group *g, cstep *cs, const char *key, uint32_t klen);
/* Adds a hit; the ring keeps the newest `limit`. 0, or -1 on OOM. */
int sd_cstep_push(corr *c, corr_group *g, cs_sub *s, int64_t t, uint64_t seq, uint64_t limit);
/* Drops the hits older than lo. */
void sd_cstep_drop_older(cs_sub *s, int64_t lo);
/* Drops the hits at or before (t, seq). */
void sd_cstep_drop_upto(cs_sub *s, int64_t t, uint64_t seq);
/* Whether some hit of any sub lies strictly between a and b. */
bool sd_cstep_any_between(const cstep *cs, int64_t at, uint64_t as, int64_t bt, uint64_t bs);
static inline const cs_hit *cs_oldest(const cs_sub *s) { return &s->hits[s->head]; }
/* Frees the subs left without hits. */
void sd_cstep_compact(corr *c, corr_group *g, cstep *cs);
/* The newest hit's time, or INT64_MIN. */
int64_t sd_cstep_newest(const cstep *cs);
void sd_cstep_free(corr *c, corr_group *g, cstep *cs);
void sd_cstep_write(writer *w, const cstep *cs);
/* Reads into cs (g NULL: reads and drops). False when malformed or out of memory. */
bool sd_cstep_read(reader *r, corr *c, corr_group *g, cstep *cs, uint64_t limit);

#endif
