"""Absence (`not` steps, docs/correlation.md) in the Lambda runtime: the
correlation state lives in the warm execution environment, so a window opened
by one invocation closes in a later one, once an event moves the watermark
(newest event time minus the default 15 minutes of lateness) past it; never
earlier. Same set-up as test_lambda.py (its `env` fixture), with the rules
below instead of the CIS pack.
"""
from test_lambda import assert_alive, env, invoke  # noqa: F401  (env is a fixture)

LAMBDA_RULES = """
rule not_quarantined {
    sequence within 1h by .host {
        finding: .eventName == "Finding";
        not quarantine: .eventName == "ModifyInstanceAttribute"
    }
    output "finding on {.host} not quarantined"
}
"""


def eb(name, host, hhmmss):
    t = "2024-03-14T%sZ" % hhmmss
    return {"version": "0", "id": "eb-%s-%s" % (host, hhmmss), "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.ec2", "account": "111122223333", "time": t, "region": "us-east-1", "resources": [],
            "detail": {"eventTime": t, "eventName": name, "host": host}}


def test_a_window_opened_by_one_invocation_closes_in_a_later_one(env):  # noqa: F811
    hook = env["hook"]
    for ev in (eb("Finding", "h1", "09:00:00"), eb("Finding", "h2", "09:00:00"),
               eb("ModifyInstanceAttribute", "h2", "09:30:00")):
        status, out = invoke(env, ev)
        assert status == 200 and out["events"] == 1 and out["alerts"] == 0, out
    # Newest 10:15:00: the watermark is 10:00:00, the window's last instant (inclusive): still open.
    status, out = invoke(env, eb("DescribeInstances", "h3", "10:15:00"))
    assert status == 200 and out["alerts"] == 0, out
    assert hook.take() == []
    # Newest 10:15:01: the watermark is past h1's window; h2 was quarantined inside its own.
    status, out = invoke(env, eb("DescribeInstances", "h3", "10:15:01"))
    assert status == 200 and out["alerts"] == 1 and out["drained"] is True, out
    got = hook.take()
    assert [a["message"] for a in got] == ["finding on h1 not quarantined"], got
    assert got[0]["events"][0]["host"] == "h1"
    # Later events fire nothing more.
    status, out = invoke(env, eb("DescribeInstances", "h3", "12:00:00"))
    assert status == 200 and out["alerts"] == 0, out
    assert hook.take() == []
    assert_alive(env)
