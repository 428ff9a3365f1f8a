"""conftest.py — fixtures of the sink end-to-end tests.

`secdet run --config` processes fed from a file (tailed from its start) or
from stdin, with the "sinks" under test; an HTTP endpoint per test
(http_server.HookServer). Every wait has a deadline; every process and
server started is stopped at teardown. SECDET_BIN names the `secdet`
command (ctest sets it); without it every test is skipped.
"""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from http_server import HookServer  # noqa: E402

BIN = os.environ.get("SECDET_BIN")
TIMEOUT = 15.0

# One alert per event whose eventName is "Test": 10,000 distinct events give
# 10,000 distinct alert ids (the id hashes the rule and the event).
RULES = """
rule all {
    meta {
        title = "Test event"
        severity = high
        tags = ["test.e2e"]
    }
    where .eventName == "Test"
    output "test event {.n} by {.userIdentity.arn}"
}
"""


def events(n, start=0, **extra):
    """n JSON lines of distinct events the rule `all` fires on."""
    out = []
    for i in range(start, start + n):
        ev = {"eventName": "Test", "n": i, "eventSource": "test.amazonaws.com",
              "userIdentity": {"arn": f"arn:aws:iam::111122223333:user/u{i % 7}"}}
        ev.update(extra)
        out.append(json.dumps(ev, separators=(",", ":")))
    return "\n".join(out) + ("\n" if out else "")


class Runner:
    """One `secdet run` process; stdout and stderr lines are collected by threads."""

    def __init__(self, workdir, config, stdin_path=None):
        self.dir = workdir
        self.config_path = workdir / "secdet.json"
        self.config_path.write_text(json.dumps(config, indent=1))
        self._stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        self.started = time.monotonic()
        self.proc = subprocess.Popen([BIN, "run", "--config", str(self.config_path)], stdin=self._stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out_lines = []
        self.err_lines = []
        self._errq = queue.Queue()
        self._err_seen = 0
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.out_lines, None), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self.err_lines, self._errq),
                                          daemon=True)]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream, lines, q):
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append(line)
            if q is not None:
                q.put(line)
        if q is not None:
            q.put(None)

    @property
    def stderr(self):
        return "\n".join(self.err_lines)

    def status(self, kind, timeout=TIMEOUT):
        """The next stderr JSON line of "type" kind not returned before."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind!r} line within {timeout}s; stderr:\n{self.stderr}")
            try:
                line = self._errq.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if line is None:
                self._errq.put(None)
                raise AssertionError(f"secdet ended before a {kind!r} line; stderr:\n{self.stderr}")
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if obj.get("type") == kind:
                    return obj

    def ready(self):
        return self.status("ready")

    def stats(self):
        self.proc.send_signal(signal.SIGUSR1)
        return self.status("stats")

    def wait_exit(self, timeout=TIMEOUT):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"secdet still running after {timeout}s; stderr:\n{self.stderr}")
        for t in self._threads:
            t.join(5)
        return rc

    def stop(self, timeout=TIMEOUT):
        """SIGTERM, then the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill9(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=TIMEOUT)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        if self._stdin is not subprocess.DEVNULL:
            self._stdin.close()


def stopped_line(runner):
    """The "stopped" stats line of an ended run."""
    for line in reversed(runner.err_lines):
        if line.startswith("{") and '"stopped"' in line:
            obj = json.loads(line)
            if obj.get("type") == "stopped":
                return obj
    raise AssertionError(f"no stopped line; stderr:\n{runner.stderr}")


def sink_counters(stats, name):
    """The counters of sink `name` in a stats line: {"sinks": {name: {...}}}
    or {"sinks": [{"name": name, ...}]}."""
    sinks = stats.get("sinks")
    if isinstance(sinks, dict) and isinstance(sinks.get(name), dict):
        return sinks[name]
    if isinstance(sinks, list):
        for s in sinks:
            if isinstance(s, dict) and s.get("name") == name:
                return s
    raise AssertionError(f"no counters of sink {name!r} in the stats line {stats}")


@pytest.fixture(scope="session")
def secdet_bin():
    if not BIN:
        pytest.skip("SECDET_BIN is not set (ctest sets it to the built secdet)")
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        pytest.skip(f"SECDET_BIN={BIN} is not an executable")
    return BIN


@pytest.fixture
def rules_file(tmp_path):
    path = tmp_path / "rules.secdet"
    path.write_text(RULES)
    return path


@pytest.fixture
def run(secdet_bin, tmp_path, rules_file):
    """start(sinks, events=TEXT, input="file"|"stdin"|"empty-file", rules=PATH, **top-level keys) -> Runner.

    input "file" tails tmp/<run>/events.jsonl from its start (the run goes on
    until stopped); "stdin" feeds it as stdin (the run ends, drained, at its
    end); "empty-file" tails an empty file (e.g. a second run that only
    replays its spool).
    """
    started = []

    def start(sinks, events="", input="file", rules=None, **top):
        workdir = tmp_path / f"run{len(started) + 1}"
        workdir.mkdir()
        data = workdir / "events.jsonl"
        data.write_text(events if input != "empty-file" else "")
        if input == "stdin":
            inp = {"type": "stdin"}
        else:
            inp = {"type": "file", "path": str(data), "start": "beginning", "poll_ms": 20}
        config = {"rules": [str(rules or rules_file)],
                  "sources": [{"name": "app", "format": "jsonl", "time_field": "", "input": inp}],
                  "sinks": sinks}
        config.update(top)
        r = Runner(workdir, config, stdin_path=data if input == "stdin" else None)
        started.append(r)
        return r

    yield start
    for i, r in enumerate(started):
        r.cleanup()
        # Shown by pytest only when the test failed.
        tail = r.err_lines[-80:]
        print(f"---- secdet run #{i + 1}: exit {r.proc.returncode}, last {len(tail)} stderr lines ----")
        print("\n".join(tail))


@pytest.fixture
def hook():
    """A HookServer answering 200; tests switch its mode."""
    servers = []

    def make(**kw):
        s = HookServer(**kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


def retrying_webhook(server, **kw):
    """A webhook sink "hook" to server that retries quickly and forever."""
    sink = {"type": "webhook", "name": "hook", "url": server.url + "/hook", "backoff_ms": 100,
            "backoff_max_ms": 500, "max_attempts": 0}
    sink.update(kw)
    return sink


def received_ns(server):
    """event n -> number of 2xx answers that carried it."""
    counts = {}
    for q in server.snapshot():
        if 200 <= q.status < 300:
            n = json.loads(q.body)["events"][0]["n"]
            counts[n] = counts.get(n, 0) + 1
    return counts


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
