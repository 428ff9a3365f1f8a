/* sql_int.h — what sql_expr.c (conditions and values) and sql_rule.c (rules)
 * share: the compiling context and the value kinds. */
#ifndef SECDET_SQL_INT_H
#define SECDET_SQL_INT_H

#include "event/logtype.h"
#include "sql/sql.h"

typedef struct sqlc {
    sql_dialect d;
    const char *log_type;          /* the rule's; its table is the one queried */
    const struct sd_logtypes *lts; /* for the common fields */
    char why[320];                 /* the first reason a rule is refused; "" while it compiles */
    int fn_arg;                    /* compiling lower()/upper()'s argument: a JSON member is read as a string */
} sqlc;

/* What a value must be, for a test against a literal of that type. */
typedef enum { W_STR, W_NUM, W_BOOL } sql_want;

/* Sets the refusal reason (the first one stays). Returns -1. */
int sd_sqlc_refuse(sqlc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as an SQL string literal. */
void sd_sql_quote(buf *o, const char *s, size_t n);
/* A condition as an SQL boolean that is never NULL (so NOT stays exact). */
int sd_sql_cond(sqlc *c, const ast_cond *cond, buf *o);
/* A value that is a string whenever present (a string column, lower() of
 * one, coalesce of such): NULL when missing. -1 (refused) for anything else. */
int sd_sql_string_value(sqlc *c, const ast_expr *e, buf *o);
/* ---- what a rule's SELECT is made of (sql_rule.c) ---- */

/* "SELECT event_time, event_id, k1..": what every walk over a group needs. */
int sd_sql_key_columns(sqlc *c, const ast_key *keys, size_t nkeys, buf *o);
/* "SELECT t_ns, r.* FROM (": the rows of a walk with their time in nanoseconds. */
void sd_sql_timed(sqlc *c, buf *o);
/* grp: the keys' values joined by ", ". */
void sd_sql_grp_column(sqlc *c, buf *o, size_t nkeys);
/* Each group in event-time order: "[PARTITION BY k1, ...SEP]ORDER BY t_ns, event_id". */
void sd_sql_group_order(buf *o, size_t nkeys, const char *sep);
/* "SELECT 'name' AS rule, ". */
void sd_sql_head(buf *o, const ast_rule *r);
/* A sequence on Trino/Athena (sql_seq.c); -1 refused. */
int sd_sql_trino_sequence(sqlc *c, const ast_rule *r, buf *o);

/* A value read as a number (a path's JSON number, len()), NULL when it is
 * none; -1 (refused) for [*] paths and what has no exact number. */
int sd_sql_number(sqlc *c, const ast_expr *e, buf *o);
/* sum's threshold test of the total `tot` (">= N", "> N" for `sum > N`). */
void sd_sql_sum_test(const ast_rule *r, const char *tot, buf *o);
/* Trino: TRUE while the match's numbers are whole and their magnitudes
 * add up to less than 2^53 (where a fresh sum is the engine's running
 * total); else an error that stops the query (sql_sum.c). */
void sd_sql_sum_guard_trino(const ast_rule *r, buf *o);
/* DuckDB: the engine's total after row m of the walk, from w's. */
void sd_sql_sum_step_duckdb(const ast_rule *r, buf *o);
/* The path's place in the rule's table (refused when it has none). */
int sd_sql_ref(sqlc *c, const sd_path *p, sql_ref *r);
/* A column or JSON member read as w: NULL when it is another type. */
void sd_sql_ref_value(sqlc *c, const sql_ref *r, sql_want w, buf *o);
/* Common field `field` read as w: the first of its paths that is present
 * and not null decides, as the engine's (sql_json.c). */
int sd_sql_common_typed(sqlc *c, int field, sql_want w, buf *o);
/* ... read as a string (the event's time and id: as their record has them). */
int sd_sql_common(sqlc *c, int field, buf *o);
/* coalesce() of paths on a JSON table, read as w: 1 compiled, 0 not such
 * a call, -1 refused. */
int sd_sql_coalesce_typed(sqlc *c, const ast_expr *e, sql_want w, buf *o);
/* The event's time as the record's text (a string, or an epoch number's
 * digits), NULL when it has none. */
int sd_sql_time_text(sqlc *c, buf *o);
/* The time text in column `col` as epoch nanoseconds, read exactly as the
 * engine reads it (RFC 3339, zone-less as UTC, epoch digits by their size);
 * NULL when the engine would not read it either. */
void sd_sql_time_ns(sqlc *c, const char *col, buf *o);
/* A group key or distinct value: a string value (CloudTrail's table), or on
 * a JSON table a value tagged with its JSON type, so that "5" and 5 are two
 * groups as in the engine; NULL when missing or null. */
int sd_sql_key(sqlc *c, const ast_expr *e, buf *o);

#endif
