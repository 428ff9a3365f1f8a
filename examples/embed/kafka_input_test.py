"""Runs examples/embed/kafka_input against a real Kafka broker: starts one
with tools/kafka/kafka.sh on free 127.0.0.1 ports, puts the sample CloudTrail
records (examples/data) on a 2-partition topic, runs the example until it has
printed the alerts `secdet scan` gives for the same records, stops it with
SIGTERM (exit 0), and compares the alert ids. Exits 77 (skipped) when java or
kcat is missing. Bounded in time; everything it started is stopped.

usage: python3 kafka_input_test.py PATH/TO/kafka_input PATH/TO/secdet SOURCE_DIR
"""
import gzip
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 90


def free_port_pair():
    """P and P+1 free on 127.0.0.1, below the ephemeral range (a client
    retrying a stopped broker there can connect to itself)."""
    ports = list(range(20000, 32000, 2))
    random.shuffle(ports)
    for port in ports[:500]:
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two free consecutive ports")


def main(example, secdet, src):
    if not shutil.which("java") or not shutil.which("kcat"):
        print("kafka_input_test: skipped: java or kcat is not installed")
        return 77
    script = os.path.join(src, "tools", "kafka", "kafka.sh")
    rules = os.path.join(src, "rules", "aws")
    work = tempfile.mkdtemp(prefix="secdet-kafka-example-")
    port = free_port_pair()
    broker = f"127.0.0.1:{port}"
    proc = None
    try:
        subprocess.run([script, "fetch"], check=True, timeout=600)
        subprocess.run([script, "start", os.path.join(work, "kafka"), str(port)], check=True, timeout=120)
        subprocess.run([script, "topic", str(port), "cloudtrail", "2"], check=True, timeout=60)
        with gzip.open(os.path.join(src, "examples", "data", "cloudtrail-sample.json.gz"), "rt") as f:
            records = json.load(f)["Records"]
        events = os.path.join(work, "events.jsonl")
        with open(events, "w") as f:
            for r in records:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")
        subprocess.run(["kcat", "-P", "-b", broker, "-t", "cloudtrail", "-l", events], check=True, timeout=60)
        scan = subprocess.run([secdet, "scan", "--rules", rules, "-s", "cloudtrail", "-o", "json", events],
                              check=True, timeout=60, capture_output=True, text=True)
        want = sorted(json.loads(line)["id"] for line in scan.stdout.splitlines())
        assert want, "the sample must raise alerts"

        proc = subprocess.Popen([example, broker, "example", "cloudtrail", rules], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        got = []
        reader = threading.Thread(target=lambda: got.extend(json.loads(l)["id"] for l in proc.stdout), daemon=True)
        reader.start()
        # Stateless alerts come as the records are read; aggregation alerts
        # held for ordering at the flush after SIGTERM. Stop once the count
        # has been still for 3 s.
        deadline = time.monotonic() + TIMEOUT
        last, still_since = -1, time.monotonic()
        while time.monotonic() < deadline and proc.poll() is None:
            if len(got) != last:
                last, still_since = len(got), time.monotonic()
            elif last > 0 and time.monotonic() - still_since >= 3:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        err = proc.stderr.read()
        proc.wait(timeout=TIMEOUT)
        reader.join(timeout=TIMEOUT)
        assert proc.returncode == 0, (proc.returncode, err)
        assert sorted(got) == want, f"{len(got)} alerts, scan gives {len(want)}\n{err}"
        assert f"{len(records)} messages" in err, err
        print(f"kafka_input_test: ok: {len(records)} records, {len(got)} alerts, as secdet scan")
        return 0
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run([script, "stop", os.path.join(work, "kafka")], timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
