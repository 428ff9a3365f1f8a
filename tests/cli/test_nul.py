"""U+0000 in event strings, end to end through `secdet scan`.

A JSON string "x\\u0000y" is three characters, and every rule test sees all
of them, whether the event is read by the one-pass scanner (`--format
jsonl`) or as a cJSON tree (`--format cloudtrail`): `.a == "x"` is false,
`.a contains "y"` true, and the alert's event carries "x\\u0000y". A raw
control character inside a string makes that event malformed, with a
message that names it, and the scan goes on. Before strings carried their
length, the string was "x" to the rules: content after a NUL was hidden.
"""

import json
import os
import re
import subprocess
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))

RULES = textwrap.dedent(
    """\
    rule eq_x { where .a == "x" }
    rule contains_y { where .a contains "y" }
    rule matches_y { where .a matches /y/ }
    rule like_x_y { where .a like "x*y" }
    rule len_3 { where len(.a) == 3 }
    rule twice_by_a {
        where exists .a
        count >= 2 within 1h by .a
        output "twice: {.a}"
    }
    """
)

# Every rule that must fire on one event whose .a is "x\0y" (twice_by_a
# needs two such events).
ONE_EVENT_RULES = {"contains_y", "matches_y", "like_x_y", "len_3"}

NUL = "x\u0000y"


def event(a, n):
    return {"eventTime": "2024-03-14T09:00:0%dZ" % n, "eventName": "E%d" % n, "a": a}


def run(args, cwd):
    proc = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=cwd, timeout=60)
    for marker in (b"AddressSanitizer", b"LeakSanitizer", b"runtime error:"):
        assert marker not in proc.stderr, proc.stderr.decode(errors="replace")
    return proc


def alerts_of(proc):
    return [json.loads(l) for l in proc.stdout.decode().splitlines() if l.strip()]


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "nul.secdet"
    path.write_text(RULES)
    return path


def scan(rules, path, fmt):
    p = run(["scan", "--rules", rules, "--format", fmt, "--output", "json", "--no-progress", path], path.parent)
    assert p.returncode == 0, p.stderr
    return p


def write_events(tmp_path, fmt, events):
    """The events as JSON lines, or as one CloudTrail document (read as a tree)."""
    if fmt == "jsonl":
        path = tmp_path / "events.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in events))
    else:
        path = tmp_path / "trail.json"
        path.write_text(json.dumps({"Records": events}))
    # json.dumps writes the NUL as the escape \u0000, never as a raw byte
    assert b"\\u0000" in path.read_bytes() and b"\x00" not in path.read_bytes()
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "cloudtrail"])
def test_every_test_sees_the_characters_after_a_nul(rules, tmp_path, fmt):
    path = write_events(tmp_path, fmt, [event(NUL, 1)])
    p = scan(rules, path, fmt)
    alerts = alerts_of(p)
    assert {a["rule"] for a in alerts} == ONE_EVENT_RULES  # .a == "x" is false
    for a in alerts:
        assert a["events"][0]["a"] == NUL
    # the JSON line itself escapes it
    assert '"a":"x\\u0000y"' in p.stdout.decode()


@pytest.mark.parametrize("fmt", ["jsonl", "cloudtrail"])
def test_group_key_with_a_nul_is_not_the_truncated_key(rules, tmp_path, fmt):
    path = write_events(tmp_path, fmt, [event(NUL, 1), event("x", 2), event(NUL, 3)])
    alerts = [a for a in alerts_of(scan(rules, path, fmt)) if a["rule"] == "twice_by_a"]
    # "x\0y" and "x" are two groups: only the third event makes a pair
    assert len(alerts) == 1, alerts
    assert alerts[0]["group"] == {".a": NUL}
    assert alerts[0]["message"] == "twice: " + NUL
    assert [e["a"] for e in alerts[0]["events"]] == [NUL, NUL]


@pytest.mark.parametrize("raw", [b"\x00", b"\t", b"\r", b"\x1f"])
def test_raw_control_character_in_a_string_is_malformed_and_the_next_line_runs(rules, tmp_path, raw):
    path = tmp_path / "events.jsonl"
    good = json.dumps(event(NUL, 2)).encode()
    path.write_bytes(b'{"eventName":"E1","a":"x' + raw + b'y"}\n' + good + b"\n")
    p = run(["scan", "--rules", rules, "--format", "jsonl", "--output", "json", "--no-progress", path], tmp_path)
    assert p.returncode == 0, p.stderr
    want = "events.jsonl:1: control character U+%04X in a string at byte 25; it must be escaped" % raw[0]
    assert want.encode() in p.stderr, p.stderr
    assert b"(1 malformed)" in p.stderr, p.stderr
    assert {a["rule"] for a in alerts_of(p)} == ONE_EVENT_RULES  # line 2 still ran


def test_raw_newline_in_a_string_makes_a_cloudtrail_record_malformed(rules, tmp_path):
    path = tmp_path / "trail.json"
    path.write_bytes(b'{"Records":[{"a":"x\ny"}]}')
    p = run(["scan", "--rules", rules, "--format", "cloudtrail", "--output", "json", "--no-progress", path],
            tmp_path)
    assert p.returncode == 0, p.stderr
    assert re.search(rb"record 1: control character U\+000A in a string at byte 8; it must be escaped", p.stderr), \
        p.stderr
    assert alerts_of(p) == []


def test_text_output_shows_the_message_after_a_nul(rules, tmp_path):
    # The terminal form replaces control characters with '?': a U+0000 too,
    # and what follows it is still shown.
    path = write_events(tmp_path, "jsonl", [event(NUL, 1), event(NUL, 2)])
    p = run(["scan", "--rules", rules, "--format", "jsonl", "--output", "text", "--no-progress", "--quiet", path],
            path.parent)
    assert p.returncode == 0, p.stderr
    assert b"twice: x?y" in p.stdout, p.stdout
