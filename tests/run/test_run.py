"""End-to-end tests of `secdet run --config`: real TCP (both framings) and UDP
sockets on 127.0.0.1 with ephemeral ports, a file that is appended to,
rotated and truncated, stdin, SIGHUP reloads (good and bad rule sets),
SIGTERM, SIGUSR1 and timed stats, sinks, and configuration errors.

Every wait has a deadline, and every process started is killed at teardown.
SECDET_BIN names the command (ctest sets it); else build/secdet.
"""
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time

import pytest

ROOT = os.environ.get("SECDET_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))
TIMEOUT = 10.0

RULES = """
rule deny {
    where .action == "deny"
    output "denied {.user}"
}
"""


class Runner:
    """A `secdet run` process: its stdout (alerts) and stderr lines are read by threads."""

    def __init__(self, tmp_path, config, stdin=None):
        self.path = tmp_path / "secdet.json"
        self.path.write_text(json.dumps(config))
        self.proc = subprocess.Popen([BIN, "run", "--config", str(self.path)], stdin=stdin or subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.alerts = queue.Queue()
        self.err = queue.Queue()
        self.err_lines = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.alerts), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True).start()

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line.decode("utf-8", "replace").rstrip("\n"))
        q.put(None)

    def status(self, kind, timeout=TIMEOUT):
        """The next stderr JSON line of "type" kind (other lines are kept in err_lines)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind!r} line within {timeout}s; stderr so far: {self.err_lines}")
            try:
                line = self.err.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"process ended before a {kind!r} line; stderr: {self.err_lines}")
            self.err_lines.append(line)
            if line.startswith("{"):
                obj = json.loads(line)
                if obj.get("type") == kind:
                    return obj

    def ready(self):
        listening = []
        deadline = time.monotonic() + TIMEOUT
        while True:
            line = self.err.get(timeout=max(0.01, deadline - time.monotonic()))
            assert line is not None, f"process ended: {self.err_lines}"
            self.err_lines.append(line)
            if line.startswith("{"):
                obj = json.loads(line)
                if obj["type"] == "listening":
                    listening.append(obj)
                elif obj["type"] == "ready":
                    return listening

    def take_alerts(self, n, timeout=TIMEOUT):
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"wanted {n} alerts, got {got}; stderr: {self.err_lines}")
            try:
                line = self.alerts.get(timeout=left)
            except queue.Empty:
                continue
            assert line is not None, f"process ended after {got}; stderr: {self.err_lines}"
            got.append(json.loads(line))
        return got

    def no_more_alerts(self, wait=0.3):
        try:
            line = self.alerts.get(timeout=wait)
        except queue.Empty:
            return
        assert line is None, f"unexpected alert {line}"

    def stats(self):
        self.proc.send_signal(signal.SIGUSR1)
        return self.status("stats")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=TIMEOUT)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def run(tmp_path):
    started = []
    (tmp_path / "rules.secdet").write_text(RULES)

    def start(sources, **extra):
        config = {"rules": [str(tmp_path / "rules.secdet")], "sources": sources}
        config.update(extra)
        stdin = config.pop("_stdin", None)
        r = Runner(tmp_path, config, stdin=stdin)
        started.append(r)
        return r

    yield start
    for r in started:
        r.kill()


def port_of(listening, kind):
    return next(x["port"] for x in listening if x["input"] == kind)


def users(alerts):
    return sorted(a["event"]["user"] if "event" in a else a["message"] for a in alerts)


def alert_users(alerts):
    return sorted(a["message"].replace("denied ", "") for a in alerts)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return s


def test_tcp_lines_garbage_and_mid_line_disconnect_do_not_disturb_other_clients(run):
    r = run([{"name": "app", "format": "jsonl", "input": {"type": "tcp", "address": "127.0.0.1", "port": 0}}],
            limits={"max_event_bytes": 4096})
    port = port_of(r.ready(), "tcp")
    good = connect(port)
    good.sendall(b'{"action":"deny","us')  # half a line, held for this client only
    garbage = connect(port)
    garbage.sendall(b"\x00\xff not json at all\n" + b"x" * 10000 + b"\n{\"action\":\"deny\",\"user\":\"g\"}\n")
    quitter = connect(port)
    quitter.sendall(b'{"action":"deny","user":"q"')  # then gone, mid-line
    quitter.close()
    assert alert_users(r.take_alerts(1)) == ["g"]
    good.sendall(b'er":"alice"}\n{"action":"allow","user":"x"}\r\n{"action":"deny","user":"bob"}\n')
    assert alert_users(r.take_alerts(2)) == ["alice", "bob"]
    r.no_more_alerts()
    s = r.stats()
    assert s["oversized"] == 1
    assert s["malformed"] >= 3  # garbage line, oversized line, the quitter's partial line
    assert s["connections"] == 2
    good.close()
    garbage.close()
    assert r.stop() == 0


def test_tcp_octet_counted_frames_and_a_broken_count_closes_only_that_client(run):
    r = run([{"name": "app", "format": "jsonl",
              "input": {"type": "tcp", "address": "127.0.0.1", "port": 0, "framing": "octet-counted"}}])
    port = port_of(r.ready(), "tcp")
    a = connect(port)
    m1 = b'{"action":"deny","user":"one"}'
    m2 = b'{"action": "deny", "user": "two 2"}'  # spaces and digits inside a frame
    stream = b"%d %s%d %s" % (len(m1), m1, len(m2), m2)
    a.sendall(stream[:7])
    time.sleep(0.05)
    a.sendall(stream[7:])
    bad = connect(port)
    bad.sendall(b"12x garbage\n")
    assert alert_users(r.take_alerts(2)) == ["one", "two 2"]
    bad.settimeout(TIMEOUT)
    assert bad.recv(10) == b""  # closed by the server
    m3 = b'{"action":"deny","user":"three"}'
    a.sendall(b"%d %s" % (len(m3), m3))
    assert alert_users(r.take_alerts(1)) == ["three"]
    a.close()
    assert r.stop() == 0


def test_udp_one_event_per_datagram(run):
    r = run([{"name": "app", "format": "jsonl", "input": {"type": "udp", "address": "127.0.0.1", "port": 0}}])
    port = port_of(r.ready(), "udp")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b'{"action":"deny","user":"u1"}', ("127.0.0.1", port))
    u.sendto(b'not json', ("127.0.0.1", port))
    u.sendto(b'{"action":"deny","user":"u2"}\n', ("127.0.0.1", port))
    assert alert_users(r.take_alerts(2)) == ["u1", "u2"]
    assert r.stats()["malformed"] == 1
    u.close()
    assert r.stop() == 0


def test_file_tail_follows_appends_rotation_and_truncation(run, tmp_path):
    log = tmp_path / "app.log"
    log.write_text('{"action":"deny","user":"before"}\n')
    r = run([{"name": "app", "format": "jsonl",
              "input": {"type": "file", "path": str(log), "start": "beginning", "poll_ms": 20}}])
    r.ready()
    assert alert_users(r.take_alerts(1)) == ["before"]
    with open(log, "a") as f:
        f.write('{"action":"deny","user":"appended"}\n{"action":"deny",')
        f.flush()
        time.sleep(0.1)
        f.write('"user":"split"}\n')
    assert alert_users(r.take_alerts(2)) == ["appended", "split"]
    with open(log, "a") as f:
        f.write('{"action":"deny","user":"last-in-old"}\n')
    os.rename(log, tmp_path / "app.log.1")
    log.write_text('{"action":"deny","user":"new-file"}\n')
    assert alert_users(r.take_alerts(2)) == ["last-in-old", "new-file"]
    time.sleep(0.1)
    log.write_text('{"action":"deny","user":"t"}\n')  # truncated, shorter than before
    assert alert_users(r.take_alerts(1)) == ["t"]
    assert r.stop() == 0


def test_file_tail_from_end_skips_existing_lines_and_waits_for_a_missing_file(run, tmp_path):
    old = tmp_path / "old.log"
    old.write_text('{"action":"deny","user":"old"}\n')
    missing = tmp_path / "later.log"
    r = run([{"name": "app", "format": "jsonl", "input": [
        {"type": "file", "path": str(old), "poll_ms": 20},
        {"type": "file", "path": str(missing), "poll_ms": 20}]}])
    r.ready()
    with open(old, "a") as f:
        f.write('{"action":"deny","user":"new"}\n')
    missing.write_text('{"action":"deny","user":"created"}\n')
    assert alert_users(r.take_alerts(2)) == ["created", "new"]
    r.no_more_alerts()
    assert r.stop() == 0


def test_sighup_reloads_a_good_ruleset_and_keeps_the_old_one_on_errors(run, tmp_path):
    r = run([{"name": "app", "format": "jsonl", "input": {"type": "tcp", "address": "127.0.0.1", "port": 0}}])
    port = port_of(r.ready(), "tcp")
    c = connect(port)
    c.sendall(b'{"action":"deny","user":"a"}\n')
    assert r.take_alerts(1)[0]["rule"] == "deny"
    (tmp_path / "rules.secdet").write_text('rule allowed { where .action == "allow" }\n')
    r.proc.send_signal(signal.SIGHUP)
    rel = r.status("reload")
    assert rel["ok"] is True and rel["rules"] == 1
    c.sendall(b'{"action":"deny","user":"b"}\n{"action":"allow","user":"c"}\n')
    assert [a["rule"] for a in r.take_alerts(1)] == ["allowed"]
    (tmp_path / "rules.secdet").write_text('rule broken { where .action == }\n')
    r.proc.send_signal(signal.SIGHUP)
    rel = r.status("reload")
    assert rel["ok"] is False and rel["errors"] >= 1
    assert any("rules.secdet:1:" in line for line in r.err_lines), r.err_lines
    c.sendall(b'{"action":"allow","user":"d"}\n')
    assert [a["rule"] for a in r.take_alerts(1)] == ["allowed"]
    c.close()
    assert r.stop() == 0


def test_sigterm_evaluates_what_was_read_and_exits_zero(run, tmp_path):
    sink = tmp_path / "alerts.jsonl"
    sink.write_text('{"earlier":"line"}\n')
    r = run([{"name": "app", "format": "jsonl", "input": {"type": "tcp", "address": "127.0.0.1", "port": 0}}],
            sinks=[{"type": "stdout"}, {"type": "file", "path": str(sink)}])
    port = port_of(r.ready(), "tcp")
    c = connect(port)
    c.sendall(b"".join(b'{"action":"deny","user":"u%d"}\n' % i for i in range(200)))
    r.take_alerts(200)
    c.sendall(b'{"action":"deny","user":"end"}\n')
    time.sleep(0.2)
    assert r.stop() == 0
    lines = sink.read_text().splitlines()
    assert lines[0] == '{"earlier":"line"}'  # appended to, not replaced
    assert len(lines) == 202
    stopped = r.status("stopped")
    assert stopped["alerts"] == 201
    c.close()


def test_sigusr1_and_the_stats_interval_print_stats_lines(run):
    r = run([{"name": "app", "format": "jsonl", "input": {"type": "udp", "address": "127.0.0.1", "port": 0}}],
            stats_interval=0.2)
    port = port_of(r.ready(), "udp")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b'{"action":"deny","user":"s"}', ("127.0.0.1", port))
    r.take_alerts(1)
    timed = r.status("stats")  # from the timer, no signal sent
    assert set(["events", "alerts", "malformed", "udp_dropped", "queued"]) <= set(timed)
    s = r.stats()
    assert s["events"] == 1 and s["alerts"] == 1
    u.close()
    assert r.stop() == 0


def test_stdin_input_ends_the_run_at_its_end(run, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text('{"action":"deny","user":"x"}\n{"action":"deny","user":"y"}')  # no final newline
    with open(data, "rb") as f:
        r = run([{"name": "app", "format": "jsonl", "input": {"type": "stdin"}}], _stdin=f)
        assert r.proc.wait(timeout=TIMEOUT) == 0
    assert alert_users(r.take_alerts(2)) == ["x", "y"]


def test_cloudwatch_and_eventbridge_sources_over_tcp(run):
    import base64
    import gzip
    inner = {"messageType": "DATA_MESSAGE", "logGroup": "g", "logEvents": [
        {"id": "1", "timestamp": 1700000000000, "message": json.dumps({"action": "deny", "user": "cw"})}]}
    payload = json.dumps({"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(inner).encode())).decode()}})
    eb = json.dumps({"version": "0", "id": "1", "detail-type": "x", "source": "s", "account": "1",
                     "time": "2024-01-01T00:00:00Z", "region": "r", "resources": [],
                     "detail": {"action": "deny", "user": "eb"}})
    r = run([{"name": "cw", "format": "cloudwatch-logs",
              "input": {"type": "tcp", "address": "127.0.0.1", "port": 0}},
             {"name": "eb", "format": "eventbridge", "input": {"type": "udp", "address": "127.0.0.1", "port": 0}}])
    listening = r.ready()
    c = connect(port_of(listening, "tcp"))
    c.sendall(payload.encode() + b"\n")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(eb.encode(), ("127.0.0.1", port_of(listening, "udp")))
    alerts = r.take_alerts(2)
    assert alert_users(alerts) == ["cw", "eb"]
    by = {a["source"]: a for a in alerts}
    assert by["eb"]["time"].startswith("2024-01-01T00:00:00")
    c.close()
    u.close()
    assert r.stop() == 0


@pytest.mark.parametrize("config,message", [
    ({"rules": ["r"], "sources": [{"name": "a", "frmat": "jsonl", "input": {"type": "stdin"}}]},
     "sources[0].frmat: unknown key"),
    ({"rules": ["r"], "sources": [{"name": "a", "input": {"type": "tcp", "address": "127.0.0.1", "port": 70000}}]},
     "sources[0].input.port: expected an integer from 0 to 65535"),
    ({"rules": ["r"], "sources": [{"name": "a", "input": [{"type": "stdin"}, {"type": "pipe"}]}]},
     "sources[0].input[1].type: unknown input type \"pipe\""),
    ({"rules": ["r"], "sources": [{"name": "a", "input": {"type": "stdin"}}], "sinks": [{"type": "pagerduty"}]},
     "sinks[0]: sink 'pagerduty-0': type: unknown"),
    ({"rules": ["r"], "sources": [{"name": "a", "input": {"type": "kafka", "brokers": "127.0.0.1:1", "group": "g",
                                                         "topics": ["t"], "stage": "bogus"}}]},
     "sources[0].input: stage: expected single, partition or aggregate"),
    ({"rules": ["r"], "sources": [{"name": "a", "input": [{"type": "kafka", "brokers": "127.0.0.1:1", "group": "g",
                                                          "topics": ["t"]}, {"type": "stdin"}]}]},
     "sources: a kafka input must be the only input of the configuration"),
    ({"rules": ["r"], "sources": [{"name": "a", "input": {"type": "stdin"}}], "limits": {"max_events": 1}},
     "limits.max_events: unknown key"),
    ({"sources": [{"name": "a", "input": {"type": "stdin"}}]}, "rules: missing (required)"),
    ({"rules": ["r"], "sources": [{"name": "a", "format": "xml", "input": {"type": "stdin"}}]},
     "sources[0].format: unknown format \"xml\""),
])
def test_config_errors_name_their_json_path(tmp_path, config, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    p = subprocess.run([BIN, "run", "--config", str(path)], capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 2
    assert f"{path}: {message}" in p.stderr.decode(), p.stderr.decode()


def test_a_full_queue_pauses_tcp_without_losing_events_and_drops_udp_counted(run):
    r = run([{"name": "app", "format": "jsonl", "input": [
        {"type": "tcp", "address": "127.0.0.1", "port": 0},
        {"type": "udp", "address": "127.0.0.1", "port": 0}]}],
        limits={"queue_messages": 2})
    listening = r.ready()
    c = connect(port_of(listening, "tcp"))
    c.sendall(b"".join(b'{"action":"deny","user":"t%d"}\n' % i for i in range(500)))
    assert len(r.take_alerts(500)) == 500  # paused and resumed, nothing lost
    s = r.stats()
    assert s["input_paused"] >= 1
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # The datagrams wait in the kernel while the process is stopped, so the
    # loop finds all 50 at once and the queue of 2 must overflow; sent to a
    # running process, a fast loop can take each one before the next arrives.
    r.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(50):
            u.sendto(b'{"action":"deny","user":"d%d"}' % i, ("127.0.0.1", port_of(listening, "udp")))
    finally:
        r.proc.send_signal(signal.SIGCONT)
    deadline = time.monotonic() + TIMEOUT
    while True:
        s = r.stats()
        if s["events"] - 500 + s["udp_dropped"] == 50 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert s["udp_dropped"] >= 1
    assert s["events"] - 500 + s["udp_dropped"] == 50  # each datagram evaluated or counted as dropped
    c.close()
    u.close()
    assert r.stop() == 0
