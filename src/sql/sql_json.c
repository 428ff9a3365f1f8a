/*
 * sql_json.c — values read from a table's columns and JSON text, as the engine reads them.
 *
 *  - A JSON member is read as one type at a time (json_extract_scalar and
 *    json_extract give the text of any scalar): NULL when it is another
 *    type, so a number 5 never equals "5".
 *  - A common field is its log type's first path that is present and not
 *    null (sd_lt_first): a CASE over the paths' presence, not COALESCE of
 *    their typed reads, which would skip a present number and take the next.
 *  - A group key on a JSON table keeps the value's type (the engine's group
 *    key is each value's JSON): 's' + a string, 'n' + a number as a DOUBLE's
 *    text, 'j' + other JSON; the grp column drops the tag.
 *  - The event's time is the engine's reading (time.c, time_value.c) in
 *    SQL: RFC 3339 with 'T', 't' or ' ', a zone-less time as UTC, the
 *    fraction's first nine digits, second 60 as 59.999999999; digits as
 *    epoch time in the unit their size gives. Each part is read with a
 *    regular expression both dialects' engines read alike (digits, classes,
 *    anchors only) and try()/TRY_CAST, so a bad time is NULL, never an error
 *    that stops the query.
 */
#include <stdio.h>
#include <string.h>

#include "event/common.h"
#include "sql/sql_int.h"

int sd_sql_ref(sqlc *c, const sd_path *p, sql_ref *r) {
    char why[256];
    if (sd_sql_table_ref(c->log_type, p, r, why, sizeof why) != 0) return sd_sqlc_refuse(c, "%s", why);
    return 0;
}

/* JSON member at r read as the type w (NULL when it is another type). */
static void json_typed(sqlc *c, const sql_ref *r, sql_want w, buf *o) {
    if (c->d == SQL_DUCKDB) {
        static const char *const types[] = {"= 'VARCHAR'", "IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')",
                                            "= 'BOOLEAN'"};
        sd_buf_printf(o, "(CASE WHEN json_type(%s, '%s') %s THEN %sjson_extract_string(%s, '%s')%s END)", r->column,
                      r->jsonpath, types[w], w == W_NUM ? "CAST(" : "", r->column, r->jsonpath,
                      w == W_NUM ? " AS DOUBLE)" : "");
        return;
    }
    /* Trino: json_format of the member shows its JSON type by its first character. */
    static const char *const tests[] = {"substr(json_format(json_extract(%s, '%s')), 1, 1) = '\"'",
                                        "regexp_like(json_format(json_extract(%s, '%s')), '^-?[0-9]')",
                                        "json_format(json_extract(%s, '%s')) IN ('true', 'false')"};
    sd_buf_puts(o, "(CASE WHEN ");
    sd_buf_printf(o, tests[w], r->column, r->jsonpath);
    if (w == W_BOOL) {
        sd_buf_printf(o, " THEN json_format(json_extract(%s, '%s')) END)", r->column, r->jsonpath);
    } else {
        sd_buf_printf(o, " THEN %sjson_extract_scalar(%s, '%s')%s END)", w == W_NUM ? "CAST(" : "", r->column,
                      r->jsonpath, w == W_NUM ? " AS DOUBLE)" : "");
    }
}

void sd_sql_ref_value(sqlc *c, const sql_ref *r, sql_want w, buf *o) {
    if (r->kind == COL_JSON)
        json_typed(c, r, w, o);
    else if ((r->kind == COL_STRING && w == W_STR) || (r->kind == COL_BOOLTEXT && w == W_BOOL))
        sd_buf_puts(o, r->column);
    else
        sd_buf_puts(o, w == W_NUM ? "CAST(NULL AS DOUBLE)" : "CAST(NULL AS VARCHAR)");
}

/* Present and not null. */
static void present(sqlc *c, const sql_ref *r, buf *o) {
    if (r->kind != COL_JSON)
        sd_buf_printf(o, "%s IS NOT NULL", r->column);
    else if (c->d == SQL_DUCKDB)
        sd_buf_printf(o, "COALESCE(json_type(%s, '%s') <> 'NULL', FALSE)", r->column, r->jsonpath);
    else
        sd_buf_printf(o, "COALESCE(json_format(json_extract(%s, '%s')) <> 'null', FALSE)", r->column, r->jsonpath);
}

/* The scalar text of r (a string, or a number's digits), NULL for other types. */
static void scalar_text(sqlc *c, const sql_ref *r, buf *o) {
    if (r->kind != COL_JSON)
        sd_buf_puts(o, r->column);
    else if (c->d == SQL_DUCKDB)
        sd_buf_printf(o,
                      "(CASE WHEN json_type(%s, '%s') IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT') "
                      "THEN json_extract_string(%s, '%s') END)",
                      r->column, r->jsonpath, r->column, r->jsonpath);
    else
        sd_buf_printf(o,
                      "(CASE WHEN NOT regexp_like(json_format(json_extract(%s, '%s')), '^[tf]') THEN "
                      "json_extract_scalar(%s, '%s') END)",
                      r->column, r->jsonpath, r->column, r->jsonpath);
}

/* The value tagged with its JSON type (a group key). */
static void tagged(sqlc *c, const sql_ref *r, buf *o) {
    if (r->kind != COL_JSON) {
        sd_buf_printf(o, "'s' || %s", r->column);
        return;
    }
    const char *col = r->column, *jp = r->jsonpath;
    if (c->d == SQL_DUCKDB) {
        sd_buf_printf(o,
                      "(CASE json_type(%s, '%s') WHEN 'NULL' THEN NULL WHEN 'VARCHAR' THEN 's' || "
                      "json_extract_string(%s, '%s') WHEN 'BIGINT' THEN 'n' || CAST(CAST(json_extract_string(%s, "
                      "'%s') AS DOUBLE) AS VARCHAR) WHEN 'UBIGINT' THEN 'n' || CAST(CAST(json_extract_string(%s, "
                      "'%s') AS DOUBLE) AS VARCHAR) WHEN 'HUGEINT' THEN 'n' || CAST(CAST(json_extract_string(%s, "
                      "'%s') AS DOUBLE) AS VARCHAR) WHEN 'DOUBLE' THEN 'n' || CAST(CAST(json_extract_string(%s, "
                      "'%s') AS DOUBLE) AS VARCHAR) ELSE 'j' || CAST(json_extract(%s, '%s') AS VARCHAR) END)",
                      col, jp, col, jp, col, jp, col, jp, col, jp, col, jp, col, jp);
        return;
    }
    sd_buf_printf(o,
                  "(CASE WHEN json_format(json_extract(%s, '%s')) = 'null' THEN NULL WHEN "
                  "substr(json_format(json_extract(%s, '%s')), 1, 1) = '\"' THEN 's' || json_extract_scalar(%s, "
                  "'%s') WHEN regexp_like(json_format(json_extract(%s, '%s')), '^-?[0-9]') THEN 'n' || "
                  "CAST(CAST(json_extract_scalar(%s, '%s') AS DOUBLE) AS VARCHAR) ELSE 'j' || "
                  "json_format(json_extract(%s, '%s')) END)",
                  col, jp, col, jp, col, jp, col, jp, col, jp, col, jp);
}

typedef enum { READ_TYPED, READ_TEXT, READ_TAGGED } read_kind;

/* The first of refs that is present and not null, read as asked. */
static void first_present(sqlc *c, const sql_ref *refs, size_t n, read_kind how, sql_want w, buf *o) {
    sd_buf_puts(o, "(CASE");
    for (size_t i = 0; i < n; i++) {
        sd_buf_puts(o, " WHEN ");
        present(c, &refs[i], o);
        sd_buf_puts(o, " THEN ");
        if (how == READ_TYPED)
            sd_sql_ref_value(c, &refs[i], w, o);
        else if (how == READ_TEXT)
            scalar_text(c, &refs[i], o);
        else
            tagged(c, &refs[i], o);
    }
    sd_buf_puts(o, " END)");
}

#define MAX_FIRST 16

/* Common field f: CASE over its paths' presence, each read as asked. */
static int common_read(sqlc *c, int f, read_kind how, sql_want w, buf *o) {
    const sd_logtype *lt = sd_logtypes_find(c->lts, c->log_type);
    const lt_paths *ps = lt ? &lt->field[f] : NULL;
    if (!ps || ps->n == 0)
        return sd_sqlc_refuse(c, "@%s: log type %s has no such field", sd_common_names[f], c->log_type);
    sql_ref refs[MAX_FIRST];
    if (ps->n > MAX_FIRST) return sd_sqlc_refuse(c, "@%s: more than %d paths", sd_common_names[f], MAX_FIRST);
    for (uint32_t i = 0; i < ps->n; i++)
        if (sd_sql_ref(c, &ps->v[i].p, &refs[i]) != 0) return -1;
    first_present(c, refs, ps->n, how, w, o);
    return 0;
}

/* coalesce(.a, .b, ...) of paths on a JSON table: 1 compiled, 0 not such a
 * call (the caller compiles it), -1 refused. */
static int coalesce_read(sqlc *c, const ast_expr *e, read_kind how, sql_want w, buf *o) {
    if (e->kind != EXPR_CALL || e->fn != FN_COALESCE || !sd_sql_table_is_json(c->log_type)) return 0;
    sql_ref refs[MAX_FIRST];
    if (e->nargs > MAX_FIRST) return sd_sqlc_refuse(c, "coalesce() of more than %d values", MAX_FIRST);
    for (size_t i = 0; i < e->nargs; i++) {
        const ast_expr *a = e->args[i];
        if (a->kind != EXPR_PATH || a->path.common || a->path.has_star)
            return sd_sqlc_refuse(c, "coalesce() on a JSON table: only of plain paths");
        if (sd_sql_ref(c, &a->path, &refs[i]) != 0) return -1;
    }
    first_present(c, refs, e->nargs, how, w, o);
    return 1;
}

int sd_sql_coalesce_typed(sqlc *c, const ast_expr *e, sql_want w, buf *o) {
    return coalesce_read(c, e, READ_TYPED, w, o);
}

/* Whether every path of f is a string column (CloudTrail's @ip, @user). */
static int all_string_columns(sqlc *c, int f, const lt_paths **out) {
    const sd_logtype *lt = sd_logtypes_find(c->lts, c->log_type);
    const lt_paths *ps = lt ? &lt->field[f] : NULL;
    *out = ps;
    if (!ps || ps->n == 0) return 0;
    for (uint32_t i = 0; i < ps->n; i++) {
        sql_ref r;
        char why[256];
        if (sd_sql_table_ref(c->log_type, &ps->v[i].p, &r, why, sizeof why) != 0 || r.kind != COL_STRING) return 0;
    }
    return 1;
}

int sd_sql_common_typed(sqlc *c, int f, sql_want w, buf *o) {
    const lt_paths *ps;
    if (w == W_STR && all_string_columns(c, f, &ps)) {
        /* String columns: the first not NULL is the first present and not null. */
        if (ps->n > 1) sd_buf_puts(o, "COALESCE(");
        for (uint32_t i = 0; i < ps->n; i++) {
            sql_ref r;
            if (sd_sql_ref(c, &ps->v[i].p, &r) != 0) return -1;
            sd_buf_printf(o, "%s%s", i ? ", " : "", r.column);
        }
        if (ps->n > 1) sd_buf_putc(o, ')');
        return 0;
    }
    return common_read(c, f, READ_TYPED, w, o);
}

int sd_sql_common(sqlc *c, int f, buf *o) {
    if (f == SD_COMMON_TYPE) {
        sd_sql_quote(o, c->log_type, strlen(c->log_type));
        return 0;
    }
    const lt_paths *ps;
    /* As a string whenever present: a JSON member only where a function
     * drops what is not a string (lower, upper). */
    if (!all_string_columns(c, f, &ps) && !c->fn_arg && ps && ps->n)
        return sd_sqlc_refuse(c, "@%s: its paths may be of any JSON type in the table", sd_common_names[f]);
    return sd_sql_common_typed(c, f, W_STR, o);
}

int sd_sql_time_text(sqlc *c, buf *o) {
    const lt_paths *ps;
    if (all_string_columns(c, SD_COMMON_TIME, &ps)) return sd_sql_common_typed(c, SD_COMMON_TIME, W_STR, o);
    return common_read(c, SD_COMMON_TIME, READ_TEXT, W_STR, o);
}

int sd_sql_key(sqlc *c, const ast_expr *e, buf *o) {
    if (!sd_sql_table_is_json(c->log_type)) return sd_sql_string_value(c, e, o);
    if (e->kind == EXPR_PATH && e->path.common && e->path.common - 1 != SD_COMMON_TYPE)
        return common_read(c, e->path.common - 1, READ_TAGGED, W_STR, o);
    if (e->kind == EXPR_PATH && !e->path.common) {
        if (e->path.has_star) return sd_sqlc_refuse(c, "%s: [*] paths are not compiled to SQL", e->path.text);
        sql_ref r;
        if (sd_sql_ref(c, &e->path, &r) != 0) return -1;
        tagged(c, &r, o);
        return 0;
    }
    int rc = coalesce_read(c, e, READ_TAGGED, W_STR, o);
    if (rc != 0) return rc < 0 ? -1 : 0;
    /* Another function gives a string or nothing. */
    sd_buf_puts(o, "('s' || ");
    if (sd_sql_string_value(c, e, o) != 0) return -1;
    sd_buf_putc(o, ')');
    return 0;
}

/* ---- the time --------------------------------------------------------------------- */

#define RFC                                                                                                            \
    "'^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}:[0-9]{2}):([0-9]{2})(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})?$'"

void sd_sql_time_ns(sqlc *c, const char *t, buf *o) {
    int duck = c->d == SQL_DUCKDB;
    const char *match = duck ? "regexp_matches" : "regexp_like";
    /* Epoch digits: whole, the unit by the size; past int64 nanoseconds is no time. */
    char x[200];
    snprintf(x, sizeof x, "TRY_CAST(%s AS BIGINT)", t);
    sd_buf_printf(o, "(CASE WHEN %s(%s, '^-?[0-9]+$') THEN (CASE", match, t);
    static const char *const lim[][3] = {{"100000000000", "9223372036", "1000000000"},
                                         {"100000000000000", "9223372036854", "1000000"},
                                         {"100000000000000000", "9223372036854775", "1000"}};
    for (int i = 0; i < 3; i++)
        sd_buf_printf(o, " WHEN abs(%s) < %s THEN (CASE WHEN abs(%s) <= %s THEN %s * %s END)", x, lim[i][0], x,
                      lim[i][1], x, lim[i][2]);
    sd_buf_printf(o, " ELSE %s END)\n", x);
    /* With a fraction: the engine's doubles, whole units then the rounded fraction. */
    char d[200], sc[1000];
    snprintf(d, sizeof d, "TRY_CAST(%s AS DOUBLE)", t);
    snprintf(sc, sizeof sc,
             "(CASE WHEN abs(%s) < 1e11 THEN 1e9 WHEN abs(%s) < 1e14 THEN 1e6 WHEN abs(%s) < 1e17 THEN 1e3 ELSE 1 END)",
             d, d, d);
    sd_buf_printf(o,
                  "  WHEN %s(%s, '^-?[0-9]+[.][0-9]+$') THEN (CASE WHEN abs(%s * %s) < 9.2e18 THEN "
                  "CAST(%s(%s) AS BIGINT) * CAST(%s AS BIGINT) + CAST(round((%s - %s(%s)) * %s) AS BIGINT) END)\n",
                  match, t, d, sc, duck ? "trunc" : "truncate", d, sc, d, duck ? "trunc" : "truncate", d, sc);
    /* RFC 3339 (and zone-less as UTC): the seconds by the dialect's timestamp, the fraction as digits. */
    char g[5][240];
    for (int i = 0; i < 5; i++) snprintf(g[i], sizeof g[i], "COALESCE(regexp_extract(%s, " RFC ", %d), '')", t, i + 1);
    sd_buf_printf(o, "  WHEN %s(%s, " RFC ") THEN ", match, t);
    const char *sec = "(CASE WHEN %s = '60' THEN '59' ELSE %s END)";
    char secs[600];
    snprintf(secs, sizeof secs, sec, g[2], g[2]);
    char zone[700];
    snprintf(zone, sizeof zone, "(CASE WHEN %s IN ('', 'Z', 'z') THEN '+00:00' ELSE %s END)", g[4], g[4]);
    if (duck)
        sd_buf_printf(o, "CAST(epoch(TRY_CAST(%s || ' ' || %s || ':' || %s || %s AS TIMESTAMPTZ)) AS BIGINT)", g[0],
                      g[1], secs, zone);
    else
        sd_buf_printf(o, "try(CAST(to_unixtime(from_iso8601_timestamp(%s || 'T' || %s || ':' || %s || %s)) AS BIGINT))",
                      g[0], g[1], secs, zone);
    sd_buf_printf(o,
                  " * 1000000000 + (CASE WHEN %s = '60' THEN 999999999 ELSE CAST(rpad(substr(%s || '000000000', 2, "
                  "9), 9, '0') AS BIGINT) END)\n  END)",
                  g[2], g[3]);
}
