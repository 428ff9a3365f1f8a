/* test_scan_file.c — secdet_scan_file (include/secdet.h; src/engine/scan_jobs.c,
 * scan_split.c) through the public API: its status codes, when it does not
 * split and why, malformed lines numbered in the whole file, a log type
 * defined on the engine reaching the split engines, and the counters. The
 * alerts of -j N against -j 1 over the packs and stateful rules are
 * compared by tests/cli/test_scan_jobs*.py and the bindings' tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secdet.h"

typedef struct seen {
    unsigned long alerts;
    unsigned long malformed;
    uint64_t where[8];
} seen;

static void on_alert(void *user, const secdet_alert *a) {
    (void)a;
    ((seen *)user)->alerts++;
}

static void on_error(void *user, const char *source, uint64_t where, const char *message) {
    (void)source;
    (void)message;
    seen *s = user;
    if (s->malformed < 8) s->where[s->malformed] = where;
    s->malformed++;
}

/* n lines, ~100 bytes each; every 100th a login of kind "idp-login" (a
 * custom log type's shape); lines bad[] are malformed. */
static void write_lines(const char *path, int n, const int *bad, size_t nbad) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < n; i++) {
        int broken = 0;
        for (size_t k = 0; k < nbad; k++) broken |= bad[k] == i + 1;
        if (broken) {
            fprintf(f, "{\"evt\": \"broken\n");
        } else {
            fprintf(f, "{\"ts\": \"2024-03-01T00:00:00Z\", \"evt\": \"%s\", \"who\": \"u%d\", \"pad\": \"%060d\"}\n",
                    i % 100 ? "other" : "login", i % 7, i);
        }
    }
    fclose(f);
}

static secdet_engine *engine(seen *s) {
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    static const char lt[] = "{\"name\": \"idp\", \"detect\": [{\"exists\": [\".evt\", \".ts\"]}],"
                             " \"fields\": {\"time\": \".ts\", \"user\": \".who\"}}";
    assert_int_equal(secdet_log_type_define(e, lt, strlen(lt), NULL), SECDET_OK);
    static const char rules[] = "rule login { on idp where .evt == \"login\" output \"{@user}\" }\n";
    assert_int_equal(secdet_load_rules_string(e, "t", rules, strlen(rules), NULL), SECDET_OK);
    secdet_source_opts so = {.format = SECDET_FMT_AUTO, .log_type = "auto"};
    assert_int_equal(secdet_source_add(e, "in", &so), SECDET_OK);
    secdet_set_alert_callback(e, on_alert, s);
    secdet_set_error_callback(e, on_error, s);
    return e;
}

static void splits_and_numbers_malformed_lines_in_the_whole_file(void **state) {
    (void)state;
    char path[] = "/tmp/secdet-scan-file-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const int bad[] = {3, 29000, 39999};
    write_lines(path, 40000, bad, 3); /* ~4.5 MiB */
    for (unsigned jobs = 1; jobs <= 4; jobs += 3) {
        seen s = {0};
        secdet_engine *e = engine(&s);
        secdet_scan_info info;
        assert_int_equal(secdet_scan_file(e, "in", path, jobs, &info), SECDET_ERR_DECODE);
        assert_int_equal(info.jobs, jobs);
        assert_null(info.not_split);
        assert_int_equal(s.alerts, 400); /* the custom log type reached every engine */
        assert_int_equal(s.malformed, 3);
        uint64_t w[3] = {s.where[0], s.where[1], s.where[2]};
        for (int i = 0; i < 3; i++) /* any order */
            assert_true(w[i] == 3 || w[i] == 29000 || w[i] == 39999);
        assert_true(w[0] != w[1] && w[1] != w[2] && w[0] != w[2]);
        secdet_stats st;
        assert_int_equal(secdet_stats_get(e, &st), SECDET_OK);
        assert_int_equal(st.events, 40000 - 3);
        assert_int_equal(st.malformed, 3);
        assert_int_equal(st.alerts, 400);
        secdet_engine_free(e);
    }
    unlink(path);
}

static void says_why_it_does_not_split(void **state) {
    (void)state;
    char path[] = "/tmp/secdet-scan-file-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_lines(path, 1000, NULL, 0); /* ~110 kB: too small */
    seen s = {0};
    secdet_engine *e = engine(&s);
    secdet_scan_info info;
    assert_int_equal(secdet_scan_file(e, "in", path, 2, &info), SECDET_OK);
    assert_int_equal(info.jobs, 1);
    assert_non_null(info.not_split);
    assert_int_equal(s.alerts, 10);
    assert_int_equal(secdet_scan_file(e, "in", path, 1, &info), SECDET_OK); /* jobs 1: no reason to give */
    assert_null(info.not_split);
    assert_int_equal(secdet_scan_file(e, "nope", path, 2, NULL), SECDET_ERR_UNKNOWN_SOURCE);
    errno = 0;
    assert_int_equal(secdet_scan_file(e, "in", "/nonexistent/secdet", 2, NULL), SECDET_ERR_IO);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(secdet_scan_file(NULL, "in", path, 2, NULL), SECDET_ERR_INVALID_ARG);
    secdet_engine_free(e);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_and_numbers_malformed_lines_in_the_whole_file),
        cmocka_unit_test(says_why_it_does_not_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
