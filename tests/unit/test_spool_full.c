/* test_spool_full.c — the spool when writes fail (src/sink/spool.c): a
 * failed commit's records handed back by sd_spool_unstage, the closed write
 * segment deleted once acked (also when it is the only one), an empty closed
 * segment taken again, seqs that skip, acks past the last seq, the ack file
 * written on open; and on a real 256 KiB tmpfs (root only, else skipped):
 * a full disk, freed by acking, and a write segment all acked that a full
 * disk replaces instead of failing.
 * Write failures are made with RLIMIT_FSIZE (EFBIG) where no tmpfs is needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sink/spool.h"

#define REC_HDR 53

static int setup_dir(void **state) {
    char tmpl[] = "/tmp/secdet-spoolfull-XXXXXX";
    if (!mkdtemp(tmpl)) return -1;
    *state = strdup(tmpl);
    return *state ? 0 : -1;
}

static int teardown_dir(void **state) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
    int rc = system(cmd);
    free(*state);
    return rc == 0 ? 0 : -1;
}

static spool *open_dir(const char *dir) {
    spool_opts o = {.fsync = SPOOL_FSYNC_NEVER};
    spool *s = NULL;
    char err[256];
    if (sd_spool_open(dir, &o, &s, err, sizeof err) != 0) fail_msg("spool_open: %s", err);
    return s;
}

/* How many ".seg" files dir holds; the smallest first seq in *first. */
static int count_segs(const char *dir, uint64_t *first) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l != 24 || strcmp(e->d_name + 20, ".seg") != 0) continue;
        uint64_t f = strtoull(e->d_name, NULL, 10);
        if (first && (n == 0 || f < *first)) *first = f;
        n++;
    }
    closedir(d);
    return n;
}

static bool seg_exists(const char *dir, uint64_t first) {
    char p[600];
    snprintf(p, sizeof p, "%s/%020" PRIu64 ".seg", dir, first);
    return access(p, F_OK) == 0;
}

/* sd_spool_commit with the file size limited to `limit` bytes. */
static int commit_limited(spool *s, rlim_t limit) {
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = limit;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = sd_spool_commit(s);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    return rc;
}

typedef struct got {
    uint64_t seq[8];
    char payload[8][16];
    int n;
} got;

static void on_rec(void *user, const spool_rec *r) {
    got *g = user;
    assert_true(g->n < 8);
    g->seq[g->n] = r->seq;
    assert_true(r->len < sizeof g->payload[0]);
    memcpy(g->payload[g->n], r->payload, r->len);
    g->payload[g->n][r->len] = '\0';
    g->n++;
}

static void expect_next(spool *s, uint64_t after, uint64_t seq, const char *payload) {
    spool_rec r;
    assert_int_equal(sd_spool_next(s, after, &r), 1);
    assert_int_equal(r.seq, seq);
    assert_string_equal(r.payload, payload);
    free(r.payload);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_unstage_hands_back_what_a_failed_commit_staged(void **state) {
    const char *dir = *state;
    spool *s = open_dir(dir);
    assert_int_equal(sd_spool_append_at(s, 1, 2, "id1", "a", 1), 0);
    assert_int_equal(sd_spool_commit(s), 0);
    assert_int_equal(sd_spool_append_at(s, 2, 2, "id2", "bb", 2), 0);
    assert_int_equal(sd_spool_append_at(s, 3, 3, "id3", "ccc", 3), 0);
    assert_int_equal(sd_spool_staged(s), 2 * REC_HDR + 5);
    assert_int_equal(commit_limited(s, REC_HDR + 1 + 10), -EFBIG);
    assert_int_equal(sd_spool_last_seq(s), 3); /* still staged: a commit could try again */

    got g = {0};
    assert_int_equal(sd_spool_unstage(s, on_rec, &g), 2);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.seq[0], 2);
    assert_string_equal(g.payload[0], "bb");
    assert_int_equal(g.seq[1], 3);
    assert_string_equal(g.payload[1], "ccc");
    assert_int_equal(sd_spool_staged(s), 0);
    assert_int_equal(sd_spool_last_seq(s), 1); /* what the file holds */
    assert_int_equal(sd_spool_bytes(s), REC_HDR + 1);
    assert_int_equal(sd_spool_unstage(s, on_rec, &g), 0);

    /* The write segment is closed: seq 4 starts a new one; 2 and 3 are a gap. */
    assert_int_equal(sd_spool_append_at(s, 4, 1, "id4", "dddd", 4), 0);
    assert_int_equal(sd_spool_commit(s), 0);
    assert_true(seg_exists(dir, 1) && seg_exists(dir, 4));
    expect_next(s, 0, 1, "a");
    expect_next(s, 1, 4, "dddd");
    assert_int_equal(sd_spool_ack(s, 1), 0);
    assert_true(seg_exists(dir, 1));         /* as far as the spool knows, it holds 2 and 3 */
    assert_int_equal(sd_spool_ack(s, 3), 0); /* they were delivered from memory */
    assert_false(seg_exists(dir, 1));
    sd_spool_close(s);

    s = open_dir(dir); /* the gap is no record to replay */
    assert_int_equal(sd_spool_pending(s), 1);
    expect_next(s, 0, 4, "dddd");
    sd_spool_close(s);
}

static void test_a_closed_segment_goes_once_acked_even_alone(void **state) {
    const char *dir = *state;
    spool *s = open_dir(dir);
    for (uint64_t i = 1; i <= 3; i++) assert_int_equal(sd_spool_append_at(s, i, 1, "id", "rec", 3), 0);
    assert_int_equal(sd_spool_commit(s), 0);
    assert_int_equal(sd_spool_append_at(s, 4, 1, "id", "rec", 3), 0);
    assert_int_equal(commit_limited(s, 3 * (REC_HDR + 3)), -EFBIG);
    assert_int_equal(sd_spool_unstage(s, NULL, NULL), 1);
    assert_int_equal(sd_spool_ack(s, 2), 0);
    assert_true(seg_exists(dir, 1)); /* 3 is not acked yet */
    assert_int_equal(sd_spool_ack(s, 3), 0);
    assert_int_equal(count_segs(dir, NULL), 0); /* the disk it filled is free again */
    assert_int_equal(sd_spool_bytes(s), 0);
    assert_int_equal(sd_spool_append_at(s, 4, 1, "id", "rec", 3), 0);
    assert_int_equal(sd_spool_commit(s), 0);
    assert_true(seg_exists(dir, 4));
    sd_spool_close(s);
}

static void test_an_empty_closed_segment_is_taken_again_and_acks_pass_the_last(void **state) {
    const char *dir = *state;
    spool *s = open_dir(dir);
    for (uint64_t i = 1; i <= 3; i++) assert_int_equal(sd_spool_append_at(s, i, 1, "id", "rec", 3), 0);
    assert_int_equal(sd_spool_commit(s), 0);
    /* A failure closes segment 1; each retry on a disk still full makes a
     * new segment that stays empty: the next retry takes that file again
     * instead of leaving one empty file per try. */
    assert_int_equal(sd_spool_append_at(s, 4, 1, "id", "four", 4), 0);
    assert_int_equal(commit_limited(s, 3 * (REC_HDR + 3)), -EFBIG);
    assert_int_equal(sd_spool_unstage(s, NULL, NULL), 1);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sd_spool_append_at(s, 4, 1, "id", "four", 4), 0);
        assert_int_equal(commit_limited(s, 10), -EFBIG);
        assert_int_equal(sd_spool_unstage(s, NULL, NULL), 1);
        assert_int_equal(count_segs(dir, NULL), 2);
    }
    assert_int_equal(sd_spool_append_at(s, 4, 1, "id", "four", 4), 0);
    assert_int_equal(sd_spool_commit(s), 0);
    assert_true(seg_exists(dir, 1) && seg_exists(dir, 4));
    expect_next(s, 3, 4, "four");
    /* 5 and 6 were delivered without being journaled: acking past the last
     * seq uses them up. */
    assert_int_equal(sd_spool_ack(s, 6), 0);
    assert_int_equal(sd_spool_last_seq(s), 6);
    assert_false(seg_exists(dir, 1));
    assert_int_equal(sd_spool_append_at(s, 5, 1, "id", "late", 4), -EINVAL);
    assert_int_equal(sd_spool_append_at(s, 7, 1, "id", "seven", 5), 0);
    expect_next(s, 6, 7, "seven");
    sd_spool_close(s);
}

static void test_the_ack_file_is_written_on_open(void **state) {
    const char *dir = *state;
    spool *s = open_dir(dir);
    char p[600];
    snprintf(p, sizeof p, "%s/ack", dir);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 16); /* later acks rewrite it in place: no new blocks on a full disk */
    sd_spool_close(s);
}

/* ---- a real full disk --------------------------------------------------------- */

static int mount_tmpfs(void **state) {
    if (setup_dir(state) != 0) return -1;
    if (geteuid() != 0) return 0;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=256k tmpfs '%s' 2>/dev/null", (char *)*state);
    if (system(cmd) == 0) setenv("SECDET_TEST_TMPFS", *state, 1); /* mounted: umount_tmpfs undoes it */
    return 0;
}

static int umount_tmpfs(void **state) {
    const char *m = getenv("SECDET_TEST_TMPFS");
    if (m && strcmp(m, *state) == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "umount '%s'", m);
        if (system(cmd) != 0) return -1;
        unsetenv("SECDET_TEST_TMPFS");
    }
    return teardown_dir(state);
}

static void test_a_full_tmpfs_is_freed_by_acking(void **state) {
    const char *dir = *state;
    const char *m = getenv("SECDET_TEST_TMPFS");
    if (!m || strcmp(m, dir) != 0) {
        print_message("skipped: mounting a tmpfs needs root and mount(8) (CI runs as root)\n");
        skip();
    }
    char spdir[600];
    snprintf(spdir, sizeof spdir, "%s/spool", dir);
    spool *s = open_dir(spdir);
    char rec[1000];
    memset(rec, 'r', sizeof rec);
    uint64_t seq = 0;
    int rc = 0;
    while (rc == 0 && seq < 1000) {
        assert_int_equal(sd_spool_append_at(s, ++seq, 1, "id", rec, sizeof rec), 0);
        rc = sd_spool_commit(s);
    }
    assert_int_equal(rc, -ENOSPC);
    uint64_t full = seq - 1; /* records on disk */
    assert_true(full > 100);
    assert_int_equal(sd_spool_unstage(s, NULL, NULL), 1);

    /* Half delivered: segments roll at a quarter of the filesystem, so the
     * wholly delivered ones go and the spool takes more. */
    int before = count_segs(spdir, NULL);
    assert_true(before >= 3);
    assert_int_equal(sd_spool_ack(s, full / 2), 0);
    assert_true(count_segs(spdir, NULL) < before);
    assert_int_equal(sd_spool_append_at(s, seq, 1, "id", rec, sizeof rec), 0);
    assert_int_equal(sd_spool_commit(s), 0);
    /* All delivered: the closed segment goes, the disk is free. */
    assert_int_equal(sd_spool_ack(s, full), 0);
    struct statvfs v;
    assert_int_equal(statvfs(dir, &v), 0);
    assert_true(v.f_bavail * v.f_frsize >= 200 * 1024);

    /* A sink that keeps up: each record acked once written. When the disk
     * fills, the write segment is all acked and is replaced: no failure. */
    for (int i = 0; i < 3 * (int)full; i++) {
        assert_int_equal(sd_spool_append_at(s, ++seq, 1, "id", rec, sizeof rec), 0);
        if ((rc = sd_spool_commit(s)) != 0) fail_msg("commit %d: %d", i, rc);
        assert_int_equal(sd_spool_ack(s, seq), 0);
    }
    assert_int_equal(count_segs(spdir, NULL), 1);
    sd_spool_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unstage_hands_back_what_a_failed_commit_staged, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_a_closed_segment_goes_once_acked_even_alone, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_an_empty_closed_segment_is_taken_again_and_acks_pass_the_last, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_the_ack_file_is_written_on_open, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_a_full_tmpfs_is_freed_by_acking, mount_tmpfs, umount_tmpfs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
