/*
 * scan_parallel.c — `secdet scan -j N`: one file scanned by N engines on N
 * threads, with the alerts of -j 1 (in another order).
 *
 * The file is cut into N ranges at line boundaries; each thread has its own
 * engine with the same rules and options and pushes its range, mapped a
 * window at a time as a single-file scan is (input_map.c). A line is an
 * event wherever the file is cut, so only JSON lines are split (a file
 * whose first key the "auto" format takes for CloudTrail or CloudWatch Logs
 * is not); several files (merged in event-time order), stdin, gzip, --state
 * and --summary are scanned the -j 1 way, with a note on stderr when -j
 * was given.
 *
 * Stateless rules alert in the threads. When a rule keeps state (an
 * aggregation, a throttle), the threads are stage 1 of the Kafka layout
 * (docs/scale-out.md; engine/outer.h, sd_engine_set_forward): its matches
 * are kept with the thread's newest event time before them, and the run's
 * engine, on this thread, is the correlator: it takes range 1's matches
 * once thread 1 is done, then range 2's, ..., moving its event time as the
 * skipped events would have (sd_engine_advance) — the order and times one
 * engine would have seen, so the same alerts, ids included, and the same
 * evictions. What differs: the `late` counter counts only the late events
 * a correlating rule took, and `rules_run` counts the correlator's runs too.
 * The matches of a range wait in memory until the correlator gets to it.
 *
 * Alerts are written whole (stdout is locked around each); counters add up
 * across the engines. Malformed lines are reported after the threads end,
 * with their line numbers in the whole file: a thread keeps its reports and
 * the newlines before its range are counted only when it has some.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/scan.h"
#include "engine/outer.h"
#include "util/limits.h"

#define PAR_MAX_JOBS   256
#define PAR_MIN_BYTES  (1u << 20) /* per engine: a smaller share is not worth an engine and a thread */
#define PAR_WINDOW     (4u << 20)
#define PAR_HEAD_BYTES (1u << 20)

typedef struct par_report {
    uint64_t where;
    char *message; /* owned; NULL: "malformed event" */
} par_report;

/* A match of a correlating rule, forwarded by a worker (engine/outer.h,
 * engine_forward) for the correlator, with the worker's newest event time
 * before it. Its strings are in the worker's arena at `at`: rule, NUL,
 * source, NUL, key bytes, JSON. */
typedef struct par_fwd {
    int64_t before; /* INT64_MIN: no event before it in the range */
    int64_t time_ns;
    size_t at, len;
    uint32_t key_len;
} par_fwd;

typedef struct par_worker {
    scan_ctx ctx; /* its own engine and counters; opts, file, output shared */
    int fd;
    size_t begin, end; /* its range of the file */
    const char *source;
    pthread_t thread;
    int failed;
    par_report *reports;
    size_t nreports;
    unsigned long long unreported; /* past LIMIT_SCAN_ERRORS_SHOWN */
    par_fwd *fwd;
    size_t nfwd, capfwd;
    char *arena;
    size_t alen, acap;
    int oom; /* a forward could not be kept: the run fails */
} par_worker;

static void par_on_alert(void *user, const secdet_alert *alert) {
    flockfile(stdout); /* one alert's line (or text) is written by several calls */
    scan_on_alert(user, alert);
    funlockfile(stdout);
}

static int grow(void **p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * size);
    if (q == NULL) return -1;
    *p = q;
    *cap = n;
    return 0;
}

static void par_on_forward(void *user, const engine_forward *f) {
    par_worker *w = user;
    size_t rl = strlen(f->rule) + 1, sl = strlen(f->source) + 1, need = rl + sl + f->key_len + f->len;
    if (w->oom || grow((void **)&w->fwd, &w->capfwd, w->nfwd + 1, sizeof *w->fwd) != 0 ||
        grow((void **)&w->arena, &w->acap, w->alen + need, 1) != 0) {
        w->oom = 1;
        return;
    }
    par_fwd *r = &w->fwd[w->nfwd++];
    if (!sd_engine_newest_time(w->ctx.engine, &r->before)) r->before = INT64_MIN;
    r->time_ns = f->time_ns;
    r->at = w->alen;
    r->len = f->len;
    r->key_len = f->key_len;
    char *d = w->arena + w->alen;
    memcpy(d, f->rule, rl);
    memcpy(d + rl, f->source, sl);
    if (f->key_len) memcpy(d + rl + sl, f->key, f->key_len);
    if (f->len) memcpy(d + rl + sl + f->key_len, f->json, f->len);
    w->alen += need;
}

/* The correlator (the run's engine, on this thread) takes worker w's
 * forwards in the order of the file, as one engine would have met them, its
 * event time moved by the events between them. */
static void correlate(scan_ctx *ctx, const par_worker *w) {
    for (size_t i = 0; i < w->nfwd; i++) {
        const par_fwd *r = &w->fwd[i];
        const char *rule = w->arena + r->at;
        const char *source = rule + strlen(rule) + 1;
        const char *key = source + strlen(source) + 1;
        if (r->before != INT64_MIN) sd_engine_advance(ctx->engine, r->before);
        (void)sd_engine_push_forwarded_group(ctx->engine, source, rule, key, r->key_len, r->time_ns, key + r->key_len,
                                             r->len);
    }
    int64_t t;
    if (sd_engine_newest_time(w->ctx.engine, &t)) sd_engine_advance(ctx->engine, t);
}

static void par_on_malformed(void *user, const char *source, uint64_t where, const char *message) {
    (void)source;
    par_worker *w = user;
    if (w->nreports >= LIMIT_SCAN_ERRORS_SHOWN) {
        w->unreported++;
        return;
    }
    if (w->reports == NULL) {
        w->reports = calloc(LIMIT_SCAN_ERRORS_SHOWN, sizeof *w->reports);
        if (w->reports == NULL) {
            w->unreported++;
            return;
        }
    }
    par_report *r = &w->reports[w->nreports++];
    r->where = where;
    r->message = message ? strdup(message) : NULL;
}

static int par_push(par_worker *w, const void *bytes, size_t len) {
    secdet_engine *e = w->ctx.engine;
    secdet_status st = len ? secdet_push(e, w->source, bytes, len) : secdet_source_end(e, w->source);
    while (st == SECDET_ERR_BUSY) {
        (void)secdet_drain(e, 100);
        st = secdet_push(e, w->source, bytes, len);
    }
    return st == SECDET_OK || st == SECDET_ERR_DECODE ? 0 : -1;
}

static void *par_run(void *arg) {
    par_worker *w = arg;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t at = w->begin;
    while (at < w->end && !w->failed) {
        size_t base = at - at % page;
        size_t len = w->end - base < PAR_WINDOW ? w->end - base : PAR_WINDOW;
        void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, w->fd, (off_t)base);
        if (p == MAP_FAILED) {
            w->failed = errno ? errno : EIO;
            break;
        }
        (void)madvise(p, len, MADV_SEQUENTIAL);
        if (par_push(w, (const unsigned char *)p + (at - base), base + len - at) != 0) {
            w->failed = -1;
        }
        munmap(p, len);
        at = base + len;
    }
    if (!w->failed && par_push(w, NULL, 0) != 0) {
        w->failed = -1;
    }
    return NULL;
}

/* The offset just after the first newline at or after `from` (the file's
 * size when none): where a range starting near `from` really starts. */
static size_t line_start_after(int fd, size_t from, size_t size) {
    char chunk[65536];
    size_t at = from;
    while (at < size) {
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t)at);
        if (n <= 0) {
            return size;
        }
        const char *nl = memchr(chunk, '\n', (size_t)n);
        if (nl) {
            return at + (size_t)(nl - chunk) + 1;
        }
        at += (size_t)n;
    }
    return size;
}

static uint64_t newlines_before(int fd, size_t end) {
    char chunk[65536];
    uint64_t lines = 0;
    for (size_t at = 0; at < end;) {
        size_t want = end - at < sizeof chunk ? end - at : sizeof chunk;
        ssize_t n = pread(fd, chunk, want, (off_t)at);
        if (n <= 0) {
            break;
        }
        for (const char *p = chunk, *stop = chunk + n; (p = memchr(p, '\n', (size_t)(stop - p))) != NULL; p++) {
            lines++;
        }
        at += (size_t)n;
    }
    return lines;
}

/* Whether the first object's first key is none that the engine's "auto"
 * format takes for another format ("Records", "awslogs", "messageType"):
 * then a stream of it is JSON lines, decided once from its first bytes. The
 * engines of -j read it as JSON lines from wherever their range starts (a
 * line there could start with one of those keys). */
static int first_key_is_plain(const unsigned char *p, size_t n) {
    static const char *const other[] = {"\"Records\"", "\"awslogs\"", "\"messageType\""};
    size_t i = 0;
    while (i < n && p[i] != '{') {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n' && p[i] != 0xef && p[i] != 0xbb &&
            p[i] != 0xbf) {
            return 0;
        }
        i++;
    }
    for (i++; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'); i++) {}
    for (size_t k = 0; k < sizeof other / sizeof other[0]; k++) {
        size_t len = strlen(other[k]);
        if (n - i < len || memcmp(p + i, other[k], len) == 0) return 0;
    }
    return i < n;
}

/* Why this run cannot be split (NULL: it can); *fmt is the format decided. */
static const char *cannot_split(scan_ctx *ctx, const scan_files *files, int fd, size_t size) {
    const scan_options *o = ctx->opts;
    if (files->n != 1) return "several inputs are merged in event-time order";
    if (o->state) return "--state keeps one engine's state";
    if (o->summary) return "--summary counts one engine's rules";
    if (ctx->after_flush) return "this command reads one engine";
    if (fd < 0) return "the input is not a regular, uncompressed file";
    /* The format is decided on the first MiB, as a single-file scan does. */
    size_t want = size < PAR_HEAD_BYTES ? size : PAR_HEAD_BYTES;
    unsigned char *head = malloc(want);
    secdet_format detected = SECDET_FMT_AUTO;
    if (head != NULL) {
        ssize_t n = pread(fd, head, want, 0);
        if (n > 0 && (scan_detect_format(head, (size_t)n, 1, &detected), detected == SECDET_FMT_AUTO) &&
            first_key_is_plain(head, (size_t)n)) {
            detected = SECDET_FMT_JSONL;
        }
        free(head);
    }
    secdet_format fmt = o->format != SECDET_FMT_AUTO ? o->format : detected;
    if (fmt != SECDET_FMT_JSONL) return "the input is not JSON lines";
    return NULL;
}

static long default_jobs(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > PAR_MAX_JOBS ? PAR_MAX_JOBS : n;
}

static int start_workers(scan_ctx *ctx, const scan_file *f, par_worker *w, size_t jobs, int fd, size_t size,
                         scan_options *jsonl, int corr) {
    secdet_engine_opts eo;
    scan_engine_opts(ctx->opts, &eo);
    size_t prev = 0;
    for (size_t i = 0; i < jobs; i++) {
        w[i].ctx = *ctx;
        w[i].ctx.opts = jsonl; /* the format decided at the file's start, for every range */
        w[i].ctx.alerts = w[i].ctx.filtered = 0;
        w[i].fd = fd;
        w[i].begin = prev;
        w[i].end = i + 1 == jobs ? size : line_start_after(fd, size / jobs * (i + 1) - 1, size);
        if (w[i].end < w[i].begin) w[i].end = w[i].begin;
        prev = w[i].end;
        if (i > 0 || corr) {
            cli_load_result loaded;
            if (secdet_engine_new(&eo, &w[i].ctx.engine) != SECDET_OK ||
                cli_load_rules(w[i].ctx.engine, ctx->opts->rules.items, ctx->opts->rules.count, 0, &loaded) != 0) {
                fprintf(stderr, "secdet: -j: cannot make engine %zu of %zu\n", i + 1, jobs);
                return -1;
            }
        }
        if (corr) {
            sd_engine_set_forward(w[i].ctx.engine, par_on_forward, &w[i]);
            sd_engine_set_forward_late(w[i].ctx.engine, true);
        }
        secdet_set_alert_callback(w[i].ctx.engine, par_on_alert, &w[i].ctx);
        secdet_set_error_callback(w[i].ctx.engine, par_on_malformed, &w[i]);
        w[i].source = scan_source_for(&w[i].ctx, f, SECDET_FMT_JSONL);
        if (w[i].source == NULL) return -1;
    }
    return 0;
}

/* Reports worker w's malformed lines with their numbers in the whole file. */
static void report_malformed(scan_ctx *ctx, const par_worker *w) {
    uint64_t before = w->begin ? newlines_before(w->fd, w->begin) : 0;
    for (size_t k = 0; k < w->nreports; k++) {
        const par_report *r = &w->reports[k];
        const char *msg = r->message ? r->message : "malformed event";
        char prefix[32], text[1024];
        int plen = snprintf(prefix, sizeof prefix, "line %llu: ", (unsigned long long)r->where);
        if (plen > 0 && strncmp(msg, prefix, (size_t)plen) == 0) { /* the decoder's own line number */
            snprintf(text, sizeof text, "line %llu: %s", (unsigned long long)(r->where + before), msg + plen);
            msg = text;
        }
        scan_on_malformed(ctx, w->source, r->where + before, msg);
    }
    for (unsigned long long k = 0; k < w->unreported; k++) {
        scan_on_malformed(ctx, w->source, 0, NULL); /* counted toward the "more malformed events" note */
    }
}

void scan_stats_add(secdet_stats *to, const secdet_stats *s) {
    to->events += s->events;
    to->malformed += s->malformed;
    to->alerts += s->alerts;
    to->rules_run += s->rules_run;
    to->budget_exceeded += s->budget_exceeded;
    to->late += s->late;
    to->bytes += s->bytes;
    to->evicted += s->evicted;
    to->groups += s->groups;
    to->state_bytes += s->state_bytes;
    to->text_events += s->text_events;
}

static void finish_workers(scan_ctx *ctx, par_worker *w, size_t jobs, size_t started, int corr) {
    for (size_t i = 0; i < started; i++) {
        pthread_join(w[i].thread, NULL);
        if (corr) correlate(ctx, &w[i]);
    }
    secdet_stats mine = {0}; /* the correlator's own count of the events forwarded to it */
    (void)secdet_stats_get(ctx->engine, &mine);
    for (size_t i = 0; i < jobs; i++) {
        ctx->alerts += w[i].ctx.alerts;
        ctx->filtered += w[i].ctx.filtered;
        if (w[i].ctx.engine && (i > 0 || corr)) {
            (void)secdet_flush(w[i].ctx.engine);
            secdet_stats s = {0};
            (void)secdet_stats_get(w[i].ctx.engine, &s);
            scan_stats_add(&ctx->more, &s);
        }
    }
    for (size_t i = 0; i < jobs; i++) {
        if (w[i].nreports || w[i].unreported) report_malformed(ctx, &w[i]);
        for (size_t k = 0; k < w[i].nreports; k++) free(w[i].reports[k].message);
        free(w[i].reports);
        if ((i > 0 || corr) && w[i].ctx.engine) secdet_engine_free(w[i].ctx.engine);
        free(w[i].fwd);
        free(w[i].arena);
    }
    if (corr) { /* events were read by the workers; those forwarded are not more events (modulo 2^64) */
        ctx->more.events -= mine.events;
        ctx->more.text_events -= mine.text_events;
        ctx->more.bytes -= mine.bytes;
    }
    secdet_set_alert_callback(ctx->engine, scan_on_alert, ctx);
    secdet_set_error_callback(ctx->engine, scan_on_malformed, ctx);
}

int scan_parallel(scan_ctx *ctx, const scan_files *files, int *failed, size_t *files_read) {
    const scan_options *o = ctx->opts;
    long jobs = o->jobs > 0 ? o->jobs : default_jobs();
    if (jobs <= 1 || files->n == 0) return 0;
    cli_map m;
    int mapped = files->n == 1 && cli_map_open(files->v[0].path, &m);
    const char *why = cannot_split(ctx, files, mapped ? m.fd : -1, mapped ? m.size : 0);
    if (why == NULL && m.size / PAR_MIN_BYTES < (size_t)jobs) {
        jobs = (long)(m.size / PAR_MIN_BYTES); /* small files: fewer engines, or one */
        if (jobs <= 1) why = "";
    }
    if (why != NULL) {
        if (o->jobs > 1 && !o->quiet && why[0]) {
            fprintf(stderr, "secdet scan: -j %ld: %s; scanning with one engine\n", o->jobs, why);
        }
        if (mapped) cli_map_close(&m);
        return 0;
    }
    ctx->file = files->v[0].path;
    ctx->errors_shown = 0;
    scan_options jsonl = *o;
    jsonl.format = SECDET_FMT_JSONL;
    int corr = sd_engine_is_stateful(ctx->engine);
    par_worker *w = calloc((size_t)jobs, sizeof *w);
    size_t started = 0;
    if (w == NULL || start_workers(ctx, &files->v[0], w, (size_t)jobs, m.fd, m.size, &jsonl, corr) != 0) {
        *failed = 1;
    } else {
        if (corr) secdet_set_alert_callback(ctx->engine, par_on_alert, ctx); /* beside the workers' */
        for (; started < (size_t)jobs; started++) {
            if (pthread_create(&w[started].thread, NULL, par_run, &w[started]) != 0) {
                fprintf(stderr, "secdet: -j: cannot start a thread\n");
                *failed = 1;
                break;
            }
        }
    }
    if (w != NULL) {
        finish_workers(ctx, w, (size_t)jobs, started, corr);
        for (size_t i = 0; i < started; i++) {
            if (w[i].failed > 0) {
                fprintf(stderr, "secdet: %s: %s\n", ctx->file, strerror(w[i].failed));
            } else if (w[i].failed) {
                fprintf(stderr, "secdet: %s: the engine stopped (%zu of %ld)\n", ctx->file, i + 1, jobs);
            }
            if (w[i].oom) fprintf(stderr, "secdet: -j: out of memory for the correlator's events\n");
            *failed |= w[i].failed != 0 || w[i].oom;
        }
    }
    free(w);
    ctx->bytes_before += m.size;
    cli_map_close(&m);
    if (!*failed) ++*files_read;
    return 1;
}
