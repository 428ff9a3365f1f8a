"""test_drain_exit.py — how `secdet run` ends when a sink with a spool is
slow or down (issue 15, defects 2 and 6).

  - stdin input, a webhook failing one request in five, a spool: the run
    exits only once every alert is delivered (drain_timeout_ms applies with
    a spool as without one), and says nothing is left;
  - the receiver down throughout: the run exits after about
    drain_timeout_ms, with a line on stderr saying how many alerts are
    pending and the spool that keeps them;
  - the dead-letter file is created 0600, like the spool's own files.
"""
import os
import re
import stat
import time

from conftest import events, received_ns, retrying_webhook as hook_sink, sink_counters, stopped_line


def test_a_run_with_a_spool_delivers_everything_before_it_exits(run, hook, tmp_path):
    n = 52
    srv = hook(fail_every=5)  # 20% of the requests answer 500
    spool = tmp_path / "spool"
    r = run([hook_sink(srv)], events=events(n), input="stdin", spool_dir=str(spool), drain_timeout_ms=20000)
    assert r.wait_exit(30) == 0
    took = time.monotonic() - r.started
    got = received_ns(srv)
    print(f"\nfailing 20%: exit after {took:.2f} s; sent {n}, received unique {len(got)}, "
          f"duplicates {sum(got.values()) - len(got)}, lost {n - len(got)}")
    assert sorted(got) == list(range(n)), sorted(set(range(n)) - set(got))
    c = sink_counters(stopped_line(r), "hook")
    assert c["delivered"] == n and c["pending"] == 0 and c["retries"] > 0 and c["dropped"] == 0, c
    assert "not delivered" not in r.stderr, r.stderr


def test_a_run_with_the_receiver_down_waits_drain_timeout_and_says_what_is_left(run, hook, tmp_path):
    n = 50
    srv = hook(start_down=True)
    spool = tmp_path / "spool"
    r = run([hook_sink(srv)], events=events(n), input="stdin", spool_dir=str(spool), drain_timeout_ms=1500)
    assert r.wait_exit(20) == 0
    took = time.monotonic() - r.started
    assert 1.4 <= took < 10, took
    c = sink_counters(stopped_line(r), "hook")
    assert c["accepted"] == n and c["pending"] == n and c["dropped"] == 0, c
    where = str(spool / "hook")
    lines = [ln for ln in r.err_lines if re.search(rf"\b{n} alert\(s\) not delivered", ln)]
    assert any(where in ln for ln in lines), r.stderr
    print(f"\nreceiver down: exit after {took:.2f} s; " + " | ".join(lines))

    # And the spool does keep them: a second run delivers all of them.
    srv.up()
    r2 = run([hook_sink(srv)], input="stdin", spool_dir=str(spool), drain_timeout_ms=20000)
    assert r2.wait_exit(30) == 0
    assert sorted(received_ns(srv)) == list(range(n))


def test_the_dead_letter_file_is_created_0600(run, hook, tmp_path):
    srv = hook(mode="400")
    spool = tmp_path / "spool"
    old = os.umask(0o022)  # the usual umask, under which a plain fopen makes 0644
    try:
        r = run([hook_sink(srv)], events=events(2), input="stdin", spool_dir=str(spool))
        assert r.wait_exit(20) == 0
    finally:
        os.umask(old)
    dead = spool / "hook" / "dead-letter.jsonl"
    assert len(dead.read_text().splitlines()) == 2
    mode = stat.S_IMODE(os.stat(dead).st_mode)
    assert mode == 0o600, oct(mode)
    seg = [p for p in (spool / "hook").iterdir() if p.suffix == ".seg"]
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in seg + [spool / "hook" / "ack"])
