/* spool.c — a sink's write-ahead journal on disk (format and contract in
 * spool.h).
 *
 * In memory: the segments sorted by first seq with their sizes (a reader
 * never looks past what was completely written), the last one being the
 * write segment; the ack; a read cursor (segment, offset, and a seq that no
 * record before that offset exceeds) so that sequential sd_spool_next calls are
 * O(1). Segment i only holds seqs in [first_i, first_i+1), so a reader can
 * start at the right segment, and ack finds wholly acked segments without
 * reading them.
 *
 * Choices the header leaves open:
 *  - The write segment is never deleted, even when all of it is acked: the
 *    next roll-over does (rolls happen when it passes segment_bytes, and also
 *    when the spool is full and the write segment is all acked). With
 *    max_bytes set, segments roll at max_bytes/4 at the latest, so acking
 *    always frees space; likewise at a quarter of the filesystem's size
 *    (sd_spool_open: a small tmpfs). The exception is a write segment "closed" by a
 *    failed write (sd_spool_unstage: a full disk): it takes no more records
 *    (the next append starts a new segment, when there is room for one) and
 *    is deleted as soon as all of it is acked, even if no newer segment
 *    exists — otherwise a disk filled by one segment could never be freed.
 *    And a write that finds the disk full while the write segment's written
 *    records are all acked starts a new segment and tries once more
 *    (reclaim_write_seg): a small disk and a sink that keeps up never fail.
 *  - The ack file holds one 16-byte record (magic, seq, crc32) rewritten in
 *    place (sd_spool_open.c writes it when missing, so that acks never need
 *    new blocks on a full disk). Opening and recovery (torn tails, damaged
 *    records, a bad ack file, seqs found missing) are in sd_spool_open.c.
 *  - A damaged stretch a read skips counts once in `corrupt`.
 *  - A failed append is truncated away (also when its fsync fails): an error
 *    means the record is not in the spool, and its seq is not used up.
 *  - Unless FSYNC_NEVER, a roll-over fsyncs the segment it leaves, and the
 *    directory is fsynced after segments are created or deleted.
 *  - seq 0 is never written. Seqs may skip (sd_spool_append_at): the owner
 *    numbers records it could not journal too. Acking past the last seq
 *    uses those seqs up: the next append must be above the ack.
 *  - Appends are batched (unless FSYNC_ALWAYS): a record is staged in memory
 *    and written with the others by sd_spool_commit, by any read, ack, sync or
 *    roll-over, or by the appender once 256 KiB are staged. Meanwhile the
 *    delivery thread writes full 64 KiB chunks in the background
 *    (sd_spool_write_behind), CRCs included, so the appender mostly copies.
 *    The engine commits at the end of every push (the tail, after any
 *    background write), so "in the spool before secdet_push returns" holds.
 *    A failed batch write is truncated away and kept staged, to be tried
 *    again by the next commit.
 */
#include "sink/spool_int.h"
#include "util/limits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define WB_FORCE (4 * LIMIT_SPOOL_WRITE_BATCH) /* staged bytes that force a write by the appender */

/* Bytes read (short only at end of file) or -errno. */
ssize_t sd_spool_pread_full(int fd, void *b, size_t n, uint64_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)b + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -errno;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int pwrite_full(int fd, const void *b, size_t n, uint64_t off) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(fd, (const char *)b + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -errno;
        if (r == 0) return -EIO;
        done += (size_t)r;
    }
    return 0;
}

/* The record at off: 1 good, 2 header good but CRC bad, 0 bad, -errno. With
 * `payload`, a good record's payload comes back malloc'd and NUL-terminated. */
int sd_spool_read_rec(int fd, uint64_t off, uint64_t end, rhdr *h, char **payload) {
    unsigned char raw[HDR], b[CHUNK];
    ssize_t g = off <= end && end - off >= HDR ? sd_spool_pread_full(fd, raw, HDR, off) : 0;
    if (g < 0) return (int)g;
    if ((size_t)g < HDR || get32(raw) != REC_MAGIC) return 0;
    h->len = get32(raw + 4);
    h->crc = get32(raw + 8);
    h->seq = get64(raw + 12);
    h->sev = raw[20];
    memcpy(h->id, raw + 21, 32);
    if (h->seq == 0 || h->len > end - off - HDR) return 0;
    char *p = payload ? malloc((size_t)h->len + 1) : NULL;
    if (payload && !p) return -ENOMEM;
    uLong c = crc32(0L, raw + CRC_FROM, HDR - CRC_FROM);
    for (uint64_t done = 0; done < h->len;) { /* all at once into p, or streamed through b */
        size_t n = p ? h->len : h->len - done < CHUNK ? (size_t)(h->len - done) : CHUNK;
        unsigned char *dst = p ? (unsigned char *)p : b;
        if ((g = sd_spool_pread_full(fd, dst, n, off + HDR + done)) < 0 || (size_t)g < n) {
            free(p);
            return g < 0 ? (int)g : 0;
        }
        c = crc32(c, dst, (uInt)n);
        done += n;
    }
    if ((uint32_t)c != h->crc) {
        free(p);
        return 2;
    }
    if (p) {
        p[h->len] = '\0';
        *payload = p;
    }
    return 1;
}

/* *out: the offset of the first good record after off, or end. */
int sd_spool_resync(int fd, uint64_t off, uint64_t end, uint64_t *out) {
    unsigned char b[CHUNK];
    for (uint64_t p = off + 1; p < end && end - p >= HDR;) {
        size_t n = end - p < CHUNK ? (size_t)(end - p) : CHUNK;
        ssize_t g = sd_spool_pread_full(fd, b, n, p);
        if (g < 0) return (int)g;
        if (g < 4) break;
        for (size_t i = 0; i + 4 <= (size_t)g; i++) {
            if (b[i] != 0x50 || get32(b + i) != REC_MAGIC) continue;
            rhdr h;
            int r = sd_spool_read_rec(fd, p + i, end, &h, NULL);
            if (r < 0) return r;
            if (r == 1) {
                *out = p + i;
                return 0;
            }
        }
        p += (size_t)g - 3; /* a magic may straddle chunks */
    }
    *out = end;
    return 0;
}

/* Fsyncs fd when the policy says so now: ALWAYS, INTERVAL when the last
 * fsync is older than fsync_ms, or `force` (unless NEVER). */
static int policy_sync(spool *s, int fd, uint64_t *last, bool force) {
    if (s->o.fsync == SPOOL_FSYNC_NEVER || fd < 0) return 0;
    uint64_t now = now_ms();
    if (!force && s->o.fsync == SPOOL_FSYNC_INTERVAL && now - *last < s->o.fsync_ms) return 0;
    if (fsync(fd) != 0) return -errno;
    *last = now;
    return 0;
}

int sd_spool_dir_sync(spool *s) {
    if (s->o.fsync == SPOOL_FSYNC_NEVER) return 0;
    return fsync(s->dirfd) == 0 ? 0 : -errno;
}

/* The fd to read segment i with (the write fd for the last one). */
static int seg_fd(spool *s, size_t i) {
    if (i + 1 == s->nseg) return s->wfd;
    if (s->rfd >= 0 && s->rfd_first == s->segs[i].first) return s->rfd;
    if (s->rfd >= 0) close(s->rfd);
    char name[32];
    seg_name(name, s->segs[i].first);
    s->rfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (s->rfd < 0) return -errno;
    s->rfd_first = s->segs[i].first;
    return s->rfd;
}

/* Deletes the segments (never the write one) wholly at or below the ack. */
int sd_spool_delete_acked(spool *s) {
    size_t k = 0;
    int r = 0;
    while (k + 1 < s->nseg && s->segs[k + 1].first - 1 <= s->acked) {
        char name[32];
        seg_name(name, s->segs[k].first);
        if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT) {
            r = -errno;
            break;
        }
        if (s->rfd >= 0 && s->rfd_first == s->segs[k].first) {
            close(s->rfd);
            s->rfd = -1;
        }
        s->bytes -= s->segs[k].size;
        k++;
    }
    if (k) {
        memmove(s->segs, s->segs + k, (s->nseg - k) * sizeof *s->segs);
        s->nseg -= k;
    }
    /* A closed write segment all acked goes too (see the top of the file). */
    if (!r && s->closed && s->nseg == 1 && !s->wb_len && !s->writing && s->last_seq <= s->acked) {
        char name[32];
        seg_name(name, s->segs[0].first);
        if (unlinkat(s->dirfd, name, 0) == 0 || errno == ENOENT) {
            if (s->wfd >= 0) close(s->wfd);
            s->wfd = -1;
            s->bytes -= s->segs[0].size;
            s->nseg = 0;
            s->closed = false;
            s->rc_ok = false;
            k++;
        } else {
            r = -errno;
        }
    }
    if (k) {
        int d = sd_spool_dir_sync(s);
        if (!r) r = d;
    }
    return r;
}

/* Room for one more element in *arr (n used of *cap). */
int sd_spool_grow(void *arr, size_t n, size_t *cap, size_t elem) {
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = realloc(*(void **)arr, c * elem);
    if (!p) return -ENOMEM;
    *(void **)arr = p;
    *cap = c;
    return 0;
}

/* Fills in the CRC of every record of a staged buffer (records are staged
 * without it, so the appender only copies). */
static void seal(unsigned char *b, size_t len) {
    for (size_t off = 0; off + HDR <= len;) {
        size_t n = HDR + get32(b + off + 4);
        put32(b + off + 8, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b + off + CRC_FROM, (uInt)(n - CRC_FROM)));
        off += n;
    }
}

/* On a full disk, a write segment whose written records are all acked is
 * only in the way: the staged records start a new segment instead (made
 * before the old one goes, so a failure changes nothing). True when done. */
static bool reclaim_write_seg(spool *s) {
    if (!s->nseg || !s->wb_len || !s->wb_off || s->file_seq > s->acked) return false;
    seg *g = &s->segs[s->nseg - 1];
    uint64_t first = get64(s->wb + 12);
    char old[32], name[32];
    seg_name(old, g->first);
    seg_name(name, first);
    int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    if (unlinkat(s->dirfd, old, 0) != 0 && errno != ENOENT) {
        close(fd);
        unlinkat(s->dirfd, name, 0);
        return false;
    }
    close(s->wfd);
    s->wfd = fd;
    s->bytes -= s->wb_off;
    *g = (seg){first, s->wb_len, 0};
    s->wb_off = 0;
    s->rc_ok = false;
    (void)sd_spool_dir_sync(s);
    return true;
}

/* Writes the staged records (mu held), after any background write. 0 or
 * -errno (then they stay staged). */
static int flush_wb(spool *s) {
    while (s->writing) pthread_cond_wait(&s->wcond, &s->mu);
    if (!s->wb_len) return 0;
    seal(s->wb, s->wb_len);
    int r = pwrite_full(s->wfd, s->wb, s->wb_len, s->wb_off);
    if ((r == -ENOSPC || r == -EDQUOT) && reclaim_write_seg(s)) r = pwrite_full(s->wfd, s->wb, s->wb_len, 0);
    if (!r) r = policy_sync(s, s->wfd, &s->seg_sync_ms, false);
    if (r) {
        int t = ftruncate(s->wfd, (off_t)s->wb_off); /* leave no half batch behind */
        (void)t;
        return r;
    }
    s->wb_len = 0;
    s->file_seq = s->last_seq;
    return 0;
}

int sd_spool_write_behind(spool *s) {
    if (!s) return -EINVAL;
    pthread_mutex_lock(&s->mu);
    if (s->writing || s->wb_len < LIMIT_SPOOL_WRITE_BATCH || s->o.fsync == SPOOL_FSYNC_ALWAYS) {
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    /* Take the staged chunk; appends go on into a fresh buffer whose offset
     * (set by the next append) follows it. */
    unsigned char *chunk = s->wb;
    size_t len = s->wb_len, cap = s->wb_cap;
    uint64_t off = s->wb_off, chunk_last = s->last_seq;
    int fd = s->wfd;
    s->wb = NULL;
    s->wb_len = s->wb_cap = 0;
    s->writing = true;
    pthread_mutex_unlock(&s->mu);

    seal(chunk, len);
    int r = pwrite_full(fd, chunk, len, off);

    pthread_mutex_lock(&s->mu);
    if (!r) r = policy_sync(s, fd, &s->seg_sync_ms, false);
    if (r) {
        /* Put it back in front of what was staged since: nothing was written
         * after it (writing kept flush_wb out), so the next flush retries. */
        int t = ftruncate(fd, (off_t)off);
        (void)t;
        unsigned char *nb = realloc(chunk, len + s->wb_len > cap ? len + s->wb_len : cap);
        if (nb) {
            if (s->wb_len) memcpy(nb + len, s->wb, s->wb_len);
            free(s->wb);
            s->wb = nb;
            s->wb_cap = len + s->wb_len > cap ? len + s->wb_len : cap;
            s->wb_len += len;
            s->wb_off = off;
            chunk = NULL;
        }
    } else if (chunk_last > s->file_seq) {
        s->file_seq = chunk_last;
    }
    free(chunk);
    s->writing = false;
    pthread_cond_broadcast(&s->wcond);
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* Starts a new write segment named after `first`, the seq of the record
 * about to be appended. */
static int roll(spool *s, uint64_t first) {
    int r = flush_wb(s);
    if (r) return r;
    r = s->wfd >= 0 ? policy_sync(s, s->wfd, &s->seg_sync_ms, true) : 0;
    if (r) return r;
    if ((r = sd_spool_grow(&s->segs, s->nseg, &s->cap, sizeof(seg))) != 0) return r;
    char name[32];
    seg_name(name, first);
    int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    if ((r = sd_spool_dir_sync(s)) != 0) {
        close(fd);
        unlinkat(s->dirfd, name, 0);
        return r;
    }
    if (s->wfd >= 0) close(s->wfd);
    s->wfd = fd;
    s->segs[s->nseg++] = (seg){first, 0, 0};
    s->closed = false;
    s->seg_sync_ms = now_ms();
    (void)sd_spool_delete_acked(s); /* best effort: the next ack retries */
    return 0;
}

static int write_rec(spool *s, uint64_t n, uint8_t sev, const char *id, const char *payload, size_t len) {
    size_t need = HDR + len;
    if (s->wb_len + need > s->wb_cap) {
        size_t cap = s->wb_cap ? s->wb_cap : LIMIT_SPOOL_WRITE_BATCH;
        while (cap < s->wb_len + need) cap *= 2;
        unsigned char *nb = realloc(s->wb, cap);
        if (!nb) return -ENOMEM;
        s->wb = nb;
        s->wb_cap = cap;
    }
    uint64_t off = s->segs[s->nseg - 1].size;
    if (!s->wb_len) s->wb_off = off;
    unsigned char *b = s->wb + s->wb_len;
    size_t idn = id ? strnlen(id, 32) : 0;
    put32(b, REC_MAGIC);
    put32(b + 4, (uint32_t)len);
    put64(b + 12, n);
    b[20] = sev;
    memset(b + 21, 0, 32);
    if (idn) memcpy(b + 21, id, idn);
    if (len) memcpy(b + HDR, payload, len);
    put32(b + 8, 0); /* sealed when written */
    s->wb_len += need;
    if (s->o.fsync == SPOOL_FSYNC_ALWAYS || s->wb_len >= WB_FORCE) {
        int r = flush_wb(s);
        if (r) {
            s->wb_len -= need; /* this record is not in the spool; earlier staged ones stay */
            return r;
        }
    }
    s->segs[s->nseg - 1].size += need;
    s->bytes += need;
    s->last_seq = n;
    return 0;
}

int sd_spool_commit(spool *s) {
    if (!s) return -EINVAL;
    pthread_mutex_lock(&s->mu);
    int r = flush_wb(s);
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* sd_spool_append_at with mu held; seq 0 = the next one. */
static int append_locked(spool *s, uint64_t seq, uint8_t severity, const char *id, const char *payload, size_t len,
                         uint64_t *out) {
    if (!seq) seq = s->last_seq + 1;
    if (seq <= s->last_seq) return -EINVAL;
    uint64_t need = HDR + (uint64_t)len;
    int r = 0;
    if (s->o.max_bytes && s->bytes + need > s->o.max_bytes) {
        if (s->nseg && s->segs[s->nseg - 1].size && s->last_seq <= s->acked) r = roll(s, seq);
        if (!r && s->bytes + need > s->o.max_bytes) r = -ENOSPC;
    }
    /* An empty closed segment is taken again rather than left behind (a
     * retry on a full disk would otherwise leave one empty file per try). */
    if (!r && s->closed && s->nseg && s->segs[s->nseg - 1].size == 0 && s->segs[s->nseg - 1].first <= seq)
        s->closed = false;
    if (!r && (s->nseg == 0 || s->closed || s->segs[s->nseg - 1].size >= s->seg_max)) r = roll(s, seq);
    if (!r) r = write_rec(s, seq, severity, id, payload, len);
    if (!r && out) *out = seq;
    return r;
}

int sd_spool_append(spool *s, uint8_t severity, const char *id, const char *payload, size_t len, uint64_t *seq) {
    if (!s || (!payload && len)) return -EINVAL;
    if (len > UINT32_MAX - HDR) return -EMSGSIZE;
    pthread_mutex_lock(&s->mu);
    int r = append_locked(s, 0, severity, id, payload, len, seq);
    pthread_mutex_unlock(&s->mu);
    return r;
}

int sd_spool_append_at(spool *s, uint64_t seq, uint8_t severity, const char *id, const char *payload, size_t len) {
    if (!s || !seq || (!payload && len)) return -EINVAL;
    if (len > UINT32_MAX - HDR) return -EMSGSIZE;
    pthread_mutex_lock(&s->mu);
    int r = append_locked(s, seq, severity, id, payload, len, NULL);
    pthread_mutex_unlock(&s->mu);
    return r;
}

size_t sd_spool_unstage(spool *s, void (*fn)(void *user, const spool_rec *rec), void *user) {
    if (!s) return 0;
    pthread_mutex_lock(&s->mu);
    while (s->writing) pthread_cond_wait(&s->wcond, &s->mu);
    size_t n = 0;
    for (size_t off = 0; off + HDR <= s->wb_len; n++) {
        const unsigned char *b = s->wb + off;
        spool_rec r = {.seq = get64(b + 12), .severity = b[20], .len = get32(b + 4)};
        memcpy(r.id, b + 21, 32);
        r.id[32] = '\0';
        r.payload = (char *)b + HDR;
        if (fn) fn(user, &r);
        off += HDR + r.len;
    }
    if (s->wb_len && s->nseg) {
        s->segs[s->nseg - 1].size -= s->wb_len;
        s->bytes -= s->wb_len;
    }
    s->wb_len = 0;
    s->last_seq = s->file_seq > s->acked ? s->file_seq : s->acked;
    if (s->nseg) s->closed = true;
    (void)sd_spool_delete_acked(s); /* the closed segment may be all acked already */
    pthread_mutex_unlock(&s->mu);
    return n;
}

int sd_spool_next(spool *s, uint64_t after, spool_rec *out) {
    if (!s || !out) return -EINVAL;
    pthread_mutex_lock(&s->mu);
    uint64_t target = after > s->acked ? after : s->acked;
    int r = flush_wb(s);
    if (r) goto done;
    if (target >= s->last_seq || s->nseg == 0) goto done;
    size_t i = 0;
    uint64_t off = 0;
    while (i + 1 < s->nseg && s->segs[i + 1].first <= target + 1) i++;
    if (s->rc_ok && s->rc_seq <= target) {
        for (size_t c = i; c < s->nseg; c++) {
            if (s->segs[c].first != s->rc_first) continue;
            if (c > i || s->rc_off > off) i = c, off = s->rc_off;
            break;
        }
    }
    for (;;) {
        seg *g = &s->segs[i];
        if (off >= g->size) {
            r = 0;
            if (i + 1 == s->nseg) break;
            i++;
            off = 0;
            continue;
        }
        int fd = seg_fd(s, i);
        if (fd < 0) {
            r = fd;
            goto done;
        }
        rhdr h;
        char *payload = NULL;
        r = sd_spool_read_rec(fd, off, g->size, &h, &payload);
        if (r < 0) goto done;
        if (r != 1) {
            uint64_t nx;
            if ((r = sd_spool_resync(fd, off, g->size, &nx)) < 0) goto done;
            if (off >= g->counted) {
                s->corrupt++;
                g->counted = nx;
            }
            off = nx;
            continue;
        }
        off += HDR + h.len;
        if (h.seq <= target) {
            free(payload);
            continue;
        }
        out->seq = h.seq;
        out->severity = h.sev;
        memcpy(out->id, h.id, 32);
        out->id[32] = '\0';
        out->payload = payload;
        out->len = h.len;
        target = h.seq;
        break;
    }
    s->rc_ok = true;
    s->rc_first = s->segs[i].first;
    s->rc_off = off;
    s->rc_seq = target;
done:
    pthread_mutex_unlock(&s->mu);
    return r;
}

int sd_spool_write_ack(spool *s, uint64_t seq) {
    unsigned char b[ACK_SIZE];
    put32(b, ACK_MAGIC);
    put64(b + 4, seq);
    put32(b + 12, (uint32_t)crc32(0L, b, 12));
    int r = pwrite_full(s->ackfd, b, ACK_SIZE, 0);
    return r ? r : policy_sync(s, s->ackfd, &s->ack_sync_ms, false);
}

/* Drops the holes at or below the ack; pending = last - acked - holes. */
void sd_spool_prune_holes(spool *s) {
    size_t k = 0;
    s->hole_total = 0;
    for (size_t i = 0; i < s->nholes; i++) {
        hole h = s->holes[i];
        if (h.hi <= s->acked) continue;
        if (h.lo <= s->acked) h.lo = s->acked + 1;
        s->holes[k++] = h;
        s->hole_total += h.hi - h.lo + 1;
    }
    s->nholes = k;
}

int sd_spool_ack(spool *s, uint64_t seq) {
    if (!s) return -EINVAL;
    int r = 0;
    pthread_mutex_lock(&s->mu);
    /* Written with the ack when it can be; a failure leaves them staged for
     * the next commit, or for sd_spool_unstage: the ack does not depend on it. */
    (void)flush_wb(s);
    if (seq > s->acked) {
        r = sd_spool_write_ack(s, seq);
        if (!r) {
            s->acked = seq;
            if (seq > s->last_seq) s->last_seq = s->file_seq = seq; /* seqs never journaled, now done */
            sd_spool_prune_holes(s);
        }
    }
    if (!r) r = sd_spool_delete_acked(s);
    pthread_mutex_unlock(&s->mu);
    return r;
}

#define GETTER(name, expr)                                                                                             \
    uint64_t name(const spool *cs) {                                                                                   \
        if (!cs) return 0;                                                                                             \
        spool *s = (spool *)cs;                                                                                        \
        pthread_mutex_lock(&s->mu);                                                                                    \
        uint64_t v = (expr);                                                                                           \
        pthread_mutex_unlock(&s->mu);                                                                                  \
        return v;                                                                                                      \
    }
GETTER(sd_spool_acked, s->acked)
GETTER(sd_spool_last_seq, s->last_seq)
GETTER(sd_spool_pending, s->last_seq > s->acked + s->hole_total ? s->last_seq - s->acked - s->hole_total : 0)
GETTER(sd_spool_bytes, s->bytes)
GETTER(sd_spool_corrupt, s->corrupt)
GETTER(sd_spool_staged, s->wb_len)

int sd_spool_sync(spool *s) {
    if (!s) return -EINVAL;
    pthread_mutex_lock(&s->mu);
    int r = flush_wb(s);
    if (s->wfd >= 0 && fsync(s->wfd) != 0 && !r) r = -errno;
    if (fsync(s->ackfd) != 0 && !r) r = -errno;
    s->seg_sync_ms = s->ack_sync_ms = now_ms();
    pthread_mutex_unlock(&s->mu);
    return r;
}
