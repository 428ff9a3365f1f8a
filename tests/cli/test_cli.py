"""End-to-end tests of the `secdet` command.

Runs the built binary (SECDET_BIN, default build/secdet) in temporary
directories with small rule files and events written here, and pins the
command's contract: exit codes, where each kind of message goes, and the
exact shapes CI and users rely on (`file:line:col:`, `N passed, M failed`).
"""

import gzip
import json
import os
import re
import subprocess
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))

ROOT_RULE = textwrap.dedent(
    """\
    rule root_login {
        meta {
            title = "Root account used"
            severity = high
        }
        on cloudtrail
        where .userIdentity.type == "Root" and .eventName == "ConsoleLogin"
        output "Root login from {.sourceIPAddress}"
    }
    """
)

# Matches events from any source: what --source / --format naming is checked with.
ANY_SOURCE_RULE = textwrap.dedent(
    """\
    rule delete_trail {
        meta { severity = critical }
        where .eventName == "DeleteTrail"
    }
    """
)

JSONL_ONLY_RULE = textwrap.dedent(
    """\
    rule jsonl_delete {
        on jsonl
        where .eventName == "DeleteTrail"
    }
    rule cloudtrail_delete {
        on cloudtrail
        where .eventName == "DeleteTrail"
    }
    rule custom_delete {
        on mylogs
        where .eventName == "DeleteTrail"
    }
    """
)


def root_event(ip="203.0.113.7", kind="Root", name="ConsoleLogin"):
    return {
        "eventVersion": "1.08",
        "eventTime": "2023-07-10T12:11:15Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": name,
        "userIdentity": {"type": kind, "arn": "arn:aws:iam::111122223333:root"},
        "sourceIPAddress": ip,
    }


def jsonl(*events):
    return "".join(json.dumps(e) + "\n" for e in events)


def run(args, stdin=None, cwd=None, env=None):
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [BIN] + [str(a) for a in args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=60,
    )
    # A sanitizer build must stay clean whatever exit code a test expects.
    for marker in (b"AddressSanitizer", b"LeakSanitizer", b"runtime error:"):
        assert marker not in proc.stderr, proc.stderr.decode(errors="replace")
    return proc


def alerts_of(proc):
    lines = [l for l in proc.stdout.decode().splitlines() if l.strip()]
    return [json.loads(l) for l in lines]


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "root.secdet"
    path.write_text(ROOT_RULE)
    return path


@pytest.fixture(scope="session", autouse=True)
def binary_exists():
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"secdet binary not found at {BIN} (set SECDET_BIN)")


# ---- general --------------------------------------------------------------


def test_version_prints_the_version():
    for args in (["version"], ["--version"]):
        p = run(args)
        assert p.returncode == 0
        assert re.search(rb"\d+\.\d+\.\d+", p.stdout)


def test_help_for_every_command_exits_zero():
    for args in (["help"], ["--help"], ["help", "scan"], ["scan", "--help"],
                 ["check", "--help"], ["test", "--help"], ["disasm", "--help"]):
        p = run(args)
        assert p.returncode == 0, args
        assert b"usage:" in p.stdout


def test_unknown_command_is_a_usage_error():
    p = run(["frobnicate"])
    assert p.returncode == 2
    assert b"unknown command" in p.stderr
    assert b"usage:" in p.stderr


def test_unknown_option_prints_message_and_usage_and_exits_2(rules, tmp_path):
    p = run(["scan", "--rules", rules, "--bogus", "-"], stdin=b"")
    assert p.returncode == 2
    assert b"--bogus" in p.stderr
    assert b"usage: secdet scan" in p.stderr


def test_option_missing_its_argument_exits_2():
    p = run(["scan", "--rules"])
    assert p.returncode == 2
    assert b"needs an argument" in p.stderr


def test_scan_without_rules_exits_2(tmp_path):
    p = run(["scan", "-"], stdin=b"")
    assert p.returncode == 2
    assert b"--rules" in p.stderr


# ---- check ----------------------------------------------------------------


def test_check_accepts_good_rules_with_a_summary(rules):
    p = run(["check", rules])
    assert p.returncode == 0, p.stderr
    assert re.search(rb"^1 rule OK \(0 warnings\)$", p.stderr, re.M), p.stderr


def test_check_reports_a_bad_rule_as_file_line_col(tmp_path):
    bad = tmp_path / "bad.secdet"
    bad.write_text("rule broken {\n    where .a == \"x\" and\n    output \"x\"\n}\n")
    p = run(["check", bad])
    assert p.returncode == 2
    assert re.search(rb"bad\.secdet:\d+:\d+: ", p.stderr), p.stderr
    assert b"rules OK" not in p.stderr


def test_check_reports_errors_of_every_file(tmp_path):
    (tmp_path / "a.secdet").write_text("rule a { where .x == }\n")
    (tmp_path / "b.secdet").write_text("rule b { where }\n")
    p = run(["check", tmp_path / "a.secdet", tmp_path / "b.secdet"])
    assert p.returncode == 2
    assert re.search(rb"a\.secdet:1:\d+: ", p.stderr), p.stderr
    assert re.search(rb"b\.secdet:1:\d+: ", p.stderr), p.stderr


def test_check_loads_every_secdet_file_below_a_directory(tmp_path):
    sub = tmp_path / "pack" / "aws"
    sub.mkdir(parents=True)
    (sub / "root.secdet").write_text(ROOT_RULE)
    (tmp_path / "pack" / "trail.secdet").write_text(ANY_SOURCE_RULE)
    (tmp_path / "pack" / "notes.txt").write_text("not a rule file {")
    p = run(["check", tmp_path / "pack"])
    assert p.returncode == 0, p.stderr
    assert b"2 rules OK" in p.stderr


def test_check_of_a_missing_file_exits_2(tmp_path):
    p = run(["check", tmp_path / "nope.secdet"])
    assert p.returncode == 2
    assert b"nope.secdet" in p.stderr


def test_check_without_arguments_exits_2():
    assert run(["check"]).returncode == 2


# ---- scan -----------------------------------------------------------------


def test_scan_prints_one_json_alert_per_match_with_its_fields(rules, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text(jsonl(root_event(), root_event(kind="IAMUser"), root_event(ip="198.51.100.1")))
    p = run(["scan", "--rules", rules, "--format", "jsonl", "--source", "cloudtrail", events])
    assert p.returncode == 0, p.stderr
    alerts = alerts_of(p)
    assert len(alerts) == 2
    a = alerts[0]
    for field in ("rule", "title", "severity", "time", "source", "message", "id", "events"):
        assert field in a, field
    assert a["rule"] == "root_login"
    assert a["severity"] == "high"
    assert a["source"] == "cloudtrail"
    assert a["message"] == "Root login from 203.0.113.7"
    assert alerts[1]["message"] == "Root login from 198.51.100.1"


def test_scan_summary_counts_events_files_and_alerts(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event(), root_event(kind="IAMUser")))
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", events])
    assert p.returncode == 0
    assert re.search(
        rb"^scanned 2 events \(0 malformed\) from 1 file, 1 alert, in \d+\.\d\d s \(\d+ events/s\)$",
        p.stderr, re.M), p.stderr


def test_quiet_drops_the_summary(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event()))
    p = run(["scan", "-q", "--rules", rules, "--source", "cloudtrail", events])
    assert p.returncode == 0
    assert b"scanned" not in p.stderr
    assert len(alerts_of(p)) == 1


def test_malformed_line_is_reported_with_its_line_and_the_rest_scanned(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps(root_event()) + "\n{not json\n" + json.dumps(root_event(ip="10.0.0.9")) + "\n")
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", events])
    assert p.returncode == 0, p.stderr
    assert re.search(rb"e\.jsonl:2: ", p.stderr), p.stderr
    assert b"e.jsonl:2: line 2" not in p.stderr  # the place is said once
    assert len(alerts_of(p)) == 2
    assert b"(1 malformed)" in p.stderr


def test_gzip_input_is_read(rules, tmp_path):
    events = tmp_path / "e.jsonl.gz"
    with gzip.open(events, "wt") as f:
        f.write(jsonl(root_event(), root_event(ip="192.0.2.1")))
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", events])
    assert p.returncode == 0, p.stderr
    assert [a["message"] for a in alerts_of(p)] == [
        "Root login from 203.0.113.7", "Root login from 192.0.2.1"]


def test_gzip_cloudtrail_file_is_detected_after_inflating(rules, tmp_path):
    doc = json.dumps({"Records": [root_event(), root_event(kind="AssumedRole")]})
    events = tmp_path / "111122223333_CloudTrail_us-east-1_x.json.gz"
    events.write_bytes(gzip.compress(doc.encode()))
    p = run(["scan", "--rules", rules, events])
    assert p.returncode == 0, p.stderr
    alerts = alerts_of(p)
    assert len(alerts) == 1
    assert alerts[0]["source"] == "cloudtrail"


def test_concatenated_gzip_members_are_all_read(rules, tmp_path):
    events = tmp_path / "e.gz"
    events.write_bytes(gzip.compress(jsonl(root_event()).encode()) +
                       gzip.compress(jsonl(root_event(ip="192.0.2.2")).encode()))
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", events])
    assert p.returncode == 0, p.stderr
    assert len(alerts_of(p)) == 2


def test_truncated_gzip_is_unreadable_input(rules, tmp_path):
    events = tmp_path / "e.gz"
    events.write_bytes(gzip.compress(jsonl(*[root_event()] * 200).encode())[:-20])
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", events])
    assert p.returncode == 2
    assert b"e.gz" in p.stderr and b"gzip" in p.stderr
    # What could be inflated before the cut was still evaluated.
    assert 0 < len(alerts_of(p)) < 200


def test_stdin_dash_is_read(rules):
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", "-"], stdin=jsonl(root_event()).encode())
    assert p.returncode == 0, p.stderr
    assert len(alerts_of(p)) == 1


def test_gzip_on_stdin_is_read(rules):
    data = gzip.compress(jsonl(root_event()).encode())
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", "-"], stdin=data)
    assert p.returncode == 0, p.stderr
    assert len(alerts_of(p)) == 1


def test_source_name_defaults_to_the_detected_format(tmp_path):
    r = tmp_path / "r.secdet"
    r.write_text(JSONL_ONLY_RULE)
    lines = tmp_path / "lines.jsonl"
    lines.write_text(jsonl({"eventName": "DeleteTrail", "eventTime": "2023-07-10T12:00:00Z"}))
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"Records": [{"eventName": "DeleteTrail",
                                              "eventTime": "2023-07-10T12:00:01Z"}]}, indent=2))
    p = run(["scan", "--rules", r, lines, trail])
    assert p.returncode == 0, p.stderr
    fired = [(a["rule"], a["source"]) for a in alerts_of(p)]
    assert fired == [("jsonl_delete", "jsonl"), ("cloudtrail_delete", "cloudtrail")]


def test_explicit_source_names_every_event(tmp_path):
    r = tmp_path / "r.secdet"
    r.write_text(JSONL_ONLY_RULE)
    lines = tmp_path / "lines.jsonl"
    lines.write_text(jsonl({"eventName": "DeleteTrail"}))
    p = run(["scan", "--rules", r, "--source", "mylogs", lines])
    assert p.returncode == 0, p.stderr
    assert [(a["rule"], a["source"]) for a in alerts_of(p)] == [("custom_delete", "mylogs")]


def test_explicit_source_still_detects_the_format_of_each_file(tmp_path):
    r = tmp_path / "r.secdet"
    r.write_text(ANY_SOURCE_RULE)
    lines = tmp_path / "lines.jsonl"
    lines.write_text(jsonl({"eventName": "DeleteTrail", "n": 1}))
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps({"Records": [{"eventName": "DeleteTrail", "n": 2}, 7]}))
    p = run(["scan", "--rules", r, "--source", "mine", lines, trail, lines])
    assert p.returncode == 0, p.stderr
    assert [(a["source"], a["events"][-1]["n"]) for a in alerts_of(p)] == [
        ("mine", 1), ("mine", 2), ("mine", 1)]
    assert re.search(rb"trail\.json: record 2: ", p.stderr), p.stderr


def test_forced_format_decides_the_source_name(tmp_path):
    r = tmp_path / "r.secdet"
    r.write_text(JSONL_ONLY_RULE)
    lines = tmp_path / "lines.jsonl"
    # A JSON line whose first key is Records: auto would call it CloudTrail.
    lines.write_text(jsonl({"Records": 1, "eventName": "DeleteTrail"}))
    p = run(["scan", "--rules", r, "--format", "jsonl", lines])
    assert p.returncode == 0, p.stderr
    assert [a["rule"] for a in alerts_of(p)] == ["jsonl_delete"]


def test_unknown_format_is_a_usage_error(rules):
    p = run(["scan", "--rules", rules, "--format", "xml", "-"], stdin=b"")
    assert p.returncode == 2
    assert b"xml" in p.stderr


def test_cloudtrail_malformed_record_is_reported_by_record_number(rules, tmp_path):
    trail = tmp_path / "trail.json"
    trail.write_text('{"Records": [' + json.dumps(root_event()) + ', 42, ' +
                     json.dumps(root_event(ip="192.0.2.3")) + ']}')
    p = run(["scan", "--rules", rules, trail])
    assert p.returncode == 0, p.stderr
    assert re.search(rb"trail\.json: record 2: ", p.stderr), p.stderr
    assert len(alerts_of(p)) == 2


def test_fail_on_alert_exits_1_when_something_fired(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event()))
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", "--fail-on-alert", events])
    assert p.returncode == 1
    assert len(alerts_of(p)) == 1


def test_fail_on_alert_exits_0_when_nothing_fired(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event(kind="IAMUser")))
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", "--fail-on-alert", events])
    assert p.returncode == 0
    assert p.stdout == b""


def test_missing_input_file_is_reported_others_scanned_exit_2(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event()))
    missing = tmp_path / "missing.jsonl"
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", "--fail-on-alert", missing, events])
    assert p.returncode == 2
    assert b"missing.jsonl" in p.stderr
    assert len(alerts_of(p)) == 1
    assert b"from 1 file," in p.stderr


def test_unusable_rules_exit_2_with_every_diagnostic(tmp_path):
    bad = tmp_path / "bad.secdet"
    bad.write_text("rule x { where .a == }\nrule y { where }\n")
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event()))
    p = run(["scan", "--rules", bad, events])
    assert p.returncode == 2
    assert len(re.findall(rb"bad\.secdet:\d+:\d+: ", p.stderr)) >= 2, p.stderr
    assert p.stdout == b""


def test_several_rules_options_load_into_one_engine(rules, tmp_path):
    other = tmp_path / "trail.secdet"
    other.write_text(ANY_SOURCE_RULE)
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event(), root_event(kind="IAMUser", name="DeleteTrail")))
    p = run(["scan", "-r", rules, "--rules", other, "--source", "cloudtrail", events])
    assert p.returncode == 0, p.stderr
    assert sorted(a["rule"] for a in alerts_of(p)) == ["delete_trail", "root_login"]


def test_files_are_merged_in_event_time_order_ties_in_the_order_given(tmp_path):
    r = tmp_path / "r.secdet"
    r.write_text(ANY_SOURCE_RULE)
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    a.write_text(jsonl({"eventName": "DeleteTrail", "n": "a", "eventTime": "2023-07-10T12:00:00Z"}))
    b.write_text(jsonl({"eventName": "DeleteTrail", "n": "b", "eventTime": "2023-07-10T12:00:01Z"}))
    p = run(["scan", "--rules", r, b, a])
    assert [al["events"][-1]["n"] for al in alerts_of(p)] == ["a", "b"]
    b.write_text(jsonl({"eventName": "DeleteTrail", "n": "b", "eventTime": "2023-07-10T12:00:00Z"}))
    p = run(["scan", "--rules", r, b, a])
    assert [al["events"][-1]["n"] for al in alerts_of(p)] == ["b", "a"]


def test_text_output_is_one_readable_line_per_alert(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event()))
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", "--output", "text", events])
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert re.match(r"^HIGH\s+2023-07-10T12:11:15Z\s+root_login\s+Root login from 203\.0\.113\.7\n$", out), out
    assert "\033[" not in out  # not a terminal: no colour


def test_text_output_neutralises_control_characters(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event(ip="1.2.3.4\u001b]0;pwned\u0007\n")))
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", "--output", "text", events])
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "\x1b" not in out and "\x07" not in out
    assert out.count("\n") == 1


def test_no_progress_bar_when_stderr_is_not_a_terminal(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event()))
    p = run(["scan", "--rules", rules, "--source", "cloudtrail", events])
    assert b"\r" not in p.stderr


def test_many_events_in_more_than_one_chunk(rules, tmp_path):
    # Larger than one read chunk, so lines straddle pushes.
    padding = "x" * 900
    evs = [dict(root_event(ip=f"10.0.{i // 256}.{i % 256}"), pad=padding) for i in range(3000)]
    events = tmp_path / "big.jsonl"
    events.write_text(jsonl(*evs))
    # -j 1: one engine's pushes are under test, and the order of its alerts
    p = run(["scan", "-j", "1", "--rules", rules, "--source", "cloudtrail", events])
    assert p.returncode == 0, p.stderr
    alerts = alerts_of(p)
    assert len(alerts) == 3000
    assert alerts[-1]["message"] == "Root login from 10.0.11.183"
    assert b"scanned 3000 events" in p.stderr


# ---- test -----------------------------------------------------------------


def write_tests(path, cases):
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))


def test_test_counts_passes_and_prints_the_closing_line(rules, tmp_path):
    write_tests(tmp_path / "root.tests.jsonl", [
        {"rule": "root_login", "expect": "match", "event": root_event(), "name": "root"},
        {"rule": "root_login", "expect": "no-match", "event": root_event(kind="IAMUser")},
    ])
    p = run(["test", rules])
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert p.stdout.decode().splitlines()[-1] == "2 passed, 0 failed"
    assert b"FAIL" not in p.stdout


def test_test_reports_a_failing_test_and_exits_1(rules, tmp_path):
    write_tests(tmp_path / "root.tests.jsonl", [
        {"rule": "root_login", "expect": "match", "event": root_event()},
        {"rule": "root_login", "expect": "no-match", "event": root_event()},
        {"rule": "root_login", "expect": "match", "event": root_event(kind="IAMUser"), "name": "wrong"},
    ])
    p = run(["test", rules])
    assert p.returncode == 1
    out = p.stdout.decode()
    assert out.splitlines()[-1] == "1 passed, 2 failed"
    assert "root.tests.jsonl:2" in out
    assert "root.tests.jsonl:3" in out and "wrong" in out


def test_test_verbose_prints_passing_tests_too(rules, tmp_path):
    write_tests(tmp_path / "root.tests.jsonl", [
        {"rule": "root_login", "expect": "match", "event": root_event()},
        {"rule": "root_login", "expect": "no-match", "event": root_event(kind="IAMUser")},
    ])
    p = run(["test", "-v", rules])
    assert p.returncode == 0
    assert len(re.findall(r"^ok\b", p.stdout.decode(), re.M)) == 2


def test_test_requires_a_firing_and_a_silent_test_per_rule(rules, tmp_path):
    write_tests(tmp_path / "root.tests.jsonl", [
        {"rule": "root_login", "expect": "match", "event": root_event()},
    ])
    p = run(["test", rules])
    assert p.returncode == 1
    out = p.stdout.decode()
    assert "rule root_login has no test that must not fire" in out
    assert out.splitlines()[-1] == "1 passed, 1 failed"


def test_test_private_rules_need_no_tests(tmp_path):
    r = tmp_path / "p.secdet"
    r.write_text("rule helper {\n    where .eventName == \"X\"\n    private\n}\n")
    write_tests(tmp_path / "p.tests.jsonl", [])
    p = run(["test", r])
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert p.stdout.decode().splitlines()[-1] == "0 passed, 0 failed"


def test_test_without_a_tests_file_notes_it(rules):
    p = run(["test", rules])
    assert b"no tests" in p.stderr
    assert p.stdout.decode().splitlines()[-1] == "0 passed, 2 failed"
    assert p.returncode == 1


def test_test_malformed_test_line_is_an_error_with_its_line(rules, tmp_path):
    (tmp_path / "root.tests.jsonl").write_text(
        json.dumps({"rule": "root_login", "expect": "match", "event": root_event()}) + "\n"
        + '{"rule": "root_login", "expect": "maybe", "event": {}}\n'
        + "{oops\n")
    p = run(["test", rules])
    assert p.returncode == 2
    assert re.search(rb"root\.tests\.jsonl:2: ", p.stderr), p.stderr
    assert re.search(rb"root\.tests\.jsonl:3: ", p.stderr), p.stderr


def test_test_uses_the_source_of_each_test_else_the_rules_on(tmp_path):
    r = tmp_path / "s.secdet"
    r.write_text(JSONL_ONLY_RULE.split("rule cloudtrail_delete")[0])
    write_tests(tmp_path / "s.tests.jsonl", [
        {"rule": "jsonl_delete", "expect": "match", "event": {"eventName": "DeleteTrail"}},  # the rule's `on jsonl`
        {"rule": "jsonl_delete", "expect": "no-match", "source": "cloudtrail", "event": {"eventName": "DeleteTrail"}},
    ])
    p = run(["test", r])
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert p.stdout.decode().splitlines()[-1] == "2 passed, 0 failed"


def test_test_finds_tests_beside_rule_files_in_a_directory(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "root.secdet").write_text(ROOT_RULE)
    write_tests(pack / "root.tests.jsonl", [
        {"rule": "root_login", "expect": "match", "event": root_event()},
        {"rule": "root_login", "expect": "no-match", "event": root_event(kind="IAMUser")},
    ])
    p = run(["test", pack])
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert p.stdout.decode().splitlines()[-1] == "2 passed, 0 failed"


def test_test_on_unusable_rules_exits_2(tmp_path):
    bad = tmp_path / "bad.secdet"
    bad.write_text("rule x { where }\n")
    p = run(["test", bad])
    assert p.returncode == 2
    assert re.search(rb"bad\.secdet:\d+:\d+: ", p.stderr)


def test_test_unknown_rule_in_a_test_fails_it(rules, tmp_path):
    write_tests(tmp_path / "root.tests.jsonl", [
        {"rule": "root_login", "expect": "match", "event": root_event()},
        {"rule": "root_login", "expect": "no-match", "event": root_event(kind="IAMUser")},
        {"rule": "no_such_rule", "expect": "match", "event": root_event()},
    ])
    p = run(["test", rules])
    assert p.returncode == 1
    assert "no_such_rule" in p.stdout.decode()
    assert p.stdout.decode().splitlines()[-1] == "2 passed, 1 failed"


# ---- test: streams of events (aggregation rules) ---------------------------

STREAM_RULES = textwrap.dedent(
    """\
    rule root_call {
        on cloudtrail
        where .userIdentity.type == "Root"
    }
    rule failed_logins {
        on cloudtrail
        where .eventName == "ConsoleLogin" and .errorMessage == "Failed authentication"
        count >= 3 within 5m by .sourceIPAddress
    }
    rule recon_then_attach {
        on cloudtrail
        sequence within 1h by .userIdentity.arn {
            recon: .eventName == "ListUsers";
            attach: .eventName == "AttachUserPolicy"
        }
    }
    rule root_throttled {
        on cloudtrail
        where .userIdentity.type == "Root"
        throttle 1h by .sourceIPAddress
    }
    """
)


def failed_login(minute, ip="198.51.100.23"):
    return {"eventTime": f"2024-03-14T09:{minute:02d}:00Z", "eventName": "ConsoleLogin",
            "errorMessage": "Failed authentication", "sourceIPAddress": ip,
            "userIdentity": {"type": "IAMUser", "userName": "alice"}}


def iam_call(minute, name, arn="arn:aws:iam::111122223333:user/mallory"):
    return {"eventTime": f"2024-03-14T09:{minute:02d}:00Z", "eventName": name,
            "eventSource": "iam.amazonaws.com", "userIdentity": {"type": "IAMUser", "arn": arn}}


def root_call(minute, ip="203.0.113.99"):
    event = root_event(ip=ip, name="DescribeInstances")
    event["eventTime"] = f"2024-03-14T09:{minute:02d}:00Z"
    return event


@pytest.fixture
def stream_rules(tmp_path):
    path = tmp_path / "agg.secdet"
    path.write_text(STREAM_RULES)
    return path


# Tests each rule of STREAM_RULES both ways, so coverage adds no failures.
STREAM_BASELINE = [
    {"rule": "root_call", "expect": "match", "event": root_call(0)},
    {"rule": "root_call", "expect": "no-match", "event": failed_login(0)},
    {"rule": "failed_logins", "expect": "match", "events": [failed_login(m) for m in range(3)]},
    {"rule": "failed_logins", "expect": "no-match", "events": [failed_login(0), failed_login(1)]},
    {"rule": "recon_then_attach", "expect": "match",
     "events": [iam_call(0, "ListUsers"), iam_call(1, "AttachUserPolicy")]},
    {"rule": "recon_then_attach", "expect": "no-match", "events": [iam_call(0, "ListUsers")]},
    {"rule": "root_throttled", "expect": "match", "event": root_call(0)},
    {"rule": "root_throttled", "expect": "no-match", "event": failed_login(0)},
]


def run_stream_tests(rules_path, cases, *extra):
    write_tests(rules_path.parent / "agg.tests.jsonl", STREAM_BASELINE + cases)
    return run(["test", *extra, rules_path])


def summary(p):
    return p.stdout.decode().splitlines()[-1]


def test_test_stream_counts_every_alert_of_the_rule(stream_rules):
    events = [root_call(0), failed_login(1), root_call(2)]
    p = run_stream_tests(stream_rules, [
        {"rule": "root_call", "expect": "match", "expect_alerts": 2, "events": events, "name": "two"},
        {"rule": "root_call", "expect": "match", "expect_alerts": 3, "events": events, "name": "three"},
    ])
    assert p.returncode == 1, (p.stdout, p.stderr)
    out = p.stdout.decode()
    assert summary(p) == "9 passed, 1 failed"
    assert re.search(r"^FAIL .*agg\.tests\.jsonl:10 .*root_call \(three\): expected 3 alerts, got 2$", out, re.M), out


def test_test_stream_fires_a_count_rule_only_on_enough_events(stream_rules):
    p = run_stream_tests(stream_rules, [
        {"rule": "failed_logins", "expect": "match", "expect_alerts": 1,
         "events": [failed_login(0), failed_login(2), failed_login(4)]},
        {"rule": "failed_logins", "expect": "match", "expect_alerts": 2,
         "events": [failed_login(m) for m in range(6)]},
        {"rule": "failed_logins", "expect": "no-match",
         "events": [failed_login(0), failed_login(3), failed_login(6)], "name": "spread over 6 minutes"},
        {"rule": "failed_logins", "expect": "no-match",
         "events": [failed_login(0), failed_login(1, ip="192.0.2.1"), failed_login(2)], "name": "two IPs"},
    ])
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert summary(p) == "12 passed, 0 failed"


def test_test_stream_sequence_must_come_in_order_in_one_group(stream_rules):
    p = run_stream_tests(stream_rules, [
        {"rule": "recon_then_attach", "expect": "match",
         "events": [iam_call(0, "ListUsers"), iam_call(10, "AttachUserPolicy")]},
        {"rule": "recon_then_attach", "expect": "no-match", "name": "wrong order",
         "events": [iam_call(0, "AttachUserPolicy"), iam_call(10, "ListUsers")]},
        {"rule": "recon_then_attach", "expect": "no-match", "name": "another principal",
         "events": [iam_call(0, "ListUsers"), iam_call(10, "AttachUserPolicy", arn="arn:aws:iam::1:user/x")]},
    ])
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert summary(p) == "11 passed, 0 failed"


def test_test_expect_alerts_pins_a_throttled_rule_to_one_alert(stream_rules):
    p = run_stream_tests(stream_rules, [
        {"rule": "root_throttled", "expect": "match", "expect_alerts": 1, "name": "same IP",
         "events": [root_call(0), root_call(10)]},
        {"rule": "root_throttled", "expect": "match", "expect_alerts": 2, "name": "two IPs",
         "events": [root_call(0), root_call(10, ip="198.51.100.1")]},
        {"rule": "root_throttled", "expect": "match", "name": "plain match accepts one alert",
         "events": [root_call(0), root_call(10)]},
    ])
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert summary(p) == "11 passed, 0 failed"


def test_test_stream_goes_to_the_source_of_the_test(tmp_path):
    r = tmp_path / "s.secdet"
    r.write_text('rule on_jsonl { on jsonl where .eventName == "X" }\n')
    write_tests(tmp_path / "s.tests.jsonl", [
        {"rule": "on_jsonl", "expect": "match", "expect_alerts": 2,
         "events": [{"eventName": "X"}, {"eventName": "X"}]},
        {"rule": "on_jsonl", "expect": "no-match", "source": "okta",
         "events": [{"eventName": "X"}, {"eventName": "X"}]},
    ])
    p = run(["test", r])
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert summary(p) == "2 passed, 0 failed"


@pytest.mark.parametrize("bad, message", [
    ({"events": []}, b"at least one event"),
    ({"events": {"eventName": "X"}}, b"must be an array"),
    ({"events": [{"eventName": "X"}, 3]}, b"must be a JSON object"),
    ({"event": {"eventName": "X"}, "events": [{"eventName": "X"}]}, b"not both"),
    ({"event": {"eventName": "X"}, "expect_alerts": -1}, b"whole number"),
    ({"event": {"eventName": "X"}, "expect_alerts": 1.5}, b"whole number"),
    ({"event": {"eventName": "X"}, "expect_alerts": "1"}, b"whole number"),
    ({"event": {"eventName": "X"}, "expect_alerts": 0}, b"contradicts"),
    ({"expect_alerts": 1}, b"missing \"event\""),
])
def test_test_malformed_stream_lines_are_errors_with_their_line(rules, tmp_path, bad, message):
    case = {"rule": "root_login", "expect": "match"}
    case.update(bad)
    write_tests(tmp_path / "root.tests.jsonl", [
        {"rule": "root_login", "expect": "match", "event": root_event()},
        case,
    ])
    p = run(["test", rules])
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert re.search(rb"root\.tests\.jsonl:2: ", p.stderr), p.stderr
    assert message in p.stderr, p.stderr


def test_test_stream_names_the_event_that_could_not_be_evaluated(rules, tmp_path):
    deep = {"eventName": "ConsoleLogin"}
    for _ in range(80):  # past the engine's JSON depth limit (64), within the test file's
        deep = {"d": deep}
    write_tests(tmp_path / "root.tests.jsonl", [
        {"rule": "root_login", "expect": "match", "events": [root_event(), deep]},
    ])
    p = run(["test", rules])
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert re.search(rb"root\.tests\.jsonl:1: event 2 of the stream could not be evaluated", p.stderr), p.stderr


# ---- disasm ---------------------------------------------------------------


def test_disasm_prints_bytecode_of_the_rules(rules):
    p = run(["disasm", rules])
    assert p.returncode == 0, p.stderr
    assert b"root_login" in p.stdout
    assert len(p.stdout.splitlines()) > 2


def test_disasm_of_bad_rules_exits_2(tmp_path):
    bad = tmp_path / "bad.secdet"
    bad.write_text("rule x { where }\n")
    p = run(["disasm", bad])
    assert p.returncode == 2


# ---- on a terminal (through script(1), when it is there) --------------------


def run_on_tty(args, env=None):
    import shlex
    import shutil

    if shutil.which("script") is None:
        pytest.skip("script(1) is not installed")
    cmd = " ".join(shlex.quote(str(a)) for a in [BIN] + list(args))
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env["TERM"] = "xterm"
    if env:
        full_env.update(env)
    return subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                          stdin=subprocess.DEVNULL, env=full_env, timeout=60)


def test_terminal_gets_coloured_readable_lines_and_a_cleared_progress_bar(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event()))
    p = run_on_tty(["scan", "--rules", rules, "--source", "cloudtrail", events])
    out = p.stdout.decode(errors="replace")
    assert "\x1b[31mHIGH" in out, out
    assert "Root login from 203.0.113.7" in out
    assert not out.lstrip().startswith("{")
    # The bar was drawn, then erased before the summary.
    assert "1 event " in out and "\r\x1b[Kscanned 1 event " in out, out


def test_no_color_turns_colour_off(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event()))
    p = run_on_tty(["scan", "--rules", rules, "--source", "cloudtrail", events], env={"NO_COLOR": "1"})
    out = p.stdout.decode(errors="replace")
    assert "HIGH" in out
    assert "\x1b[31m" not in out


def test_no_progress_hides_the_bar_and_json_output_stays_json(rules, tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text(jsonl(root_event()))
    p = run_on_tty(["scan", "--no-progress", "--output", "json", "--rules", rules,
                    "--source", "cloudtrail", events])
    out = p.stdout.decode(errors="replace")
    assert "\x1b[K" not in out
    first = out.strip().splitlines()[0]
    assert json.loads(first)["rule"] == "root_login"
