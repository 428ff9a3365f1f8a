"""conftest.py — fixtures of the Sigma conversion tests (tests/sigma).

`convert(files)` runs `secdet sigma convert` on Sigma YAML with the
package of this tree (bindings/sigma on PYTHONPATH), `scan(rules, events)`
(or `scan_inputs` for several log types) runs `secdet scan` and gives the
alerts. The suite skips, saying so, when
the binary is not built or pySigma is not installed (tests/sigma/setup.sh,
run by tools/install-deps.sh, installs it).
"""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import secdet_cli  # noqa: E402

try:
    import sigma.collection  # noqa: F401
    HAVE_PYSIGMA = True
except ImportError:
    HAVE_PYSIGMA = False


@pytest.fixture(scope="session")
def secdet():
    if not HAVE_PYSIGMA:
        pytest.skip("pySigma is not installed (tests/sigma/setup.sh installs it)")
    b = secdet_cli.secdet_bin()
    if not (b.is_file() and os.access(b, os.X_OK)):
        pytest.skip("secdet binary not found at %s (build it, or set SECDET_BIN)" % b)
    return str(b)


@pytest.fixture(scope="session")
def sigma_data():
    d = secdet_cli.shared_dir() / "data" / "sigma"
    if not d.is_dir():
        pytest.skip("Sigma rules not found under %s (set SECDET_SHARED)" % d)
    return d


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.path.join(ROOT, "bindings", "sigma") + os.pathsep + e.get("PYTHONPATH", "")
    e["SECDET_PYTHON"] = sys.executable
    return e


def run(secdet, *args):
    return subprocess.run([secdet, *map(str, args)], capture_output=True, text=True, env=env(), timeout=300)


def convert(secdet, tmp, docs, *extra):
    """Write each Sigma YAML text to tmp/sigma/NAME.yml, convert into
    tmp/out; -> (completed process, report rows by id)."""
    src = tmp / "sigma"
    src.mkdir(exist_ok=True)
    for name, text in docs.items():
        (src / (name + ".yml")).write_text(text)
    report = tmp / "report.jsonl"
    p = run(secdet, "sigma", "convert", src, "-o", tmp / "out", "--report", report, *extra)
    rows = [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []
    return p, {r["id"]: r for r in rows}


def scan_inputs(secdet, rules, inputs):
    """`secdet scan` of rules on {log type: events}, each written to
    events-TYPE.jsonl beside rules, every alert it gives (lateness 0)."""
    args = []
    for logtype, events in inputs.items():
        path = rules.parent / ("events-%s.jsonl" % logtype)
        path.write_text("".join(json.dumps(e) + "\n" for e in events))
        args.append("%s:%s" % (logtype, path))
    p = run(secdet, "scan", "--rules", rules, "--lateness", "0s", *args)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def scan(secdet, rules, events, logtype):
    return scan_inputs(secdet, rules, {logtype: events})
