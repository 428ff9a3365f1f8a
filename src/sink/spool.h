/* spool.h — a sink's write-ahead journal on disk.
 *
 * A directory holds numbered segment files ("00000000000000000001.seg", the
 * number being the seq of the first record in it) and a cursor file "ack"
 * (the highest seq known delivered, rewritten in place). A record is
 *
 *     u32 magic 0x53445350 ("SDSP")   u32 len (payload bytes)
 *     u32 crc32 (zlib) of everything after this field
 *     u64 seq   u8 severity   char id[32]   payload[len]
 *
 * little-endian. Records are appended in seq order; a segment rolls over
 * when it passes opts.segment_bytes; a segment whose records are all acked
 * is deleted. On open, a torn tail (a record cut short by a crash) is
 * truncated away, and a record whose CRC or header is bad is skipped by
 * scanning forward for the next magic with a good CRC (each counted in
 * `corrupt`). Seqs continue after the highest seen (or the ack), so they
 * never go back even when every segment was deleted.
 *
 * Seqs are the owner's: they increase but may skip (a record the owner could
 * not journal has a seq too); sd_spool_append numbers them itself.
 *
 * A write that fails (a full disk: -ENOSPC) leaves the records staged; the
 * owner either commits again or takes them back with sd_spool_unstage, which
 * also closes the write segment: the next append starts a new one, and the
 * closed one is deleted once all of it is acked, so a disk that one segment
 * filled is freed by delivering it.
 *
 * Thread-safe: one mutex; producers append while the delivery thread reads
 * and acks. Errors come back as -errno and leave the spool usable.
 */
#ifndef SECDET_SINK_SPOOL_H
#define SECDET_SINK_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct spool spool;

typedef enum spool_fsync { SPOOL_FSYNC_NEVER, SPOOL_FSYNC_INTERVAL, SPOOL_FSYNC_ALWAYS } spool_fsync;

typedef struct spool_opts {
    spool_fsync fsync;
    uint32_t fsync_ms;      /* INTERVAL: an append fsyncs when the last fsync is older than this */
    uint64_t segment_bytes; /* roll over past this; 0 = 16 MiB */
    uint64_t max_bytes;     /* appends fail with -ENOSPC past this total; 0 = no cap */
} spool_opts;

typedef struct spool_rec {
    uint64_t seq;
    uint8_t severity;
    char id[33];   /* 32 hex digits and a NUL */
    char *payload; /* malloc'd, NUL-terminated; the caller frees */
    size_t len;
} spool_rec;

/* Opens (creating the directory, one level, mode 0700, if missing) and
 * recovers. On error returns -errno and writes a message (naming the path)
 * into err. */
int sd_spool_open(const char *dir, const spool_opts *o, spool **out, char *err, size_t errlen);
/* Closes (fsyncs unless FSYNC_NEVER). NULL is fine. */
void sd_spool_close(spool *s);

/* Appends one record with the next seq (last seq + 1); *seq gets it. 0 or
 * -errno (-ENOSPC past max_bytes). Unless FSYNC_ALWAYS the record is staged
 * in memory and written in a batch by sd_spool_commit (or any read, ack or
 * sync, or once 256 KiB are staged). */
int sd_spool_append(spool *s, uint8_t severity, const char *id, const char *payload, size_t len, uint64_t *seq);
/* The same with the owner's seq, which must be above the last seq (and the
 * ack): -EINVAL otherwise. */
int sd_spool_append_at(spool *s, uint64_t seq, uint8_t severity, const char *id, const char *payload, size_t len);

/* After a failed write: hands every staged, unwritten record to fn (oldest
 * first; payload and id valid during the call only, payload len bytes
 * without a NUL; fn may be NULL), forgets them (the last seq goes back to
 * what the files hold, or the ack), and closes the write segment. Returns
 * how many there were. */
size_t sd_spool_unstage(spool *s, void (*fn)(void *user, const spool_rec *rec), void *user);

/* Reads the first record with seq > after (records at or below the ack are
 * never returned). 1 and *out filled; 0 when there is none; -errno on a read
 * error. Cheap when called with increasing `after` (a read cursor is kept). */
int sd_spool_next(spool *s, uint64_t after, spool_rec *out);

/* Everything with seq <= seq is delivered: persists the cursor (fsync per
 * policy), deletes segments wholly at or below it. Past the last seq, the
 * seqs up to it are used up (records the owner delivered without
 * journaling them). 0 or -errno. */
int sd_spool_ack(spool *s, uint64_t seq);

/* The highest acked seq, the highest appended seq (0 when none ever), and
 * records appended but not acked. */
uint64_t sd_spool_acked(const spool *s);
uint64_t sd_spool_last_seq(const spool *s);
uint64_t sd_spool_pending(const spool *s);
uint64_t sd_spool_bytes(const spool *s);   /* bytes in segment files now */
uint64_t sd_spool_corrupt(const spool *s); /* damaged records skipped since open */
uint64_t sd_spool_staged(const spool *s);  /* bytes staged, not yet written */

/* Writes the staged records (one write). 0, or -errno: they stay staged
 * and the next commit tries again. */
int sd_spool_commit(spool *s);

/* For another thread (the delivery thread): when 64 KiB or more are
 * staged and no other write is under way, writes them (CRCs computed
 * there), without holding up appends meanwhile. 0 or -errno (the chunk is
 * then staged again). */
int sd_spool_write_behind(spool *s);

/* fsync the current segment and the ack file now (drain, close). */
int sd_spool_sync(spool *s);

#endif
