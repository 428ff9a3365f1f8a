/*
 * scan_inputs.c — what `secdet scan` reads, and the source each file's
 * events go to.
 *
 * An input is PATH or TYPE:PATH, TYPE a log type the engine knows
 * ("okta:/var/log/okta.jsonl", "gcp-audit:-"). A directory stands for the
 * *.json, *.jsonl and *.gz files below it, in byte order of their paths
 * (as the Python binding's scan() orders a directory), each file its own
 * stream.
 *
 * The source of a file's events (added on first use):
 *  - TYPE:PATH — source TYPE, of that log type;
 *  - --source NAME — source NAME, of the log type of its name (else jsonl);
 *  - else by the format (--format, or per file from its first bytes): a
 *    CloudTrail log file ({"Records": ...}) goes to source "cloudtrail";
 *    anything else to source "jsonl" (or the --format's name), which routes
 *    each event by its shape: an Okta event goes to source "okta", a
 *    GuardDuty finding (bare or inside EventBridge) to "guardduty", and so
 *    on (docs/log-types.md); only events of no known shape stay "jsonl".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/scan.h"

/* "TYPE:PATH" with TYPE a log type of the engine: TYPE, else NULL. */
static char *type_prefix(secdet_engine *e, const char *arg) {
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg) return NULL;
    size_t n = (size_t)(colon - arg);
    for (size_t i = 0; i < secdet_log_type_count(e); i++) {
        const char *name = secdet_log_type_name(e, i);
        if (strlen(name) == n && memcmp(name, arg, n) == 0) return strndup(arg, n);
    }
    return NULL;
}

int scan_expand_inputs(secdet_engine *e, char **args, size_t count, scan_files *out) {
    static const char *const suffixes[] = {".json", ".jsonl", ".gz", NULL};
    static const cli_walk how = {.suffixes = suffixes, .hidden = 1, .follow_links = 0};
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        char *type = type_prefix(e, args[i]);
        const char *path = type ? args[i] + strlen(type) + 1 : args[i];
        cli_strings files = {0};
        struct stat st;
        int is_dir = strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        if (cli_collect_files(path, &how, &files) != 0) {
            fprintf(stderr, "secdet: %s: %s\n", path, strerror(errno));
            rc = -1;
        } else if (is_dir && files.count == 0) {
            fprintf(stderr, "secdet: %s: no *.json, *.jsonl or *.gz files below it\n", path);
            rc = -1;
        }
        for (size_t k = 0; k < files.count; k++) {
            if (out->n == out->cap) {
                size_t cap = out->cap ? out->cap * 2 : 16;
                scan_file *v = realloc(out->v, cap * sizeof *v);
                if (!v) {
                    rc = -1;
                    break;
                }
                out->v = v;
                out->cap = cap;
            }
            out->v[out->n].path = files.items[k];
            out->v[out->n].type = type ? strdup(type) : NULL;
            files.items[k] = NULL;
            out->n++;
        }
        cli_strings_free(&files);
        free(type);
    }
    return rc;
}

void scan_files_free(scan_files *f) {
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].path);
        free(f->v[i].type);
    }
    free(f->v);
    memset(f, 0, sizeof *f);
}

int scan_detect_format(const unsigned char *p, size_t n, int at_end, secdet_format *out) {
    static const char records[] = "\"Records\"";
    size_t i = 0;
    if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        i = 3; /* UTF-8 byte order mark */
    }
    int seen_brace = 0;
    for (; i < n; i++) {
        unsigned char c = p[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        }
        if (!seen_brace) {
            if (c != '{') {
                break;
            }
            seen_brace = 1;
            continue;
        }
        size_t need = sizeof records - 1;
        size_t have = n - i < need ? n - i : need;
        if (memcmp(p + i, records, have) != 0) {
            break;
        }
        if (have < need) {
            if (at_end) {
                break;
            }
            return 0;
        }
        *out = SECDET_FMT_CLOUDTRAIL;
        return 1;
    }
    if (i == n && !at_end) {
        return 0;
    }
    *out = SECDET_FMT_AUTO;
    return 1;
}

const char *scan_source_for(scan_ctx *ctx, const scan_file *f, secdet_format detected) {
    const scan_options *o = ctx->opts;
    secdet_source_opts so = {.format = o->format};
    const char *name;
    if (f->type) {
        name = f->type;
        so.log_type = f->type;
    } else if (o->source) {
        name = o->source;
    } else {
        secdet_format fmt = o->format != SECDET_FMT_AUTO ? o->format : detected;
        so.format = fmt;
        if (fmt == SECDET_FMT_CLOUDTRAIL) {
            name = "cloudtrail";
        } else {
            name = fmt == SECDET_FMT_AUTO ? "jsonl" : secdet_format_name(fmt);
            so.log_type = "auto"; /* each event to the source of its log type */
        }
    }
    secdet_status st = secdet_source_add(ctx->engine, name, &so);
    if (st != SECDET_OK && st != SECDET_ERR_EXISTS) {
        term_progress_clear(&ctx->progress);
        fprintf(stderr, "secdet: cannot add the source '%s': %s\n", name, secdet_strerror(st));
        return NULL;
    }
    return name;
}
