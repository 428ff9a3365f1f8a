#!/usr/bin/env python3
"""kafka_bench.py — the measuring half of bench/kafka_bench.sh.

  scan   runs `secdet scan` on the input file once; prints one JSON line
         (wall and CPU seconds, alerts).
  kcat   runs `kcat -C` over the whole topic to /dev/null once (the same).
  run    runs K `secdet run` instances in one new consumer group on a topic
         that already holds the input, and times them until the group's
         committed offsets reach the topic's end; prints one JSON line.
  report turns the JSON lines of every run into the Markdown table.

How `run` times (monotonic clock; t0 = just before the first launch). A
Kafka instance prints no progress while it runs (`secdet run` has no stats
lines with a Kafka input: the engine belongs to the consumer's thread), so
progress is what the group has committed:
- the committed offsets are read every 20 ms with one OffsetFetch request
  (Kafka protocol, API 9 v1) over a socket kept open to the broker (a JVM
  tool per poll would cost more CPU than what it measures). A commit means
  those events were evaluated, their alerts handed to the sink and, in
  stage 1, their forwards acknowledged. The instances commit every
  --commit-ms (100), so the timeline has a point about every 0.1 s;
- "wall" = t0 to the poll that saw every offset committed;
- "after start-up" leaves out t0 to the first commit (process start, rules,
  group join, first fetch, and at most commit_ms of work, whose events are
  left out too);
- "steady" = events per second between the polls that saw 10% and 90% of
  the offsets committed: neither start nor end;
- CPU: user + sys of each instance (all its threads) and of the broker's JVM
  from /proc/PID/stat, and the machine's busy time from /proc/stat, from t0
  to the last commit; each instance's peak RSS (VmHWM) then.
Then every instance gets SIGTERM (by its pid) and its closing `stopped` and
`kafka` lines give the events it evaluated, alerts, forwards, rebalances.
"""
import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


# ---- CPU accounting -----------------------------------------------------------------

def proc_cpu(pid):
    """user + sys seconds of process pid (all its threads), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


def proc_peak_rss_mb(pid):
    """Peak resident set (VmHWM) of process pid in MiB, or 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def machine_cpu():
    """(busy, total) seconds of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    return (sum(v[:8]) - idle) / TICK, sum(v[:8]) / TICK


# ---- committed offsets: OffsetFetch v1 ------------------------------------------------------

class OffsetReader:
    """Committed offsets of one group on one topic, over one kept-open connection."""

    def __init__(self, host, port, group, topic, partitions):
        self.addr = (host, port)
        self.group, self.topic, self.parts = group, topic, list(range(partitions))
        self.sock = None
        self.corr = 0

    @staticmethod
    def _str(s):
        b = s.encode()
        return struct.pack(">h", len(b)) + b

    def _recv(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise OSError("broker closed the connection")
            data += chunk
        return data

    def committed_total(self):
        """Sum of the committed offsets (a partition without one counts 0); None on a hiccup."""
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.addr, timeout=5)
            self.corr += 1
            body = self._str(self.group) + struct.pack(">i", 1) + self._str(self.topic)
            body += struct.pack(">i", len(self.parts)) + b"".join(struct.pack(">i", p) for p in self.parts)
            req = struct.pack(">hhi", 9, 1, self.corr) + self._str("secdet-kafka-bench") + body
            self.sock.sendall(struct.pack(">i", len(req)) + req)
            resp = self._recv(struct.unpack(">i", self._recv(4))[0])
        except OSError:
            self.close()
            return None
        pos = 4  # correlation id
        total = 0
        (ntopics,) = struct.unpack_from(">i", resp, pos)
        pos += 4
        for _ in range(ntopics):
            (tlen,) = struct.unpack_from(">h", resp, pos)
            pos += 2 + tlen
            (nparts,) = struct.unpack_from(">i", resp, pos)
            pos += 4
            for _ in range(nparts):
                _part, off, mlen = struct.unpack_from(">iqh", resp, pos)
                pos += 14 + max(mlen, 0)
                (err,) = struct.unpack_from(">h", resp, pos)
                pos += 2
                if err:
                    return None  # coordinator loading etc.: ask again
                total += max(off, 0)
        return total

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# ---- one secdet run instance ------------------------------------------------------------

class Instance:
    """A `secdet run --config PATH` process; its closing lines are collected from stderr."""

    def __init__(self, secdet, config_path):
        self.closing = {}  # "stopped" and "kafka": the JSON of its closing lines
        self.other = []    # any other stderr text (errors), shown when a run fails
        self.proc = subprocess.Popen([secdet, "run", "--config", config_path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            if raw.startswith(b'{"type":"stopped"') or raw.startswith(b'{"type":"kafka"'):
                d = json.loads(raw)
                self.closing[d["type"]] = d
            elif not raw.startswith(b'{"type":"listening"') and not raw.startswith(b'{"type":"ready"'):
                self.other.append(raw.decode(errors="replace"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(10)


def first_at(timeline, n):
    """The first time the committed total reached n."""
    return next(t for t, c in timeline if c >= n)


def cmd_run(a):
    host, port = a.bootstrap.rsplit(":", 1)
    os.makedirs(a.work, exist_ok=True)
    insts = []
    broker0 = proc_cpu(a.broker_pid)
    m0 = machine_cpu()
    t0 = time.monotonic()
    for i in range(a.instances):
        inp = {"type": "kafka", "brokers": a.bootstrap, "group": a.group, "topics": [a.topic], "stage": a.stage,
               "commit_ms": a.commit_ms}
        if a.repartition_topic:
            inp["repartition_topic"] = a.repartition_topic
        if a.properties:
            inp["properties"] = json.loads(a.properties)
        conf = {"rules": [os.path.abspath(a.rules)],
                "sources": [{"name": "cloudtrail", "format": "jsonl", "input": inp}],
                "sinks": [{"type": "file", "path": os.path.join(a.work, f"{a.group}.{i}.alerts.jsonl")}]}
        path = os.path.join(a.work, f"{a.group}.{i}.json")
        with open(path, "w") as f:
            json.dump(conf, f)
        insts.append(Instance(a.secdet, path))

    reader = OffsetReader(host, int(port), a.group, a.topic, a.partitions)
    timeline = [(t0, 0)]  # (t, committed total), one point per change
    snap = None           # CPU at the end: (instances, broker, machine)
    error = None
    try:
        while True:
            total = reader.committed_total()
            now = time.monotonic()
            if total is not None and total > timeline[-1][1]:
                timeline.append((now, total))
                if total >= a.end:
                    snap = ([proc_cpu(x.proc.pid) for x in insts], proc_cpu(a.broker_pid), machine_cpu(),
                            [proc_peak_rss_mb(x.proc.pid) for x in insts])
                    break
            dead = [x for x in insts if x.proc.poll() is not None]
            if dead:
                error = f"an instance exited early (status {dead[0].proc.returncode})"
                break
            if now - t0 > a.timeout:
                error = f"not done after {a.timeout} s (committed {timeline[-1][1]} of {a.end})"
                break
            time.sleep(0.02)
    finally:
        reader.close()
        for x in insts:
            x.stop()
    if error:
        for x in insts:
            sys.stderr.write("".join(x.other[-20:]))
        sys.exit(f"kafka_bench: {error}")
    t_end = timeline[-1][0]
    t_first, first_n = timeline[1]
    t10, t90 = first_at(timeline, a.end // 10), first_at(timeline, a.end * 9 // 10)
    n10, n90 = next(c for t, c in timeline if t == t10), next(c for t, c in timeline if t == t90)
    closing = [x.closing for x in insts]
    cpu_inst, broker1, m1, rss = snap

    def total_of(kind, key):
        return sum(c.get(kind, {}).get(key, 0) for c in closing)

    res = {
        "kind": "run", "label": a.label, "stage": a.stage, "instances": a.instances,
        "properties": a.properties or "", "commit_ms": a.commit_ms, "events": a.end,
        # seconds from t0 (the first launch) to: the first commit, the last one
        "first_commit_s": t_first - t0, "wall_s": t_end - t0,
        "rate_total": a.end / (t_end - t0),
        # after the first commit: start-up (process, rules, group join, first fetch) left out
        "rate_after_startup": (a.end - first_n) / max(t_end - t_first, 1e-9),
        # between the commits that passed 10% and 90% of the events: the steady rate
        "rate_steady": (n90 - n10) / max(t90 - t10, 1e-9),
        # CPU seconds from t0 to the last commit
        "cpu_instances_s": [round(c or 0.0, 2) for c in cpu_inst],
        "cpu_broker_s": round((broker1 or 0.0) - (broker0 or 0.0), 2),
        "machine_busy_s": round(m1[0] - m0[0], 2), "machine_total_s": round(m1[1] - m0[1], 2),
        "peak_rss_mb": [round(m, 1) for m in rss],
        "evaluated": [c.get("stopped", {}).get("events", 0) for c in closing],
        "alerts": total_of("stopped", "alerts"), "late": total_of("stopped", "late"),
        "forwarded": total_of("kafka", "forwarded"), "rebalances": total_of("kafka", "rebalances"),
        "commits": total_of("kafka", "commits"),
    }
    print(json.dumps(res))


def timed(cmd, stdout_path):
    """Runs cmd with stdout to stdout_path; (wall s, CPU s of the process, machine busy s, total s,
    peak RSS MiB)."""
    m0 = machine_cpu()
    t0 = time.monotonic()
    with open(stdout_path, "wb") as f:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f)
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    m1 = machine_cpu()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"kafka_bench: {cmd[0]} exited with {proc.returncode}")
    return wall, ru.ru_utime + ru.ru_stime, m1[0] - m0[0], m1[1] - m0[1], ru.ru_maxrss / 1024


def cmd_scan(a):
    os.makedirs(a.work, exist_ok=True)
    out = os.path.join(a.work, "scan.alerts.jsonl")
    wall, cpu, busy, total, rss = timed([a.secdet, "scan", "--output", "json", "--no-progress", "--quiet", "--format",
                                    "jsonl", "--source", "cloudtrail", "--rules", a.rules, a.input], out)
    with open(out, "rb") as f:
        alerts = sum(1 for _ in f)
    print(json.dumps({"kind": "scan", "events": a.lines, "wall_s": wall, "rate_total": a.lines / wall,
                      "cpu_s": round(cpu, 2), "alerts": alerts, "peak_rss_mb": round(rss, 1),
                      "machine_busy_s": round(busy, 2),
                      "machine_total_s": round(total, 2)}))


def cmd_kcat(a):
    """kcat reading the whole topic to /dev/null: what a librdkafka consumer that does nothing reaches."""
    cmd = ["kcat", "-C", "-q", "-e", "-o", "beginning", "-b", a.bootstrap, "-t", a.topic]
    wall, cpu, busy, total, rss = timed(cmd, os.devnull)
    print(json.dumps({"kind": "kcat", "events": a.end, "wall_s": wall, "rate_total": a.end / wall,
                      "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss, 1), "machine_busy_s": round(busy, 2),
                      "machine_total_s": round(total, 2)}))


# ---- report ---------------------------------------------------------------------------

def cmd_report(a):
    rows = [json.loads(line) for line in open(a.results) if line.strip()]
    scans = [r for r in rows if r["kind"] == "scan"]
    if not scans:
        sys.exit("kafka_bench: no scan result")
    base = max(r["rate_total"] for r in scans)
    ncpu = os.cpu_count()

    def x(v):
        return f"{v / base:.2f}"

    def busy(r):
        return f"{r['machine_busy_s'] / max(r['wall_s'], 1e-9):.2f}"

    out = [f"| {a.lines:,} events | events/s, launch → all committed | × scan | events/s after start-up | × scan "
           f"| events/s, steady (10% → 90%) | × scan | start-up: first commit, s | CPU s: secdet (each process) "
           f"| CPU s: broker | CPUs busy (of {ncpu}, whole machine) | peak RSS, MiB (each process) | alerts | forwarded |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, label in (("scan", "`secdet scan` on the file"), ("kcat", "`kcat -C` of the topic to /dev/null")):
        runs = [r for r in rows if r["kind"] == kind]
        if runs:
            r = max(runs, key=lambda q: q["rate_total"])
            out.append(f"| {label} | {r['rate_total']:.0f} | {x(r['rate_total'])} | | | | | | {r['cpu_s']:.2f} | | "
                       f"{busy(r)} | {r['peak_rss_mb']:.0f} | {r.get('alerts', '')} | |")
    labels = []
    for r in rows:
        if r["kind"] == "run" and r["label"] not in labels:
            labels.append(r["label"])
    for label in labels:
        runs = [r for r in rows if r["kind"] == "run" and r["label"] == label]
        best = {k: max(r[k] for r in runs) for k in ("rate_total", "rate_after_startup", "rate_steady")}
        startup = min(r["first_commit_s"] for r in runs)
        r = max(runs, key=lambda q: q["rate_total"])  # CPU and counts: the fastest run's
        cpu = " + ".join(f"{c:.2f}" for c in r["cpu_instances_s"])
        out.append(f"| {label} | {best['rate_total']:.0f} | {x(best['rate_total'])} | "
                   f"{best['rate_after_startup']:.0f} | {x(best['rate_after_startup'])} | "
                   f"{best['rate_steady']:.0f} | {x(best['rate_steady'])} | {startup:.2f} | {cpu} | "
                   f"{r['cpu_broker_s']:.2f} | {busy(r)} | {' + '.join(f'{m:.0f}' for m in r['peak_rss_mb'])} | "
                   f"{r['alerts']} | {r['forwarded']} |")
    print("\n".join(out))
    if a.runs_out:
        with open(a.runs_out, "w") as f:
            for r in rows:
                f.write(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("scan")
    s.add_argument("--secdet", required=True)
    s.add_argument("--rules", required=True)
    s.add_argument("--input", required=True)
    s.add_argument("--lines", type=int, required=True)
    s.add_argument("--work", required=True)
    k = sub.add_parser("kcat")
    k.add_argument("--bootstrap", required=True)
    k.add_argument("--topic", required=True)
    k.add_argument("--end", type=int, required=True)
    r = sub.add_parser("run")
    r.add_argument("--secdet", required=True)
    r.add_argument("--rules", required=True)
    r.add_argument("--work", required=True)
    r.add_argument("--bootstrap", required=True, help="HOST:PORT")
    r.add_argument("--broker-pid", type=int, required=True)
    r.add_argument("--topic", required=True)
    r.add_argument("--partitions", type=int, required=True)
    r.add_argument("--end", type=int, required=True, help="sum of the topic's end offsets")
    r.add_argument("--stage", choices=["single", "partition"], required=True)
    r.add_argument("--repartition-topic")
    r.add_argument("--instances", type=int, default=1)
    r.add_argument("--group", required=True)
    r.add_argument("--label", default="", help="the row's name in the report")
    r.add_argument("--properties", help="librdkafka properties of the input, a JSON object")
    r.add_argument("--commit-ms", type=int, default=100)
    r.add_argument("--timeout", type=float, default=180)
    p = sub.add_parser("report")
    p.add_argument("--results", required=True)
    p.add_argument("--lines", type=int, required=True)
    p.add_argument("--runs-out", help="also write every run, rounded, as JSON lines here")
    a = ap.parse_args()
    {"scan": cmd_scan, "kcat": cmd_kcat, "run": cmd_run, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
