"""Threads: concurrent pushes to one engine and to one engine each; the GIL is released."""
import io
import os
import threading
import time

import secdet

from conftest import ROOT_RULE, jsonl, root_event

N_THREADS = 4
PER_THREAD = 2000
# Runs on every event (no dispatch index) and costs a regex test each.
SLOW_RULE = '''
rule slow {
    where .sourceIPAddress matches /^(10|192)\\.[0-9]+\\.x$/ or lower(.userIdentity.arn) contains "nobody"
}
'''


def worker_events(t):
    return [root_event(ip=f"10.{t}.{i // 250}.{i % 250}", kind="Root" if i % 2 == 0 else "IAMUser")
            for i in range(PER_THREAD)]


def run_threads(target):
    errors = []

    def wrap(t):
        try:
            target(t)
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=wrap, args=(t,)) for t in range(N_THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors


def test_threads_pushing_to_one_engine():
    results = [[] for _ in range(N_THREADS)]
    with secdet.Engine(ROOT_RULE) as e:
        def push(t):
            for ev in worker_events(t):
                results[t] += e.push(ev)
        run_threads(push)
        st = e.stats()
    assert st.events == N_THREADS * PER_THREAD and st.alerts == N_THREADS * PER_THREAD // 2
    for t in range(N_THREADS):
        assert len(results[t]) == PER_THREAD // 2
        assert all(a.message.startswith(f"Root login from 10.{t}.") for a in results[t])


def test_one_engine_per_thread():
    counts = [0] * N_THREADS

    def own(t):
        with secdet.Engine(ROOT_RULE) as e:
            data = io.BytesIO(jsonl(*worker_events(t)).encode())
            counts[t] = sum(1 for _ in e.scan(data, format="jsonl", source="cloudtrail"))
            assert e.stats().events == PER_THREAD
    run_threads(own)
    assert counts == [PER_THREAD // 2] * N_THREADS


def test_the_gil_is_released_while_the_engine_evaluates():
    # One big push evaluated in C; meanwhile another thread must keep running
    # Python code. Were the GIL held, it could not take a single step inside.
    data = jsonl(root_event(kind="IAMUser")).encode() * 200000
    with secdet.Engine(SLOW_RULE) as e:
        e.add_source("big", format="jsonl")
        ticks = []
        stop = threading.Event()

        def ticker():
            while not stop.is_set():
                ticks.append(time.perf_counter())
                time.sleep(0.0005)

        th = threading.Thread(target=ticker)
        th.start()
        time.sleep(0.01)
        start = time.perf_counter()
        e.feed(data, source="big")
        end = time.perf_counter()
        stop.set()
        th.join()
    inside = [t for t in ticks if start < t < end]
    assert end - start > 0.02, "the push was too quick to tell"
    assert len(inside) >= 5, (end - start, len(inside))
    print(f"push {end - start:.3f} s, ticks inside {len(inside)}")


def _os_threads():
    return len(os.listdir("/proc/self/task"))


def test_scan_can_be_abandoned_midway(tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text(jsonl(*[root_event() for _ in range(30000)]))
    with secdet.Engine(ROOT_RULE) as e:
        before = _os_threads()
        it = e.scan(path, source="cloudtrail")
        first = next(it)
        assert _os_threads() == before + 1  # the reader thread, held back by the full hand-off
        it.close()  # stops the reader thread
        assert first.rule == "root_login"
        assert e.push(root_event())  # the engine is usable
        # The reader's function has returned once close() does; its OS thread ends a moment later.
        deadline = time.monotonic() + 5
        while _os_threads() > before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _os_threads() == before
