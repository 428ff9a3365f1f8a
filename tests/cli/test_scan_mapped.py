"""`secdet scan` of a regular file reads it through mappings, window by
window (src/cli/input_map.c); stdin, pipes and gzip files are read(2).

The two ways must see the same events: a file of JSON lines larger than
two windows (4 MiB each), with an alerting event and a malformed line laid
across each window's edge, gives the same alerts (ids included), the same
counts and the same malformed line numbers from the file as from stdin and
as a gzip file; and one without a final newline keeps its last event.
"""

import gzip
import json
import os
import subprocess
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))
WINDOW = 4 << 20  # CLI_MAP_WINDOW

RULES = textwrap.dedent(
    """\
    rule trail_gone {
        meta { severity = high }
        on cloudtrail
        where .eventName == "DeleteTrail"
        output "{.requestParameters.name} is gone ({.eventID})"
    }
    """
)


def line(name, n, pad=0):
    return json.dumps(
        {
            "eventTime": "2024-03-01T10:%02d:%02dZ" % (n // 60 % 60, n % 60),
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": name,
            "eventID": "id-%d" % n,
            "requestParameters": {"name": "trail-%d" % n},
            "pad": "x" * pad,
        },
        separators=(",", ":"),
    ).encode() + b"\n"


def big_input():
    """Lines up to past 2 windows; at each edge a DeleteTrail line across it,
    and a malformed line across the second edge's neighbour."""
    out = bytearray()
    n = 0
    for edge in (WINDOW, 2 * WINDOW):
        while len(out) + 2000 < edge - 300:
            out += line("ListBuckets", n, pad=900 + n % 300)
            n += 1
        # fill exactly to 100 bytes before the edge, then the straddling line
        gap = edge - 100 - len(out)
        filler = line("ListBuckets", n)
        out += line("ListBuckets", n, pad=gap - len(filler))
        n += 1
        assert len(out) == edge - 100
        out += line("DeleteTrail", n, pad=150)
        n += 1
        out += b'{"eventName":"DeleteTrail","broken":\n'  # malformed, just past the edge
        n += 1
    for _ in range(50):
        out += line("DeleteTrail", n)
        n += 1
    return bytes(out)


def scan(*args, stdin=None):
    p = subprocess.run(
        # -j 1: the windows of one engine's mapping are under test (test_scan_jobs.py: -j N)
        [BIN, "scan", "-j", "1", "--rules", RULES_PATH[0], "--output", "json", "--format", "jsonl", "--source",
         "cloudtrail", "--stats", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
    )
    for marker in (b"AddressSanitizer", b"LeakSanitizer", b"runtime error:"):
        assert marker not in p.stderr, p.stderr.decode(errors="replace")
    alerts = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
    stats = [json.loads(l) for l in p.stderr.decode().splitlines() if l.startswith('{"type":"stats"')]
    # "FILE:LINE: message": the line numbers (the file's name differs)
    malformed = [l.split(":")[1] for l in p.stderr.decode().splitlines() if "invalid JSON" in l]
    assert len(stats) == 1, p.stderr
    return p.returncode, [(a["id"], a["message"]) for a in alerts], stats[0], malformed


RULES_PATH = [None]


@pytest.fixture(autouse=True)
def rules_file(tmp_path):
    path = tmp_path / "trail.secdet"
    path.write_text(RULES)
    RULES_PATH[0] = str(path)


def test_a_file_across_window_edges_reads_as_stdin_does(tmp_path):
    data = big_input()
    assert len(data) > 2 * WINDOW
    path = tmp_path / "big.jsonl"
    path.write_bytes(data)
    gz = tmp_path / "big.jsonl.gz"
    gz.write_bytes(gzip.compress(data))

    rc, alerts, st, bad = scan(str(path))
    rc_in, alerts_in, st_in, bad_in = scan("-", stdin=data)
    rc_gz, alerts_gz, st_gz, bad_gz = scan(str(gz))
    assert len(alerts) == 52  # the two across the edges and the fifty at the end
    assert alerts == alerts_in == alerts_gz
    for key in ("events", "malformed", "alerts"):
        assert st[key] == st_in[key] == st_gz[key], key
    assert st["malformed"] == 2
    assert rc == rc_in == rc_gz
    assert len(bad) == 2 and bad == bad_in == bad_gz


def test_a_file_without_a_final_newline_keeps_its_last_event(tmp_path):
    path = tmp_path / "last.jsonl"
    path.write_bytes(line("ListBuckets", 1) + line("DeleteTrail", 2).rstrip(b"\n"))
    rc, alerts, st, bad = scan(str(path))
    assert st["events"] == 2 and len(alerts) == 1 and not bad
