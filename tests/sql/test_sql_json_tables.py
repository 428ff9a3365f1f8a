"""The JSON tables' hard cases, against the engine: a common field whose
first path holds a number (the engine takes it and the comparison fails; a
COALESCE of string reads would take the next path), "5" against 5 (as
values and as group keys), JSON null against missing, coalesce() over
members of mixed types, and event times in every form the engine reads
(RFC 3339 with nanoseconds and offsets, zone-less as UTC, epoch seconds,
milliseconds as numbers and strings, a fraction) inside a window whose
edge is a nanosecond away. Each rule's DuckDB rows must be `secdet scan`'s
alerts. Skips without DuckDB."""
import json

import pytest

import sqltest
import test_sql_packs as packs

duckdb = pytest.importorskip("duckdb", reason="DuckDB is not installed (tests/sql/setup.sh installs it)")

RULES = r'''
rule ip_str { on okta where @ip == "1.1.1.1" }
rule ip_num { on okta where @ip == 5 }
rule sev_num { on okta where .severity == 5 }
rule sev_str { on okta where .severity == "5" }
rule sev_in { on okta where .severity in ["5", 7, true] }
rule has_zone { on okta where exists .client.zone }
rule zone_null { on okta where .client.zone == null }
rule zone_not_null { on okta where .client.zone != null }
rule co { on okta where coalesce(.a, .b) == "x" }
rule co_lower { on okta where lower(coalesce(.a, .b)) == "x" }
rule up_user { on okta where upper(@user) startswith "AL" }
rule burst { on okta where .eventType == "burst" count >= 3 within 1s by .actor.alternateId }
rule spread { on okta where .eventType == "burst" distinct .client.device >= 2 within 10m by @user }
rule quiet { on okta where .eventType == "quiet" throttle 1s by @ip }
rule cs_proc { on crowdstrike where .event_simpleName == "ProcessRollup2" count >= 2 within 2s by .aid }
'''


def okta(t, kind="x", user="alice", **extra):
    ev = {"uuid": "u-%s-%s" % (kind, t), "published": t, "eventType": kind, "actor": {"alternateId": user},
          "client": {"ipAddress": "1.1.1.1", "zone": "null"}}
    for k, v in extra.items():
        if k == "client":
            ev["client"] = v
        else:
            ev[k] = v
    return ev


def events():
    out = [
        okta("2024-01-01T00:00:00Z", client={"ipAddress": 5}, request={"ipChain": [{"ip": "1.1.1.1"}]}),
        okta("2024-01-01T00:00:01Z", client={}, request={"ipChain": [{"ip": "1.1.1.1"}]}),
        okta("2024-01-01T00:00:02Z", client={"ipAddress": None}, request={"ipChain": [{"ip": "1.1.1.1"}]}),
        okta("2024-01-01T00:00:03Z", severity=5),
        okta("2024-01-01T00:00:04Z", severity="5"),
        okta("2024-01-01T00:00:05Z", severity=7.0),
        okta("2024-01-01T00:00:06Z", severity=True, client={"zone": None}),
        okta("2024-01-01T00:00:07Z", a=1, b="x"),
        okta("2024-01-01T00:00:08Z", a=None, b="x"),
        okta("2024-01-01T00:00:09Z", b="X"),
        okta("2024-01-01T00:00:10Z", user=7),
        okta("2024-01-01T00:00:11Z", user="Alex"),
    ]
    # A burst: three in a second, to the nanosecond, in every time form; "5" and 5 are two users.
    base = "2024-01-02T00:00:0"
    for user in ("5", 5):
        out += [okta(base + "0.000000001Z", "burst", user, client={"device": "a"}),
                okta("2024-01-02 00:00:00.5", "burst", user, client={"device": "b"}),
                okta(base + "1.000000001Z", "burst", user, client={"device": "a"}),
                okta("2024-01-02T02:00:01.000000002+02:00", "burst", user),
                okta(base + "1.3z", "burst", user),
                okta("2024-01-02t00:00:01.7Z", "burst", user),
                okta(base + "2.000000001Z", "burst", user)]
    for t in ("2024-01-03T00:00:00Z", "2024-01-03T00:00:00.999999999Z", "2024-01-03T00:00:01.000000001Z",
              "2024-01-03T00:00:01.5Z", "2024-01-03T00:00:02.000000002Z"):
        out.append(okta(t, "quiet"))
    # CrowdStrike: epoch seconds, milliseconds (number and string), a fraction.
    for i, ts in enumerate([1704067200, "1704067201000", 1704067201500, "1704067203.25", 1704067205.0,
                            1704067205999]):
        out.append({"event_simpleName": "ProcessRollup2", "aid": "h1", "id": "cs-%d" % i, "timestamp": ts})
    return out


def test_json_tables_hard_cases_match_scan(tmp_path):
    rules = tmp_path / "hard.secdet"
    rules.write_text(RULES)
    p = sqltest.secdet("sql", "--dialect", "duckdb", str(rules))
    assert p.returncode == 0, p.stderr
    stmts = sqltest.statements(p.stdout)
    evs = events()
    for n, ev in enumerate(evs):
        ev[packs.MARK] = n
    f = tmp_path / "ev.jsonl"
    f.write_text("".join(json.dumps(ev) + "\n" for ev in evs))
    seen = packs.detected(str(f))
    assert sum(1 for t, _ in seen.values() if t == "okta") == len(evs) - 6
    con, cols = packs.lake()
    packs.fill(con, cols, evs, seen)
    stateless = {r for r, s in stmts if "WITH RECURSIVE" not in s}
    want = packs.engine_rows(str(rules), str(f), seen, stateless)
    got = packs.sql_rows(con, stmts, stateless)
    assert got == want
    fired = {r[0] for r in want}
    assert fired >= {"ip_num", "sev_num", "sev_str", "sev_in", "has_zone", "zone_null", "zone_not_null", "co_lower",
                     "up_user", "burst", "spread", "quiet", "cs_proc"}, fired
