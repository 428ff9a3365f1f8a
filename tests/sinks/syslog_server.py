"""syslog_server.py — a real rsyslogd for the syslog sink tests.

Rsyslog runs Debian's /usr/sbin/rsyslogd in the foreground (-n) with its own
configuration, pid file and work directory in a temporary directory, listening
on 127.0.0.1 free ports: imudp, imtcp (plain), and a second imtcp instance
with the ossl network stream driver (TLS, server certificate from a test CA
made with the openssl CLI: make_pki). Each input has its own ruleset writing
every received message's raw text (%rawmsg%, i.e. the RFC 5424 message
without the TCP framing) as one line of <transport>.log; control characters
are not escaped on receive, so a raw newline inside a message would split it
into two lines. start() returns once a probe message sent over each
transport has come out in its file; stop() ends the process (SIGTERM, then
SIGKILL) and may be followed by start() on the same ports.

parse() splits one record into PRI, header fields, structured data and MSG.
"""
import glob
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
TRANSPORTS = ("udp", "tcp", "tls")
START_TIMEOUT = 20.0

# Facility codes (RFC 5424 table 1, with the usual names).
FACILITY = {"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "authpriv": 10,
            **{f"local{i}": 16 + i for i in range(8)}}
# secdet severity -> syslog severity (format.h, docs/sinks.md).
SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, timeout=30, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_pki(directory, names=("IP:127.0.0.1", "DNS:localhost"), prefix=""):
    """A CA and a server certificate for `names` signed by it, in directory:
    {prefix}ca.pem, {prefix}server.pem, {prefix}server.key. Returns their paths."""
    d = str(directory)
    ca, ca_key = f"{prefix}ca.pem", f"{prefix}ca.key"
    crt, key, csr = f"{prefix}server.pem", f"{prefix}server.key", f"{prefix}server.csr"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", f"/CN=secdet test CA {prefix}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=secdet test server", cwd=d)
    ext = os.path.join(d, f"{prefix}server.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={','.join(names)}\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days", "2",
             "-extfile", ext, cwd=d)
    return {"ca": os.path.join(d, ca), "cert": os.path.join(d, crt), "key": os.path.join(d, key)}


CONFIG = """\
global(workDirectory="{work}" maxMessageSize="64k"
       parser.escapeControlCharactersOnReceive="off"
       net.enableDNS="off"
       defaultNetstreamDriverCAFile="{ca}"
       defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}")
module(load="imudp")
module(load="imtcp" maxSessions="200")
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="udp") {{ action(type="omfile" file="{dir}/udp.log" template="raw") }}
ruleset(name="tcp") {{ action(type="omfile" file="{dir}/tcp.log" template="raw") }}
ruleset(name="tls") {{ action(type="omfile" file="{dir}/tls.log" template="raw") }}
input(type="imudp" address="127.0.0.1" port="{udp}" ruleset="udp" rcvbufSize="16m")
input(type="imtcp" address="127.0.0.1" port="{tcp}" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="{tls}" ruleset="tls"
      streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")
*.* action(type="omfile" file="{dir}/internal.log")
"""


class Rsyslog:
    """One rsyslogd in `directory`; ports chosen once, kept across restarts."""

    def __init__(self, directory, pki):
        self.dir = str(directory)
        self.pki = pki
        self.work = os.path.join(self.dir, "work")
        os.makedirs(self.work, exist_ok=True)
        self.ports = {"udp": free_port(socket.SOCK_DGRAM), "tcp": free_port(), "tls": free_port()}
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(work=self.work, dir=self.dir, ca=pki["ca"], cert=pki["cert"], key=pki["key"],
                                  **self.ports))
        self.proc = None
        self._log = None
        self._probes = 0

    def path(self, transport):
        return os.path.join(self.dir, f"{transport}.log")

    def start(self, timeout=START_TIMEOUT):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)
        self._log = open(os.path.join(self.dir, "rsyslogd.out"), "ab")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        for transport in TRANSPORTS:
            self._probes += 1
            tag = f"probe-{os.getpid()}-{self._probes}"
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"rsyslogd exited with {self.proc.returncode}: {self.diagnostics()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"rsyslogd {transport} input not ready in {timeout}s: {self.diagnostics()}")
                try:
                    self._probe(transport, f"<13>1 - - probe - - - {tag}".encode())
                except OSError:
                    time.sleep(0.1)
                    continue
                if self._wait_text(transport, tag, 0.5):
                    break
        return self

    def _probe(self, transport, msg):
        addr = ("127.0.0.1", self.ports[transport])
        if transport == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(msg, addr)
            return
        frame = str(len(msg)).encode() + b" " + msg
        with socket.create_connection(addr, timeout=2) as s:
            if transport == "tls":
                ctx = ssl.create_default_context(cafile=self.pki["ca"])
                with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                    t.sendall(frame)
                    try:
                        t.unwrap()  # close_notify
                    except OSError:
                        pass
            else:
                s.sendall(frame)

    def _wait_text(self, transport, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines(transport, probes=True)):
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout=10.0):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        if self._log:
            self._log.close()
            self._log = None

    def lines(self, transport, probes=False):
        """Every record received over `transport` so far (probes excluded)."""
        try:
            with open(self.path(transport), encoding="utf-8", errors="replace", newline="\n") as f:
                text = f.read()
        except FileNotFoundError:
            return []
        # Only complete lines: omfile may be mid-write.
        return [line for line in text.split("\n")[:-1] if probes or " probe - - - probe-" not in line]

    def wait_records(self, transport, n, timeout=20.0):
        """At least n records over transport (then a short settle for extras)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.lines(transport)
            if len(got) >= n:
                time.sleep(0.3)
                return self.lines(transport)
            if time.monotonic() > deadline:
                raise AssertionError(f"{transport}: {len(got)} of {n} records within {timeout}s; "
                                     f"{self.diagnostics()}")
            time.sleep(0.1)

    def diagnostics(self):
        out = []
        for name in ("rsyslogd.out", "internal.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out.append(f"{name}: {f.read()[-3000:]}")
            except FileNotFoundError:
                pass
        return "\n".join(out)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    if not os.path.exists(RSYSLOGD):
        pytest.skip("rsyslogd is not installed")
    if not glob.glob("/usr/lib/*/rsyslog/lmnsd_ossl.so") + glob.glob("/usr/lib*/rsyslog/lmnsd_ossl.so"):
        pytest.skip("rsyslog's OpenSSL driver (rsyslog-openssl) is not installed")
    if not os.path.exists(OPENSSL):
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("pki")
    return make_pki(d)


@pytest.fixture
def rsyslog(tmp_path, pki):
    """A running Rsyslog; stopped at teardown whatever happened."""
    os.makedirs(tmp_path / "rsyslog")
    r = Rsyslog(tmp_path / "rsyslog", pki)
    try:
        r.start()
        yield r
    finally:
        r.stop()


# ---- RFC 5424 records -----------------------------------------------------------

HEADER = re.compile(r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ")
SD_ELEMENT = re.compile(r'\[([^ \]=\"]+)((?: [^ =\]\"]+="(?:[^"\\\]]|\\.)*")*)\]')
SD_PARAM = re.compile(r' ([^ =\]\"]+)="((?:[^"\\\]]|\\.)*)"')


def parse(record):
    """One RFC 5424 message -> dict(pri, facility, severity, timestamp,
    hostname, app_name, procid, msgid, sd={id: {name: value}}, msg)."""
    m = HEADER.match(record)
    assert m, f"not an RFC 5424 message: {record!r}"
    pri = int(m.group(1))
    out = {"pri": pri, "facility": pri // 8, "severity": pri % 8, "timestamp": m.group(2), "hostname": m.group(3),
           "app_name": m.group(4), "procid": m.group(5), "msgid": m.group(6), "sd": {}}
    rest = record[m.end():]
    if rest.startswith("-"):
        rest = rest[1:]
    else:
        while rest.startswith("["):
            e = SD_ELEMENT.match(rest)
            assert e, f"bad structured data in {record!r}"
            out["sd"][e.group(1)] = {k: re.sub(r"\\(.)", r"\1", v) for k, v in SD_PARAM.findall(e.group(2))}
            rest = rest[e.end():]
    assert rest == "" or rest.startswith(" "), f"no space before MSG in {record!r}"
    out["msg"] = rest[1:]
    return out
