"""test_scaleout.py — the two-stage scale-out on a real broker gives what `secdet scan` gives.

The events come from gen_events.py (seeded CloudTrail records, mostly noise, with
attacks that trip the CIS and correlation packs over thousands of groups). They
are produced to a 4-partition input topic with null keys, then evaluated by two
stage-1 (`"stage": "partition"`) and two stage-2 (`"stage": "aggregate"`)
`secdet run` instances, each with a file sink of its own; the union of the sinks
is compared with `secdet scan` over the same file, alert id by alert id.

- test_two_stages_equal_scan: a clean run: exactly scan's alerts (as a multiset).
- test_stage2_killed_midstream_loses_nothing: one stage-2 instance (with a
  spooled sink) is SIGKILLed midway, stage 1 being slowed down so that the events
  keep coming; the other takes over its partitions, restores their state from the
  state topic and carries on.
  Nothing is missing; an alert may come twice only if the killed instance had
  written it (it fired after its last checkpoint and fires again, same id).

- test_events_produced_while_running_equal_scan: every instance starts at
  once on empty topics and the events are produced while they run (stage 1
  catching up with the producer all the time; kcat fills the partitions
  unevenly, by tens of minutes of event time): still exactly scan's alerts.
  A partition at its end stops holding the watermark back only after idle_ms
  (docs/scale-out.md); before that rule, this lost ~5% of the correlation
  alerts as late.

In the first two tests all the events are in the input topic before stage 1
starts, stage 2's group is formed first and stage 1's one member at a time,
so each run has the same shape; the third starts everything at once.

SECDET_SCALEOUT_EVENTS (default 1000000) and SECDET_SCALEOUT_KILL_EVENTS
(default 200000, also the third test's) set the sizes; SECDET_SCALEOUT_WAIT (default 600) bounds the
wait for the groups to catch up, in seconds.
"""
import collections
import os
import time

import pytest

import gen_events
import scaleout as so

EVENTS = int(os.environ.get("SECDET_SCALEOUT_EVENTS", "1000000"))
KILL_EVENTS = int(os.environ.get("SECDET_SCALEOUT_KILL_EVENTS", "200000"))
WAIT_S = float(os.environ.get("SECDET_SCALEOUT_WAIT", "600"))
SEED = 20260301


@pytest.fixture(scope="session")
def scaleout_events(tmp_path_factory):
    """events(n) -> the path of n generated events (made once per n in the session)."""
    made = {}
    root = tmp_path_factory.mktemp("scaleout-events")

    def events(n):
        if n not in made:
            path = root / f"events-{n}.jsonl"
            with open(path, "wb") as f:
                gen_events.generate(n, SEED, f)
            made[n] = path
        return made[n]

    yield events
    for path in made.values():  # 1M events are about 700 MB
        path.unlink()


@pytest.fixture
def rules(repo_root):
    return [os.path.join(repo_root, "rules", "aws")]


def produce_all(kafka, pipeline, path, n):
    kafka.produce(pipeline.input_topic, path, timeout=max(120, n / 5000))
    ends = kafka.end_offsets(pipeline.input_topic)
    assert sum(ends.values()) == n, ends
    assert all(v > 0 for v in ends.values()), f"null keys spread over every partition: {ends}"


def start_stages(p, stage2, stage1, throttle=None):
    """Stage 2's group formed first (every instance with partitions before any forward);
    then stage 1, one instance at a time: the first one gets every input partition and
    announces all of them to stage 2 before it forwards anything."""
    for inst in stage2:
        inst.start()
    owned = p.wait_group(p.group2, stage2)
    for n in range(len(stage1)):
        stage1[n].start()
        if throttle:
            throttle.add(stage1[n])
        p.wait_group(p.group1, stage1[:n + 1])
    return owned


def test_two_stages_equal_scan(kafka, secdet_bin, rules, scaleout_events, tmp_path):
    t0 = time.monotonic()
    path = scaleout_events(EVENTS)
    expected = so.scan(secdet_bin, rules, path)
    assert expected, "the generator must trip rules"
    p = so.Pipeline(kafka, secdet_bin, tmp_path, rules)
    p.create_topics()
    produce_all(kafka, p, path, EVENTS)
    stage2 = [p.stage2(f"stage2-{x}", checkpoint_ms=2000, flush_on_exit=True) for x in "ab"]
    # quick group heartbeats: the second instance joins before the first one has read much
    stage1 = [p.stage1(f"stage1-{x}", properties={"heartbeat.interval.ms": "100"}) for x in "ab"]
    try:
        t_start = time.monotonic()
        start_stages(p, stage2, stage1)
        p.wait_caught_up(WAIT_S)
        took = time.monotonic() - t_start
        codes = p.stop(stage1)
        codes.update(p.stop(stage2))
        assert all(c == 0 for c in codes.values()), f"exit codes {codes}\n" + p.report()

        got = [a for inst in stage1 + stage2 for a in inst.alerts()]
        diff = so.compare_alerts(expected, got)
        assert not diff, diff + "\n" + p.report()

        stats = {inst.name: inst.kafka_stats() for inst in stage1 + stage2}
        assert all(stats.values()), "every instance prints its kafka stats line at exit\n" + p.report()
        s1 = [stats[i.name] for i in stage1]
        s2 = [stats[i.name] for i in stage2]
        assert sum(s["messages"] for s in s1) == EVENTS, stats  # each event evaluated once
        assert sum(s["forwarded"] for s in s1) > 0 and all(s["rebalances"] > 0 for s in s1), stats
        assert all(s["rebalances"] > 0 and s["checkpoints"] > 0 and s["messages"] > 0 for s in s2), stats
        assert sum(s["messages"] for s in s2) == sum(kafka.end_offsets(p.repart_topic).values()), stats
        assert sum(s["duplicates"] for s in s2) == 0, stats
        # every alert of a correlation rule came out of stage 2, every other one out of stage 1
        corr = {r for _, r in expected if not r.startswith("cis_")}
        assert all(r not in corr for inst in stage1 for _, r in inst.alerts())
        assert all(r in corr for inst in stage2 for _, r in inst.alerts())
        print(f"\n{EVENTS} events, {len(expected)} alerts {so.rule_counts(expected)}\n"
              f"started and caught up in {took:.1f} s; test {time.monotonic() - t0:.1f} s\nstats {stats}")
    finally:
        p.kill_all()


def test_stage2_killed_midstream_loses_nothing(kafka, secdet_bin, rules, scaleout_events, tmp_path):
    t0 = time.monotonic()
    path = scaleout_events(KILL_EVENTS)
    expected = so.scan(secdet_bin, rules, path)
    p = so.Pipeline(kafka, secdet_bin, tmp_path, rules)
    p.create_topics()
    produce_all(kafka, p, path, KILL_EVENTS)
    props = {"session.timeout.ms": "6000"}
    victim, survivor = (p.stage2(f"stage2-{x}", spool=True, checkpoint_ms=1000, flush_on_exit=True,
                                 properties=props) for x in ("victim", "survivor"))
    # Stage 1 runs a tenth of the time (SIGSTOP/SIGCONT), so that the stream lasts well
    # past the kill on any machine; with quick group heartbeats, its second instance joins
    # before the first one has read much.
    stage1 = [p.stage1(f"stage1-{x}", properties={"heartbeat.interval.ms": "100"}) for x in "ab"]
    throttle = so.Throttle(run_s=0.05, stop_s=0.45).start()
    try:
        owned = start_stages(p, [victim, survivor], stage1, throttle)[victim.name]

        # The victim has done a good part: a checkpoint covers its partitions (offsets are
        # committed only after one) and it has written alerts. Half a checkpoint interval
        # later (work done since its last checkpoint, most likely) it is killed.
        deadline = time.monotonic() + WAIT_S
        while True:
            p.check_alive()
            committed = kafka.committed(p.group2, p.repart_topic)
            if all(committed.get(q, 0) > 0 for q in owned) and victim.alert_lines() >= 5:
                break
            assert time.monotonic() < deadline, f"the victim did not get going: {committed}\n" + p.report()
            time.sleep(0.05)
        time.sleep(0.5)
        victim.kill()
        at_kill = p.progress()
        assert any(v > 0 for v in at_kill["stage1_lag"].values()), f"the stream was over at the kill: {at_kill}"

        assert p.wait_group(p.group2, [survivor], timeout=60)[survivor.name] == [0, 1, 2, 3]
        throttle.stop()
        took = p.wait_caught_up(WAIT_S, alive=[survivor] + stage1)
        codes = p.stop(stage1)
        codes.update(p.stop([survivor]))
        assert all(c == 0 for c in codes.values()), f"exit codes {codes}\n" + p.report()
        # What the victim journaled but had not written yet reaches its file, as on a restart.
        assert victim.deliver_spool() == 0, p.report()

        stats = survivor.kafka_stats()
        assert stats and stats["restored"] >= len(owned), f"the survivor restored too little: {stats}\n" + \
            p.report()
        got = [a for inst in stage1 + [victim, survivor] for a in inst.alerts()]
        exp_ids = collections.Counter(i for i, _ in expected)
        got_ids = collections.Counter(i for i, _ in got)
        missing = exp_ids - got_ids
        assert not missing, so.compare_alerts(expected, got) + "\n" + p.report()
        unknown = set(got_ids) - set(exp_ids)
        assert not unknown, so.compare_alerts(expected, got) + "\n" + p.report()
        victim_ids = {i for i, _ in victim.alerts()}
        repeated = got_ids - exp_ids
        not_victims = [i for i in repeated if i not in victim_ids]
        assert not not_victims, f"repeated alerts the victim never wrote: {not_victims[:5]}\n" + \
            so.compare_alerts(expected, got)
        print(f"\n{KILL_EVENTS} events, {len(expected)} alerts; victim owned {owned}, killed at {at_kill}; "
              f"{sum(repeated.values())} alerts repeated ({len(repeated)} ids); caught up {took:.1f} s after "
              f"the takeover; test {time.monotonic() - t0:.1f} s\nsurvivor {stats}\n"
              f"stage 1 {[i.kafka_stats() for i in stage1]}")
    finally:
        throttle.stop()
        p.kill_all()


def test_events_produced_while_running_equal_scan(kafka, secdet_bin, rules, scaleout_events, tmp_path):
    t0 = time.monotonic()
    path = scaleout_events(KILL_EVENTS)
    expected = so.scan(secdet_bin, rules, path)
    p = so.Pipeline(kafka, secdet_bin, tmp_path, rules)
    p.create_topics()
    stage2 = [p.stage2(f"stage2-{x}", checkpoint_ms=2000, flush_on_exit=True) for x in "ab"]
    stage1 = [p.stage1(f"stage1-{x}") for x in "ab"]
    try:
        for inst in stage2 + stage1:  # all at once: no group formed before another
            inst.start()
        p.wait_group(p.group1, stage1)
        p.wait_group(p.group2, stage2)
        kafka.produce(p.input_topic, path, timeout=max(120, KILL_EVENTS / 5000))
        took = p.wait_caught_up(WAIT_S)
        codes = p.stop(stage1)
        codes.update(p.stop(stage2))
        assert all(c == 0 for c in codes.values()), f"exit codes {codes}\n" + p.report()
        got = [a for inst in stage1 + stage2 for a in inst.alerts()]
        diff = so.compare_alerts(expected, got)
        assert not diff, diff + "\n" + p.report()
        stats = [inst.kafka_stats() for inst in stage2]
        assert sum(s["late"] for s in stats) == 0, stats
        print(f"\n{KILL_EVENTS} events produced while running, {len(expected)} alerts; caught up {took:.1f} s; "
              f"test {time.monotonic() - t0:.1f} s\nstage 2 {stats}")
    finally:
        p.kill_all()
