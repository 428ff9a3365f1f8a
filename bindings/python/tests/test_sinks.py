"""Sinks: Python callables on the delivery thread, a raising callable, built-in sinks by keyword."""
import json
import logging
import threading

import pytest
import secdet

from conftest import ROOT_RULE, root_event


def events(n):
    return [root_event(ip=f"203.0.113.{i % 250}", minute=i % 60) for i in range(n)]


def test_a_callable_gets_every_alert_on_another_thread():
    got, threads = [], set()
    lock = threading.Lock()

    def sink(alert):
        with lock:
            got.append(alert)
            threads.add(threading.get_ident())

    with secdet.Engine(ROOT_RULE) as e:
        name = e.add_sink(sink, name="mine")
        assert name == "mine"
        pushed = []
        for ev in events(50):
            pushed += e.push(ev)
        assert e.drain(timeout=30)
        (st,) = e.stats().sinks
        assert st.name == "mine" and st.delivered == 50 and st.accepted == 50 and st.pending == 0
    assert [a.id for a in got] == [a.id for a in pushed]
    assert isinstance(got[0], secdet.Alert) and got[0].rule == "root_login"
    assert threads and threading.get_ident() not in threads


def test_min_severity_filters():
    got = []
    with secdet.Engine(ROOT_RULE) as e:
        e.add_sink(got.append, min_severity="critical")
        e.push(events(1)[0])
        e.drain(timeout=30)
        assert e.stats().sinks[0].filtered == 1
    assert got == []


def test_a_raising_callable_is_counted_and_the_engine_goes_on(caplog):
    calls = []

    def bad(alert):
        calls.append(alert.id)
        raise RuntimeError("sink is broken")

    good = []
    with caplog.at_level(logging.ERROR, logger="secdet.sink"):
        with secdet.Engine(ROOT_RULE) as e:
            e.add_sink(bad, name="bad")
            e.add_sink(good.append, name="good")
            for ev in events(10):
                e.push(ev)
            assert e.drain(timeout=30)
            assert e.callback_errors == 10 and len(calls) == 10 and len(good) == 10
            st = {s.name: s for s in e.stats().sinks}
            assert st["bad"].dead_lettered == 10 and st["good"].delivered == 10
            assert e.stats().callback_errors == 10
            assert len(e.push(events(1)[0])) == 1  # the engine is fine
    assert len(calls) == 11 and len(good) == 11  # close() drained the last one
    assert any("sink is broken" in r.getMessage() or (r.exc_info and "sink is broken" in str(r.exc_info[1]))
               for r in caplog.records)


def test_a_callable_can_ask_for_a_retry():
    attempts = []

    def flaky(alert):
        attempts.append(alert.id)
        return secdet.SinkResult.RETRY if len(attempts) < 3 else None

    with secdet.Engine(ROOT_RULE) as e:
        e.add_sink(flaky, backoff_ms=1, backoff_max_ms=5)
        e.push(events(1)[0])
        assert e.drain(timeout=30)
        st = e.stats().sinks[0]
    assert len(attempts) == 3 and len(set(attempts)) == 1
    assert st.delivered == 1 and st.retries == 2


def test_file_sink_from_keywords(tmp_path):
    out = tmp_path / "alerts.jsonl"
    with secdet.Engine(ROOT_RULE) as e:
        name = e.add_sink("file", path=out, name="to-file", min_severity=secdet.Severity.HIGH)
        assert name == "to-file"
        pushed = []
        for ev in events(5):
            pushed += e.push(ev)
        assert e.drain(timeout=30)
    lines = out.read_text().splitlines()
    assert [json.loads(l)["id"] for l in lines] == [a.id for a in pushed]
    assert secdet.Alert.from_json(lines[0]) == pushed[0]


def test_sink_from_a_dict(tmp_path):
    out = tmp_path / "a.jsonl"
    with secdet.Engine(ROOT_RULE) as e:
        e.add_sink({"type": "file", "path": str(out)})
        e.push(events(1)[0])
    assert len(out.read_text().splitlines()) == 1  # close() drained


def test_bad_sink_keys_raise():
    with secdet.Engine(ROOT_RULE) as e:
        with pytest.raises(secdet.SinkError) as info:
            e.add_sink("file", path="/tmp/x", colour="blue")
        assert "colour" in str(info.value)
        with pytest.raises(secdet.SinkError):
            e.add_sink("pigeon")
        with pytest.raises(TypeError):
            e.add_sink(print, colour="blue")
        e.add_sink(print, name="dup")
        with pytest.raises(secdet.SinkError):
            e.add_sink(print, name="dup")
