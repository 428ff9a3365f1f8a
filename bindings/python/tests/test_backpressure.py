"""Backpressure: a sink whose spool cannot take more (spool_max_bytes) and
which is down makes push and scan wait — they never drop input — and they go
on by themselves once the sink delivers again (docs/sinks.md "Backpressure")."""
import json
import threading
import time

import secdet

from conftest import ROOT_RULE, root_event


def test_push_and_scan_wait_for_a_full_sink_then_lose_nothing(tmp_path):
    down = threading.Event()
    down.set()
    got = []

    def sink(alert):
        if down.is_set():
            return secdet.SinkResult.RETRY
        got.append(alert.id)
        return None

    evs = [root_event(ip=f"203.0.113.{i % 250}", minute=i % 60) for i in range(300)]
    data = tmp_path / "events.jsonl"
    data.write_text("".join(json.dumps(ev) + "\n" for ev in evs[150:]))
    with secdet.Engine(ROOT_RULE) as e:
        e.add_sink(sink, name="down", spool_dir=str(tmp_path / "spool"), spool_max_bytes=4096, queue_max=10,
                   backoff_ms=1, backoff_max_ms=5, max_attempts=0)
        pushed = []
        done = threading.Event()

        def work():
            for ev in evs[:150]:
                pushed.extend(e.push(ev))
            pushed.extend(e.scan(str(data), format="jsonl", source="cloudtrail"))
            done.set()

        t = threading.Thread(target=work)
        t.start()
        time.sleep(0.5)
        assert not done.is_set()  # waiting for the sink, not dropping
        (st,) = e.stats().sinks
        assert st.dropped == 0 and "held in memory" in st.last_error and st.accepted < 300
        down.clear()
        t.join(30)
        assert done.is_set()
        assert e.drain(timeout=30)
        (st,) = e.stats().sinks
        assert st.accepted == 300 and st.delivered == 300 and st.dropped == 0
    assert len(pushed) == 300 and got == [a.id for a in pushed]
