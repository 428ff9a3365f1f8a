"""test_routing.py — one configuration, three destinations, through `secdet
run` against real local HTTP receivers: critical alerts to the on-call
endpoint, everything to the SIEM, the low and medium ones to a digest; and
rule globs, sources and log types choosing what a sink takes."""
import json
import time

from conftest import sink_counters, stopped_line

RULES = """
rule root_used { meta { severity = critical } where .k == "root" output "root {.n}" }
rule policy_changed { meta { severity = medium } where .k == "policy" output "policy {.n}" }
rule login_failed { meta { severity = low } where .k == "fail" output "fail {.n}" }
"""


def lines(*kinds):
    return "".join(json.dumps({"k": k, "n": i}) + "\n" for i, k in enumerate(kinds))


def test_critical_to_on_call_everything_to_the_siem_low_ones_to_a_digest(run, hook, tmp_path):
    rules = tmp_path / "routing.secdet"
    rules.write_text(RULES)
    on_call, siem, digest = hook(), hook(), hook()
    sinks = [
        {"type": "webhook", "name": "on-call", "url": on_call.url, "min_severity": "critical"},
        {"type": "webhook", "name": "siem", "url": siem.url},
        {"type": "digest", "name": "digest", "url": digest.url, "max_severity": "medium", "period_ms": 800},
    ]
    kinds = ["root", "fail", "policy", "fail", "root", "fail", "policy"]
    r = run(sinks, events=lines(*kinds), rules=rules, spool_dir=str(tmp_path / "spool"))
    r.ready()
    siem.wait_requests(7, timeout=15)
    digest.wait_requests(1, timeout=15)
    time.sleep(0.3)
    assert r.stop() == 0
    assert sorted(q.json()["message"] for q in on_call.snapshot()) == ["root 0", "root 4"]
    assert sorted(q.json()["message"] for q in siem.snapshot()) == sorted(f"{k} {i}" for i, k in enumerate(kinds))
    [d] = digest.snapshot()
    body = d.json()
    assert body["alerts"] == 5
    assert [(x["rule"], x["count"], x["severity"]) for x in body["by_rule"]] == [("login_failed", 3, "low"),
                                                                                ("policy_changed", 2, "medium")]
    stopped = stopped_line(r)
    assert sink_counters(stopped, "on-call")["filtered"] == 5
    assert sink_counters(stopped, "digest")["filtered"] == 2
    assert sink_counters(stopped, "siem")["filtered"] == 0


def test_rule_globs_and_sources_choose_too(run, hook, tmp_path):
    rules = tmp_path / "routing.secdet"
    rules.write_text(RULES)
    not_logins, from_app, from_edr = hook(), hook(), hook()
    sinks = [
        {"type": "webhook", "name": "not-logins", "url": not_logins.url, "rules": ["!login_*"]},
        {"type": "webhook", "name": "app", "url": from_app.url, "sources": ["ap?"], "rules": ["root_*", "policy_*"]},
        {"type": "webhook", "name": "edr", "url": from_edr.url, "sources": ["edr"]},
    ]
    r = run(sinks, events=lines("root", "fail", "policy"), rules=rules)
    r.ready()
    not_logins.wait_requests(2, timeout=15)
    from_app.wait_requests(2, timeout=15)
    assert r.stop() == 0
    assert sorted(q.json()["rule"] for q in not_logins.snapshot()) == ["policy_changed", "root_used"]
    assert sorted(q.json()["rule"] for q in from_app.snapshot()) == ["policy_changed", "root_used"]
    assert from_edr.snapshot() == []
    assert sink_counters(stopped_line(r), "edr")["filtered"] == 3


def test_log_types_choose_by_what_the_firing_event_was(run, hook, tmp_path):
    rules = tmp_path / "routing.secdet"
    rules.write_text(RULES)
    identity, cloud, rest = hook(), hook(), hook()
    sinks = [
        {"type": "webhook", "name": "identity", "url": identity.url, "log_types": ["okta"]},
        {"type": "webhook", "name": "cloud", "url": cloud.url, "log_types": ["cloud*", "gcp-*"]},
        {"type": "webhook", "name": "rest", "url": rest.url, "log_types": ["jsonl"]},
    ]
    okta = {"eventType": "user.session.start", "published": "2026-01-01T00:00:00Z", "actor": {"alternateId": "a"}}
    trail = {"eventVersion": "1.08", "eventTime": "2026-01-01T00:00:01Z"}
    events = [dict(okta, k="root", n=0), dict(trail, k="policy", n=1), {"k": "fail", "n": 2},
              dict(okta, k="fail", n=3)]
    # One source of log type auto: each event's log type is found by its shape.
    source = {"name": "any", "format": "jsonl", "log_type": "auto", "input": {"type": "stdin"}}
    r = run(sinks, events="".join(json.dumps(e) + "\n" for e in events), input="stdin", rules=rules,
            sources=[source], drain_timeout_ms=15000)
    assert r.wait_exit(20) == 0
    assert sorted(q.json()["message"] for q in identity.snapshot()) == ["fail 3", "root 0"]
    assert [q.json()["message"] for q in cloud.snapshot()] == ["policy 1"]
    assert [q.json()["message"] for q in rest.snapshot()] == ["fail 2"]
    assert all(q.json()["fields"]["type"] == "okta" for q in identity.snapshot())
    stopped = stopped_line(r)
    assert sink_counters(stopped, "identity")["filtered"] == 2
    assert sink_counters(stopped, "cloud")["filtered"] == 3
