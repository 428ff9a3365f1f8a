"""test_scaleout_part2.py — Part 2's correlation (docs/correlation.md) across the
two-stage scale-out on a real broker gives what `secdet scan` gives.

The rules below use what Part 2 added to correlation state: an absence (`not`
step) whose windows close only as stage 2's watermark passes them, per-step
keys (stage 1 forwards one copy of an event per group it makes), a counted
step, an unordered sequence and a sum. The events (made here, seeded) run
over hours of event time, so most absence windows close before the end; the
rest stay open in both runs (an absence never fires at the end of input).
No two events share an instant: ties go by arrival, which differs between
scan and the partitions (a sum crossing its threshold at one of two events of
the same millisecond gave a different alert id).
Two stage-1 and two stage-2 `secdet run` instances, each with a file sink of
its own; their union must be exactly scan's alerts, id by id.
"""
import json
import random
import time

import scaleout as so

RULES = """
rule not_quarantined {
    sequence within 1h by .host {
        finding: .eventName == "Finding";
        not quarantine: .eventName == "ModifyInstanceAttribute"
    }
}
rule okta_then_aws {
    sequence within 10m {
        okta: .eventType == "user.session.start" by .client.ipAddress;
        aws: .eventName == "ConsoleLogin" by .sourceIPAddress
    }
}
rule fails_then_ok {
    sequence within 10m by .user {
        fails: .outcome == "FAILURE" count >= 3 within 2m;
        ok: .outcome == "SUCCESS"
    }
}
rule backdoor {
    sequence unordered within 5m by .user { create: .eventName == "CreateUser"; key: .eventName == "CreateAccessKey" }
}
rule bytes_out {
    where .eventName == "GetObject"
    sum .bytes >= 5000 within 10m by .user
    throttle 10m by .user
}
"""
SEED = 20261206
HOSTS = 300


def iso(sec, ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1710406800 + sec)) + ".%03dZ" % ms


def make_events(path):
    rnd = random.Random(SEED)
    evs = []
    for i in range(HOSTS):
        t = i * 20
        host, ip, user = f"h{i}", f"10.0.{i // 250}.{i % 250}", f"u{i % 10}"
        evs.append((t, {"eventName": "Finding", "host": host}))
        fix = rnd.choice([None, 1800, 3600, 3601, 5000])  # 3600: about the window's end
        if fix is not None:
            evs.append((t + fix, {"eventName": "ModifyInstanceAttribute", "host": host}))
        evs.append((t + rnd.randrange(0, 60), {"eventType": "user.session.start", "client": {"ipAddress": ip}}))
        evs.append((t + rnd.randrange(0, 900), {"eventName": "ConsoleLogin", "sourceIPAddress": ip}))
        for k in range(rnd.randrange(0, 5)):
            evs.append((t + 10 * k, {"outcome": "FAILURE", "user": user}))
        evs.append((t + rnd.randrange(30, 400), {"outcome": "SUCCESS", "user": user}))
        if rnd.random() < 0.3:
            evs.append((t + rnd.randrange(0, 400), {"eventName": rnd.choice(["CreateUser", "CreateAccessKey"]),
                                                    "user": user}))
        evs.append((t + rnd.randrange(0, 600), {"eventName": "GetObject", "user": user,
                                               "bytes": rnd.randrange(0, 3000)}))
    end = HOSTS * 20 + 3 * 3600
    evs += [(t, {"eventName": "DescribeInstances", "host": "noise"}) for t in range(0, end, 15)]
    evs.sort(key=lambda e: e[0])
    # Every event its own instant (the k-th of a second at k ms): events of one
    # group at the same instant go in arrival order, which the partitions change.
    with open(path, "w") as f:
        k, last = 0, None
        for n, (t, e) in enumerate(evs):
            k = k + 1 if t == last else 0
            last = t
            f.write(json.dumps(dict(e, eventTime=iso(t, k), n=n)) + "\n")
    return len(evs)


def test_part2_state_across_two_stages_equals_scan(kafka, secdet_bin, tmp_path):
    rules = tmp_path / "part2.secdet"
    rules.write_text(RULES)
    path = tmp_path / "events.jsonl"
    n = make_events(path)
    expected = so.scan(secdet_bin, [rules], path)
    counts = so.rule_counts(expected)
    assert all(counts.get(r, 0) > 0 for r in
               ("not_quarantined", "okta_then_aws", "fails_then_ok", "backdoor", "bytes_out")), counts
    p = so.Pipeline(kafka, secdet_bin, tmp_path, [rules])
    p.create_topics()
    kafka.produce(p.input_topic, path, timeout=120)
    assert sum(kafka.end_offsets(p.input_topic).values()) == n
    stage2 = [p.stage2(f"stage2-{x}", checkpoint_ms=2000, flush_on_exit=True) for x in "ab"]
    stage1 = [p.stage1(f"stage1-{x}", properties={"heartbeat.interval.ms": "100"}) for x in "ab"]
    try:
        for inst in stage2:
            inst.start()
        p.wait_group(p.group2, stage2)
        for k in range(len(stage1)):
            stage1[k].start()
            p.wait_group(p.group1, stage1[:k + 1])
        p.wait_caught_up(300)
        codes = p.stop(stage1)
        codes.update(p.stop(stage2))
        assert all(c == 0 for c in codes.values()), f"exit codes {codes}\n" + p.report()
        got = [a for inst in stage1 + stage2 for a in inst.alerts()]
        diff = so.compare_alerts(expected, got)
        assert not diff, diff + "\n" + p.report()
        assert all(r in counts for inst in stage2 for _, r in inst.alerts())
        print(f"\n{n} events, {len(expected)} alerts {counts}")
    finally:
        p.kill_all()
