"""test_sql_part2.py — what the language's Part 2 and tuning add is refused
per rule with its reason, never approximated (`hour(@time) == 3` as a NULL
would silently match nothing); a tune that changes only the severity keeps
the rule compiled, and a disabled rule is left out like a private one."""
import sqltest

RULES = (
    'rule fold { on cloudtrail where .eventName =~ "consolelogin" }\n'
    'rule ilk { on cloudtrail where .eventName ilike "con*" }\n'
    'rule elem { on cloudtrail where any .resources[*] (.type == "x") }\n'
    'rule hr { on cloudtrail where hour(@time) == 3 }\n'
    'rule b64 { on cloudtrail where b64decode(.userAgent) contains "x" }\n'
    'rule strs { on cloudtrail where .eventName startswith ["Put", "Delete"] }\n'
    'rule summed { on cloudtrail where .eventName == "x" sum .requestParameters.size >= 3 within 5m by @user }\n'
    'rule absent { on cloudtrail sequence within 1h by @user { a: .eventName == "A"; not b: .eventName == "B" } }\n'
    'rule unord { on cloudtrail sequence unordered within 1h by @user { a: .eventName == "A"; b: .eventName == "B" } }\n'
    'rule excepted { on cloudtrail where .eventName == "ConsoleLogin" }\n'
    'tune excepted { except .sourceIPAddress == "192.0.2.1" until 2099-01-01 "office" }\n'
    'rule louder { on cloudtrail where .eventName == "StopLogging" }\n'
    'tune louder { severity = critical }\n'
    'rule gone { on cloudtrail where .eventName == "DeleteTrail" }\n'
    'disable gone "replaced"\n'
)

REASONS = {
    "fold": "=~ and the i-forms fold case by Unicode's simple folding",
    "ilk": "ilike folds case by Unicode's simple folding",
    "elem": "any/all over the elements of an array are not compiled to SQL",
    "hr": "hour() is not compiled to SQL",
    "b64": "b64decode() is not compiled to SQL",
    "strs": "a string test against a list is not compiled to SQL",
    "unord": "an unordered sequence is not compiled to SQL",
    "excepted": "a rule given exceptions or a throttle by `tune` is not compiled to SQL",
}


def test_part2_and_tuning_are_refused_with_their_reasons(tmp_path):
    rules = tmp_path / "r.secdet"
    rules.write_text(RULES)
    for dialect in ("trino", "duckdb"):
        p = sqltest.secdet("sql", "--dialect", dialect, str(rules))
        assert p.returncode == 1, p.stderr
        assert [r for r, _ in sqltest.statements(p.stdout)] == ["summed", "louder"], p.stdout
        absent = ("step 'b': a trailing not step waits DUR past the completion for its absence" if dialect == "trino"
                  else "a sequence needs MATCH_RECOGNIZE, which DuckDB does not have")
        assert f"secdet: rule absent: {absent}" in p.stderr, p.stderr
        for rule, why in REASONS.items():
            assert f"secdet: rule {rule}: {why}" in p.stderr, (dialect, rule, p.stderr)
        assert "gone" not in p.stdout and "rule gone" not in p.stderr
