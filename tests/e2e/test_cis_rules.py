"""test_cis_rules.py — the CIS rule pack itself: its test events agree with
the independent Python reading of the CIS patterns (no binary needed), it
compiles without errors or warnings, and `secdet test` runs its test events
(and fails when an expectation is wrong)."""

import collections
import json
import re
import shutil

import cis_expect
import secdet_cli

RULES = secdet_cli.REPO / "rules" / "aws" / "cis.secdet"
TESTS = secdet_cli.REPO / "rules" / "aws" / "cis.tests.jsonl"


def load_cases():
    cases = []
    with open(TESTS, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                c = json.loads(line)
                c["_line"] = n
                cases.append(c)
    return cases


def rule_names():
    return re.findall(r"^rule\s+([A-Za-z_][A-Za-z0-9_]*)", RULES.read_text(encoding="utf-8"), re.M)


def test_pack_has_one_rule_per_control_4_1_to_4_15():
    controls = [cis_expect.control_of_rule(n) for n in rule_names()]
    assert sorted(controls, key=lambda c: int(c.split(".")[1])) == ["4.%d" % i for i in range(1, 16)]


def test_every_rule_has_a_matching_and_a_non_matching_test_event():
    seen = collections.defaultdict(set)
    for c in load_cases():
        assert set(c) >= {"rule", "expect", "name", "event"}, "line %d lacks a key" % c["_line"]
        assert c["expect"] in ("match", "no-match"), "line %d: expect %r" % (c["_line"], c["expect"])
        seen[c["rule"]].add(c["expect"])
    for name in rule_names():
        assert seen[name] == {"match", "no-match"}, "%s has test events %s" % (name, sorted(seen[name]))
    assert set(seen) <= set(rule_names()), "tests name unknown rules: %s" % (set(seen) - set(rule_names()))


def test_test_events_agree_with_the_cis_patterns():
    wrong = []
    for c in load_cases():
        control = cis_expect.control_of_rule(c["rule"])
        got = cis_expect.CONTROLS[control](c["event"])
        if got != (c["expect"] == "match"):
            wrong.append("line %d %s: %s (expect %s)" % (c["_line"], c["rule"], c["name"], c["expect"]))
    assert not wrong, "\n".join(wrong)


def test_rule_pack_compiles_without_errors_or_warnings(secdet):
    proc = secdet_cli.run(["check", "rules/aws/cis.secdet"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    # Diagnostics are "file:line:col: [warning: ]message"; there must be none.
    assert not re.search(r":\d+:\d+: ", out), out


def test_secdet_test_runs_the_pack_test_events(secdet):
    proc = secdet_cli.run(["test", "rules/aws/cis.secdet"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_secdet_test_fails_when_an_expectation_is_wrong(secdet, tmp_path):
    shutil.copy(RULES, tmp_path / "cis.secdet")
    cases = load_cases()
    flipped = dict(cases[0])
    flipped["expect"] = "no-match" if flipped["expect"] == "match" else "match"
    with open(tmp_path / "cis.tests.jsonl", "w", encoding="utf-8") as f:
        for c in [flipped] + cases[1:]:
            c = {k: v for k, v in c.items() if k != "_line"}
            f.write(json.dumps(c) + "\n")
    proc = secdet_cli.run(["test", str(tmp_path / "cis.secdet")])
    assert proc.returncode != 0, "a wrong expectation passed:\n" + proc.stdout + proc.stderr
