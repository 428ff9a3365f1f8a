"""test_kafka_backpressure.py — the Kafka input pauses its partitions when a sink cannot take
more, commits only what it handed off, and loses nothing (docs/sinks.md "Backpressure",
docs/scale-out.md "Delivery guarantees").

`secdet run` reads N events, all produced before it starts, from a one-partition topic; each
fires one alert of its own; the one sink is a webhook to a local receiver
(tests/sinks/http_server.py, 127.0.0.1) that fails at first. Two ways to fill the sink:
  - "pending": no spool, queue_max 300, max_pending_alerts 40, the receiver answering 503.
    The input must pause once 40 alerts wait (it looks every 64 polls: at most ~104 wait);
    had it not paused, the queue would fill and the sink drop alerts (it has no spool);
  - "saturated": a spool capped by spool_max_bytes, queue_max 50, the receiver down: the
    spool fills, alerts wait in memory, the sink is saturated, and the input must pause
    (max_pending_alerts is far above N: only saturation can pause it).
While it is paused (every counter still for a second): `paused` >= 1, fewer than N messages
read, nothing dropped or delivered, and the group's committed offset is what was handed off:
every alert accepted by the sink without a spool (commits go on while paused), and no alert
that is only held in memory with a spool. Then the receiver answers: every alert arrives
(each id at least once), the input reads to the end, nothing is dropped or dead-lettered,
and at exit the group has committed offset N.

Deterministic: the input reads a backlog, and the receiver fails until the test lets it
answer, so the pause and what is committed while paused do not depend on timing; every wait
is bounded; secdet and the receiver are stopped at teardown.
"""
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest

from test_kafka_sink import Runner

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sinks"))

from http_server import HookServer  # noqa: E402

N = 400
TIMEOUT = 30.0
RULE = 'rule every_test_event { where .eventName == "Test" output "test event {.n}" }\n'

CASES = {
    # name: (sink keys, input keys, spool?, receiver down rather than answering 503)
    "pending": ({"queue_max": 300}, {"max_pending_alerts": 40}, False, False),
    "saturated": ({"queue_max": 50, "spool_max_bytes": 32768}, {"max_pending_alerts": 1000000}, True, True),
}


def event_lines(n):
    return [json.dumps({"eventName": "Test", "n": i, "eventSource": "test.amazonaws.com",
                        "eventTime": f"2024-03-14T10:{i // 60 % 60:02d}:{i % 60:02d}Z"},
                       separators=(",", ":")) for i in range(n)]


def scan_ids(secdet_bin, rules, events):
    """The alert ids `secdet scan` gives for the events file."""
    p = subprocess.run([secdet_bin, "scan", "--format", "jsonl", "--source", "cloudtrail", "--output", "json",
                        "--quiet", "--rules", rules, events], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr.decode()
    ids = [json.loads(line)["id"] for line in p.stdout.decode().splitlines() if line.strip()]
    assert len(set(ids)) == len(ids) == N, "each event should fire one alert of its own"
    return set(ids)


def held_in_memory(sink):
    """Alerts a sink with a spool holds only in memory (its last_error says so), else 0."""
    m = re.search(r"(\d+) alert\(s\) held in memory", sink["last_error"])
    return int(m.group(1)) if m else 0


class Run:
    """A `secdet run` with one Kafka input and one webhook sink "hook"; counters by SIGUSR1."""

    def __init__(self, runner):
        self.r = runner

    def counters(self):
        """(the sink's counters, the input's counters), of one SIGUSR1."""
        sink = self.r.sink("hook")
        return sink, self.r.status("kafka")

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            sink, kin = self.counters()
            if pred(sink, kin):
                return sink, kin
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout}s; last counters {sink} {kin}\n"
                                     f"{self.r.stderr[-3000:]}")
            time.sleep(0.2)


@pytest.fixture
def receiver():
    servers = []

    def make(**kw):
        servers.append(HookServer(**kw))
        return servers[-1]

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def secdet_run(secdet_bin, tmp_path):
    runners = []

    def start(config):
        workdir = tmp_path / f"run{len(runners) + 1}"
        workdir.mkdir()
        runners.append(Runner(secdet_bin, workdir, config))
        runners[-1].status("ready")
        return Run(runners[-1])

    yield start
    for r in runners:
        r.cleanup()
        print(f"---- secdet run: exit {r.proc.returncode}; last stderr lines ----")
        print("\n".join(line[:400] for line in r.lines[-40:]))


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_full_sink_pauses_the_input_commits_only_what_was_handed_off_and_loses_nothing(
        kafka, secdet_bin, secdet_run, receiver, tmp_path, case):
    sink_keys, input_keys, spool, start_down = CASES[case]
    tag = uuid.uuid4().hex[:10]
    topic, group = f"bp-{case}-{tag}", f"bp-{case}-{tag}"
    kafka.create_topic(topic, partitions=1)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(event_lines(N)) + "\n")
    assert kafka.produce(topic, events, partition=0) == N
    rules = tmp_path / "r.secdet"
    rules.write_text(RULE)
    expected = scan_ids(secdet_bin, str(rules), str(events))

    srv = receiver(start_down=True) if start_down else receiver(mode="500", status=503)
    sink = dict({"type": "webhook", "name": "hook", "url": srv.url + "/hook", "max_attempts": 0,
                 "backoff_ms": 100, "backoff_max_ms": 500}, **sink_keys)
    kin = dict({"type": "kafka", "brokers": kafka.bootstrap, "group": group, "topics": [topic],
                "commit_ms": 200}, **input_keys)
    config = {"rules": [str(rules)], "sources": [{"name": "cloudtrail", "format": "jsonl", "input": kin}],
              "sinks": [sink], "drain_timeout_ms": 30000}
    if spool:
        config["spool_dir"] = str(tmp_path / "spool")
    r = secdet_run(config)

    # Paused, and still: the counters do not move for a second.
    r.wait(lambda s, k: k["paused"] >= 1, TIMEOUT, "the input paused")
    before = None
    deadline = time.monotonic() + TIMEOUT
    while True:
        time.sleep(1.0)
        s, k = r.counters()
        now = ({f: k[f] for f in ("messages", "paused", "commits")},
               {f: s[f] for f in ("accepted", "delivered", "dropped", "dead_lettered", "pending")})
        if before is not None and now == before:
            break
        assert time.monotonic() < deadline, f"the counters still move while paused: {before} {now}"
        before = now
    assert k["paused"] >= 1 and 0 < k["messages"] < N, (s, k)
    assert s["accepted"] == k["messages"] and s["dropped"] == 0 and s["delivered"] == 0, (s, k)
    assert s["dead_lettered"] == 0 and s["retries"] > 0, s
    if spool:  # paused by saturation: queue_max alerts wait in memory, not in the spool
        assert held_in_memory(s) >= sink_keys["queue_max"], s
    else:  # paused by max_pending_alerts, before the queue filled
        assert input_keys["max_pending_alerts"] <= s["pending"] < sink_keys["queue_max"], s

    # Committed while paused: what was handed off, not past it. Without a spool the memory
    # queue is the hand-off, and commits go on while paused: exactly what was evaluated.
    # With a spool, the hand-off is the spool: not the alerts held only in memory.
    if spool:
        journaled = s["accepted"] - held_in_memory(s)
        committed = kafka.committed(group, topic).get(0, 0)
        assert committed <= journaled, (f"offset {committed} committed, but only {journaled} of the "
                                        f"{s['accepted']} alerts handed off are in the spool", s)
    else:
        deadline = time.monotonic() + TIMEOUT
        while kafka.committed(group, topic).get(0, 0) != s["accepted"]:
            assert time.monotonic() < deadline, (kafka.committed(group, topic), s, k)
            time.sleep(0.2)

    # The receiver answers: everything arrives, the input reads to its end.
    if start_down:
        srv.up()
    else:
        srv.set("ok")
    srv.wait_for(lambda rs: len(srv.ok_ids) >= N, 60, f"all {N} alerts")
    s, k = r.wait(lambda s, k: s["delivered"] >= N and s["pending"] == 0, TIMEOUT, "every alert delivered")
    assert s["accepted"] == N and s["dropped"] == 0 and s["dead_lettered"] == 0, s
    assert k["messages"] == N, k
    assert set(srv.ok_ids) == expected, (len(srv.ok_ids), len(expected))
    # Everything handed off (with a spool: once it writes again, within a second): all committed.
    deadline = time.monotonic() + TIMEOUT
    while kafka.committed(group, topic) != {0: N}:
        assert time.monotonic() < deadline, (kafka.committed(group, topic), r.counters())
        time.sleep(0.2)
    assert r.r.stop() == 0
    assert kafka.committed(group, topic) == {0: N}
