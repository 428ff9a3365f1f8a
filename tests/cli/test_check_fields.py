"""`secdet check` warns about a field no log type of the rule's `on` has
(docs/log-types.md "Known fields"), with the nearest known path; a rule
over a log type without known fields (jsonl, a source of one's own) and a
field one of its log types has get none; a warning never fails the check.
"""
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))

RULES = """\
rule a {
    on okta
    where .eventTyp == "user.session.start" and @ip == "192.0.2.1"
}
rule b {
    on okta, cloudtrail
    where .eventName == "ConsoleLogin"
}
rule c {
    on myapp
    where .whatever == 1
}
rule d {
    on gcp-audit
    where .protoPayload.methodNme == "SetIamPolicy"
}
"""


def test_unknown_fields_get_a_warning_with_the_nearest_known_one(tmp_path):
    r = tmp_path / "w.secdet"
    r.write_text(RULES)
    p = subprocess.run([BIN, "check", str(r)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    warnings = [line for line in p.stderr.splitlines() if ": warning: " in line]
    assert warnings == [
        "%s:3:11: warning: no okta event has the field '.eventTyp' (did you mean '.eventType'?); "
        "rule 'a' reads it" % r,
        "%s:15:11: warning: no gcp-audit event has the field '.protoPayload.methodNme' "
        "(did you mean '.protoPayload.methodName'?); rule 'd' reads it" % r,
    ], p.stderr
