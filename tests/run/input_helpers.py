"""Helpers of the TCP input tests (test_run_tcp_limits.py, test_run_tls.py):
a `secdet run` with one source "app" whose input the test gives, waiting for
a stats line that says something, and telling a refused client apart.
Runner and the rest come from test_run.py."""
import socket
import ssl
import time

import pytest

from test_run import RULES, TIMEOUT, Runner


@pytest.fixture
def run(tmp_path):
    """start(inputs, **top_level_keys) -> Runner; every process is killed at teardown."""
    started = []
    (tmp_path / "rules.secdet").write_text(RULES)

    def start(inputs, **extra):
        config = {"rules": [str(tmp_path / "rules.secdet")],
                  "sources": [{"name": "app", "format": "jsonl", "input": inputs}]}
        config.update(extra)
        r = Runner(tmp_path, config)
        started.append(r)
        return r

    yield start
    for r in started:
        r.kill()


def wait_stats(r, cond, what):
    """The first stats line (asked for with SIGUSR1) for which cond holds."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        s = r.stats()
        if cond(s):
            return s
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: never true; last stats {s}")
        time.sleep(0.05)


def refused(sock, timeout=TIMEOUT):
    """True when the server ends the connection (EOF, a reset, a TLS alert) within timeout."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def event(user):
    return b'{"action":"deny","user":"%s"}\n' % user.encode()
