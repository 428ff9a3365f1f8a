/* test_sql.c — rules compiled to SQL (src/sql/): what each test becomes, and
 * what is refused with which reason. tests/sql runs the SQL against the
 * engine; these pin the pieces a differential run might not reach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sql/sql.h"

typedef struct compiled {
    buf out, refused;
    size_t ok, bad;
    int rc;
} compiled;

static void compile(const char *text, sql_dialect d, compiled *c) {
    sd_buf_init(&c->out);
    sd_buf_init(&c->refused);
    compile_input in = {.name = "t.secdet", .text = text, .len = strlen(text)};
    c->rc = sd_sql_compile_sources(&in, 1, d, &c->out, &c->refused, &c->ok, &c->bad);
}

static void done(compiled *c) {
    sd_buf_free(&c->out);
    sd_buf_free(&c->refused);
}

static void has(const compiled *c, const char *what) {
    if (!c->out.data || !strstr(c->out.data, what)) fail_msg("missing %s in:\n%s", what, c->out.data);
}

static void test_strings_quote_and_globs_escape(void **state) {
    (void)state;
    compiled c;
    compile("rule r { on cloudtrail where .eventName == \"it's\" and .errorCode like \"50%_x*?\" }", SQL_DUCKDB, &c);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.ok, 1);
    has(&c, "\"eventname\" = 'it''s'");
    has(&c, "LIKE '50\\%\\_x%_' ESCAPE '\\'");
    done(&c);
}

static void test_ne_is_not_eq_and_lower_folds_ascii_only(void **state) {
    (void)state;
    compiled c;
    compile("rule r { on cloudtrail where lower(.userAgent) != \"curl\" and .awsRegion endswith \"-1\" }", SQL_TRINO,
            &c);
    assert_int_equal(c.ok, 1);
    has(&c, "(NOT COALESCE(translate(\"useragent\", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') = "
            "'curl', FALSE))");
    has(&c, "length(\"awsregion\") >= 2 AND substr(\"awsregion\", length(\"awsregion\") - 1) = '-1'");
    done(&c);
}

static void test_json_members_are_read_by_type(void **state) {
    (void)state;
    compiled c;
    compile("rule r { on cloudtrail where .requestParameters.durationSeconds > 3600 }", SQL_DUCKDB, &c);
    has(&c, "json_type(\"requestparameters\", '$.durationSeconds') IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')");
    done(&c);
    /* A string column never holds a number: the comparison is false, not a cast. */
    compile("rule r { on cloudtrail where .eventName == 5 }", SQL_DUCKDB, &c);
    has(&c, "COALESCE(CAST(NULL AS DOUBLE) = CAST(5 AS DOUBLE), FALSE)");
    done(&c);
}

static void test_refusals_say_why(void **state) {
    (void)state;
    compiled c;
    compile("rule a { on cloudtrail where .userAgent matches /curl/ }\n"
            "rule b { on cloudtrail where .nosuch == \"x\" }\n"
            "rule c { where .eventName == \"x\" }\n"
            "rule d { on cloudtrail where .userIdentity.type == null }\n"
            "rule e { on cloudtrail where .eventName == \"x\" count >= 2 within 1m throttle 1h }\n"
            "rule f { on cloudtrail where .eventName == \"x\" }\n",
            SQL_DUCKDB, &c);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.ok, 1);
    assert_int_equal(c.bad, 5);
    const char *r = c.refused.data;
    assert_non_null(strstr(r, "rule a: matches /curl/: PCRE2 regexes"));
    assert_non_null(strstr(r, "rule b: .nosuch: the table has no column for it"));
    assert_non_null(strstr(r, "rule c: no `on`"));
    assert_non_null(strstr(r, "rule d: == null"));
    assert_non_null(strstr(r, "rule e: a throttle over an aggregation"));
    has(&c, "-- rule a: not compiled: matches /curl/");
    done(&c);
}

static void test_aggregations_reset_like_the_engine(void **state) {
    (void)state;
    compiled c;
    const char *rule = "rule r { on cloudtrail where .eventName == \"x\" distinct .userIdentity.arn >= 3 within 10m "
                       "by .sourceIPAddress }";
    compile(rule, SQL_TRINO, &c);
    has(&c, "AFTER MATCH SKIP PAST LAST ROW");
    has(&c, "DEFINE b AS b.t_ns - FIRST(t_ns) <= 600000000000 AND cardinality(array_distinct(array_agg(v))) >= 3");
    done(&c);
    compile(rule, SQL_DUCKDB, &c);
    has(&c, "WITH RECURSIVE");
    has(&c, "CASE WHEN w.fire THEN []::STRUCT(t BIGINT, s VARCHAR, v VARCHAR)[] ELSE w.win END");
    done(&c);
}

static void test_tables(void **state) {
    (void)state;
    buf b;
    sd_buf_init(&b);
    assert_int_equal(sd_sql_table_ddl("cloudtrail", SQL_ATHENA, &b), 0);
    assert_non_null(strstr(b.data, "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'"));
    sd_buf_reset(&b);
    assert_int_equal(sd_sql_table_ddl("cloudtrail", SQL_DUCKDB, &b), 0);
    assert_non_null(strstr(b.data, "resources STRUCT(arn VARCHAR, accountid VARCHAR, type VARCHAR)[]"));
    sd_buf_reset(&b);
    assert_int_equal(sd_sql_table_ddl("okta", SQL_TRINO, &b), 0);
    assert_string_equal(b.data, "CREATE TABLE okta_system_log (\n    event VARCHAR\n);\n");
    assert_int_equal(sd_sql_table_ddl("jsonl", SQL_TRINO, &b), -1);
    sd_buf_free(&b);
    sql_dialect d;
    assert_int_equal(sd_sql_dialect_parse("duckdb", &d), 0);
    assert_int_equal(d, SQL_DUCKDB);
    assert_int_equal(sd_sql_dialect_parse("mysql", &d), -1);
}

static void test_rules_that_do_not_compile_give_nothing(void **state) {
    (void)state;
    compiled c;
    compile("rule r { on cloudtrail wher .a == 1 }", SQL_DUCKDB, &c);
    assert_int_equal(c.rc, -1);
    done(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_quote_and_globs_escape),
        cmocka_unit_test(test_ne_is_not_eq_and_lower_folds_ascii_only),
        cmocka_unit_test(test_json_members_are_read_by_type),
        cmocka_unit_test(test_refusals_say_why),
        cmocka_unit_test(test_aggregations_reset_like_the_engine),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_rules_that_do_not_compile_give_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
