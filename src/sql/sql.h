/* sql.h — rules compiled to SQL for a log lake (`secdet sql`, docs/investigate.md).
 *
 * A rule becomes one SELECT over the documented table of its log type
 * (sql_table.c): a stateless rule a WHERE clause; count, distinct, sum and
 * a throttle a pass over each group in event-time order (MATCH_RECOGNIZE on
 * Trino and Athena, a recursive walk on DuckDB); a sequence MATCH_RECOGNIZE,
 * refused on DuckDB. Whatever the SQL could not say exactly as the engine
 * does is refused for that rule, with the reason — never approximated.
 * Every SELECT returns the same columns, so that one rule's matches can be
 * told from the engine's alerts: rule, event_time, event_id, count,
 * first_seen, grp (the group's key values joined by ", ").
 */
#ifndef SECDET_SQL_SQL_H
#define SECDET_SQL_SQL_H

#include <stddef.h>

#include "lang/ast.h"
#include "lang/compile.h"
#include "util/buf.h"
#include "util/diag.h"

typedef enum { SQL_ATHENA, SQL_TRINO, SQL_DUCKDB } sql_dialect;

/* "athena", "trino", "duckdb" → 0, else -1. */
int sd_sql_dialect_parse(const char *name, sql_dialect *out);

/* ---- the tables (sql_table.c) ---- */

typedef enum {
    COL_STRING,   /* a string of the event, NULL when missing or null */
    COL_BOOLTEXT, /* a boolean of the event, as the text 'true' / 'false' */
    COL_JSON,     /* an object of the event, as its JSON text: paths below it go through JSON functions */
} sql_col_kind;

/* Where a field path of an event lives in the table. */
typedef struct sql_ref {
    sql_col_kind kind;
    char column[160];   /* the SQL expression of the column ("useridentity"."arn") */
    char jsonpath[256]; /* COL_JSON: the JSONPath below it ("$.bucketName"); "" for the column itself */
} sql_ref;

/* The table of a log type's events: its name, NULL when it has none. */
const char *sd_sql_table_name(const char *log_type);
/* Whether log_type's table is one row per event with its JSON text in
 * the column "event" (every log type's but CloudTrail's). */
int sd_sql_table_is_json(const char *log_type);
/* The path's place in the table of log_type. -1 with a reason in why when
 * the table has no column for it. */
int sd_sql_table_ref(const char *log_type, const sd_path *p, sql_ref *out, char *why, size_t whylen);
/* CREATE TABLE of log_type's table in the dialect (CloudTrail on Athena: AWS's DDL; the
 * other log types: one row per event, its JSON text in "event"). -1 when none. */
int sd_sql_table_ddl(const char *log_type, sql_dialect d, buf *out);

/* ---- compiling (sql_expr.c, sql_rule.c) ---- */

/* Compiles every alerting rule of a checked ruleset: one statement each
 * (ended by ";\n") into out; a refused rule as an SQL comment there and as
 * "rule NAME: reason" in refused (one per line). Returns how many were
 * refused. log_types: the engine's, for the common fields. */
size_t sd_sql_compile_ruleset(const ast_ruleset *rs, const struct sd_logtypes *log_types, sql_dialect d, buf *out,
                              buf *refused, size_t *compiled);

/* The whole front end: parse and check the files (the caller has shown
 * their diagnostics: the engine loaded them first), then compile with the
 * built-in log types. 0, or -1 when they do not compile or memory ran out. */
int sd_sql_compile_sources(const compile_input *files, size_t nfiles, sql_dialect d, buf *out, buf *refused,
                           size_t *compiled, size_t *nrefused);

#endif
