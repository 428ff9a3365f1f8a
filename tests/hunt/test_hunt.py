"""`secdet hunt`: one question over mixed log types as one timeline.

tests/hunt/data holds one pivot address (203.0.113.7) seen by five log types
(CloudTrail, Okta, Workspace, GCP audit, CrowdStrike), files out of time
order and a file out of order inside; the shared data's real logs are mixed
in where they exist, so the hunt must pick the pivot out of them."""
import json
import os
import shutil
import subprocess

import pytest

ROOT = os.environ.get("SECDET_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SECDET = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))
DATA = os.path.join(ROOT, "tests", "hunt", "data")
SHARED = "/work/shared/data"


def hunt(*args, check=0):
    p = subprocess.run([SECDET, "hunt", "--no-progress", *args], capture_output=True, text=True, timeout=120)
    assert p.returncode == check, p.stderr
    return p


def lines(p):
    return [json.loads(l) for l in p.stdout.splitlines()]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    d = tmp_path_factory.mktemp("mixed")
    for f in os.listdir(DATA):
        shutil.copy(os.path.join(DATA, f), d / f)
    # Real logs of the shared data beside them, when present: the pivot must be picked out.
    for sub, name in [("okta/panther", "okta_systemlog.jsonl"), ("gworkspace/panther", "gsuite_activityevent.jsonl"),
                      ("gcp-audit/panther", "gcp_auditlog.jsonl")]:
        src = os.path.join(SHARED, sub, name)
        if os.path.exists(src):
            shutil.copy(src, d / ("shared-" + name))
    ct = os.path.join(SHARED, "cloudtrail", "invictus", "CloudTrail")
    if os.path.isdir(ct):
        for f in sorted(os.listdir(ct))[:10]:
            shutil.copy(os.path.join(ct, f), d / f)
    return str(d)


def test_timeline_across_log_types_in_event_time_order(mixed):
    rows = lines(hunt('@ip == "203.0.113.7"', mixed))
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    assert [(r["type"], r["action"]) for r in rows] == [
        ("okta", "user.session.start"), ("cloudtrail", "ListUsers"), ("gworkspace", "login_success"),
        ("gcp-audit", "SetIamPolicy"), ("cloudtrail", "CreateAccessKey"), ("crowdstrike", "UserLogon"),
        ("okta", "user.session.start")]
    assert rows[0]["outcome"] == "FAILURE" and rows[1]["outcome"] is None
    assert rows[0]["event"]["uuid"] == "o1"  # the event itself, whole
    assert [r["summary"] for r in rows] == [
        "User login to Okta", "iam.amazonaws.com", "login", "cloudresourcemanager.googleapis.com",
        "iam.amazonaws.com", "LAPTOP-ALICE", "User login to Okta"]
    assert all(r["ip"] == "203.0.113.7" for r in rows)


def test_since_until_and_a_function_of_a_common_field(mixed):
    rows = lines(hunt('lower(@user) contains "alice"', mixed, "--since", "2024-03-14T10:02:00Z",
                      "--until", "2024-03-14T10:04:00Z"))
    assert [r["time"] for r in rows] == ["2024-03-14T10:02:00Z", "2024-03-14T10:03:00Z", "2024-03-14T10:04:00Z"]
    assert lines(hunt('@ip == "203.0.113.7"', mixed, "--since", "2024-03-15")) == []


def test_count_by(mixed):
    counts = lines(hunt("--count-by", "@type", '@ip == "203.0.113.7"', mixed))
    assert counts == [{"value": "cloudtrail", "count": 2}, {"value": "okta", "count": 2},
                      {"value": "crowdstrike", "count": 1}, {"value": "gcp-audit", "count": 1},
                      {"value": "gworkspace", "count": 1}]
    hours = lines(hunt("--count-by", "hour(@time)", '@ip == "203.0.113.7"', mixed))
    assert hours == [{"value": "2024-03-14T10", "count": 7}]


def test_table_with_chosen_fields(mixed):
    p = hunt('@ip == "203.0.113.7" and @type == "cloudtrail"', mixed, "--output", "table",
             "--fields", "@action,.eventSource")
    out = p.stdout.splitlines()
    assert out[0].split() == ["time", "action", ".eventSource"]
    assert out[1].split() == ["2024-03-14T10:01:30Z", "ListUsers", "iam.amazonaws.com"]
    assert out[2].split() == ["2024-03-14T10:04:00Z", "CreateAccessKey", "iam.amazonaws.com"]


def test_rules_retro_hunt_gives_scans_alerts_in_time_order(tmp_path):
    rules = tmp_path / "r.secdet"
    rules.write_text('rule burst { where @ip == "203.0.113.7" count >= 3 within 5m by @ip }\n'
                     'rule ck { on cloudtrail where .eventName == "CreateAccessKey" }\n')
    got = lines(hunt("--rules", str(rules), DATA))
    scan = subprocess.run([SECDET, "scan", "--rules", str(rules), "--output", "json", DATA],
                          capture_output=True, text=True, timeout=120)
    want = sorted((json.loads(l) for l in scan.stdout.splitlines()), key=lambda a: a["time"])
    assert [(a["rule"], a["time"]) for a in got] == [(a["rule"], a["time"]) for a in want]
    # The count resets after its alert at 10:02, fires again at 10:05; scan prints ck (10:04) after it.
    assert [(a["rule"], a["time"]) for a in got] == [("burst", "2024-03-14T10:02:00Z"), ("ck", "2024-03-14T10:04:00Z"),
                                                     ("burst", "2024-03-14T10:05:00Z")]


def test_bad_condition_names_its_column(mixed):
    p = hunt('@ip == "x" adn @user == "y"', mixed, check=2)
    assert p.stderr.startswith("condition:3:12: ")
    p = hunt("--since", "yesterday", "@ip == \"x\"", mixed, check=2)
    assert "bad time 'yesterday'" in p.stderr


def test_help_and_the_readme_row_name_the_same_options():
    import re
    opts = lambda text: set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text)) - {"--help"}
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    for command in ("hunt", "sql"):
        row = [l for l in readme.splitlines() if l.startswith("| `secdet %s" % command)]
        assert len(row) == 1, command
        cell = re.split(r"(?<!\\)\|", row[0])[1]
        helped = subprocess.run([SECDET, "help", command], capture_output=True, text=True).stdout
        assert opts(cell) == opts(helped), command
        for option in opts(helped):
            p = subprocess.run([SECDET, command, option, "--help"], capture_output=True, text=True)
            assert "unknown option" not in p.stderr, option


def test_a_time_field_replaces_the_rows_time_once(mixed):
    p = hunt('@ip == "203.0.113.7"', "--fields", "@time,@ip", mixed)
    raw = p.stdout.splitlines()
    keys = [json.loads(l, object_pairs_hook=lambda kv: [k for k, _ in kv]) for l in raw]
    assert raw and all(k.count("time") == 1 for k in keys), keys[:2]
    assert all(r["ip"] == "203.0.113.7" and r["time"] for r in lines(p))
