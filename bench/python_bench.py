#!/usr/bin/env python3
"""python_bench.py — the Python binding against the `secdet` command, same input.

    python3 bench/python_bench.py [--secdet PATH] [--input FILE | --lines N] [--runs R]
                                  [--push-events K] [--no-push] [--summary FILE]
                                  [--baseline-python PY]

Measures, on FILE (default: the benchmark input of bench/run.sh, the
invictus CloudTrail records repeated to N JSON lines, made by
bench/make_input.py into bench/data/input.jsonl when missing), with the CIS
pack:
  1. whole processes, startup included — issue 22's goal, engine.scan() >=
     0.9 x the command on the 100,000-line file: `secdet scan --output json
     --quiet --format jsonl --source cloudtrail` (alerts to /dev/null) and
     `python -c` of a script that imports secdet, makes an Engine and
     consumes every Alert of `engine.scan(FILE, format="jsonl",
     source="cloudtrail")`; each from launch to exit, wall clock and CPU
     time (the children's rusage), the commands' runs taken in turn. Startup:
     the same two commands on an empty file (process, import, rule compile,
     exit), and a bare `python -c pass`. --baseline-python PY adds the same
     script run by PY (another venv's python: an older binding, to compare
     before and after in one run);
  2. in this process: engine.scan() with read-ahead (the default) and
     without, Engine creation counted, interpreter and import not;
  3. `engine.push()` per event on the first K records: a dict, bytes, str
     (--no-push skips it).
Rates are the best of R runs. Run it with the Python that has `secdet`
installed (bench/run.sh makes build-bench/python-venv; bindings/python/ci.sh
makes others). --summary FILE writes the figures of (1) as shell assignments
(py_* = ...) for bench/run.sh. Exit 0 when it ran (whatever the ratios), 0
with a message without the shared data, 2 on error.
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


CHILD = """
import sys, secdet
with secdet.Engine(sys.argv[1]) as engine:
    for _ in engine.scan(sys.argv[2], format="jsonl", source="cloudtrail"):
        pass
"""


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


def child_run(argv):
    """Runs argv to its exit (stdout to /dev/null): (wall s, CPU s of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def cli_argv(secdet_bin, path):
    # -j 1: one engine against engine.scan()'s one (the command's default is a
    # thread per core, which the goal does not compare; bench/run.sh's -j row does).
    return [secdet_bin, "scan", "-j", "1", "--output", "json", "--no-progress", "--quiet", "--format", "jsonl",
            "--source", "cloudtrail", "--rules", CIS, path]


def best(runs, *argvs):
    """Best wall and best CPU time of `runs` runs of each argv, the argvs run in turn
    (so that a change of load affects them alike); one (wall, CPU) per argv."""
    res = [[] for _ in argvs]
    for _ in range(runs):
        for i, argv in enumerate(argvs):
            res[i].append(child_run(argv))
    out = [(min(w for w, _ in r), min(c for _, c in r)) for r in res]
    return out[0] if len(argvs) == 1 else out


def count_lines(path):
    with open(path, "rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b""))


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
    ap.add_argument("--input", help="the JSON lines to scan (default: made with --lines)")
    ap.add_argument("--lines", type=int, default=int(os.environ.get("BENCH_LINES", 1000000)))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 3)))
    ap.add_argument("--push-events", type=int, default=100000)
    ap.add_argument("--no-push", action="store_true", help="skip the push() rates")
    ap.add_argument("--summary", help="write the whole-process figures here as shell assignments")
    ap.add_argument("--baseline-python", help="also time the whole-process script with this python "
                                               "(its own secdet: a baseline in the same run)")
    args = ap.parse_args()
    try:
        import secdet
    except ImportError:
        die("`import secdet` failed: run with the Python that has the binding installed "
            "(bindings/python/ci.sh PREFIX makes build/python-venv)")
    secdet_bin = find_secdet(args.secdet)
    path = args.input or make_input(args.lines)
    lines = count_lines(path)
    print(f"input {path}: {lines} lines, {os.path.getsize(path) / 1e6:.0f} MB; secdet {secdet_bin}; "
          f"libsecdet {secdet.library_version()}; best of {args.runs}; load {os.getloadavg()[0]:.2f}")

    # (1) whole processes, startup included.
    empty = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"python_bench_empty.{os.getpid()}.jsonl")
    open(empty, "w").close()
    try:
        py_argv = [sys.executable, "-c", CHILD, CIS]
        base_argv = [args.baseline_python, "-c", CHILD, CIS] if args.baseline_python else None
        starts = best(args.runs, cli_argv(secdet_bin, empty), py_argv + [empty], [sys.executable, "-c", "pass"],
                      *([base_argv + [empty]] if base_argv else []))
        cli_start, py_start, bare_start = starts[:3]
    finally:
        os.unlink(empty)
    wholes = best(args.runs, cli_argv(secdet_bin, path), py_argv + [path], *([base_argv + [path]] if base_argv else []))
    cli_whole, py_whole = wholes[:2]
    ratio = cli_whole[0] / py_whole[0]
    ratio_cpu = cli_whole[1] / py_whole[1]
    print(f"\nwhole processes, launch to exit, CIS pack, {lines} lines\n")
    print(f"| {'command':<44} | {'wall s':>7} | {'events/s':>9} | {'CPU s':>6} | {'startup s':>9} |")
    print(f"|{'-' * 46}|{'-' * 8}:|{'-' * 10}:|{'-' * 7}:|{'-' * 10}:|")
    print(f"| {'secdet scan':<44} | {cli_whole[0]:>7.3f} | {lines / cli_whole[0]:>9.0f} | {cli_whole[1]:>6.3f} | "
          f"{cli_start[0]:>9.3f} |")
    print(f"| {'python -c (import secdet; Engine; scan)':<44} | {py_whole[0]:>7.3f} | {lines / py_whole[0]:>9.0f} | "
          f"{py_whole[1]:>6.3f} | {py_start[0]:>9.3f} |")
    if base_argv:
        base_whole, base_start = wholes[2], starts[3]
        print(f"| {'baseline: ' + args.baseline_python[-34:]:<44} | {base_whole[0]:>7.3f} | "
              f"{lines / base_whole[0]:>9.0f} | {base_whole[1]:>6.3f} | {base_start[0]:>9.3f} |")
    print(f"| {'python -c pass (the interpreter alone)':<44} | {'':>7} | {'':>9} | {'':>6} | {bare_start[0]:>9.3f} |")
    print(f"\ngoal engine.scan() >= 0.9 x secdet scan, whole processes: {ratio:.2f} x wall clock "
          f"({ratio_cpu:.2f} x CPU time) {'PASS' if ratio >= 0.9 else 'MISS'}")
    if base_argv:
        print(f"baseline python: {cli_whole[0] / base_whole[0]:.2f} x wall clock "
              f"({cli_whole[1] / base_whole[1]:.2f} x CPU time); CPU startup (empty file) "
              f"{py_start[1] * 1000:.0f} ms against {base_start[1] * 1000:.0f} ms "
              f"(the command {cli_start[1] * 1000:.0f} ms, python -c pass {bare_start[1] * 1000:.0f} ms)")
    if args.summary:
        with open(args.summary, "w") as f:
            f.write(f"py_lines={lines}\npy_cli_wall={cli_whole[0]:.4f}\npy_cli_cpu={cli_whole[1]:.4f}\n"
                    f"py_py_wall={py_whole[0]:.4f}\npy_py_cpu={py_whole[1]:.4f}\n"
                    f"py_cli_start={cli_start[0]:.4f}\npy_py_start={py_start[0]:.4f}\n"
                    f"py_bare_start={bare_start[0]:.4f}\npy_python={sys.version.split()[0]}\n")

    # (2) in this process.
    ahead = [py_run(secdet, path, True) for _ in range(args.runs)]
    plain = [py_run(secdet, path, False) for _ in range(args.runs)]
    events, alerts = ahead[0][2], ahead[0][3]
    cli_wall, cli_cpu = cli_whole
    rows = [("secdet scan (the command)", cli_wall, cli_cpu)]
    rows.append(("engine.scan(), read-ahead", min(r[0] for r in ahead), min(r[1] for r in ahead)))
    rows.append(("engine.scan(), read_ahead=False", min(r[0] for r in plain), min(r[1] for r in plain)))

    print(f"\nin this process (interpreter and import not counted), {events} events, {alerts} alerts "
          f"(each an Alert object)\n")
    print(f"| {'name':<34} | {'events/s':>10} | {'x secdet scan':>13} | {'events/s CPU':>12} | {'x (CPU)':>7} |")
    print(f"|{'-' * 36}|{'-' * 11}:|{'-' * 14}:|{'-' * 13}:|{'-' * 8}:|")
    for name, wall, cpu in rows:
        print(f"| {name:<34} | {events / wall:>10.0f} | {cli_wall / wall:>13.2f} | {events / cpu:>12.0f} | "
              f"{cli_cpu / cpu:>7.2f} |")

    if args.no_push:
        return
    k = min(args.push_events, lines)
    rates = push_rates(secdet, path, k, args.runs)
    print(f"\nengine.push() per event, first {k} records, CIS pack\n")
    print(f"| {'event as':<8} | {'events/s':>10} | {'x bytes':>7} |")
    print(f"|{'-' * 10}|{'-' * 11}:|{'-' * 8}:|")
    for name in ("bytes", "str", "dict"):
        print(f"| {name:<8} | {rates[name]:>10.0f} | {rates[name] / rates['bytes']:>7.2f} |")


if __name__ == "__main__":
    main()
