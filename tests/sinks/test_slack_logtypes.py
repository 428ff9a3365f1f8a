"""The Slack message laid out by log type (docs/sinks.md, docs/log-types.md),
against a real HTTP server as in test_slack.py: an Okta alert shows the
common fields Okta has (log type, user, source IP, action, outcome, event
time), none it lacks (no "Account -"), nothing of CloudTrail's layout; a
rule's meta `show` adds fields of the event by path.
"""
import json

from test_slack import SLACK_PATH, slack

RULES = """\
rule okta_admin {
    meta {
        title = "Okta admin granted"
        severity = high
        show = [".client.userAgent.browser", ".target[0].alternateId"]
    }
    on okta
    where @action == "user.account.privilege.grant"
}
"""

OKTA = {"uuid": "2a992f80-d1ad-4f62-900e-8c68bb72a21b", "published": "2020-11-25 21:27:03.496000000",
        "eventType": "user.account.privilege.grant", "severity": "INFO",
        "actor": {"id": "00uu1", "type": "User", "alternateId": "jack@acme.io", "displayName": "Jack"},
        "client": {"userAgent": {"browser": "CHROME"}, "ipAddress": "136.24.229.58"},
        "outcome": {"result": "SUCCESS"}, "target": [{"alternateId": "eve@acme.io"}]}


def test_an_okta_alert_shows_oktas_fields_only(run, hook, tmp_path):
    srv = hook()
    rules = tmp_path / "okta.secdet"
    rules.write_text(RULES)
    r = run([slack(srv)], events=json.dumps(OKTA) + "\n", input="stdin", rules=rules,
            sources=[{"name": "okta", "input": {"type": "stdin"}}])
    assert r.wait_exit(20) == 0
    (q,) = srv.snapshot()
    assert q.path == SLACK_PATH
    (att,) = json.loads(q.body)["attachments"]
    fields = next(b["fields"] for b in att["blocks"] if b.get("fields"))
    got = {}
    for f in fields:
        label, _, value = f["text"].partition("\n")
        got[label.strip("*")] = value
    assert got == {"Severity": "high", "Rule": "okta_admin", "Log type": "okta", "User": "jack@acme.io",
                   "Source IP": "136.24.229.58", "Action": "user.account.privilege.grant", "Outcome": "SUCCESS",
                   "Event time": "2020-11-25T21:27:03.496Z", ".client.userAgent.browser": "CHROME",
                   ".target[0].alternateId": "eve@acme.io"}, fields
