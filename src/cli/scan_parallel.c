/*
 * scan_parallel.c — `secdet scan -j N`: one file scanned by N engines on N
 * threads, with the alerts of -j 1 (in another order), through the
 * library's secdet_scan_file (include/secdet.h says how it splits, and
 * src/engine/scan_split.c how the correlation is partitioned).
 *
 * Here: what the command alone knows stops a split — several files (merged
 * in event-time order), stdin, gzip, --state and --summary (one engine's
 * state and rules), `secdet hunt` (it reads one engine) — and a first look
 * at the file's format (a CloudTrail document is not split: its source
 * would be another). Then such a run is scanned the -j 1 way, with a note
 * on stderr when -j was given. Alerts and malformed lines come to the
 * run's engine's callbacks one at a time, from the scan's threads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/scan.h"

#define PAR_HEAD_BYTES (1u << 20)
#define PAR_MIN_SPLIT  (2u << 20) /* secdet_scan_file splits a file of 2 MiB or more (1 MiB per engine) */

/* Why this run cannot be split (NULL: it can). */
static const char *cannot_split(scan_ctx *ctx, const scan_files *files, int fd, size_t size) {
    const scan_options *o = ctx->opts;
    if (files->n != 1) return "several inputs are merged in event-time order";
    if (o->state) return "--state keeps one engine's state";
    if (o->summary) return "--summary counts one engine's rules";
    if (ctx->after_flush) return "this command reads one engine";
    if (fd < 0) return "the input is not a regular, uncompressed file";
    if (size < PAR_MIN_SPLIT) return ""; /* the library would read it alone: read it the -j 1 way (progress bar) */
    if (o->format != SECDET_FMT_AUTO) return o->format == SECDET_FMT_JSONL ? NULL : "the input is not JSON lines";
    /* The format is decided on the first MiB, as a single-file scan does. */
    size_t want = size < PAR_HEAD_BYTES ? size : PAR_HEAD_BYTES;
    unsigned char *head = malloc(want ? want : 1);
    secdet_format detected = SECDET_FMT_AUTO;
    if (head != NULL) {
        ssize_t n = pread(fd, head, want, 0);
        if (n > 0) (void)scan_detect_format(head, (size_t)n, 1, &detected);
        free(head);
    }
    return detected == SECDET_FMT_AUTO ? NULL : "the input is not JSON lines";
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

int scan_parallel(scan_ctx *ctx, const scan_files *files, int *failed, size_t *files_read) {
    const scan_options *o = ctx->opts;
    if (o->jobs == 1 || files->n == 0) return 0;
    cli_map m;
    int mapped = files->n == 1 && cli_map_open(files->v[0].path, &m); /* also: SIGBUS caught from now on */
    const char *why = cannot_split(ctx, files, mapped ? m.fd : -1, mapped ? m.size : 0);
    if (mapped) cli_map_close(&m);
    if (why != NULL) {
        if (o->jobs > 1 && !o->quiet && why[0])
            fprintf(stderr, "secdet scan: -j %ld: %s; scanning with one engine\n", o->jobs, why);
        return 0;
    }
    ctx->file = files->v[0].path;
    ctx->errors_shown = 0;
    const char *source = scan_source_for(ctx, &files->v[0], SECDET_FMT_AUTO);
    if (source == NULL) {
        *failed = 1;
        return 1;
    }
    secdet_scan_info info;
    secdet_status st = secdet_scan_file(ctx->engine, source, ctx->file, o->jobs > 0 ? (unsigned)o->jobs : 0, &info);
    if (info.not_split && o->jobs > 1 && !o->quiet) {
        fprintf(stderr, "secdet scan: -j %ld: %s; scanned with one engine\n", o->jobs, info.not_split);
    }
    if (st != SECDET_OK && st != SECDET_ERR_DECODE) {
        fprintf(stderr, "secdet: %s: %s\n", ctx->file, st == SECDET_ERR_IO ? strerror(errno) : secdet_strerror(st));
        *failed = 1;
    }
    ctx->bytes_before += info.bytes;
    if (!*failed) ++*files_read;
    return 1;
}
