"""test_digest.py — the digest sink through `secdet run`, against a real
local HTTP receiver (http_server.HookServer):

  - the alerts of a period go out as one digest, not before the period has
    passed, each alert once; later alerts make the next period's digest;
  - a digest being collected survives SIGKILL: its alerts are the spool's
    unacknowledged records, and the next start delivers them in one digest
    (the figures are printed);
  - a failing receiver gets the same digest again (one webhook-id), the
    stats say so, and nothing is lost or split;
  - SIGTERM sends what a digest holds (a drain wants everything now);
  - the Slack form is one Block Kit message.
"""
import json
import time

from conftest import events, sink_counters, stopped_line


def digest_sink(server, **kw):
    sink = {"type": "digest", "name": "digest", "url": server.url + "/digest", "period_ms": 1500,
            "backoff_ms": 100, "backoff_max_ms": 400}
    sink.update(kw)
    return sink


def ok_digests(server):
    return [q for q in server.snapshot() if 200 <= q.status < 300]


def digest_ids(q):
    """The alert ids a digest holds."""
    body = q.json()
    assert body["type"] == "digest"
    return [i for r in body["by_rule"] for i in r["ids"]]


def test_one_digest_per_period_with_every_alert_once(run, hook, tmp_path):
    srv = hook()
    r = run([digest_sink(srv), {"type": "file", "name": "all", "path": str(tmp_path / "all.jsonl")}],
            events=events(20))
    r.ready()
    srv.wait_requests(1, timeout=15)
    first = srv.snapshot()[0]
    assert first.t - r.started >= 1.5, "sent before its period had passed"
    time.sleep(2.0)  # a whole period more: nothing new, nothing sent
    assert len(srv.snapshot()) == 1
    body = first.json()
    assert body["alerts"] == 20 and body["rules"] == 1 and body["sink"] == "digest"
    rule = body["by_rule"][0]
    assert rule["rule"] == "all" and rule["count"] == 20 and rule["severity"] == "high"
    # top groups: the rule has no keys, so one group {}
    assert rule["top_groups"] == [{"group": {}, "count": 20}]
    written = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert sorted(rule["ids"]) == sorted(a["id"] for a in written)
    assert first.headers["webhook-id"].startswith("digest_")

    with open(r.dir / "events.jsonl", "a") as f:  # the next period's alerts
        f.write(events(5, start=20))
    srv.wait_requests(2, timeout=15)
    second = srv.snapshot()[1]
    assert second.t - first.t >= 1.5
    assert second.json()["alerts"] == 5
    assert set(second.json()["by_rule"][0]["ids"]).isdisjoint(rule["ids"])
    assert r.stop() == 0
    c = sink_counters(stopped_line(r), "digest")
    assert c["accepted"] == 25 and c["delivered"] == 25 and c["pending"] == 0, c
    assert len(srv.snapshot()) == 2


def test_a_digest_being_collected_survives_sigkill_and_is_delivered_once_after(run, hook, tmp_path):
    n = 500
    srv = hook()
    spool = tmp_path / "spool"
    r1 = run([digest_sink(srv, period_ms=600000)], events=events(n), spool_dir=str(spool))
    r1.ready()
    deadline = time.monotonic() + 15
    while sink_counters(r1.stats(), "digest")["accepted"] < n and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sink_counters(r1.stats(), "digest")["pending"] == n
    r1.kill9()
    assert srv.snapshot() == []  # still collecting when it was killed

    r2 = run([digest_sink(srv, period_ms=1000)], input="empty-file", spool_dir=str(spool))
    r2.ready()
    srv.wait_requests(1, timeout=15)
    time.sleep(1.5)
    digests = ok_digests(srv)
    ids = [i for q in digests for i in digest_ids(q)]
    unique = set(ids)
    print(f"\ndigest across SIGKILL: alerts {n}, digests delivered {len(digests)}, alerts in them {len(ids)}, "
          f"unique {len(unique)}, duplicates {len(ids) - len(unique)}, lost {n - len(unique)}")
    assert len(digests) == 1
    assert len(ids) == n and len(unique) == n
    assert digests[0].json()["by_rule"][0]["count"] == n
    assert r2.stop() == 0
    c = sink_counters(stopped_line(r2), "digest")
    assert c["delivered"] == n and c["pending"] == 0 and c["dead_lettered"] == 0, c

    r3 = run([digest_sink(srv, period_ms=500)], input="empty-file", spool_dir=str(spool))
    r3.ready()
    time.sleep(1.2)
    assert r3.stop() == 0
    assert len(srv.snapshot()) == 1  # acknowledged: nothing replayed a second time


def test_a_failing_receiver_gets_the_same_digest_again(run, hook):
    srv = hook()
    srv.script(["500", "500"])
    r = run([digest_sink(srv, period_ms=500)], events=events(30))
    r.ready()
    srv.wait_requests(3, timeout=15)
    time.sleep(0.5)
    qs = srv.snapshot()
    assert [q.status for q in qs] == [500, 500, 200]
    assert len({q.headers["webhook-id"] for q in qs}) == 1
    assert all(q.body == qs[0].body for q in qs)
    assert qs[2].json()["alerts"] == 30
    assert r.stop() == 0
    c = sink_counters(stopped_line(r), "digest")
    assert c["retries"] == 2 and c["delivered"] == 30 and not c["failing"], c
    assert "digest of 30 alert(s) attempt 1 failed: HTTP 500" in r.stderr


def test_sigterm_sends_what_the_digest_holds(run, hook):
    srv = hook()
    r = run([digest_sink(srv, period_ms=600000)], events=events(10))
    r.ready()
    deadline = time.monotonic() + 15
    while sink_counters(r.stats(), "digest")["accepted"] < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert srv.snapshot() == []
    assert r.stop() == 0
    qs = ok_digests(srv)
    assert len(qs) == 1 and qs[0].json()["alerts"] == 10
    assert sink_counters(stopped_line(r), "digest")["pending"] == 0


def test_the_slack_form_is_one_block_kit_message(run, hook):
    srv = hook()
    r = run([digest_sink(srv, format="slack", period_ms=300, channel="#soc-digest")], events=events(3))
    r.ready()
    srv.wait_requests(1, timeout=15)
    msg = srv.snapshot()[0].json()
    assert msg["text"] == "secdet digest: 3 alerts, 1 rule"
    assert msg["channel"] == "#soc-digest"
    blocks = msg["attachments"][0]["blocks"]
    assert blocks[0]["type"] == "header"
    assert "*Test event*  `all`  high\n*3* alerts" in blocks[2]["text"]["text"]
    assert "webhook-id" not in srv.snapshot()[0].headers
    assert r.stop() == 0
