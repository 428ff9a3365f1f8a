/* spool_int.h — the spool's insides, shared by spool.c (appending, writing,
 * reading, acking) and sd_spool_open.c (opening and recovery). The format and
 * the contract are in spool.h; the choices made inside, in spool.c.
 */
#ifndef SECDET_SINK_SPOOL_INT_H
#define SECDET_SINK_SPOOL_INT_H

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "sink/spool.h"

#define REC_MAGIC 0x53445350u /* "SDSP" */
#define ACK_MAGIC 0x4B414453u /* "SDAK" */
#define HDR       53u         /* magic len crc seq severity id[32] */
#define CRC_FROM  12u         /* the CRC covers the header from seq on, and the payload */
#define ACK_SIZE  16u
#define CHUNK     16384u

typedef struct seg {
    uint64_t first, size, counted;
} seg; /* counted: damage before this is counted */
typedef struct hole {
    uint64_t lo, hi;
} hole; /* seqs found missing on open */
typedef struct rhdr {
    uint32_t len, crc;
    uint64_t seq;
    uint8_t sev;
    char id[32];
} rhdr;

struct spool {
    pthread_mutex_t mu;
    char *path;
    spool_opts o;
    uint64_t seg_max;
    int dirfd, wfd, ackfd, rfd; /* wfd: the last segment; rfd: a cached reader */
    uint64_t rfd_first;
    seg *segs;
    size_t nseg, cap;
    hole *holes;
    size_t nholes, hcap;
    uint64_t hole_total, acked, last_seq, bytes, corrupt;
    uint64_t file_seq; /* the highest seq written to a segment file (or acked) */
    bool closed;       /* a write failed: the write segment takes no more records */
    bool rc_ok;
    uint64_t rc_first, rc_off, rc_seq; /* read cursor */
    uint64_t seg_sync_ms, ack_sync_ms;
    /* Write-behind: records appended but not yet written (not with
     * FSYNC_ALWAYS). They count in sizes and seqs already; wb_off is where
     * they go in the write segment. */
    unsigned char *wb;
    size_t wb_len, wb_cap;
    uint64_t wb_off;
    /* sd_spool_write_behind's chunk in flight (written outside mu). */
    pthread_cond_t wcond;
    bool writing;
};

static inline void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

static inline uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void seg_name(char out[32], uint64_t first) { snprintf(out, 32, "%020" PRIu64 ".seg", first); }

/* spool.c, for sd_spool_open.c. */
ssize_t sd_spool_pread_full(int fd, void *b, size_t n, uint64_t off);
/* The record at off: 1 good, 2 header good but CRC bad, 0 bad, -errno. */
int sd_spool_read_rec(int fd, uint64_t off, uint64_t end, rhdr *h, char **payload);
/* *out: the offset of the first good record after off, or end. */
int sd_spool_resync(int fd, uint64_t off, uint64_t end, uint64_t *out);
int sd_spool_dir_sync(spool *s);
int sd_spool_delete_acked(spool *s);
int sd_spool_write_ack(spool *s, uint64_t seq);
void sd_spool_prune_holes(spool *s);
int sd_spool_grow(void *arr, size_t n, size_t *cap, size_t elem);

#endif
