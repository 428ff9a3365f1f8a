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
/* The event's time as epoch milliseconds, and as the record's text; its id. */
int sd_sql_time_ms(sqlc *c, buf *o);
int sd_sql_common(sqlc *c, int field, buf *o);

#endif
