"""test_secrets.py — sink secrets given as references, end to end.

`secdet run` with webhook sinks whose url, secret and header values are
{"env": NAME} or {"file": PATH} references, posting to http_server.HookServer:
  - alerts arrive at the URL the reference names, signed with the secret it
    names (checked with Python's own hmac), with the header value it names;
  - SIGHUP after the secret file changed: a failing sink (endpoint down) is
    reconfigured without losing what it holds; once the endpoint is back,
    every pending alert and every later one is signed with the new secret;
  - a request in flight at the SIGHUP ends with the old secret; its retry
    and everything after carry the new one;
  - SIGHUP with the secret file gone keeps the old sink and says why;
  - no secret value ever reaches stdout or stderr.
Configuration errors (missing variable, missing or empty file) are in
tests/run/test_run_secrets.py.
"""
import base64
import hashlib
import hmac
import json
import signal
import time

from conftest import events, sink_counters

KEY1 = b"libsecdet-secret-rotation-key-01"
KEY2 = b"libsecdet-secret-rotation-key-02"
SECRET1 = "whsec_" + base64.b64encode(KEY1).decode()
SECRET2 = "whsec_" + base64.b64encode(KEY2).decode()
TOKEN = "Bearer tok-5b0d8e1f-never-printed"


def signed_with(key, req):
    msg = f'{req.headers["webhook-id"]}.{req.headers["webhook-timestamp"]}.'.encode() + req.body
    want = "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    return want in req.headers.get("webhook-signature", "").split()


def assert_no_secret(runner, *values):
    out = "\n".join(runner.out_lines) + "\n" + runner.stderr
    for v in values:
        assert v not in out, f"a secret value reached the output: {v!r}"


def wait_line(runner, text, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in line for line in runner.err_lines):
            return
        time.sleep(0.02)
    raise AssertionError(f"no stderr line with {text!r}; stderr:\n{runner.stderr}")


def counters_when(runner, name, pred, timeout=15.0):
    """The sink's counters once pred(counters) holds (the endpoint answers
    before the sink counts the delivery)."""
    deadline = time.monotonic() + timeout
    while True:
        c = sink_counters(runner.stats(), name)
        if pred(c) or time.monotonic() > deadline:
            return c
        time.sleep(0.05)


def append(path, text):
    with open(path, "a") as f:
        f.write(text)


def test_url_secret_and_header_from_env_and_from_files_sign_every_alert(run, hook, tmp_path, monkeypatch):
    by_env, by_file = hook(), hook()
    monkeypatch.setenv("SECDET_TEST_HOOK_URL", by_env.url + "/env?token=url-token-never-printed")
    monkeypatch.setenv("SECDET_TEST_HOOK_SECRET", SECRET1)
    monkeypatch.setenv("SECDET_TEST_TOKEN", TOKEN)
    # Written as `echo` writes them: the one trailing newline is not part of the value.
    (tmp_path / "url").write_text(by_file.url + "/file\n")
    (tmp_path / "secret").write_text(SECRET2 + "\r\n")
    (tmp_path / "secret").chmod(0o600)
    (tmp_path / "url").chmod(0o600)
    sinks = [
        {"type": "webhook", "name": "env", "url": {"env": "SECDET_TEST_HOOK_URL"},
         "secret": {"env": "SECDET_TEST_HOOK_SECRET"}, "headers": {"Authorization": {"env": "SECDET_TEST_TOKEN"}}},
        # Relative to the configuration file (tmp/run1/secdet.json).
        {"type": "webhook", "name": "file", "url": {"file": "../url"}, "secret": {"file": str(tmp_path / "secret")},
         "headers": {"env": "production"}},  # a header named "env", not a reference
    ]
    r = run(sinks, events=events(20), input="stdin")
    assert r.wait_exit(20) == 0, r.stderr
    for srv, key, path in ((by_env, KEY1, "/env?token=url-token-never-printed"), (by_file, KEY2, "/file")):
        reqs = srv.snapshot()
        assert len(reqs) == 20 and all(q.status == 200 for q in reqs)
        assert all(q.path == path for q in reqs)
        assert all(signed_with(key, q) for q in reqs)
        assert not any(signed_with(KEY2 if key == KEY1 else KEY1, q) for q in reqs)
    assert all(q.headers["authorization"] == TOKEN for q in by_env.snapshot())
    assert all(q.headers["env"] == "production" for q in by_file.snapshot())
    assert "warning" not in r.stderr  # 0600 files: nothing to say
    assert_no_secret(r, SECRET1, SECRET2, TOKEN, "url-token-never-printed", KEY1.decode(), KEY2.decode())


def test_sighup_with_a_rotated_secret_file_keeps_the_pending_alerts_and_signs_with_the_new_secret(run, hook,
                                                                                                 tmp_path):
    srv = hook()
    secret = tmp_path / "hook.secret"
    secret.write_text(SECRET1 + "\n")
    secret.chmod(0o600)
    sink = {"type": "webhook", "name": "hook", "url": srv.url + "/in", "secret": {"file": str(secret)},
            "max_attempts": 0, "backoff_ms": 100, "backoff_max_ms": 400}
    r = run([sink, {"type": "file", "name": "copy", "path": str(tmp_path / "copy.jsonl")}],
            spool_dir=str(tmp_path / "spool"))
    r.ready()
    data = r.dir / "events.jsonl"

    append(data, events(5))
    srv.wait_for(lambda rs: len(srv.ok_ids) >= 5, 15, "the first 5 alerts")
    assert all(signed_with(KEY1, q) for q in srv.snapshot())

    # The endpoint goes down; 10 alerts wait in the sink (in memory and in its spool).
    srv.down()
    append(data, events(10, start=5))
    c = counters_when(r, "hook", lambda c: c["accepted"] == 15 and c["retries"] >= 1)
    assert c["accepted"] == 15 and c["pending"] == 10 and c["retries"] >= 1, c

    secret.write_text(SECRET2 + "\n")
    r.proc.send_signal(signal.SIGHUP)
    rel = r.status("reload")
    assert rel["ok"] is True and rel["sinks_ok"] is True, rel
    assert rel["sinks_reconfigured"] == 1, rel  # the file sink's configuration did not change
    wait_line(r, "sink hook: reconfigured")
    before = len(srv.snapshot())
    c = sink_counters(r.stats(), "hook")
    assert c["pending"] == 10 and c["dropped"] == 0 and c["dead_lettered"] == 0, c

    srv.up()
    append(data, events(5, start=15))
    srv.wait_for(lambda rs: len(srv.ok_ids) >= 20, 20, "all 20 alerts")
    after = srv.snapshot()[before:]
    assert after and all(signed_with(KEY2, q) for q in after)
    assert not any(signed_with(KEY1, q) for q in after)
    ns = sorted({json.loads(q.body)["events"][0]["n"] for q in srv.snapshot() if q.status == 200})
    assert ns == list(range(20))

    c = counters_when(r, "hook", lambda c: c["pending"] == 0)
    assert c["delivered"] == 20 and c["pending"] == 0 and c["dropped"] == 0 and c["dead_lettered"] == 0, c
    assert c["accepted"] == 20, c  # the same sink, counters and all
    assert r.stop() == 0
    assert len((tmp_path / "copy.jsonl").read_text().splitlines()) == 20
    assert_no_secret(r, SECRET1, SECRET2)


def test_a_request_in_flight_at_the_sighup_ends_with_the_old_secret_and_its_retry_uses_the_new(run, hook,
                                                                                                tmp_path):
    srv = hook(mode="hang")
    secret = tmp_path / "hook.secret"
    secret.write_text(SECRET1)
    secret.chmod(0o600)
    sink = {"type": "webhook", "name": "hook", "url": srv.url, "secret": {"file": str(secret)},
            "timeout_ms": 1500, "backoff_ms": 50, "backoff_max_ms": 100, "max_in_flight": 1}
    r = run([sink], events=events(3))
    r.ready()
    srv.wait_requests(1, 10)  # the first alert's request hangs

    secret.write_text(SECRET2)
    r.proc.send_signal(signal.SIGHUP)
    assert r.status("reload")["sinks_reconfigured"] == 1
    srv.set("ok")
    srv.wait_for(lambda rs: len(srv.ok_ids) >= 3, 20, "3 alerts delivered")
    reqs = srv.snapshot()
    assert signed_with(KEY1, reqs[0]) and reqs[0].status == 0  # hung, then timed out
    # Nothing else went out while it hung (max_in_flight 1); the swap waited for it.
    assert all(signed_with(KEY2, q) for q in reqs[1:]), [q.headers.get("webhook-signature") for q in reqs]
    assert reqs[1].headers["webhook-id"] == reqs[0].headers["webhook-id"]  # its retry
    assert r.stop() == 0


def test_sighup_with_the_secret_file_gone_keeps_the_old_sink_and_says_why(run, hook, tmp_path):
    srv = hook()
    secret = tmp_path / "hook.secret"
    secret.write_text(SECRET1)
    secret.chmod(0o600)
    r = run([{"type": "webhook", "name": "hook", "url": srv.url, "secret": {"file": str(secret)}}])
    r.ready()
    data = r.dir / "events.jsonl"
    append(data, events(2))
    srv.wait_for(lambda rs: len(srv.ok_ids) >= 2, 15, "2 alerts")

    secret.unlink()
    r.proc.send_signal(signal.SIGHUP)
    rel = r.status("reload")
    assert rel["ok"] is False and rel["sinks_ok"] is False and rel["rules_ok"] is True, rel
    assert rel["sinks_reconfigured"] == 0 and rel["errors"] == 1, rel
    assert (f"secdet: sinks[0]: sink 'hook': secret: cannot read {secret}: No such file or directory"
            in r.err_lines), r.stderr
    assert any("every sink keeps its previous configuration" in line for line in r.err_lines), r.stderr

    append(data, events(2, start=2))
    srv.wait_for(lambda rs: len(srv.ok_ids) >= 4, 15, "4 alerts")
    assert all(signed_with(KEY1, q) for q in srv.snapshot())
    assert r.stop() == 0
    assert_no_secret(r, SECRET1)
