"""test_part2_real_rules.py — the walls issue 19 names, each as a real rule
over real events from ../shared/data (skipped when it is absent): the GCP
admin grant on one binding delta, five Okta failures then a success, a
console sign-in with no Okta sign-in before it, a GuardDuty finding not
followed by quarantine within 1h, one address followed from Okta
(.client.ipAddress) to CloudTrail (.sourceIPAddress), an unordered set, the
bytes out per user, and lists after like.

Until log types land (issue 18), each event gets an `eventTime` copied from
its own time field (Okta's .published, GuardDuty's .updatedAt, GCP's
.timestamp), and events of several files are pushed as one JSON-lines
stream in time order.
"""

import copy
import glob
import json
import os
import re

import pytest

import secdet_cli

DATA = secdet_cli.shared_dir() / "data"


def need(path):
    p = DATA / path
    if not p.exists():
        pytest.skip("shared data not found: %s (set SECDET_SHARED)" % p)
    return p


def jsonl(path):
    with open(need(path), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def rfc3339(t):
    """GCP's and GuardDuty's times as RFC 3339 (a space for T, no zone → UTC, at most nanoseconds)."""
    t = t.replace(" ", "T")
    if not re.search(r"(Z|[+-]\d\d:\d\d)$", t):
        t += "Z"
    return t


def timed(events, field):
    out = []
    for e in events:
        e = dict(e)
        v = e
        for k in field.split("."):
            v = v[k]
        e["eventTime"] = rfc3339(v)
        out.append(e)
    return out


def scan(tmp_path, rules, events, extra=()):
    r = tmp_path / "r.secdet"
    r.write_text(rules)
    ev = tmp_path / "ev.jsonl"
    events = sorted(events, key=lambda e: e["eventTime"])
    ev.write_text("".join(json.dumps(e) + "\n" for e in events))
    alerts, _ = secdet_cli.scan([ev], rules=r, extra=["--format", "jsonl", "--lateness", "0s"] + list(extra))
    return alerts


def by_rule(alerts, rule):
    return [a for a in alerts if a["rule"] == rule]


def test_gcp_admin_grant_is_one_binding_delta(secdet, tmp_path):
    logs = [e for e in jsonl("gcp-audit/panther/gcp_auditlog.jsonl")
            if "bindingDeltas" in e.get("protoPayload", {}).get("serviceData", {}).get("policyDelta", {})
            and e.get("timestamp")]
    grant = next(e for e in logs if any(d.get("role") == "roles/owner" and d.get("action") == "ADD"
                                        for d in e["protoPayload"]["serviceData"]["policyDelta"]["bindingDeltas"]))
    # The same real event with ADD viewer + REMOVE owner: no admin was granted.
    mixed = copy.deepcopy(grant)
    mixed["insertId"] = "mixed"
    mixed["protoPayload"]["serviceData"]["policyDelta"]["bindingDeltas"] = [
        {"action": "ADD", "role": "roles/viewer", "member": "user:a@example.com"},
        {"action": "REMOVE", "role": "roles/owner", "member": "user:b@example.com"}]
    rules = """
list admin_roles = ["roles/owner", "roles/editor", "roles/iam.securityAdmin"]
rule gcp_admin_grant {
    where any .protoPayload.serviceData.policyDelta.bindingDeltas[*] (.action == "ADD" and .role in admin_roles)
    output "{.protoPayload.serviceData.policyDelta.bindingDeltas[*].member} granted admin"
}
rule naive {
    where .protoPayload.serviceData.policyDelta.bindingDeltas[*].action == "ADD"
      and .protoPayload.serviceData.policyDelta.bindingDeltas[*].role in admin_roles
}
"""
    alerts = scan(tmp_path, rules, timed(logs + [mixed], "timestamp"))
    fired = by_rule(alerts, "gcp_admin_grant")
    want = sum(1 for e in logs if any(d.get("action") == "ADD" and d.get("role") in ("roles/owner", "roles/editor",
                                                                                       "roles/iam.securityAdmin")
                                      for d in e["protoPayload"]["serviceData"]["policyDelta"]["bindingDeltas"]))
    assert want >= 1 and len(fired) == want
    assert all(a["events"][0].get("insertId") != "mixed" for a in fired)
    # [*] on both sides tests each side on any element: the mixed event fires it
    assert any(a["events"][0].get("insertId") == "mixed" for a in by_rule(alerts, "naive"))


def okta(path):
    return timed(jsonl(path), "published")


def test_five_okta_failures_then_a_success(secdet, tmp_path):
    events = okta("scenarios/panther/okta-add-administrator/brute_force_logins.jsonl") + \
        okta("scenarios/panther/okta-add-administrator/legit_login.jsonl")
    rules = """
macro okta_login = .eventType == "user.session.start"
rule okta_failures { where okta_login and .outcome.result == "FAILURE"
                     count >= 5 within 10m by .actor.alternateId private }
rule fails_then_success {
    sequence within 1h by .actor.alternateId {
        fails: okta_failures;
        success: okta_login and .outcome.result == "SUCCESS"
    }
    output "{count} events: {group} signed in from {.client.ipAddress} after failures"
}
rule fails_then_success_counted {
    sequence within 1h by .actor.alternateId {
        fails: okta_login and .outcome.result == "FAILURE" count >= 5 within 10m;
        success: okta_login and .outcome.result == "SUCCESS"
    }
}
"""
    alerts = scan(tmp_path, rules, events)
    for rule in ("fails_then_success", "fails_then_success_counted"):
        fired = by_rule(alerts, rule)
        assert len(fired) == 1, alerts
        assert fired[0]["group"] == {".actor.alternateId": "jack.naglieri@runpanther.io"}
        assert fired[0]["time"] == "2021-06-25T21:41:03.490Z"
    assert by_rule(alerts, "fails_then_success")[0]["message"] == \
        "6 events: jack.naglieri@runpanther.io signed in from 194.88.246.242 after failures"


def compromised_root_creds():
    d = "scenarios/panther/compromised-root-creds/"
    return okta(d + "victim_okta.jsonl") + okta(d + "attacker_okta.jsonl") + \
        jsonl(d + "victim_cloudtrail.jsonl") + jsonl(d + "attacker_cloudtrail.jsonl")


def test_console_sign_in_with_no_okta_sign_in_before_it(secdet, tmp_path):
    rules = """
rule console_without_okta {
    sequence within 2h {
        not okta: .eventType == "user.session.start" and .outcome.result == "SUCCESS" by .client.ipAddress;
        console: .eventName == "ConsoleLogin" and .responseElements.ConsoleLogin == "Success" by .sourceIPAddress
    }
    output "console sign-in from {.sourceIPAddress} with no Okta sign-in before it"
}
"""
    fired = by_rule(scan(tmp_path, rules, compromised_root_creds()), "console_without_okta")
    # The victim signed in to Okta from 71.253.251.71 at 04:38, then to the console at 06:00: no alert then.
    # The attacker's console sign-in from 92.55.146.245 had only failed Okta attempts, days before.
    assert sorted(a["time"] for a in fired) == ["2020-10-15T06:00:00Z", "2020-10-16T06:00:00Z",
                                                "2020-11-01T08:29:10Z"]
    assert fired[-1]["message"] == "console sign-in from 92.55.146.245 with no Okta sign-in before it"


def test_one_address_from_okta_to_cloudtrail(secdet, tmp_path):
    rules = """
rule okta_failure_then_aws_root {
    sequence within 7d {
        fail: .eventType == "user.session.start" and .outcome.result == "FAILURE" by .client.ipAddress;
        root: .eventName == "ConsoleLogin" and .userIdentity.type == "Root"
              and .responseElements.ConsoleLogin == "Success" by .sourceIPAddress
    }
    output "{group}: Okta failures, then AWS root"
}
rule with_coalesce {
    sequence within 7d by coalesce(.client.ipAddress, .sourceIPAddress) {
        fail: .eventType == "user.session.start" and .outcome.result == "FAILURE";
        root: .eventName == "ConsoleLogin" and .responseElements.ConsoleLogin == "Success"
    }
}
"""
    alerts = scan(tmp_path, rules, compromised_root_creds())
    fired = by_rule(alerts, "okta_failure_then_aws_root")
    assert len(fired) == 1
    assert fired[0]["group"] == {".client.ipAddress": "92.55.146.245"}
    assert fired[0]["message"] == "92.55.146.245: Okta failures, then AWS root"
    assert fired[0]["first_seen"] == "2020-10-26T12:23:51.650Z"  # the later failure: more time left
    # The same with coalesce agrees here (no event has both fields).
    assert [a["time"] for a in by_rule(alerts, "with_coalesce")] == [fired[0]["time"]]


def test_unordered_backdoor_user(secdet, tmp_path):
    rules = """
rule backdoor_user {
    sequence unordered within 1h by .sourceIPAddress {
        user: .eventName == "CreateUser";
        policy: .eventName == "AttachUserPolicy";
        key: .eventName == "CreateAccessKey" and exists .requestParameters.userName
    }
}
"""
    fired = by_rule(scan(tmp_path, rules, compromised_root_creds()), "backdoor_user")
    assert len(fired) == 1 and fired[0]["group"] == {".sourceIPAddress": "92.55.146.245"}
    assert fired[0]["count"] == 3


def test_guardduty_finding_not_followed_by_quarantine(secdet, tmp_path):
    findings = timed(jsonl("guardduty/aws-samples/guardduty_findings.jsonl"), "updatedAt")
    inst = [f for f in findings if f["resource"].get("instanceDetails")]
    # A real CloudTrail ModifyInstanceAttribute, made to put the second finding's
    # instance into a quarantine security group 30 minutes after it.
    tmpl = None
    for path in sorted(glob.glob(str(need("cloudtrail/invictus/CloudTrail")) + "/*.json")):
        with open(path, encoding="utf-8") as f:
            tmpl = next((r for r in json.load(f)["Records"] if r["eventName"] == "ModifyInstanceAttribute"), None)
        if tmpl:
            break
    assert tmpl
    q = copy.deepcopy(tmpl)
    q["requestParameters"] = {"instanceId": "i-99999999", "groupSet": {"items": [{"groupId": "sg-quarantine"}]}}
    q["eventTime"] = "2022-01-13T00:30:47Z"
    tick = {"eventTime": "2022-01-13T03:00:00Z", "eventName": "Tick"}
    rules = """
rule finding_not_quarantined {
    sequence within 1h {
        finding: exists .schemaVersion and exists .resource.instanceDetails.instanceId
                 by .resource.instanceDetails.instanceId;
        not quarantine: .eventName == "ModifyInstanceAttribute"
                        and .requestParameters.groupSet.items[*].groupId == "sg-quarantine"
                        by .requestParameters.instanceId
    }
    output "{.type} on {.resource.instanceDetails.instanceId}: not quarantined within 1h"
}
"""
    fired = by_rule(scan(tmp_path, rules, inst + [q, tick]), "finding_not_quarantined")
    assert [a["message"] for a in fired] == [
        "Canary:EC2/Stateless.IntegTest on i-05746eb48123455e0: not quarantined within 1h"]
    assert fired[0]["time"] == "2017-10-31T23:16:23.824Z"
    # Without the tick the input ends before the second window closes; the first fires at the flush
    fired = by_rule(scan(tmp_path, rules, inst), "finding_not_quarantined")
    assert len(fired) == 1


def invictus_records():
    files = secdet_cli.invictus_files()
    if not files:
        pytest.skip("shared CloudTrail data not found under %s" % secdet_cli.shared_dir())
    return files


def test_bytes_out_per_user_and_lists_after_like(secdet, tmp_path):
    files = invictus_records()
    rules = tmp_path / "r.secdet"
    rules.write_text("""
rule bytes_out {
    where exists .additionalEventData.bytesTransferredOut
    sum .additionalEventData.bytesTransferredOut >= 50000 within 30d by .userIdentity.arn
    output "{sum} bytes out by {group}"
}
rule delete_or_put { where .eventName like ["Delete*", "Put*"] }
rule delete_or_put_ci { where .eventName ilike ["delete*", "PUT*"] }
rule delete_or_put_starts { where .eventName startswith ["Delete", "Put"] }
""")
    alerts, _ = secdet_cli.scan(files, rules=rules)
    records = [r for f in files for r in secdet_cli.read_records(f)]
    want = sum(1 for r in records if r["eventName"].startswith(("Delete", "Put")))
    assert want > 100
    for rule in ("delete_or_put", "delete_or_put_ci", "delete_or_put_starts"):
        assert len(by_rule(alerts, rule)) == want, rule
    totals = {}
    for r in records:
        b = (r.get("additionalEventData") or {}).get("bytesTransferredOut")
        if isinstance(b, (int, float)):
            arn = r["userIdentity"].get("arn")
            totals[arn] = totals.get(arn, 0) + b
    fired = by_rule(alerts, "bytes_out")
    assert sorted(a["group"][".userIdentity.arn"] for a in fired) == \
        sorted(arn for arn, t in totals.items() if t >= 50000)
    for a in fired:
        assert a["sum"] >= 50000 and a["message"].startswith("%d bytes out by" % a["sum"])
