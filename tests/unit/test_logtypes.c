/* test_logtypes.c — the built-in log types on the real events of
 * ../shared/data (every file of guardduty/, gcp-audit/, gworkspace/, okta/,
 * edr/crowdstrike_* and the scenarios): each event that has its vendor's
 * time field (in the vendor's spelling: Panther's fixtures also hold events
 * with lower-cased keys, which are not real) is recognised by its shape
 * through a source of log type "auto" and has that time, read here by the
 * test itself; and the log types as data: secdet_log_type_json gives back
 * what secdet_log_type_define changed. The data is $SECDET_SHARED, else
 * ../shared beside the checkout; the data tests are skipped without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secdet.h"

typedef struct lt_case {
    const char *file;     /* under data/; a trailing '*' takes every .jsonl file of that prefix */
    const char *type;     /* the log type expected */
    const char *must[3];  /* top-level keys a real event of the type has (NULL-ended) */
    const char *times[3]; /* the time fields, dotted paths, the first present wins (NULL-ended) */
} lt_case;

static const lt_case cases[] = {
    {"guardduty/panther/aws_guardduty.jsonl", "guardduty", {"schemaVersion"}, {"updatedAt"}},
    {"guardduty/aws-samples/guardduty_findings.jsonl", "guardduty", {"schemaVersion"}, {"updatedAt"}},
    {"gcp-audit/panther/gcp_auditlog.jsonl", "gcp-audit", {"protoPayload"}, {"timestamp", "receiveTimestamp"}},
    {"gcp-audit/plaso/gcp_logging.jsonl", "gcp-audit", {"protoPayload"}, {"timestamp", "receiveTimestamp"}},
    {"gworkspace/panther/gsuite_activityevent.jsonl", "gworkspace", {"actor"}, {"id.time"}},
    {"okta/panther/okta_systemlog.jsonl", "okta", {"eventType", "actor"}, {"published"}},
    {"edr/panther/crowdstrike_*",
     "crowdstrike",
     {NULL},
     {"timestamp", "event.timestamp", "metadata.eventCreationTime"}},
    {"scenarios/panther/compromised-root-creds/*okta*", "okta", {"eventType"}, {"published"}},
    {"scenarios/panther/compromised-root-creds/*cloudtrail*", "cloudtrail", {"eventName"}, {"eventTime"}},
    {"scenarios/panther/enrichment-example/*", "cloudtrail", {"eventName"}, {"eventTime"}},
    {"scenarios/panther/okta-add-administrator/*", "okta", {"eventType"}, {"published"}},
    {"scenarios/panther/gsuite-sensitive-files/*", "gworkspace", {"kind"}, {"id.time"}},
};

static char data_dir[1024];

static int have_data(void) {
    const char *env = getenv("SECDET_SHARED");
    snprintf(data_dir, sizeof data_dir, "%s/data", env ? env : SECDET_SOURCE_DIR "/../shared");
    DIR *d = opendir(data_dir);
    if (d) closedir(d);
    return d != NULL;
}

static const cJSON *at(const cJSON *o, const char *dotted) {
    char part[128];
    while (o && *dotted) {
        size_t n = strcspn(dotted, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, dotted);
        o = cJSON_GetObjectItemCaseSensitive(o, part);
        dotted += n + (dotted[n] == '.');
    }
    return o;
}

/* The test's own reading of a time: "YYYY-MM-DD[T ]HH:MM:SS..." (UTC unless
 * a zone follows; the data's zones are Z) or epoch s/ms; seconds. */
static int read_time(const cJSON *v, int64_t *sec) {
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        *sec = (int64_t)(d > 1e11 ? d / 1000 : d);
        return 1;
    }
    struct tm tm = {0};
    if (!cJSON_IsString(v)) return 0;
    if (sscanf(v->valuestring, "%4d-%2d-%2d%*c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6) {
        char *end;
        long long n = strtoll(v->valuestring, &end, 10);
        if (*end || end == v->valuestring) return 0;
        *sec = n > 100000000000LL ? n / 1000 : n;
        return 1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *sec = (int64_t)timegm(&tm);
    return 1;
}

/* Checks one file; returns the number of real events seen in it. */
static size_t check_file(secdet_engine *e, const lt_case *c, const char *path) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0, lineno = 0, real = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        cJSON *o = cJSON_Parse(line);
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            continue;
        }
        int is_real = 1;
        for (int k = 0; k < 3 && c->must[k]; k++) is_real &= cJSON_GetObjectItemCaseSensitive(o, c->must[k]) != NULL;
        const cJSON *tv = NULL;
        for (int k = 0; k < 3 && c->times[k] && !tv; k++) tv = at(o, c->times[k]);
        int64_t want;
        if (is_real && tv && read_time(tv, &want)) {
            real++;
            secdet_event_info info;
            assert_int_equal(secdet_event_inspect(e, "any", line, (size_t)n, &info), SECDET_OK);
            if (strcmp(info.log_type, c->type) != 0 || !info.has_time || info.time_ns / 1000000000 != want)
                fail_msg("%s:%zu: log type %s (want %s), time %s %lld (want %lld)", path, lineno, info.log_type,
                         c->type, info.has_time ? "read" : "unread", (long long)(info.time_ns / 1000000000),
                         (long long)want);
            assert_string_equal(info.source, c->type); /* "auto" routes it to the source of its log type */
        }
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    return real;
}

static int name_matches(const char *name, const char *pat) {
    size_t n = strlen(name);
    if (n < 6 || strcmp(name + n - 6, ".jsonl") != 0 || strstr(name, ".tests.")) return 0;
    if (strcmp(pat, "*") == 0) return 1;
    char inner[64];
    snprintf(inner, sizeof inner, "%s", pat[0] == '*' ? pat + 1 : pat);
    char *star = strchr(inner, '*');
    if (star) *star = '\0';
    return pat[0] == '*' ? strstr(name, inner) != NULL : strncmp(name, inner, strlen(inner)) == 0;
}

static void test_builtin_log_types_on_the_shared_data(void **st) {
    (void)st;
    if (!have_data()) skip();
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    secdet_source_opts o = {.format = SECDET_FMT_AUTO, .log_type = "auto"};
    assert_int_equal(secdet_source_add(e, "any", &o), SECDET_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const lt_case *c = &cases[i];
        char path[2048];
        size_t real = 0;
        const char *star = strchr(c->file, '*');
        if (!star) {
            snprintf(path, sizeof path, "%s/%s", data_dir, c->file);
            real = check_file(e, c, path);
        } else {
            const char *slash = strrchr(c->file, '/');
            char dir[1024];
            size_t dl = strlen(data_dir), fl = (size_t)(slash - c->file);
            assert_true(dl + 1 + fl < sizeof dir);
            memcpy(dir, data_dir, dl);
            dir[dl] = '/';
            memcpy(dir + dl + 1, c->file, fl);
            dir[dl + 1 + fl] = '\0';
            DIR *d = opendir(dir);
            assert_non_null(d);
            for (struct dirent *de; (de = readdir(d));) {
                if (!name_matches(de->d_name, slash + 1)) continue;
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                real += check_file(e, c, path);
            }
            closedir(d);
        }
        if (real == 0) fail_msg("%s: no event of %s with its time", c->file, c->type);
    }
    secdet_engine_free(e);
}

/* A zone-less time is UTC, epoch ms and s as numbers or digits. */
static void test_time_formats(void **st) {
    (void)st;
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    static const char *const events[] = {
        "{\"eventType\":\"x\",\"actor\":{},\"published\":\"2022-03-22 14:21:53.225\"}",
        "{\"eventType\":\"x\",\"actor\":{},\"published\":\"2022-03-22T14:21:53.225Z\"}",
        "{\"eventType\":\"x\",\"actor\":{},\"published\":\"2022-03-22T16:21:53.225+02:00\"}",
        "{\"eventType\":\"x\",\"actor\":{},\"published\":1647958913225}",
        "{\"eventType\":\"x\",\"actor\":{},\"published\":\"1647958913225\"}",
    };
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        secdet_event_info info;
        assert_int_equal(secdet_event_inspect(e, "okta", events[i], strlen(events[i]), &info), SECDET_OK);
        assert_string_equal(info.log_type, "okta");
        assert_true(info.has_time);
        assert_int_equal(info.time_ns, 1647958913225000000LL);
    }
    const char sec[] = "{\"eventType\":\"x\",\"actor\":{},\"published\":1647958913}";
    secdet_event_info info;
    assert_int_equal(secdet_event_inspect(e, "okta", sec, strlen(sec), &info), SECDET_OK);
    assert_int_equal(info.time_ns, 1647958913000000000LL);
    secdet_engine_free(e);
}

/* A log type's JSON is what it is now: a definition over a built-in shows. */
static void test_log_type_json_shows_an_override(void **st) {
    (void)st;
    secdet_engine *e = NULL;
    assert_int_equal(secdet_engine_new(NULL, &e), SECDET_OK);
    char *text = NULL;
    assert_int_equal(secdet_log_type_json(e, "okta", &text), SECDET_OK);
    cJSON *o = cJSON_Parse(text);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "fields"), "time")->valuestring, ".published");
    assert_non_null(cJSON_GetObjectItem(o, "known_fields"));
    cJSON_Delete(o);
    secdet_free(text);

    const char def[] = "{\"name\": \"okta\", \"fields\": {\"time\": [\".when\", \".published\"]}}";
    assert_int_equal(secdet_log_type_define(e, def, strlen(def), NULL), SECDET_OK);
    assert_int_equal(secdet_log_type_json(e, "okta", &text), SECDET_OK);
    o = cJSON_Parse(text);
    const cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "fields"), "time");
    assert_int_equal(cJSON_GetArraySize(t), 2);
    assert_string_equal(cJSON_GetArrayItem(t, 0)->valuestring, ".when");
    /* what was not given stays */
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "fields"), "user")->valuestring,
                        ".actor.alternateId");
    cJSON_Delete(o);
    /* the JSON defines the same log type again */
    assert_int_equal(secdet_log_type_define(e, text, strlen(text), NULL), SECDET_OK);
    secdet_free(text);

    assert_int_equal(secdet_log_type_json(e, "nope", &text), SECDET_ERR_INVALID_ARG);
    assert_null(text);
    secdet_engine_free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_log_types_on_the_shared_data),
        cmocka_unit_test(test_time_formats),
        cmocka_unit_test(test_log_type_json_shows_an_override),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
