/*
 * cmd_test.c — `secdet test RULES...`: every rule pack carries its own tests.
 *
 * For each rule file X.secdet the tests are the lines of X.tests.jsonl beside
 * it. A test pushes one event, or a stream of events in order (for count,
 * distinct, sequence and throttle rules), then flushes the engine (end of
 * input: events held back for ordering are released and what is due fires),
 * and passes when the rule's alerting matches "expect" — and, when the line
 * says "expect_alerts": N, when the rule alerted exactly N times. Every test
 * runs in a fresh engine holding all the rules, so a test cannot pass or
 * fail because of another one (a throttle or a count carried over from the
 * previous test). Every rule that can alert must have a test that must fire
 * and one that must not: a rule nobody has seen fire is a rule nobody knows
 * works.
 *
 * With --coverage it also reports, per pack (the directory of a pack.json,
 * else the rule file), how many of its rules are tested both ways and which
 * are not.
 *
 * The closing line is exactly "N passed, M failed"; CI recognises it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli/cli.h"

typedef struct rule_coverage {
    char *name;
    char *source; /* its one `on` source, the default of its tests; NULL: by each event's shape */
    char *group;  /* its pack's directory, else its file: what --coverage reports by */
    int is_private;
    int has_match;
    int has_no_match;
} rule_coverage;

typedef struct test_run {
    char *const *rule_args; /* the RULES arguments, loaded into every engine */
    size_t rule_arg_count;
    int verbose;
    int coverage;
    rule_coverage *rules;
    size_t rule_count;
    unsigned long passed;
    unsigned long failed;
    int errors; /* unreadable or malformed tests: exit 2 */
} test_run;

/* What one test's engine reports back. */
typedef struct alert_probe {
    const char *rule;
    unsigned long alerts; /* alerts of the rule under test */
    char malformed[256];  /* why the event could not be decoded */
} alert_probe;

static void on_alert(void *user, const secdet_alert *alert) {
    alert_probe *probe = user;
    const char *rule = secdet_alert_rule(alert);
    if (rule != NULL && strcmp(rule, probe->rule) == 0) {
        probe->alerts++;
    }
}

static void on_malformed(void *user, const char *source, uint64_t where, const char *message) {
    (void)source;
    (void)where;
    /* Printed by run_case, which knows the test's line. */
    alert_probe *probe = user;
    snprintf(probe->malformed, sizeof probe->malformed, "%s", message ? message : "malformed event");
}

static rule_coverage *find_rule(test_run *run, const char *name) {
    for (size_t i = 0; i < run->rule_count; i++) {
        if (strcmp(run->rules[i].name, name) == 0) {
            return &run->rules[i];
        }
    }
    return NULL;
}

static void report(const test_run *run, int ok, const char *where, const cli_test_case *tc, const char *detail) {
    if (ok && !run->verbose) {
        return;
    }
    printf("%-4s  %s  %s", ok ? "ok" : "FAIL", where, tc->rule);
    if (tc->name != NULL) {
        fputs(" (", stdout);
        term_write_safe(stdout, tc->name);
        putc(')', stdout);
    }
    if (detail != NULL) {
        printf(": %s", detail);
    }
    putc('\n', stdout);
}

/* Counts the test as passed or failed from the rule's number of alerts. */
static void judge(test_run *run, const char *where, const cli_test_case *tc, const rule_coverage *rule,
                  unsigned long alerts) {
    int fired = alerts > 0;
    int ok = fired == tc->expect_match && (tc->expect_alerts < 0 || alerts == (unsigned long)tc->expect_alerts);
    if (ok) {
        run->passed++;
        report(run, 1, where, tc, NULL);
        return;
    }
    run->failed++;
    char detail[128];
    if (tc->expect_match && rule->is_private) {
        report(run, 0, where, tc, "expected it to fire, but the rule is private and never alerts");
    } else if (tc->expect_alerts >= 0) {
        snprintf(detail, sizeof detail, "expected %ld alert%s, got %lu", tc->expect_alerts,
                 tc->expect_alerts == 1 ? "" : "s", alerts);
        report(run, 0, where, tc, detail);
    } else if (tc->expect_match) {
        report(run, 0, where, tc, "expected it to fire, it did not");
    } else {
        snprintf(detail, sizeof detail, "expected it not to fire, it did (%lu alert%s)", alerts,
                 alerts == 1 ? "" : "s");
        report(run, 0, where, tc, detail);
    }
}

/* Runs one test in its own engine. */
static void run_case(test_run *run, const char *where, const cli_test_case *tc) {
    rule_coverage *rule = find_rule(run, tc->rule);
    if (rule == NULL) {
        run->failed++;
        report(run, 0, where, tc, "no rule of that name is loaded");
        return;
    }
    if (tc->expect_match) {
        rule->has_match = 1;
    } else {
        rule->has_no_match = 1;
    }

    secdet_engine *engine = NULL;
    cli_load_result loaded;
    if (secdet_engine_new(NULL, &engine) != SECDET_OK ||
        cli_load_rules(engine, run->rule_args, run->rule_arg_count, 0, &loaded) != 0) {
        fprintf(stderr, "secdet: %s: cannot load the rules for this test\n", where);
        secdet_engine_free(engine);
        run->errors = 1;
        return;
    }
    alert_probe probe = {.rule = tc->rule};
    secdet_set_alert_callback(engine, on_alert, &probe);
    secdet_set_error_callback(engine, on_malformed, &probe);
    /* The test's source, else the rule's one `on` source, else each event
     * to the source of its log type by its shape (a rule on several
     * sources, or a sequence over rules of several). */
    const char *source = tc->source ? tc->source : rule->source;
    secdet_status status = SECDET_OK;
    if (source == NULL) {
        source = "jsonl";
        status =
            secdet_source_add(engine, source, &(secdet_source_opts){.format = SECDET_FMT_JSONL, .log_type = "auto"});
    }
    size_t failed_at = 0;
    for (size_t i = 0; i < tc->event_count && status == SECDET_OK; i++) {
        status = secdet_push_event(engine, source, tc->events[i].json, tc->events[i].len);
        failed_at = i;
    }
    int flush_failed = 0;
    if (status == SECDET_OK) {
        /* End of the stream: what the engine held back for ordering fires now. */
        status = secdet_flush(engine);
        flush_failed = status != SECDET_OK;
    }
    secdet_engine_free(engine);
    if (status != SECDET_OK) {
        if (flush_failed) {
            fprintf(stderr, "%s: the end of the stream could not be processed: %s\n", where,
                    probe.malformed[0] ? probe.malformed : secdet_strerror(status));
        } else if (tc->event_count > 1) {
            fprintf(stderr, "%s: event %zu of the stream could not be evaluated: %s\n", where, failed_at + 1,
                    probe.malformed[0] ? probe.malformed : secdet_strerror(status));
        } else {
            fprintf(stderr, "%s: the event could not be evaluated: %s\n", where,
                    probe.malformed[0] ? probe.malformed : secdet_strerror(status));
        }
        run->errors = 1;
        return;
    }
    judge(run, where, tc, rule, probe.alerts);
}

/* X.secdet -> X.tests.jsonl (any other name: NAME.tests.jsonl). */
static char *tests_path_for(const char *rule_file) {
    static const char ext[] = ".secdet";
    static const char tests_ext[] = ".tests.jsonl";
    size_t len = strlen(rule_file);
    size_t ext_len = sizeof ext - 1;
    if (len > ext_len && strcmp(rule_file + len - ext_len, ext) == 0) {
        len -= ext_len;
    }
    char *path = malloc(len + sizeof tests_ext);
    if (path != NULL) {
        memcpy(path, rule_file, len);
        memcpy(path + len, tests_ext, sizeof tests_ext);
    }
    return path;
}

static int is_blank(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            return 0;
        }
    }
    return 1;
}

static void run_tests_file(test_run *run, const char *rule_file) {
    char *path = tests_path_for(rule_file);
    if (path == NULL) {
        fprintf(stderr, "secdet: out of memory\n");
        run->errors = 1;
        return;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT) {
            fprintf(stderr, "note: %s has no tests (%s not found)\n", rule_file, path);
        } else {
            fprintf(stderr, "secdet: %s: %s\n", path, strerror(errno));
            run->errors = 1;
        }
        free(path);
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    size_t where_cap = strlen(path) + 32;
    char *where = malloc(where_cap);
    while (where != NULL && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (is_blank(line, (size_t)len)) {
            continue;
        }
        snprintf(where, where_cap, "%s:%lu", path, lineno);
        cli_test_case tc;
        char err[200];
        if (cli_test_parse(line, (size_t)len, &tc, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", where, err);
            run->errors = 1;
            continue;
        }
        run_case(run, where, &tc);
        cli_test_case_free(&tc);
    }
    if (where == NULL || ferror(f)) {
        fprintf(stderr, "secdet: %s: %s\n", path, where ? "read error" : "out of memory");
        run->errors = 1;
    }
    free(where);
    free(line);
    fclose(f);
    free(path);
}

/* Rules that can alert but were never tested both ways fail. */
static void check_coverage(test_run *run) {
    for (size_t i = 0; i < run->rule_count; i++) {
        const rule_coverage *r = &run->rules[i];
        if (r->is_private) {
            continue;
        }
        if (!r->has_match) {
            printf("FAIL  rule %s has no test that must fire\n", r->name);
            run->failed++;
        }
        if (!r->has_no_match) {
            printf("FAIL  rule %s has no test that must not fire\n", r->name);
            run->failed++;
        }
    }
}

static int load_rule_list(test_run *run, secdet_engine *engine) {
    size_t n = secdet_rule_count(engine);
    run->rules = calloc(n ? n : 1, sizeof *run->rules);
    if (run->rules == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        secdet_rule_info info;
        if (secdet_rule_get(engine, i, &info) != SECDET_OK || info.name == NULL) {
            continue;
        }
        rule_coverage *r = &run->rules[run->rule_count];
        r->name = strdup(info.name);
        if (r->name == NULL) {
            return -1;
        }
        r->is_private = info.is_private;
        run->rule_count++;
        if (info.file != NULL) {
            r->group = cli_pack_dir_of(info.file);
            if (r->group == NULL && (r->group = strdup(info.file)) == NULL) {
                return -1;
            }
        }
        const char *only = secdet_rule_source(engine, i, 0);
        if (only != NULL && secdet_rule_source(engine, i, 1) == NULL && (r->source = strdup(only)) == NULL) {
            return -1;
        }
    }
    return 0;
}

/* One group's line of the --coverage report. */
static void report_group(const test_run *run, const char *group) {
    unsigned long rules = 0, covered = 0;
    for (size_t i = 0; i < run->rule_count; i++) {
        const rule_coverage *r = &run->rules[i];
        if (!r->is_private && r->group != NULL && strcmp(r->group, group) == 0) {
            rules++;
            covered += r->has_match && r->has_no_match;
        }
    }
    cli_pack pack;
    long min_engine;
    char err[256];
    if (cli_pack_read(group, &pack, &min_engine, err, sizeof err) == 0) {
        printf("coverage: pack %s %s (%s): ", pack.name, pack.version, group);
        cli_pack_free(&pack);
    } else {
        printf("coverage: %s: ", group);
    }
    printf("%lu %s, %lu tested both ways%s\n", rules, cli_plural(rules, "rule", "rules"), covered,
           covered == rules ? "" : "; not:");
    for (size_t i = 0; i < run->rule_count; i++) {
        const rule_coverage *r = &run->rules[i];
        if (!r->is_private && r->group != NULL && strcmp(r->group, group) == 0 && !(r->has_match && r->has_no_match)) {
            printf("coverage:   %s (%s)\n", r->name,
                   !r->has_match && !r->has_no_match ? "no test"
                   : !r->has_match                   ? "no test that must fire"
                                                     : "no test that must not fire");
        }
    }
}

/* Each group once, in the order the rules were loaded. */
static void report_coverage(const test_run *run) {
    for (size_t i = 0; i < run->rule_count; i++) {
        const char *group = run->rules[i].group;
        int seen = group == NULL;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = run->rules[j].group != NULL && strcmp(run->rules[j].group, group) == 0;
        }
        if (!seen) {
            report_group(run, group);
        }
    }
}

static int parse_options(int argc, char **argv, int *verbose, int *coverage) {
    static const struct option long_options[] = {
        {"verbose", no_argument, NULL, 'v'},
        {"coverage", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":vch", long_options, NULL)) != -1) {
        switch (c) {
        case 'v': *verbose = 1; break;
        case 'c': *coverage = 1; break;
        case 'h': cli_usage("test", stdout); return CLI_EXIT_OK;
        default: return cli_bad_option("test", c, optopt, argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return cli_usage_error("test", "no rule files given%s", "");
    }
    return -1;
}

int cmd_test(int argc, char **argv) {
    test_run run = {0};
    int rc = parse_options(argc, argv, &run.verbose, &run.coverage);
    if (rc >= 0) {
        return rc;
    }
    run.rule_args = argv + optind;
    run.rule_arg_count = (size_t)(argc - optind);

    /* Compile once up front: errors are shown once, and the rule list is known. */
    secdet_engine *engine = NULL;
    secdet_status status = secdet_engine_new(NULL, &engine);
    if (status != SECDET_OK) {
        fprintf(stderr, "secdet: cannot create an engine: %s\n", secdet_strerror(status));
        return CLI_EXIT_ERROR;
    }
    cli_load_result loaded;
    if (cli_load_rules(engine, run.rule_args, run.rule_arg_count, 1, &loaded) != 0) {
        secdet_engine_free(engine);
        return CLI_EXIT_ERROR;
    }
    int oom = load_rule_list(&run, engine) != 0;
    secdet_engine_free(engine);

    cli_strings files = {0};
    for (size_t i = 0; !oom && i < run.rule_arg_count; i++) {
        if (cli_collect_rule_files(run.rule_args[i], &files) != 0) {
            fprintf(stderr, "secdet: %s: %s\n", run.rule_args[i], strerror(errno));
            run.errors = 1;
        }
    }
    for (size_t i = 0; !oom && i < files.count; i++) {
        int duplicate = 0;
        for (size_t j = 0; j < i && !duplicate; j++) {
            duplicate = strcmp(files.items[i], files.items[j]) == 0;
        }
        if (!duplicate) {
            run_tests_file(&run, files.items[i]);
        }
    }
    if (oom) {
        fprintf(stderr, "secdet: out of memory\n");
        run.errors = 1;
    }
    check_coverage(&run);
    if (run.coverage) {
        report_coverage(&run);
    }
    printf("%lu passed, %lu failed\n", run.passed, run.failed);

    cli_strings_free(&files);
    for (size_t i = 0; i < run.rule_count; i++) {
        free(run.rules[i].name);
        free(run.rules[i].source);
        free(run.rules[i].group);
    }
    free(run.rules);
    if (run.errors) {
        return CLI_EXIT_ERROR;
    }
    return run.failed == 0 ? CLI_EXIT_OK : CLI_EXIT_FINDING;
}
