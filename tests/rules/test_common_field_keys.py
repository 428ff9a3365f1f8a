"""A common field (@ip, @user) as a group key, a throttle key and inside an
element predicate: the packs count Okta failures `by @ip`. Regression test:
after the merge of log types and Part 2, the compiler took a common field for
an element path (it has no member segments) and refused it everywhere with
"'@ip' reads the element of an any/all"."""

import json

import secdet_cli

OKTA = {"eventType": "user.session.start", "published": "2024-01-01T00:00:00Z",
        "actor": {"alternateId": "a@example.com"}, "client": {"ipAddress": "198.51.100.7"},
        "outcome": {"result": "FAILURE"}, "target": [{"type": "User"}]}


def scan(tmp_path, rules, events):
    (tmp_path / "r.secdet").write_text(rules)
    data = tmp_path / "e.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in events))
    r = secdet_cli.run(["scan", "--rules", tmp_path / "r.secdet", "okta:%s" % data])
    assert r.returncode == 0, r.stderr
    return secdet_cli.parse_alerts(r.stdout)


def at(second, ip):
    e = json.loads(json.dumps(OKTA))
    e["published"] = "2024-01-01T00:00:%02dZ" % second
    e["client"]["ipAddress"] = ip
    return e


def test_count_by_a_common_field(secdet, tmp_path):
    alerts = scan(tmp_path, 'rule c { on okta where .outcome.result == "FAILURE" count >= 2 within 1m by @ip }',
                  [at(1, "198.51.100.7"), at(2, "203.0.113.9"), at(3, "198.51.100.7")])
    assert [a["rule"] for a in alerts] == ["c"]
    assert alerts[0]["fields"]["ip"] == "198.51.100.7"


def test_throttle_by_a_common_field(secdet, tmp_path):
    alerts = scan(tmp_path, 'rule t { on okta where exists .eventType throttle 1h by @ip }',
                  [at(1, "198.51.100.7"), at(2, "198.51.100.7"), at(3, "203.0.113.9")])
    assert len(alerts) == 2


def test_common_field_inside_an_element_predicate_reads_the_event(secdet, tmp_path):
    rules = 'rule e { on okta where any .target[*] (.type == "User" and @ip == "198.51.100.7") }'
    assert len(scan(tmp_path, rules, [at(1, "198.51.100.7")])) == 1
    assert scan(tmp_path, rules, [at(1, "203.0.113.9")]) == []
