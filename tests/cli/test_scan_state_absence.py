"""`secdet scan --state` and absence (`not` steps): a window still open at the
end of a scan is not fired; the state file keeps it, and the next scan closes
it, firing once event time passes it, or never, when its `not` event comes
(docs/correlation.md, "`secdet scan`"). The state is saved before the final
flush, so an alert that flush gave may come again from the next scan, with
the same id.
"""
import json
import os
import subprocess

ROOT = os.environ.get("SECDET_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))

RULES = """
rule not_quarantined {
    sequence within 1h by .host { finding: .k == "finding"; not fix: .k == "fix" }
    output "finding on {.host} not quarantined"
}
"""


def scan(tmp_path, name, events, state=None):
    f = tmp_path / name
    f.write_text("".join(json.dumps(e) + "\n" for e in events))
    cmd = [BIN, "scan", "-q", "--no-progress", "--format", "jsonl", "--rules", str(tmp_path / "r.secdet"), str(f)]
    if state:
        cmd[2:2] = ["--state", str(state)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [(json.loads(x)["message"], json.loads(x)["id"]) for x in p.stdout.splitlines()]


def ev(t, k, host):
    return {"eventTime": "2024-03-14T" + t + "Z", "k": k, "host": host}


def test_an_open_window_is_kept_by_state_and_closed_by_the_next_scan(tmp_path):
    (tmp_path / "r.secdet").write_text(RULES)
    state = tmp_path / "s.state"
    first = [ev("09:00:00", "finding", "h1"), ev("09:00:00", "finding", "h2"), ev("09:59:59", "noise", "n")]
    assert scan(tmp_path, "1.jsonl", first, state) == []  # open at the end of input: not fired
    # h2's fix comes within the lateness (15m) behind the first scan's newest event.
    second = [ev("09:50:00", "fix", "h2"), ev("10:00:01", "noise", "n")]
    got = scan(tmp_path, "2.jsonl", second, state)
    assert [m for m, _ in got] == ["finding on h1 not quarantined"]
    # Without the state the second scan has no finding to close.
    assert scan(tmp_path, "2b.jsonl", second) == []
    # The second scan fired it at its final flush, after saving the state: the
    # next scan may fire it again, with the same id (for de-duplication) ...
    assert scan(tmp_path, "3.jsonl", [ev("12:00:00", "noise", "n")], state) in ([], got)
    # ... but once event time has passed it within a scan, it is gone.
    assert scan(tmp_path, "4.jsonl", [ev("13:00:00", "noise", "n")], state) == []
