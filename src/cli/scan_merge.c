/*
 * scan_merge.c — several input files read as one stream in event-time order.
 *
 * Correlation holds events back only for the allowed lateness (15 minutes
 * by default); reading an Okta export after a day of CloudTrail files would
 * make every Okta event late. So the files are merged by event time, the
 * way a k-way merge of sorted runs is: each file is a run, decoded by an
 * engine reader (engine/outer.h: the engine's decoders and log types, no
 * evaluation), and the event with the earliest time among the runs' next
 * events is pushed next (secdet_push_event, to the source it belongs to).
 * Then the lateness only has to cover the disorder inside one file.
 *
 * Memory stays bounded: a run keeps the events of one read (at most
 * MERGE_CHUNK bytes of input, and the decoder's one partial event), and a
 * file is opened only when the merge reaches the time of its first event —
 * known from a first look at every file, which is then closed again — so
 * only the files whose times overlap are open at once (a day of CloudTrail
 * files, five minutes each, opens a few at a time, not thousands).
 *
 * An event without a readable time takes its place in its file: it sorts at
 * the time of the event before it in that file (the file's start when
 * none). Ties go to the file given first. A file that cannot be read is
 * reported and skipped, as in a single-file scan.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/scan.h"
#include "engine/outer.h"

#define MERGE_CHUNK     (64u * 1024u)
#define MERGE_KEEP_OPEN 8 /* files kept open after the first look */

typedef struct queued {
    size_t off, len; /* into run.text */
    int64_t key;     /* merge time */
    char *source;    /* owned */
} queued;

typedef struct run {
    const scan_file *file;
    size_t index; /* in the files given: ties */
    const char *display;
    const char *source; /* the source it is read as */
    cli_input *in;
    engine_reader *rd;
    queued *q;
    size_t qhead, qlen, qcap;
    char *text; /* the queued events' JSON, one after the other */
    size_t text_len, text_cap;
    int64_t last_key; /* of the last event queued */
    int64_t first_key;
    int eof, failed, done;
} run;

/* A file not opened yet, by its first event's time. */
typedef struct first {
    int64_t key;
    size_t index;
} first;

typedef struct merge {
    scan_ctx *ctx;
    run *runs;
    size_t nruns;
    run **heap; /* open runs by their next event */
    size_t nheap;
    first *pending; /* runs not started yet, by first time */
    size_t npending, next_pending;
    unsigned char *chunk;
    int oom;
} merge;

static int on_read(void *user, const engine_read_event *ev) {
    run *r = user;
    if (r->qlen == r->qcap) {
        size_t cap = r->qcap ? r->qcap * 2 : 64;
        queued *q = realloc(r->q, cap * sizeof *q);
        if (!q) return -1;
        r->q = q;
        r->qcap = cap;
    }
    if (r->text_len + ev->len > r->text_cap) {
        size_t cap = r->text_cap ? r->text_cap : 4096;
        while (cap < r->text_len + ev->len) cap *= 2;
        char *t = realloc(r->text, cap);
        if (!t) return -1;
        r->text = t;
        r->text_cap = cap;
    }
    char *src = strdup(ev->source);
    if (!src) return -1;
    memcpy(r->text + r->text_len, ev->json, ev->len);
    if (ev->has_time) r->last_key = ev->time_ns;
    r->q[r->qlen++] = (queued){.off = r->text_len, .len = ev->len, .key = r->last_key, .source = src};
    r->text_len += ev->len;
    return 0;
}

static void run_close(run *r) {
    for (size_t i = r->qhead; i < r->qlen; i++) free(r->q[i].source);
    free(r->q);
    free(r->text);
    r->q = NULL;
    r->text = NULL;
    r->qhead = r->qlen = r->qcap = r->text_len = r->text_cap = 0;
    sd_engine_reader_free(r->rd);
    r->rd = NULL;
    if (r->in) cli_input_close(r->in);
    r->in = NULL;
}

/* Opens the run's file and decides its source from its first bytes. */
static int run_open(merge *m, run *r) {
    scan_ctx *ctx = m->ctx;
    ctx->file = r->display;
    r->in = cli_input_open(r->file->path);
    if (!r->in) {
        term_progress_clear(&ctx->progress);
        fprintf(stderr, "secdet: %s: %s\n", r->display, strerror(errno));
        return -1;
    }
    /* The format from the first bytes; what was read goes to the reader. */
    size_t n = 0;
    secdet_format detected = SECDET_FMT_AUTO;
    int at_end = 0;
    while (!scan_detect_format(m->chunk, n, at_end, &detected)) {
        long got = cli_input_read(r->in, m->chunk + n, MERGE_CHUNK - n);
        if (got <= 0 || (size_t)got + n == MERGE_CHUNK) at_end = 1;
        if (got > 0) n += (size_t)got;
        if (got < 0) r->failed = 1;
    }
    r->source = scan_source_for(ctx, r->file, detected);
    r->rd = r->source ? sd_engine_reader_new(ctx->engine, r->source) : NULL;
    if (!r->rd) return -1;
    r->last_key = INT64_MIN;
    if (n && sd_engine_reader_feed(r->rd, m->chunk, n, false, on_read, r) == SECDET_ERR_NOMEM) m->oom = 1;
    if (r->failed) {
        term_progress_clear(&ctx->progress);
        fprintf(stderr, "secdet: %s: %s\n", r->display, cli_input_error(r->in));
    }
    return 0;
}

/* Reads until the run has an event queued or its file ended. */
static void run_fill(merge *m, run *r) {
    scan_ctx *ctx = m->ctx;
    ctx->file = r->display;
    /* The queue restarts once consumed: its memory is one read's events. */
    if (r->qhead == r->qlen) {
        r->qhead = r->qlen = 0;
        r->text_len = 0;
    }
    while (r->qhead == r->qlen && !r->eof && !m->oom) {
        long got = r->failed ? 0 : cli_input_read(r->in, m->chunk, MERGE_CHUNK);
        if (got < 0) {
            r->failed = 1;
            term_progress_clear(&ctx->progress);
            fprintf(stderr, "secdet: %s: %s\n", r->display, cli_input_error(r->in));
            got = 0;
        }
        secdet_status st = got > 0 ? sd_engine_reader_feed(r->rd, m->chunk, (size_t)got, false, on_read, r)
                                   : sd_engine_reader_feed(r->rd, NULL, 0, true, on_read, r);
        if (st == SECDET_ERR_NOMEM) m->oom = 1;
        if (got == 0) r->eof = 1;
    }
}

/* ---- the heap of open runs, earliest next event first ---------------------------- */

static int before(const run *a, const run *b) {
    int64_t ka = a->q[a->qhead].key, kb = b->q[b->qhead].key;
    return ka != kb ? ka < kb : a->index < b->index;
}

static void heap_push(merge *m, run *r) {
    size_t i = m->nheap++;
    m->heap[i] = r;
    while (i > 0 && before(m->heap[i], m->heap[(i - 1) / 2])) {
        run *t = m->heap[i];
        m->heap[i] = m->heap[(i - 1) / 2];
        m->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static run *heap_pop(merge *m) {
    run *top = m->heap[0];
    m->heap[0] = m->heap[--m->nheap];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->nheap && before(m->heap[l], m->heap[s])) s = l;
        if (r < m->nheap && before(m->heap[r], m->heap[s])) s = r;
        if (s == i) break;
        run *t = m->heap[i];
        m->heap[i] = m->heap[s];
        m->heap[s] = t;
        i = s;
    }
    return top;
}

/* A run with an event queued goes on the heap; one without is done. */
static void run_park(merge *m, run *r) {
    if (r->qhead < r->qlen) {
        heap_push(m, r);
        return;
    }
    r->done = 1;
    run_close(r);
}

static int by_first(const void *a, const void *b) {
    const first *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* ---- the merge --------------------------------------------------------------------- */

static int push_event(scan_ctx *ctx, const char *source, const char *json, size_t len) {
    secdet_status st = secdet_push_event(ctx->engine, source, json, len);
    while (st == SECDET_ERR_BUSY) { /* a sink cannot take more: wait, then the same event again */
        (void)secdet_drain(ctx->engine, 100);
        st = secdet_push_event(ctx->engine, source, json, len);
    }
    if (st == SECDET_OK || st == SECDET_ERR_DECODE) return 0;
    term_progress_clear(&ctx->progress);
    fprintf(stderr, "secdet: %s: %s\n", ctx->file, secdet_strerror(st));
    return -1;
}

int scan_merge(scan_ctx *ctx, const scan_files *files, size_t *files_read) {
    merge m = {.ctx = ctx, .nruns = files->n};
    m.runs = calloc(files->n ? files->n : 1, sizeof *m.runs);
    m.heap = calloc(files->n ? files->n : 1, sizeof *m.heap);
    m.pending = calloc(files->n ? files->n : 1, sizeof *m.pending);
    m.chunk = malloc(MERGE_CHUNK);
    int failed = 0;
    if (!m.runs || !m.heap || !m.pending || !m.chunk) {
        fprintf(stderr, "secdet: out of memory\n");
        failed = 1;
        goto out;
    }
    /* A first look at every file: its first event's time. */
    for (size_t i = 0; i < files->n; i++) {
        run *r = &m.runs[i];
        r->file = &files->v[i];
        r->index = i;
        r->display = strcmp(r->file->path, "-") == 0 ? "<stdin>" : r->file->path;
        if (run_open(&m, r) != 0) {
            r->failed = r->done = 1;
            run_close(r);
            continue;
        }
        /* Past the first few files, the look is quiet and the file closed
         * again: it is read from its start when its time comes, and only
         * then are its malformed events reported (once). stdin cannot be
         * read twice: it stays open. */
        int reopen = strcmp(r->file->path, "-") != 0 && i >= MERGE_KEEP_OPEN;
        sd_engine_reader_set_quiet(r->rd, reopen);
        run_fill(&m, r);
        r->first_key = r->qhead < r->qlen ? r->q[r->qhead].key : INT64_MIN;
        if (reopen) run_close(r);
        m.pending[m.npending++] = (first){r->first_key, i};
    }
    qsort(m.pending, m.npending, sizeof *m.pending, by_first);
    while (!m.oom && (m.nheap > 0 || m.next_pending < m.npending)) {
        if (m.next_pending < m.npending) {
            run *p = &m.runs[m.pending[m.next_pending].index];
            if (m.nheap == 0 || p->first_key <= m.heap[0]->q[m.heap[0]->qhead].key) {
                m.next_pending++;
                if (!p->in && !p->done) { /* closed after the first look: read it again */
                    p->eof = 0;
                    if (run_open(&m, p) != 0) {
                        p->failed = p->done = 1;
                        run_close(p);
                        continue;
                    }
                }
                if (p->in && p->qhead == p->qlen) run_fill(&m, p);
                if (!p->done) run_park(&m, p);
                continue;
            }
        }
        run *r = heap_pop(&m);
        queued *q = &r->q[r->qhead++];
        ctx->file = r->display;
        if (push_event(ctx, q->source, r->text + q->off, q->len) != 0) r->failed = 1;
        free(q->source);
        if (r->qhead == r->qlen && !r->eof) run_fill(&m, r);
        if (r->qhead == r->qlen && r->in) ctx->bytes_before += cli_input_consumed(r->in);
        run_park(&m, r);
        if (ctx->progress.enabled) {
            secdet_stats s = {0};
            (void)secdet_stats_get(ctx->engine, &s);
            term_progress_state ps = {.bytes_done = ctx->bytes_before,
                                      .bytes_total = ctx->bytes_total,
                                      .events = s.events,
                                      .alerts = ctx->alerts,
                                      .file = ctx->file};
            term_progress_update(&ctx->progress, &ps, 0);
        }
    }
    if (m.oom) {
        fprintf(stderr, "secdet: out of memory\n");
        failed = 1;
    }
    for (size_t i = 0; i < m.nruns; i++) {
        if (m.runs[i].failed)
            failed = 1;
        else
            *files_read += 1;
        run_close(&m.runs[i]);
    }
out:
    free(m.runs);
    free(m.heap);
    free(m.pending);
    free(m.chunk);
    return failed ? -1 : 0;
}
