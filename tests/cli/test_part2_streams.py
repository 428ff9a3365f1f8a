"""`secdet test` streams for each construct of the language's Part 2
(tests/cli/part2/part2.secdet and its part2.tests.jsonl): element predicates,
string lists, case folding, b64decode, text, hour, weekday, sum, counted steps,
a count rule as a step, `not` steps before, between and after, unordered
sequences and per-step keys, at their boundaries (inclusive windows, ties by
arrival, a counted step's N-th match arriving late, an absence window closing
exactly at DUR). Every case must pass, and every case must discriminate: with
each expectation turned round, every case fails.
"""
import json
import os
import shutil
import subprocess

ROOT = os.environ.get("SECDET_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "part2")


def secdet_test(path):
    return subprocess.run([BIN, "test", path], capture_output=True, text=True, timeout=60)


def test_every_part2_stream_passes():
    p = secdet_test(os.path.join(HERE, "part2.secdet"))
    cases = sum(1 for _ in open(os.path.join(HERE, "part2.tests.jsonl")))
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"{cases} passed, 0 failed" in p.stdout + p.stderr


def test_every_part2_stream_fails_turned_round(tmp_path):
    shutil.copy(os.path.join(HERE, "part2.secdet"), tmp_path / "part2.secdet")
    with open(os.path.join(HERE, "part2.tests.jsonl")) as f, open(tmp_path / "part2.tests.jsonl", "w") as out:
        n = 0
        for line in f:
            t = json.loads(line)
            t["expect"] = "no-match" if t["expect"] == "match" else "match"
            t.pop("expect_alerts", None)
            out.write(json.dumps(t) + "\n")
            n += 1
    p = secdet_test(str(tmp_path / "part2.secdet"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"0 passed, {n} failed" in p.stdout + p.stderr
