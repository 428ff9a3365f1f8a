"""Sigma correlation rules as secdet aggregations, with verdicts:
event_count -> count, value_count -> distinct, value_sum -> sum, temporal
-> sequence unordered, temporal_ordered -> sequence, aliases -> per-step
keys, a correlation of a correlation -> a count rule as a step; what has no
exact form (value_avg, a `lt` condition, k of n rules) is refused."""
import textwrap

from conftest import convert, scan_inputs

def base_rule(n, name, title, logsource, sel):
    return ("title: %s\nid: 10000000-0000-0000-0000-00000000000%d\nname: %s\nlogsource: %s\n"
            "detection:\n    sel: %s\n    condition: sel\nlevel: low\n" % (title, n, name, logsource, sel))


OKTA = "{product: okta, service: okta}"
BASE = "---\n".join([
    base_rule(1, "okta_fail", "Okta sign-in failed", OKTA, "{eventType: user.session.start, outcome.result: FAILURE}"),
    base_rule(2, "okta_ok", "Okta sign-in", OKTA, "{eventType: user.session.start, outcome.result: SUCCESS}"),
    base_rule(3, "aws_login", "AWS console sign-in", "{product: aws, service: cloudtrail}", "{eventName: ConsoleLogin}"),
])


def corr(name, kind, rules, timespan, group_by=(), condition=None, aliases=None):
    """BASE, then the correlation rule `name` of type `kind` on rules;
    aliases: {alias: {rule: field}}."""
    body = "type: %s\nrules: [%s]\n" % (kind, ", ".join(rules))
    if group_by:
        body += "group-by: [%s]\n" % ", ".join(group_by)
    body += "timespan: %s\n" % timespan
    if condition:
        body += "condition: %s\n" % condition
    if aliases:
        body += "aliases:\n"
        for alias, fields in aliases.items():
            body += "    %s:\n" % alias + "".join("        %s: %s\n" % kv for kv in fields.items())
    return BASE + "---\n" + textwrap.dedent("""\
        title: correlation {name}
        id: 20000000-0000-0000-0000-{num:012d}
        name: {name}
        level: high
        correlation:
        """).format(name=name, num=len(name)) + textwrap.indent(body, "    ")


def without_base(yml):
    """A corr() document alone, without the base rules before it."""
    return yml[len(BASE) + len("---\n"):]


def okta(t, user, result, ip="192.0.2.1", c=None):
    e = {"uuid": "%s-%s-%d" % (user, result, t), "published": "2024-01-01T00:%02d:00Z" % t,
         "eventType": "user.session.start", "actor": {"alternateId": user},
         "client": {"ipAddress": ip}, "outcome": {"result": result}}
    if c is not None:
        e["debugContext"] = {"debugData": {"c": c}}
    return e


def aws(t, ip):
    return {"eventVersion": "1.08", "eventTime": "2024-01-01T00:%02d:00Z" % t, "eventName": "ConsoleLogin",
            "eventSource": "signin.amazonaws.com", "awsRegion": "us-east-1", "sourceIPAddress": ip,
            "eventID": "aws-%d" % t}


def alerts_of(secdet, tmp, yml, okta_events, aws_events=(), extra_docs=None):
    docs = {"c": yml}
    docs.update(extra_docs or {})
    p, report = convert(secdet, tmp, docs)
    assert p.returncode == 0, p.stderr
    inputs = {"okta": okta_events, "cloudtrail": aws_events}
    out = scan_inputs(secdet, tmp / "out", {lt: evs for lt, evs in inputs.items() if evs})
    return [a for a in out if a["severity"] == "high"], (tmp / "out" / "c.secdet").read_text()


def test_event_count(secdet, tmp_path):
    y = corr("many_fails", "event_count", ["okta_fail"], "10m", group_by=["actor.alternateId"],
             condition="{gte: 3}")
    evs = [okta(1, "a", "FAILURE"), okta(2, "b", "FAILURE"), okta(3, "a", "FAILURE"), okta(4, "a", "FAILURE"),
           okta(5, "b", "FAILURE")]
    got, text = alerts_of(secdet, tmp_path, y, evs)
    assert "count >= 3 within 10m by .actor.alternateId" in text
    assert "private" in text, "a base rule of a correlation does not alert itself (generate: false)"
    assert [a["group"] for a in got] == [{".actor.alternateId": "a"}], got


def test_event_count_gt_is_one_more(secdet, tmp_path):
    y = corr("gt_fails", "event_count", ["okta_fail"], "10m", condition="{gt: 2}")
    got, text = alerts_of(secdet, tmp_path, y, [okta(1, "a", "FAILURE"), okta(2, "a", "FAILURE")])
    assert got == [] and "count >= 3" in text


def test_value_count(secdet, tmp_path):
    y = corr("many_ips", "value_count", ["okta_fail"], "10m", group_by=["actor.alternateId"],
             condition="{gte: 2, field: client.ipAddress}")
    evs = [okta(1, "a", "FAILURE", "192.0.2.1"), okta(2, "a", "FAILURE", "192.0.2.1"),
           okta(3, "b", "FAILURE", "192.0.2.1"), okta(4, "b", "FAILURE", "192.0.2.2")]
    got, text = alerts_of(secdet, tmp_path, y, evs)
    assert "distinct .client.ipAddress >= 2" in text
    assert [a["group"] for a in got] == [{".actor.alternateId": "b"}]


def test_value_sum(secdet, tmp_path):
    y = corr("big_sum", "value_sum", ["okta_fail"], "10m", condition="{gte: 10, field: debugContext.debugData.c}")
    evs = [okta(1, "a", "FAILURE", c=4), okta(2, "a", "FAILURE", c=5), okta(3, "a", "FAILURE", c=1)]
    got, text = alerts_of(secdet, tmp_path, y, evs)
    assert "sum .debugContext.debugData.c >= 10" in text
    assert len(got) == 1 and got[0]["sum"] == 10


def test_temporal_is_unordered(secdet, tmp_path):
    y = corr("fail_and_ok", "temporal", ["okta_fail", "okta_ok"], "10m", group_by=["actor.alternateId"])
    evs = [okta(1, "a", "SUCCESS"), okta(2, "a", "FAILURE"), okta(3, "b", "FAILURE")]
    got, text = alerts_of(secdet, tmp_path, y, evs)
    assert "sequence unordered within 10m" in text
    assert [a["group"] for a in got] == [{".actor.alternateId": "a"}]


def test_temporal_ordered(secdet, tmp_path):
    y = corr("fail_then_ok", "temporal_ordered", ["okta_fail", "okta_ok"], "10m", group_by=["actor.alternateId"])
    evs = [okta(1, "a", "SUCCESS"), okta(2, "a", "FAILURE"), okta(3, "b", "FAILURE"), okta(4, "b", "SUCCESS")]
    got, _ = alerts_of(secdet, tmp_path, y, evs)
    assert [a["group"] for a in got] == [{".actor.alternateId": "b"}]


def test_aliases_are_per_step_keys(secdet, tmp_path):
    y = corr("okta_then_aws", "temporal_ordered", ["okta_ok", "aws_login"], "1h", group_by=["ip"],
             aliases={"ip": {"okta_ok": "client.ipAddress", "aws_login": "sourceIPAddress"}})
    got, text = alerts_of(secdet, tmp_path, y, [okta(1, "a", "SUCCESS", "198.51.100.7")],
                          [aws(5, "198.51.100.7"), aws(6, "203.0.113.9")])
    assert "okta_ok by .client.ipAddress" in text and "aws_login by .sourceIPAddress" in text
    assert len(got) == 1


def test_chained_correlation_is_a_count_step(secdet, tmp_path):
    y = corr("many_fails", "event_count", ["okta_fail"], "10m", group_by=["actor.alternateId"],
             condition="{gte: 2}") + textwrap.dedent("""\
        ---
        title: failures then success
        id: 30000000-0000-0000-0000-000000000001
        level: high
        correlation:
            type: temporal_ordered
            rules: [many_fails, okta_ok]
            group-by: [actor.alternateId]
            timespan: 1h
        """)
    evs = [okta(1, "a", "FAILURE"), okta(2, "a", "FAILURE"), okta(3, "a", "SUCCESS"),
           okta(4, "b", "FAILURE"), okta(5, "b", "SUCCESS")]
    got, text = alerts_of(secdet, tmp_path, y, evs)
    rules = {a["rule"] for a in got}
    assert "failures_then_success" in rules, (got, text)
    assert [a["group"] for a in got if a["rule"] == "failures_then_success"] == [{".actor.alternateId": "a"}]


def refused(secdet, tmp_path, *args, **kw):
    p, report = convert(secdet, tmp_path, {"c": corr("x", *args, **kw)})
    assert p.returncode == 1
    r = [r for r in report.values() if r["id"].startswith("20000000")][0]
    assert r["status"] == "refused" and r["id"] in p.stderr
    return r["reason"]


def test_value_avg_is_refused(secdet, tmp_path):
    why = refused(secdet, tmp_path, "value_avg", ["okta_fail"], "10m",
                  condition="{gte: 2, field: debugContext.debugData.c}")
    assert "value_avg" in why


def test_fewer_than_is_refused(secdet, tmp_path):
    why = refused(secdet, tmp_path, "event_count", ["okta_fail"], "10m", condition="{lt: 2}")
    assert "upward" in why


def test_k_of_n_temporal_is_refused(secdet, tmp_path):
    why = refused(secdet, tmp_path, "temporal", ["okta_fail", "okta_ok", "aws_login"], "10m", condition="{gte: 2}")
    assert "every step" in why


def test_correlation_finds_its_rules_in_another_file(secdet, tmp_path):
    y = corr("many_fails", "event_count", ["okta_fail"], "10m", condition="{gte: 2}")
    only_corr = without_base(y)
    got, text = alerts_of(secdet, tmp_path, only_corr, [okta(1, "a", "FAILURE"), okta(2, "a", "FAILURE")],
                          extra_docs={"base": BASE})
    assert "where okta_fail" in text and len(got) == 1


def test_a_missing_rule_refuses_only_its_file(secdet, tmp_path):
    lone = without_base(corr("x", "event_count", ["nowhere"], "10m", condition="{gte: 2}"))
    p, report = convert(secdet, tmp_path, {"lone": lone, "base": BASE})
    assert p.returncode == 1
    assert report["20000000-0000-0000-0000-000000000001"]["status"] == "refused"
    assert "nowhere" in report["20000000-0000-0000-0000-000000000001"]["reason"]
    assert report["10000000-0000-0000-0000-000000000001"]["status"] == "converted"
