"""`secdet sql` over every shipped pack: each pack's own test events
(rules/**/X.tests.jsonl, one case at a time) are put in the table of the log
type the engine detects (`secdet hunt --fields @type,@id`): CloudTrail's
rows as AWS's JsonSerDe makes them, every other log type's event as its JSON
text in the `event` column. Every compiled stateless, counting and
throttled rule then gives in DuckDB exactly `secdet scan`'s alerts over the
same events (rule, time, count, first event's time, group; the firing event
for stateless rules). Times are compared as the instants they name, since a
table keeps the record's text (Okta's "2022-03-22 14:21:53.225") where an
alert writes UTC. The Trino and Athena SQL of every pack parses with
sqlglot. Prints how many rules each pack compiles and refuses. The same
comparison runs over each folder of shared/data (every log type's real
events, mixed, in time order), skipped where shared/data is absent. Skips
without DuckDB / sqlglot (tests/sql/setup.sh)."""
import collections
import datetime
import glob
import json
import math
import os
import re
import time

import pytest

import sqltest

duckdb = pytest.importorskip("duckdb", reason="DuckDB is not installed (tests/sql/setup.sh installs it)")

RULES = os.path.join(sqltest.ROOT, "rules")
PACKS = sorted([d for d in glob.glob(os.path.join(RULES, "*")) if os.path.isdir(d)] +
               glob.glob(os.path.join(RULES, "*.secdet")))
JSON_TABLES = ["guardduty", "gcp-audit", "gworkspace", "okta", "crowdstrike"]

RFC = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
                 r"([Zz]|[+-][0-9]{2}:[0-9]{2})?$")


def instant(text):
    """A time as the engine reads it (src/event/time.c, time_value.c), in ns."""
    if text is None:
        return None
    text = str(text)
    if re.fullmatch(r"-?[0-9]+", text):
        v = int(text)
        a = abs(v)
        return v * (10**9 if a < 10**11 else 10**6 if a < 10**14 else 10**3 if a < 10**17 else 1)
    if re.fullmatch(r"-?[0-9]+[.][0-9]+", text):
        x = float(text)
        a = abs(x)
        scale = 10**9 if a < 1e11 else 10**6 if a < 1e14 else 10**3 if a < 1e17 else 1
        whole = math.trunc(x)
        f = (x - whole) * scale
        return whole * scale + int(math.copysign(math.floor(abs(f) + 0.5), f))
    m = RFC.match(text)
    assert m, "not a time the test reads: %r" % text
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac = int(((m.group(7) or ".")[1:] + "000000000")[:9])
    if s == 60:
        s, frac = 59, 999999999
    zone = m.group(8) or "Z"
    off = 0 if zone in "Zz" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    secs = int(datetime.datetime(y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc).timestamp()) - off
    return secs * 10**9 + frac


def cases(pack):
    """Each test line's events, in the order written."""
    files = [pack[:-len(".secdet")] + ".tests.jsonl"] if pack.endswith(".secdet") else \
        sorted(glob.glob(os.path.join(pack, "**", "*.tests.jsonl"), recursive=True))
    out = []
    for f in files:
        with open(f) as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    t = json.loads(line)
                    out.append(("%s:%d" % (os.path.basename(f), n), t["events"] if "events" in t else [t["event"]]))
    return out


MARK = "_sqltest_n"  # each event's number, so that the engine's copy of it (hunt's, an alert's) is found


def canon(ev):
    return ev.get(MARK) if isinstance(ev, dict) else None


def detected(path):
    """canonical event -> (log type, id), as the engine sees them."""
    p = sqltest.secdet("hunt", "--output", "json", "--no-progress", "-q", "--fields", "@type,@id", "exists @type", path)
    out = {}
    for line in p.stdout.splitlines():
        h = json.loads(line)
        out[canon(h["event"])] = (h["type"], h["id"])
    return out


def lake():
    con, cols, _ = sqltest.duckdb_table(duckdb, [])
    for lt in JSON_TABLES:
        con.execute(sqltest.secdet("sql", "--dialect", "duckdb", "--table", lt).stdout)
    return con, cols


def fill(con, cols, events, seen):
    tables = {lt: [] for lt in JSON_TABLES}
    ct = []
    for ev in events:
        lt, _ = seen.get(canon(ev), (None, None))
        if lt == "cloudtrail":
            lower = {k.lower(): v for k, v in ev.items()}
            ct.append(tuple(sqltest.serde(lower.get(name), typ) for name, typ, *_ in cols))
        elif lt in tables:
            tables[lt].append((json.dumps(ev),))
    con.execute("DELETE FROM cloudtrail_logs")
    if ct:
        con.executemany("INSERT INTO cloudtrail_logs VALUES (%s)" % ", ".join("?" * len(cols)), ct)
    for lt, rows in tables.items():
        name = {"guardduty": "guardduty_findings", "gcp-audit": "gcp_audit_logs", "gworkspace":
                "gworkspace_activities", "okta": "okta_system_log", "crowdstrike": "crowdstrike_events"}[lt]
        con.execute("DELETE FROM %s" % name)
        if rows:
            con.executemany("INSERT INTO %s VALUES (?)" % name, rows)


def group_text(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(float(v))
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def engine_rows(rules, path, seen, stateless):
    """`secdet scan`'s alerts of rules over path, as compared (times as instants)."""
    want = collections.Counter()
    clock = time.time_ns() - 10**9
    # An event without a time is stamped with the engine's clock; its row's event_time is NULL.
    stamp = lambda t: None if t is not None and t >= clock else t  # noqa: E731
    for line in sqltest.secdet("scan", "--rules", rules, "--lateness", "7d", "--output", "json", "--no-progress",
                               path).stdout.splitlines():
        a = json.loads(line)
        grp = ", ".join(group_text(v) for v in a["group"].values())
        ev_id = seen.get(canon(a["events"][-1]), (None, None))[1] if a["rule"] in stateless else None
        want[(a["rule"], stamp(instant(a["time"])), ev_id, a["count"], stamp(instant(a["first_seen"])), grp)] += 1
    return want


def sql_rows(con, stmts, stateless):
    got = collections.Counter()
    for rule, stmt in stmts:
        for r in con.execute(stmt).fetchall():
            ev_id = r[2] if rule in stateless else None
            got[(r[0], instant(r[1]), ev_id, r[3], instant(r[4]), r[5])] += 1
    return got


@pytest.mark.parametrize("pack", PACKS, ids=os.path.basename)
def test_pack_in_duckdb_matches_scan(pack, tmp_path):
    p = sqltest.secdet("sql", "--dialect", "duckdb", pack)
    stmts = sqltest.statements(p.stdout)
    refused = [line for line in p.stderr.splitlines() if line.startswith("secdet: rule ")]
    print("%s: %d compiled, %d refused" % (os.path.basename(pack), len(stmts), len(refused)))
    for line in refused:
        print("  " + line)
    if not stmts:
        pytest.skip("%s: no rule compiles to DuckDB SQL" % os.path.basename(pack))
    compiled = {r for r, _ in stmts}
    stateless = {r for r, s in stmts if "WITH RECURSIVE" not in s}
    all_events = tmp_path / "all.jsonl"
    todo = cases(pack)
    n = 0
    for _, evs in todo:
        for ev in evs:
            if isinstance(ev, dict):
                ev[MARK] = n
                n += 1
    all_events.write_text("".join(json.dumps(ev) + "\n" for _, evs in todo for ev in evs))
    seen = detected(str(all_events))
    con, cols = lake()
    fired = 0
    for name, events in todo:
        f = tmp_path / "case.jsonl"
        f.write_text("".join(json.dumps(ev) + "\n" for ev in events))
        fill(con, cols, events, seen)
        want = engine_rows(pack, str(f), seen, stateless)
        want = collections.Counter({k: v for k, v in want.items() if k[0] in compiled})
        got = sql_rows(con, stmts, stateless)
        assert got == want, name
        fired += sum(want.values())
    print("  %d cases, %d alerts of compiled rules compared" % (len(todo), fired))
    assert fired, "the pack's test events fire none of its compiled rules"


sqlglot = None
try:
    import sqlglot
except ImportError:
    pass


@pytest.mark.skipif(sqlglot is None, reason="sqlglot is not installed (tests/sql/setup.sh installs it)")
@pytest.mark.parametrize("dialect", ["trino", "athena"])
@pytest.mark.parametrize("pack", PACKS, ids=os.path.basename)
def test_pack_parses_as_trino(dialect, pack):
    p = sqltest.secdet("sql", "--dialect", dialect, pack)
    stmts = sqltest.statements(p.stdout)
    print("%s %s: %d compiled, %s" % (os.path.basename(pack), dialect, len(stmts), p.stderr.splitlines()[-1]))
    for rule, stmt in stmts:
        assert sqlglot.parse_one(stmt, read="trino") is not None, rule


@pytest.mark.parametrize("lt", ["cloudtrail"] + JSON_TABLES)
def test_every_log_type_has_a_table(lt):
    con = duckdb.connect()
    for dialect in ("athena", "trino", "duckdb"):
        ddl = sqltest.secdet("sql", "--dialect", dialect, "--table", lt)
        assert ddl.returncode == 0 and ddl.stdout.startswith("CREATE "), ddl.stderr
        if dialect == "duckdb":
            con.execute(ddl.stdout)
        elif sqlglot is not None and dialect == "trino":
            assert sqlglot.parse_one(ddl.stdout.rstrip().rstrip(";"), read="trino") is not None


SHARED = os.path.normpath(os.path.join(sqltest.DATA, "..", "..", ".."))  # shared/data
SHARED_DIRS = ["okta", "edr", "gcp-audit", "guardduty", "gworkspace", "scenarios"]


@pytest.mark.parametrize("folder", SHARED_DIRS)
def test_shared_data_in_duckdb_matches_scan(folder, tmp_path):
    """Every JSON-lines file of a shared/data folder at once (events of
    several log types mixed, as a lake holds them), every pack's compiled
    rules, DuckDB against `secdet scan`."""
    root = os.path.normpath(os.path.join(SHARED, folder))
    if not os.path.isdir(root):
        pytest.skip("%s is absent (shared/data is not on this machine)" % root)
    files = sorted(f for f in glob.glob(os.path.join(root, "**", "*.jsonl"), recursive=True)
                   if not f.endswith(".tests.jsonl"))
    evs = []
    for f in files:
        with open(f) as fh:
            evs += [json.loads(line) for line in fh if line.strip()]
    for n, ev in enumerate(evs):
        ev[MARK] = n
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(ev) + "\n" for ev in evs))
    seen = detected(str(path))
    # In event-time order (hunt's), as a lake's query sees them: files of
    # days apart would otherwise come later than scan's lateness allows.
    rank = {mark: i for i, mark in enumerate(seen)}
    evs.sort(key=lambda ev: rank.get(ev[MARK], len(rank)))
    path.write_text("".join(json.dumps(ev) + "\n" for ev in evs))
    con, cols = lake()
    fill(con, cols, evs, seen)
    compared = 0
    for pack in PACKS:
        stmts = sqltest.statements(sqltest.secdet("sql", "--dialect", "duckdb", pack).stdout)
        compiled = {r for r, _ in stmts}
        stateless = {r for r, s in stmts if "WITH RECURSIVE" not in s}
        want = engine_rows(pack, str(path), seen, stateless)
        want = collections.Counter({k: v for k, v in want.items() if k[0] in compiled})
        assert sql_rows(con, stmts, stateless) == want, os.path.basename(pack)
        compared += sum(want.values())
    print("%s: %d events of %d files, %d alerts of compiled rules compared" % (folder, len(evs), len(files), compared))
