"""`secdet run`'s TCP input with TLS, against clients made with Python's ssl
module and `openssl s_client`, and certificates made by the openssl command
for these tests: a CA, the server's certificate (for IP 127.0.0.1) and key
(also encrypted with a passphrase), a client certificate from that CA, and
a client certificate from another CA.

What is pinned: events over TLS are evaluated; with require_client_cert a
client without a certificate, or with one of another CA, is refused and
nothing it sent is evaluated; a plain-TCP client on the TLS port is refused;
a handshake that does not finish in time is closed; each failure is
counted (tls_failed) and logged, and disturbs no other connection; a bad
key, passphrase or file is named with what OpenSSL said.
"""
import json
import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from input_helpers import event, refused, run, wait_stats  # noqa: F401 (run: a fixture)
from test_run import BIN, ROOT, RULES, TIMEOUT, alert_users, connect, port_of

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN={name}", "-days", "2", cwd=d)


def make_cert(d, name, ca, ext):
    (d / f"{name}.ext").write_text(ext)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    make_cert(d, "client", "ca", "extendedKeyUsage=clientAuth\n")
    make_cert(d, "intruder", "other-ca", "extendedKeyUsage=clientAuth\n")
    openssl("pkey", "-in", "server.key", "-aes256", "-passout", "pass:s3cret word", "-out", "server-enc.key", cwd=d)
    return d


def tls_input(pki, **tls):
    return {"type": "tcp", "address": "127.0.0.1", "port": 0,
            "tls": {"cert": str(pki / "server.pem"), "key": str(pki / "server.key"), **tls}}


def client_context(pki, cert=None):
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if cert:
        ctx.load_cert_chain(str(pki / f"{cert}.pem"), str(pki / f"{cert}.key"))
    return ctx


def tls_connect(pki, port, cert=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return client_context(pki, cert).wrap_socket(raw, server_hostname="127.0.0.1")


def refused_during_or_after_handshake(pki, port, cert, data):
    """A client the server refuses: in the handshake (TLS 1.2, or an error
    it sees at once) or just after it (TLS 1.3: the client finishes first)."""
    try:
        bad = tls_connect(pki, port, cert=cert)
        bad.sendall(data)
        assert refused(bad)
        bad.close()
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass


def test_events_over_tls_are_evaluated_and_a_clean_close_ends_the_last_line(run, pki):
    r = run(tls_input(pki))
    port = port_of(r.ready(), "tcp")
    a = tls_connect(pki, port)
    assert a.version() in ("TLSv1.2", "TLSv1.3")
    a.sendall(event("one") + b'{"action":"allow","user":"x"}\n' + event("two")[:20])
    a.sendall(event("two")[20:] + b'{"action":"deny","user":"last"}')  # no final newline
    assert alert_users(r.take_alerts(2)) == ["one", "two"]
    a.unwrap().close()  # close_notify: the last line is complete
    assert alert_users(r.take_alerts(1)) == ["last"]
    s = r.stats()
    assert s["tls_failed"] == 0 and s["events"] == 4
    assert not any("beyond loopback" in line for line in r.err_lines), r.err_lines
    assert r.stop() == 0


def test_a_connection_that_ends_without_close_notify_drops_its_partial_line(run, pki):
    r = run(tls_input(pki))
    port = port_of(r.ready(), "tcp")
    a = tls_connect(pki, port)
    a.sendall(event("whole") + b'{"action":"deny","user":"cut"}')
    assert alert_users(r.take_alerts(1)) == ["whole"]
    a.shutdown(socket.SHUT_WR)  # a FIN, no close_notify: the stream may have been cut by someone in the middle
    deadline = time.monotonic() + TIMEOUT
    while not any("without a TLS close_notify" in line for line in r.err_lines):
        assert time.monotonic() < deadline, [x for x in r.err_lines if not x.startswith("{")]
        r.stats()
    r.no_more_alerts()
    a.close()
    assert r.stop() == 0


def test_mutual_tls_refuses_clients_without_a_certificate_or_with_another_cas(run, pki):
    r = run(tls_input(pki, client_ca=str(pki / "ca.pem"), require_client_cert=True))
    port = port_of(r.ready(), "tcp")
    good = tls_connect(pki, port, cert="client")
    good.sendall(b'{"action":"deny","user":"pa')  # a partial line held across the failures below
    for cert in (None, "intruder"):
        try:
            bad = tls_connect(pki, port, cert=cert)
            bad.sendall(event(f"evil-{cert}"))  # TLS 1.3: the client learns of the refusal after its Finished
            assert refused(bad)
            bad.close()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass  # refused during the handshake
    s = wait_stats(r, lambda s: s["tls_failed"] == 2, "both refusals counted")
    assert s["events"] == 0 and s["malformed"] == 0
    failures = [line for line in r.err_lines if "TLS handshake failed" in line]
    assert any("peer did not return a certificate" in line for line in failures), r.err_lines
    assert any("certificate verification failed" in line for line in failures), failures
    assert failures[0].startswith(f"secdet: input app: tcp 127.0.0.1:{port} client ")
    good.sendall(b'rtner"}\n' + event("ok"))
    assert alert_users(r.take_alerts(2)) == ["ok", "partner"]
    r.no_more_alerts()  # nothing the refused clients sent was evaluated
    good.close()
    assert r.stop() == 0


def test_openssl_s_client_with_a_client_certificate_is_served(run, pki):
    r = run(tls_input(pki, client_ca=str(pki / "ca.pem"), require_client_cert=True))
    port = port_of(r.ready(), "tcp")
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(pki / "ca.pem"),
                        "-cert", str(pki / "client.pem"), "-key", str(pki / "client.key"), "-verify_return_error",
                        "-brief"], input=event("s_client"), capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr.decode()
    assert alert_users(r.take_alerts(1)) == ["s_client"]
    assert r.stats()["tls_failed"] == 0
    assert r.stop() == 0


def test_a_certificate_is_optional_with_client_ca_alone_but_must_verify_when_given(run, pki):
    r = run(tls_input(pki, client_ca=str(pki / "ca.pem")))
    port = port_of(r.ready(), "tcp")
    anonymous = tls_connect(pki, port)
    anonymous.sendall(event("anonymous"))
    assert alert_users(r.take_alerts(1)) == ["anonymous"]
    refused_during_or_after_handshake(pki, port, "intruder", event("intruder"))
    wait_stats(r, lambda s: s["tls_failed"] == 1, "the intruder refused")
    r.no_more_alerts()
    anonymous.close()
    assert r.stop() == 0


def test_a_plain_tcp_client_on_the_tls_port_is_refused_and_nothing_it_sent_is_evaluated(run, pki):
    r = run(tls_input(pki))
    port = port_of(r.ready(), "tcp")
    plain = connect(port)
    plain.sendall(event("plain") * 3)
    assert refused(plain)
    s = wait_stats(r, lambda s: s["tls_failed"] == 1, "the plain client counted")
    assert s["events"] == 0 and s["malformed"] == 0
    assert any("TLS handshake failed" in line for line in r.err_lines), r.err_lines
    ok = tls_connect(pki, port)
    ok.sendall(event("tls"))
    assert alert_users(r.take_alerts(1)) == ["tls"]
    ok.close()
    assert r.stop() == 0


def test_a_handshake_that_does_not_finish_in_time_is_closed_and_a_port_check_is_not_a_failure(run, pki):
    r = run(tls_input(pki, handshake_timeout_ms=300))
    port = port_of(r.ready(), "tcp")
    check = connect(port)
    check.close()  # a load balancer's port check: connects, sends nothing, leaves
    silent = connect(port)
    assert refused(silent)
    s = wait_stats(r, lambda s: s["tls_failed"] == 1, "the silent client counted")
    assert s["connections"] == 0
    assert any("not finished within 300 ms" in line for line in r.err_lines), r.err_lines
    assert r.stop() == 0


@pytest.mark.parametrize("how", ["string", "env", "file"])
def test_an_encrypted_key_with_its_passphrase_written_or_referenced(run, pki, tmp_path, monkeypatch, how):
    monkeypatch.setenv("SECDET_TEST_KEY_PASS", "s3cret word")
    (tmp_path / "pass.txt").write_text("s3cret word\n")
    (tmp_path / "pass.txt").chmod(0o600)
    passphrase = {"string": "s3cret word", "env": {"env": "SECDET_TEST_KEY_PASS"}, "file": {"file": "pass.txt"}}[how]
    r = run(tls_input(pki, key=str(pki / "server-enc.key"), key_passphrase=passphrase))
    port = port_of(r.ready(), "tcp")
    c = tls_connect(pki, port)
    c.sendall(event("enc"))
    assert alert_users(r.take_alerts(1)) == ["enc"]
    c.close()
    assert r.stop() == 0
    assert not any("s3cret" in line for line in r.err_lines)


def test_a_passphrase_reference_that_cannot_be_read_is_named_not_printed(tmp_path):
    (tmp_path / "r.secdet").write_text(RULES)
    config = {"rules": ["r.secdet"], "sources": [{"name": "app", "input": {
        "type": "tcp", "address": "127.0.0.1", "port": 0,
        "tls": {"cert": "c.pem", "key": "k.pem", "key_passphrase": {"env": "SECDET_TEST_NO_SUCH_VAR"}}}}]}
    (tmp_path / "c.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k != "SECDET_TEST_NO_SUCH_VAR"}
    p = subprocess.run([BIN, "run", "--config", str(tmp_path / "c.json")], capture_output=True, timeout=TIMEOUT,
                       env=env)
    assert p.returncode == 2
    assert "sources[0].input.tls.key_passphrase: environment variable SECDET_TEST_NO_SUCH_VAR" in p.stderr.decode(), \
        p.stderr.decode()


def test_the_tls_input_of_config_md_runs_with_mutual_tls_and_octet_counting(run, pki):
    text = (pathlib.Path(ROOT) / "docs" / "config.md").read_text()
    section = text[text.index("### TLS"):]
    start = section.index("```json\n") + len("```json\n")
    inp = json.loads(section[start:section.index("```", start)])
    assert set(inp["tls"]) == {"cert", "key", "key_passphrase", "client_ca", "require_client_cert"}
    inp["port"] = 0  # its paths and passphrase are this test's; the rest as written
    inp["tls"].update(cert=str(pki / "server.pem"), key=str(pki / "server-enc.key"), key_passphrase="s3cret word",
                      client_ca=str(pki / "ca.pem"))
    r = run(inp)
    port = port_of(r.ready(), "tcp")
    c = tls_connect(pki, port, cert="client")
    msg = event("doc").rstrip(b"\n")
    c.sendall(b"%d %s" % (len(msg), msg))
    assert alert_users(r.take_alerts(1)) == ["doc"]
    refused_during_or_after_handshake(pki, port, None, b"%d %s" % (len(msg), msg))
    wait_stats(r, lambda s: s["tls_failed"] == 1, "the client without a certificate refused")
    r.no_more_alerts()
    c.close()
    assert r.stop() == 0


def test_tls_beyond_loopback_starts_without_the_plain_tcp_warning(run, pki):
    inp = tls_input(pki)
    inp["address"] = "0.0.0.0"
    r = run(inp)
    r.ready()
    assert not any("beyond loopback" in line for line in r.err_lines), r.err_lines
    assert r.stop() == 0


@pytest.mark.parametrize("tls,message", [
    ({"key": "server-enc.key", "key_passphrase": "wrong"},
     "tls.key {d}/server-enc.key: cannot read the private key: bad decrypt (is key_passphrase right?)"),
    ({"key": "server-enc.key"}, "tls.key {d}/server-enc.key: cannot read the private key: "),
    ({"key": "client.key"}, "tls.key {d}/client.key: does not belong to the certificate in tls.cert: "),
    ({"cert": "missing.pem"}, "tls.cert {d}/missing.pem: cannot read the certificate: "),
    ({"cert": "server.key"}, "tls.cert {d}/server.key: cannot read the certificate: "),
    ({"client_ca": "missing-ca.pem"}, "tls.client_ca {d}/missing-ca.pem: cannot read CA certificates: "),
])
def test_bad_tls_files_are_named_with_what_openssl_said(tmp_path, pki, tls, message):
    full = {"cert": "server.pem", "key": "server.key", **tls}
    full = {k: (str(pki / v) if k in ("cert", "key", "client_ca") else v) for k, v in full.items()}
    (tmp_path / "r.secdet").write_text(RULES)
    config = {"rules": [str(tmp_path / "r.secdet")],
              "sources": [{"name": "app", "input": {"type": "tcp", "address": "127.0.0.1", "port": 0, "tls": full}}]}
    (tmp_path / "c.json").write_text(json.dumps(config))
    p = subprocess.run([BIN, "run", "--config", str(tmp_path / "c.json")], capture_output=True, timeout=TIMEOUT)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert "secdet: sources[0].input[0] (tcp): " + message.format(d=pki) in err, err
    line = next(x for x in err.splitlines() if "sources[0].input[0]" in x)
    assert not line.endswith(": "), err  # OpenSSL's reason follows
    assert "wrong" not in err  # the passphrase is never printed


def test_relative_tls_paths_are_relative_to_the_configuration_file(tmp_path, pki):
    conf = tmp_path / "conf"
    conf.mkdir()
    shutil.copy(pki / "server.key", conf / "server.key")
    (conf / "r.secdet").write_text(RULES)
    config = {"rules": ["r.secdet"], "sources": [{"name": "app", "input": {
        "type": "tcp", "address": "127.0.0.1", "port": 0, "tls": {"cert": "certs/server.pem", "key": "server.key"}}}]}
    (conf / "c.json").write_text(json.dumps(config))
    p = subprocess.run([BIN, "run", "--config", str(conf / "c.json")], capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 2
    assert (f"tls.cert {conf}/certs/server.pem: cannot read the certificate: No such file or directory"
            in p.stderr.decode()), p.stderr.decode()
