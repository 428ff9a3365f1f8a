"""test_lean.py — what makes the binding cheap to start and to iterate keeps its promises.

`import secdet` leaves the heavy standard modules unloaded (docs/performance.md,
"Python start-up"); an Alert made by a scan decodes its record on first use
and is still, to its users, the frozen dataclass docs/python.md describes.
"""
import copy
import dataclasses
import json
import pickle
import subprocess
import sys

import pytest

import secdet
from conftest import ROOT_RULE, jsonl, root_event

HEAVY = ("dataclasses", "typing", "enum", "threading", "queue", "json", "logging", "datetime",
         "collections", "inspect", "re", "secdet._types", "secdet._enums")


def test_import_secdet_loads_no_heavy_module():
    # Those the interpreter had loaded before (site, sitecustomize) do not count.
    code = ("import sys\nbefore = set(sys.modules)\nimport secdet\n"
            "print(' '.join(m for m in %r if m in sys.modules and m not in before))" % (HEAVY,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == []


def test_lazy_names_of_the_package():
    assert secdet.Severity.HIGH > secdet.Severity.MEDIUM
    from secdet import RuleInfo, SinkResult, Stats  # noqa: F401 - module __getattr__ serves from-imports
    assert SinkResult.RETRY == 1
    assert {"Stats", "Severity", "Alert", "Engine"} <= set(dir(secdet))
    with pytest.raises(AttributeError):
        secdet.NoSuchThing  # noqa: B018


def scanned_alerts(tmp_path, n=3):
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl(*[root_event(minute=10 + i) for i in range(n)]))
    with secdet.Engine(ROOT_RULE) as e:
        return list(e.scan(path, source="cloudtrail"))


def test_a_scanned_alert_equals_its_json_read_back(tmp_path):
    alerts = scanned_alerts(tmp_path)
    assert len(alerts) == 3
    for a in alerts:
        b = secdet.Alert.from_json(a.json)  # built eagerly from the JSON
        assert (a.rule, a.title, a.severity, a.message, a.id, a.source, a.time_ns, a.tags) == \
            (b.rule, b.title, b.severity, b.message, b.id, b.source, b.time_ns, b.tags)
        assert a == b and hash(a) == hash(b) and repr(a) == repr(b)
        assert a.severity is secdet.Severity.HIGH and str(a.severity) == "high"
        assert a.tags == ("attack.initial_access", "cis-aws-4.3")
        assert a.to_dict()["rule"] == "root_login" and a.count == 1
    assert len({a.id for a in alerts}) == 3


def test_each_field_decodes_on_first_read(tmp_path):
    for name in ("rule", "title", "severity", "message", "id", "source", "time_ns", "tags", "json"):
        a = scanned_alerts(tmp_path, 1)[0]
        assert getattr(a, name) == getattr(secdet.Alert.from_json(a.json), name)
    a = scanned_alerts(tmp_path, 1)[0]
    assert a.time.year == 2023 and json.loads(a.json)["events"]  # properties parse the JSON
    with pytest.raises(AttributeError):
        a.no_such_field  # noqa: B018


def test_alert_is_still_a_frozen_dataclass(tmp_path):
    a = scanned_alerts(tmp_path, 1)[0]
    assert dataclasses.is_dataclass(a) and dataclasses.is_dataclass(secdet.Alert)
    names = [f.name for f in dataclasses.fields(a)]
    assert names == ["rule", "title", "severity", "message", "id", "source", "time_ns", "tags", "json"]
    assert [f.repr for f in dataclasses.fields(secdet.Alert)][-1] is False  # json is left out of repr
    assert dataclasses.asdict(a)["message"] == a.message
    b = dataclasses.replace(a, message="changed")
    assert b.message == "changed" and b.rule == a.rule and b != a
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.rule = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del a.message
    assert "json=" not in repr(a) and repr(a).startswith("Alert(rule='root_login', title=")
    assert pickle.loads(pickle.dumps(a)) == a
    assert copy.copy(a) == a and copy.deepcopy(a) == a
    assert secdet.Alert.__match_args__ == tuple(names)


def test_alert_constructor_as_the_dataclass_had_it():
    a = secdet.Alert("r", "t", secdet.Severity.LOW, "m", "i", "s", 5, ("x",), "{}")
    b = secdet.Alert(rule="r", title="t", severity=secdet.Severity.LOW, message="m", id="i", source="s",
                     time_ns=5, tags=("x",), json="{}")
    assert a == b and hash(a) == hash(b)
    assert a != secdet.Alert("r", "t", secdet.Severity.LOW, "m", "i", "s", 6, ("x",), "{}")
    with pytest.raises(TypeError):
        secdet.Alert("r", "t")


def test_an_engine_left_open_is_freed_at_exit():
    code = ("import secdet, secdet._engine as m\n"
            "free = m._free_engine\n"
            "def traced(*a):\n"
            "    print('freed', flush=True)\n"
            "    free(*a)\n"
            "m._free_engine = traced\n"
            "e = secdet.Engine(%r)\n"
            "keep = [secdet.Engine(), secdet.Engine()]\n"
            "print('end')\n" % ROOT_RULE)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["end", "freed", "freed", "freed"]
