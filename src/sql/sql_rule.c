/*
 * sql_rule.c — one rule, one SELECT (sql.h has the columns every SELECT returns).
 *
 * The aggregations keep the engine's semantics, which are not a plain
 * GROUP BY: a count (or distinct) rule fires at the first event of a group
 * whose span of DUR holds N matching events (N distinct values), and the
 * group then starts again from zero; a throttle lets one alert through and
 * suppresses the group's next ones up to DUR after it. Both depend on the
 * alerts before them, so each group is walked in event-time order:
 *  - Trino and Athena: MATCH_RECOGNIZE. PATTERN (a*? b) with b the first row
 *    whose match (all within DUR of its first row) reaches N, AFTER MATCH
 *    SKIP PAST LAST ROW: the earliest start gives the earliest end, which is
 *    where the engine fires, and skipping past it is the engine's reset.
 *    A throttle is PATTERN (a b*), b within DUR of a.
 *  - DuckDB (no MATCH_RECOGNIZE): a recursive CTE that walks each group row
 *    by row carrying the engine's window (the span's events since the last
 *    alert) or the throttle's last alert time.
 * A sum keeps the engine's reset and running total (sql_sum.c).
 * A sequence is MATCH_RECOGNIZE (sql_seq.c), refused on DuckDB.
 * Ties in event time are ordered by the event id (the engine takes them in
 * arrival order, which a table does not keep).
 */
#include <stdio.h>
#include <string.h>

#include "event/common.h"
#include "lang/parser.h"
#include "lang/tune.h"
#include "sql/sql_int.h"

int sd_sql_dialect_parse(const char *name, sql_dialect *out) {
    static const char *const names[] = {"athena", "trino", "duckdb"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (sql_dialect)i;
            return 0;
        }
    }
    return -1;
}

/* "SELECT event_time, event_id, k1..": what every walk over a group needs
 * (sd_sql_timed() adds t_ns, read from event_time). */
int sd_sql_key_columns(sqlc *c, const ast_key *keys, size_t nkeys, buf *o) {
    sd_buf_puts(o, "SELECT ");
    if (sd_sql_time_text(c, o) != 0) return -1;
    sd_buf_puts(o, " AS event_time, ");
    if (sd_sql_common_typed(c, SD_COMMON_ID, W_STR, o) != 0) return -1;
    sd_buf_puts(o, " AS event_id");
    for (size_t i = 0; i < nkeys; i++) {
        sd_buf_puts(o, ", ");
        if (sd_sql_key(c, keys[i].expr, o) != 0) return -1;
        sd_buf_printf(o, " AS k%zu", i + 1);
    }
    return 0;
}

/* "SELECT t_ns, r.* FROM (": the rows of a walk with their time in nanoseconds. */
void sd_sql_timed(sqlc *c, buf *o) {
    sd_buf_puts(o, "SELECT ");
    sd_sql_time_ns(c, "event_time", o);
    sd_buf_puts(o, " AS t_ns, r.* FROM (");
}

/* The value of a row: distinct's (a key), sum's (a number). */
static int row_value(sqlc *c, const ast_rule *r, buf *o) {
    return r->agg == AGG_SUM ? sd_sql_number(c, r->distinct, o) : sd_sql_key(c, r->distinct, o);
}

/* count's and distinct's N (`> N` is `>= N+1`). */
static double at_least(const ast_rule *r) { return r->threshold + (r->agg_gt ? 1 : 0); }

/* The base rows: the key columns and, for distinct and sum, v. */
static int base_select(sqlc *c, const ast_rule *r, const ast_key *keys, size_t nkeys, const ast_cond *where, buf *o) {
    int valued = r->agg == AGG_DISTINCT || r->agg == AGG_SUM;
    sd_sql_timed(c, o);
    if (sd_sql_key_columns(c, keys, nkeys, o) != 0) return -1;
    if (valued) {
        sd_buf_puts(o, ", ");
        if (row_value(c, r, o) != 0) return -1;
        sd_buf_puts(o, " AS v");
    } else if (c->d == SQL_DUCKDB && r->agg == AGG_COUNT) {
        sd_buf_puts(o, ", CAST(NULL AS VARCHAR) AS v");
    }
    sd_buf_printf(o, " FROM %s WHERE ", sd_sql_table_name(c->log_type));
    if (sd_sql_cond(c, where, o) != 0) return -1;
    if (valued) {
        /* An event without the value (sum: without a number) is ignored by the rule. */
        sd_buf_puts(o, " AND (");
        if (row_value(c, r, o) != 0) return -1;
        sd_buf_puts(o, ") IS NOT NULL");
    }
    sd_buf_puts(o, ") AS r");
    return 0;
}

/* grp: the keys' values joined by ", " (a missing one as null; a JSON
 * table's without their type tag), '' without keys. */
void sd_sql_grp_column(sqlc *c, buf *o, size_t nkeys) {
    if (nkeys == 0) {
        sd_buf_puts(o, "'' AS grp");
        return;
    }
    int tag = sd_sql_table_is_json(c->log_type);
    for (size_t i = 0; i < nkeys; i++)
        sd_buf_printf(o, "%sCOALESCE(%sk%zu%s, 'null')", i ? " || ', ' || " : "", tag ? "substr(" : "", i + 1,
                      tag ? ", 2)" : "");
    sd_buf_puts(o, " AS grp");
}

/* Each group in event-time order: "[PARTITION BY k1, ...SEP]ORDER BY t_ns, event_id". */
void sd_sql_group_order(buf *o, size_t nkeys, const char *sep) {
    for (size_t i = 0; i < nkeys; i++) sd_buf_printf(o, "%sk%zu", i ? ", " : "PARTITION BY ", i + 1);
    sd_buf_printf(o, "%sORDER BY t_ns, event_id", nkeys ? sep : "");
}

void sd_sql_head(buf *o, const ast_rule *r) { sd_buf_printf(o, "SELECT '%s' AS rule, ", r->name); }

/* ---- Trino / Athena ---------------------------------------------------------- */

/* sum (sql_sum.c): from the group's last alert, o rows have left b's
 * window and i rows are in it; b is the first row whose window reaches N.
 * When none does, z takes the group's remaining rows, so that no match
 * starts later inside it, and is dropped. */
static void trino_sum(const ast_rule *r, buf *o) {
    long long w = (long long)r->within_ms;
    sd_buf_puts(o, "  MEASURES LAST(b.event_time) AS event_time, LAST(b.event_id) AS event_id, COUNT(i.t_ns) + 1 AS "
                   "cnt, COALESCE(FIRST(i.event_time), LAST(b.event_time)) AS first_seen, CLASSIFIER() AS cls\n"
                   "  ONE ROW PER MATCH\n  AFTER MATCH SKIP PAST LAST ROW\n  PATTERN (o*? i*? b | z+)\n  DEFINE o AS ");
    sd_sql_sum_guard_trino(r, o);
    sd_buf_puts(o, ", i AS ");
    sd_sql_sum_guard_trino(r, o);
    sd_buf_puts(o, ", z AS ");
    sd_sql_sum_guard_trino(r, o);
    sd_buf_puts(o, ",\n    b AS ");
    sd_sql_sum_guard_trino(r, o);
    sd_buf_printf(o,
                  " AND COALESCE(LAST(o.t_ns) < b.t_ns - %lld000000, TRUE) AND COALESCE(FIRST(i.t_ns) >= b.t_ns - "
                  "%lld000000, TRUE)\n    AND ",
                  w, w);
    sd_sql_sum_test(r, "COALESCE(SUM(i.v), 0e0) + b.v", o);
    sd_buf_puts(o, "\n)\nWHERE cls = 'B'");
}

static int trino_window(sqlc *c, const ast_rule *r, const ast_key *keys, size_t nkeys, buf *o) {
    sd_sql_head(o, r);
    sd_buf_puts(o, "event_time, event_id, cnt AS count, first_seen, ");
    sd_sql_grp_column(c, o, nkeys);
    sd_buf_puts(o, "\nFROM (");
    if (base_select(c, r, keys, nkeys, r->where, o) != 0) return -1;
    sd_buf_puts(o, ")\nMATCH_RECOGNIZE (\n  ");
    sd_sql_group_order(o, nkeys, "\n  ");
    sd_buf_putc(o, '\n');
    if (r->agg == AGG_NONE) { /* a throttle */
        sd_buf_printf(o,
                      "  MEASURES a.event_time AS event_time, a.event_id AS event_id, 1 AS cnt, a.event_time AS "
                      "first_seen\n  ONE ROW PER MATCH\n  AFTER MATCH SKIP PAST LAST ROW\n  PATTERN (a b*)\n"
                      "  DEFINE b AS b.t_ns - a.t_ns <= %lld000000\n)",
                      (long long)r->throttle_ms);
        return 0;
    }
    if (r->agg == AGG_SUM) {
        trino_sum(r, o);
        return 0;
    }
    sd_buf_puts(o, "  MEASURES LAST(b.event_time) AS event_time, LAST(b.event_id) AS event_id, COUNT(*) AS cnt, "
                   "FIRST(event_time) AS first_seen\n  ONE ROW PER MATCH\n  AFTER MATCH SKIP PAST LAST ROW\n"
                   "  PATTERN (a*? b)\n");
    sd_buf_printf(o, "  DEFINE b AS b.t_ns - FIRST(t_ns) <= %lld000000 AND ", (long long)r->within_ms);
    if (r->agg == AGG_COUNT)
        sd_buf_printf(o, "COUNT(*) >= %.0f\n)", at_least(r));
    else
        sd_buf_printf(o, "cardinality(array_distinct(array_agg(v))) >= %.0f\n)", at_least(r));
    return 0;
}

/* ---- DuckDB ------------------------------------------------------------------ */

/* The recursive walk; state: win (count, distinct) or last (throttle). */
static int duckdb_walk(sqlc *c, const ast_rule *r, const ast_key *keys, size_t nkeys, buf *o) {
    int throttle = r->agg == AGG_NONE;
    sd_buf_puts(o, "WITH RECURSIVE m AS (SELECT *, row_number() OVER (");
    sd_sql_group_order(o, nkeys, " ");
    sd_buf_puts(o, ") AS rn FROM (");
    if (base_select(c, r, keys, nkeys, r->where, o) != 0) return -1;
    sd_buf_puts(o, ") AS e),\n");
    char fire[160];
    if (throttle) {
        sd_buf_puts(o,
                    "w AS (SELECT m.*, TRUE AS fire, m.t_ns AS last FROM m WHERE rn = 1\n  UNION ALL\n"
                    "  SELECT s1.* EXCLUDE (prev), CASE WHEN fire THEN t_ns ELSE prev END AS last FROM (SELECT m.*, ");
        sd_buf_printf(o, "m.t_ns > w.last + %lld000000 AS fire, w.last AS prev FROM w JOIN m ON m.rn = w.rn + 1",
                      (long long)r->throttle_ms);
        for (size_t i = 0; i < nkeys; i++) sd_buf_printf(o, " AND m.k%zu IS NOT DISTINCT FROM w.k%zu", i + 1, i + 1);
        sd_buf_puts(o, ") AS s1)\n");
        sd_sql_head(o, r);
        sd_buf_puts(o, "event_time, event_id, 1 AS count, event_time AS first_seen, ");
        sd_sql_grp_column(c, o, nkeys);
        sd_buf_puts(o, " FROM w WHERE fire");
        return 0;
    }
    int sum = r->agg == AGG_SUM;
    if (r->agg == AGG_COUNT)
        snprintf(fire, sizeof fire, "len(win) >= %.0f", at_least(r));
    else if (r->agg == AGG_DISTINCT)
        snprintf(fire, sizeof fire, "len(list_distinct(list_transform(win, lambda x: x.v))) >= %.0f", at_least(r));
    else {
        buf t;
        sd_buf_init(&t);
        sd_sql_sum_test(r, "tot", &t);
        snprintf(fire, sizeof fire, "%s", t.oom ? "FALSE" : t.data);
        sd_buf_free(&t);
    }
    sd_buf_printf(o,
                  "w AS (SELECT *, %s AS fire FROM (SELECT m.*, [{'t': t_ns, 's': event_time, 'v': v}] AS win%s "
                  "FROM m WHERE rn = 1) AS s0\n  UNION ALL\n",
                  fire, sum ? ", CAST(0 AS DOUBLE) + v AS tot" : "");
    sd_buf_printf(o,
                  "  SELECT *, %s AS fire FROM (SELECT m.*, list_append(list_filter(CASE WHEN w.fire THEN "
                  "[]::STRUCT(t BIGINT, s VARCHAR, v %s)[] ELSE w.win END, lambda x: x.t >= m.t_ns - %lld000000), "
                  "{'t': m.t_ns, 's': m.event_time, 'v': m.v}) AS win",
                  fire, sum ? "DOUBLE" : "VARCHAR", (long long)r->within_ms);
    if (sum) {
        sd_buf_puts(o, ", ");
        sd_sql_sum_step_duckdb(r, o);
        sd_buf_puts(o, " AS tot");
    }
    sd_buf_puts(o, " FROM w JOIN m ON m.rn = w.rn + 1");
    for (size_t i = 0; i < nkeys; i++) sd_buf_printf(o, " AND m.k%zu IS NOT DISTINCT FROM w.k%zu", i + 1, i + 1);
    sd_buf_puts(o, ") AS s1)\n");
    sd_sql_head(o, r);
    sd_buf_puts(o, "event_time, event_id, len(win) AS count, win[1].s AS first_seen, ");
    sd_sql_grp_column(c, o, nkeys);
    sd_buf_puts(o, " FROM w WHERE fire");
    return 0;
}

/* ---- one rule ---------------------------------------------------------------- */

static int compile_rule(sqlc *c, const ast_rule *r, buf *o) {
    if (r->non == 0)
        return sd_sqlc_refuse(c, "no `on`: the rule reads every log type, and each log type has its own table");
    for (size_t i = 1; i < r->non; i++)
        if (strcmp(r->on[i], r->on[0]) != 0)
            return sd_sqlc_refuse(c, "on %s, %s: one SELECT reads one log type's table", r->on[0], r->on[i]);
    c->log_type = r->on[0];
    if (!sd_sql_table_name(c->log_type)) return sd_sqlc_refuse(c, "no documented table for log type '%s'", r->on[0]);
    if (r->has_throttle && r->agg != AGG_NONE)
        return sd_sqlc_refuse(c, "a throttle over an aggregation's alerts is not compiled to SQL");
    for (size_t i = 0; r->tuning && i < r->tuning->ntunes; i++)
        if (r->tuning->tunes[i]->nexcepts || r->tuning->tunes[i]->has_throttle)
            return sd_sqlc_refuse(c, "a rule given exceptions or a throttle by `tune` is not compiled to SQL");
    if (r->agg == AGG_SEQUENCE && r->unordered)
        return sd_sqlc_refuse(c, "an unordered sequence is not compiled to SQL");
    for (size_t i = 0; r->agg == AGG_SEQUENCE && i < r->nsteps; i++) {
        const ast_step *st = &r->steps[i];
        if (st->nby || st->has_count || st->agg_rule)
            return sd_sqlc_refuse(c,
                                  "step '%s': per-step keys, counted steps and count rules as steps are not "
                                  "compiled to SQL",
                                  st->name ? st->name : "");
    }
    if (r->agg == AGG_SEQUENCE) {
        if (c->d == SQL_DUCKDB)
            return sd_sqlc_refuse(c, "a sequence needs MATCH_RECOGNIZE, which DuckDB does not have");
        return sd_sql_trino_sequence(c, r, o);
    }
    if (r->agg == AGG_DISTINCT && (r->distinct->kind == EXPR_PATH && r->distinct->path.has_star))
        return sd_sqlc_refuse(c, "distinct over a [*] path counts each of its values");
    if (r->agg == AGG_SUM && (r->distinct->kind == EXPR_PATH && r->distinct->path.has_star))
        return sd_sqlc_refuse(c, "sum over a [*] path adds each of its numbers");
    if (r->agg == AGG_NONE && !r->has_throttle) {
        sd_sql_head(o, r);
        if (sd_sql_time_text(c, o) != 0) return -1;
        sd_buf_puts(o, " AS event_time, ");
        if (sd_sql_common_typed(c, SD_COMMON_ID, W_STR, o) != 0) return -1;
        sd_buf_puts(o, " AS event_id, 1 AS count, ");
        if (sd_sql_time_text(c, o) != 0) return -1;
        sd_buf_printf(o, " AS first_seen, '' AS grp\nFROM %s\nWHERE ", sd_sql_table_name(c->log_type));
        return sd_sql_cond(c, r->where, o);
    }
    const ast_key *keys = r->agg == AGG_NONE ? r->throttle_by : r->by;
    size_t nkeys = r->agg == AGG_NONE ? r->nthrottle_by : r->nby;
    return c->d == SQL_DUCKDB ? duckdb_walk(c, r, keys, nkeys, o) : trino_window(c, r, keys, nkeys, o);
}

size_t sd_sql_compile_ruleset(const ast_ruleset *rs, const struct sd_logtypes *log_types, sql_dialect d, buf *out,
                              buf *refused, size_t *compiled) {
    size_t nrefused = 0;
    *compiled = 0;
    for (size_t i = 0; i < rs->nrules; i++) {
        const ast_rule *r = rs->rules[i];
        if (r->is_private) continue; /* never alerts */
        if (r->tuning && r->tuning->disabled_by) continue;
        sqlc c = {.d = d, .lts = log_types};
        buf one;
        sd_buf_init(&one);
        if (compile_rule(&c, r, &one) == 0 && !one.oom) {
            sd_buf_printf(out, "-- rule %s\n%s;\n\n", r->name, one.data);
            (*compiled)++;
        } else {
            if (!c.why[0]) snprintf(c.why, sizeof c.why, "out of memory");
            sd_buf_printf(out, "-- rule %s: not compiled: %s\n\n", r->name, c.why);
            sd_buf_printf(refused, "rule %s: %s\n", r->name, c.why);
            nrefused++;
        }
        sd_buf_free(&one);
    }
    return nrefused;
}

int sd_sql_compile_sources(const compile_input *files, size_t nfiles, sql_dialect d, buf *out, buf *refused,
                           size_t *compiled, size_t *nrefused) {
    ast_ruleset rs;
    sd_ast_ruleset_init(&rs);
    diag_list dl;
    sd_diag_init(&dl);
    size_t errors = 0;
    for (size_t i = 0; i < nfiles; i++) errors += sd_parse_source(&rs, files[i].name, files[i].text, files[i].len, &dl);
    if (!errors) errors += sd_check_ruleset(&rs, &dl, NULL, NULL);
    sd_logtypes lts;
    int rc = -1;
    if (!errors && sd_logtypes_init(&lts) == 0) {
        *nrefused = sd_sql_compile_ruleset(&rs, &lts, d, out, refused, compiled);
        sd_logtypes_free(&lts);
        rc = out->oom || refused->oom ? -1 : 0;
    }
    sd_diag_free(&dl);
    sd_ast_ruleset_free(&rs);
    return rc;
}
