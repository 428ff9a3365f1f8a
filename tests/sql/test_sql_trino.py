"""`secdet sql --dialect trino|athena`: every statement parses with sqlglot's
Trino dialect (Athena engine v3 is Trino), the aggregations and sequences
are MATCH_RECOGNIZE with the engine's reset (AFTER MATCH SKIP PAST LAST ROW),
the Athena table is AWS's DDL, and what cannot be said exactly is refused per
rule with the reason while the rest still compiles. Skips without sqlglot."""
import os

import pytest

import sqltest

sqlglot = pytest.importorskip("sqlglot", reason="sqlglot is not installed (tests/sql/setup.sh installs it)")


@pytest.mark.parametrize("dialect", ["trino", "athena"])
@pytest.mark.parametrize("pack", sqltest.PACKS, ids=os.path.basename)
def test_every_rule_compiles_and_parses(dialect, pack):
    p = sqltest.secdet("sql", "--dialect", dialect, pack)
    assert p.returncode == 0, p.stderr
    stmts = sqltest.statements(p.stdout)
    assert stmts
    for rule, stmt in stmts:
        tree = sqlglot.parse_one(stmt, read="trino")
        assert tree is not None, rule
        if "count" in stmt.lower() and "MATCH_RECOGNIZE" in stmt:
            assert "AFTER MATCH SKIP PAST LAST ROW" in stmt


def test_sequence_is_match_recognize_on_trino_and_refused_on_duckdb():
    pack = sqltest.PACKS[1]
    trino = dict(sqltest.statements(sqltest.secdet("sql", "--dialect", "trino", pack).stdout))
    seq = trino["aws_iam_recon_then_privilege_change"]
    assert "PATTERN (p1 x1*? p2)" in seq and "p2.t_ns - FIRST(p1.t_ns) <= 3600000000000" in seq
    duck = sqltest.secdet("sql", "--dialect", "duckdb", pack)
    assert duck.returncode == 1
    assert ("secdet: rule aws_iam_recon_then_privilege_change: a sequence needs MATCH_RECOGNIZE, "
            "which DuckDB does not have") in duck.stderr
    assert "4 rules compiled to SQL, 1 refused" in duck.stderr


def test_refused_per_rule_with_the_reason(tmp_path):
    rules = tmp_path / "r.secdet"
    rules.write_text('rule ok { on cloudtrail where .eventName == "StopLogging" }\n'
                     'rule re { on cloudtrail where .userAgent matches /curl/ }\n'
                     'rule ip { on cloudtrail where .sourceIPAddress in cidr("10.0.0.0/8") }\n'
                     'rule lines { on jsonl where .eventType == "user.session.start" }\n'
                     'rule any { where .eventName == "x" }\n'
                     'rule star { on cloudtrail where .resources[*].ARN == "x" }\n'
                     'rule three { on cloudtrail sequence within 1h by @user { a: .eventName == "A"; '
                     'b: .eventName == "B"; c: .eventName == "C" } }\n')
    p = sqltest.secdet("sql", "--dialect", "trino", str(rules))
    assert p.returncode == 1
    assert [r for r, _ in sqltest.statements(p.stdout)] == ["ok", "three"]
    err = p.stderr
    assert "rule re: matches /curl/: PCRE2 regexes are not the SQL engines'" in err
    assert "rule ip: in cidr(...)" in err
    assert "rule lines: no documented table for log type 'jsonl'" in err
    assert "rule any: no `on`" in err
    assert "rule star: .resources[*].ARN: [*] paths are not compiled to SQL" in err
    assert "-- rule re: not compiled: matches /curl/" in p.stdout


def test_athena_table_is_awss_ddl():
    ddl = sqltest.secdet("sql", "--dialect", "athena", "--table", "cloudtrail").stdout
    assert ddl.startswith("CREATE EXTERNAL TABLE cloudtrail_logs (")
    assert "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'" in ddl
    assert "com.amazon.emr.cloudtrail.CloudTrailInputFormat" in ddl
    assert "useridentity STRUCT<type: STRING, principalid: STRING, arn: STRING" in ddl
    assert "resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>" in ddl
    assert sqltest.secdet("sql", "--table", "jsonl", check=False).returncode == 2
