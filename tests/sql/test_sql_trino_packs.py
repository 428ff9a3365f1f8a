"""test_sql_packs.py's comparison on a real Trino: every compiled rule of
every shipped pack, over the pack's own test events (all at once) and the
JSON tables' hard cases (test_sql_json_tables.py), gives in Trino exactly `secdet scan`'s
alerts. The sequences are compared as test_sql_trino_server.py does (their
first event aside). Needs SECDET_TRINO_URL (tests/sql/trino.sh); skips
without it."""
import collections
import json
import os
import re

import pytest

import sqltest
import test_sql_json_tables as hard
import test_sql_packs as packs
import test_sql_sequence as seqs
import test_sql_sum as sums
import trinoclient

URL = os.environ.get("SECDET_TRINO_URL", "")
duckdb = pytest.importorskip("duckdb", reason="DuckDB makes CloudTrail's rows (tests/sql/setup.sh installs it)")
if not URL or not trinoclient.reachable(URL):
    pytest.skip("no Trino server (set SECDET_TRINO_URL; tests/sql/trino.sh starts one)", allow_module_level=True)

TABLES = {"cloudtrail": "cloudtrail_logs", "guardduty": "guardduty_findings", "gcp-audit": "gcp_audit_logs",
          "gworkspace": "gworkspace_activities", "okta": "okta_system_log", "crowdstrike": "crowdstrike_events"}


def q(sql):
    return trinoclient.query(URL, sql)


@pytest.fixture(scope="module")
def lake():
    _, cols, _ = sqltest.duckdb_table(duckdb, [])
    for lt, name in TABLES.items():
        q("DROP TABLE IF EXISTS %s" % name)
        q(sqltest.secdet("sql", "--dialect", "trino", "--table", lt).stdout.rstrip().rstrip(";"))
    types = q("DESCRIBE cloudtrail_logs")
    return cols, types


def fill(lake, events, seen):
    cols, types = lake
    rows = collections.defaultdict(list)
    for ev in events:
        lt = seen.get(packs.canon(ev), (None, None))[0]
        if lt == "cloudtrail":
            lower = {k.lower(): v for k, v in ev.items()}
            rows[lt].append(json.dumps({name: sqltest.serde(lower.get(name), typ) for name, typ, *_ in cols}))
        elif lt in TABLES:
            rows[lt].append(json.dumps(ev))
    for lt, name in TABLES.items():
        q("DROP TABLE %s" % name)
        q(sqltest.secdet("sql", "--dialect", "trino", "--table", lt).stdout.rstrip().rstrip(";"))
        values = ", ".join("('%s')" % r.replace("'", "''") for r in rows[lt])
        if not values:
            continue
        if lt == "cloudtrail":
            row_type = "ROW(%s)" % ", ".join("%s %s" % (n, t) for n, t, *_ in types)
            select = ", ".join("r.%s" % n for n, *_ in types)
            q("INSERT INTO cloudtrail_logs SELECT %s FROM (SELECT CAST(json_parse(x) AS %s) AS r FROM (VALUES %s) "
              "AS v(x))" % (select, row_type, values))
        else:
            q("INSERT INTO %s VALUES %s" % (name, values))


def compare(lake, rules, events, tmp_path, name, firsts=False):
    p = sqltest.secdet("sql", "--dialect", "trino", rules)
    stmts = sqltest.statements(p.stdout)
    if not stmts:
        return 0
    f = tmp_path / "ev.jsonl"
    f.write_text("".join(json.dumps(ev) + "\n" for ev in events))
    seen = packs.detected(str(f))
    fill(lake, events, seen)
    compiled = {r for r, _ in stmts}
    stateless = {r for r, s in stmts if "MATCH_RECOGNIZE" not in s}
    # A sequence's first event aside where ties may order it otherwise (firsts: none do).
    sequences = set() if firsts else {r for r, s in stmts if "PATTERN (p1 " in s}
    want = packs.engine_rows(rules, str(f), seen, stateless)
    want = collections.Counter({k[:4] + ((None,) if k[0] in sequences else k[4:5]) + k[5:]: v
                                for k, v in want.items() if k[0] in compiled})
    got = collections.Counter()
    for rule, stmt in stmts:
        for r in q(stmt):
            ev_id = r[2] if rule in stateless else None
            first = None if rule in sequences else packs.instant(r[4])
            # Trino writes a DOUBLE group key as 5.0E0, DuckDB (and the test's engine rows) as 5.0.
            grp = re.sub(r"\b([0-9]+\.[0-9]+)E0\b", r"\1", r[5])
            got[(r[0], packs.instant(r[1]), ev_id, r[3], first, grp)] += 1
    assert got == want, name
    return sum(want.values())


@pytest.mark.parametrize("pack", packs.PACKS, ids=os.path.basename)
def test_pack_on_trino_matches_scan(lake, pack, tmp_path):
    """All the pack's test events at once, in event-time order (a query a
    case is too slow on Trino): one set of events both sides see."""
    # Each event id once: cases repeat a scenario's events (and change one
    # member of them), and rows equal in time and id are ties that no table
    # orders as the engine's arrival does (the per-case DuckDB test has them).
    evs = [ev for _, case in packs.cases(pack) for ev in case if isinstance(ev, dict)]
    for n, ev in enumerate(evs):
        ev[packs.MARK] = n
    f = tmp_path / "all.jsonl"
    f.write_text("".join(json.dumps(ev) + "\n" for ev in evs))
    seen = packs.detected(str(f))
    rank = {mark: i for i, mark in enumerate(seen)}
    ids = set()
    unique = []
    for ev in sorted(evs, key=lambda ev: rank.get(ev[packs.MARK], len(rank))):
        key = seen.get(ev[packs.MARK], (None, None))
        if key[1] is None or key not in ids:
            ids.add(key)
            unique.append(ev)
    evs = unique
    print("%s: %d alerts compared on Trino" % (os.path.basename(pack), compare(lake, pack, evs, tmp_path, pack)))


def test_json_tables_hard_cases_on_trino(lake, tmp_path):
    rules = tmp_path / "hard.secdet"
    rules.write_text(hard.RULES.replace("rule zone_null { on okta where .client.zone == null }\n", ""))
    evs = hard.events()
    for n, ev in enumerate(evs):
        ev[packs.MARK] = n
    assert compare(lake, str(rules), evs, tmp_path, "hard") > 10


def test_sum_on_trino(lake, tmp_path):
    """test_sql_sum.py's whole numbers: the reset, negative numbers, the
    window's edge, on Trino; its fractions stop the query with an error."""
    rules = tmp_path / "sum.secdet"
    rules.write_text(sums.WHOLE)
    assert compare(lake, str(rules), sums.all_events(), tmp_path, "sum") == 28
    rules.write_text(sums.FRACTIONS)
    for rule, stmt in sqltest.statements(sqltest.secdet("sql", "--dialect", "trino", str(rules)).stdout):
        with pytest.raises(RuntimeError, match="rule %s: sum on Trino is exact for whole numbers" % rule):
            q(stmt)


def test_sequences_on_trino(lake, tmp_path):
    """test_sql_sequence.py's three- and four-step sequences on Trino: the
    alert's time, the firing event, and its first event (the latest start of
    a chain that completes) are the engine's."""
    rules = tmp_path / "seq.secdet"
    rules.write_text(seqs.RULES)
    assert compare(lake, str(rules), seqs.events(), tmp_path, "sequences", firsts=True) == 122
