/*
 * embed.c — the smallest useful program around libsecdet.
 *
 * It uses nothing but the public header: compiles a rule from a string,
 * pushes two CloudTrail-style events as JSON lines, prints every alert the
 * callback receives, then shows what a broken rule looks like (each error
 * with file:line:col). Copy it as a starting point.
 *
 * Exit status: 0 when exactly one alert fired and the broken rule was
 * rejected with at least one diagnostic, 1 otherwise (so the test suite can
 * run it), 2 when the library refused to start.
 *
 * Build against an installed libsecdet:
 *     cc embed.c $(pkg-config --cflags --libs secdet) -o embed
 */
#include <secdet.h>

#include <stdio.h>
#include <string.h>

static const char RULES[] = "rule root_console_login {\n"
                            "    meta {\n"
                            "        title = \"Root account console sign-in\"\n"
                            "        severity = critical\n"
                            "        tags = [\"cis-aws-1.7\"]\n"
                            "    }\n"
                            "    on cloudtrail\n"
                            "    where .eventName == \"ConsoleLogin\" and .userIdentity.type == \"Root\"\n"
                            "    output \"Root signed in to the console from {.sourceIPAddress}\"\n"
                            "}\n";

/* A missing condition after `and`: the compiler must say where and why. */
static const char BROKEN_RULES[] = "rule broken {\n"
                                   "    where .eventName == \"ConsoleLogin\" and\n"
                                   "    output \"never\"\n"
                                   "}\n";

/* Two events, one JSON object a line: the first matches, the second does not. */
static const char EVENTS[] =
    "{\"eventTime\":\"2024-05-01T12:00:00Z\",\"eventSource\":\"signin.amazonaws.com\","
    "\"eventName\":\"ConsoleLogin\",\"userIdentity\":{\"type\":\"Root\","
    "\"arn\":\"arn:aws:iam::111122223333:root\"},\"sourceIPAddress\":\"203.0.113.7\"}\n"
    "{\"eventTime\":\"2024-05-01T12:01:00Z\",\"eventSource\":\"signin.amazonaws.com\","
    "\"eventName\":\"ConsoleLogin\",\"userIdentity\":{\"type\":\"IAMUser\","
    "\"arn\":\"arn:aws:iam::111122223333:user/alice\"},\"sourceIPAddress\":\"198.51.100.4\"}\n";

struct alert_counter {
    unsigned alerts;
};

/* Runs on the pushing thread; the alert is only valid during the call. */
static void on_alert(void *user, const secdet_alert *alert) {
    struct alert_counter *counter = user;
    size_t len = 0;
    const char *json = secdet_alert_json(alert, &len);
    counter->alerts++;
    printf("alert %s (%s): %s\n", secdet_alert_rule(alert), secdet_severity_name(secdet_alert_severity(alert)),
           secdet_alert_message(alert));
    printf("  %.*s\n", (int)len, json ? json : "");
}

static void on_bad_event(void *user, const char *source, uint64_t where, const char *message) {
    (void)user;
    fprintf(stderr, "%s: event %llu: %s\n", source, (unsigned long long)where, message);
}

/* Prints every diagnostic; returns how many errors there were. */
static size_t print_diagnostics(const secdet_diagnostics *diag) {
    size_t n = secdet_diagnostics_count(diag);
    for (size_t i = 0; i < n; i++) {
        char *line = secdet_diagnostics_format(diag, i);
        printf("  %s\n", line ? line : "(no memory)");
        secdet_free(line);
    }
    return secdet_diagnostics_errors(diag);
}

int main(void) {
    printf("libsecdet %s\n", secdet_version());

    secdet_engine *engine = NULL;
    secdet_status st = secdet_engine_new(NULL, &engine);
    if (st != SECDET_OK) {
        fprintf(stderr, "secdet_engine_new: %s\n", secdet_strerror(st));
        return 2;
    }

    int ok = 1;
    secdet_diagnostics *diag = NULL;
    st = secdet_load_rules_string(engine, "embedded.secdet", RULES, strlen(RULES), &diag);
    if (st != SECDET_OK) {
        fprintf(stderr, "loading the rule failed: %s\n", secdet_strerror(st));
        print_diagnostics(diag);
        secdet_diagnostics_free(diag);
        secdet_engine_free(engine);
        return 2;
    }
    secdet_diagnostics_free(diag);
    diag = NULL;

    struct alert_counter counter = {0};
    secdet_set_alert_callback(engine, on_alert, &counter);
    secdet_set_error_callback(engine, on_bad_event, NULL);

    secdet_source_opts opts = {.format = SECDET_FMT_JSONL, .time_field = ".eventTime"};
    st = secdet_source_add(engine, "cloudtrail", &opts);
    if (st == SECDET_OK) st = secdet_push(engine, "cloudtrail", EVENTS, strlen(EVENTS));
    if (st == SECDET_OK) st = secdet_source_end(engine, "cloudtrail");
    if (st != SECDET_OK) {
        fprintf(stderr, "pushing events failed: %s\n", secdet_strerror(st));
        ok = 0;
    }

    secdet_stats stats;
    if (secdet_stats_get(engine, &stats) == SECDET_OK)
        printf("%llu events, %llu alerts\n", (unsigned long long)stats.events, (unsigned long long)stats.alerts);
    if (counter.alerts != 1) {
        fprintf(stderr, "expected 1 alert, got %u\n", counter.alerts);
        ok = 0;
    }

    /* All or nothing: the broken source is refused, the engine keeps its rule. */
    printf("loading a broken rule:\n");
    st = secdet_load_rules_string(engine, "broken.secdet", BROKEN_RULES, strlen(BROKEN_RULES), &diag);
    size_t errors = print_diagnostics(diag);
    secdet_diagnostics_free(diag);
    if (st != SECDET_ERR_RULES || errors == 0) {
        fprintf(stderr, "the broken rule was not rejected (%s, %zu errors)\n", secdet_strerror(st), errors);
        ok = 0;
    }
    if (secdet_rule_count(engine) != 1) {
        fprintf(stderr, "expected the engine to keep its 1 rule, it has %zu\n", secdet_rule_count(engine));
        ok = 0;
    }

    secdet_engine_free(engine);
    return ok ? 0 : 1;
}
