"""`secdet run`'s TCP input under pressure: max_connections, idle_timeout_ms,
running out of file descriptors, and words for listeners that cannot start
(a port in use) or should not start silently (plain TCP and UDP beyond
loopback).

The rule of these tests: a client is either served (its events are
evaluated) or refused and counted (connections_refused, with a log line) —
never connected and unread, never gone without a trace.

Real sockets on 127.0.0.1 (and 0.0.0.0 with port 0 for the warnings); every
wait has a deadline; every process started is killed at teardown.
"""
import json
import os
import pathlib
import resource
import socket
import subprocess
import time

import pytest

from input_helpers import event, refused, run, wait_stats  # noqa: F401 (run: a fixture)
from test_run import BIN, ROOT, RULES, TIMEOUT, alert_users, connect, port_of


def tcp(**keys):
    return {"type": "tcp", "address": "127.0.0.1", "port": 0, **keys}


def log_lines(r, needle):
    r.stats()  # every line printed before the stats line is in err_lines now
    return [line for line in r.err_lines if needle in line]


def test_max_connections_refuses_the_next_client_at_once_and_counts_it(run):
    r = run(tcp(max_connections=3))
    port = port_of(r.ready(), "tcp")
    clients = [connect(port) for _ in range(3)]
    wait_stats(r, lambda s: s["connections"] == 3, "three clients connected")
    extra = connect(port)
    extra.sendall(event("extra"))
    assert refused(extra), "the 4th client was left connected"
    s = wait_stats(r, lambda s: s["connections_refused"] == 1, "the 4th client counted")
    assert s["connections"] == 3
    assert any("refused: 3 connections open (max_connections)" in line
               for line in log_lines(r, "refused")), r.err_lines
    for i, c in enumerate(clients):
        c.sendall(event(f"c{i}"))
    assert alert_users(r.take_alerts(3)) == ["c0", "c1", "c2"]
    r.no_more_alerts()  # the refused client's event was never evaluated
    clients.pop().close()
    wait_stats(r, lambda s: s["connections"] == 2, "a client left")
    late = connect(port)
    late.sendall(event("late"))
    assert alert_users(r.take_alerts(1)) == ["late"]
    for c in clients + [extra, late]:
        c.close()
    assert r.stop() == 0


def test_idle_timeout_closes_quiet_clients_and_keeps_busy_ones(run):
    r = run(tcp(idle_timeout_ms=1000))
    port = port_of(r.ready(), "tcp")
    quiet = connect(port)
    quiet.sendall(event("quiet"))
    half = connect(port)
    half.sendall(b'{"action":"deny","user":"ha')  # then nothing
    busy = connect(port)
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < 2.5:  # 100 ms apart: well inside the 1 s allowed
        busy.sendall(event(f"b{sent}"))
        sent += 1
        time.sleep(0.1)
    assert refused(quiet, timeout=0.1)  # long closed by now
    assert refused(half, timeout=0.1)
    alerts = r.take_alerts(1 + sent)
    assert "quiet" in alert_users(alerts)
    s = r.stats()
    assert s["idle_closed"] == 2
    assert s["connections"] == 1  # busy is still served
    assert any("idle_timeout_ms" in line and "partial message dropped" in line for line in r.err_lines), r.err_lines
    busy.sendall(event("still"))
    assert alert_users(r.take_alerts(1)) == ["still"]
    busy.close()
    assert r.stop() == 0


def test_out_of_file_descriptors_clients_are_refused_counted_and_logged_never_lost(run):
    r = run(tcp())
    port = port_of(r.ready(), "tcp")
    pid = r.proc.pid
    # Room for 10 more descriptors from here on: the 40 clients below cannot all be held.
    limit = len(os.listdir(f"/proc/{pid}/fd")) + 10
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
    idle = [connect(port) for _ in range(40)]
    s = wait_stats(r, lambda s: s["connections"] + s["connections_refused"] == 40,
                   "every client served or refused")
    assert 0 < s["connections"] < 40
    assert s["accept_errors"] >= 1
    lines = [line for line in log_lines(r, "refused") if "Too many open files" in line]
    assert lines and f"may hold {limit}" in lines[0], r.err_lines
    # One more client while no descriptor is left: refused, counted, its event never evaluated.
    late = connect(port)
    late.sendall(event("refused"))
    assert refused(late)
    wait_stats(r, lambda s: s["connections_refused"] == 41 - s["connections"], "the late client counted")
    r.no_more_alerts()
    # Descriptors come back as clients leave: the next client is served.
    for c in idle[:5]:
        c.close()
    held = s["connections"]
    wait_stats(r, lambda s: s["connections"] == held - 5, "five clients left")
    ok = connect(port)
    ok.sendall(event("served"))
    assert alert_users(r.take_alerts(1)) == ["served"]
    for c in idle[5:] + [late, ok]:
        c.close()
    assert r.stop() == 0


@pytest.mark.parametrize("kind", ["tcp", "udp"])
def test_a_port_in_use_says_so(tmp_path, kind):
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    if kind == "tcp":
        taken.listen()
    port = taken.getsockname()[1]
    (tmp_path / "r.secdet").write_text(RULES)
    config = {"rules": [str(tmp_path / "r.secdet")],
              "sources": [{"name": "app", "input": {"type": kind, "address": "127.0.0.1", "port": port}}]}
    (tmp_path / "c.json").write_text(json.dumps(config))
    p = subprocess.run([BIN, "run", "--config", str(tmp_path / "c.json")], capture_output=True, timeout=TIMEOUT)
    taken.close()
    assert p.returncode == 2
    assert (f"secdet: sources[0].input[0] ({kind}): {kind} address 127.0.0.1:{port} is already in use"
            in p.stderr.decode()), p.stderr.decode()


def test_an_address_that_is_not_an_ip_literal_says_so(tmp_path):
    (tmp_path / "r.secdet").write_text(RULES)
    config = {"rules": [str(tmp_path / "r.secdet")],
              "sources": [{"name": "app", "input": {"type": "tcp", "address": "localhost", "port": 0}}]}
    (tmp_path / "c.json").write_text(json.dumps(config))
    p = subprocess.run([BIN, "run", "--config", str(tmp_path / "c.json")], capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 2
    assert 'address "localhost" is not an IPv4 or IPv6 address' in p.stderr.decode(), p.stderr.decode()


def test_plain_tcp_and_udp_beyond_loopback_start_with_the_warnings_config_md_shows(run):
    r = run([{"type": "tcp", "address": "0.0.0.0", "port": 0},
             {"type": "udp", "address": "0.0.0.0", "port": 0},
             {"type": "tcp", "address": "127.0.0.1", "port": 0},
             {"type": "udp", "address": "127.0.0.1", "port": 0}])
    listening = r.ready()
    ports = {x["input"]: x["port"] for x in listening if x["address"] == "0.0.0.0"}
    warnings = [line for line in r.err_lines if "warning: listening beyond loopback" in line]
    # The lines of docs/config.md, with the ports bound here for its 5140 and 5141.
    doc = (pathlib.Path(ROOT) / "docs" / "config.md").read_text().splitlines()
    documented = [line.replace(":5140:", f":{ports['tcp']}:").replace(":5141:", f":{ports['udp']}:")
                  for line in doc if line.startswith("secdet: input app: ") and "warning" in line]
    assert len(documented) == 2
    assert warnings == documented  # and none for the loopback ones
    c = connect(ports["tcp"])  # it does start and serve
    c.sendall(event("open"))
    assert alert_users(r.take_alerts(1)) == ["open"]
    c.close()
    assert r.stop() == 0


@pytest.mark.parametrize("inp,message", [
    (tcp(max_connections=0), "sources[0].input.max_connections: expected an integer from 1 to 1000000"),
    (tcp(idle_timeout_ms=-1), "sources[0].input.idle_timeout_ms: expected an integer"),
    (tcp(tls={"cert": "c.pem"}), "sources[0].input.tls.key: missing (required)"),
    (tcp(tls={"cert": "c.pem", "key": "k.pem", "require_client_cert": True}),
     "sources[0].input.tls.require_client_cert: needs client_ca"),
    (tcp(tls={"cert": "c.pem", "key": "k.pem", "verify": True}), "sources[0].input.tls.verify: unknown key"),
    (tcp(tls={"cert": "c.pem", "key": "k.pem", "key_passphrase": 7}),
     'sources[0].input.tls.key_passphrase: expected a string, {"env": NAME} or {"file": PATH}'),
    ({"type": "udp", "address": "127.0.0.1", "port": 0, "max_connections": 5},
     "sources[0].input.max_connections: unknown key"),
])
def test_tcp_limit_and_tls_config_errors_name_their_json_path(tmp_path, inp, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"rules": ["r"], "sources": [{"name": "a", "input": inp}]}))
    p = subprocess.run([BIN, "run", "--config", str(path)], capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 2
    assert f"{path}: {message}" in p.stderr.decode(), p.stderr.decode()


def test_a_line_one_byte_over_max_event_bytes_is_rejected_by_the_input(run):
    r = run(tcp(), limits={"max_event_bytes": 40})
    port = port_of(r.ready(), "tcp")
    c = connect(port)
    exact = b'{"action":"deny","user":"%s"}' % (b"x" * 13)  # 40 bytes
    assert len(exact) == 40
    c.sendall(exact[:-2] + b'y"}' + b"\n" + exact + b"\r\n")  # 41 bytes, then 40 and a CRLF
    assert alert_users(r.take_alerts(1)) == ["x" * 13]
    s = r.stats()
    assert s["oversized"] == 1 and s["malformed"] == 1
    c.close()
    assert r.stop() == 0
