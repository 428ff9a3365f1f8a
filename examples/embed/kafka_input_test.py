"""Runs examples/embed/kafka_input against a real Kafka broker: starts one
with the Kafka tests' KafkaBroker (tests/kafka/kafka_broker.py, which runs
tools/kafka/kafka.sh on free 127.0.0.1 ports), puts the sample CloudTrail
records (examples/data) on a 2-partition topic, runs the example until it has
printed the alerts `secdet scan` gives for the same records, stops it with
SIGTERM (exit 0), and compares the alert ids. Exits 77 (skipped) when java or
kcat is missing. Bounded in time; everything it started is stopped.

usage: python3 kafka_input_test.py PATH/TO/kafka_input PATH/TO/secdet SOURCE_DIR
"""
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 90


def main(example, secdet, src):
    if not shutil.which("java") or not shutil.which("kcat"):
        print("kafka_input_test: skipped: java or kcat is not installed")
        return 77
    sys.path.insert(0, os.path.join(src, "tests", "kafka"))
    from kafka_broker import KAFKA_SH, KafkaBroker

    rules = os.path.join(src, "rules", "aws")
    work = tempfile.mkdtemp(prefix="secdet-kafka-example-")
    kafka = KafkaBroker(os.path.join(work, "kafka"))
    broker = kafka.bootstrap
    proc = None
    try:
        subprocess.run([KAFKA_SH, "fetch"], check=True, timeout=600)
        kafka.start()
        kafka.create_topic("cloudtrail", partitions=2)
        with gzip.open(os.path.join(src, "examples", "data", "cloudtrail-sample.json.gz"), "rt") as f:
            records = json.load(f)["Records"]
        events = os.path.join(work, "events.jsonl")
        with open(events, "w") as f:
            for r in records:
                f.write(json.dumps(r, separators=(",", ":")) + "\n")
        kafka.produce("cloudtrail", events)
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
        kafka.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
