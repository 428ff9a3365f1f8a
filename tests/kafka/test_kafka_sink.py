"""test_kafka_sink.py — the "kafka" alert sink end to end, against a real broker.

`secdet run` reads a generated CloudTrail JSON-lines file (the CIS rules'
own matching test events, each copied with fresh eventIDs and times) through
a file input, with the CIS pack plus one grouping rule, and produces every
alert to Kafka:
  - one run, one sink per "key" mode, each to its own 3-partition topic:
    every alert id arrives exactly once per topic, the key is what the mode
    says, the secdet-* headers are there, and the value is the very alert
    `secdet scan` gives for the same file;
  - with the broker stopped, alerts wait in the spool (pending > 0, nothing
    delivered) and all arrive, once each, after the broker is started again;
  - a misspelt property or a refused value is a configuration error (exit 2)
    naming the property, never quoting the value;
  - a topic that does not exist (the broker does not auto-create topics)
    dead-letters every alert with librdkafka's reason.
Every wait is bounded; every process and broker started is stopped.
"""
import collections
import json
import os
import queue
import random
import signal
import socket
import subprocess
import threading
import time

import pytest

from kafka_broker import KafkaBroker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CIS = os.path.join(ROOT, "rules", "aws", "cis.secdet")
CIS_TESTS = os.path.join(ROOT, "rules", "aws", "cis.tests.jsonl")
TIMEOUT = 30.0

# A rule with a group of two values (one of which is missing for some events).
GROUP_RULE = """
rule test_root_by_ip_and_region {
    meta {
        title = "Root call"
        severity = medium
    }
    on cloudtrail
    where .userIdentity.type == "Root"
    throttle 1s by .sourceIPAddress, .requestParameters.note
    output "root {.eventName} from {group}"
}
"""

KEY_MODES = ["id", "rule", "group", "rule_group", "none"]


# ---- data -------------------------------------------------------------------------------------

def cloudtrail_lines(copies=2):
    """The CIS tests' matching events, `copies` times, with fresh eventIDs and times a minute
    apart (so the 1 s throttle lets every root call through); JSON lines."""
    events = []
    with open(CIS_TESTS, encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)
            if t.get("expect") == "match":
                events.append(t["event"])
    out, n = [], 0
    for c in range(copies):
        for ev in events:
            ev = json.loads(json.dumps(ev))
            n += 1
            ev["eventID"] = f"00000000-0000-4000-8000-{n:012d}"
            ev["eventTime"] = f"2024-03-14T{10 + n // 60:02d}:{n % 60:02d}:00Z"
            ev["sourceIPAddress"] = f"203.0.113.{n % 3 + 1}"
            if n % 4 == 3 and isinstance(ev.get("requestParameters"), dict):
                ev["requestParameters"] = dict(ev["requestParameters"], note="a|b\\c")
            elif n % 4 == 1 and isinstance(ev.get("requestParameters"), dict):
                ev["requestParameters"] = dict(ev["requestParameters"], note="x\u0000y")  # whole in the key
            out.append(json.dumps(ev, separators=(",", ":")))
    return "\n".join(out) + "\n"


@pytest.fixture
def data(tmp_path, secdet_bin):
    """(events file, rules [paths], alerts of `secdet scan` over it, by id)."""
    events = tmp_path / "cloudtrail.jsonl"
    events.write_text(cloudtrail_lines())
    group_rule = tmp_path / "group.secdet"
    group_rule.write_text(GROUP_RULE)
    rules = [CIS, str(group_rule)]
    cmd = [secdet_bin, "scan", "--format", "jsonl", "--source", "cloudtrail", "--output", "json", "--quiet"]
    for r in rules:
        cmd += ["--rules", r]
    p = subprocess.run(cmd + [str(events)], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr.decode()
    alerts = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
    by_id = {a["id"]: a for a in alerts}
    assert len(by_id) == len(alerts) >= 60, "the generated events should give distinct alerts"
    assert any(a["rule"] == "test_root_by_ip_and_region" for a in alerts)
    return events, rules, by_id


# ---- secdet run -------------------------------------------------------------------------------

def assert_no_sanitizer_report(text):
    """secdet built with -DSECDET_SANITIZE=ON reports on stderr."""
    assert "Sanitizer" not in text and "runtime error:" not in text, text[-5000:]


class Runner:
    """One `secdet run --config` process; stderr lines collected by a thread."""

    def __init__(self, secdet_bin, workdir, config):
        path = workdir / "secdet.json"
        path.write_text(json.dumps(config, indent=1))
        self.proc = subprocess.Popen([secdet_bin, "run", "--config", str(path)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines = []
        self._q = queue.Queue()
        self._t = threading.Thread(target=self._pump, daemon=True)
        self._t.start()

    def _pump(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    @property
    def stderr(self):
        return "\n".join(self.lines)

    def status(self, kind, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind!r} line within {timeout}s; stderr:\n{self.stderr}")
            try:
                line = self._q.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if line is None:
                self._q.put(None)
                raise AssertionError(f"secdet ended before a {kind!r} line; stderr:\n{self.stderr}")
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if obj.get("type") == kind:
                    return obj

    def sink(self, name):
        """The counters of sink `name` now (SIGUSR1, then the stats line)."""
        self.proc.send_signal(signal.SIGUSR1)
        for s in self.status("stats")["sinks"]:
            if s["name"] == name:
                return s
        raise AssertionError(f"no sink {name!r} in the stats")

    def wait_sink(self, name, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            c = self.sink(name)
            if pred(c):
                return c
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout}s; last counters {c}\n{self.stderr[-3000:]}")
            time.sleep(0.3)

    def stop(self, timeout=TIMEOUT):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"secdet still running {timeout}s after SIGTERM; stderr:\n{self.stderr}")
        self._t.join(5)
        assert_no_sanitizer_report(self.stderr)
        return rc

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def run(secdet_bin, tmp_path):
    """start(sinks, events, rules, **top-level keys) -> a started Runner (stopped at teardown)."""
    started = []

    def start(sinks, events, rules, **top):
        workdir = tmp_path / f"run{len(started) + 1}"
        workdir.mkdir()
        config = {"rules": rules,
                  "sources": [{"name": "cloudtrail", "format": "jsonl",
                               "input": {"type": "file", "path": str(events), "start": "beginning",
                                         "poll_ms": 20}}],
                  "sinks": sinks}
        config.update(top)
        r = Runner(secdet_bin, workdir, config)
        started.append(r)
        r.status("ready")
        return r

    yield start
    for i, r in enumerate(started):
        r.cleanup()
        print(f"---- secdet run #{i + 1}: exit {r.proc.returncode}; last stderr lines ----")
        print("\n".join(line[:400] for line in r.lines[-60:]))


def config_error(secdet_bin, tmp_path, sink):
    """(exit status, stderr) of `secdet run` with this one sink."""
    config = {"rules": [CIS], "sources": [{"name": "cloudtrail", "input": {"type": "stdin"}}], "sinks": [sink]}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    p = subprocess.run([secdet_bin, "run", "--config", str(path)], capture_output=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    err = p.stderr.decode()
    assert_no_sanitizer_report(err)
    return p.returncode, err


# ---- keys -------------------------------------------------------------------------------------

def esc(s):
    return s.replace("\\", "\\\\").replace("|", "\\|")


def group_value(v):
    if v is None:
        return ""
    if isinstance(v, str):
        return esc(v)
    return json.dumps(v, separators=(",", ":"))


def expected_key(mode, alert):
    values = [group_value(v) for v in alert["group"].values()]
    if mode == "id":
        return alert["id"]
    if mode == "rule":
        return alert["rule"]
    if mode == "group":
        return "|".join(values)
    if mode == "rule_group":
        return "|".join([esc(alert["rule"])] + values)
    return None


def kafka_sink(name, bootstrap, topic, **kw):
    sink = {"type": "kafka", "name": name, "brokers": bootstrap, "topic": topic}
    sink.update(kw)
    return sink


# ---- every alert once, keys, headers, value ---------------------------------------------------

def test_every_alert_arrives_once_with_its_key_headers_and_the_scan_alert_as_value(kafka, run, data, tmp_path):
    events, rules, by_id = data
    n = len(by_id)
    tag = f"{os.getpid()}-{random.randrange(1 << 30)}"
    topics = {mode: f"alerts-{mode}-{tag}" for mode in KEY_MODES}
    for t in topics.values():
        kafka.create_topic(t, partitions=3)
    sinks = [kafka_sink(f"k-{mode}", kafka.bootstrap, topics[mode], key=mode) for mode in KEY_MODES]
    # No "key": the default, rule_group.
    default_topic = f"alerts-default-{tag}"
    kafka.create_topic(default_topic, partitions=3)
    sinks.append(kafka_sink("k-default", kafka.bootstrap, default_topic))
    r = run(sinks, events, rules)
    for s in sinks:
        c = r.wait_sink(s["name"], lambda c: c["delivered"] == n, 60, f"{n} alerts delivered by {s['name']}")
        assert c["accepted"] == n and c["dead_lettered"] == 0 and c["retries"] == 0, c
    assert r.stop() == 0

    for mode, topic in list(topics.items()) + [("rule_group", default_topic)]:
        msgs = kafka.consume(topic, timeout=60, expect=n)
        ids = collections.Counter(json.loads(m["value"])["id"] for m in msgs)
        assert len(msgs) == n and set(ids) == set(by_id), (mode, len(msgs), n)
        assert max(ids.values()) == 1, (mode, [i for i, k in ids.items() if k > 1][:5])
        used = set()
        for m in msgs:
            alert = json.loads(m["value"])
            assert alert == by_id[alert["id"]], (mode, alert["id"])
            assert m["key"] == expected_key(mode, alert), (mode, m["key"], alert["group"])
            h = dict(m["headers"])
            assert len(m["headers"]) == 3, m["headers"]
            assert h == {"secdet-rule": alert["rule"], "secdet-id": alert["id"],
                         "secdet-severity": alert["severity"]}, (h, alert["id"])
            used.add(m["partition"])
        if mode != "none":  # same key, same partition (librdkafka spreads empty keys like no key)
            part = {}
            for m in msgs:
                if m["key"]:
                    assert part.setdefault(m["key"], m["partition"]) == m["partition"], (mode, m["key"])
            assert len(used) > 1, (mode, used)  # the keys spread the messages
    # The group keys really are made of the group: escaped separators, missing values.
    grouped = [a for a in by_id.values() if a["rule"] == "test_root_by_ip_and_region"]
    keys = {expected_key("rule_group", a) for a in grouped}
    assert any("a\\|b\\\\c" in k for k in keys) and any(k.endswith("|") for k in keys), keys
    assert any(k.endswith("|x\x00y") for k in keys), keys  # U+0000 kept: not the key of "x"


# ---- broker down: the spool holds the alerts --------------------------------------------------

@pytest.fixture
def own_broker(kafka_jars, tmp_path_factory):
    brokers = []

    def make():
        b = KafkaBroker(tmp_path_factory.mktemp("kafka-sink-own"))  # free_port_pair: outside the ephemeral range
        brokers.append(b)
        return b.start()

    yield make
    for b in brokers:
        b.stop()


def test_with_the_broker_stopped_alerts_wait_in_the_spool_and_all_arrive_after_it_starts(
        own_broker, run, data, tmp_path):
    events, rules, by_id = data
    n = len(by_id)
    broker = own_broker()
    broker.create_topic("alerts-down", partitions=2)
    broker.stop()
    spool = tmp_path / "spool"
    sink = kafka_sink("k", broker.bootstrap, "alerts-down", key="id", timeout_ms=2000, max_attempts=0,
                      backoff_ms=200, backoff_max_ms=1000, properties={"reconnect.backoff.max.ms": 500})
    r = run([sink], events, rules, spool_dir=str(spool))

    c = r.wait_sink("k", lambda c: c["accepted"] == n and c["retries"] > 0, 30, "every alert accepted, retried")
    time.sleep(2)  # a few more failed attempts
    c = r.sink("k")
    assert c["delivered"] == 0 and c["dead_lettered"] == 0 and c["dropped"] == 0, c
    assert c["pending"] == n and c["spool_bytes"] > 0 and c["failing"] in (1, True), c
    assert "timed out" in c["last_error"], c
    assert (spool / "k").is_dir() and any((spool / "k").iterdir())

    broker.start()
    r.wait_sink("k", lambda c: c["pending"] == 0, 90, "everything delivered once the broker is up")
    c = r.sink("k")
    assert c["delivered"] == n and c["dead_lettered"] == 0, c
    assert r.stop() == 0

    msgs = broker.consume("alerts-down", timeout=60, expect=n)
    ids = collections.Counter(m["key"] for m in msgs)
    assert set(ids) == set(by_id) and len(msgs) == n, (len(msgs), n)
    assert all(json.loads(m["value"]) == by_id[m["key"]] for m in msgs)


# ---- configuration errors ---------------------------------------------------------------------

SECRET = "S3cr3t-pr0perty-VALUE"


@pytest.mark.parametrize("props,key", [
    ({"no.such.property": SECRET}, "no.such.property"),
    ({"compression.codec": SECRET}, "compression.codec"),
    ({"linger.ms": 99999999}, "linger.ms"),
    ({"acks": "1"}, "acks"),
    ({"enable.idempotence": False}, "enable.idempotence"),
    ({"sasl.password": SECRET, "nested": {"a": 1}}, "nested"),
])
def test_a_bad_property_is_a_configuration_error_naming_it_but_not_its_value(secdet_bin, tmp_path, props, key):
    rc, err = config_error(secdet_bin, tmp_path, kafka_sink("k", "127.0.0.1:9", "t", properties=props))
    assert rc == 2, err
    assert key in err and "sink 'k'" in err, err
    assert SECRET not in err and "99999999" not in err, err


@pytest.mark.parametrize("sink,key", [
    ({"topic": "t"}, "brokers"),
    ({"brokers": "127.0.0.1:9"}, "topic"),
    ({"brokers": "127.0.0.1:9", "topic": "t", "key": "user"}, "key"),
    ({"brokers": "127.0.0.1:9", "topic": "alerts/high"}, "topic"),
    ({"brokers": "127.0.0.1:9", "topic": "t", "properties": ["acks=all"]}, "properties"),
    ({"brokers": "127.0.0.1:9", "topic": "t", "timeout_ms": 1000, "properties": {"message.timeout.ms": 5}},
     "timeout_ms"),
    ({"brokers": "127.0.0.1:9", "topic": "t", "partition": 1}, "partition"),
])
def test_sink_keys_are_checked(secdet_bin, tmp_path, sink, key):
    rc, err = config_error(secdet_bin, tmp_path, dict(sink, type="kafka", name="k"))
    assert rc == 2, err
    assert key in err, err


def test_a_valid_sink_is_accepted_without_contacting_the_brokers(secdet_bin, tmp_path):
    """`secdet run` checks each sink before it starts: with stdin at its end the run exits 0
    at once even though nothing listens on the brokers' port."""
    t0 = time.monotonic()
    rc, err = config_error(secdet_bin, tmp_path, kafka_sink("k", "127.0.0.1:9", "t", key="id",
                                                            properties={"linger.ms": 20, "acks": "all",
                                                                        "compression.codec": "lz4"}))
    assert rc == 0, err
    assert time.monotonic() - t0 < 10


# ---- an unknown topic -------------------------------------------------------------------------

def test_an_unknown_topic_dead_letters_every_alert_with_the_reason(kafka, run, data, tmp_path):
    events, rules, by_id = data
    n = len(by_id)
    spool = tmp_path / "spool"
    topic = f"no-such-topic-{os.getpid()}-{random.randrange(1 << 30)}"
    sink = kafka_sink("k", kafka.bootstrap, topic, properties={"topic.metadata.propagation.max.ms": 1000})
    r = run([sink], events, rules, spool_dir=str(spool))
    c = r.wait_sink("k", lambda c: c["dead_lettered"] == n, 60, "every alert dead-lettered")
    assert c["delivered"] == 0 and c["pending"] == 0, c
    assert r.stop() == 0
    with open(spool / "k" / "dead-letter.jsonl", encoding="utf-8") as f:
        dead = [json.loads(line) for line in f if line.strip()]
    assert {d["id"] for d in dead} == set(by_id) and len(dead) == n
    for d in dead:
        assert d["sink"] == "k" and d["attempts"] == 1, d
        assert "Unknown topic" in d["error"], d["error"]
        assert d["alert"] == by_id[d["id"]]
    assert "dead-lettered" in r.stderr and "Unknown topic" in r.stderr
