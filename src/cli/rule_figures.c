/*
 * rule_figures.c — tuning and per-rule figures as the commands print them
 * (rule_figures.h).
 *
 * The engine does not look at the clock (an exception's date is compared
 * with each event's time); whether an exception is past its date *today*
 * is a question for the person running the command, so the commands ask
 * it here: `secdet check` (with --today for a fixed day), `secdet scan`
 * and `secdet run` (also after a reload) warn of each exception whose day
 * is over. An exception a glob gave several rules is one place, warned of
 * once.
 */
#include "cli/rule_figures.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "lang/tune.h"
#include "util/buf.h"

#define NS_PER_DAY (INT64_C(86400) * 1000000000)

int64_t cli_day_start_ns(const char *date) {
    int64_t days;
    if (!date || !sd_tune_parse_date(date, strlen(date), &days)) return -1;
    return sd_tune_day_ns(days);
}

int64_t cli_today_ns(void) {
    int64_t now = (int64_t)time(NULL);
    return now / 86400 * NS_PER_DAY;
}

/* Whether the place of exception x was warned of already (an exception a
 * glob gave several rules appears under each). */
static int seen_before(const secdet_engine *e, size_t rule, size_t k, const secdet_rule_except *x) {
    for (size_t i = 0; i <= rule; i++) {
        secdet_rule_stats st;
        if (secdet_rule_stats_get(e, i, &st) != SECDET_OK) continue;
        for (size_t j = 0; j < st.nexcepts && (i < rule || j < k); j++) {
            secdet_rule_except y;
            if (secdet_rule_except_get(e, i, j, &y) == SECDET_OK && y.line == x->line && y.column == x->column &&
                strcmp(y.file, x->file) == 0)
                return 1;
        }
    }
    return 0;
}

size_t cli_warn_expired(const secdet_engine *e, int64_t today_ns) {
    size_t warned = 0, n = secdet_rule_count(e);
    for (size_t i = 0; i < n; i++) {
        secdet_rule_stats st;
        if (secdet_rule_stats_get(e, i, &st) != SECDET_OK) continue;
        for (size_t k = 0; k < st.nexcepts; k++) {
            secdet_rule_except x;
            if (secdet_rule_except_get(e, i, k, &x) != SECDET_OK || !x.until[0] || x.until_ns > today_ns ||
                seen_before(e, i, k, &x))
                continue;
            fprintf(stderr,
                    "%s:%u:%u: warning: exception expired on %s: it no longer applies (remove it, or give it a later "
                    "date)\n",
                    x.file, x.line, x.column, x.until);
            warned++;
        }
    }
    return warned;
}

static int loudest_first(const void *pa, const void *pb) {
    const cli_rule_row *a = pa, *b = pb;
    if (a->alerts != b->alerts) return a->alerts > b->alerts ? -1 : 1;
    if (a->suppressed != b->suppressed) return a->suppressed > b->suppressed ? -1 : 1;
    if (a->excepted != b->excepted) return a->excepted > b->excepted ? -1 : 1;
    return strcmp(a->rule, b->rule);
}

size_t cli_rule_rows(const secdet_engine *e, cli_rule_row **out) {
    size_t n = secdet_rule_count(e), k = 0;
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out) return 0;
    for (size_t i = 0; i < n; i++) {
        secdet_rule_info info;
        secdet_rule_stats st;
        if (secdet_rule_get(e, i, &info) != SECDET_OK || secdet_rule_stats_get(e, i, &st) != SECDET_OK) continue;
        if (!st.alerts && !st.suppressed && !st.excepted) continue;
        (*out)[k++] = (cli_rule_row){info.name, st.alerts, st.suppressed, st.excepted};
    }
    qsort(*out, k, sizeof **out, loudest_first);
    return k;
}

void cli_rule_rows_json(buf *b, const cli_rule_row *rows, size_t n) {
    sd_buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        sd_buf_puts(b, i ? ",{\"rule\":" : "{\"rule\":");
        sd_buf_json_string(b, rows[i].rule, strlen(rows[i].rule));
        sd_buf_printf(b, ",\"alerts\":%llu,\"suppressed\":%llu,\"excepted\":%llu}", (unsigned long long)rows[i].alerts,
                      (unsigned long long)rows[i].suppressed, (unsigned long long)rows[i].excepted);
    }
    sd_buf_putc(b, ']');
}

void cli_print_rule_table(FILE *out, const secdet_engine *e) {
    cli_rule_row *rows = NULL;
    size_t n = cli_rule_rows(e, &rows);
    int width = 4; /* "rule" */
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(rows[i].rule);
        if (len > width) width = len > 60 ? 60 : len;
    }
    fprintf(out, "%-*s  %10s  %10s  %10s\n", width, "rule", "alerts", "suppressed", "excepted");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%-*.*s  %10llu  %10llu  %10llu\n", width, width, rows[i].rule, (unsigned long long)rows[i].alerts,
                (unsigned long long)rows[i].suppressed, (unsigned long long)rows[i].excepted);
    size_t alerting = 0, disabled = 0, total = secdet_rule_count(e);
    for (size_t i = 0; i < total; i++) {
        secdet_rule_info info;
        secdet_rule_stats st;
        if (secdet_rule_get(e, i, &info) != SECDET_OK || secdet_rule_stats_get(e, i, &st) != SECDET_OK ||
            info.is_private)
            continue;
        if (st.disabled)
            disabled++;
        else
            alerting++;
    }
    size_t quiet = alerting > n ? alerting - n : 0;
    if (quiet)
        fprintf(out, "(%zu other %s: no alert, nothing suppressed or excepted)\n", quiet,
                cli_plural(quiet, "rule", "rules"));
    if (disabled) fprintf(out, "(%zu %s disabled)\n", disabled, cli_plural(disabled, "rule", "rules"));
    free(rows);
}

void cli_print_excepted(FILE *out, const secdet_engine *e) {
    size_t n = secdet_rule_count(e);
    for (size_t i = 0; i < n; i++) {
        secdet_rule_info info;
        secdet_rule_stats st;
        if (secdet_rule_get(e, i, &info) != SECDET_OK || secdet_rule_stats_get(e, i, &st) != SECDET_OK || !st.excepted)
            continue;
        for (size_t k = 0; k < st.nexcepts; k++) {
            secdet_rule_except x;
            if (secdet_rule_except_get(e, i, k, &x) != SECDET_OK || !x.excepted) continue;
            fprintf(out, "excepted %llu %s of %s: %s:%u:%u", (unsigned long long)x.excepted,
                    cli_plural(x.excepted, "event", "events"), info.name, x.file, x.line, x.column);
            if (x.reason[0]) {
                buf b;
                sd_buf_init(&b);
                sd_buf_json_string(&b, x.reason, strlen(x.reason));
                if (!b.oom) fprintf(out, " %s", b.data);
                sd_buf_free(&b);
            }
            fputc('\n', out);
        }
    }
}
