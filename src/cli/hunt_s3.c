/*
 * hunt_s3.c — `secdet hunt`'s s3://bucket/prefix inputs (and TYPE:s3://...).
 *
 * Each is listed and its objects fetched into a temporary directory
 * (src/s3/: CloudTrail's date folders outside --since/--until are not even
 * listed, eight objects are read at a time), and the fetched files take the
 * argument's place, so the hunt reads them as it reads any files: merged in
 * event-time order, each event to the source of its log type. The files
 * are removed when the hunt ends. What was listed, skipped and read is
 * said on stderr (a progress line on a terminal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/hunt.h"
#include "s3/s3.h"

#define HUNT_S3_PARALLEL 8

static void on_progress(void *user, const sd_s3_fetch_stats *s, size_t total) {
    hunt_ctx *h = user;
    if (!h->sc.progress.enabled) return;
    fprintf(stderr, "\r\033[Ks3: %zu/%zu objects read (%.1f MiB)", s->fetched, total, (double)s->bytes / 1048576.0);
    fflush(stderr);
}

/* "s3://" after an optional "TYPE:" (TYPE: letters, digits, '-'). */
static const char *s3_part(const char *arg) {
    const char *p = strstr(arg, "s3://");
    if (!p) return NULL;
    for (const char *q = arg; q < p; q++) {
        if (q + 1 == p && *q == ':') return p;
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-')) return NULL;
    }
    return p == arg ? p : NULL;
}

int hunt_s3_expand(hunt_ctx *h, char **args, size_t nargs, cli_strings *out) {
    int rc = 0;
    for (size_t i = 0; i < nargs; i++) {
        const char *s3 = s3_part(args[i]);
        if (!s3) {
            if (cli_strings_push(out, args[i]) != 0) return -1;
            continue;
        }
        if (!h->tmpdir) {
            const char *tmp = getenv("TMPDIR");
            char tmpl[1024];
            snprintf(tmpl, sizeof tmpl, "%s/secdet-hunt-XXXXXX", tmp && *tmp ? tmp : "/tmp");
            h->tmpdir = mkdtemp(tmpl) ? strdup(tmpl) : NULL;
            if (!h->tmpdir) {
                fprintf(stderr, "secdet: cannot make a temporary directory in %s\n", tmp && *tmp ? tmp : "/tmp");
                return -1;
            }
        }
        const char *bucket = s3 + 5;
        const char *slash = strchr(bucket, '/');
        char *b = slash ? strndup(bucket, (size_t)(slash - bucket)) : strdup(bucket);
        const char *prefix = slash ? slash + 1 : "";
        size_t typelen = (size_t)(s3 - args[i]); /* "TYPE:" or 0 */
        sd_s3_object *objs = NULL;
        size_t n = 0;
        sd_s3_fetch_stats st;
        char err[512] = "";
        int got = b && *b ? sd_s3_fetch_prefix(b, prefix, h->since, h->until, h->tmpdir, HUNT_S3_PARALLEL, on_progress,
                                               h, &objs, &n, &st, err, sizeof err)
                          : -1;
        if (h->sc.progress.enabled) fputs("\r\033[K", stderr);
        if (got < 0) {
            fprintf(stderr, "secdet: %s: %s\n", s3, err[0] ? err : "no bucket named");
            rc = -1;
        } else {
            if (got > 0) {
                fprintf(stderr, "secdet: %s: %s\n", s3, err);
                rc = -1;
            }
            if (!h->so.quiet)
                fprintf(stderr, "%s: %zu %s listed, %zu read (%.1f MiB); %zu date %s outside the time asked skipped\n",
                        s3, st.listed, cli_plural(st.listed, "object", "objects"), st.fetched,
                        (double)st.bytes / 1048576.0, st.pruned_folders,
                        cli_plural(st.pruned_folders, "folder", "folders"));
            for (size_t k = 0; k < n; k++) {
                if (!objs[k].path) continue;
                char *arg = malloc(typelen + strlen(objs[k].path) + 1);
                if (!arg) {
                    rc = -1;
                    break;
                }
                memcpy(arg, args[i], typelen);
                strcpy(arg + typelen, objs[k].path);
                int pushed = cli_strings_push(out, arg) == 0 && cli_strings_push(&h->fetched, objs[k].path) == 0;
                free(arg);
                if (!pushed) rc = -1;
            }
        }
        sd_s3_objects_free(objs, n);
        free(b);
    }
    return rc;
}

void hunt_s3_cleanup(hunt_ctx *h) {
    for (size_t i = 0; i < h->fetched.count; i++) unlink(h->fetched.items[i]);
    cli_strings_free(&h->fetched);
    if (h->tmpdir) rmdir(h->tmpdir);
    free(h->tmpdir);
    h->tmpdir = NULL;
}
