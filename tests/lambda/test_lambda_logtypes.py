"""Lambda runtime and log types (docs/lambda.md, docs/log-types.md), under
AWS's Runtime Interface Emulator as in test_lambda.py (whose set-up this
reuses): the source's log type is "auto" by default, so a GuardDuty finding
in EventBridge reaches rules `on guardduty` with its own time;
SECDET_S3_LOG_TYPES names the log type of the S3 objects under a key prefix
(Okta events there reach `on okta`); a wrong one is an init error.
"""
import gzip
import json

from test_lambda import env, invoke, rules_of, s3_record, start_rie, stop, wait_port  # noqa: F401 (env: fixture)

RULES = """\
rule gd_finding { on guardduty where @action == "Recon:IAMUser/MaliciousIPCaller" }
rule okta_login { on okta where @action == "user.session.start" and @ip == "192.0.2.1" }
"""

FINDING = {"schemaVersion": "2.0", "accountId": "111122223333", "region": "us-east-1", "partition": "aws",
           "id": "f-1", "type": "Recon:IAMUser/MaliciousIPCaller", "resource": {}, "service": {"count": 1},
           "severity": 5, "createdAt": "2024-05-01T00:00:00.000Z", "updatedAt": "2024-05-01T00:05:00.000Z",
           "title": "t", "description": "d"}

# No actor: Okta's shape is not all there, only the key prefix tells its log type.
OKTA = {"eventType": "user.session.start", "published": "2024-05-01T01:00:00.000Z",
        "client": {"ipAddress": "192.0.2.1"}, "uuid": "u-1"}


def start(env, tmp_path, **extra):  # noqa: F811
    rules = tmp_path / "lt.secdet"
    rules.write_text(RULES)
    p, port = start_rie(env, tmp_path, SECDET_RULES=str(rules), **extra)
    wait_port(port, p)
    return p, dict(env, port=port)


def test_eventbridge_guardduty_and_an_s3_prefix_of_okta(env, tmp_path):  # noqa: F811
    p, e = start(env, tmp_path, SECDET_S3_LOG_TYPES=json.dumps({"okta/": "okta"}))
    try:
        status, out = invoke(e, {"version": "0", "id": "eb-2", "detail-type": "GuardDuty Finding",
                                 "source": "aws.guardduty", "account": "111122223333",
                                 "time": "2024-05-01T00:06:00Z", "region": "us-east-1", "resources": [],
                                 "detail": FINDING})
        assert status == 200 and out["alerts"] == 1, out
        (a,) = env["hook"].take()
        assert (a["rule"], a["source"], a["time"]) == ("gd_finding", "guardduty", "2024-05-01T00:05:00Z")
        body = gzip.compress((json.dumps(dict(OKTA, actor={"alternateId": "eve@example.com"})) + "\n"
                              + json.dumps(dict(OKTA, uuid="u-2")) + "\n").encode())
        env["s3"].put_object(Bucket="trail", Key="okta/2024/05/01.jsonl.gz", Body=body)
        status, out = invoke(e, {"Records": [s3_record("trail", "okta/2024/05/01.jsonl.gz")]})
        assert status == 200 and out["events"] == 2, out
        alerts = env["hook"].take()
        # both: the one without Okta's shape too (by shape alone, only the first)
        assert rules_of(alerts) == {"okta_login"} and len(alerts) == 2, alerts
        assert {(a["source"], a["time"]) for a in alerts} == {("okta", "2024-05-01T01:00:00Z")}
    finally:
        stop(p)


def test_an_unknown_log_type_is_an_init_error(env, tmp_path):  # noqa: F811
    p, e = start(env, tmp_path, SECDET_S3_LOG_TYPES=json.dumps({"okta/": "octa"}))
    try:
        status, out = invoke(e, {"detail-type": "x", "detail": {}})
        text = open(tmp_path / "rie.log", "rb").read().decode(errors="replace")
        assert "SECDET_S3_LOG_TYPES.okta/: not a log type's name" in json.dumps(out) + text, (out, text[-3000:])
        assert "bootstrap: ready" not in text
    finally:
        stop(p)
