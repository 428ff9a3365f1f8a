"""`secdet run`'s log types (docs/log-types.md, docs/config.md): a top-level
"log_types" defines a log type (or overrides a built-in's fields), a source's
"log_type" names one; events then get its time and common fields; a wrong
description or an unknown name fails `--check` with its place.
"""
import json
import os
import subprocess

ROOT = os.environ.get("SECDET_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))

IDP = {"name": "idp", "detect": [{"exists": [".evt", ".ts"]}],
       "fields": {"time": ".ts", "user": ".who", "action": ".evt"}, "known_fields": [".evt", ".ts", ".who"]}


def config(tmp_path, rules, log_types, source):
    (tmp_path / "r.secdet").write_text(rules)
    c = {"rules": ["r.secdet"], "log_types": log_types,
         "sources": [dict(source, input=[{"type": "stdin"}])], "sinks": [{"type": "stdout"}]}
    path = tmp_path / "secdet.json"
    path.write_text(json.dumps(c))
    return path


def run(path, stdin="", *extra):
    return subprocess.run([BIN, "run", "--config", str(path), *extra], input=stdin, capture_output=True,
                          text=True, timeout=30)


def alerts(stdout):
    return [a for a in map(json.loads, stdout.splitlines()) if "rule" in a]


def test_a_defined_log_type_gives_its_time_and_fields(tmp_path):
    path = config(tmp_path, 'rule grant { on idp where @action == "grant" and @user == "eve" }\n', [IDP],
                  {"name": "logins", "log_type": "idp"})
    p = run(path, json.dumps({"evt": "grant", "ts": 1714521600000, "who": "eve"}) + "\n")
    assert p.returncode == 0, p.stderr
    (a,) = alerts(p.stdout)
    assert a["time"] == "2024-05-01T00:00:00Z"  # epoch ms, the event's own
    assert a["fields"] == {"type": "idp", "time": "2024-05-01T00:00:00Z", "user": "eve", "action": "grant"}


def test_an_override_of_a_built_in_changes_only_what_it_gives(tmp_path):
    over = {"name": "okta", "fields": {"user": ".actor.displayName"}}
    path = config(tmp_path, 'rule u { on okta where @user == "Eve E" and @ip == "192.0.2.1" }\n', [over],
                  {"name": "okta"})
    ev = {"eventType": "user.session.start", "published": "2024-05-01T00:00:00.000Z",
          "actor": {"alternateId": "eve@example.com", "displayName": "Eve E"}, "client": {"ipAddress": "192.0.2.1"}}
    p = run(path, json.dumps(ev) + "\n")
    assert p.returncode == 0, p.stderr
    assert [a["fields"]["user"] for a in alerts(p.stdout)] == ["Eve E"]


def test_check_names_the_place_of_a_wrong_log_type(tmp_path):
    path = config(tmp_path, "rule x { where .a == 1 }\n", [IDP], {"name": "logins", "log_type": "ipd"})
    p = run(path, "", "--check")
    assert p.returncode == 2
    assert 'sources[0].log_type: unknown log type "ipd"' in p.stderr, p.stderr
    bad = dict(IDP, fields={"user": "who x"})
    path = config(tmp_path, "rule x { where .a == 1 }\n", [bad], {"name": "logins", "log_type": "idp"})
    p = run(path, "", "--check")
    assert p.returncode == 2
    assert 'log_types[0]: fields.user: "who x" is not a field path' in p.stderr, p.stderr
