"""`secdet scan -j N` (src/cli/scan_parallel.c): one JSON-lines file cut
into N ranges at line ends, an engine per range on its own thread.

Whatever the split, the alerts are those of -j 1 as a multiset (ids
included), and so are the counts of the summary and --stats and the
malformed lines' numbers in the whole file. Runs that cannot be split
(rules that keep state, gzip, several files) say so with -j and give the
same alerts. With /work/shared present, the CIS and correlation packs over
real CloudTrail records as JSON lines, too.
"""

import gzip
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))
SHARED = os.environ.get("SECDET_SHARED", os.path.join(os.path.dirname(REPO), "shared"))

RULES = textwrap.dedent(
    """\
    rule trail_gone {
        meta { severity = high }
        on cloudtrail
        where .eventName == "DeleteTrail"
        output "{.requestParameters.name} is gone ({.eventID})"
    }
    rule root_login {
        meta { severity = medium }
        on cloudtrail
        where .userIdentity.type == "Root"
        output "root from {.sourceIPAddress}"
    }
    """
)

THROTTLED = RULES.replace('output "root from', 'throttle 1h by .sourceIPAddress\n    output "root from')


def line(n):
    name = "DeleteTrail" if n % 97 == 0 else "DescribeTrails"
    who = "Root" if n % 89 == 0 else "IAMUser"
    return json.dumps(
        {
            "eventTime": "2024-03-01T%02d:%02d:%02dZ" % (n // 3600 % 24, n // 60 % 60, n % 60),
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": name,
            "eventID": "id-%d" % n,
            "userIdentity": {"type": who},
            "sourceIPAddress": "203.0.113.%d" % (n % 7),
            "requestParameters": {"name": "trail-%d" % n},
            "pad": "x" * 200,
        },
        separators=(",", ":"),
    ).encode() + b"\n"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("jobs")
    (d / "rules.secdet").write_text(RULES)
    (d / "throttled.secdet").write_text(THROTTLED)
    parts = [line(n) for n in range(24000)]  # ~7 MiB: 3 engines get 1 MiB or more each
    # Malformed lines in the first and the last third: their numbers must be
    # those of the whole file, not of the range an engine read.
    for at in (5000, 21000):
        parts[at] = b'{"eventName": "broken\n'
    big = b"".join(parts)
    (d / "big.jsonl").write_bytes(big)
    (d / "big.jsonl.gz").write_bytes(gzip.compress(big))
    return d


def scan(*args):
    p = subprocess.run([BIN, "scan", "--output", "json", "--no-progress", "--stats", "--source", "cloudtrail", *args],
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    alerts = sorted(p.stdout.decode().splitlines())
    err = p.stderr.decode()
    stats = json.loads([ln for ln in err.splitlines() if ln.startswith('{"type":"stats"')][0])
    return alerts, stats, err


def malformed_lines(err):
    return sorted(int(m) for m in re.findall(r"big\.jsonl:(\d+): ", err))


def summary(err):
    return re.search(r"scanned (\d+) events \((\d+) malformed\) from 1 file, (\d+) alerts", err).groups()


@pytest.mark.parametrize("jobs", ["2", "3", "7"])
def test_split_scan_gives_the_alerts_counts_and_line_numbers_of_one_engine(data, jobs):
    one, s1, e1 = scan("-j", "1", "--rules", str(data / "rules.secdet"), str(data / "big.jsonl"))
    many, sn, en = scan("-j", jobs, "--rules", str(data / "rules.secdet"), str(data / "big.jsonl"))
    assert len(one) == 24000 // 97 + 1 + 24000 // 89 + 1  # the malformed lines are neither
    assert many == one
    for k in ("events", "malformed", "alerts", "shown", "bytes", "text_events", "rules_run"):
        assert sn[k] == s1[k], k
    assert malformed_lines(en) == malformed_lines(e1) == [5001, 21001]
    assert summary(en) == summary(e1)
    assert "scanning with one engine" not in en


def test_rules_that_keep_state_are_correlated_in_the_order_of_the_file(data):
    one, s1, _ = scan("-j", "1", "--rules", str(data / "throttled.secdet"), str(data / "big.jsonl"))
    for jobs in ("2", "3"):
        many, sn, err = scan("-j", jobs, "--rules", str(data / "throttled.secdet"), str(data / "big.jsonl"))
        assert many == one
        assert (sn["events"], sn["alerts"], sn["malformed"]) == (s1["events"], s1["alerts"], s1["malformed"])
        assert "scanning with one engine" not in err
    assert any('"suppressed":' in a and '"suppressed":0' not in a for a in one), "the throttle held nothing back"


def test_gzip_and_several_files_run_on_one_engine(data):
    one, _, _ = scan("-j", "1", "--rules", str(data / "rules.secdet"), str(data / "big.jsonl"))
    gz, _, err = scan("-j", "2", "--rules", str(data / "rules.secdet"), str(data / "big.jsonl.gz"))
    assert gz == one
    assert "not a regular, uncompressed file" in err
    _, _, err = scan("-j", "2", "--rules", str(data / "rules.secdet"), str(data / "big.jsonl"),
                     str(data / "big.jsonl"))
    assert "several inputs are merged in event-time order" in err


def test_bad_jobs_is_a_usage_error():
    p = subprocess.run([BIN, "scan", "-j", "0", "--rules", "x", "y"], capture_output=True, timeout=30)
    assert p.returncode == 2
    assert b"bad --jobs '0'" in p.stderr


@pytest.fixture(scope="module")
def cloudtrail_lines(tmp_path_factory):
    ct = os.path.join(SHARED, "data", "cloudtrail", "invictus", "CloudTrail")
    if not os.path.isdir(ct):
        pytest.skip(f"no CloudTrail data at {ct} (set SECDET_SHARED)")
    out = tmp_path_factory.mktemp("ct") / "ct.jsonl"
    subprocess.run([sys.executable, os.path.join(REPO, "bench", "make_input.py"), ct, str(out), "-n", "30000"],
                   check=True, stdout=subprocess.DEVNULL, timeout=300)
    return out


@pytest.mark.parametrize("pack", ["cis", "correlation"])
def test_the_packs_over_real_cloudtrail_give_the_same_alerts(cloudtrail_lines, pack):
    rules = os.path.join(REPO, "rules", "aws", pack + ".secdet")
    one, s1, _ = scan("-j", "1", "--format", "jsonl", "--rules", rules, str(cloudtrail_lines))
    two, s2, _ = scan("-j", "2", "--format", "jsonl", "--rules", rules, str(cloudtrail_lines))
    assert one, "the pack raised no alert on this input: the comparison would prove nothing"
    assert two == one
    assert (s2["events"], s2["alerts"]) == (s1["events"], s1["alerts"])
