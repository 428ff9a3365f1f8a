/* scan_jobs.h — the parts of secdet_scan_file (include/secdet.h) shared by
 * scan_jobs.c (the call: whether to split, the ranges, the engines, the
 * counters) and scan_split.c (the threads: readers, forwarded matches,
 * correlators).
 */
#ifndef SECDET_ENGINE_SCAN_JOBS_H
#define SECDET_ENGINE_SCAN_JOBS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* A correlation record of a stateful rule forwarded by a reader (outer.h,
 * engine_forward, sd_engine_set_forward_records) for correlator p, with the
 * reader's newest event time before it. Its bytes are in the range's arena
 * at `at`: rule, NUL, source, NUL, key, values, throttle key, aux, the
 * event's JSON (len). */
typedef struct sj_fwd {
    int64_t before; /* INT64_MIN: no event before it */
    int64_t time_ns;
    uint64_t mask;
    size_t at, len;
    uint32_t rule_index, key_len, vals_len, nvals, tkey_len, aux_len;
    bool record; /* a record (sd_engine_push_record), else a match to evaluate again */
} sj_fwd;

typedef struct sj_bucket {
    sj_fwd *v;
    size_t n, cap;
} sj_bucket;

struct sj_run;

/* One range of the file, cut at a line end; read by one thread. */
typedef struct sj_range {
    struct sj_run *run;
    size_t begin, end;
    sj_bucket *buckets; /* [jobs]: its forwards, by correlator (stateful rules) */
    char *arena;
    size_t alen, acap;
    size_t corr_left; /* correlators yet to take it (the arena is freed at 0) */
    int err;          /* > 0: an errno reading it; -1: the engine refused the bytes or none could read it */
    bool decode;      /* something was malformed */
    bool oom;         /* a forward could not be kept */
    bool done;        /* read (under run->mu) */
    bool has_newest;  /* the reader's newest event time after it */
    int64_t newest;
    bool lines_known; /* lines_before is counted (the first malformed line asks) */
    uint64_t lines_before;
    secdet_engine *reader; /* the engine reading it, while it is read */
} sj_range;

/* Correlator p: partition p of the stateful rules' groups. */
typedef struct sj_part {
    secdet_engine *corr; /* NULL: it could not be made (its matches are lost: the scan fails) */
    size_t next;         /* the range whose matches it takes next */
    bool ready, busy;    /* made (or failed); a thread is feeding it now */
} sj_part;

typedef struct sj_run {
    secdet_engine *e; /* the caller's: alerts and reports go there, one at a time */
    const engine_source *src;
    int fd;
    size_t size, jobs;
    bool stateful;
    sj_range *ranges;
    size_t nranges, next_range; /* ranges are read in file order, each by whichever thread is free */
    sj_part *parts;             /* [jobs] when stateful */
    secdet_engine **readers;    /* [jobs]: thread i's (freed after the run, with their counters added) */
    bool nomem;                 /* an engine could not be made */
    pthread_mutex_t mu;         /* e's callbacks and sinks; the scheduling state */
    pthread_cond_t cv;
} sj_run;

/* scan_split.c: runs `jobs` threads over run's ranges and waits for them;
 * false when a thread could not start (the ranges are then read by the
 * others). */
bool sd_sj_run_threads(sj_run *run);
/* Feeds bytes begin..end of run->fd to engine `to` as source `source`, a
 * window at a time (mapped), then ends the stream; waits while run->e's
 * sinks take no more alerts. 0, an errno, or -1 when the engine refused
 * the bytes; *decode set when something was malformed. */
int sd_sj_read_range(sj_run *run, secdet_engine *to, const char *source, size_t begin, size_t end, bool *decode);
/* scan_jobs.c: an engine like run->e (options, log types, rules, the source
 * read as JSON lines), its event time at e's; NULL on failure. */
secdet_engine *sd_sj_engine_like(sj_run *run);

#endif
