"""Pack manifests (pack.json) read by `secdet check`, and `secdet test
--coverage` reporting per pack. docs/rules.md ("Pack manifest",
"Coverage") is the contract these tests pin."""

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SECDET_BIN", REPO / "build" / "secdet"))

RULE = 'rule r1 { on okta where .eventType == "a" }\nrule r2 { on okta where .eventType == "b" }\n'
GOOD = {"name": "mine", "version": "1.2.3", "log_types": ["okta"], "min_engine_version": "0.1.0"}


def secdet(*args):
    if not BIN.is_file():
        pytest.skip("secdet binary not found at %s" % BIN)
    return subprocess.run([str(BIN)] + [str(a) for a in args], capture_output=True, text=True, timeout=60)


def pack(tmp_path, manifest, rules=RULE, tests=None):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "r.secdet").write_text(rules)
    (d / "pack.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    if tests is not None:
        (d / "r.tests.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tests))
    return d


def test_check_reads_a_good_manifest(tmp_path):
    d = pack(tmp_path, GOOD)
    r = secdet("check", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "pack mine 1.2.3 (%s): 2 rules" % d in r.stderr


@pytest.mark.parametrize("change, message", [
    ({"version": "1.2"}, '"version" must be MAJOR.MINOR.PATCH'),
    ({"name": "Mine Pack"}, '"name" must be lower-case letters'),
    ({"log_types": []}, '"log_types" must be a non-empty array'),
    ({"min_engine_version": None}, '"min_engine_version" is missing'),
    ({"version": 1}, '"version" must be a non-empty string'),
    ({"colour": "blue"}, '"colour" is not a manifest member'),
    ({"log_types": ["okta", "splunk"]}, "log type 'splunk' is not one this engine knows"),
    ({"min_engine_version": "99.0.0"}, "pack mine 1.2.3 needs secdet 99.0.0 or newer; this is"),
])
def test_check_fails_on_a_bad_manifest(tmp_path, change, message):
    m = dict(GOOD, **change)
    m = {k: v for k, v in m.items() if v is not None}
    pack(tmp_path, m)
    r = secdet("check", tmp_path)
    assert r.returncode == 2
    assert message in r.stderr


def test_check_fails_when_a_rule_reads_an_unlisted_log_type(tmp_path):
    d = pack(tmp_path, GOOD, rules=RULE + 'rule r3 { on cloudtrail where .eventName == "x" }\n')
    r = secdet("check", tmp_path)
    assert r.returncode == 2
    assert "%s/r.secdet:3: rule r3 reads 'cloudtrail', which %s/pack.json does not list in log_types" % (d, d) in r.stderr


def test_check_fails_on_a_manifest_that_is_not_json(tmp_path):
    pack(tmp_path, '{"name": "mine",')
    r = secdet("check", tmp_path)
    assert r.returncode == 2
    assert "pack.json: not valid JSON" in r.stderr


def test_check_of_a_file_does_not_read_manifests(tmp_path):
    d = pack(tmp_path, {"name": "bad name"})
    assert secdet("check", d / "r.secdet").returncode == 0


def test_coverage_reports_per_pack_and_fails(tmp_path):
    ev = {"eventType": "a", "published": "2024-01-01T00:00:00Z", "actor": {"alternateId": "u"}}
    d = pack(tmp_path, GOOD, tests=[
        {"rule": "r1", "expect": "match", "name": "a", "event": ev},
        {"rule": "r1", "expect": "no-match", "name": "b", "event": dict(ev, eventType="b")},
        {"rule": "r2", "expect": "match", "name": "b", "event": dict(ev, eventType="b")},
    ])
    r = secdet("test", "--coverage", tmp_path)
    assert r.returncode == 1
    assert "coverage: pack mine 1.2.3 (%s): 2 rules, 1 tested both ways; not:" % d in r.stdout
    assert "coverage:   r2 (no test that must not fire)" in r.stdout
    assert r.stdout.rstrip().endswith("3 passed, 1 failed")


def test_coverage_of_rules_without_a_manifest_names_the_file(tmp_path):
    (tmp_path / "x.secdet").write_text('rule x1 { on okta where .eventType == "a" }\n')
    r = secdet("test", "-c", tmp_path)
    assert r.returncode == 1
    assert "coverage: %s/x.secdet: 1 rule, 0 tested both ways; not:" % tmp_path in r.stdout
    assert "coverage:   x1 (no test)" in r.stdout


def test_every_shipped_pack_has_a_manifest_that_check_accepts():
    packs = sorted(p.name for p in (REPO / "rules").iterdir() if p.is_dir())
    r = secdet("check", REPO / "rules")
    assert r.returncode == 0, r.stderr
    for p in packs:
        m = json.loads((REPO / "rules" / p / "pack.json").read_text())
        assert m["name"] == p
        assert "pack %s %s (%s): " % (p, m["version"], REPO / "rules" / p) in r.stderr


def test_every_shipped_rule_is_tested_both_ways():
    r = secdet("test", "--coverage", REPO / "rules")
    assert r.returncode == 0, r.stdout[-2000:]
    lines = [x for x in r.stdout.splitlines() if x.startswith("coverage: ")]
    assert len(lines) >= 7, lines
    assert not [x for x in lines if "; not:" in x or x.startswith("coverage:   ")], lines
