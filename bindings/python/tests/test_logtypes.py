"""Log types from Python (docs/log-types.md): define one (and override a
built-in's member), a source's log_type, "auto" routing, inspect() with the
event's own time, log_type() as the dict define_log_type takes, the
unreadable-time counters, and the errors; an alert's log_type, and a sink
taking only some log types' alerts."""
import datetime as dt
import json

import pytest

import secdet

IDP = {"name": "idp", "detect": [{"exists": [".evt", ".ts"]}],
       "fields": {"time": ".ts", "user": ".who", "action": ".evt"}}


def test_a_defined_log_type_routes_and_times_events():
    with secdet.Engine() as eng:
        eng.define_log_type(IDP)
        assert "idp" in eng.log_types() and eng.log_types()[0] == "cloudtrail"
        eng.add_source("any", log_type="auto")
        info = eng.inspect({"evt": "grant", "ts": 1714521600000, "who": "eve"}, source="any")
        assert (info.source, info.log_type) == ("idp", "idp")
        assert info.time == dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
        eng.load_rules('rule g { on idp where @action == "grant" and @user == "eve" }')
        alerts = eng.push(json.dumps({"evt": "grant", "ts": 1714521600000, "who": "eve"}) + "\n", source="any")
        assert [(a.rule, a.source) for a in alerts] == [("g", "idp")]
        assert alerts[0].fields == {"type": "idp", "time": "2024-05-01T00:00:00Z", "user": "eve", "action": "grant"}


def test_log_type_gives_a_built_in_with_its_override():
    with secdet.Engine() as eng:
        assert eng.log_type("okta")["fields"]["time"] == ".published"
        eng.define_log_type(json.dumps({"name": "okta", "fields": {"user": ".actor.displayName"}}))
        okta = eng.log_type("okta")
        assert okta["fields"]["user"] == ".actor.displayName" and okta["fields"]["time"] == ".published"
        eng.define_log_type(okta)  # what it gives defines it again
        with pytest.raises(secdet.Error, match="unknown log type 'nope'"):
            eng.log_type("nope")


def test_bad_descriptions_and_names_are_errors_and_unreadable_times_counted():
    with secdet.Engine() as eng:
        with pytest.raises(secdet.Error, match=r'fields\.ip: "x y" is not a field path'):
            eng.define_log_type({"name": "idp", "fields": {"ip": "x y"}})
        with pytest.raises(secdet.Error, match="log type 'octa'"):
            eng.add_source("s", log_type="octa")
        eng.add_source("okta")
        eng.load_rules('rule o { on okta where @action == "x" }')  # the time is read for its alert
        eng.push('{"eventType": "x", "actor": {}, "published": "yesterday"}\n', source="okta")
        assert eng.source_stats("okta") == {"time_unreadable": 1}
        assert eng.stats().time_unreadable == 1
        info = eng.inspect('{"eventType": "x", "actor": {}, "published": "yesterday"}', source="okta")
        assert info.log_type == "okta" and info.time is None


def test_an_alert_says_its_log_type_and_a_sink_routes_by_it(tmp_path):
    out = tmp_path / "okta.jsonl"
    with secdet.Engine('rule k { where .k == 1 }') as eng:
        eng.add_source("idp", log_type="okta")
        eng.add_source("app")
        eng.add_sink("file", path=out, log_types=["ok*"])
        okta = eng.push(json.dumps({"eventType": "x", "actor": {}, "published": "2024-05-01T00:00:00Z", "k": 1}) + "\n",
                        source="idp")
        plain = eng.push('{"k": 1}\n', source="app")
        assert [(a.source, a.log_type) for a in okta + plain] == [("idp", "okta"), ("app", "jsonl")]
        assert eng.drain(timeout=30)
    [line] = out.read_text().splitlines()
    assert secdet.Alert.from_json(line).log_type == "okta" and json.loads(line)["id"] == okta[0].id
