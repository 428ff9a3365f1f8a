/* sd_spool_open.c — opening a spool and recovering it (format and contract in
 * spool.h; the choices about writing, in spool.c).
 *
 * Choices the header leaves open:
 *  - A missing or bad ack file counts as "acked up to the oldest segment's
 *    first seq - 1": everything on disk is replayed, nothing is skipped, and
 *    nothing is counted in `corrupt`. A missing one is written at once, so
 *    that acks later rewrite it in place even on a full disk.
 *  - A bad tail of the last segment (no good record after it) is a torn
 *    write: truncated away, and counted in `corrupt` only when it was a
 *    whole record with a bad CRC. Elsewhere, each damaged stretch skipped is
 *    one count.
 *  - Seqs missing between good records (damage, or records the owner never
 *    journaled) are holes: not pending, never replayed.
 *  - An advisory flock on the directory keeps a second spool off it (-EBUSY).
 */
#include "sink/spool_int.h"
#include "util/limits.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

static bool parse_seg_name(const char *n, uint64_t *out) {
    if (strspn(n, "0123456789") != 20 || strcmp(n + 20, ".seg") != 0) return false;
    errno = 0;
    *out = strtoull(n, NULL, 10);
    return errno == 0 && *out != 0;
}

static int list_segs(spool *s) {
    int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = -errno;
        if (fd >= 0) close(fd);
        return e;
    }
    int r = 0;
    struct dirent *e;
    uint64_t first;
    for (errno = 0; (e = readdir(d)) != NULL; errno = 0)
        if (parse_seg_name(e->d_name, &first)) {
            if ((r = sd_spool_grow(&s->segs, s->nseg, &s->cap, sizeof(seg))) != 0) break;
            s->segs[s->nseg++] = (seg){first, 0, 0};
        }
    if (!r && errno) r = -errno;
    closedir(d);
    for (size_t i = 1; i < s->nseg; i++) /* insertion sort: few segments */
        for (size_t j = i; j > 0 && s->segs[j - 1].first > s->segs[j].first; j--) {
            seg t = s->segs[j];
            s->segs[j] = s->segs[j - 1];
            s->segs[j - 1] = t;
        }
    return r;
}

static int add_hole(spool *s, uint64_t lo, uint64_t hi) {
    int r = sd_spool_grow(&s->holes, s->nholes, &s->hcap, sizeof(hole));
    if (!r) s->holes[s->nholes++] = (hole){lo, hi};
    return r;
}

/* A good record seen on open: seqs between the previous one and it are gone. */
static int note_seq(spool *s, uint64_t seq, uint64_t *prev) {
    if (seq > s->last_seq) s->last_seq = seq;
    if (seq <= *prev) return 0;
    int r = seq > *prev + 1 ? add_hole(s, *prev + 1, seq - 1) : 0;
    *prev = seq;
    return r;
}

/* Reads segment i through, skipping damage, truncating a torn tail of the last. */
static int scan_seg(spool *s, size_t i, uint64_t *prev) {
    bool last = i + 1 == s->nseg;
    char name[32];
    seg_name(name, s->segs[i].first);
    int fd = openat(s->dirfd, name, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC), r = 0;
    struct stat st;
    if (fd < 0) return -errno;
    if (fstat(fd, &st) != 0) r = -errno;
    uint64_t size = r ? 0 : (uint64_t)st.st_size, off = 0;
    while (!r && off < size) {
        rhdr h;
        uint64_t nx;
        int c = sd_spool_read_rec(fd, off, size, &h, NULL);
        if (c == 1) {
            r = note_seq(s, h.seq, prev);
            off += HDR + h.len;
        } else if (c < 0 || (r = sd_spool_resync(fd, off, size, &nx)) != 0) {
            r = c < 0 ? c : r;
        } else if (nx == size && last) {
            if (c == 2 && off + HDR + h.len == size) s->corrupt++;
            if (ftruncate(fd, (off_t)off) != 0 || (s->o.fsync != SPOOL_FSYNC_NEVER && fsync(fd) != 0)) r = -errno;
            size = off;
        } else {
            s->corrupt++;
            off = nx;
        }
    }
    s->segs[i].size = s->segs[i].counted = size;
    s->bytes += size;
    if (r || !last) close(fd);
    if (!r && last) s->wfd = fd;
    return r;
}

static int open_fail(spool *s, int rc, const char *what, char *err, size_t errlen) {
    if (err && errlen) snprintf(err, errlen, "spool %s: %s: %s", s->path, what, strerror(-rc));
    sd_spool_close(s);
    return rc;
}

/* Best effort: makes a just-created directory's entry durable. */
static void sync_parent(const char *path) {
    char *p = strdup(path);
    if (!p) return;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    char *slash = strrchr(p, '/');
    const char *parent = !slash ? "." : slash == p ? "/" : (*slash = '\0', p);
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        int t = fsync(fd);
        (void)t;
        close(fd);
    }
    free(p);
}

int sd_spool_open(const char *dir, const spool_opts *o, spool **out, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!dir || !out) {
        if (err && errlen) snprintf(err, errlen, "spool: no directory given");
        return -EINVAL;
    }
    *out = NULL;
    spool *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(dir))) {
        free(s);
        if (err && errlen) snprintf(err, errlen, "spool %s: out of memory", dir);
        return -ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wcond, NULL);
    s->dirfd = s->wfd = s->ackfd = s->rfd = -1;
    if (o) s->o = *o;
    s->seg_max = s->o.segment_bytes ? s->o.segment_bytes : LIMIT_SPOOL_SEGMENT_BYTES;
    if (s->o.max_bytes && s->seg_max > s->o.max_bytes / 4) s->seg_max = s->o.max_bytes / 4 ? s->o.max_bytes / 4 : 1;
    s->seg_sync_ms = s->ack_sync_ms = now_ms();

    if (mkdir(dir, 0700) == 0) {
        if (s->o.fsync != SPOOL_FSYNC_NEVER) sync_parent(dir);
    } else if (errno != EEXIST) {
        return open_fail(s, -errno, "cannot create the directory", err, errlen);
    }
    if ((s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return open_fail(s, -errno, "cannot open the directory", err, errlen);
    if (flock(s->dirfd, LOCK_EX | LOCK_NB) != 0)
        return open_fail(s, errno == EWOULDBLOCK ? -EBUSY : -errno, "already in use by another spool", err, errlen);
    /* On a filesystem smaller than four segments, segments roll at a quarter
     * of its size, as with max_bytes: delivered segments are then deleted
     * while the newest one fills, so a sink that keeps up never finds the
     * disk full only because its one segment holds records in flight. */
    struct statvfs fs;
    if (fstatvfs(s->dirfd, &fs) == 0 && fs.f_frsize && fs.f_blocks) {
        uint64_t quarter = (uint64_t)fs.f_blocks / 4 * (uint64_t)fs.f_frsize;
        if (quarter && s->seg_max > quarter) s->seg_max = quarter;
    }
    int r = list_segs(s);
    if (r) return open_fail(s, r, "cannot list segments", err, errlen);

    s->ackfd = openat(s->dirfd, "ack", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->ackfd < 0) return open_fail(s, -errno, "cannot open the ack file", err, errlen);
    unsigned char b[ACK_SIZE];
    ssize_t g = sd_spool_pread_full(s->ackfd, b, ACK_SIZE, 0);
    if (g < 0) return open_fail(s, (int)g, "cannot read the ack file", err, errlen);
    if (g == ACK_SIZE && get32(b) == ACK_MAGIC && get32(b + 12) == (uint32_t)crc32(0L, b, 12))
        s->acked = get64(b + 4);
    else
        s->acked = s->nseg ? s->segs[0].first - 1 : 0; /* replay all there is */
    /* The ack file gets its bytes now, while there is room: later acks
     * rewrite them in place, so a full disk never stops acking (and with it
     * the deletion of delivered segments). Best effort: acks try again. */
    if (g < (ssize_t)ACK_SIZE) (void)sd_spool_write_ack(s, s->acked);

    uint64_t prev = s->acked;
    for (size_t i = 0; i < s->nseg; i++) {
        if ((r = scan_seg(s, i, &prev)) != 0) {
            char what[64];
            snprintf(what, sizeof what, "cannot recover segment %020" PRIu64, s->segs[i].first);
            return open_fail(s, r, what, err, errlen);
        }
    }
    if (s->acked > s->last_seq) s->last_seq = s->acked;
    if (s->nseg && s->segs[s->nseg - 1].first - 1 > s->last_seq) s->last_seq = s->segs[s->nseg - 1].first - 1;
    s->file_seq = s->last_seq;
    if (prev < s->last_seq && (r = add_hole(s, prev + 1, s->last_seq)) != 0)
        return open_fail(s, r, "out of memory", err, errlen);
    sd_spool_prune_holes(s);
    if ((r = sd_spool_dir_sync(s)) != 0 || (r = sd_spool_delete_acked(s)) != 0)
        return open_fail(s, r, "cannot sync or tidy the directory", err, errlen);
    *out = s;
    return 0;
}

void sd_spool_close(spool *s) {
    if (!s) return;
    (void)sd_spool_commit(s);
    if (s->o.fsync != SPOOL_FSYNC_NEVER && s->ackfd >= 0) (void)sd_spool_sync(s);
    int fds[] = {s->wfd, s->rfd, s->ackfd, s->dirfd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (fds[i] >= 0) close(fds[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->wcond);
    free(s->segs);
    free(s->holes);
    free(s->path);
    free(s->wb);
    free(s);
}
