"""test_routing.py — one configuration, three destinations, through `secdet
run` against real local HTTP receivers: critical alerts to the on-call
endpoint, everything to the SIEM, the low and medium ones to a digest; and
rule globs and sources choosing what a sink takes."""
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
