/*
 * sql_sum.c — `sum P >= N within DUR [by K, ...]` as the engine keeps it.
 *
 * The engine (correlate/sum.c) does not add up the window afresh: it keeps
 * a running total, adding each event's number and subtracting the ones that
 * leave the window, oldest first; a window that empties starts again from
 * 0, and a group that fires starts again from nothing. With numbers that
 * are not whole, that total differs from a fresh sum by rounding.
 *  - DuckDB: the recursive walk carries the same total through the same
 *    additions and subtractions in the same order (`tot`): exact for every
 *    number.
 *  - Trino/Athena: MATCH_RECOGNIZE cannot carry it (Trino refuses lambdas
 *    in a pattern's DEFINE, so no fold), and a fresh sum of the window is
 *    the engine's total only while every number is whole and their
 *    magnitudes since the group's last alert add up to less than 2^53 (no
 *    step rounds). The SQL checks that on every row, and where it does not
 *    hold stops with an error naming the rule — never an approximate
 *    answer. Negative numbers make a later start fire where the engine's
 *    would not (its window since the last alert holds more), so the pattern
 *    never restarts inside a group (sql_rule.c).
 */
#include <stdio.h>
#include <string.h>

#include "sql/sql_int.h"

void sd_sql_sum_test(const ast_rule *r, const char *tot, buf *o) {
    sd_buf_printf(o, "%s %s CAST(%.17g AS DOUBLE)", tot, r->agg_gt ? ">" : ">=", r->threshold);
}

void sd_sql_sum_guard_trino(const ast_rule *r, buf *o) {
    char msg[200];
    snprintf(msg, sizeof msg,
             "secdet: rule %s: sum on Trino is exact for whole numbers adding up to less than 2^53 only", r->name);
    sd_buf_puts(o, "(CASE WHEN v = floor(v) AND SUM(abs(v)) < 9007199254740992e0 THEN TRUE ELSE CAST(");
    sd_sql_quote(o, msg, strlen(msg));
    sd_buf_puts(o, " AS BOOLEAN) END)");
}

void sd_sql_sum_step_duckdb(const ast_rule *r, buf *o) {
    long long w = (long long)r->within_ms;
    sd_buf_printf(o,
                  "(CASE WHEN w.fire OR len(list_filter(w.win, lambda x: x.t >= m.t_ns - %lld000000)) = 0 THEN "
                  "CAST(0 AS DOUBLE) ELSE list_reduce(list_prepend(w.tot, list_transform(list_filter(w.win, "
                  "lambda x: x.t < m.t_ns - %lld000000), lambda x: x.v)), lambda a, x: a - x) END) + m.v",
                  w, w);
}
