"""Runs examples/embed/tcp_service: starts it on an ephemeral port of
127.0.0.1, sends events from two clients, checks the alerts it prints, and
stops it with SIGTERM (exit 0). Bounded in time; the service is killed if
anything goes wrong.

usage: python3 tcp_service_test.py PATH/TO/tcp_service
"""
import json
import signal
import socket
import subprocess
import sys

TIMEOUT = 10


def main(binary):
    proc = subprocess.Popen([binary, "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("listening on 127.0.0.1:"), first
        port = int(first.rsplit(":", 1)[1])
        a = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        b = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        a.sendall(b'{"eventName":"ConsoleLogin","user":"root","ip":"203.0.113.7"}\n{"eventName":"Con')
        # b's last line alerts too: once its alert is out, b's earlier lines
        # (read in order on one connection) have been taken, and SIGTERM
        # cannot cut them off.
        b.sendall(b'not json\n{"eventName":"ConsoleLogin","user":"alice"}\n'
                  b'{"eventName":"ConsoleLogin","user":"root","ip":"192.0.2.9"}\n')
        a.sendall(b'soleLogin","user":"root","ip":"198.51.100.2"}\n')
        messages = []
        for _ in range(3):
            line = proc.stdout.readline()
            assert line, "the service ended early: " + proc.stderr.read()
            alert = json.loads(line)
            assert alert["rule"] == "root_console_login" and alert["severity"] == "high", alert
            messages.append(alert["message"])
        assert sorted(messages) == ["root signed in from 192.0.2.9", "root signed in from 198.51.100.2",
                                    "root signed in from 203.0.113.7"], messages
        a.close()
        b.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, (proc.returncode, err)
        assert out == "", out  # no further alert
        assert "4 events, 1 malformed, 3 alerts" in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT)
    print("tcp_service: ok")


if __name__ == "__main__":
    main(sys.argv[1])
