"""`secdet sql --dialect trino` on a real Trino: every compiled rule of the
shipped packs — the sequence's MATCH_RECOGNIZE too — run over AWS's table of
the same events (in Trino's memory connector) gives exactly `secdet scan`'s
alerts, as the DuckDB test asks of DuckDB's SQL.

Needs a Trino server: SECDET_TRINO_URL (tests/sql/trino.sh starts one from
Maven Central's trino-server and prints it); skips without one."""
import collections
import os

import pytest

import sqltest
import trinoclient

URL = os.environ.get("SECDET_TRINO_URL", "")
duckdb = pytest.importorskip("duckdb", reason="DuckDB makes the table's rows (tests/sql/setup.sh installs it)")
if not URL or not trinoclient.reachable(URL):
    pytest.skip("no Trino server (set SECDET_TRINO_URL; tests/sql/trino.sh starts one)", allow_module_level=True)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trino")
    paths = sqltest.write_events(tmp)
    _, _, rows = sqltest.duckdb_table(duckdb, paths)  # the JsonSerDe's rows
    trinoclient.query(URL, "DROP TABLE IF EXISTS cloudtrail_logs")
    trinoclient.query(URL, sqltest.secdet("sql", "--dialect", "trino", "--table", "cloudtrail").stdout.rstrip().rstrip(";"))
    types = trinoclient.query(URL, "DESCRIBE cloudtrail_logs")
    row_type = "ROW(%s)" % ", ".join("%s %s" % (name, typ) for name, typ, *_ in types)
    select = ", ".join("r.%s" % name for name, *_ in types)
    for i in range(0, len(rows), 400):
        values = ", ".join("('%s')" % r.replace("'", "''") for r in rows[i:i + 400])
        trinoclient.query(URL, "INSERT INTO cloudtrail_logs SELECT %s FROM (SELECT CAST(json_parse(x) AS %s) AS r "
                               "FROM (VALUES %s) AS v(x))" % (select, row_type, values))
    assert trinoclient.query(URL, "SELECT count(*) FROM cloudtrail_logs") == [[len(rows)]]
    return paths


def keyed(rows, stateless, sequences):
    """The firing event only where ties cannot move it; a sequence's first
    event apart (compared in the test, ties aside)."""
    return collections.Counter(r if r[0] in stateless else r[:2] + r[3:4] + r[5:] if r[0] in sequences
                               else r[:2] + r[3:] for r in rows)


@pytest.mark.parametrize("pack", sqltest.PACKS, ids=os.path.basename)
def test_trino_matches_scan(lake, pack):
    p = sqltest.secdet("sql", "--dialect", "trino", pack)
    assert p.returncode == 0, p.stderr
    stmts = sqltest.statements(p.stdout)
    got = []
    for rule, stmt in stmts:
        got.extend(tuple(r) for r in trinoclient.query(URL, stmt))
    stateless = {r for r, s in stmts if "MATCH_RECOGNIZE" not in s}
    sequences = {r for r, s in stmts if "PATTERN (p1 " in s}
    alerts = sqltest.engine_alerts(pack, lake)
    assert alerts
    assert keyed(got, stateless, sequences) == keyed(alerts, stateless, sequences)
    # A sequence's first event: the step 1 event nearest before step 2. Where
    # one of the same second came first in the file (the engine's order), the
    # table's order (event id) may take another: only those may differ.
    first = {(r[0], r[1], r[5]): r[4] for r in got if r[0] in sequences}
    for a in alerts:
        if a[0] in sequences:
            assert first[a[0], a[1], a[5]] == a[4] or a[4] == a[1], a
    if sequences:
        assert any(a[0] in sequences and a[4] != a[1] for a in alerts)  # not only ties
