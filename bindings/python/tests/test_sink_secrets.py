"""Sink keys given as secret references ({"env": NAME}, {"file": PATH}) through
add_sink: the library reads them (secdet_sink_from_json), so the binding needs
nothing of its own. A signed webhook to a local HTTP server; a missing
variable raises SinkError naming the key, never a value."""
import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import secdet

from conftest import ROOT_RULE, root_event

KEY = b"python-binding-secret-ref-key-32"


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.got.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    srv.got = []
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_webhook_url_from_env_and_secret_from_a_file_sign_the_alerts(hook, tmp_path, monkeypatch):
    monkeypatch.setenv("SECDET_PY_HOOK_URL", f"http://127.0.0.1:{hook.server_address[1]}/in")
    secret = tmp_path / "hook.secret"
    secret.write_text("whsec_" + base64.b64encode(KEY).decode() + "\n")
    secret.chmod(0o600)
    with secdet.Engine(ROOT_RULE) as e:
        e.add_sink("webhook", name="hook", url={"env": "SECDET_PY_HOOK_URL"}, secret={"file": str(secret)})
        pushed = []
        for i in range(3):
            pushed += e.push(root_event(ip=f"203.0.113.{i}"))
        assert e.drain(timeout=30)
    assert len(hook.got) == len(pushed) == 3
    for headers, body in hook.got:
        h = {k.lower(): v for k, v in headers.items()}
        msg = f'{h["webhook-id"]}.{h["webhook-timestamp"]}.'.encode() + body
        want = "v1," + base64.b64encode(hmac.new(KEY, msg, hashlib.sha256).digest()).decode()
        assert want in h["webhook-signature"].split()
        assert json.loads(body)["id"] == h["webhook-id"]


def test_a_missing_variable_raises_sink_error_naming_the_key(monkeypatch):
    monkeypatch.delenv("SECDET_PY_UNSET", raising=False)
    monkeypatch.setenv("SECDET_PY_SECRET", "whsec_not-base64-secret-value")
    with secdet.Engine(ROOT_RULE) as e:
        with pytest.raises(secdet.SinkError) as info:
            e.add_sink("webhook", url={"env": "SECDET_PY_UNSET"})
        assert "url: environment variable SECDET_PY_UNSET is not set" in str(info.value)
        with pytest.raises(secdet.SinkError) as info:
            e.add_sink("webhook", url="http://127.0.0.1:1/", secret={"env": "SECDET_PY_SECRET"})
        assert "secret: not a valid secret" in str(info.value)
        assert "not-base64-secret-value" not in str(info.value)
