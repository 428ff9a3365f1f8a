/*
 * scan_output.c — what `secdet scan` prints as it goes: alerts on stdout
 * (JSON lines, or readable lines on a terminal), malformed events on
 * stderr with their file and place.
 *
 * --rule and --min-severity choose which alerts are printed and counted
 * (the summary, --fail-on-alert); the engine still evaluates every rule, so
 * that correlation — sequences over other rules, private rules, --state —
 * is the same with and without them. Alerts left out are counted apart.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/scan.h"
#include "util/limits.h"

#define SEVERITY_WIDTH 8 /* "CRITICAL" */

static int rule_wanted(const scan_options *o, const char *rule) {
    if (o->rule_globs.count == 0) {
        return 1;
    }
    for (size_t i = 0; i < o->rule_globs.count; i++) {
        if (fnmatch(o->rule_globs.items[i], rule, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

int scan_check_filters(const scan_ctx *ctx) {
    const scan_options *o = ctx->opts;
    int rc = 0;
    for (size_t g = 0; g < o->rule_globs.count; g++) {
        int found = 0;
        for (size_t i = 0; i < secdet_rule_count(ctx->engine) && !found; i++) {
            secdet_rule_info info;
            found = secdet_rule_get(ctx->engine, i, &info) == SECDET_OK && !info.is_private &&
                    fnmatch(o->rule_globs.items[g], info.name, 0) == 0;
        }
        if (!found) {
            fprintf(stderr, "secdet scan: --rule '%s' matches none of the loaded rules that alert\n",
                    o->rule_globs.items[g]);
            rc = -1;
        }
    }
    return rc;
}

static const char *severity_colour(secdet_severity sev) {
    switch (sev) {
    case SECDET_SEVERITY_CRITICAL: return "\033[1;31m";
    case SECDET_SEVERITY_HIGH: return "\033[31m";
    case SECDET_SEVERITY_MEDIUM: return "\033[33m";
    case SECDET_SEVERITY_LOW: return "\033[36m";
    default: return "\033[2m";
    }
}

/* "2023-07-10T12:11:15Z" (seconds are enough for a person reading). */
static void format_time(char *buf, size_t len, int64_t ns) {
    int64_t secs = ns / 1000000000;
    if (ns < 0 && ns % 1000000000 != 0) {
        secs--; /* floor, so times before 1970 are not a second late */
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, len, "-");
    }
}

static void print_alert_text(scan_ctx *ctx, const secdet_alert *alert) {
    secdet_severity sev = secdet_alert_severity(alert);
    const char *name = secdet_severity_name(sev);
    char upper[16];
    size_t i = 0;
    for (; name != NULL && name[i] != '\0' && i + 1 < sizeof upper; i++) {
        upper[i] = (name[i] >= 'a' && name[i] <= 'z') ? (char)(name[i] - 'a' + 'A') : name[i];
    }
    upper[i] = '\0';
    char when[40];
    format_time(when, sizeof when, secdet_alert_time_ns(alert));
    const char *rule = secdet_alert_rule(alert);
    const char *message = secdet_alert_message(alert);

    if (ctx->colour) {
        fprintf(stdout, "%s%-*s\033[0m", severity_colour(sev), SEVERITY_WIDTH, upper);
    } else {
        fprintf(stdout, "%-*s", SEVERITY_WIDTH, upper);
    }
    fprintf(stdout, "  %s  ", when);
    term_write_safe(stdout, rule ? rule : "-");
    fputs("  ", stdout);
    term_write_safe_n(stdout, message ? message : "", message ? secdet_alert_message_len(alert) : 0);
    putc('\n', stdout);
}

void scan_on_alert(void *user, const secdet_alert *alert) {
    scan_ctx *ctx = user;
    const char *rule = secdet_alert_rule(alert);
    if (secdet_alert_severity(alert) < ctx->opts->min_severity || !rule_wanted(ctx->opts, rule ? rule : "")) {
        ctx->filtered++;
        return;
    }
    ctx->alerts++;
    if (ctx->text) {
        if (ctx->stdout_is_tty) {
            term_progress_clear(&ctx->progress); /* same screen */
        }
        print_alert_text(ctx, alert);
        return;
    }
    size_t len = 0;
    const char *json = secdet_alert_json(alert, &len);
    if (json != NULL) {
        fwrite(json, 1, len, stdout);
        putc('\n', stdout);
    }
}

/* A JSON-lines decoder's message starts with "line N: "; we print the
 * place in the FILE:LINE form, so drop it. */
static const char *strip_line(const char *message, uint64_t where) {
    static const char word[] = "line ";
    if (strncmp(message, word, sizeof word - 1) != 0) {
        return message;
    }
    const char *digits = message + sizeof word - 1;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(digits, &end, 10);
    if (errno == 0 && end != digits && n == where && end[0] == ':' && end[1] == ' ') {
        return end + 2;
    }
    return message;
}

void scan_on_malformed(void *user, const char *source, uint64_t where, const char *message) {
    (void)source;
    scan_ctx *ctx = user;
    ctx->errors_shown++;
    if (ctx->errors_shown > LIMIT_SCAN_ERRORS_SHOWN) {
        return;
    }
    term_progress_clear(&ctx->progress);
    const char *file = ctx->file ? ctx->file : "-";
    if (ctx->errors_shown == LIMIT_SCAN_ERRORS_SHOWN) {
        fprintf(stderr, "%s: more malformed events; further ones are only counted\n", file);
        return;
    }
    if (message == NULL) {
        message = "malformed event";
    }
    /* A line: FILE:LINE: what. Other messages name their own place
     * ("record 3: ...", "document 2: logEvents[1]: ..."). */
    const char *rest = strip_line(message, where);
    if (rest != message) {
        fprintf(stderr, "%s:%llu: %s\n", file, (unsigned long long)where, rest);
    } else {
        fprintf(stderr, "%s: %s\n", file, message);
    }
}
