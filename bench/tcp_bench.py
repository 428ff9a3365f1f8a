#!/usr/bin/env python3
"""tcp_bench.py — what reading events from the TCP input costs, plain and
with TLS, next to `secdet scan` reading the same events from a file.

    tcp_bench.py SECDET INPUT.jsonl RULES [--runs N] [--out FILE.md]

One run, on one input, with the same rules (a source "cloudtrail", format
jsonl, alerts to /dev/null through the default stdout sink):
  1. secdet scan on the file: the baseline (1.00);
  2. secdet run, tcp input, one connection, plain;
  3. the same with TLS (an EC P-256 certificate the openssl command makes
     for the run; TLS 1.3, Python's ssl module as the client);
  4. the same with mutual TLS (a client certificate, require_client_cert);
  5. plain and TLS again with the input spread over 4 connections;
  6. TLS handshakes per second: connections that handshake and close, one
     after the other, from one client (the server's cost per new client).
Rates are events over the time from the first byte sent to the stats line
that counts every event (polled with SIGUSR1 every 20 ms), best of --runs.
The client sends the file in 1 MiB writes from threads of this process, so
a rate is bounded by Python's sending too; the report gives the client's
own send time beside it. Not part of ctest.
"""
import argparse
import json
import os
import queue
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

CHUNK = 1 << 20


def make_pki(d):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=bench-ca", "-days", "1")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\n"), ("client", "extendedKeyUsage=clientAuth\n")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        run("req", *curve, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext")


class Run:
    """A secdet run process whose stderr lines are read by a thread."""

    def __init__(self, secdet, workdir, rules, tcp_input):
        cfg = {"rules": [rules], "sources": [{"name": "cloudtrail", "format": "jsonl", "input": tcp_input}]}
        path = os.path.join(workdir, "run.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        self.proc = subprocess.Popen([secdet, "run", "--config", path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        while True:
            obj = self.next_status()
            if obj.get("type") == "listening":
                self.port = obj["port"]
            if obj.get("type") == "ready":
                break

    def _pump(self):
        for line in self.proc.stderr:
            self.lines.put(line.decode("utf-8", "replace"))
        self.lines.put(None)

    def next_status(self, timeout=30):
        while True:
            line = self.lines.get(timeout=timeout)
            if line is None:
                raise RuntimeError("secdet run ended")
            if line.startswith("{"):
                return json.loads(line)

    def events(self):
        self.proc.send_signal(signal.SIGUSR1)
        while True:
            obj = self.next_status()
            if obj.get("type") == "stats":
                return obj

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def split_lines(data, parts):
    """data cut into `parts` pieces at line ends."""
    out, start = [], 0
    for i in range(1, parts):
        cut = data.index(b"\n", len(data) * i // parts) + 1
        out.append(data[start:cut])
        start = cut
    out.append(data[start:])
    return out


def feed(port, piece, ctx, done):
    raw = socket.create_connection(("127.0.0.1", port))
    s = ctx.wrap_socket(raw, server_hostname="127.0.0.1") if ctx else raw
    t0 = time.monotonic()
    view = memoryview(piece)
    for i in range(0, len(piece), CHUNK):
        s.sendall(view[i:i + CHUNK])
    done.append(time.monotonic() - t0)
    if ctx:
        s.unwrap()
    s.close()


def over_tcp(secdet, workdir, rules, data, n, tls, conns, pki):
    inp = {"type": "tcp", "address": "127.0.0.1", "port": 0}
    ctx = None
    if tls:
        inp["tls"] = {"cert": f"{pki}/server.pem", "key": f"{pki}/server.key"}
        ctx = ssl.create_default_context(cafile=f"{pki}/ca.pem")
        if tls == "mutual":
            inp["tls"].update(client_ca=f"{pki}/ca.pem", require_client_cert=True)
            ctx.load_cert_chain(f"{pki}/client.pem", f"{pki}/client.key")
    r = Run(secdet, workdir, rules, inp)
    try:
        sent = []
        t0 = time.monotonic()
        threads = [threading.Thread(target=feed, args=(r.port, p, ctx, sent)) for p in split_lines(data, conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        while True:
            s = r.events()
            if s["events"] + s["malformed"] >= n:
                break
            time.sleep(0.02)
        took = time.monotonic() - t0
        assert s["tls_failed"] == 0 and s["events"] == n, s
        return n / took, max(sent)
    finally:
        r.stop()


def handshakes(secdet, workdir, rules, pki, seconds=3.0):
    inp = {"type": "tcp", "address": "127.0.0.1", "port": 0,
           "tls": {"cert": f"{pki}/server.pem", "key": f"{pki}/server.key"}}
    ctx = ssl.create_default_context(cafile=f"{pki}/ca.pem")
    r = Run(secdet, workdir, rules, inp)
    try:
        count, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", r.port)), server_hostname="127.0.0.1")
            s.close()
            count += 1
        rate = count / (time.monotonic() - t0)
        stats = r.events()
        assert stats["tls_failed"] == 0, stats
        return rate
    finally:
        r.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("secdet")
    ap.add_argument("input")
    ap.add_argument("rules")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out")
    a = ap.parse_args()
    a.rules = os.path.abspath(a.rules)  # the run's configuration lives in a temporary directory
    with open(a.input, "rb") as f:
        data = f.read()
    n = data.count(b"\n")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        make_pki(work)
        best = 0.0
        for _ in range(a.runs):
            t0 = time.monotonic()
            subprocess.run([a.secdet, "scan", "--format", "jsonl", "--source", "cloudtrail", "--rules", a.rules,
                            a.input], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            best = max(best, n / (time.monotonic() - t0))
        scan = best
        rows.append(("secdet scan, the file", scan, None))
        for label, tls, conns in (("tcp, 1 connection", None, 1), ("tcp + TLS, 1 connection", "tls", 1),
                                  ("tcp + mutual TLS, 1 connection", "mutual", 1),
                                  ("tcp, 4 connections", None, 4), ("tcp + TLS, 4 connections", "tls", 4)):
            results = [over_tcp(a.secdet, work, a.rules, data, n, tls, conns, work) for _ in range(a.runs)]
            rate, send = max(results)
            rows.append((label, rate, send))
            print(f"{label}: {rate:,.0f} events/s", file=sys.stderr)
        hs = handshakes(a.secdet, work, a.rules, work)
    out = [f"Input: {n:,} JSON lines ({len(data) / 1e6:,.0f} MB), rules {os.path.basename(a.rules)}; "
           f"best of {a.runs}; {os.cpu_count()} CPUs; load average at the end "
           f"{os.getloadavg()[0]:.1f} (numbers compare only on an idle machine).", "",
           "| how | events/s | × scan | client's send time (s) |", "|---|---:|---:|---:|"]
    for label, rate, send in rows:
        out.append(f"| {label} | {rate:,.0f} | {rate / scan:.2f} | {'' if send is None else f'{send:.2f}'} |")
    out += ["", f"TLS handshakes (connect, handshake, close; one client, one after the other): {hs:,.0f}/s"]
    text = "\n".join(out) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
