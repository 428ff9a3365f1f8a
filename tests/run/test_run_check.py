"""`secdet run --config FILE --check`: the whole configuration checked,
nothing started (docs/config.md).

A good configuration passes although its TCP port is held by this test,
its input file and spool directory do not exist and stdin stays open —
and none of that is touched: no spool directory appears, the port is not
taken. Rule errors, a bad sink and a misspelt librdkafka property of a
Kafka input (no broker anywhere) each fail it with exit status 2 and a
message naming the place. SECDET_BIN names the command; else build/secdet.
"""
import json
import os
import socket
import subprocess

import pytest

ROOT = os.environ.get("SECDET_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))

RULES = 'rule deny {\n    where .action == "deny"\n}\n'


def check(tmp_path, config, *extra):
    path = tmp_path / "secdet.json"
    path.write_text(json.dumps(config))
    # stdin is a pipe nobody writes to: a check that read its inputs would hang here.
    return subprocess.run([BIN, "run", "--config", str(path), *extra], stdin=subprocess.PIPE,
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def held_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    yield s.getsockname()[1]
    s.close()


def good_config(tmp_path, port):
    (tmp_path / "r.secdet").write_text(RULES)
    return {
        "rules": ["r.secdet"],
        "spool_dir": str(tmp_path / "spool"),
        "sources": [{"name": "app", "format": "jsonl",
                     "input": [{"type": "tcp", "address": "127.0.0.1", "port": port},
                               {"type": "file", "path": str(tmp_path / "missing" / "events.jsonl")},
                               {"type": "stdin"}]}],
        "sinks": [{"type": "webhook", "url": "http://127.0.0.1:9/hook"},
                  {"type": "file", "path": str(tmp_path / "out" / "alerts.jsonl")}],
    }


def test_check_passes_and_starts_nothing(tmp_path, held_port):
    r = check(tmp_path, good_config(tmp_path, held_port), "--check")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().endswith("configuration OK (1 rules, 1 sources, 3 inputs, 2 sinks)"), r.stderr
    assert r.stdout == ""
    assert not (tmp_path / "spool").exists(), "--check made the spool directory"
    assert not (tmp_path / "out").exists()


def test_without_check_the_same_file_starts(tmp_path, held_port):
    """What --check did not do, running does: bind the port (held here, so it fails)."""
    r = check(tmp_path, good_config(tmp_path, held_port))
    assert r.returncode == 2, r.stderr
    assert "sources[0].input[0] (tcp)" in r.stderr, r.stderr


def test_check_reports_rule_errors(tmp_path):
    (tmp_path / "bad.secdet").write_text('rule r {\n    where .a === 1\n}\n')
    cfg = {"rules": ["bad.secdet"], "sources": [{"name": "app", "input": {"type": "stdin"}}]}
    r = check(tmp_path, cfg, "--check")
    assert r.returncode == 2
    assert "bad.secdet:2:" in r.stderr and "configuration has errors" in r.stderr, r.stderr


def test_check_reports_a_bad_sink(tmp_path):
    (tmp_path / "r.secdet").write_text(RULES)
    cfg = {"rules": ["r.secdet"], "sources": [{"name": "app", "input": {"type": "stdin"}}],
           "sinks": [{"type": "syslog", "transport": "tcp", "host": "127.0.0.1", "facilty": "local0"}]}
    r = check(tmp_path, cfg, "--check")
    assert r.returncode == 2
    assert "sinks[0]" in r.stderr and "facilty" in r.stderr, r.stderr


def test_check_sets_the_kafka_inputs_properties(tmp_path):
    """librdkafka refuses the property at --check, with no broker to talk to."""
    (tmp_path / "r.secdet").write_text(RULES)
    kafka = {"type": "kafka", "brokers": "127.0.0.1:9", "group": "g", "topics": ["t"],
             "properties": {"session.timeout.ms": "10000"}}
    cfg = {"rules": ["r.secdet"], "sources": [{"name": "app", "input": kafka}]}
    r = check(tmp_path, cfg, "--check")
    assert r.returncode == 0, r.stderr
    kafka["properties"] = {"sesion.timeout.ms": "10000"}
    r = check(tmp_path, cfg, "--check")
    assert r.returncode == 2
    assert "sources[0].input[0] (kafka)" in r.stderr and "sesion.timeout.ms" in r.stderr, r.stderr


def test_help_run_names_check_and_kafka():
    r = subprocess.run([BIN, "help", "run"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    assert "--check" in r.stdout and "Kafka" in r.stdout
