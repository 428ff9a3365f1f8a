"""http_server.py — a real HTTP/1.1 endpoint for the sink tests.

`HookServer` runs http.server.ThreadingHTTPServer (protocol HTTP/1.1, so
connections are kept alive; Expect: 100-continue and chunked bodies work)
on 127.0.0.1 with an ephemeral port, in a thread. It records every request
(arrival time, path, headers, body) and answers as its current mode says;
the mode can be switched at any time:

    ok                200 "ok"
    down              not listening: the port stays reserved (bound, no
                      listen(2)), so a client's connect is refused; up()
                      starts listening on the same port
    500               500 with a body
    429               429 with Retry-After: retry_after (seconds)
    400               400 (or `status`) with `body`
    hang              reads the request, never answers (until stop())

`script([...])` queues responses used one per request before the mode
applies again, e.g. script(["500", "500"]) then mode ok. `fail_every=N`
answers every Nth request (counted from the start) 500 instead, so N = 5 is
a receiver failing 20% of requests. `delay` (seconds) slows every answer
down. Everything has deadlines; stop() releases hung
handlers and closes every socket.
"""
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_HANG = 60.0  # a hung handler gives up after this long even without stop()


@dataclass
class Request:
    t: float            # time.monotonic() when the request line arrived
    wall: float         # time.time() then
    method: str
    path: str
    headers: dict       # lower-case name -> value (last one wins)
    body: bytes
    status: int = 0     # what we answered (0: nothing, e.g. hang)
    raw_headers: list = field(default_factory=list)  # [(name, value)] as sent

    def json(self):
        return json.loads(self.body)


@dataclass
class Response:
    status: int = 200
    body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    hang: bool = False
    close: bool = False  # close the connection after answering


def response_for(mode, retry_after=1, status=None, body=None):
    if isinstance(mode, Response):
        return mode
    if mode == "ok":
        return Response(status or 200, body if body is not None else b"ok")
    if mode == "500":
        return Response(status or 500, body if body is not None else b"internal error")
    if mode == "429":
        return Response(429, body if body is not None else b"slow down", {"Retry-After": str(retry_after)})
    if mode == "400":
        return Response(status or 400, body if body is not None else b"bad request")
    if mode == "hang":
        return Response(hang=True)
    raise ValueError(f"unknown mode {mode!r}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hooktest/1"
    # Headers and body go out in separate writes: with Nagle's algorithm and
    # the client's delayed ACK each answer would wait ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        self.server.owner._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, False)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _any(self):
        owner = self.server.owner
        t, wall = time.monotonic(), time.time()
        body = self._read_body()
        req = Request(t, wall, self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                      raw_headers=list(self.headers.items()))
        resp, delay = owner._next_response()
        owner._record(req)
        if delay:
            time.sleep(delay)
        if resp.hang:
            owner._released.wait(MAX_HANG)
            self.close_connection = True
            return
        req.status = resp.status
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(resp.body)))
        if resp.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(resp.body)
        self.wfile.flush()
        owner._answered(req)

    do_POST = _any
    do_GET = _any
    do_PUT = _any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class HookServer:
    """See the module comment. Use as a context manager, or call stop()."""

    def __init__(self, mode="ok", retry_after=1, status=None, body=None, delay=0.0, start_down=False,
                 fail_every=0):
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._released = threading.Event()
        self._conns = set()
        self.requests = []
        self.ok_ids = {}  # webhook-id (else the body's id) -> 2xx answers
        self._script = []
        self.delay = delay
        self.fail_every = fail_every
        self._served = 0
        self.set(mode, retry_after=retry_after, status=status, body=body)
        self._srv = None
        self._thread = None
        self.port = 0
        self._bind()
        if not start_down:
            self.up()

    # ---- lifecycle ----
    def _bind(self):
        srv = _Server(("127.0.0.1", self.port), _Handler, bind_and_activate=False)
        srv.owner = self
        try:
            srv.server_bind()  # bound but not listening: connections are refused
        except OSError:
            srv.server_close()
            raise
        self.port = srv.server_address[1]
        self._srv = srv
        self.listening = False

    def up(self):
        """Start listening (on the same port when it was down)."""
        if self.listening:
            return
        if self._srv is None:
            self._bind()
        self._srv.server_activate()
        self.listening = True
        self.up_at = time.monotonic()
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def down(self):
        """Stop listening and drop every open connection; the port stays reserved."""
        if self.listening:
            self._srv.shutdown()
            self._thread.join(5)
        self._srv.server_close()
        self._srv = None
        self.listening = False
        self._drop_connections()
        self._bind()

    def stop(self):
        self._released.set()
        if self._srv is not None:
            if self.listening:
                self._srv.shutdown()
                self._thread.join(5)
            self._srv.server_close()
            self._srv = None
        self.listening = False
        self._drop_connections()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _drop_connections(self):
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _track(self, conn, add):
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    # ---- behaviour ----
    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def set(self, mode, retry_after=1, status=None, body=None):
        """The answer to every request from now on (after the script)."""
        if isinstance(body, str):
            body = body.encode()
        with self._lock:
            self._mode = response_for(mode, retry_after, status, body)

    def script(self, modes):
        """Answers for the next len(modes) requests, in order (modes or Responses)."""
        with self._lock:
            self._script.extend(response_for(m) for m in modes)

    def _next_response(self):
        with self._lock:
            self._served += 1
            resp = self._script.pop(0) if self._script else self._mode
            if self.fail_every and self._served % self.fail_every == 0:
                resp = response_for("500")
            return resp, self.delay

    def _record(self, req):
        with self._cond:
            self.requests.append(req)
            self._cond.notify_all()

    def _answered(self, req):
        with self._cond:
            if 200 <= req.status < 300:
                i = req.headers.get("webhook-id") or _body_id(req.body)
                self.ok_ids[i] = self.ok_ids.get(i, 0) + 1
            self._cond.notify_all()

    # ---- observation ----
    def snapshot(self):
        with self._lock:
            return list(self.requests)

    def wait_for(self, pred, timeout, what="condition"):
        """Waits until pred(requests) is true; AssertionError after timeout seconds.
        pred runs under the server's lock: keep it cheap (see ok_ids)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if pred(self.requests):
                    return list(self.requests)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what}: not reached within {timeout}s "
                                         f"({len(self.requests)} requests so far)")
                self._cond.wait(min(left, 0.2))

    def wait_requests(self, n, timeout):
        return self.wait_for(lambda rs: len(rs) >= n, timeout, f"{n} requests")

    def ok_count(self):
        """Distinct ids answered 2xx so far (cheap: kept as requests are answered)."""
        with self._lock:
            return len(self.ok_ids)

    def ids(self, ok_only=True):
        """webhook-id -> number of requests (answered 2xx when ok_only)."""
        counts = {}
        for r in self.snapshot():
            if ok_only and not 200 <= r.status < 300:
                continue
            i = r.headers.get("webhook-id") or _body_id(r.body)
            counts[i] = counts.get(i, 0) + 1
        return counts


def _body_id(body):
    try:
        return json.loads(body).get("id")
    except (ValueError, AttributeError):
        return None


def closed_port():
    """A port on 127.0.0.1 nothing listens on (bound and released at once)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
