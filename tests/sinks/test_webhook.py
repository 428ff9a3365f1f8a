"""test_webhook.py — the webhook sink end to end, against a real HTTP/1.1 server.

`secdet run` with a "webhook" sink posting to http_server.HookServer:
  - the issue's test: 10,000 alerts while the endpoint is down (connection
    refused) for the first 30 seconds, all delivered once it is up, each id
    exactly once;
  - the Standard Webhooks signature checked with Python's own hmac/hashlib/
    base64 on every request, webhook-id = the body's id, fresh timestamps,
    custom headers;
  - a 400 goes to the dead-letter file with the endpoint's body, unretried;
  - 500s are retried with exponential backoff within its jitter bounds;
    408/425/429/503 are retried and Retry-After is honoured;
  - a hung endpoint times out (timeout_ms) and the alert is retried;
  - secrets (URL path and query, signing secret, header values) never reach
    stderr, stats or dead-letter errors, nor configuration errors.
"""
import base64
import hashlib
import hmac
import json
import subprocess
import time

import pytest

from conftest import BIN, events, read_jsonl, sink_counters, stopped_line
from http_server import Response, closed_port

KEY = b"libsecdet-webhook-test-key-32byt"
SECRET = "whsec_" + base64.b64encode(KEY).decode()


def webhook(server, path="/hook", **kw):
    sink = {"type": "webhook", "name": "hook", "url": server.url + path, "secret": SECRET}
    sink.update(kw)
    return sink


def expected_signature(key, req):
    msg = f'{req.headers["webhook-id"]}.{req.headers["webhook-timestamp"]}.'.encode() + req.body
    return "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


def signature_ok(key, req):
    # The header may carry several space-separated signatures (key rotation).
    return expected_signature(key, req) in req.headers.get("webhook-signature", "").split()


def gaps(reqs):
    return [b.t - a.t for a, b in zip(reqs, reqs[1:])]


# ---- the test: the endpoint down for the first 30 seconds ------------------------------

DOWN_SECONDS = 30
N_ALERTS = 10_000


def test_10000_alerts_with_the_endpoint_down_for_30s_are_all_delivered_once(run, hook, tmp_path):
    srv = hook(start_down=True)
    spool = tmp_path / "spool"
    r = run([webhook(srv, max_attempts=0, backoff_ms=200, backoff_max_ms=2000, timeout_ms=5000)],
            events=events(N_ALERTS), spool_dir=str(spool), drain_timeout_ms=10000)
    r.ready()
    t0 = time.monotonic()

    # Every alert reaches the spool while the endpoint refuses connections.
    deadline = t0 + 20
    while True:
        c = sink_counters(r.stats(), "hook")
        if c.get("accepted") == N_ALERTS or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert c["accepted"] == N_ALERTS, c
    assert c["delivered"] == 0 and c["dead_lettered"] == 0 and c["dropped"] == 0, c
    assert c["pending"] == N_ALERTS and c["spool_bytes"] > 0, c
    assert (spool / "hook").is_dir() and any((spool / "hook").iterdir())
    assert srv.snapshot() == []

    time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - t0)))
    c = sink_counters(r.stats(), "hook")
    assert c["retries"] >= 5 and c["failing"] in (1, True), c  # it kept trying, backing off
    assert c["delivered"] == 0 and c["dead_lettered"] == 0 and c["pending"] == N_ALERTS, c
    srv.up()
    up = time.monotonic()

    srv.wait_for(lambda rs: len(srv.ok_ids) >= N_ALERTS,
                 timeout=60, what=f"{N_ALERTS} distinct ids delivered")
    took = time.monotonic() - up
    reqs = srv.snapshot()
    ids = srv.ids()
    assert len(ids) == N_ALERTS
    dup = {i: n for i, n in ids.items() if n > 1}
    assert not dup, f"{len(dup)} ids delivered more than once, e.g. {list(dup.items())[:5]}"
    assert sorted(json.loads(q.body)["events"][0]["n"] for q in reqs if q.status == 200) == list(range(N_ALERTS))
    assert all(q.headers["webhook-id"] == json.loads(q.body)["id"] for q in reqs)

    c = sink_counters(r.stats(), "hook")
    assert c["delivered"] == N_ALERTS and c["pending"] == 0 and c["dead_lettered"] == 0, c
    assert r.stop() == 0
    print(f"{N_ALERTS} alerts delivered {took:.1f}s after the endpoint came up, {len(reqs)} requests")


# ---- signature, headers ------------------------------------------------------------------------


def test_every_request_is_signed_per_standard_webhooks_and_carries_custom_headers(run, hook):
    srv = hook()
    headers = {"X-Team": "secops", "Authorization": "Bearer custom-header-value"}
    r = run([webhook(srv, path="/in/alerts?x=1", headers=headers)], events=events(25), input="stdin")
    assert r.wait_exit(20) == 0  # end of input: drained, then exit 0
    reqs = srv.snapshot()
    assert len(reqs) == 25 and all(q.status == 200 for q in reqs)
    now = time.time()
    seen = set()
    for q in reqs:
        assert q.method == "POST" and q.path == "/in/alerts?x=1"
        assert q.headers.get("content-type", "").startswith("application/json")
        body = json.loads(q.body)
        assert body["rule"] == "all" and body["severity"] == "high"
        assert q.headers["webhook-id"] == body["id"]
        assert abs(int(q.headers["webhook-timestamp"]) - now) < 300
        assert signature_ok(KEY, q), (q.headers, q.body[:200])
        assert not signature_ok(b"another key", q)  # the check can fail
        assert q.headers["x-team"] == "secops"
        assert q.headers["authorization"] == "Bearer custom-header-value"
        seen.add(body["events"][0]["n"])
    assert seen == set(range(25))
    c = sink_counters(stopped_line(r), "hook")
    assert c["delivered"] == 25 and c["retries"] == 0 and c["pending"] == 0, c


def test_a_secret_without_the_whsec_prefix_is_plain_base64(run, hook):
    srv = hook()
    r = run([webhook(srv, secret=base64.b64encode(KEY).decode())], events=events(2), input="stdin")
    assert r.wait_exit(20) == 0
    reqs = srv.snapshot()
    assert len(reqs) == 2 and all(signature_ok(KEY, q) for q in reqs)


# ---- permanent failure: dead letter ------------------------------------------------------------


def test_a_400_dead_letters_the_alert_with_the_body_and_is_not_retried(run, hook, tmp_path):
    srv = hook(mode="400", body="invalid payload: field x")
    spool = tmp_path / "spool-hook"
    r = run([webhook(srv, spool_dir=str(spool), backoff_ms=50)], events=events(3), input="stdin")
    assert r.wait_exit(20) == 0
    time.sleep(0.3)  # nothing comes after the exit either
    reqs = srv.snapshot()
    assert len(reqs) == 3, [q.body[:80] for q in reqs]
    dead = read_jsonl(spool / "dead-letter.jsonl")
    assert len(dead) == 3
    assert {d["id"] for d in dead} == {q.headers["webhook-id"] for q in reqs}
    for d in dead:
        assert d["sink"] == "hook" and d["attempts"] == 1
        assert "HTTP 400: invalid payload: field x" in d["error"], d["error"]
        assert d["alert"]["id"] == d["id"] and d["alert"]["rule"] == "all"
    c = sink_counters(stopped_line(r), "hook")
    assert c["dead_lettered"] == 3 and c["retries"] == 0 and c["delivered"] == 0, c


def test_max_attempts_then_dead_letter_with_the_last_error(run, hook, tmp_path):
    srv = hook(mode="500", body="still broken")
    dl = tmp_path / "dl.jsonl"
    r = run([webhook(srv, max_attempts=3, backoff_ms=50, backoff_max_ms=100, dead_letter=str(dl))],
            events=events(1))
    r.ready()
    deadline = time.monotonic() + 10
    while not (dl.exists() and dl.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert r.stop() == 0
    reqs = srv.snapshot()
    assert len(reqs) == 3 and len({q.headers["webhook-id"] for q in reqs}) == 1
    (d,) = read_jsonl(dl)
    assert d["attempts"] == 3 and "500" in d["error"], d


# ---- retries -----------------------------------------------------------------------------------


def test_500s_are_retried_with_exponential_backoff_and_jitter(run, hook):
    srv = hook()
    srv.script(["500"] * 4)  # then 200
    base, cap = 200, 1000
    r = run([webhook(srv, backoff_ms=base, backoff_max_ms=cap)], events=events(1))
    r.ready()
    reqs = srv.wait_for(lambda rs: any(q.status == 200 for q in rs), timeout=15, what="delivery after 500s")
    time.sleep(0.3)
    reqs = srv.snapshot()
    assert [q.status for q in reqs] == [500, 500, 500, 500, 200]
    assert len({q.headers["webhook-id"] for q in reqs}) == 1
    for k, gap in enumerate(gaps(reqs)):
        nominal = min(cap, base * 2 ** k) / 1000.0
        # full jitter in [0.5, 1] x nominal; a little slack for the round trips
        assert 0.5 * nominal - 0.03 <= gap <= nominal + 0.3, (k, gap, nominal, gaps(reqs))
    g = gaps(reqs)
    assert g[3] > g[0]  # the delays grow
    assert r.stop() == 0
    c = sink_counters(stopped_line(r), "hook")
    assert c["delivered"] == 1 and c["retries"] == 4 and c["dead_lettered"] == 0, c


def test_408_425_429_and_503_are_retried_and_retry_after_is_honoured(run, hook):
    srv = hook()
    srv.script([Response(408, b"timeout"), Response(425, b"early"),
                Response(429, b"slow", {"Retry-After": "1"}), Response(503, b"unavailable")])
    r = run([webhook(srv, backoff_ms=50, backoff_max_ms=100)], events=events(1))
    r.ready()
    srv.wait_for(lambda rs: any(q.status == 200 for q in rs), timeout=15, what="delivery")
    reqs = srv.snapshot()
    assert [q.status for q in reqs] == [408, 425, 429, 503, 200]
    g = gaps(reqs)
    assert g[2] >= 0.95, g  # Retry-After: 1 beats the 50-100 ms backoff
    assert all(x < 0.6 for i, x in enumerate(g) if i != 2), g
    assert r.stop() == 0


def test_a_hung_endpoint_times_out_and_the_alert_is_retried(run, hook):
    srv = hook()
    srv.script(["hang"])
    r = run([webhook(srv, timeout_ms=500, backoff_ms=100, backoff_max_ms=100)], events=events(1))
    r.ready()
    srv.wait_for(lambda rs: any(q.status == 200 for q in rs), timeout=15, what="delivery after a timeout")
    time.sleep(0.3)
    reqs = srv.snapshot()
    assert len(reqs) == 2 and reqs[0].status == 0 and reqs[1].status == 200
    assert reqs[0].headers["webhook-id"] == reqs[1].headers["webhook-id"]
    gap = reqs[1].t - reqs[0].t
    assert 0.48 <= gap <= 0.5 + 0.1 + 0.5, gap  # timeout, then a 50-100 ms backoff
    assert r.stop() == 0
    c = sink_counters(stopped_line(r), "hook")
    assert c["retries"] == 1 and c["delivered"] == 1, c


# ---- redaction ---------------------------------------------------------------------------------

PATH_TOKEN = "T0KEN-path-s3cr3t-9f8e7d"
QUERY_TOKEN = "QUERYs3cretTOKEN42"
HEADER_VALUE = "Bearer HEADER-s3cr3t-value-77"
SLACK_TOKEN = "SLACKs3cretTOKENxyz"


def test_secrets_never_reach_stderr_stats_or_dead_letters(run, hook, tmp_path):
    srv = hook(mode="400", body="nope")
    down = closed_port()
    spool = tmp_path / "spool"
    common = {"secret": SECRET, "headers": {"Authorization": HEADER_VALUE}, "backoff_ms": 50, "backoff_max_ms": 50}
    sinks = [
        dict(common, type="webhook", name="hook-400", url=f"{srv.url}/hooks/{PATH_TOKEN}?token={QUERY_TOKEN}"),
        dict(common, type="webhook", name="hook-down", max_attempts=2,
             url=f"http://127.0.0.1:{down}/hooks/{PATH_TOKEN}?token={QUERY_TOKEN}"),
        {"type": "slack", "name": "slack-down", "max_attempts": 2, "backoff_ms": 50, "min_interval_ms": 100,
         "url": f"http://127.0.0.1:{down}/services/T000/B000/{SLACK_TOKEN}"},
    ]
    r = run(sinks, events=events(2), spool_dir=str(spool), stats_interval=0.1)
    r.ready()
    # (the file input keeps the run going: at the end of stdin the drain would
    # leave a failing sink's alerts in its spool instead of dead-lettering them)
    deadline = time.monotonic() + 15
    paths = [spool / name / "dead-letter.jsonl" for name in ("hook-400", "hook-down", "slack-down")]
    while time.monotonic() < deadline and not all(p.exists() and len(read_jsonl(p)) >= 2 for p in paths):
        time.sleep(0.1)
    time.sleep(0.3)  # a few more stats lines
    assert r.stop() == 0
    secrets = [PATH_TOKEN, QUERY_TOKEN, SECRET, SECRET[len("whsec_"):], HEADER_VALUE, "HEADER-s3cr3t", SLACK_TOKEN,
               f"127.0.0.1:{down}", srv.url]
    dead = {}
    for name in ("hook-400", "hook-down", "slack-down"):
        path = spool / name / "dead-letter.jsonl"
        text = path.read_text()
        dead[name] = read_jsonl(path)
        assert len(dead[name]) == 2, (name, text)
        for s in secrets:
            assert s not in text, f"{s!r} in {path}"
        for d in dead[name]:
            assert d["error"], d
    assert "HTTP 400: nope" in dead["hook-400"][0]["error"]
    text = r.stderr + "\n".join(r.out_lines)
    assert "hook-down" in text and '"stats"' in text  # per-sink stats lines were printed, and checked
    for s in secrets:
        assert s not in text, f"{s!r} on stderr/stdout:\n{text}"
    c = sink_counters(stopped_line(r), "hook-down")
    assert c["dead_lettered"] == 2 and c["retries"] == 2, c
    assert "secdet: sink hook-down:" in r.stderr  # delivery problems are logged (and were checked above)


@pytest.mark.parametrize("sink,key", [
    ({"type": "webhook", "url": "http://127.0.0.1:9/x", "secret": "whsec_!!not*base64" + PATH_TOKEN}, "secret"),
    ({"type": "webhook", "url": "http://127.0.0.1:9/x", "headers": {"X-A": "v\r\n" + HEADER_VALUE}}, "headers"),
    ({"type": "webhook", "url": f"http://127.0.0.1:9/{PATH_TOKEN}", "timeout_ms": "soon"}, "timeout_ms"),
    ({"type": "slack", "url": f"http://127.0.0.1:9/{SLACK_TOKEN}", "max_params": -1}, "max_params"),
])
def test_configuration_errors_name_the_key_but_never_quote_a_secret(secdet_bin, tmp_path, rules_file, sink, key):
    config = {"rules": [str(rules_file)], "sources": [{"name": "app", "input": {"type": "stdin"}}], "sinks": [sink]}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    p = subprocess.run([BIN, "run", "--config", str(path)], capture_output=True, timeout=15, stdin=subprocess.DEVNULL)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert key in err, err
    for s in (PATH_TOKEN, HEADER_VALUE, SLACK_TOKEN, "127.0.0.1:9"):
        assert s not in err, err
