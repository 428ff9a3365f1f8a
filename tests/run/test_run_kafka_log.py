"""`secdet run` with a Kafka input whose broker cannot be reached: each
problem is reported once, in secdet's words, never also as librdkafka's raw
`%3|...|FAIL|...` lines (which it prints to stderr unless told otherwise).
No broker is needed: the port refuses connections."""
import json
import os
import signal
import socket
import subprocess
import time

ROOT = os.environ.get("SECDET_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))


def refused_port():
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_for(tmp_path, props, seconds=3.0):
    (tmp_path / "r.secdet").write_text('rule r { where .a == 1 }\n')
    cfg = {"rules": ["r.secdet"],
           "sources": [{"name": "s", "format": "jsonl",
                        "input": {"type": "kafka", "brokers": f"127.0.0.1:{refused_port()}", "group": "g",
                                  "topics": ["t"], "properties": props}}]}
    path = tmp_path / "secdet.json"
    path.write_text(json.dumps(cfg))
    proc = subprocess.Popen([BIN, "run", "--config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(seconds)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, err.splitlines()


def test_unreachable_broker_is_reported_once_in_our_words(tmp_path):
    rc, lines = run_for(tmp_path, {})
    assert rc == 0
    ours = [l for l in lines if l.startswith("secdet: kafka: ")]
    raw = [l for l in lines if l.startswith("%")]
    assert ours, lines
    assert any("Connection refused" in l for l in ours), ours
    assert raw == [], raw


def test_librdkafka_log_comes_back_when_asked_for(tmp_path):
    rc, lines = run_for(tmp_path, {"log_level": 7})
    assert rc == 0
    assert any(l.startswith("%") for l in lines), lines
