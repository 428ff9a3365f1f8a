"""Life cycle: context manager, close, finalisation, versions, memory."""
import gc
import os
import weakref

import pytest
import secdet

from conftest import ROOT_RULE, root_event


def test_versions():
    assert secdet.library_version() == "0.1.0"
    assert secdet.__version__ == "0.1.0"


def test_context_manager_closes_and_close_is_idempotent():
    with secdet.Engine(ROOT_RULE) as e:
        assert not e.closed
    assert e.closed
    e.close()
    with pytest.raises(secdet.ClosedError):
        e.push(root_event())
    with pytest.raises(ValueError):  # ClosedError is a ValueError too, like a closed file
        e.stats()
    assert "closed" in repr(e)


def test_engines_are_freed_by_the_garbage_collector():
    e = secdet.Engine(ROOT_RULE)
    e.add_sink(lambda a: None)
    ref = weakref.ref(e)
    fin = e._finalizer
    del e
    gc.collect()
    assert ref() is None and not fin.alive


def test_options_are_checked():
    with pytest.raises(ValueError):
        secdet.Engine(lateness_ms=-1)
    with pytest.raises(ValueError):
        secdet.Engine(max_json_depth=2**40)
    with secdet.Engine(ROOT_RULE, max_event_bytes=100) as e:
        with pytest.raises(secdet.DecodeError):
            e.push(root_event())


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_100000_pushes_keep_memory_flat():
    ev_alert = root_event()
    ev_quiet = root_event(kind="IAMUser")
    as_bytes = __import__("json").dumps(ev_quiet).encode()
    with secdet.Engine(ROOT_RULE) as e:
        def burst(n):
            for i in range(n):
                if i % 3 == 0:
                    e.push(ev_alert)
                elif i % 3 == 1:
                    e.push(as_bytes)
                else:
                    e.push(ev_quiet)
        burst(20000)  # warm up: caches, arenas
        gc.collect()
        before = rss_kib()
        burst(100000)
        gc.collect()
        after = rss_kib()
        assert e.stats().events == 120000
    assert after - before < 2048, f"RSS grew by {after - before} KiB over 100,000 pushes"


def test_engines_created_and_closed_in_a_loop_do_not_leak():
    def cycle(n):
        for _ in range(n):
            with secdet.Engine(ROOT_RULE) as e:
                e.push(root_event())
    cycle(200)
    gc.collect()
    before = rss_kib()
    cycle(2000)
    gc.collect()
    assert rss_kib() - before < 4096
