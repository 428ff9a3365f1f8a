"""U+0000 in an event reaching the Lambda runtime (bootstrap).

The runtime used to re-print an EventBridge or CloudWatch Logs invocation
with cJSON before pushing it, which cut every string at its first U+0000:
"AwsServiceEvent\\u0000" became "AwsServiceEvent", and the CIS root-usage
rule (`.eventType != "AwsServiceEvent"`) no longer saw a root call. The body
is now pushed as sent. Same set-up as test_lambda.py (its `env` fixture).
"""
import base64
import gzip
import json

from test_lambda import cis_events, env, invoke, rules_of  # noqa: F401  (env is a fixture)

ROOT_RULE = "cis_aws_4_3_root_account_usage"


def disguised_root_call():
    ev = dict(cis_events()[ROOT_RULE])
    ev["eventType"] = "AwsServiceEvent\u0000"  # not an AwsServiceEvent: one character more
    ev["userAgent"] = "console\u0000hidden"
    return ev


def test_eventbridge_string_after_a_nul_reaches_the_rules(env):  # noqa: F811
    ev = disguised_root_call()
    status, out = invoke(env, {"version": "0", "id": "eb-nul", "detail-type": "AWS Console Sign In via CloudTrail",
                               "source": "aws.signin", "account": "111122223333", "time": ev["eventTime"],
                               "region": "us-east-1", "resources": [], "detail": ev})
    assert status == 200 and out["kind"] == "eventbridge", out
    alerts = env["hook"].take()
    assert ROOT_RULE in rules_of(alerts), alerts
    fired = [a for a in alerts if a["rule"] == ROOT_RULE][0]
    assert fired["events"][0]["userAgent"] == "console\u0000hidden"


def test_cloudwatch_logs_string_after_a_nul_reaches_the_rules(env):  # noqa: F811
    ev = disguised_root_call()
    payload = {"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "trail\u0000x",
               "logStream": "s", "subscriptionFilters": ["secdet"],
               "logEvents": [{"id": "1", "timestamp": 1710400000000, "message": json.dumps(ev)}]}
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    status, out = invoke(env, {"awslogs": {"data": data}})
    assert status == 200 and out["kind"] == "cloudwatch-logs", out
    alerts = env["hook"].take()
    assert ROOT_RULE in rules_of(alerts), alerts
    fired = [a for a in alerts if a["rule"] == ROOT_RULE][0]
    assert fired["events"][0]["_cloudwatch"]["logGroup"] == "trail\u0000x"
