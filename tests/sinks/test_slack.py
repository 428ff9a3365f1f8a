"""test_slack.py — the Slack sink end to end, against a real HTTP/1.1 server.

`secdet run` with a "slack" sink posting to http_server.HookServer:
  - the payload is Block Kit: {"text", "attachments": [{"color", "blocks":
    [header, section, fields, code block, context]}]} with the event's data,
    and event data is escaped for mrkdwn ("<!channel>" never appears raw);
  - at most one message a second (min_interval_ms default 1000);
  - 429 with Retry-After: 3 -> the next attempt >= 3 s later, then delivered;
  - 404 "no_service" -> dead letter with Slack's body, no retry.
"""
import json
import subprocess
import time

from conftest import BIN, read_jsonl, sink_counters, stopped_line
from http_server import Response

SLACK_PATH = "/services/T000/B000/XXXXXXXX"

EVENT = {
    "eventName": "Test", "n": 1, "eventTime": "2024-03-14T14:58:40Z",
    "eventSource": "iam.amazonaws.com",
    "userIdentity": {"arn": "arn:aws:iam::111122223333:user/<!channel>", "accountId": "111122223333"},
    "sourceIPAddress": "203.0.113.9", "awsRegion": "eu-west-1", "recipientAccountId": "444455556666",
    "requestParameters": {"note": "<!channel> & <http://evil.example|click here>", "fence": "```end```",
                          "policy": "x" * 500},
}


def slack(server, **kw):
    sink = {"type": "slack", "name": "slack", "url": server.url + SLACK_PATH}
    sink.update(kw)
    return sink


def strings(obj):
    """Every string in a JSON value, keys included."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def block_texts(block):
    out = []
    for key in ("text",):
        t = block.get(key)
        if isinstance(t, dict):
            out.append(t.get("text", ""))
    for f in block.get("fields", []) or []:
        out.append(f.get("text", ""))
    for e in block.get("elements", []) or []:
        if isinstance(e, dict):
            out.append(e.get("text", ""))
    return out


def alert_id_of(tmp_path, rules_file, event):
    """The alert id secdet gives this event (ids do not depend on the source)."""
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(event) + "\n")
    p = subprocess.run([BIN, "scan", "--rules", str(rules_file), "--format", "jsonl", "--output", "json",
                        "--no-progress", "--quiet", str(path)], capture_output=True, timeout=15)
    assert p.returncode in (0, 1), p.stderr.decode()
    (alert,) = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
    return alert["id"]


def test_the_payload_is_block_kit_with_the_event_data_escaped(run, hook, tmp_path, rules_file):
    srv = hook()
    r = run([slack(srv, channel="#secops", username="secdet", icon_emoji=":rotating_light:", max_params=200)],
            events=json.dumps(EVENT) + "\n", input="stdin")
    assert r.wait_exit(20) == 0
    (q,) = srv.snapshot()
    assert q.method == "POST" and q.path == SLACK_PATH
    assert q.headers.get("content-type", "").startswith("application/json")
    assert "webhook-signature" not in q.headers
    p = json.loads(q.body)
    assert isinstance(p["text"], str) and p["text"]
    assert p.get("channel") == "#secops" and p.get("username") == "secdet" and p.get("icon_emoji") == ":rotating_light:"
    (att,) = p["attachments"]
    assert att["color"].upper() == "#E01E5A"  # high
    blocks = att["blocks"]
    kinds = [b["type"] for b in blocks]
    assert kinds[0] == "header" and kinds[-1] == "context" and kinds.count("section") >= 3, kinds
    assert blocks[0]["text"]["type"] == "plain_text" and blocks[0]["text"]["text"] == "Test event"
    assert len(blocks[0]["text"]["text"]) <= 150

    fields = next(b["fields"] for b in blocks if b.get("fields"))
    ftext = "\n".join(f["text"] for f in fields)
    for label, value in [("Severity", "high"), ("Rule", "all"), ("Source IP", "203.0.113.9"),
                         ("Account", "444455556666"), ("Region", "eu-west-1"), ("Event", "Test"),
                         ("Principal", "arn:aws:iam::111122223333:user/&lt;!channel&gt;")]:
        assert label in ftext and value in ftext, (label, value, ftext)
    assert "iam.amazonaws.com" in ftext

    code = [t for b in blocks if b["type"] == "section" for t in block_texts(b) if t.startswith("```")]
    assert len(code) == 1, blocks
    body = code[0]
    assert body.endswith("```") and "```" not in body[3:-3], body  # the event's ``` cannot close it
    assert "&lt;!channel&gt; &amp; &lt;http://evil.example|click here&gt;" in body, body
    assert "…" in body and 150 <= len(body.encode()) <= 200 + 64, body  # cut to max_params (+ escapes, fences)

    context = " ".join(t for t in block_texts(blocks[-1]))
    assert alert_id_of(tmp_path, rules_file, EVENT) in context, context

    every = list(strings(p))
    assert not any("<!channel>" in s for s in every), [s for s in every if "<!channel>" in s]
    assert not any("<http://evil.example" in s for s in every)
    assert any("&lt;!channel&gt;" in s for s in every)
    assert b"<!channel>" not in q.body


def test_at_most_one_message_a_second(run, hook):
    srv = hook()
    evs = "".join(json.dumps(dict(EVENT, n=i)) + "\n" for i in range(3))
    r = run([slack(srv)], events=evs)
    r.ready()
    srv.wait_requests(3, timeout=10)
    time.sleep(0.2)
    reqs = srv.snapshot()
    assert len(reqs) == 3 and all(q.status == 200 for q in reqs)
    starts = [q.t for q in reqs]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(g >= 0.95 for g in gaps), gaps
    assert all(g < 2.0 for g in gaps), gaps  # paced, not stalled
    assert r.stop() == 0


def test_a_429_with_retry_after_waits_that_long_then_delivers(run, hook):
    srv = hook()
    srv.script([Response(429, b"rate_limited", {"Retry-After": "3"})])
    r = run([slack(srv, backoff_ms=100, backoff_max_ms=200)], events=json.dumps(EVENT) + "\n")
    r.ready()
    srv.wait_for(lambda rs: any(q.status == 200 for q in rs), timeout=15, what="delivery after 429")
    time.sleep(0.2)
    reqs = srv.snapshot()
    assert [q.status for q in reqs] == [429, 200]
    assert reqs[0].body == reqs[1].body or json.loads(reqs[0].body)["attachments"] == json.loads(reqs[1].body)[
        "attachments"]
    gap = reqs[1].t - reqs[0].t
    assert 2.95 <= gap <= 4.5, gap
    assert r.stop() == 0
    c = sink_counters(stopped_line(r), "slack")
    assert c["delivered"] == 1 and c["retries"] == 1, c


def test_a_404_no_service_is_dead_lettered_with_slacks_body(run, hook, tmp_path):
    srv = hook(mode="400", status=404, body="no_service")
    spool = tmp_path / "spool"
    evs = "".join(json.dumps(dict(EVENT, n=i)) + "\n" for i in range(2))
    r = run([slack(srv, spool_dir=str(spool), min_interval_ms=100, backoff_ms=50)], events=evs, input="stdin")
    assert r.wait_exit(20) == 0
    time.sleep(0.3)
    assert len(srv.snapshot()) == 2  # not retried
    dead = read_jsonl(spool / "dead-letter.jsonl")
    assert len(dead) == 2
    for d in dead:
        assert d["sink"] == "slack" and d["attempts"] == 1
        assert "404" in d["error"] and "no_service" in d["error"], d["error"]
        assert d["alert"]["rule"] == "all"
    assert SLACK_PATH.rsplit("/", 1)[1] not in r.stderr
