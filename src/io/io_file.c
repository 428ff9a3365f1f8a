/* io_file.c — following a file (tail -F) and reading a regular-file stdin.
 *
 * A timer polls every poll_ms: read what was appended (pread at our offset,
 * until the end or until the queue is full), then, at the end of the file,
 * stat the path: another inode means the file was rotated (renamed away and
 * re-created), so the old one, already read to its end, is closed and the
 * new one read from its start; a size below our offset means it was
 * truncated, so it is read again from the start. A partial last line is held
 * until its '\n' comes, and is flushed as a message when the file rotates or
 * is truncated. Reads of a regular file do not block, so they happen on the
 * loop thread without a thread pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"

#define DEFAULT_POLL_MS 250u

static void on_tick(uv_timer_t *t) {
    io_input *in = t->data;
    if (in && in->io) sd_io_tail_poll(in, false);
}

/* Opens in->path; false when it is not there (yet). */
static bool tail_open(io_input *in) {
    int fd = open(in->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return false;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return false;
    }
    in->fd = fd;
    in->dev = sb.st_dev;
    in->ino = sb.st_ino;
    in->offset = in->from_start ? 0 : (uint64_t)sb.st_size;
    in->from_start = true; /* every later file (after rotation) is read whole */
    return true;
}

/* Reads what is there; returns the last read's result (0 at the end). */
static ssize_t tail_read(io_input *in, bool final) {
    io_state *io = in->io;
    ssize_t n = 0;
    while (in->io && (final || !io->full)) {
        if (in->follow)
            n = pread(in->fd, io->readbuf, sizeof io->readbuf, (off_t)in->offset);
        else
            n = read(in->fd, io->readbuf, sizeof io->readbuf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        in->offset += (uint64_t)n;
        sd_io_feed(in, io->readbuf, (size_t)n);
    }
    return n;
}

/* At the end of the file: has the path moved on to another file, or shrunk? */
static void check_rotation(io_input *in) {
    struct stat sb;
    if (stat(in->path, &sb) != 0) return; /* renamed away, not re-created yet: keep the old one */
    if (sb.st_ino != in->ino || sb.st_dev != in->dev) {
        /* The writer may have appended to the old file between our last read
         * and its rename: drain it before moving on, so no line is lost. */
        (void)tail_read(in, false);
        sd_io_end(in);
        close(in->fd);
        in->fd = -1;
        if (tail_open(in)) (void)tail_read(in, false);
    } else if ((uint64_t)sb.st_size < in->offset) {
        sd_io_end(in);
        in->offset = 0;
        (void)tail_read(in, false);
    }
}

void sd_io_tail_poll(io_input *in, bool final) {
    if (!in->io) return;
    if (in->fd < 0 && in->path && !tail_open(in)) in->from_start = true;
    if (in->fd >= 0 && (final || !in->paused)) {
        ssize_t n = tail_read(in, final);
        if (n == 0 && !in->follow) { /* stdin that is a file: done */
            sd_io_end(in);
            in->finished = true;
            if (!final) sd_io_input_close(in);
            return;
        }
        if (n == 0 && !final) check_rotation(in);
    }
    if (!final && in->io && !uv_is_active(&in->h.handle)) {
        unsigned ms = in->poll_ms ? in->poll_ms : in->follow ? DEFAULT_POLL_MS : 1;
        uv_timer_start(&in->h.timer, on_tick, ms, ms);
    }
}

secdet_status secdet_input_file_tail(secdet_engine *e, const char *source, const char *path, int from_start,
                                     unsigned poll_ms, uv_loop_t *loop) {
    if (!e) return SECDET_ERR_INVALID_ARG;
    sd_io_ok(e);
    if (!path || !path[0]) return sd_io_fail(e, SECDET_ERR_INVALID_ARG, "no file path");
    secdet_status st = sd_io_check_source(e, source);
    io_state *io = NULL;
    if (st == SECDET_OK) st = sd_io_get(e, loop, &io);
    if (st != SECDET_OK) return st;
    size_t n = strlen(path) + 8;
    char *label = malloc(n);
    if (!label) return SECDET_ERR_NOMEM;
    snprintf(label, n, "file %s", path);
    io_input *in = sd_io_input_new(io, IN_TAIL, source, label);
    free(label);
    if (!in || !(in->path = strdup(path))) {
        if (in) sd_io_input_release(in);
        return SECDET_ERR_NOMEM;
    }
    in->follow = true;
    in->from_start = from_start != 0;
    in->poll_ms = poll_ms ? poll_ms : DEFAULT_POLL_MS;
    uv_timer_init(io->loop, &in->h.timer);
    sd_io_input_link(io, in);
    sd_io_tail_poll(in, false);
    return SECDET_OK;
}
