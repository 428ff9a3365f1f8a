"""Every input format, push of str/bytes/dict, malformed input."""
import base64
import gzip
import io
import json

import pytest
import secdet

from conftest import gz, jsonl, root_event

ANY_SOURCE = """
rule root_login {
    meta { title = "Root account used" severity = high tags = ["t1", "t2"] }
    where .userIdentity.type == "Root" and .eventName == "ConsoleLogin"
    output "Root login from {.sourceIPAddress}"
}
rule eb_account {
    meta { severity = low }
    where ._eventbridge.account == "111122223333" and .eventName == "ConsoleLogin"
}
rule cw_group {
    meta { severity = low }
    where ._cloudwatch.logGroup == "trail" and .eventName == "ConsoleLogin"
}
"""

EVENTS = [root_event(ip="203.0.113.1"), root_event(kind="IAMUser"), root_event(ip="203.0.113.2", minute=12)]


def cloudwatch_payload(events):
    return {"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "trail",
            "logStream": "111122223333_CloudTrail_us-east-1", "subscriptionFilters": ["all"],
            "logEvents": [{"id": str(i), "timestamp": 1688991075000 + i, "message": json.dumps(e)}
                          for i, e in enumerate(events)]}


def eventbridge(event):
    return {"version": "0", "id": "e-1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.signin",
            "account": "111122223333", "time": event["eventTime"], "region": "us-east-1", "resources": [],
            "detail": event}


@pytest.fixture
def engine():
    with secdet.Engine(ANY_SOURCE) as e:
        yield e


def by_rule(alerts):
    return sorted((a.rule, a.source, a.message) for a in alerts)


def test_push_dict_str_and_bytes_give_the_same_alerts():
    results = []
    for convert in (lambda e: e, json.dumps, lambda e: json.dumps(e).encode()):
        with secdet.Engine(ANY_SOURCE) as e:
            alerts = []
            for ev in EVENTS:
                alerts += e.push(convert(ev), source="cloudtrail")
            results.append([a.to_dict() for a in alerts])
    assert results[0] == results[1] == results[2]
    assert [a["message"] for a in results[0]] == ["Root login from 203.0.113.1", "Root login from 203.0.113.2"]


def test_alert_fields(engine):
    (alert,) = engine.push(EVENTS[0])
    assert alert.rule == "root_login" and alert.title == "Root account used"
    assert alert.severity == secdet.Severity.HIGH and str(alert.severity) == "high"
    assert alert.source == "cloudtrail" and alert.tags == ("t1", "t2")
    assert alert.time.isoformat() == "2023-07-10T12:11:15+00:00"
    assert len(alert.id) == 32 and alert.count == 1 and alert.group == {}
    assert alert.events[0]["sourceIPAddress"] == "203.0.113.1"
    d = alert.to_dict()
    assert d["rule"] == "root_login" and d["id"] == alert.id and json.loads(alert.json) == d
    assert secdet.Alert.from_json(alert.json) == alert
    with pytest.raises(Exception):
        alert.rule = "x"  # frozen


def test_jsonl(engine):
    alerts = engine.scan(io.BytesIO(jsonl(*EVENTS).encode()), format="jsonl")
    assert by_rule(alerts) == [("root_login", "jsonl", "Root login from 203.0.113.1"),
                               ("root_login", "jsonl", "Root login from 203.0.113.2")]


def test_jsonl_split_across_feeds(engine):
    text = jsonl(*EVENTS).encode()
    alerts = []
    for i in range(0, len(text), 7):
        alerts += engine.feed(text[i:i + 7], source="jsonl")
    alerts += engine.end("jsonl")
    assert len(alerts) == 2


@pytest.mark.parametrize("compress", [False, True])
def test_cloudtrail_plain_and_gzip(engine, tmp_path, compress):
    doc = json.dumps({"Records": EVENTS})
    path = tmp_path / ("trail.json.gz" if compress else "trail.json")
    path.write_bytes(gz(doc) if compress else doc.encode())
    alerts = list(engine.scan(path))  # format auto: detected as cloudtrail after gunzip
    assert by_rule(alerts) == [("root_login", "cloudtrail", "Root login from 203.0.113.1"),
                               ("root_login", "cloudtrail", "Root login from 203.0.113.2")]


def test_concatenated_gzip_members_and_text_files(engine, tmp_path):
    path = tmp_path / "two.jsonl.gz"
    path.write_bytes(gz(jsonl(EVENTS[0])) + gz(jsonl(EVENTS[2])))
    assert len(list(engine.scan(str(path)))) == 2
    with open(tmp_path / "t.jsonl", "w") as f:
        f.write(jsonl(*EVENTS))
    with open(tmp_path / "t.jsonl") as f:
        assert len(list(engine.scan(f))) == 2


def test_truncated_gzip_is_an_error(engine, tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gz(jsonl(*EVENTS * 50))[:-20])
    with pytest.raises(OSError, match="truncated"):
        list(engine.scan(path))


def test_big_gzip_stream_in_many_chunks(engine, tmp_path):
    events = [root_event(ip=f"10.0.{i // 250}.{i % 250}") for i in range(20000)]
    path = tmp_path / "big.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl(*events).encode(), compresslevel=9))
    alerts = list(engine.scan(path))
    assert len(alerts) == 20000 and engine.stats().events == 20000


@pytest.mark.parametrize("wrapped", [False, True])
def test_cloudwatch_logs(engine, wrapped):
    payload = cloudwatch_payload(EVENTS)
    if wrapped:
        payload = {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()}}
    engine.add_source("cw", format="cloudwatch-logs")
    alerts = engine.feed(json.dumps(payload), source="cw") + engine.end("cw")
    assert sorted(a.rule for a in alerts) == ["cw_group"] * 3 + ["root_login"] * 2
    root = [a for a in alerts if a.rule == "root_login"][0]
    assert root.source == "cw" and root.events[0]["_cloudwatch"]["logGroup"] == "trail"


def test_eventbridge(engine):
    engine.add_source("eb", format="eventbridge")
    alerts = []
    for ev in EVENTS:
        alerts += engine.feed(json.dumps(eventbridge(ev)) + "\n", source="eb")
    alerts += engine.end("eb")
    assert sorted(a.rule for a in alerts) == ["eb_account", "eb_account", "eb_account", "root_login", "root_login"]
    assert all(a.source == "eb" for a in alerts)


def test_scan_with_a_format_and_a_source(engine, tmp_path):
    path = tmp_path / "eb.jsonl"
    path.write_text(jsonl(*(eventbridge(e) for e in EVENTS)))
    alerts = list(engine.scan(path, format="eventbridge", source="bus"))
    assert {a.source for a in alerts} == {"bus"} and len(alerts) == 5


def test_malformed_lines_are_reported_and_the_rest_scanned(tmp_path):
    seen = []
    with secdet.Engine(ANY_SOURCE, on_error=seen.append) as e:
        text = jsonl(EVENTS[0]) + "{not json\n" + jsonl(EVENTS[2])
        alerts = list(e.scan(io.BytesIO(text.encode()), format="jsonl"))
        assert len(alerts) == 2
        assert e.stats().malformed == 1
    assert len(seen) == 1 and seen[0].where == 2 and seen[0].source == "jsonl"


def test_push_of_a_malformed_event_raises(engine):
    with pytest.raises(secdet.DecodeError):
        engine.push(b"{not json")
    with pytest.raises(secdet.DecodeError):
        engine.push("[1, 2]")
    with pytest.raises(TypeError):
        engine.push(42)
    assert engine.push(EVENTS[0])  # the engine goes on


def test_feed_to_an_unknown_source_raises(engine):
    with pytest.raises(secdet.Error) as info:
        engine.feed(b"{}\n", source="never-added")
    assert info.value.status == 5
