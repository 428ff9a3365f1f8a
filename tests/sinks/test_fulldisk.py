"""test_fulldisk.py — a spool that cannot take more loses nothing (issue 15,
defect 1), and a killed process loses nothing that reached its spool.

  - the spool on a real 1 MiB tmpfs, the webhook receiver down for 15 s,
    10,000 alerts: the disk fills, alerts wait in the bounded memory queue,
    then the inputs stop reading (backpressure); once the receiver is up,
    every alert arrives, the full segment is reclaimed, spooling resumes by
    itself, and 1,000 more alerts are delivered; a log line says when the
    spool failed and when it recovered;
  - spool_max_bytes behaves like a full disk: memory, then backpressure;
  - the receiver down, alerts flowing into the spool, SIGKILL, a restart
    with the receiver up: every alert delivered.

Each test prints its figures: sent, received unique, duplicates, lost.
Mounting a tmpfs needs root (CI runs as root); elsewhere that test is
skipped with the reason.
"""
import os
import subprocess
import time

import pytest

from conftest import events, received_ns as received, retrying_webhook, sink_counters, stopped_line


def hook_sink(server, **kw):
    return retrying_webhook(server, max_in_flight=4, **kw)


def figures(what, sent, counts):
    lost = len(set(range(sent)) - set(counts))
    dups = sum(counts.values()) - len(counts)
    print(f"\n{what}: sent {sent}, received unique {len(counts)}, duplicates {dups}, lost {lost}")
    return lost, dups


def wait_line(runner, text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(runner.err_lines):
            if text in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no line with {text!r} within {timeout}s; stderr:\n{runner.stderr[-4000:]}")


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB tmpfs, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a 1 MiB tmpfs needs root (CI runs the tests as root)")
    d = tmp_path / "small-disk"
    d.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(d)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {p.stderr.strip()}")
    yield d
    subprocess.run(["umount", "-l", str(d)], capture_output=True)


def test_a_full_disk_makes_alerts_wait_then_the_inputs_wait_and_nothing_is_lost(run, hook, small_disk):
    n, more = 10_000, 1_000
    srv = hook(start_down=True)
    r = run([hook_sink(srv, spool_dir=str(small_disk / "hook"), queue_max=2000)], events=events(n),
            limits={"queue_messages": 500}, drain_timeout_ms=30000)
    r.ready()
    time.sleep(15)

    # The disk fills, the memory queue fills, then the inputs stop reading:
    # nothing is dropped, and the log and last_error say so.
    s = r.stats()
    c = sink_counters(s, "hook")
    print(f"\nafter 15 s down: accepted {c['accepted']}, dropped {c['dropped']}, spool_bytes {c['spool_bytes']}, "
          f"input_paused {s['input_paused']}, queued {s['queued']}, last_error {c['last_error']!r}")
    assert c["dropped"] == 0 and c["delivered"] == 0, c
    assert c["accepted"] < n and s["input_paused"] > 0, (c, s)
    assert "held in memory" in c["last_error"], c
    failed = wait_line(r, "spool: No space left on device", 1)
    assert "held in memory" in failed, failed
    wait_line(r, "memory queue full", 1)

    srv.up()
    srv.wait_for(lambda rs: len(srv.ok_ids) >= n, timeout=120, what=f"all {n} alerts")
    wait_line(r, "spool: writing again", 30)

    # Spooling resumed and full segments are reclaimed as they are
    # delivered: 1,000 more go through the spool, which never fails again
    # (the receiver keeps up, so a full disk finds a delivered segment to
    # replace).
    failures = sum(ln.startswith("secdet: sink hook: spool: No space left") for ln in r.err_lines)
    with open(r.dir / "events.jsonl", "a") as f:
        f.write(events(more, start=n))
    srv.wait_for(lambda rs: len(srv.ok_ids) >= n + more, timeout=60, what=f"{more} more alerts")
    lost, dups = figures("full disk (1 MiB tmpfs, receiver down 15 s)", n + more, received(srv))
    assert lost == 0
    assert r.stop(timeout=40) == 0
    c = sink_counters(stopped_line(r), "hook")
    assert c["accepted"] == n + more and c["delivered"] == n + more and c["pending"] == 0, c
    assert c["dropped"] == 0 and c["dead_lettered"] == 0, c
    assert sum(ln.startswith("secdet: sink hook: spool: No space left") for ln in r.err_lines) == failures
    segments = [p for p in (small_disk / "hook").iterdir() if p.suffix == ".seg"]
    assert len(segments) <= 1, segments  # the delivered ones are gone
    assert "not delivered" not in r.stderr


def test_spool_max_bytes_is_a_full_disk_memory_then_backpressure(run, hook, tmp_path):
    n = 3000
    srv = hook(start_down=True)
    spool = tmp_path / "spool"
    r = run([hook_sink(srv, spool_max_bytes=65536, queue_max=300)], events=events(n), spool_dir=str(spool),
            limits={"queue_messages": 100}, drain_timeout_ms=30000)
    r.ready()
    wait_line(r, "spool: No space left on device", 15)
    wait_line(r, "inputs wait", 15)
    c = sink_counters(r.stats(), "hook")
    assert c["dropped"] == 0 and c["accepted"] < n and c["spool_bytes"] <= 65536, c
    srv.up()
    srv.wait_for(lambda rs: len(srv.ok_ids) >= n, timeout=60, what=f"all {n} alerts")
    lost, _ = figures("spool_max_bytes 64 KiB, receiver down", n, received(srv))
    assert lost == 0
    wait_line(r, "spool: writing again", 15)
    assert r.stop() == 0
    c = sink_counters(stopped_line(r), "hook")
    assert c["dropped"] == 0 and c["pending"] == 0 and c["delivered"] == n, c


def test_sigkill_during_an_outage_then_a_restart_delivers_every_spooled_alert(run, hook, tmp_path):
    n = 3000
    srv = hook(start_down=True)
    spool = tmp_path / "spool"
    r1 = run([hook_sink(srv)], events=events(n), spool_dir=str(spool))
    r1.ready()
    deadline = time.monotonic() + 20
    while sink_counters(r1.stats(), "hook")["accepted"] < n and time.monotonic() < deadline:
        time.sleep(0.1)
    r1.kill9()
    assert srv.snapshot() == []

    srv.up()
    r2 = run([hook_sink(srv)], input="empty-file", spool_dir=str(spool))
    r2.ready()
    srv.wait_for(lambda rs: len(srv.ok_ids) >= n, timeout=60, what=f"all {n} alerts after the restart")
    time.sleep(0.3)
    lost, dups = figures("receiver down, SIGKILL, restart", n, received(srv))
    assert lost == 0 and dups == 0
    assert r2.stop() == 0
    c = sink_counters(stopped_line(r2), "hook")
    assert c["pending"] == 0 and c["dropped"] == 0 and c["spool_corrupt"] == 0, c
