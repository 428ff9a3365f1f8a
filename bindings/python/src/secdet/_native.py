"""_native.py — the bridge to the C extension: batches, diagnostics, callbacks.

The engine's synchronous alert and error callbacks are C (secdet_build.py):
they append records to a pysd_batch while the GIL is released. `take_batch`
turns those records into Alert and MalformedEvent objects once the call has
returned. Sink callables and the sink log run on the engine's delivery
thread through cffi "extern Python" functions; cffi takes the GIL for them.
"""
from __future__ import annotations

import atexit
import struct
from _thread import allocate_lock
from _weakref import ref

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

from ._alert import from_record
from ._errors import Error, ERR_NOMEM
from ._secdet import ffi, lib  # type: ignore[import-not-found]

# _types (dataclasses), _enums (enum), logging: imported where used, not by
# `import secdet` (docs/performance.md, "Python start-up").
if TYPE_CHECKING:  # pragma: no cover
    import logging
    from typing import Any, Callable, Dict, List, Optional, Tuple

    from ._alert import Alert
    from ._enums import SinkResult
    from ._types import Diagnostic, MalformedEvent


def logger(name: str = "secdet") -> "logging.Logger":
    """The package's logger ("secdet", or "secdet.sink" for sinks). logging is
    imported on the first message, not by `import secdet` (a tenth of it)."""
    import logging

    return logging.getLogger(name)


_HEAD = struct.Struct("=II")  # kind, size of the record
_ERROR = struct.Struct("=IIQII")  # kind, size, where, len(source), len(message)
_SINK_PERMANENT = 2  # SinkResult.PERMANENT, without importing enum here


def strerror(status: int) -> str:
    return ffi.string(lib.secdet_strerror(status)).decode()


def check(status: int, what: str) -> None:
    if status != 0:
        if status == ERR_NOMEM:
            raise MemoryError(f"{what}: {strerror(status)}")
        raise Error(f"{what}: {strerror(status)}", status)


def _s(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def take_batch(batch: Any) -> Tuple[List[Alert], List[MalformedEvent]]:
    """The alerts and malformed-event reports collected since the last call; empties
    the batch."""
    raw = take_raw(batch)
    if raw is None:
        return [], []
    return parse_records(raw)


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


def parse_records(raw: Tuple[bytes, bool]) -> Tuple[List[Alert], List[MalformedEvent]]:
    """Alerts and malformed-event reports from `take_raw`'s bytes (no lock needed).
    An Alert keeps its record's bytes and decodes them when first read (_alert.py)."""
    buf, oom = raw
    n = len(buf)
    alerts: List[Alert] = []
    errors: List[MalformedEvent] = []
    pos = 0
    head = _HEAD.unpack_from
    append = alerts.append
    while pos < n:
        kind, size = head(buf, pos)
        end = pos + size
        if kind == 1:
            append(from_record(buf[pos:end]))
        elif kind == 2:
            from ._types import MalformedEvent

            _, _, where, ls, lm = _ERROR.unpack_from(buf, pos)
            p = pos + _ERROR.size
            errors.append(MalformedEvent(_s(buf[p:p + ls]), where, _s(buf[p + ls:p + ls + lm])))
        else:  # pragma: no cover - the C side writes only kinds 1 and 2
            raise Error("secdet: corrupt alert batch")
        if size == 0:  # pragma: no cover - a record has at least its header
            raise Error("secdet: corrupt alert batch")
        pos = end
    if oom:
        raise MemoryError("secdet: out of memory while collecting alerts (some were lost)")
    return alerts, errors


def diagnostics(diag: Any) -> List[Diagnostic]:
    """The entries of a secdet_diagnostics (which the caller still frees)."""
    out: List[Diagnostic] = []
    if diag == ffi.NULL or lib.secdet_diagnostics_count(diag) == 0:
        return out
    from ._types import Diagnostic

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
        self.lock = allocate_lock()
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
    from ._enums import SinkResult

    if value is None or value is True:
        return int(SinkResult.OK)
    if value is False:
        return int(SinkResult.RETRY)
    return int(SinkResult(value))


@ffi.def_extern(error=_SINK_PERMANENT)
def pysd_sink_cb(user: Any, d: Any) -> int:
    state: SinkState = ffi.from_handle(user)
    n = ffi.new("size_t *")
    p = lib.secdet_delivery_json(d, n)
    try:
        from ._alert import Alert

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


_pending: Dict[int, "Finalizer"] = {}  # finalizers not run yet, by id: run at exit


class Finalizer:
    """Calls fn(*args) once: when called, when `obj` is garbage-collected, or at
    interpreter exit, whichever comes first — what weakref.finalize does,
    without importing weakref (~1.5 ms of `import secdet`)."""

    __slots__ = ("_call", "_ref", "__weakref__")

    def __init__(self, obj: Any, fn: Callable[..., Any], *args: Any) -> None:
        self._call: Optional[Tuple[Callable[..., Any], Tuple[Any, ...]]] = (fn, args)
        self._ref = ref(obj, self._collected)
        _pending[id(self)] = self

    @property
    def alive(self) -> bool:
        """True until it has run."""
        return id(self) in _pending

    def _collected(self, _: Any) -> None:
        self()

    def __call__(self) -> None:
        if _pending.pop(id(self), None) is None:
            return
        fn, args = self._call  # type: ignore[misc]
        self._call = None
        fn(*args)


@atexit.register
def _finalize_at_exit() -> None:
    while _pending:
        _pending[next(reversed(_pending))]()  # newest first, as weakref.finalize does


def new_handle(obj: Any) -> Any:
    return ffi.new_handle(obj)


NULL = ffi.NULL
