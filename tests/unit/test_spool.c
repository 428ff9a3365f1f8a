/* test_spool.c — the sink spool (src/sink/spool.c): round trips, reopen and
 * replay, segment roll-over and deletion, recovery from torn tails and
 * damaged records, a bad ack file, the size cap, a producer and a consumer
 * on two threads, read-cursor rewinds, binary and large payloads.
 * Each test works in its own mkdtemp directory under /tmp, removed after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sink/spool.h"

#define REC_HDR 53 /* magic len crc seq severity id[32] */

/* ---- helpers ---------------------------------------------------------------- */

static int setup_dir(void **state) {
    char tmpl[] = "/tmp/secdet-spool-XXXXXX";
    if (!mkdtemp(tmpl)) return -1;
    *state = strdup(tmpl);
    return *state ? 0 : -1;
}

static void rm_tree(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                rm_tree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(path);
}

static int teardown_dir(void **state) {
    rm_tree(*state);
    free(*state);
    return 0;
}

static spool *open_ok(const char *dir, uint64_t seg_bytes, uint64_t max_bytes, spool_fsync f) {
    spool_opts o = {.fsync = f, .fsync_ms = 50, .segment_bytes = seg_bytes, .max_bytes = max_bytes};
    spool *s = NULL;
    char err[256];
    int rc = sd_spool_open(dir, &o, &s, err, sizeof err);
    if (rc != 0) fail_msg("spool_open(%s): %d %s", dir, rc, err);
    return s;
}

static uint64_t append_str(spool *s, const char *payload) {
    uint64_t seq = 0;
    char id[33];
    snprintf(id, sizeof id, "%032zx", strlen(payload));
    assert_int_equal(sd_spool_append(s, 3, id, payload, strlen(payload), &seq), 0);
    return seq;
}

/* next(after) must give `seq` with `payload`; returns nothing, frees. */
static void expect_next(spool *s, uint64_t after, uint64_t seq, const char *payload) {
    spool_rec r;
    memset(&r, 0, sizeof r);
    int rc = sd_spool_next(s, after, &r);
    if (rc != 1) fail_msg("next(%" PRIu64 ") = %d, want seq %" PRIu64, after, rc, seq);
    assert_int_equal(r.seq, seq);
    assert_int_equal(r.len, strlen(payload));
    assert_string_equal(r.payload, payload);
    free(r.payload);
}

static void expect_none(spool *s, uint64_t after) {
    spool_rec r;
    assert_int_equal(sd_spool_next(s, after, &r), 0);
}

/* The ".seg" files in dir, sorted; returns how many (names into out). */
static int list_segs(const char *dir, uint64_t *out, int max) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l != 24 || strcmp(e->d_name + 20, ".seg") != 0) continue;
        assert_true(n < max);
        out[n++] = strtoull(e->d_name, NULL, 10);
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            uint64_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

static void seg_path(char *p, size_t n, const char *dir, uint64_t first) {
    snprintf(p, n, "%s/%020" PRIu64 ".seg", dir, first);
}

static off_t file_size(const char *p) {
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_size;
}

static void flip_byte(const char *p, off_t off) {
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* Records of equal payload length: offset of record k (1-based) in a file. */
static off_t rec_off(int k, size_t plen) { return (off_t)(k - 1) * (off_t)(REC_HDR + plen); }

/* ---- tests ------------------------------------------------------------------- */

static void test_round_trip(void **state) {
    spool *s = open_ok(*state, 0, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_last_seq(s), 0);
    assert_int_equal(sd_spool_pending(s), 0);
    expect_none(s, 0);
    uint64_t seq;
    const char *id = "0123456789abcdef0123456789abcdef";
    assert_int_equal(sd_spool_append(s, 4, id, "{\"a\":1}", 7, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(sd_spool_append(s, 1, "short", "two", 3, &seq), 0);
    assert_int_equal(sd_spool_append(s, 0, NULL, "", 0, &seq), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(sd_spool_last_seq(s), 3);
    assert_int_equal(sd_spool_pending(s), 3);
    assert_int_equal(sd_spool_bytes(s), 3 * REC_HDR + 10);

    spool_rec r;
    assert_int_equal(sd_spool_next(s, 0, &r), 1);
    assert_int_equal(r.seq, 1);
    assert_int_equal(r.severity, 4);
    assert_string_equal(r.id, id);
    assert_string_equal(r.payload, "{\"a\":1}");
    free(r.payload);
    assert_int_equal(sd_spool_next(s, 1, &r), 1);
    assert_int_equal(r.severity, 1);
    assert_string_equal(r.id, "short");
    free(r.payload);
    assert_int_equal(sd_spool_next(s, 2, &r), 1);
    assert_int_equal(r.seq, 3);
    assert_string_equal(r.id, "");
    assert_int_equal(r.len, 0);
    assert_string_equal(r.payload, "");
    free(r.payload);
    expect_none(s, 3);

    assert_int_equal(sd_spool_ack(s, 2), 0);
    assert_int_equal(sd_spool_acked(s), 2);
    assert_int_equal(sd_spool_pending(s), 1);
    spool_rec r3;
    assert_int_equal(sd_spool_next(s, 0, &r3), 1); /* at or below the ack: never again */
    assert_int_equal(r3.seq, 3);
    free(r3.payload);
    assert_int_equal(sd_spool_ack(s, 1), 0); /* going back is a no-op */
    assert_int_equal(sd_spool_acked(s), 2);
    assert_int_equal(sd_spool_ack(s, 3), 0);
    assert_int_equal(sd_spool_pending(s), 0);
    expect_none(s, 0);
    /* Past the last seq: those seqs are used up (the owner delivered records
     * it never journaled); the next append goes above. */
    assert_int_equal(sd_spool_ack(s, 5), 0);
    assert_int_equal(sd_spool_last_seq(s), 5);
    assert_int_equal(sd_spool_pending(s), 0);
    assert_int_equal(sd_spool_append_at(s, 5, 1, "x", "late", 4), -EINVAL);
    assert_int_equal(sd_spool_append(s, 1, "x", "next", 4, &seq), 0);
    assert_int_equal(seq, 6);
    assert_int_equal(sd_spool_ack(s, 6), 0);
    assert_int_equal(sd_spool_corrupt(s), 0);
    assert_int_equal(sd_spool_sync(s), 0);
    sd_spool_close(s);
    sd_spool_close(NULL);
}

static void test_reopen_replays_unacked(void **state) {
    spool *s = open_ok(*state, 0, 0, SPOOL_FSYNC_ALWAYS);
    char p[32];
    for (int i = 1; i <= 5; i++) {
        snprintf(p, sizeof p, "alert-%d", i);
        assert_int_equal(append_str(s, p), (uint64_t)i);
    }
    assert_int_equal(sd_spool_ack(s, 2), 0);
    sd_spool_close(s);

    s = open_ok(*state, 0, 0, SPOOL_FSYNC_INTERVAL);
    assert_int_equal(sd_spool_acked(s), 2);
    assert_int_equal(sd_spool_last_seq(s), 5);
    assert_int_equal(sd_spool_pending(s), 3);
    expect_next(s, 0, 3, "alert-3");
    expect_next(s, 3, 4, "alert-4");
    expect_next(s, 4, 5, "alert-5");
    expect_none(s, 5);
    assert_int_equal(append_str(s, "alert-6"), 6);
    expect_next(s, 5, 6, "alert-6");
    assert_int_equal(sd_spool_ack(s, 6), 0);
    sd_spool_close(s);

    s = open_ok(*state, 0, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_pending(s), 0);
    expect_none(s, 0);
    assert_int_equal(append_str(s, "alert-7"), 7);
    sd_spool_close(s);
}

static void test_rollover_and_deletion(void **state) {
    const char *dir = *state;
    char p[400];
    memset(p, 'x', 300);
    p[300] = '\0';
    spool *s = open_ok(dir, 1000, 0, SPOOL_FSYNC_INTERVAL); /* 3 records of 353 bytes a segment */
    for (int i = 1; i <= 20; i++) {
        snprintf(p, 8, "%07d", i);
        p[7] = 'x';
        assert_int_equal(append_str(s, p), (uint64_t)i);
    }
    assert_int_equal(sd_spool_commit(s), 0); /* the last segment's records are staged until now */
    uint64_t segs[32];
    int n = list_segs(dir, segs, 32);
    assert_int_equal(n, 7); /* 1-3, 4-6, ..., 19-20 */
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(segs[i], (uint64_t)(1 + 3 * i));
        char path[600];
        seg_path(path, sizeof path, dir, segs[i]);
        total += (uint64_t)file_size(path);
    }
    assert_int_equal(sd_spool_bytes(s), total);
    assert_int_equal(total, 20 * 353);

    /* Every record back, in order, across the segments. */
    for (uint64_t q = 0; q < 20; q++) {
        spool_rec r;
        assert_int_equal(sd_spool_next(s, q, &r), 1);
        assert_int_equal(r.seq, q + 1);
        assert_int_equal(strtoul(r.payload, NULL, 10), q + 1);
        free(r.payload);
    }
    assert_int_equal(sd_spool_ack(s, 7), 0); /* 1-3 and 4-6 are wholly acked; 7-9 not */
    n = list_segs(dir, segs, 32);
    assert_int_equal(n, 5);
    assert_int_equal(segs[0], 7);
    assert_int_equal(sd_spool_bytes(s), 14 * 353);
    spool_rec r;
    assert_int_equal(sd_spool_next(s, 0, &r), 1);
    assert_int_equal(r.seq, 8);
    free(r.payload);

    assert_int_equal(sd_spool_ack(s, 20), 0); /* all of it: only the write segment stays */
    n = list_segs(dir, segs, 32);
    assert_int_equal(n, 1);
    assert_int_equal(segs[0], 19);
    assert_int_equal(sd_spool_pending(s), 0);
    expect_none(s, 0);
    /* 21 fills the write segment, 22 rolls; the old one goes once 21 is acked. */
    assert_int_equal(append_str(s, p), 21);
    assert_int_equal(append_str(s, p), 22);
    n = list_segs(dir, segs, 32);
    assert_int_equal(n, 2);
    assert_int_equal(segs[1], 22);
    assert_int_equal(sd_spool_ack(s, 21), 0);
    n = list_segs(dir, segs, 32);
    assert_int_equal(n, 1);
    assert_int_equal(segs[0], 22);
    sd_spool_close(s);

    s = open_ok(dir, 1000, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_last_seq(s), 22);
    assert_int_equal(sd_spool_pending(s), 1);
    assert_int_equal(sd_spool_next(s, 0, &r), 1);
    assert_int_equal(r.seq, 22);
    free(r.payload);
    sd_spool_close(s);
}

static void test_torn_tail_is_truncated(void **state) {
    const char *dir = *state;
    spool *s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    for (int i = 1; i <= 5; i++) append_str(s, "0123456789abcdef");
    sd_spool_close(s);
    char path[600];
    seg_path(path, sizeof path, dir, 1);
    off_t rec = REC_HDR + 16;
    assert_int_equal(file_size(path), 5 * rec);

    /* Cut the 5th record in its payload. */
    assert_int_equal(truncate(path, 5 * rec - 7), 0);
    s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_corrupt(s), 0); /* a torn write, not damage */
    assert_int_equal(sd_spool_last_seq(s), 4);
    assert_int_equal(sd_spool_pending(s), 4);
    assert_int_equal(file_size(path), 4 * rec);
    for (uint64_t q = 0; q < 4; q++) expect_next(s, q, q + 1, "0123456789abcdef");
    expect_none(s, 4);
    assert_int_equal(append_str(s, "after the tear"), 5);
    expect_next(s, 4, 5, "after the tear");
    sd_spool_close(s);

    /* Cut the new 5th record inside its header. */
    assert_int_equal(truncate(path, 4 * rec + 10), 0);
    s = open_ok(dir, 0, 0, SPOOL_FSYNC_ALWAYS);
    assert_int_equal(sd_spool_last_seq(s), 4);
    assert_int_equal(file_size(path), 4 * rec);
    assert_int_equal(append_str(s, "again"), 5);
    sd_spool_close(s);

    /* A whole last record with a bad CRC is damage: dropped and counted. */
    flip_byte(path, 4 * rec + REC_HDR + 2);
    s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_corrupt(s), 1);
    assert_int_equal(sd_spool_last_seq(s), 4);
    assert_int_equal(file_size(path), 4 * rec);
    expect_next(s, 3, 4, "0123456789abcdef");
    expect_none(s, 4);
    sd_spool_close(s);
}

static void test_damaged_middle_record_is_skipped(void **state) {
    const char *dir = *state;
    const char *pl = "payload-of-twenty-b";
    size_t plen = strlen(pl);
    spool *s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    for (int i = 1; i <= 6; i++) append_str(s, pl);
    sd_spool_close(s);
    char path[600];
    seg_path(path, sizeof path, dir, 1);
    flip_byte(path, rec_off(3, plen) + REC_HDR + 4); /* a payload byte of #3 */
    flip_byte(path, rec_off(5, plen) + 5);           /* the length of #5 */

    s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_corrupt(s), 2);
    assert_int_equal(sd_spool_last_seq(s), 6);
    assert_int_equal(sd_spool_pending(s), 4);
    expect_next(s, 0, 1, pl);
    expect_next(s, 1, 2, pl);
    expect_next(s, 2, 4, pl);
    expect_next(s, 4, 6, pl);
    expect_none(s, 6);
    /* Reading the damage again (a rewind) does not count it twice. */
    expect_next(s, 2, 4, pl);
    assert_int_equal(sd_spool_corrupt(s), 2);
    assert_int_equal(sd_spool_ack(s, 4), 0);
    assert_int_equal(sd_spool_pending(s), 1);
    assert_int_equal(append_str(s, pl), 7);
    assert_int_equal(sd_spool_pending(s), 2);
    assert_int_equal(sd_spool_commit(s), 0);

    /* Damage done while open is found by the reader, and counted once. */
    flip_byte(path, rec_off(7, plen) + REC_HDR + 1);
    expect_next(s, 4, 6, pl);
    expect_none(s, 6);
    assert_int_equal(sd_spool_corrupt(s), 3);
    expect_next(s, 0, 6, pl);
    expect_none(s, 6);
    assert_int_equal(sd_spool_corrupt(s), 3);
    assert_int_equal(append_str(s, "eight"), 8);
    expect_next(s, 6, 8, "eight");
    sd_spool_close(s);
}

static void test_damaged_end_of_older_segment(void **state) {
    const char *dir = *state;
    const char *pl = "0123456789";
    spool *s = open_ok(dir, 3 * (REC_HDR + 10), 0, SPOOL_FSYNC_NEVER);
    for (int i = 1; i <= 7; i++) append_str(s, pl); /* 1-3, 4-6, 7 */
    sd_spool_close(s);
    char path[600];
    seg_path(path, sizeof path, dir, 4);
    flip_byte(path, rec_off(3, 10) + 20); /* #6, the last of a middle segment */
    s = open_ok(dir, 3 * (REC_HDR + 10), 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_corrupt(s), 1);
    assert_int_equal(file_size(path), 3 * (REC_HDR + 10)); /* not the last segment: left alone */
    assert_int_equal(sd_spool_pending(s), 6);
    expect_next(s, 4, 5, pl);
    expect_next(s, 5, 7, pl);
    sd_spool_close(s);

    /* The last segment torn to nothing: seqs go on after its name, and the
     * damaged #6 is not pending. */
    seg_path(path, sizeof path, dir, 7);
    assert_int_equal(truncate(path, 10), 0);
    s = open_ok(dir, 3 * (REC_HDR + 10), 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(file_size(path), 0);
    assert_int_equal(sd_spool_last_seq(s), 6);
    assert_int_equal(sd_spool_pending(s), 5);
    assert_int_equal(append_str(s, "seven"), 7);
    assert_int_equal(sd_spool_pending(s), 6);
    expect_next(s, 5, 7, "seven");
    sd_spool_close(s);

    /* Records lost without a trace (an older segment cut short, the last one
     * empty): nothing to return past the last good one. */
    assert_int_equal(truncate(path, 0), 0);
    seg_path(path, sizeof path, dir, 4);
    assert_int_equal(truncate(path, 2 * (REC_HDR + 10)), 0);
    s = open_ok(dir, 3 * (REC_HDR + 10), 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_corrupt(s), 0);
    assert_int_equal(sd_spool_last_seq(s), 6);
    assert_int_equal(sd_spool_pending(s), 5);
    expect_none(s, 5);
    expect_next(s, 4, 5, pl);
    expect_none(s, 5);
    assert_int_equal(append_str(s, "seven"), 7);
    expect_next(s, 5, 7, "seven");
    sd_spool_close(s);
}

/* After damage, the next good record is found wherever it starts, also
 * across the reader's 16 KiB read chunks. */
static void test_resync_at_any_offset(void **state) {
    char *big = malloc(16400);
    assert_non_null(big);
    memset(big, 'a', 16400);
    for (size_t len = 16300; len <= 16340; len++) {
        char dir[600], path[700];
        snprintf(dir, sizeof dir, "%s/%zu", (const char *)*state, len);
        spool *s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
        uint64_t seq;
        assert_int_equal(sd_spool_append(s, 1, "a", big, len, &seq), 0);
        append_str(s, "next");
        sd_spool_close(s);
        seg_path(path, sizeof path, dir, 1);
        flip_byte(path, REC_HDR + 100);
        s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
        assert_int_equal(sd_spool_corrupt(s), 1);
        assert_int_equal(sd_spool_pending(s), 1);
        expect_next(s, 0, 2, "next");
        sd_spool_close(s);
    }
    free(big);
}

static void test_bad_ack_file_replays(void **state) {
    const char *dir = *state;
    char ack[600];
    snprintf(ack, sizeof ack, "%s/ack", dir);
    spool *s = open_ok(dir, 0, 0, SPOOL_FSYNC_ALWAYS);
    for (int i = 1; i <= 5; i++) append_str(s, "x");
    assert_int_equal(sd_spool_ack(s, 3), 0);
    sd_spool_close(s);
    assert_int_equal(file_size(ack), 16);
    flip_byte(ack, 6); /* a byte of the seq */
    s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_acked(s), 0); /* replay everything rather than skip */
    assert_int_equal(sd_spool_pending(s), 5);
    assert_int_equal(sd_spool_corrupt(s), 0);
    expect_next(s, 0, 1, "x");
    assert_int_equal(sd_spool_ack(s, 2), 0); /* rewritten whole */
    sd_spool_close(s);
    s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_acked(s), 2);
    sd_spool_close(s);

    /* With old segments gone: from the oldest left, not from the ack's guess. */
    rm_tree(dir);
    s = open_ok(dir, 2 * (REC_HDR + 1), 0, SPOOL_FSYNC_NEVER);
    for (int i = 1; i <= 9; i++) append_str(s, "y"); /* 1-2, 3-4, 5-6, 7-8, 9 */
    assert_int_equal(sd_spool_ack(s, 5), 0);
    sd_spool_close(s);
    assert_int_equal(truncate(ack, 7), 0); /* a torn ack write */
    s = open_ok(dir, 2 * (REC_HDR + 1), 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_acked(s), 4);
    assert_int_equal(sd_spool_last_seq(s), 9);
    assert_int_equal(sd_spool_pending(s), 5);
    for (uint64_t q = 4; q < 9; q++) expect_next(s, q, q + 1, "y");
    expect_none(s, 9);
    assert_int_equal(append_str(s, "y"), 10);
    sd_spool_close(s);
}

static void test_seqs_never_go_back(void **state) {
    const char *dir = *state;
    spool *s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    for (int i = 1; i <= 5; i++) append_str(s, "z");
    assert_int_equal(sd_spool_ack(s, 5), 0);
    sd_spool_close(s);
    char path[600];
    seg_path(path, sizeof path, dir, 1);
    assert_int_equal(unlink(path), 0); /* every segment gone: the ack remembers */
    s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_last_seq(s), 5);
    assert_int_equal(sd_spool_pending(s), 0);
    assert_int_equal(append_str(s, "z"), 6);
    sd_spool_close(s);
}

static void test_max_bytes(void **state) {
    const char *dir = *state;
    char p[301];
    memset(p, 'm', 300);
    p[300] = '\0';
    spool *s = open_ok(dir, 0, 4000, SPOOL_FSYNC_NEVER); /* 353 bytes a record */
    uint64_t seq = 0;
    int n = 0, rc;
    while (n < 100 && (rc = sd_spool_append(s, 2, "id", p, 300, &seq)) == 0) n++;
    assert_int_equal(rc, -ENOSPC);
    assert_int_equal(n, 11);
    assert_true(sd_spool_bytes(s) <= 4000);
    assert_int_equal(sd_spool_last_seq(s), 11);
    assert_int_equal(sd_spool_append(s, 2, "id", p, 300, &seq), -ENOSPC);
    assert_int_equal(sd_spool_last_seq(s), 11); /* no seq used up */
    char big[5000];
    memset(big, 'b', sizeof big);
    assert_int_equal(sd_spool_append(s, 2, "id", big, sizeof big, &seq), -ENOSPC);
    /* Still readable; acking frees room, also when the write segment is all acked. */
    expect_next(s, 0, 1, p);
    assert_int_equal(sd_spool_ack(s, 11), 0);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(sd_spool_append(s, 2, "id", p, 300, &seq), 0);
        assert_int_equal(seq, 12 + (uint64_t)i);
        assert_true(sd_spool_bytes(s) <= 4000);
        if (i % 5 == 4) assert_int_equal(sd_spool_ack(s, seq), 0);
    }
    /* A record that only fits once the (all acked) write segment goes. */
    assert_int_equal(sd_spool_ack(s, seq), 0);
    assert_true(sd_spool_bytes(s) > 0);
    assert_int_equal(sd_spool_append(s, 2, "id", big, 3500, &seq), 0);
    assert_int_equal(sd_spool_bytes(s), REC_HDR + 3500);
    expect_none(s, seq);
    spool_rec r;
    assert_int_equal(sd_spool_next(s, 0, &r), 1);
    assert_int_equal(r.seq, seq);
    assert_int_equal(r.len, 3500);
    free(r.payload);
    sd_spool_close(s);
}

struct pc {
    spool *s;
    int n;
    int errors;
    char first_error[200];
};

static void pc_fail(struct pc *c, const char *msg, uint64_t v) {
    if (c->errors++ == 0) snprintf(c->first_error, sizeof c->first_error, "%s (%" PRIu64 ")", msg, v);
}

static void *consumer(void *arg) {
    struct pc *c = arg;
    uint64_t last = 0;
    struct timespec start, now, nap = {0, 50000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (last < (uint64_t)c->n && c->errors == 0) {
        spool_rec r;
        int rc = sd_spool_next(c->s, last, &r);
        if (rc == 1) {
            char want[32];
            snprintf(want, sizeof want, "record %" PRIu64 " ", r.seq);
            if (r.seq != last + 1) pc_fail(c, "out of order or skipped", r.seq);
            if (strncmp(r.payload, want, strlen(want)) != 0) pc_fail(c, "wrong payload", r.seq);
            free(r.payload);
            last = r.seq;
            if (last % 97 == 0 && sd_spool_ack(c->s, last) != 0) pc_fail(c, "ack failed", last);
        } else if (rc == 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - start.tv_sec > 60) pc_fail(c, "timed out at", last);
            nanosleep(&nap, NULL);
        } else {
            pc_fail(c, "next failed", (uint64_t)-rc);
        }
    }
    if (sd_spool_ack(c->s, last) != 0) pc_fail(c, "last ack failed", last);
    return NULL;
}

static void test_two_threads(void **state) {
    struct pc c = {.s = open_ok(*state, 64 * 1024, 0, SPOOL_FSYNC_NEVER), .n = 20000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, consumer, &c), 0);
    char p[200];
    int bad = 0;
    for (int i = 1; i <= c.n; i++) {
        int len = snprintf(p, sizeof p, "record %d %.*s", i, i % 120,
                           "......................................................................."
                           ".........................................................");
        uint64_t seq = 0;
        if (sd_spool_append(c.s, (uint8_t)(i % 5), "feedface", p, (size_t)len, &seq) != 0 || seq != (uint64_t)i) bad++;
    }
    pthread_join(t, NULL);
    assert_int_equal(bad, 0);
    if (c.errors) fail_msg("consumer: %d errors, first: %s", c.errors, c.first_error);
    assert_int_equal(sd_spool_acked(c.s), 20000);
    assert_int_equal(sd_spool_pending(c.s), 0);
    uint64_t segs[64];
    assert_int_equal(list_segs(*state, segs, 64), 1); /* acked segments deleted as it went */
    sd_spool_close(c.s);
}

static void test_rewind_below_cursor(void **state) {
    spool *s = open_ok(*state, 2 * (REC_HDR + 2), 0, SPOOL_FSYNC_NEVER);
    char p[8];
    for (int i = 1; i <= 10; i++) {
        snprintf(p, sizeof p, "%02d", i);
        append_str(s, p);
    }
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%02d", i + 1);
        expect_next(s, (uint64_t)i, (uint64_t)i + 1, p);
    }
    expect_next(s, 2, 3, "03"); /* below the cursor: rewinds */
    expect_next(s, 0, 1, "01");
    expect_next(s, 8, 9, "09"); /* far ahead: jumps */
    expect_next(s, 4, 5, "05");
    expect_next(s, 5, 6, "06");
    assert_int_equal(sd_spool_ack(s, 4), 0); /* deletes 1-2 and 3-4 under the cursor */
    expect_next(s, 6, 7, "07");
    expect_next(s, 1, 5, "05");              /* never at or below the ack */
    assert_int_equal(sd_spool_ack(s, 9), 0); /* deletes the cursor's segment */
    expect_next(s, 5, 10, "10");
    expect_none(s, 10);
    sd_spool_close(s);
}

static void test_binary_and_large_payloads(void **state) {
    const char *dir = *state;
    spool *s = open_ok(dir, 256 * 1024, 0, SPOOL_FSYNC_NEVER);
    const char bin[] = {'a', 0, 'b', 0, 0, (char)0xff, 'c'};
    uint64_t seq;
    assert_int_equal(sd_spool_append(s, 5, "bin", bin, sizeof bin, &seq), 0);
    size_t big_len = 1u << 20;
    char *big = malloc(big_len);
    assert_non_null(big);
    uint32_t x = 12345;
    for (size_t i = 0; i < big_len; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)(x >> 16);
    }
    assert_int_equal(sd_spool_append(s, 6, "big", big, big_len, &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(sd_spool_append(s, 1, "tail", "t", 1, &seq), 0);
    for (int round = 0; round < 2; round++) {
        spool_rec r;
        assert_int_equal(sd_spool_next(s, 0, &r), 1);
        assert_int_equal(r.len, sizeof bin);
        assert_memory_equal(r.payload, bin, sizeof bin);
        assert_int_equal(r.payload[r.len], 0);
        free(r.payload);
        assert_int_equal(sd_spool_next(s, 1, &r), 1);
        assert_int_equal(r.seq, 2);
        assert_int_equal(r.severity, 6);
        assert_int_equal(r.len, big_len);
        assert_memory_equal(r.payload, big, big_len);
        free(r.payload);
        expect_next(s, 2, 3, "t");
        sd_spool_close(s);
        s = open_ok(dir, 256 * 1024, 0, SPOOL_FSYNC_NEVER); /* the scan reads it through too */
        assert_int_equal(sd_spool_corrupt(s), 0);
        assert_int_equal(sd_spool_pending(s), 3);
    }
    uint64_t segs[8];
    assert_int_equal(list_segs(dir, segs, 8), 2); /* the big one passed segment_bytes */
    sd_spool_close(s);
    free(big);
}

/* A batch write cut short (here by RLIMIT_FSIZE) fails the commit and leaves
 * the file as it was: no half record; the staged records stay staged and
 * the next commit writes them. */
static void test_failed_append_leaves_no_trace(void **state) {
    const char *dir = *state;
    spool *s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    char p[6000];
    memset(p, 'w', sizeof p);
    uint64_t seq;
    assert_int_equal(sd_spool_append(s, 1, "a", p, 100, &seq), 0);
    assert_int_equal(sd_spool_commit(s), 0);
    char path[600];
    seg_path(path, sizeof path, dir, 1);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = REC_HDR + 100 + 80; /* part of the next batch fits */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_int_equal(sd_spool_append(s, 1, "b", p, 300, &seq), 0);
    assert_int_equal(sd_spool_append(s, 1, "c", p, sizeof p, &seq), 0);
    int rc = sd_spool_commit(s);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -EFBIG);
    assert_int_equal(file_size(path), REC_HDR + 100);
    assert_int_equal(sd_spool_last_seq(s), 3);
    assert_int_equal(sd_spool_commit(s), 0);
    assert_int_equal(file_size(path), 3 * REC_HDR + 100 + 300 + sizeof p);
    assert_int_equal(sd_spool_append(s, 1, "d", "ok", 2, &seq), 0);
    assert_int_equal(seq, 4);
    expect_next(s, 3, 4, "ok");
    sd_spool_close(s);
    s = open_ok(dir, 0, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_corrupt(s), 0);
    assert_int_equal(sd_spool_pending(s), 4);
    sd_spool_close(s);
}

static void test_open_errors(void **state) {
    const char *dir = *state;
    char path[600], err[300];
    spool *s = NULL, *s2 = NULL;
    spool_opts o = {0};
    snprintf(path, sizeof path, "%s/missing/spool", dir);
    assert_int_equal(sd_spool_open(path, &o, &s, err, sizeof err), -ENOENT);
    assert_null(s);
    assert_non_null(strstr(err, path));
    snprintf(path, sizeof path, "%s/file", dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sd_spool_open(path, &o, &s, err, sizeof err), -ENOTDIR);
    assert_non_null(strstr(err, path));

    /* Created one level deep, 0700; a second spool on it is refused. */
    snprintf(path, sizeof path, "%s/new", dir);
    assert_int_equal(sd_spool_open(path, &o, &s, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(sd_spool_open(path, &o, &s2, err, sizeof err), -EBUSY);
    assert_non_null(strstr(err, path));
    sd_spool_close(s);
    assert_int_equal(sd_spool_open(path, &o, &s2, err, sizeof err), 0);
    assert_int_equal(sd_spool_append(s2, 0, "id", NULL, 3, NULL), -EINVAL);
    sd_spool_close(s2);
}

/* The delivery thread writes full chunks in the background while records
 * keep being appended; with the final commit, every record is on disk, in
 * order, with a good CRC (a reopen finds nothing damaged). The appends start
 * once the writer runs: on a loaded machine it could otherwise be scheduled
 * only after they ended (the test then failed on a.writes). */
typedef struct wb_arg {
    spool *s;
    atomic_int stop;
    atomic_int writes;
} wb_arg;

static void *write_behind_main(void *p) {
    wb_arg *a = p;
    while (!atomic_load(&a->stop)) {
        assert_int_equal(sd_spool_write_behind(a->s), 0);
        atomic_fetch_add(&a->writes, 1);
        usleep(50);
    }
    return NULL;
}

static void test_write_behind_while_appending(void **state) {
    const char *dir = *state;
    spool *s = open_ok(dir, 256 * 1024, 0, SPOOL_FSYNC_NEVER);
    wb_arg a = {.s = s};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_behind_main, &a), 0);
    for (int i = 0; i < 10000 && atomic_load(&a.writes) == 0; i++) usleep(1000); /* bounded: 10 s */
    char p[1200];
    for (int i = 1; i <= 3000; i++) {
        snprintf(p, sizeof p, "%06d-%01100d", i, i);
        assert_int_equal(append_str(s, p), (uint64_t)i);
        if (i % 500 == 0) assert_int_equal(sd_spool_commit(s), 0);
    }
    atomic_store(&a.stop, 1);
    pthread_join(t, NULL);
    assert_true(atomic_load(&a.writes) > 0);
    sd_spool_close(s);
    s = open_ok(dir, 256 * 1024, 0, SPOOL_FSYNC_NEVER);
    assert_int_equal(sd_spool_corrupt(s), 0);
    assert_int_equal(sd_spool_last_seq(s), 3000);
    for (int i = 1; i <= 3000; i++) {
        snprintf(p, sizeof p, "%06d-%01100d", i, i);
        expect_next(s, (uint64_t)i - 1, (uint64_t)i, p);
    }
    sd_spool_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_write_behind_while_appending, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_reopen_replays_unacked, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_rollover_and_deletion, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_torn_tail_is_truncated, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_damaged_middle_record_is_skipped, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_damaged_end_of_older_segment, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_resync_at_any_offset, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_bad_ack_file_replays, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_seqs_never_go_back, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_max_bytes, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_two_threads, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_rewind_below_cursor, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_binary_and_large_payloads, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_failed_append_leaves_no_trace, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_open_errors, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
