"""secdet_cli.py — helpers for the end-to-end tests: where the repository,
the `secdet` binary and the shared data are, running `secdet`, reading its
JSON-lines alerts and reading CloudTrail records the same way it does.

Paths:
- the repository root is two levels above this file;
- the binary is $SECDET_BIN (relative to the repository root when relative),
  else build/secdet;
- the shared data is $SECDET_SHARED, else <repo>/../shared (a CI clone has a
  copy of shared/ beside it).
"""

import gzip
import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CIS_RULES = "rules/aws/cis.secdet"
SAMPLE = REPO / "examples" / "data" / "cloudtrail-sample.json.gz"


def secdet_bin():
    p = Path(os.environ.get("SECDET_BIN", "build/secdet"))
    return p if p.is_absolute() else REPO / p


def shared_dir():
    env = os.environ.get("SECDET_SHARED")
    return Path(env) if env else REPO.parent / "shared"


def invictus_files():
    """The invictus CloudTrail files in name order ([] when absent)."""
    d = shared_dir() / "data" / "cloudtrail" / "invictus" / "CloudTrail"
    return sorted(d.glob("*.json"), key=lambda p: p.name) if d.is_dir() else []


def run(args, timeout=600, stdin=None):
    """Runs secdet with args from the repository root; returns CompletedProcess (text)."""
    return subprocess.run([str(secdet_bin())] + [str(a) for a in args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL if stdin is None else stdin)


def parse_alerts(stdout):
    """Every non-blank stdout line must be one JSON object (an alert)."""
    alerts = []
    for n, line in enumerate(stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise AssertionError("stdout line %d is not JSON (%s): %r" % (n, e, line[:200]))
        assert isinstance(obj, dict), "stdout line %d is not a JSON object" % n
        alerts.append(obj)
    return alerts


def scan(files, rules=CIS_RULES, extra=()):
    """`secdet scan --output json --rules RULES [extra] FILES...` → (alerts, proc).
    Fails the test when the exit status is not 0."""
    proc = run(["scan", "--output", "json", "--rules", rules] + list(extra) + [str(f) for f in files])
    assert proc.returncode == 0, "secdet scan exited %d\nstderr:\n%s" % (proc.returncode, proc.stderr[-4000:])
    return parse_alerts(proc.stdout), proc


def read_records(path):
    """CloudTrail records of a .json / .json.gz log file, or JSON lines of a .jsonl file."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        text = f.read()
    stripped = text.lstrip()
    if stripped.startswith("{") and '"Records"' in stripped[:64]:
        return json.loads(text)["Records"]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_jsonl(records, path):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")


def alert_key(a):
    """What identifies an alert across runs and input formats."""
    return (a.get("rule"), a.get("id"), a["events"][0].get("eventID") if a.get("events") else None)
