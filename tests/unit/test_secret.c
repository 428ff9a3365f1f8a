/* test_secret.c — secret references ({"env": NAME}, {"file": PATH}):
 * util/secret.c's reader (newline stripping, empty, NUL, size, FIFOs and
 * directories, permission warnings), secdet_sink_from_json reading them
 * for the type's keys, headers and properties (and refusing them for the
 * keys every sink takes), messages that name keys and never values, and
 * a running sink taking a new configuration (sd_sink_reconfigure) without
 * losing its place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secdet.h"
#include "engine/outer.h"
#include "sink/sink_int.h"
#include "sink/sink_secrets.h"
#include "util/secret.h"
#include "util/limits.h"

static const char *RULES = "rule every {\n"
                           "    meta { severity = high }\n"
                           "    on jsonl\n"
                           "    where .kind == \"e\"\n"
                           "}\n";

static char dir[64];

static int setup(void **state) {
    snprintf(dir, sizeof dir, "/tmp/secdet-secret-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* dir/name with `len` bytes of data and the given mode; returns the path (static buffer). */
static const char *put(const char *name, const char *data, size_t len, mode_t mode) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/* sd_secret_read on the JSON text ref: 0 and *out, or -1 and err. */
static int read_ref(const char *ref, char **out, char *err, char *warn) {
    cJSON *v = cJSON_Parse(ref);
    assert_non_null(v);
    int rc = sd_secret_read(v, out, err, 300, warn, 300);
    cJSON_Delete(v);
    return rc;
}

static void file_ref(char *json, size_t n, const char *path) { snprintf(json, n, "{\"file\":\"%s\"}", path); }

static void test_env(void **state) {
    char *v = NULL, err[300], warn[300];
    setenv("SECDET_UT_A", "value-a", 1);
    setenv("SECDET_UT_EMPTY", "", 1);
    unsetenv("SECDET_UT_UNSET");
    assert_int_equal(read_ref("{\"env\":\"SECDET_UT_A\"}", &v, err, warn), 0);
    assert_string_equal(v, "value-a");
    assert_string_equal(warn, "");
    sd_secret_free(v);
    assert_int_equal(read_ref("{\"env\":\"SECDET_UT_UNSET\"}", &v, err, warn), -1);
    assert_null(v);
    assert_string_equal(err, "environment variable SECDET_UT_UNSET is not set");
    assert_int_equal(read_ref("{\"env\":\"SECDET_UT_EMPTY\"}", &v, err, warn), -1);
    assert_string_equal(err, "environment variable SECDET_UT_EMPTY is empty");
    assert_int_equal(read_ref("{\"env\":\"\"}", &v, err, warn), -1);
    assert_string_equal(err, "env: expected the name of an environment variable");
    assert_int_equal(read_ref("{\"env\":\"A=B\"}", &v, err, warn), -1);
    assert_int_equal(read_ref("{\"env\":true}", &v, err, warn), -1);
    /* A plain string is its own value; other shapes are refused. */
    assert_int_equal(read_ref("\"plain\"", &v, err, warn), 0);
    assert_string_equal(v, "plain");
    sd_secret_free(v);
    const char *shapes[] = {"{\"env\":\"SECDET_UT_A\",\"file\":\"x\"}", "{\"path\":\"x\"}", "{}", "7", "null"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        assert_int_equal(read_ref(shapes[i], &v, err, warn), -1);
        assert_string_equal(err, "expected a string, {\"env\": NAME} or {\"file\": PATH}");
    }
}

static void test_file_contents(void **state) {
    char *v = NULL, err[300], warn[300], ref[300];
    const struct {
        const char *data;
        size_t len;
        const char *want; /* NULL: refused with `why` */
        const char *why;
    } cases[] = {
        {"s3cr3t", 6, "s3cr3t", NULL},
        {"s3cr3t\n", 7, "s3cr3t", NULL},
        {"s3cr3t\r\n", 8, "s3cr3t", NULL},
        {"s3cr3t\n\n", 8, "s3cr3t\n", NULL}, /* one newline only */
        {"s3cr3t\r", 7, "s3cr3t\r", NULL},   /* a CR alone is content */
        {" spaced \n", 9, " spaced ", NULL},
        {"", 0, NULL, " is empty"},
        {"\n", 1, NULL, " is empty"},
        {"\r\n", 2, NULL, " is empty"},
        {"ab\0cd\n", 6, NULL, " holds a NUL byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = put("s", cases[i].data, cases[i].len, 0600);
        file_ref(ref, sizeof ref, path);
        int rc = read_ref(ref, &v, err, warn);
        if (cases[i].want) {
            assert_int_equal(rc, 0);
            assert_string_equal(v, cases[i].want);
            sd_secret_free(v);
        } else {
            assert_int_equal(rc, -1);
            assert_null(v);
            char want[300];
            snprintf(want, sizeof want, "%s%s", path, cases[i].why);
            assert_string_equal(err, want);
        }
    }
}

static void test_file_kinds_and_sizes(void **state) {
    char *v = NULL, err[300], warn[300], ref[300], path[256], want[400];
    /* 64 KiB on disk is the most (a newline counts). */
    char *big = malloc(LIMIT_SECRET_FILE_BYTES + 2);
    assert_non_null(big);
    memset(big, 'k', LIMIT_SECRET_FILE_BYTES + 2);
    big[LIMIT_SECRET_FILE_BYTES] = '\n';
    file_ref(ref, sizeof ref, put("max", big, LIMIT_SECRET_FILE_BYTES + 1, 0600));
    assert_int_equal(read_ref(ref, &v, err, warn), -1); /* 65537 bytes on disk */
    file_ref(ref, sizeof ref, put("max", big, LIMIT_SECRET_FILE_BYTES, 0600));
    assert_int_equal(read_ref(ref, &v, err, warn), 0);
    assert_int_equal(strlen(v), LIMIT_SECRET_FILE_BYTES);
    sd_secret_free(v);
    file_ref(ref, sizeof ref, put("big", big, LIMIT_SECRET_FILE_BYTES + 2, 0600));
    assert_int_equal(read_ref(ref, &v, err, warn), -1);
    assert_non_null(strstr(err, "is larger than 64 KiB"));
    free(big);

    snprintf(path, sizeof path, "%s/missing", dir);
    file_ref(ref, sizeof ref, path);
    assert_int_equal(read_ref(ref, &v, err, warn), -1);
    snprintf(want, sizeof want, "cannot read %s: No such file or directory", path);
    assert_string_equal(err, want);
    /* A directory, and a FIFO nobody writes to: refused at once, not waited on. */
    file_ref(ref, sizeof ref, dir);
    assert_int_equal(read_ref(ref, &v, err, warn), -1);
    snprintf(want, sizeof want, "%s is not a regular file", dir);
    assert_string_equal(err, want);
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    file_ref(ref, sizeof ref, path);
    assert_int_equal(read_ref(ref, &v, err, warn), -1);
    assert_non_null(strstr(err, "is not a regular file"));
    /* Through a symlink, as Kubernetes mounts them. */
    const char *target = put("target", "linked\n", 7, 0600);
    snprintf(path, sizeof path, "%s/link", dir);
    assert_int_equal(symlink(target, path), 0);
    file_ref(ref, sizeof ref, path);
    assert_int_equal(read_ref(ref, &v, err, warn), 0);
    assert_string_equal(v, "linked");
    sd_secret_free(v);
    assert_int_equal(read_ref("{\"file\":\"\"}", &v, err, warn), -1);
    assert_string_equal(err, "file: expected a path");
}

static void test_file_permissions_warn(void **state) {
    char *v = NULL, err[300], warn[300], ref[300], want[400];
    const struct {
        mode_t mode;
        const char *what; /* NULL: no warning */
    } cases[] = {{0600, NULL},       {0400, NULL},       {0640, NULL},       {0660, NULL},
                 {0644, "readable"}, {0604, "readable"}, {0602, "writable"}, {0666, "readable and writable"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = put("p", "x\n", 2, cases[i].mode);
        file_ref(ref, sizeof ref, path);
        assert_int_equal(read_ref(ref, &v, err, warn), 0); /* used all the same */
        assert_string_equal(v, "x");
        sd_secret_free(v);
        if (!cases[i].what) {
            assert_string_equal(warn, "");
            continue;
        }
        snprintf(want, sizeof want, "%s is %s by every user (mode %04o); chmod o-rw it", path, cases[i].what,
                 (unsigned)cases[i].mode);
        assert_string_equal(warn, want);
    }
}

/* ---- secdet_sink_from_json ---------------------------------------------------------- */

/* The first diagnostic's message (or "" when none), into msg. */
static secdet_status from_json(const char *json, secdet_sink **s, char *msg, size_t n, size_t *warnings) {
    secdet_diagnostics *d = NULL;
    secdet_status st = secdet_sink_from_json(json, strlen(json), s, &d);
    secdet_diagnostic g;
    snprintf(msg, n, "%s",
             secdet_diagnostics_count(d) && secdet_diagnostics_get(d, 0, &g) == SECDET_OK ? g.message : "");
    if (warnings) *warnings = secdet_diagnostics_count(d) - secdet_diagnostics_errors(d);
    secdet_diagnostics_free(d);
    return st;
}

static void test_sink_keys_take_references(void **state) {
    char json[1024], msg[400];
    secdet_sink *s = NULL;
    size_t warnings = 0;
    setenv("SECDET_UT_URL", "https://hooks.example.com/T0/B0/url-secret", 1);
    setenv("SECDET_UT_TOKEN", "Bearer header-secret", 1);
    const char *sec = put("hook.secret", "whsec_aGVsbG8gd29ybGQ=\n", 23, 0644);
    snprintf(json, sizeof json,
             "{\"type\":\"webhook\",\"name\":\"h\",\"url\":{\"env\":\"SECDET_UT_URL\"},\"secret\":{\"file\":\"%s\"},"
             "\"headers\":{\"Authorization\":{\"env\":\"SECDET_UT_TOKEN\"},\"env\":\"prod\",\"file\":\"x\"}}",
             sec);
    assert_int_equal(from_json(json, &s, msg, sizeof msg, &warnings), SECDET_OK);
    /* The 0644 secret file: the sink is made, with a warning that names key and file. */
    assert_int_equal(warnings, 1);
    char want[400];
    snprintf(want, sizeof want, "sink 'h': secret: %s is readable by every user (mode 0644); chmod o-rw it", sec);
    assert_string_equal(msg, want);
    assert_true(s->has_conf_digest);
    secdet_sink_free(s);

    /* Slack's, syslog's and kafka's string keys too; kafka's properties. */
    setenv("SECDET_UT_PW", "kafka-password-secret", 1);
    const char *ok[] = {
        "{\"type\":\"slack\",\"url\":{\"env\":\"SECDET_UT_URL\"},\"channel\":{\"env\":\"SECDET_UT_PW\"}}",
        "{\"type\":\"syslog\",\"host\":{\"env\":\"SECDET_UT_HOSTNAME\"},\"transport\":\"udp\"}",
        "{\"type\":\"kafka\",\"brokers\":\"127.0.0.1:1\",\"topic\":\"t\",\"properties\":{\"security.protocol\":"
        "\"SASL_PLAINTEXT\",\"sasl.mechanisms\":\"PLAIN\",\"sasl.username\":\"u\",\"sasl.password\":{\"env\":"
        "\"SECDET_UT_PW\"}}}",
    };
    setenv("SECDET_UT_HOSTNAME", "127.0.0.1", 1);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (from_json(ok[i], &s, msg, sizeof msg, NULL) != SECDET_OK) fail_msg("%s: %s", ok[i], msg);
        secdet_sink_free(s);
    }

    /* Errors name the key (and the variable or file), never a value. */
    unsetenv("SECDET_UT_UNSET");
    setenv("SECDET_UT_BAD_URL", "ftp://u:url-secret@example.com/", 1);
    const char *bad[][2] = {
        {"{\"type\":\"webhook\",\"url\":{\"env\":\"SECDET_UT_UNSET\"}}",
         "sink 'webhook': url: environment variable SECDET_UT_UNSET is not set"},
        {"{\"type\":\"webhook\",\"url\":{\"env\":\"SECDET_UT_BAD_URL\"}}",
         "sink 'webhook': url: must start with http:// or https://"},
        {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"headers\":{\"X-A\":{\"env\":\"SECDET_UT_UNSET\"}}}",
         "sink 'webhook': headers.X-A: environment variable SECDET_UT_UNSET is not set"},
        {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"headers\":{\"X A\":{\"env\":\"SECDET_UT_UNSET\"}}}",
         "sink 'webhook': headers[0]: environment variable SECDET_UT_UNSET is not set"},
        {"{\"type\":\"kafka\",\"brokers\":\"127.0.0.1:1\",\"topic\":\"t\",\"properties\":{\"acks\":{\"env\":"
         "\"SECDET_UT_PW\"}}}",
         "sink 'kafka': properties.acks: Invalid value for configuration property \"request.required.acks\""},
        {"{\"type\":\"kafka\",\"brokers\":\"127.0.0.1:1\",\"topic\":\"t\",\"properties\":{\"sasl.password\":{\"env\":"
         "\"SECDET_UT_UNSET\"}}}",
         "sink 'kafka': properties.sasl.password: environment variable SECDET_UT_UNSET is not set"},
        {"{\"type\":\"webhook\",\"url\":{\"env\":\"SECDET_UT_URL\",\"x\":1}}",
         "sink 'webhook': url: expected a string, {\"env\": NAME} or {\"file\": PATH}"},
        /* The keys every sink takes, type and name: written out. */
        {"{\"type\":{\"env\":\"SECDET_UT_URL\"}}", "sink '?': type: must be written out"},
        {"{\"type\":\"stdout\",\"name\":{\"env\":\"SECDET_UT_PW\"}}", "sink 'stdout': name: must be written out"},
        {"{\"type\":\"stdout\",\"spool_dir\":{\"file\":\"/x\"}}", "sink 'stdout': spool_dir: must be written out"},
        {"{\"type\":\"stdout\",\"min_severity\":{\"env\":\"SECDET_UT_PW\"}}",
         "sink 'stdout': min_severity: must be written out"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(from_json(bad[i][0], &s, msg, sizeof msg, NULL), SECDET_ERR_INVALID_ARG);
        if (strncmp(msg, bad[i][1], strlen(bad[i][1])) != 0) fail_msg("%s: got '%s'", bad[i][0], msg);
        assert_null(strstr(msg, "url-secret"));
        assert_null(strstr(msg, "kafka-password-secret"));
    }
}

/* The digest follows the values read, not the text: a rotated secret changes it. */
static void test_digest_follows_the_values(void **state) {
    const char *json = "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:1/\",\"secret\":{\"env\":\"SECDET_UT_S\"}}";
    secdet_sink *a = NULL, *b = NULL, *c = NULL;
    char msg[300];
    setenv("SECDET_UT_S", "whsec_b25l", 1);
    assert_int_equal(from_json(json, &a, msg, sizeof msg, NULL), SECDET_OK);
    assert_int_equal(from_json(json, &b, msg, sizeof msg, NULL), SECDET_OK);
    setenv("SECDET_UT_S", "whsec_dHdv", 1);
    assert_int_equal(from_json(json, &c, msg, sizeof msg, NULL), SECDET_OK);
    assert_memory_equal(a->conf_digest, b->conf_digest, sizeof a->conf_digest);
    assert_memory_not_equal(a->conf_digest, c->conf_digest, sizeof a->conf_digest);
    secdet_sink_free(a);
    secdet_sink_free(b);
    secdet_sink_free(c);
}

/* ---- sd_sink_reconfigure on a running engine ---------------------------------------------- */

static size_t lines_in(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF) n += ch == '\n';
    fclose(f);
    return n;
}

static void push_n(secdet_engine *e, int from, int to) {
    char line[64];
    for (int i = from; i <= to; i++) {
        int n = snprintf(line, sizeof line, "{\"kind\":\"e\",\"n\":%d}\n", i);
        assert_int_equal(secdet_push(e, "jsonl", line, (size_t)n), SECDET_OK);
    }
}

static secdet_sink *file_sink(const char *json) {
    secdet_sink *s = NULL;
    char msg[300];
    if (from_json(json, &s, msg, sizeof msg, NULL) != SECDET_OK) fail_msg("%s", msg);
    return s;
}

static void test_reconfigure_a_running_sink(void **state) {
    char a[256], b[256], spool[256], json[512];
    snprintf(a, sizeof a, "%s/a.jsonl", dir);
    snprintf(b, sizeof b, "%s/b.jsonl", dir);
    snprintf(spool, sizeof spool, "%s/spool", dir);
    snprintf(json, sizeof json,
             "{\"type\":\"file\",\"name\":\"f\",\"path\":{\"env\":\"SECDET_UT_OUT\"},\"spool_dir\":\"%s\"}", spool);
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    assert_int_equal(secdet_load_rules_string(e, "t.secdet", RULES, strlen(RULES), NULL), SECDET_OK);
    assert_int_equal(secdet_source_add(e, "jsonl", &(secdet_source_opts){.format = SECDET_FMT_JSONL}), SECDET_OK);
    setenv("SECDET_UT_OUT", a, 1);
    assert_int_equal(secdet_sink_add(e, file_sink(json)), SECDET_OK);
    push_n(e, 1, 3);
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);

    bool changed = true;
    assert_int_equal(sd_engine_sink_reconfigure(e, 0, file_sink(json), &changed), SECDET_OK);
    assert_false(changed); /* nothing read differs */
    setenv("SECDET_UT_OUT", b, 1);
    assert_int_equal(sd_engine_sink_reconfigure(e, 0, file_sink(json), &changed), SECDET_OK);
    assert_true(changed);
    push_n(e, 4, 8);
    assert_int_equal(secdet_drain(e, 10000), SECDET_OK);
    assert_int_equal(lines_in(a), 3);
    assert_int_equal(lines_in(b), 5);
    secdet_sink_stats st;
    assert_int_equal(secdet_sink_stats_get(e, 0, &st), SECDET_OK);
    assert_int_equal(st.accepted, 8); /* the same sink: counters go on */
    assert_int_equal(st.delivered, 8);
    assert_string_equal(secdet_sink_name(e, 0), "f");

    /* Not the same type, a sink not from JSON, an index out of range. */
    secdet_sink *other = NULL;
    assert_int_equal(secdet_sink_stdout(NULL, &other), SECDET_OK);
    assert_int_equal(sd_engine_sink_reconfigure(e, 0, other, &changed), SECDET_ERR_INVALID_ARG);
    assert_int_equal(sd_engine_sink_reconfigure(e, 0, file_sink("{\"type\":\"stdout\"}"), &changed),
                     SECDET_ERR_INVALID_ARG);
    assert_int_equal(sd_engine_sink_reconfigure(e, 1, file_sink(json), &changed), SECDET_ERR_INVALID_ARG);
    assert_false(changed);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_file_contents),
        cmocka_unit_test(test_file_kinds_and_sizes),
        cmocka_unit_test(test_file_permissions_warn),
        cmocka_unit_test(test_sink_keys_take_references),
        cmocka_unit_test(test_digest_follows_the_values),
        cmocka_unit_test(test_reconfigure_a_running_sink),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
