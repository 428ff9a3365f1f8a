"""`sum` compiled to SQL, against the engine: groups that fire more than
once (the reset after an alert), a window's edge exactly DUR away and a
nanosecond beyond, what is not a number (a string of digits, null, true,
an array, an object, a missing member: ignored by the rule, as by the
engine), "5" and 5 as two groups, `sum > N` at exactly N, negative numbers
(a window from a later row would fire where the engine's does not), and
fractions whose running total (added and subtracted, as the engine keeps
it) is not the window's fresh sum. Also `count > N` and `distinct > N`
(`>= N+1`). Each rule's DuckDB rows must be `secdet scan`'s alerts; the
Trino SQL parses with sqlglot (test_sql_trino_packs.py runs it on a Trino
server). Skips without DuckDB."""
import json

import pytest

import sqltest
import test_sql_packs as packs

duckdb = pytest.importorskip("duckdb", reason="DuckDB is not installed (tests/sql/setup.sh installs it)")

WHOLE = r'''
rule bytes_out { on okta where .eventType == "dl" sum .bytes >= 100 within 10s by .actor.alternateId }
rule bytes_gt { on okta where .eventType == "dl" sum .bytes > 100 within 10s by .actor.alternateId }
rule neg { on okta where .eventType == "neg" sum .x >= 5 within 1m }
rule ct_out { on cloudtrail where .eventName == "GetObject" sum .additionalEventData.bytesTransferredOut >= 1000 within 1h by @user }
rule cnt_gt { on okta where .eventType == "dl" count > 2 within 10s }
rule dst_gt { on okta where .eventType == "dl" distinct .actor.alternateId > 1 within 1h }
'''
# Fractions: exact on DuckDB; on Trino the query stops with an error (test_sql_trino_packs.py).
FRACTIONS = r'''
rule frac { on okta where .eventType == "fr" sum .x >= 0.9 within 1m }
rule frac_gt { on okta where .eventType == "fr" sum .x > 0.3 within 1m }
'''
RULES = WHOLE + FRACTIONS


def okta(t, kind, user="alice", **extra):
    # Ids unique and, at equal times, in the order written (a table orders ties by id).
    ev = {"uuid": "u-%s-%r-%s" % (kind, user, t), "published": t, "eventType": kind, "actor": {"alternateId": user}}
    ev.update(extra)
    return ev


def at(sec, frac=""):
    return "2024-01-01T00:%02d:%02d%sZ" % (sec // 60, sec % 60, frac)


def events():
    out = []
    # alice: 50, 60 (fires, 110), then 40, 30, 30 (fires at 100; > 100 does not), then 30 more (> 100 fires).
    for s, b in ((0, 50), (1, 60), (3, 40), (4, 30), (5, 30), (6, 30)):
        out.append(okta(at(s), "dl", bytes=b))
    # bob: not numbers, ignored: a string of digits, null, true, an array, an object, none.
    for s, b in ((0, "5000"), (1, None), (2, True), (3, [500]), (4, {"n": 500})):
        out.append(okta(at(s), "dl", "bob", bytes=b))
    out.append(okta(at(5), "dl", "bob"))
    out.append(okta(at(6), "dl", "bob", bytes=99.0))
    out.append(okta(at(7), "dl", "bob", bytes=1))  # 100: fires; > 100 does not
    # "5" and 5: two groups; the window's edge: 10 s exactly is inside, a nanosecond more is not.
    for user in ("5", 5):
        out.append(okta(at(20), "dl", user, bytes=60))
        out.append(okta(at(30), "dl", user, bytes=40))  # 10 s after: inside, fires at 100
        out.append(okta(at(40), "dl", user, bytes=60))
        out.append(okta(at(50, ".000000001"), "dl", user, bytes=40))  # just outside
        out.append(okta(at(50, ".000000002"), "dl", user, bytes=1))  # 60 left: 41
    # negative numbers: -10 then 6 (-4, no alert; a start at 6 would), 4 a minute later (6 + 4 = 10: fires).
    out += [okta(at(100), "neg", x=-10), okta(at(110), "neg", x=6), okta(at(161), "neg", x=4),
            okta(at(170), "neg", x=-20), okta(at(171), "neg", x=5)]
    # fractions: 0.1 + 0.2 - 0.1 + 0.7 is 0.9 (fires >= 0.9), the window's fresh 0.2 + 0.7 is 0.8999999999999999.
    out += [okta(at(200), "fr", x=0.1), okta(at(230), "fr", x=0.2), okta(at(270), "fr", x=0.7)]
    return out


def cloudtrail():
    out = []
    for i, b in enumerate([400, 300, "900", 300, 999, 1, 2000]):
        extra = {"additionalEventData": {"bytesTransferredOut": b}} if i != 3 else {}
        out.append(sqltest.record(30000 + 60 * i, "GetObject", "s3.amazonaws.com", "192.0.2.3", **extra))
    return out


def all_events():
    evs = events() + cloudtrail()
    for n, ev in enumerate(evs):
        ev[packs.MARK] = n
    return evs


def test_sum_in_duckdb_matches_scan(tmp_path):
    rules = tmp_path / "sum.secdet"
    rules.write_text(RULES)
    p = sqltest.secdet("sql", "--dialect", "duckdb", str(rules))
    assert p.returncode == 0, p.stderr
    stmts = sqltest.statements(p.stdout)
    assert len(stmts) == RULES.count("rule ")
    evs = all_events()
    f = tmp_path / "ev.jsonl"
    f.write_text("".join(json.dumps(ev) + "\n" for ev in evs))
    seen = packs.detected(str(f))
    con, cols = packs.lake()
    packs.fill(con, cols, evs, seen)
    want = packs.engine_rows(str(rules), str(f), seen, set())
    got = packs.sql_rows(con, stmts, set())
    assert got == want
    fired = {}
    for r, n in want.items():
        fired[r[0]] = fired.get(r[0], 0) + n
    # Each rule fires, and the bursts' rules more than once (the reset).
    assert fired == {"bytes_out": 5, "bytes_gt": 2, "neg": 1, "frac": 1, "frac_gt": 2, "ct_out": 2,
                     "cnt_gt": 7, "dst_gt": 11}, fired


def test_sum_over_a_star_path_is_refused(tmp_path):
    rules = tmp_path / "star.secdet"
    rules.write_text('rule s { on okta where .eventType == "dl" sum .sizes[*] >= 3 within 5m }\n')
    for dialect in ("trino", "duckdb"):
        p = sqltest.secdet("sql", "--dialect", dialect, str(rules))
        assert p.returncode == 1
        assert "secdet: rule s: sum over a [*] path adds each of its numbers" in p.stderr


sqlglot = None
try:
    import sqlglot
except ImportError:
    pass


@pytest.mark.skipif(sqlglot is None, reason="sqlglot is not installed (tests/sql/setup.sh installs it)")
@pytest.mark.parametrize("dialect", ["trino", "athena"])
def test_sum_parses_as_trino(dialect, tmp_path):
    rules = tmp_path / "sum.secdet"
    rules.write_text(RULES)
    p = sqltest.secdet("sql", "--dialect", dialect, str(rules))
    assert p.returncode == 0, p.stderr
    for rule, stmt in sqltest.statements(p.stdout):
        assert sqlglot.parse_one(stmt, read="trino") is not None, rule
