"""`secdet sql --dialect duckdb` against the engine: every stateless, counting
and throttled rule of the shipped packs, run in DuckDB over AWS's Athena
table of the same events, gives exactly the alerts `secdet scan` gives
(the same rule, time, count, first event time and group; the same firing
event for stateless rules). The table is the one `secdet sql --table
cloudtrail` prints. Skips when DuckDB is missing (tests/sql/setup.sh)."""
import collections
import os

import pytest

import sqltest

duckdb = pytest.importorskip("duckdb", reason="DuckDB is not installed (tests/sql/setup.sh installs it)")


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lake")
    paths = sqltest.write_events(tmp)
    con, cols, lines = sqltest.duckdb_table(duckdb, paths)
    rows = os.path.join(str(tmp), "rows.jsonl")
    with open(rows, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    n = len(lines)
    spec = "{" + ", ".join("'%s': '%s'" % (name, typ.replace("'", "''")) for name, typ, *_ in cols) + "}"
    con.execute("INSERT INTO cloudtrail_logs SELECT * FROM read_json('%s', format='newline_delimited', columns=%s)"
                % (rows, spec))
    assert con.execute("SELECT count(*) FROM cloudtrail_logs").fetchone()[0] == n
    return con, paths


def run_pack(con, pack):
    p = sqltest.secdet("sql", "--dialect", "duckdb", pack)
    out = []
    for rule, stmt in sqltest.statements(p.stdout):
        for r in con.execute(stmt).fetchall():
            out.append(tuple(r))
    return p, out


def keyed(rows, stateless):
    """Rows as compared: the firing event only where ties cannot move it."""
    return collections.Counter(r if r[0] in stateless else r[:2] + r[3:] for r in rows)


@pytest.mark.parametrize("pack", sqltest.PACKS, ids=os.path.basename)
def test_duckdb_matches_scan(lake, pack):
    con, paths = lake
    p, sql_rows = run_pack(con, pack)
    # Only sequences may be refused on DuckDB.
    for line in p.stderr.splitlines():
        if line.startswith("secdet: rule "):
            assert "sequence needs MATCH_RECOGNIZE" in line, line
    compiled = {rule for rule, _ in sqltest.statements(p.stdout)}
    alerts = [a for a in sqltest.engine_alerts(pack, paths) if a[0] in compiled]
    stateless = {r for r, s in sqltest.statements(p.stdout) if "WITH RECURSIVE" not in s}
    assert alerts, "the events fire none of the pack's compiled rules"
    assert keyed(sql_rows, stateless) == keyed(alerts, stateless)


def test_resets_and_throttle_are_the_engines(lake):
    """The generated bursts fire the aggregations more than once: a plain
    window (every event past the threshold) would give more rows."""
    con, paths = lake
    _, rows = run_pack(con, sqltest.PACKS[1])
    fired = collections.Counter((r[0], r[5]) for r in rows)
    assert fired["aws_console_brute_force", "198.51.100.1"] == 2  # the 5th and the 10th of 12
    assert fired["aws_console_brute_force", "198.51.100.2"] == 1  # 4, a gap, then 5
    assert fired["aws_access_denied_burst", "arn:aws:iam::111122223333:user/mallory"] == 2
    assert fired["aws_root_usage_throttled", "192.0.2.77"] == 3
    assert fired["aws_console_password_spray", "203.0.113.9"] == 1
