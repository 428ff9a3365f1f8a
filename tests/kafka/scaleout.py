"""scaleout.py — helpers of the scale-out tests: `secdet run` instances on Kafka.

Instance: one `secdet run --config` process with a Kafka input (stage "single",
"partition" or "aggregate") and one file sink of its own; its stderr goes to a
file, from which its final `{"type":"kafka",...}` stats line is read.
Pipeline: the topics and consumer groups of one two-stage deployment (names
made unique by a tag), instances made from it, and the waits: "the group is
stable with these members, each with partitions" (describe_group: one
DescribeGroups request; each instance's client.id is its name) and "every group
has committed the end of its topic, and it stays so". Throttle: SIGSTOP/SIGCONT
in a loop, to slow instances down. scan(): what `secdet scan` gives for the same
events. Every wait is bounded; failure messages carry the instances' stderr tails.
"""
import collections
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid

SOURCE = "cloudtrail"  # the source name of every event, in `secdet run` and in `secdet scan`
FORMAT = "jsonl"


class Instance:
    """One `secdet run` process. Files in `workdir`: NAME.json (config), NAME.alerts.jsonl
    (its file sink), NAME.stderr, NAME.stdout, NAME.spool/ (with spool=True)."""

    def __init__(self, secdet_bin, workdir, name, rules, kafka_input, spool=False):
        self.secdet_bin = secdet_bin
        self.name = name
        base = os.path.join(os.fspath(workdir), name)
        self.config_path = base + ".json"
        self.sink_path = base + ".alerts.jsonl"
        self.stderr_path = base + ".stderr"
        self.stdout_path = base + ".stdout"
        self.sink = {"type": "file", "name": "alerts", "path": self.sink_path}
        if spool:  # every alert journaled before the offsets covering it are committed
            self.sink["spool_dir"] = base + ".spool"
        self.rules = [os.fspath(r) for r in rules]
        self.kafka_input = dict(kafka_input)
        # The instance's name as its client.id, so that group descriptions tell members apart.
        self.kafka_input["properties"] = dict({"client.id": name}, **self.kafka_input.get("properties", {}))
        self.proc = None
        self.returncode = None
        config = {"rules": self.rules,
                  "sources": [{"name": SOURCE, "format": FORMAT, "input": self.kafka_input}],
                  "sinks": [self.sink],
                  "drain_timeout_ms": 30000}
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=1)

    # ---- process ---------------------------------------------------------
    def start(self):
        with open(self.stderr_path, "ab") as err, open(self.stdout_path, "ab") as out:
            self.proc = subprocess.Popen([self.secdet_bin, "run", "--config", self.config_path],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        """The exit code; None (and the process SIGKILLed) when it did not exit within timeout s."""
        if self.proc is None:
            return None
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.returncode = None
        return self.returncode

    def kill(self):
        """SIGKILL, and reaps it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.returncode = self.proc.wait()

    # ---- output ----------------------------------------------------------
    def stderr_text(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stderr_tail(self, n=25):
        lines = self.stderr_text().splitlines()
        return "\n".join(f"    {line}" for line in lines[-n:]) or "    (no stderr)"

    def kafka_stats(self):
        """The last `{"type":"kafka",...}` line on stderr, as a dict; None when there is none."""
        found = None
        for line in self.stderr_text().splitlines():
            if line.startswith('{"type":"kafka"'):
                try:
                    found = json.loads(line)
                except ValueError:
                    pass
        return found

    def alerts(self):
        """[(id, rule)] in the order the sink wrote them (a torn last line, after a SIGKILL,
        is left out)."""
        return read_alerts(self.sink_path)

    def alert_lines(self):
        """How many complete lines the sink holds now (cheap)."""
        try:
            with open(self.sink_path, "rb") as f:
                return f.read().count(b"\n")
        except OSError:
            return 0

    def deliver_spool(self, timeout=60):
        """After a SIGKILL: runs `secdet run` once with this instance's sink (same spool) and an
        empty stdin input, so the spool's undelivered tail reaches the sink file, as a restart
        would. Returns the exit code."""
        cfg = {"rules": self.rules, "sources": [{"name": SOURCE, "format": FORMAT, "input": {"type": "stdin"}}],
               "sinks": [self.sink], "drain_timeout_ms": 30000}
        path = self.config_path.replace(".json", ".deliver.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        with open(self.stderr_path, "ab") as err:
            p = subprocess.run([self.secdet_bin, "run", "--config", path], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err, timeout=timeout)
        return p.returncode


class Throttle:
    """Slows processes down without changing what they do: SIGSTOP, stop_s, SIGCONT, run_s,
    over and over on a thread, until stop() (which leaves them running)."""

    def __init__(self, instances=(), run_s=0.1, stop_s=0.3):
        self.instances = list(instances)
        self.run_s, self.stop_s = run_s, stop_s
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, inst):
        with self._lock:
            self.instances.append(inst)
        return inst

    def start(self):
        self._thread.start()
        return self

    def _each(self, sig):
        with self._lock:
            for inst in self.instances:
                inst.signal(sig)

    def _run(self):
        while not self._done.is_set():
            self._each(signal.SIGSTOP)
            self._done.wait(self.stop_s)
            self._each(signal.SIGCONT)
            self._done.wait(self.run_s)

    def stop(self):
        self._done.set()
        self._thread.join(10)
        self._each(signal.SIGCONT)


# ---- group membership: one DescribeGroups (v0) request ---------------------------------

def _str(v):
    b = v.encode()
    return struct.pack(">h", len(b)) + b


class _Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def i16(self):
        (v,) = struct.unpack_from(">h", self.d, self.p)
        self.p += 2
        return v

    def i32(self):
        (v,) = struct.unpack_from(">i", self.d, self.p)
        self.p += 4
        return v

    def str(self):
        n = self.i16()
        v = self.d[self.p:self.p + max(n, 0)].decode(errors="replace")
        self.p += max(n, 0)
        return v

    def bytes(self):
        n = self.i32()
        v = self.d[self.p:self.p + max(n, 0)]
        self.p += max(n, 0)
        return v


def describe_group(kafka, group, timeout=10):
    """(state, {client_id: sorted partitions assigned}) of consumer group `group`, from the
    broker (a single broker is every group's coordinator)."""
    req = struct.pack(">hhi", 15, 0, 7) + _str("secdet-tests") + struct.pack(">i", 1) + _str(group)
    with socket.create_connection(("127.0.0.1", kafka.port), timeout=timeout) as c:
        c.sendall(struct.pack(">i", len(req)) + req)
        (n,) = struct.unpack(">i", _recv(c, 4))
        r = _Reader(_recv(c, n))
    r.i32()  # correlation id
    members = {}
    state = None
    for _ in range(r.i32()):
        err, _gid, state, _ptype, _proto = r.i16(), r.str(), r.str(), r.str(), r.str()
        if err:
            raise RuntimeError(f"DescribeGroups {group}: error {err}")
        for _ in range(r.i32()):
            _mid, client, _host, _meta, assignment = r.str(), r.str(), r.str(), r.bytes(), r.bytes()
            parts = []
            if assignment:
                a = _Reader(assignment)
                a.i16()  # version
                for _ in range(a.i32()):
                    a.str()
                    parts += [a.i32() for _ in range(a.i32())]
            members[client] = sorted(parts)
    return state, members


def _recv(c, n):
    data = b""
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed by the broker")
        data += chunk
    return data


def read_alerts(path):
    out = []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return out
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            a = json.loads(raw)
        except ValueError:
            continue
        out.append((a["id"], a["rule"]))
    return out


def scan(secdet_bin, rules, events_path, timeout=600):
    """[(id, rule)] of `secdet scan` over the events (same source name and format as the runs)."""
    cmd = [secdet_bin, "scan", "-q", "-f", FORMAT, "-s", SOURCE, "-o", "json"]
    for r in rules:
        cmd += ["--rules", os.fspath(r)]
    p = subprocess.run(cmd + [os.fspath(events_path)], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    assert p.returncode == 0, f"secdet scan failed ({p.returncode}): {p.stderr.decode(errors='replace')}"
    out = []
    for raw in p.stdout.splitlines():
        a = json.loads(raw)
        out.append((a["id"], a["rule"]))
    return out


def compare_alerts(expected, got):
    """A readable account of the differences between two [(id, rule)] lists (multisets), or ''."""
    e_ids = collections.Counter(i for i, _ in expected)
    g_ids = collections.Counter(i for i, _ in got)
    if e_ids == g_ids:
        return ""
    rule_of = dict(expected)
    rule_of.update(dict(got))
    missing = e_ids - g_ids
    extra = g_ids - e_ids
    e_rules = collections.Counter(r for _, r in expected)
    g_rules = collections.Counter(r for _, r in got)
    lines = [f"alerts: expected {sum(e_ids.values())}, got {sum(g_ids.values())}; "
             f"missing {sum(missing.values())}, extra {sum(extra.values())}",
             "per rule (expected / got / missing / extra):"]
    miss_r = collections.Counter()
    extra_r = collections.Counter()
    for i, n in missing.items():
        miss_r[rule_of[i]] += n
    for i, n in extra.items():
        extra_r[rule_of[i]] += n
    for r in sorted(set(e_rules) | set(g_rules)):
        lines.append(f"  {r}: {e_rules[r]} / {g_rules[r]} / {miss_r[r]} / {extra_r[r]}")
    lines.append("some missing ids: " + ", ".join(list(missing)[:5]))
    lines.append("some extra ids: " + ", ".join(list(extra)[:5]))
    return "\n".join(lines)


def rule_counts(alerts):
    return dict(sorted(collections.Counter(r for _, r in alerts).items()))


class Pipeline:
    """Topics and groups of one two-stage deployment on `kafka` (a KafkaBroker):
    in-TAG (input), repart-TAG, state-TAG (compacted), groups s1-TAG and s2-TAG."""

    def __init__(self, kafka, secdet_bin, workdir, rules, input_partitions=4, repart_partitions=4,
                 state_partitions=2, tag=None):
        self.kafka = kafka
        self.secdet_bin = secdet_bin
        self.workdir = os.fspath(workdir)
        self.rules = list(rules)
        self.tag = tag or uuid.uuid4().hex[:10]
        self.input_topic = f"in-{self.tag}"
        self.repart_topic = f"repart-{self.tag}"
        self.state_topic = f"state-{self.tag}"
        self.group1 = f"s1-{self.tag}"
        self.group2 = f"s2-{self.tag}"
        self.parts = (input_partitions, repart_partitions, state_partitions)
        self.instances = []

    def create_topics(self):
        n_in, n_re, n_st = self.parts
        self.kafka.create_topic(self.input_topic, partitions=n_in)
        self.kafka.create_topic(self.repart_topic, partitions=n_re)
        self.kafka.create_topic(self.state_topic, partitions=n_st, compact=True,
                                configs={"max.message.bytes": 67108864})

    def stage1(self, name, **extra):
        cfg = {"type": "kafka", "brokers": self.kafka.bootstrap, "group": self.group1,
               "topics": [self.input_topic], "stage": "partition", "repartition_topic": self.repart_topic}
        cfg.update(extra)
        inst = Instance(self.secdet_bin, self.workdir, name, self.rules, cfg)
        self.instances.append(inst)
        return inst

    def stage2(self, name, spool=False, **extra):
        cfg = {"type": "kafka", "brokers": self.kafka.bootstrap, "group": self.group2,
               "topics": [self.repart_topic], "stage": "aggregate", "state_topic": self.state_topic}
        cfg.update(extra)
        inst = Instance(self.secdet_bin, self.workdir, name, self.rules, cfg, spool=spool)
        self.instances.append(inst)
        return inst

    def wait_group(self, group, instances, timeout=60):
        """Waits until `group` is Stable with exactly these instances as members, each with
        partitions; returns {instance name: partitions}."""
        names = sorted(i.name for i in instances)
        deadline = time.monotonic() + timeout
        last = None
        while True:
            self.check_alive(instances)
            try:
                last = describe_group(self.kafka, group)
            except (OSError, RuntimeError) as e:
                last = e
            if isinstance(last, tuple):
                state, members = last
                if state == "Stable" and sorted(members) == names and all(members.values()):
                    return members
            if time.monotonic() >= deadline:
                raise AssertionError(f"group {group} not stable with {names} within {timeout} s: {last}\n"
                                     + self.report())
            time.sleep(0.2)

    # ---- progress ----------------------------------------------------------
    def lag(self, group, topic):
        """{partition: end offset - committed offset} (no commit counts as 0)."""
        ends = self.kafka.end_offsets(topic)
        committed = self.kafka.committed(group, topic)
        return {p: end - committed.get(p, 0) for p, end in ends.items()}

    def progress(self):
        return {"stage1_lag": self.lag(self.group1, self.input_topic),
                "stage2_lag": self.lag(self.group2, self.repart_topic)}

    def check_alive(self, instances=None):
        for inst in instances if instances is not None else self.instances:
            if inst.proc is not None and not inst.running() and inst.returncode is None:
                raise AssertionError(f"{inst.name} exited early ({inst.proc.poll()})\n" + self.report())

    def wait_caught_up(self, timeout, stable_s=3.0, alive=None, poll_s=0.5):
        """Waits until both groups have committed the end offsets of their topics and the
        repartition topic has stopped growing, for stable_s s in a row. Checks that the
        instances in `alive` (default: all started ones) keep running. Returns the seconds
        it took; AssertionError with the lags and stderr tails after timeout s."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        since = None
        last_ends = None
        state = None
        while True:
            self.check_alive(alive)
            state = self.progress()
            ends = self.kafka.end_offsets(self.repart_topic)
            done = all(v <= 0 for v in state["stage1_lag"].values()) and \
                all(v <= 0 for v in state["stage2_lag"].values()) and ends == last_ends
            last_ends = ends
            now = time.monotonic()
            if done:
                since = since or now
                if now - since >= stable_s:
                    return now - t0
            else:
                since = None
            if now >= deadline:
                raise AssertionError(f"not caught up within {timeout} s: {state}\n" + self.report())
            time.sleep(poll_s)

    def stop(self, instances, timeout=120):
        """SIGTERM to each, then waits for all; {name: exit code or None}."""
        for inst in instances:
            inst.signal(signal.SIGTERM)
        return {inst.name: inst.wait(max(1.0, timeout)) for inst in instances}

    def kill_all(self):
        for inst in self.instances:
            inst.kill()

    def report(self):
        """The instances' stderr tails and final stats, for failure messages."""
        out = []
        for inst in self.instances:
            code = inst.proc.poll() if inst.proc is not None else "not started"
            out.append(f"--- {inst.name} (exit {code}, {inst.alert_lines()} alerts) stderr tail:\n"
                       + inst.stderr_tail())
        return "\n".join(out)
