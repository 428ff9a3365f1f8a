/* scan_jobs.c — secdet_scan_file (include/secdet.h): one file scanned by
 * up to N engines on N threads, with the alerts one engine gives.
 *
 * Here: whether the file can be split (a line is an event wherever the file
 * is cut, so only JSON lines are), the ranges (cut at line ends), the
 * engines (this engine's options, log types, rules and source, copied), and
 * the counters of every engine added to this one's afterwards. The threads
 * are scan_split.c's. A file that cannot be split is read by this engine
 * alone, as secdet_push of the whole file would.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/scan_jobs.h"

#define SJ_MAX_JOBS   256
#define SJ_MIN_BYTES  ((size_t)1 << 20) /* per engine: a smaller share is not worth an engine and a thread */
#define SJ_HEAD_BYTES 4096              /* read to tell the file's first key */
/* Ranges per thread: the correlation of a range runs while later ranges are
 * read, so what is left to correlate after the last read is one small range. */
#define SJ_RANGES_PER_JOB 8

/* Whether the first object's first key is none that the "auto" format takes
 * for another format ("Records", "awslogs", "messageType"): then an auto
 * stream of it is JSON lines, decided from its first bytes, and the readers
 * of a split scan read their ranges as JSON lines. */
static bool first_key_is_plain(const unsigned char *p, size_t n) {
    static const char *const other[] = {"\"Records\"", "\"awslogs\"", "\"messageType\""};
    size_t i = 0;
    if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) i = 3; /* UTF-8 byte order mark */
    for (; i < n && p[i] != '{'; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') return false;
    }
    for (i++; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'); i++) {}
    for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) {
        size_t len = strlen(other[k]);
        if (n - i < len || memcmp(p + i, other[k], len) == 0) return false;
    }
    return i < n;
}

/* Why this file cannot be split across `*jobs` engines (NULL: it can;
 * *jobs may be lowered for a small file). */
static const char *cannot_split(secdet_engine *e, const engine_source *src, int fd, size_t size, size_t *jobs) {
    if (src->custom || (src->format != SECDET_FMT_JSONL && src->format != SECDET_FMT_AUTO)) {
        return "the source's format is not JSON lines";
    }
    if (src->format == SECDET_FMT_AUTO) {
        unsigned char head[SJ_HEAD_BYTES];
        ssize_t n = pread(fd, head, sizeof head, 0);
        if (n <= 0 || !first_key_is_plain(head, (size_t)n)) return "the input is not JSON lines";
    }
    if (e->rs && e->rs->stateful) {
        corr_stats cs;
        sd_corr_get_stats(e->corr, &cs);
        if (cs.groups || sd_corr_held_count(e->corr)) return "the engine holds correlation state";
    }
    if (size / SJ_MIN_BYTES < *jobs) *jobs = size / SJ_MIN_BYTES;
    if (*jobs <= 1) return "the file is smaller than 2 MiB";
    return NULL;
}

secdet_engine *sd_sj_engine_like(sj_run *run) {
    secdet_engine *e = run->e, *c = NULL;
    const engine_source *src = run->src;
    if (secdet_engine_new(&e->opts, &c) != SECDET_OK) return NULL;
    bool ok = true;
    size_t nlt = secdet_log_type_count(e);
    for (size_t i = 0; i < nlt && ok; i++) { /* the built-ins as they are now too: they may be redefined */
        char *json = NULL;
        ok = secdet_log_type_json(e, secdet_log_type_name(e, i), &json) == SECDET_OK &&
             secdet_log_type_define(c, json, strlen(json), NULL) == SECDET_OK;
        secdet_free(json);
    }
    diag_list d;
    sd_diag_init(&d);
    ok = ok && sd_engine_copy_rules(c, e, &d) == SECDET_OK;
    sd_diag_free(&d);
    secdet_source_opts so = {.format = SECDET_FMT_JSONL, .time_field = src->time_field};
    so.log_type = src->route ? "auto" : src->lt ? src->lt->name : NULL;
    ok = ok && secdet_source_add(c, src->name, &so) == SECDET_OK;
    if (ok && run->stateful) {
        int64_t t;
        if (sd_engine_newest_time(e, &t)) sd_engine_advance(c, t); /* late as e would find it */
    }
    if (!ok) {
        secdet_engine_free(c);
        return NULL;
    }
    return c;
}

/* The offset just after the first newline at or after `from` (the file's
 * size when none): where a range starting near `from` really starts. */
static size_t line_start_after(int fd, size_t from, size_t size) {
    char chunk[65536];
    for (size_t at = from; at < size;) {
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t)at);
        if (n <= 0) return size;
        const char *nl = memchr(chunk, '\n', (size_t)n);
        if (nl) return at + (size_t)(nl - chunk) + 1;
        at += (size_t)n;
    }
    return size;
}

/* Adds what engine c counted to e: events read by readers; what every
 * engine ran, found malformed or late, and evicted. Alerts were counted by
 * e as it handed them out. */
static void add_stats(secdet_engine *e, secdet_engine *c, bool reader) {
    secdet_stats s = {0};
    if (!c || secdet_stats_get(c, &s) != SECDET_OK) return;
    if (reader) {
        e->stats.events += s.events;
        e->stats.bytes += s.bytes;
        e->stats.text_events += s.text_events;
    }
    e->stats.malformed += s.malformed;
    e->stats.rules_run += s.rules_run;
    e->stats.budget_exceeded += s.budget_exceeded;
    e->stats.late += s.late;
    e->evicted_more += s.evicted;
}

/* A file this engine reads alone without mapping it: a pipe in 1 MiB
 * chunks; gzip whole, as one push (a push inflates a whole gzip stream). */
static int read_stream(secdet_engine *e, const char *source, int fd, bool whole, bool *decode) {
    size_t cap = (size_t)1 << 20, len = 0;
    unsigned char *b = malloc(cap);
    int rc = b ? 0 : -1;
    for (ssize_t n = 1; rc == 0 && n > 0;) {
        if (len == cap && whole) {
            unsigned char *q = realloc(b, cap * 2);
            if (!q) {
                rc = -1;
                break;
            }
            b = q;
            cap *= 2;
        }
        n = read(fd, b + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = errno ? errno : EIO;
        if (n > 0) len += (size_t)n;
        if (rc == 0 && len > 0 && (!whole || n == 0)) {
            secdet_status st = secdet_push(e, source, b, len);
            while (st == SECDET_ERR_BUSY) {
                (void)secdet_drain(e, 100);
                st = secdet_push(e, source, b, len);
            }
            if (st == SECDET_ERR_DECODE)
                *decode = true;
            else if (st != SECDET_OK)
                rc = -1;
            len = 0;
        }
    }
    free(b);
    secdet_status st = secdet_source_end(e, source);
    if (st == SECDET_ERR_DECODE) *decode = true;
    return rc ? rc : st == SECDET_OK || st == SECDET_ERR_DECODE ? 0 : -1;
}

static secdet_status split(secdet_engine *e, const engine_source *src, int fd, size_t size, size_t jobs) {
    sj_run run = {.e = e, .src = src, .fd = fd, .size = size, .jobs = jobs};
    run.stateful = e->rs && e->rs->stateful;
    run.nranges = size / SJ_MIN_BYTES < jobs * SJ_RANGES_PER_JOB ? size / SJ_MIN_BYTES : jobs * SJ_RANGES_PER_JOB;
    if (run.nranges < jobs) run.nranges = jobs;
    run.ranges = calloc(run.nranges, sizeof *run.ranges);
    run.readers = calloc(jobs, sizeof *run.readers);
    run.parts = run.stateful ? calloc(jobs, sizeof *run.parts) : NULL;
    secdet_status st = run.ranges && run.readers && (run.parts || !run.stateful) ? SECDET_OK : SECDET_ERR_NOMEM;
    size_t prev = 0;
    for (size_t i = 0; st == SECDET_OK && i < run.nranges; i++) {
        sj_range *r = &run.ranges[i];
        r->run = &run;
        r->begin = prev;
        r->end = i + 1 == run.nranges ? size : line_start_after(fd, size / run.nranges * (i + 1) - 1, size);
        if (r->end < r->begin) r->end = r->begin;
        prev = r->end;
        r->corr_left = jobs;
        if (run.stateful && (r->buckets = calloc(jobs, sizeof *r->buckets)) == NULL) st = SECDET_ERR_NOMEM;
    }
    pthread_mutex_init(&run.mu, NULL);
    pthread_cond_init(&run.cv, NULL);
    e->busy = true; /* the scan's threads hand e alerts: no push meanwhile */
    if (st == SECDET_OK && !sd_sj_run_threads(&run)) st = SECDET_ERR_NOMEM;
    e->busy = false;
    if (st == SECDET_OK && run.nomem) st = SECDET_ERR_NOMEM;
    bool decode = false, any = false;
    int64_t newest = 0;
    for (size_t i = 0; run.ranges && i < run.nranges; i++) {
        sj_range *r = &run.ranges[i];
        if (st == SECDET_OK && r->err) {
            errno = r->err > 0 ? r->err : errno;
            st = r->err > 0 ? SECDET_ERR_IO : SECDET_ERR_NOMEM;
        }
        if (st == SECDET_OK && r->oom) st = SECDET_ERR_NOMEM;
        decode |= r->decode;
        if (r->has_newest && (!any || r->newest > newest)) newest = r->newest, any = true;
        for (size_t p = 0; r->buckets && p < jobs; p++) free(r->buckets[p].v);
        free(r->buckets);
        free(r->arena);
    }
    for (size_t i = 0; i < jobs; i++) {
        if (run.readers) {
            add_stats(e, run.readers[i], true);
            secdet_engine_free(run.readers[i]);
        }
        if (run.parts) {
            add_stats(e, run.parts[i].corr, false);
            secdet_engine_free(run.parts[i].corr);
        }
    }
    if (any && run.stateful) sd_engine_advance(e, newest); /* e's event time: the file's newest */
    sd_engine_commit(e);
    pthread_cond_destroy(&run.cv);
    pthread_mutex_destroy(&run.mu);
    free(run.ranges);
    free(run.readers);
    free(run.parts);
    return st == SECDET_OK && decode ? SECDET_ERR_DECODE : st;
}

secdet_status secdet_scan_file(secdet_engine *e, const char *source, const char *path, unsigned jobs,
                               secdet_scan_info *info) {
    secdet_scan_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    info->jobs = 1;
    if (!e || e->busy || !source || !path) return SECDET_ERR_INVALID_ARG;
    engine_source *src = sd_engine_find_source(e, source);
    if (!src) return SECDET_ERR_UNKNOWN_SOURCE;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SECDET_ERR_IO;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return SECDET_ERR_IO;
    }
    size_t size = (size_t)sb.st_size;
    info->bytes = (uint64_t)size;
    size_t n = jobs;
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 1 ? 1 : cpus > SJ_MAX_JOBS ? SJ_MAX_JOBS : (size_t)cpus;
    }
    if (n > SJ_MAX_JOBS) n = SJ_MAX_JOBS;
    unsigned char magic[2] = {0, 0};
    const char *why = NULL;
    if (n > 1) {
        if (!S_ISREG(sb.st_mode)) {
            why = "the input is not a regular file";
        } else if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            why = "the input is compressed";
        } else {
            why = cannot_split(e, src, fd, size, &n);
        }
    }
    secdet_status st;
    if (n > 1 && why == NULL) {
        info->jobs = (unsigned)n;
        st = split(e, src, fd, size, n);
    } else {
        info->not_split = jobs != 1 ? why : NULL;
        sj_run one = {.e = e, .src = src, .fd = fd, .size = size, .jobs = 1};
        bool decode = false;
        bool gzip = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        int rc = S_ISREG(sb.st_mode) && !gzip && size ? sd_sj_read_range(&one, e, source, 0, size, &decode)
                                                      : read_stream(e, source, fd, gzip, &decode);
        st = rc > 0 ? (errno = rc, SECDET_ERR_IO) : rc < 0 ? SECDET_ERR_NOMEM : decode ? SECDET_ERR_DECODE : SECDET_OK;
    }
    int err = errno;
    close(fd);
    errno = err;
    return st;
}
