/* sink_file.c — alerts as JSON lines on stdout or in a file.
 *
 * Synchronous: an alert counts as delivered once it was written to the
 * kernel (fwrite + fflush), so a process killed right after loses nothing
 * that was acked. The file is opened in append mode (O_APPEND): other
 * writers' lines are never overwritten. Rotation by size: when the next line
 * would take the file past max_bytes (and the file is not empty), path.N-1 is
 * renamed path.N (the oldest, path.<keep>, is removed), ..., path -> path.1,
 * and a new path is opened. flush fsyncs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink/sink_int.h"

typedef struct file_sink {
    char *path; /* NULL: stdout */
    FILE *f;
    uint64_t max_bytes, size;
    uint32_t keep;
} file_sink;

static secdet_status fs_open(void *self) {
    file_sink *s = self;
    if (!s->path) {
        s->f = stdout;
        return SECDET_OK;
    }
    if (s->f) return SECDET_OK;
    s->f = fopen(s->path, "a");
    if (!s->f) return SECDET_ERR_IO;
    struct stat sb;
    s->size = fstat(fileno(s->f), &sb) == 0 ? (uint64_t)sb.st_size : 0;
    return SECDET_OK;
}

static int rotate(file_sink *s) {
    fclose(s->f);
    s->f = NULL;
    size_t n = strlen(s->path) + 16;
    char *from = malloc(n), *to = malloc(n);
    int rc = 0;
    if (!from || !to) {
        rc = -1;
    } else if (s->keep == 0) {
        rc = unlink(s->path) == 0 || errno == ENOENT ? 0 : -1;
    } else {
        snprintf(to, n, "%s.%u", s->path, s->keep);
        unlink(to);
        for (uint32_t i = s->keep; i > 1; i--) {
            snprintf(from, n, "%s.%u", s->path, i - 1);
            snprintf(to, n, "%s.%u", s->path, i);
            if (rename(from, to) != 0 && errno != ENOENT) rc = -1;
        }
        snprintf(to, n, "%s.1", s->path);
        if (rename(s->path, to) != 0) rc = -1;
    }
    free(from);
    free(to);
    return fs_open(s) == SECDET_OK ? rc : -1;
}

static void fs_emit(void *self, secdet_delivery *d) {
    file_sink *s = self;
    size_t len;
    const char *json = secdet_delivery_json(d, &len);
    if (!s->f && fs_open(s) != SECDET_OK) {
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "cannot open file: %s", strerror(errno));
        return;
    }
    if (s->path && s->max_bytes && s->size > 0 && s->size + len + 1 > s->max_bytes && rotate(s) != 0) {
        if (!s->f) {
            sd_sink_result(d, SECDET_SINK_RETRY, 0, "rotation failed: %s", strerror(errno));
            return;
        }
    }
    errno = 0;
    if (fwrite(json, 1, len, s->f) != len || fputc('\n', s->f) == EOF || fflush(s->f) != 0) {
        int e = errno;
        clearerr(s->f);
        sd_sink_result(d, SECDET_SINK_RETRY, 0, "write failed: %s", strerror(e ? e : EIO));
        return;
    }
    s->size += len + 1;
    sd_sink_result(d, SECDET_SINK_OK, 0, NULL);
}

static void fs_flush(void *self) {
    file_sink *s = self;
    if (!s->f) return;
    fflush(s->f);
    if (s->path) fsync(fileno(s->f));
}

static void fs_close(void *self) {
    file_sink *s = self;
    if (!s) return;
    if (s->f && s->path)
        fclose(s->f);
    else if (s->f)
        fflush(s->f);
    free(s->path);
    free(s);
}

static const secdet_sink_vtable file_vtable = {fs_open, fs_emit, fs_flush, fs_close};

int sd_sink_file_def(const char *path, uint64_t max_bytes, uint32_t keep, sink_def *out) {
    file_sink *s = calloc(1, sizeof *s);
    if (!s) return -1;
    if (path && !(s->path = strdup(path))) {
        free(s);
        return -1;
    }
    s->max_bytes = max_bytes;
    s->keep = keep;
    *out = (sink_def){.vt = &file_vtable, .self = s, .max_in_flight = 1};
    /* cppcheck-suppress memleak ; *out owns s now (fs_close frees it) */
    return 0;
}

static secdet_status make(const char *type, const char *path, uint64_t max_bytes, uint32_t keep,
                          const secdet_sink_opts *opts, secdet_sink **out) {
    if (!out) return SECDET_ERR_INVALID_ARG;
    sink_def def;
    if (sd_sink_file_def(path, max_bytes, keep, &def) != 0) return SECDET_ERR_NOMEM;
    secdet_status st = sd_sink_make(type, &def, opts, out);
    if (st != SECDET_OK) fs_close(def.self);
    return st;
}

secdet_status secdet_sink_stdout(const secdet_sink_opts *opts, secdet_sink **out) {
    return make("stdout", NULL, 0, 0, opts, out);
}

secdet_status secdet_sink_file(const char *path, uint64_t max_bytes, uint32_t keep, const secdet_sink_opts *opts,
                               secdet_sink **out) {
    if (!path || !*path) return SECDET_ERR_INVALID_ARG;
    return make("file", path, max_bytes, keep, opts, out);
}

/* ---- From JSON (sink_config.c) ---- */

int sd_sink_stdout_create(sink_cfg *c, sink_def *out) {
    if (sd_sink_file_def(NULL, 0, 0, out) != 0) return sd_sink_cfg_fail(c, "out of memory");
    return 0;
}

int sd_sink_file_create(sink_cfg *c, sink_def *out) {
    const char *path = NULL;
    uint64_t max_bytes = 0, keep = 5;
    if (sd_sink_cfg_str(c, "path", true, &path) || sd_sink_cfg_uint(c, "max_bytes", 0, UINT64_MAX, &max_bytes) ||
        sd_sink_cfg_uint(c, "keep", 0, 1000, &keep))
        return -1;
    if (!*path) return sd_sink_cfg_fail(c, "path: must not be empty");
    if (sd_sink_file_def(path, max_bytes, (uint32_t)keep, out) != 0) return sd_sink_cfg_fail(c, "out of memory");
    return 0;
}
