/* scan_jobs.h — the parts of secdet_scan_file (include/secdet.h) shared by
 * scan_jobs.c (the call: whether to split, the engines, the counters) and
 * scan_split.c (the threads: readers, forwarded matches, correlators).
 */
#ifndef SECDET_ENGINE_SCAN_JOBS_H
#define SECDET_ENGINE_SCAN_JOBS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* A match of a stateful rule forwarded by a reader (outer.h, engine_forward)
 * for correlator p, with the reader's newest event time before it. Its
 * strings are in the reader's arena at `at`: rule, NUL, source, NUL, key
 * bytes, JSON. */
typedef struct sj_fwd {
    int64_t before; /* INT64_MIN: no event before it in the range */
    int64_t time_ns;
    size_t at, len;
    uint32_t key_len;
} sj_fwd;

typedef struct sj_bucket {
    sj_fwd *v;
    size_t n, cap;
} sj_bucket;

struct sj_run;

/* Thread i: reads range i with its reader engine, then (stateful rules) is
 * correlator i, taking partition i's matches of every range in file order. */
typedef struct sj_worker {
    struct sj_run *run;
    size_t index;
    secdet_engine *reader;
    secdet_engine *corr; /* NULL when no rule keeps state */
    size_t begin, end;   /* its range of the file */
    pthread_t thread;
    int err;     /* > 0: an errno reading the file; -1: the engine refused the bytes */
    bool decode; /* something was malformed */
    bool oom;    /* a forward could not be kept */
    bool done;   /* the range is read (under run->mu) */
    bool has_newest;
    int64_t newest;     /* the reader's newest event time at the end of its range */
    sj_bucket *buckets; /* [jobs]: its forwards, by correlator */
    char *arena;
    size_t alen, acap;
    bool lines_known; /* lines_before is counted (the first malformed line asks) */
    uint64_t lines_before;
} sj_worker;

typedef struct sj_run {
    secdet_engine *e; /* the caller's: alerts and reports go there, one at a time */
    const char *source;
    int fd;
    size_t size, jobs;
    bool stateful;
    bool has_start; /* e's newest event time before the scan: every engine starts there */
    int64_t start;
    pthread_mutex_t mu; /* e's callbacks and sinks; the done flags */
    pthread_cond_t cv;
    sj_worker *w;
} sj_run;

/* scan_split.c: runs the workers of `run` (engines made, ranges set) on
 * threads and waits for them; false when a thread could not start (those
 * started are waited for, the rest did nothing). */
bool sd_sj_run_threads(sj_run *run);
/* Frees what a worker keeps beside its engines. */
void sd_sj_worker_clear(sj_worker *w);
/* Feeds bytes begin..end of the file to engine `to` as run->source, a
 * window at a time (mapped), then ends the stream; waits
 * while run->e's sinks take no more alerts. 0, an errno, or -1 when the
 * engine refused the bytes; *decode set when something was malformed. */
int sd_sj_read_range(sj_run *run, secdet_engine *to, size_t begin, size_t end, bool *decode);

#endif
