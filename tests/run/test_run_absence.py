"""Absence (`not` steps, docs/correlation.md) in `secdet run`: a window
closes when the watermark (newest event time minus `lateness_ms`) passes
it, while the process keeps running; never earlier, and not when the input
merely goes quiet. The open windows are correlation groups, counted in the
stats line (`groups`, `state_bytes`) and freed once they close.

Real process, real TCP socket on 127.0.0.1 (Runner and helpers from test_run.py).
"""
import json

import pytest

from input_helpers import wait_stats
from test_run import Runner, connect, port_of

RULES = """
rule not_quarantined {
    sequence within 1h by .host {
        finding: .kind == "finding";
        not quarantine: .kind == "quarantine"
    }
    output "finding on {.host} not quarantined"
}
"""
LATENESS_MS = 60000


def line(kind, host, minute, second=0):
    t = "2024-03-14T%02d:%02d:%02dZ" % (9 + minute // 60, minute % 60, second)
    return (json.dumps({"eventTime": t, "kind": kind, "host": host}) + "\n").encode()


@pytest.fixture
def runner(tmp_path):
    (tmp_path / "rules.secdet").write_text(RULES)
    r = Runner(tmp_path, {"rules": [str(tmp_path / "rules.secdet")],
                          "sources": [{"name": "app", "format": "jsonl",
                                       "input": {"type": "tcp", "address": "127.0.0.1", "port": 0}}],
                          "limits": {"lateness_ms": LATENESS_MS}})
    yield r
    r.kill()


def test_absence_fires_when_the_watermark_passes_the_window_and_not_before(runner):
    r = runner
    s = connect(port_of(r.ready(), "tcp"))
    # Two findings at 09:00; h2 is quarantined at 09:30, h1 never.
    s.sendall(line("finding", "h1", 0) + line("finding", "h2", 0) + line("quarantine", "h2", 30))
    st = wait_stats(r, lambda x: x["events"] == 3, "3 events evaluated")
    assert st["groups"] >= 2 and st["state_bytes"] > 0, st
    # 10:01 is newest: the watermark is 10:00, exactly the window's end (inclusive): still open.
    s.sendall(line("noise", "h3", 61))
    wait_stats(r, lambda x: x["events"] == 4, "4 events evaluated")
    r.no_more_alerts(wait=0.5)
    # 10:01:01 is newest: the watermark is past 10:00, h1's window closes; h2's had its quarantine.
    s.sendall(line("noise", "h3", 61, 1))
    got = r.take_alerts(1)
    assert [a["message"] for a in got] == ["finding on h1 not quarantined"], got
    assert got[0]["rule"] == "not_quarantined" and got[0]["events"][0]["host"] == "h1", got
    r.no_more_alerts(wait=0.5)
    st = r.stats()
    assert st["alerts"] == 1 and st["groups"] == 0, st
    s.close()
    assert r.stop() == 0
    r.no_more_alerts(wait=0.3)


def test_a_quiet_input_leaves_the_window_open(runner):
    r = runner
    s = connect(port_of(r.ready(), "tcp"))
    s.sendall(line("finding", "h1", 0))
    st = wait_stats(r, lambda x: x["events"] == 1, "1 event evaluated")
    assert st["state_bytes"] > 0, st  # the finding waits in the reorder heap (lateness)
    # No event time moves: nothing fires however long the process waits.
    r.no_more_alerts(wait=1.0)
    s.close()
    assert r.stop() == 0
    # Stopping flushes to the newest event time, which is not past the window either.
    r.no_more_alerts(wait=0.3)
