"""kafka_broker.py — a real single-node Kafka broker for the tests, and kcat helpers.

KafkaBroker drives tools/kafka/kafka.sh (start/stop/topic: a KRaft broker from
Maven Central's jars on the machine's JDK) and talks to the broker with kcat,
which is built on librdkafka like libsecdet's Kafka code. Committed offsets
are read with one OffsetFetch request (protocol v1) over a plain socket, which
spares a JVM start. Every wait is bounded.
"""
import json
import os
import re
import signal
import random
import socket
import struct
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KAFKA_SH = os.path.join(ROOT, "tools", "kafka", "kafka.sh")


def _local_port_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_port_pair():
    """A port P on 127.0.0.1 such that P and P+1 are both free right now,
    outside the kernel's ephemeral range: a client retrying a stopped broker
    on an ephemeral port can connect to itself (source port == destination
    port) and keep the port, so the broker cannot start again on it."""
    lo, hi = _local_port_range()
    candidates = [p for p in range(20000, 32000, 2) if not lo <= p <= hi and not lo <= p + 1 <= hi]
    random.shuffle(candidates)
    for port in candidates[:500]:
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two consecutive free ports on 127.0.0.1 outside the ephemeral range")


def _text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


class KafkaError(RuntimeError):
    pass


class KafkaBroker:
    """One broker whose files (config, data, log, pid) live in `dir`."""

    def __init__(self, dir, port=None):
        self.dir = os.fspath(dir)
        self.port = int(port) if port else free_port_pair()
        self.bootstrap = f"127.0.0.1:{self.port}"

    # ---- lifecycle -------------------------------------------------------
    def _sh(self, *args, timeout):
        p = subprocess.run([KAFKA_SH, *map(str, args)], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        if p.returncode != 0:
            raise KafkaError(f"kafka.sh {' '.join(map(str, args))} failed ({p.returncode}):\n"
                             f"{p.stderr.decode(errors='replace')}")
        return p.stdout.decode(errors="replace")

    def start(self):
        """Starts the broker (data kept from a previous run on the same dir); waits until it answers."""
        self._sh("start", self.dir, self.port, timeout=150)
        return self

    def stop(self):
        """Stops the broker: SIGTERM, then SIGKILL after 30 s. No-op when it is not running."""
        self._sh("stop", self.dir, timeout=60)

    def log_tail(self, n=40):
        try:
            with open(os.path.join(self.dir, "kafka.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    # ---- topics ----------------------------------------------------------
    def create_topic(self, name, partitions=1, compact=False, configs=None):
        """Creates `name` (no-op if it exists) and waits until every partition has a leader.
        configs: more topic configs, {key: value}."""
        extra = ["compact"] if compact else []
        extra += [f"{k}={v}" for k, v in (configs or {}).items()]
        self._sh("topic", self.dir, name, partitions, *extra, timeout=90)

    def partitions(self, topic, timeout=10):
        """The partition ids of `topic`, from metadata (KafkaError if the topic does not exist)."""
        p = subprocess.run(["kcat", "-L", "-J", "-b", self.bootstrap, "-t", topic, "-m", "5"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + 10)
        if p.returncode != 0:
            raise KafkaError(f"kcat -L failed: {p.stderr.decode(errors='replace')}")
        for t in json.loads(p.stdout).get("topics", []):
            if t.get("topic") == topic and not t.get("error"):
                return sorted(part["partition"] for part in t.get("partitions", []))
        raise KafkaError(f"topic {topic} not found")

    # ---- produce / consume -----------------------------------------------
    def produce(self, topic, lines, key=None, partition=None, headers=None, timeout=60):
        """Produces one message per line (kcat -P -l), waiting for delivery.

        lines: a path (str or os.PathLike) of a file, or an iterable of bytes/str (a
        trailing newline is dropped). key=None gives null keys, which librdkafka
        spreads over the partitions (one random partition per message); else
        every message has that key. partition=N produces to partition N only.
        headers: {name: value} or [(name, value)] put on every message.
        Returns the number of lines in the input."""
        tmp = None
        if isinstance(lines, (str, os.PathLike)):
            path = os.fspath(lines)
        else:
            fd, tmp = tempfile.mkstemp(prefix="kafka-produce-", dir=self.dir)
            with os.fdopen(fd, "wb") as f:
                for line in lines:
                    b = line.encode() if isinstance(line, str) else bytes(line)
                    f.write(b.rstrip(b"\n") + b"\n")
            path = tmp
        try:
            with open(path, "rb") as f:
                count = sum(1 for _ in f)
            # kcat exits non-zero when a message is not delivered; it gives up before our timeout.
            cmd = ["kcat", "-P", "-b", self.bootstrap, "-t", topic, "-l", path,
                   "-X", "sticky.partitioning.linger.ms=0",
                   "-X", f"message.timeout.ms={max(1000, int((timeout - 5) * 1000))}"]
            if key is not None:
                cmd += ["-k", _text(key)]
            if partition is not None:
                cmd += ["-p", str(int(partition))]
            hdrs = headers.items() if isinstance(headers, dict) else (headers or [])
            for name, value in hdrs:
                cmd += ["-H", f"{_text(name)}={_text(value)}"]
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
            err = p.stderr.decode(errors="replace")
            if p.returncode != 0 or "Delivery failed" in err:
                raise KafkaError(f"kcat -P to {topic} failed ({p.returncode}): {err}")
            return count
        finally:
            if tmp:
                os.unlink(tmp)

    @staticmethod
    def _message(env):
        h = env.get("headers") or []
        return {"key": env.get("key"), "value": env.get("payload"), "partition": env["partition"],
                "offset": env["offset"], "headers": [(h[i], h[i + 1]) for i in range(0, len(h) - 1, 2)]}

    def _kcat_read(self, cmd, deadline, expect):
        """Runs kcat, parsing its -J lines until it exits, `expect` messages were read, or the
        deadline. Returns (messages, kcat's exit code or None when it was stopped, stderr)."""
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = [], []
        enough, eof = threading.Event(), threading.Event()

        def pump_out():
            for raw in proc.stdout:
                raw = raw.strip()
                if raw.startswith(b"{"):
                    out.append(self._message(json.loads(raw)))
                    if expect is not None and len(out) >= expect:
                        enough.set()
            eof.set()
            enough.set()

        def pump_err():
            for raw in proc.stderr:
                err.append(raw.decode(errors="replace"))

        threads = [threading.Thread(target=pump_out, daemon=True), threading.Thread(target=pump_err, daemon=True)]
        for t in threads:
            t.start()
        enough.wait(max(0.0, deadline - time.monotonic()))
        code = None
        if eof.is_set():  # kcat closed its output: it is exiting by itself
            try:
                code = proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if code is None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # kcat leaves its group cleanly on SIGTERM
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        elif code is None:
            code = proc.returncode
        for t in threads:
            t.join(5)
        return list(out), code, "".join(err)

    def _consume(self, base, timeout, expect):
        """Runs kcat again (from the start) when it fails before the deadline, e.g. while the
        topic does not exist yet or the broker restarts."""
        deadline = time.monotonic() + timeout
        while True:
            cmd = base if expect is not None else base + ["-e"]
            msgs, code, err = self._kcat_read(cmd, deadline, expect)
            if expect is not None and len(msgs) >= expect:
                return msgs
            if expect is None and code == 0:
                return msgs
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        if expect is not None:
            return msgs
        raise KafkaError(f"kcat did not reach the end of the partitions in {timeout} s "
                         f"(exit code {code}): {err}")

    def consume(self, topic, timeout=30, expect=None, partition=None):
        """Every message of `topic` from the beginning (kcat -C -J), as dicts {key, value,
        partition, offset, headers} (key/value: str or None; headers: [(name, value)]).

        Without `expect`: reads to the end of every partition (-e), KafkaError after
        `timeout` s. With `expect`: polls until at least that many messages were read or
        `timeout` s passed, and returns what it has (the test checks the count)."""
        base = ["kcat", "-C", "-b", self.bootstrap, "-t", topic, "-o", "beginning", "-J", "-q", "-u"]
        if partition is not None:
            base += ["-p", str(int(partition))]
        return self._consume(base, timeout, expect)

    def consume_group(self, group, topics, timeout=30, expect=None, offset_reset="earliest"):
        """Reads `topics` (a name or a list) as member of consumer group `group` (kcat -G,
        offsets committed by librdkafka) until the end of every assigned partition, or,
        with `expect`, until that many messages or `timeout`. Same dicts as consume()."""
        topics = [topics] if isinstance(topics, str) else list(topics)
        base = ["kcat", "-b", self.bootstrap, "-G", group, "-J", "-q", "-u",
                "-X", f"auto.offset.reset={offset_reset}", "-X", "enable.partition.eof=true", *topics]
        return self._consume(base, timeout, expect)

    # ---- offsets ---------------------------------------------------------
    def end_offsets(self, topic, timeout=10):
        """{partition: high watermark} (kcat -Q with OFFSET_END)."""
        cmd = ["kcat", "-Q", "-b", self.bootstrap]
        for part in self.partitions(topic, timeout):
            cmd += ["-t", f"{topic}:{part}:-1"]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + 10)
        if p.returncode != 0:
            raise KafkaError(f"kcat -Q failed: {p.stderr.decode(errors='replace')}")
        found = re.findall(rb"^(\S+) \[(\d+)\] offset (-?\d+)$", p.stdout, re.M)
        return {int(part): int(off) for t, part, off in found if t.decode() == topic}

    def committed(self, group, topic, timeout=15):
        """{partition: committed offset} of `group` on `topic`; partitions without a
        committed offset are left out (so an unknown group gives {})."""
        parts = self.partitions(topic)
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                return self._offset_fetch(group, topic, parts, deadline)
            except (OSError, KafkaError) as e:  # coordinator loading, broker restarting...
                last = e
            if time.monotonic() >= deadline:
                raise KafkaError(f"committed offsets of {group} on {topic}: {last}")
            time.sleep(0.2)

    def _offset_fetch(self, group, topic, parts, deadline):
        def s(v):
            b = v.encode()
            return struct.pack(">h", len(b)) + b

        body = s(group) + struct.pack(">i", 1) + s(topic) + struct.pack(">i", len(parts))
        body += b"".join(struct.pack(">i", p) for p in parts)
        req = struct.pack(">hhi", 9, 1, 1) + s("secdet-tests") + body  # OffsetFetch v1, correlation id 1
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as c:
            c.settimeout(max(0.5, deadline - time.monotonic()))
            c.sendall(struct.pack(">i", len(req)) + req)
            resp = self._recv(c, struct.unpack(">i", self._recv(c, 4))[0])
        pos = 4  # correlation id
        (ntopics,) = struct.unpack_from(">i", resp, pos)
        pos += 4
        result = {}
        for _ in range(ntopics):
            (tlen,) = struct.unpack_from(">h", resp, pos)
            name = resp[pos + 2:pos + 2 + tlen].decode()
            pos += 2 + tlen
            (nparts,) = struct.unpack_from(">i", resp, pos)
            pos += 4
            for _ in range(nparts):
                part, off, mlen = struct.unpack_from(">iqh", resp, pos)
                pos += 14 + max(mlen, 0)
                (errc,) = struct.unpack_from(">h", resp, pos)
                pos += 2
                if errc:
                    raise KafkaError(f"OffsetFetch error {errc} on {name} [{part}]")
                if name == topic and off >= 0:
                    result[part] = off
        return result

    @staticmethod
    def _recv(c, n):
        buf = b""
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                raise OSError("connection closed by the broker")
            buf += chunk
        return buf
