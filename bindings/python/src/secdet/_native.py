"""_native.py — the bridge to the C extension: batches, diagnostics, callbacks.

The engine's synchronous alert and error callbacks are C (secdet_build.py):
they append records to a pysd_batch while the GIL is released. `take_batch`
turns those records into Alert and MalformedEvent objects once the call has
returned. Sink callables and the sink log run on the engine's delivery
thread through cffi "extern Python" functions; cffi takes the GIL for them.
"""
from __future__ import annotations

import struct
import threading
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

from ._errors import Error, ERR_NOMEM
from ._secdet import ffi, lib  # type: ignore[import-not-found]
from ._types import Alert, Diagnostic, MalformedEvent, SinkResult, _make_alert

if TYPE_CHECKING:  # pragma: no cover
    import logging
    from typing import Any, Callable, Dict, List, Optional, Tuple


def logger(name: str = "secdet") -> "logging.Logger":
    """The package's logger ("secdet", or "secdet.sink" for sinks). logging is
    imported on the first message, not by `import secdet` (a tenth of it)."""
    import logging

    return logging.getLogger(name)

_U32 = struct.Struct("=I")
_ALERT = struct.Struct("=IqI7I")  # kind, time_ns, severity, 7 lengths
_ERROR = struct.Struct("=IQII")  # kind, where, len(source), len(message)


def strerror(status: int) -> str:
    return ffi.string(lib.secdet_strerror(status)).decode()


def check(status: int, what: str) -> None:
    if status != 0:
        if status == ERR_NOMEM:
            raise MemoryError(f"{what}: {strerror(status)}")
        raise Error(f"{what}: {strerror(status)}", status)


def _s(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def take_batch(batch: Any, cache: Dict[bytes, Any]) -> Tuple[List[Alert], List[MalformedEvent]]:
    """The alerts and malformed-event reports collected since the last call; empties
    the batch. `cache` maps the bytes of repeated strings (rule, title, source,
    tags) to their decoded value; the caller keeps it between calls."""
    raw = take_raw(batch)
    if raw is None:
        return [], []
    return parse_records(raw, cache)


def take_raw(batch: Any) -> Optional[Tuple[bytes, bool]]:
    """The batch's records as bytes and its out-of-memory flag (None when empty);
    empties the batch. Call with the engine's lock held."""
    n = batch.len
    if n == 0:
        return None
    buf = ffi.buffer(batch.buf, n)[:]
    oom = bool(batch.oom)
    lib.pysd_batch_reset(batch)
    return buf, oom


def parse_records(raw: Tuple[bytes, bool], cache: Dict[bytes, Any]) -> Tuple[List[Alert], List[MalformedEvent]]:
    """Alerts and malformed-event reports from `take_raw`'s bytes (no lock needed)."""
    buf, oom = raw
    n = len(buf)
    alerts: List[Alert] = []
    errors: List[MalformedEvent] = []
    pos = 0
    unpack_alert = _ALERT.unpack_from
    asize = _ALERT.size
    get = cache.get
    append = alerts.append
    if len(cache) > 4096:
        cache.clear()
    while pos < n:
        kind = _U32.unpack_from(buf, pos)[0]
        if kind == 1:
            _, t, sev, l0, l1, l2, l3, l4, l5, l6 = unpack_alert(buf, pos)
            p0 = pos + asize
            p1 = p0 + l0
            p2 = p1 + l1
            p3 = p2 + l2
            p4 = p3 + l3
            p5 = p4 + l4
            p6 = p5 + l5
            pos = p6 + l6
            key = buf[p0:p2]
            names = get(key)
            if names is None:
                names = cache[key] = (buf[p0:p1].decode("utf-8", "replace"), buf[p1:p2].decode("utf-8", "replace"))
            key = buf[p4:p5]
            source = get(key)
            if source is None:
                source = cache[key] = key.decode("utf-8", "replace")
            key = buf[p6:pos]
            tags = get(key)
            if tags is None:
                tags = cache[key] = tuple(key.decode("utf-8", "replace").split("\0")) if l6 else ()
            append(_make_alert(names[0], names[1], sev, buf[p2:p3].decode("utf-8", "replace"),
                               buf[p3:p4].decode("utf-8", "replace"), source, t, tags,
                               buf[p5:p6].decode("utf-8", "replace")))
        elif kind == 2:
            _, where, ls, lm = _ERROR.unpack_from(buf, pos)
            pos += _ERROR.size
            errors.append(MalformedEvent(_s(buf[pos:pos + ls]), where, _s(buf[pos + ls:pos + ls + lm])))
            pos += ls + lm
        else:  # pragma: no cover - the C side writes only kinds 1 and 2
            raise Error("secdet: corrupt alert batch")
    if oom:
        raise MemoryError("secdet: out of memory while collecting alerts (some were lost)")
    return alerts, errors


def diagnostics(diag: Any) -> List[Diagnostic]:
    """The entries of a secdet_diagnostics (which the caller still frees)."""
    out: List[Diagnostic] = []
    if diag == ffi.NULL:
        return out
    d = ffi.new("secdet_diagnostic *")
    for i in range(lib.secdet_diagnostics_count(diag)):
        if lib.secdet_diagnostics_get(diag, i, d) != 0:
            continue
        text_p = lib.secdet_diagnostics_format(diag, i)
        text = ""
        if text_p != ffi.NULL:
            text = _s(ffi.string(text_p))
            lib.secdet_free(text_p)
        out.append(Diagnostic(
            severity="warning" if d.severity == lib.SECDET_DIAG_WARNING else "error",
            file=_s(ffi.string(d.file)) if d.file != ffi.NULL else "",
            line=d.line, column=d.column,
            message=_s(ffi.string(d.message)) if d.message != ffi.NULL else "",
            text=text))
    return out


def take_diagnostics(holder: Any) -> List[Diagnostic]:
    """Reads and frees the diagnostics object in a `secdet_diagnostics **`."""
    diag = holder[0]
    try:
        return diagnostics(diag)
    finally:
        lib.secdet_diagnostics_free(diag)
        holder[0] = ffi.NULL


# ---- callbacks on the delivery thread ----------------------------------------


class Counters:
    """Per-engine counters shared with its sink callbacks (never the engine itself,
    so the callbacks do not keep the engine alive)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.callback_errors = 0


class SinkState:
    """What a callback sink's `void *user` handle points to."""

    def __init__(self, fn: Callable[[Alert], Any], name: str, on_exception: SinkResult,
                 counters: Counters) -> None:
        self.fn = fn
        self.name = name
        self.on_exception = on_exception
        self.counters = counters


def _result_of(value: Any) -> int:
    if value is None or value is True:
        return int(SinkResult.OK)
    if value is False:
        return int(SinkResult.RETRY)
    return int(SinkResult(value))


@ffi.def_extern(error=int(SinkResult.PERMANENT))
def pysd_sink_cb(user: Any, d: Any) -> int:
    state: SinkState = ffi.from_handle(user)
    n = ffi.new("size_t *")
    p = lib.secdet_delivery_json(d, n)
    try:
        alert = Alert.from_json(ffi.unpack(p, n[0]))
        return _result_of(state.fn(alert))
    except BaseException:  # noqa: BLE001 - a sink callable must never take the engine down
        with state.counters.lock:
            state.counters.callback_errors += 1
        logger("secdet.sink").exception("sink %s: the callback raised; the alert counts as %s", state.name,
                           state.on_exception.name)
        return int(state.on_exception)


@ffi.def_extern()
def pysd_sink_log_cb(user: Any, sink: Any, message: Any) -> None:
    name = _s(ffi.string(sink)) if sink != ffi.NULL else "?"
    text = _s(ffi.string(message)) if message != ffi.NULL else ""
    logger("secdet.sink").warning("sink %s: %s", name, text)


def new_handle(obj: Any) -> Any:
    return ffi.new_handle(obj)


NULL = ffi.NULL
