"""Every pack over every data folder of ../shared/data: the alerts are
exactly those pack_scan_expected.json lists — rule by rule, the file and
line of the event each alert fired on — and docs/rules.md ("What the packs
raise on ../shared/data") explains each of them. A rule that starts firing
on more events, or stops firing on one, fails here before it surprises a
user; when that change is meant, regenerate the list and the table.

All packs (not the demo rules) are loaded at once, as a user would, so a
chain sees the steps of every layer. Files are given as TYPE:PATH: the
Panther events are trimmed to the fields Panther's rules read, and many
lack the members by which secdet recognises a log type. Skips when
../shared/data is absent."""

import json
from pathlib import Path

import pytest

import secdet_cli

PACKS = ["aws", "guardduty", "okta", "gcp", "gworkspace", "edr", "chains"]
SC = "scenarios/panther/"
INPUTS = {
    "guardduty": [("guardduty", "guardduty/panther/aws_guardduty.jsonl"),
                  ("guardduty", "guardduty/aws-samples/guardduty_findings.jsonl")],
    "okta": [("okta", "okta/panther/okta_systemlog.jsonl")],
    "gcp-audit": [("gcp-audit", "gcp-audit/panther/gcp_auditlog.jsonl"),
                  ("gcp-audit", "gcp-audit/plaso/gcp_logging.jsonl")],
    "gworkspace": [("gworkspace", "gworkspace/panther/gsuite_activityevent.jsonl")],
    "edr": [("crowdstrike", "edr/panther/crowdstrike_%s.jsonl" % f)
            for f in ["fdrevent", "eventstreams", "detectionsummary", "unknown", "dnsrequest"]],
    "scenarios": [("okta", SC + "compromised-root-creds/attacker_okta.jsonl"),
                  ("okta", SC + "compromised-root-creds/victim_okta.jsonl"),
                  ("cloudtrail", SC + "compromised-root-creds/attacker_cloudtrail.jsonl"),
                  ("cloudtrail", SC + "compromised-root-creds/victim_cloudtrail.jsonl"),
                  ("cloudtrail", SC + "enrichment-example/attacker_cloudtrail.jsonl"),
                  ("cloudtrail", SC + "enrichment-example/victim_cloudtrail.jsonl"),
                  ("gworkspace", SC + "gsuite-sensitive-files/shared_files.jsonl")]
    + [("okta", SC + "okta-add-administrator/" + f)
       for f in ["admin_privs_assigned.jsonl", "brute_force_logins.jsonl", "legit_login.jsonl", "new-user.jsonl"]],
}
EXPECTED = json.loads((Path(__file__).parent / "pack_scan_expected.json").read_text())


def canon(obj):
    """The same JSON whatever its number spelling (1 and 1.0, 3.7e17)."""
    return json.dumps(json.loads(json.dumps(obj), parse_int=float), sort_keys=True)


def where_from(data, inputs):
    """Event text -> "file:line"; and a Reports API activity's uniqueQualifier
    -> "file:line" (the gworkspace log type turns one activity into one
    record per event, so the alert's event is not a line of the file)."""
    exact, by_id = {}, {}
    for _, rel in inputs:
        for n, line in enumerate((data / rel).read_text().splitlines(), 1):
            obj = json.loads(line)
            exact.setdefault(canon(obj), "%s:%d" % (rel, n))
            uq = obj.get("id", {}).get("uniqueQualifier") if isinstance(obj.get("id"), dict) else None
            if uq is not None and "events" in obj:
                by_id.setdefault(uq, "%s:%d" % (rel, n))
    return exact, by_id


@pytest.mark.parametrize("folder", sorted(INPUTS))
def test_all_packs_over_a_data_folder(secdet, shared_data, folder):
    inputs = INPUTS[folder]
    args = ["scan"]
    for p in PACKS:
        args += ["--rules", "rules/" + p]
    args += ["%s:%s" % (t, shared_data / rel) for t, rel in inputs]
    r = secdet_cli.run(args)
    assert r.returncode == 0, r.stderr
    exact, by_id = where_from(shared_data, inputs)
    got = {}
    for a in secdet_cli.parse_alerts(r.stdout):
        ev = a["events"][-1]
        where = exact.get(canon(ev)) or by_id.get((ev.get("id") or {}).get("uniqueQualifier"), "?")
        got.setdefault(a["rule"], []).append(where)
    got = {k: sorted(v) for k, v in got.items()}
    assert got == EXPECTED[folder]


def test_the_expectations_name_only_loaded_rules():
    """A rule renamed in a pack but not here would make an expectation that can never hold."""
    names = set()
    for p in PACKS:
        for f in (secdet_cli.REPO / "rules" / p).glob("*.secdet"):
            for line in f.read_text().splitlines():
                if line.startswith("rule "):
                    names.add(line.split()[1])
    for folder, rules in EXPECTED.items():
        assert set(rules) <= names, (folder, set(rules) - names)
