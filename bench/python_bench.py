#!/usr/bin/env python3
"""python_bench.py — the Python binding against the `secdet` command, same input.

    python3 bench/python_bench.py [--secdet PATH] [--lines N] [--runs R] [--push-events K]

Measures, on the benchmark input of bench/run.sh (the invictus CloudTrail
records repeated to N JSON lines, made by bench/make_input.py into
bench/data/input.jsonl when missing):
  1. `secdet scan --format jsonl --source cloudtrail` with the CIS pack
     (alerts to /dev/null): events/s, wall clock and CPU time;
  2. `engine.scan(path, format="jsonl", source="cloudtrail")` with the CIS
     pack, consuming every Alert, with read-ahead (the default) and without:
     events/s and the ratio to (1) — target >= 0.8;
  3. `engine.push()` per event on the first K records: a dict, bytes, str.
Rates are the best of R runs. Run it with the Python that has `secdet`
installed (bindings/python/ci.sh makes one: build/python-venv/bin/python).
Exit 0 when it ran (whatever the ratios), 0 with a message without the
shared data, 2 on error.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CIS = os.path.join(ROOT, "rules", "aws", "cis.secdet")


def die(msg):
    print(f"python_bench: {msg}", file=sys.stderr)
    sys.exit(2)


def find_secdet(explicit):
    for c in (explicit, os.environ.get("SECDET_BIN"), os.path.join(ROOT, "build-bench", "secdet"),
              os.path.join(ROOT, "build", "secdet"), shutil.which("secdet")):
        if c and os.access(c, os.X_OK):
            return c
    die("no secdet binary (pass --secdet or set SECDET_BIN)")


def make_input(lines):
    shared = os.environ.get("SECDET_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
    ct = os.path.join(shared, "data", "cloudtrail", "invictus", "CloudTrail")
    if not os.path.isdir(ct):
        print(f"python_bench: no CloudTrail data at {ct} (set SECDET_SHARED); benchmark skipped")
        sys.exit(0)
    data_dir = os.environ.get("BENCH_DATA_DIR", os.path.join(HERE, "data"))
    os.makedirs(data_dir, exist_ok=True)
    out = os.path.join(data_dir, "input.jsonl")
    # make_input.py rewrites nothing when its stamp says the file is current.
    subprocess.run([sys.executable, os.path.join(HERE, "make_input.py"), ct, out, "-n", str(lines)], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def cli_run(secdet_bin, path):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([secdet_bin, "scan", "--output", "json", "--no-progress", "--quiet", "--format", "jsonl",
                    "--source", "cloudtrail", "--rules", CIS, path], stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def py_run(secdet, path, read_ahead):
    t = time.perf_counter()
    c = time.process_time()
    with secdet.Engine(CIS) as engine:  # engine creation and rule compile counted, as for the command
        alerts = 0
        for _ in engine.scan(path, format="jsonl", source="cloudtrail", read_ahead=read_ahead):
            alerts += 1
        events = engine.stats().events
    return time.perf_counter() - t, time.process_time() - c, events, alerts


def push_rates(secdet, path, k, runs):
    with open(path, "rb") as f:
        raw = [next(f).rstrip(b"\n") for _ in range(k)]
    kinds = {"dict": [json.loads(r) for r in raw], "bytes": raw, "str": [r.decode() for r in raw]}
    best = {}
    for name, events in kinds.items():
        for _ in range(runs):
            with secdet.Engine(CIS) as engine:
                push = engine.push
                t = time.perf_counter()
                for ev in events:
                    push(ev)
                dt = time.perf_counter() - t
            best[name] = max(best.get(name, 0.0), k / dt)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--secdet")
    ap.add_argument("--lines", type=int, default=int(os.environ.get("BENCH_LINES", 1000000)))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 3)))
    ap.add_argument("--push-events", type=int, default=100000)
    args = ap.parse_args()
    try:
        import secdet
    except ImportError:
        die("`import secdet` failed: run with the Python that has the binding installed "
            "(bindings/python/ci.sh PREFIX makes build/python-venv)")
    secdet_bin = find_secdet(args.secdet)
    path = make_input(args.lines)
    print(f"input {path}: {args.lines} lines, {os.path.getsize(path) / 1e6:.0f} MB; secdet {secdet_bin}; "
          f"libsecdet {secdet.library_version()}; best of {args.runs}; load {os.getloadavg()[0]:.2f}")

    cli = [cli_run(secdet_bin, path) for _ in range(args.runs)]
    ahead = [py_run(secdet, path, True) for _ in range(args.runs)]
    plain = [py_run(secdet, path, False) for _ in range(args.runs)]
    events, alerts = ahead[0][2], ahead[0][3]
    cli_wall, cli_cpu = min(w for w, _ in cli), min(c for _, c in cli)
    rows = [("secdet scan (the command)", cli_wall, cli_cpu)]
    rows.append(("engine.scan(), read-ahead", min(r[0] for r in ahead), min(r[1] for r in ahead)))
    rows.append(("engine.scan(), read_ahead=False", min(r[0] for r in plain), min(r[1] for r in plain)))

    print(f"\nCIS pack, {events} events, {alerts} alerts (each an Alert object)\n")
    print(f"| {'name':<34} | {'events/s':>10} | {'x secdet scan':>13} | {'events/s CPU':>12} | {'x (CPU)':>7} |")
    print(f"|{'-' * 36}|{'-' * 11}:|{'-' * 14}:|{'-' * 13}:|{'-' * 8}:|")
    for name, wall, cpu in rows:
        print(f"| {name:<34} | {events / wall:>10.0f} | {cli_wall / wall:>13.2f} | {events / cpu:>12.0f} | "
              f"{cli_cpu / cpu:>7.2f} |")
    best_ratio = max(cli_wall / r[1] for r in rows[1:])
    print(f"\ntarget engine.scan() >= 0.8 x secdet scan (wall clock): {best_ratio:.2f} x "
          f"{'PASS' if best_ratio >= 0.8 else 'MISS'}")

    rates = push_rates(secdet, path, min(args.push_events, args.lines), args.runs)
    print(f"\nengine.push() per event, first {min(args.push_events, args.lines)} records, CIS pack\n")
    print(f"| {'event as':<8} | {'events/s':>10} | {'x bytes':>7} |")
    print(f"|{'-' * 10}|{'-' * 11}:|{'-' * 8}:|")
    for name in ("bytes", "str", "dict"):
        print(f"| {name:<8} | {rates[name]:>10.0f} | {rates[name] / rates['bytes']:>7.2f} |")


if __name__ == "__main__":
    main()
