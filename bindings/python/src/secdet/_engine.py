"""_engine.py — `secdet.Engine`: rules, sources, events in; alerts out.

An Engine wraps one `secdet_engine`. libsecdet engines are used by one thread
at a time, so every call into the C engine holds the Engine's lock: pushes
from several threads to one Engine serialise on it, while different Engines
run in parallel — cffi releases the GIL around every C call, and the
synchronous alert callback is C code that never needs the GIL
(secdet_build.py), so a push or a scan runs on its own core.
"""
from __future__ import annotations

import os
import time
from _thread import allocate_lock
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

from . import _io, _scan
from ._errors import (ERR_BUSY, ERR_DECODE, ERR_EXISTS, ERR_LIMIT, ERR_NOMEM, ERR_TIMEOUT, ClosedError,
                      DecodeError, Error, RuleError, SinkError)
from ._native import (Counters, Finalizer, SinkState, check, ffi, lib, logger, new_handle, strerror,
                      take_batch, take_diagnostics, take_raw)

# typing, json, datetime, logging, the sink helpers, collections.abc and the
# dataclasses of _types are imported where they are used, not by `import
# secdet`: start-up counts for short scripts (docs/performance.md).
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Mapping

    from ._alert import Alert
    from ._types import (Diagnostic, EventInfo, MalformedEvent, RuleExcept, RuleInfo, RuleStats, SinkStats,
                         Stats)
    from typing import IO, Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

    RulesArg = Union[str, bytes, "os.PathLike[str]"]
    Event = Union[str, bytes, bytearray, memoryview, Mapping[str, Any]]

BUILTIN_FORMATS = ("auto", "jsonl", "cloudtrail", "cloudwatch-logs", "eventbridge")
_OPTION_NAMES = ("vm_budget", "regex_match_limit", "max_json_depth", "max_event_bytes",
                 "max_rule_file_bytes", "max_samples", "lateness_ms", "max_state_bytes",
                 "max_message_bytes")


def _is_mapping(obj: Any) -> bool:
    from collections.abc import Mapping  # collections: ~2 ms of `import secdet` otherwise

    return isinstance(obj, Mapping)


def _json():  # type: ignore[no-untyped-def]
    """The json module, imported on first use (push() of dicts is hot: one lookup)."""
    import json

    return json


def _free_engine(ptr: Any, batch: Any, keep: List[Any]) -> None:
    # cffi releases the GIL here, so a sink callable running on the delivery
    # thread can finish while the engine stops it.
    lib.secdet_engine_free(ptr)
    lib.pysd_batch_free(batch)
    keep.clear()


_BUSY_WAIT = 0.05  # seconds between tries while a sink cannot take more alerts


def _is_path_text(text: str) -> bool:
    """A str names a file or directory unless it looks like rule text."""
    return "\n" not in text and "{" not in text


class Engine:
    """A detection engine: load rules, add sources, push or scan events, get alerts.

    >>> with secdet.Engine("rules/aws/cis.secdet") as engine:
    ...     for alert in engine.scan("trail.json.gz"):
    ...         print(alert.severity, alert.rule, alert.message)

    Args:
        rules: rules to load now: a path (file or directory), rule text, or a
            list of them (see `load_rules`).
        vm_budget, regex_match_limit, max_json_depth, max_event_bytes,
        max_rule_file_bytes, max_samples, lateness_ms, max_state_bytes,
        max_message_bytes: the fields of ``secdet_engine_opts``
            (include/secdet.h); None keeps the library's default.
        on_error: called as ``on_error(MalformedEvent)`` for every event that
            could not be decoded (after the call that met it returns, on the
            calling thread). Default: a warning on the "secdet" logger.
    """

    def __init__(self, rules: Union[RulesArg, Sequence[RulesArg], None] = None, *,
                 vm_budget: Optional[int] = None, regex_match_limit: Optional[int] = None,
                 max_json_depth: Optional[int] = None, max_event_bytes: Optional[int] = None,
                 max_rule_file_bytes: Optional[int] = None, max_samples: Optional[int] = None,
                 lateness_ms: Optional[int] = None, max_state_bytes: Optional[int] = None,
                 max_message_bytes: Optional[int] = None,
                 on_error: Optional[Callable[[MalformedEvent], Any]] = None) -> None:
        self._ptr: Any = None
        opts = ffi.new("secdet_engine_opts *")
        lib.secdet_engine_opts_init(opts)
        values = dict(vm_budget=vm_budget, regex_match_limit=regex_match_limit,
                      max_json_depth=max_json_depth, max_event_bytes=max_event_bytes,
                      max_rule_file_bytes=max_rule_file_bytes, max_samples=max_samples,
                      lateness_ms=lateness_ms, max_state_bytes=max_state_bytes,
                      max_message_bytes=max_message_bytes)
        for name in _OPTION_NAMES:
            value = values[name]
            if value is not None:
                if not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} must be an int >= 0, not {value!r}")
                try:
                    setattr(opts, name, value)
                except OverflowError:
                    raise ValueError(f"{name} is out of range: {value}") from None
        out = ffi.new("secdet_engine **")
        check(lib.secdet_engine_new(opts, out), "cannot create an engine")
        ptr = out[0]
        batch = lib.pysd_batch_new()
        if batch == ffi.NULL:
            lib.secdet_engine_free(ptr)
            raise MemoryError("secdet: out of memory")
        self._lock = allocate_lock()
        self._keep: List[Any] = []  # cffi handles of sink callables: live as long as the C engine
        self._finalizer = Finalizer(self, _free_engine, ptr, batch, self._keep)
        self._ptr, self._batch = ptr, batch
        self._counters = Counters()
        self._sources: Dict[str, str] = {}
        self._names: Dict[str, bytes] = {}
        self._on_error = on_error
        self._sink_log_set = False
        check(lib.pysd_attach(ptr, batch), "cannot set the alert callback")
        if rules is not None:
            for r in ([rules] if isinstance(rules, (str, bytes, os.PathLike)) else rules):
                self.load_rules(r)

    # ---- life cycle --------------------------------------------------------

    def close(self, drain_timeout: Optional[float] = 10.0) -> None:
        """Frees the engine. Idempotent.

        When the engine has sinks, first waits up to `drain_timeout` seconds
        (None: no limit, 0: not at all) for them to deliver what they hold;
        what a spool holds is kept for the next start either way."""
        with self._lock:
            if self._ptr is None:
                return
            if drain_timeout != 0 and lib.secdet_sink_count(self._ptr) > 0:
                lib.secdet_drain(self._ptr, -1 if drain_timeout is None else int(drain_timeout * 1000))
            self._ptr = None
            self._finalizer()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _live(self) -> Any:
        ptr = self._ptr
        if ptr is None:
            raise ClosedError("secdet: the engine is closed")
        return ptr

    def _name(self, name: str) -> bytes:
        b = self._names.get(name)
        if b is None:
            if not isinstance(name, str) or not name or "\0" in name:
                raise ValueError(f"bad source name {name!r}")
            b = name.encode()
            self._names[name] = b
        return b

    def _report(self, errors: List[MalformedEvent]) -> None:
        for e in errors:
            if self._on_error is not None:
                self._on_error(e)
            else:
                logger().warning("%s: %s%s", e.source, f"{e.where}: " if e.where else "", e.message)

    def _locked(self, fn: Callable[..., int], args: Sequence[Any], then: Callable[[], Any]) -> "tuple[int, Any]":
        """fn(engine, *args) under the lock, then then() still under it.
        While a sink cannot take more alerts (ERR_BUSY: nothing was consumed;
        docs/sinks.md "Backpressure") fn is called again every _BUSY_WAIT
        seconds, the lock released in between (so stats() and other threads
        go on): pushes and scans wait for the sinks, they never drop input."""
        while True:
            with self._lock:
                status = fn(self._live(), *args)
                if status != ERR_BUSY:
                    return status, then()
            time.sleep(_BUSY_WAIT)

    def _call(self, fn: Callable[..., int], *args: Any) -> "tuple[int, List[Alert], List[MalformedEvent]]":
        """Calls fn(engine, *args) under the lock; returns its status and what it raised."""
        status, (alerts, errors) = self._locked(fn, args, lambda: take_batch(self._batch))
        if errors:
            self._report(errors)
        return status, alerts, errors

    # ---- rules --------------------------------------------------------------

    def load_rules(self, rules: RulesArg, name: Optional[str] = None) -> List[Diagnostic]:
        """Loads rules, compiled together with those loaded before (all or nothing).

        `rules` is a pathlib.Path or a str naming a ``.secdet`` file or a
        directory (every ``*.secdet`` below it), or rule text: a str holding
        a newline or a ``{``, or bytes. `name` is the file name diagnostics
        show for text (default ``<string>``).

        Returns the warnings. Raises `RuleError` (with ``.file .line .column
        .message`` of the first error and ``.diagnostics``, every one) when
        the rules do not compile; the engine then keeps the rules it had.
        Raises FileNotFoundError for a path that does not exist."""
        holder = ffi.new("secdet_diagnostics **")
        if isinstance(rules, (bytes, bytearray)) or (isinstance(rules, str) and not _is_path_text(rules)):
            text = rules.encode() if isinstance(rules, str) else bytes(rules)
            label = (name or "<string>").encode()
            with self._lock:
                status = lib.secdet_load_rules_string(self._live(), label, text, len(text), holder)
            what = name or "<string>"
        else:
            path = os.fspath(rules)
            if not os.path.exists(path):
                raise FileNotFoundError(2, "No such file or directory", path)
            load = lib.secdet_load_rules_dir if os.path.isdir(path) else lib.secdet_load_rules_file
            with self._lock:
                status = load(self._live(), os.fsencode(path), holder)
            what = path
        diags = take_diagnostics(holder)
        if status != 0:
            errors = [d for d in diags if d.is_error]
            lines = "\n".join(str(d) for d in errors) or strerror(status)
            raise RuleError(f"{what}: {strerror(status)}\n{lines}", status, diags)
        return diags

    def reload_rules(self, *paths: RulesArg) -> List[Diagnostic]:
        """Replaces every loaded rule with the files and directories given (all or
        nothing); correlation state of unchanged rules is kept. Returns the warnings."""
        holder = ffi.new("secdet_diagnostics **")
        encoded = [ffi.new("char[]", os.fsencode(os.fspath(p))) for p in paths]
        arr = ffi.new("const char *[]", encoded) if encoded else ffi.NULL
        with self._lock:
            status = lib.secdet_reload_rules(self._live(), arr, len(encoded), holder)
        diags = take_diagnostics(holder)
        if status != 0:
            lines = "\n".join(str(d) for d in diags if d.is_error) or strerror(status)
            raise RuleError(f"reload: {strerror(status)}\n{lines}", status, diags)
        return diags

    @property
    def rules(self) -> List[RuleInfo]:
        """The loaded rules."""
        from ._types import RuleInfo, Severity

        info = ffi.new("secdet_rule_info *")
        out = []
        with self._lock:
            ptr = self._live()
            for i in range(lib.secdet_rule_count(ptr)):
                if lib.secdet_rule_get(ptr, i, info) != 0:
                    continue
                s = lambda p: ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else ""  # noqa: E731
                out.append(RuleInfo(s(info.name), s(info.title), Severity(info.severity), s(info.file),
                                    info.line, bool(info.is_private), bool(info.is_aggregate)))
        return out

    @property
    def rule_stats(self) -> List[RuleStats]:
        """Every loaded rule's figures (alerts, throttle-suppressed, excepted, its exceptions), in the order of
        :attr:`rules`. Tune rules with an overlay file loaded after the packs (:meth:`load_rules`)."""
        from ._types import RuleExcept, RuleStats

        info = ffi.new("secdet_rule_info *")
        st = ffi.new("secdet_rule_stats *")
        x = ffi.new("secdet_rule_except *")
        s = lambda p: ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else ""  # noqa: E731
        out = []
        with self._lock:
            ptr = self._live()
            for i in range(lib.secdet_rule_count(ptr)):
                if lib.secdet_rule_get(ptr, i, info) != 0 or lib.secdet_rule_stats_get(ptr, i, st) != 0:
                    continue
                excepts = []
                for k in range(st.nexcepts):
                    if lib.secdet_rule_except_get(ptr, i, k, x) == 0:
                        excepts.append(RuleExcept(s(x.file), x.line, x.column, s(x.condition), s(x.reason),
                                                  s(x.until), x.until_ns, x.excepted))
                out.append(RuleStats(s(info.name), st.alerts, st.suppressed, st.excepted, bool(st.disabled),
                                     tuple(excepts)))
        return out

    def tuning_explain(self) -> str:
        """What every ``tune`` and ``disable`` of the loaded rules changes, for people; "" when none."""
        out = ffi.new("char **")
        with self._lock:
            check(lib.secdet_tuning_explain(self._live(), out), "tuning explain")
        try:
            return ffi.string(out[0]).decode("utf-8", "replace")
        finally:
            lib.secdet_free(out[0])

    def disasm(self) -> str:
        """The loaded rules' bytecode, one instruction a line."""
        out = ffi.new("char **")
        with self._lock:
            check(lib.secdet_disasm(self._live(), out), "disasm")
        try:
            return ffi.string(out[0]).decode("utf-8", "replace")
        finally:
            lib.secdet_free(out[0])

    # ---- sources and events -------------------------------------------------

    def add_source(self, name: str, format: str = "auto", time_field: Optional[str] = None,
                   log_type: Optional[str] = None) -> None:
        """Adds a source: `name` is what a rule's ``on`` clause names; `format` is
        "auto", "jsonl", "cloudtrail", "cloudwatch-logs" or "eventbridge"; `time_field`
        the event time's field path (".eventTime"; None: the log type's, else the
        format's default); `log_type` its log type (docs/log-types.md: "okta",
        "gcp-audit", ..., one given to `define_log_type`, or "auto" to give each
        event to the source of its log type by its shape; None: the log type of
        the source's name, else jsonl)."""
        opts = ffi.new("secdet_source_opts *")
        fmt = ffi.new("char[]", format.encode())
        opts.format_name = fmt
        tf = ffi.new("char[]", time_field.encode()) if time_field else ffi.NULL
        opts.time_field = tf
        lt = ffi.new("char[]", log_type.encode()) if log_type else ffi.NULL
        opts.log_type = lt
        with self._lock:
            status = lib.secdet_source_add(self._live(), self._name(name), opts)
        if status == ERR_EXISTS:
            raise Error(f"source {name!r} already exists", status)
        if status != 0:
            what = f"format {format!r}" + (f", log type {log_type!r}" if log_type else "")
            raise Error(f"cannot add source {name!r} ({what}): {strerror(status)}", status)
        self._sources[name] = format

    # ---- log types ------------------------------------------------------------

    def define_log_type(self, definition: Union[Mapping[str, Any], str]) -> None:
        """Defines a log type, or overrides what `definition` gives of one that
        exists (a built-in too): a dict (or its JSON text) with "name" and any
        of "detect", "fields", "known_fields" (docs/log-types.md). Raises Error
        with the reason when it is not valid."""
        import json

        text = definition if isinstance(definition, str) else json.dumps(definition)
        data = text.encode()
        why = ffi.new("char **")
        with self._lock:
            status = lib.secdet_log_type_define(self._live(), data, len(data), why)
        if status != 0:
            reason = ffi.string(why[0]).decode("utf-8", "replace") if why[0] != ffi.NULL else strerror(status)
            lib.secdet_free(why[0])
            if status == ERR_NOMEM:
                raise MemoryError(reason)
            raise Error(f"log type: {reason}", status)

    def log_types(self) -> List[str]:
        """The names of the log types the engine knows, built-ins first."""
        with self._lock:
            ptr = self._live()
            return [ffi.string(lib.secdet_log_type_name(ptr, i)).decode()
                    for i in range(lib.secdet_log_type_count(ptr))]

    def log_type(self, name: str) -> Dict[str, Any]:
        """Log type `name` as it is now (a built-in with what was defined over it),
        as the dict `define_log_type` takes: "name", "detect", "fields",
        "known_fields". Raises Error for an unknown name."""
        out = ffi.new("char **")
        with self._lock:
            status = lib.secdet_log_type_json(self._live(), name.encode(), out)
        if status != 0:
            raise Error(f"unknown log type {name!r}: {strerror(status)}", status)
        try:
            import json

            return json.loads(ffi.string(out[0]).decode())
        finally:
            lib.secdet_free(out[0])

    def inspect(self, event: Event, source: str = "jsonl") -> EventInfo:
        """Which source and log type `event` would have when pushed to `source`,
        and its own time, without evaluating it."""
        if isinstance(event, (bytes, bytearray, memoryview)):
            data = bytes(event)
        elif isinstance(event, str):
            data = event.encode()
        else:
            import json

            data = json.dumps(event).encode()
        from ._types import EventInfo

        info = ffi.new("secdet_event_info *")
        with self._lock:
            status = lib.secdet_event_inspect(self._live(), self._name(source), data, len(data), info)
            if status != 0:
                check(status, "inspect")
            when = None
            if info.has_time:
                import datetime as _dt

                when = _dt.datetime.fromtimestamp(info.time_ns // 1_000_000_000, tz=_dt.timezone.utc).replace(
                    microsecond=(info.time_ns % 1_000_000_000) // 1000)
            return EventInfo(source=ffi.string(info.source).decode("utf-8", "replace"),
                             log_type=ffi.string(info.log_type).decode(), time=when)

    def source_stats(self, source: str) -> Dict[str, int]:
        """The counters of one source name: {"time_unreadable": N}."""
        st = ffi.new("secdet_source_stats *")
        with self._lock:
            check(lib.secdet_source_stats_get(self._live(), self._name(source), st), "source stats")
        return {"time_unreadable": st.time_unreadable}

    def _ensure_source(self, name: str, format: str) -> None:
        if name not in self._sources:
            try:
                self.add_source(name, format)
            except Error as err:
                if err.status != ERR_EXISTS:
                    raise
                self._sources[name] = format

    def push(self, event: Event, source: str = "cloudtrail") -> List[Alert]:
        """Evaluates one event and returns the alerts it raised at once.

        `event` is a dict (serialised with json.dumps) or the JSON text of
        one object (str or bytes). `source` need not have been added; it is
        what rules' ``on`` clauses match. Aggregation rules (count, distinct,
        sequence) hold events for ordering: their alerts come from a later
        push or from `flush`. Raises DecodeError when the event is not a JSON
        object (or breaks the size or depth limit)."""
        if isinstance(event, (bytes, bytearray, memoryview)):
            data = bytes(event)
        elif isinstance(event, str):
            data = event.encode("utf-8")
        elif isinstance(event, dict) or _is_mapping(event):
            data = _json().dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        else:
            raise TypeError(f"an event is a dict, str or bytes, not {type(event).__name__}")
        src = self._name(source)
        status, (alerts, errors) = self._locked(
            lib.secdet_push_event, (src, data, len(data)),
            lambda: take_batch(self._batch) if self._batch.len else ([], []))
        if status != 0:
            if status in (ERR_DECODE, ERR_LIMIT):
                detail = "; ".join(e.message for e in errors) or strerror(status)
                raise DecodeError(f"malformed event: {detail}", status)
            check(status, "push")
        if errors:
            self._report(errors)
        return alerts

    def feed(self, data: Union[bytes, bytearray, memoryview, str], source: str = "cloudtrail") -> List[Alert]:
        """Pushes raw input to a source, decoded by its format: any number of JSON
        lines (a partial last line waits for more), part of a CloudTrail document
        (decoded by `end`), ... gzip must be a whole stream in one call.

        A source named like a built-in format ("jsonl", "cloudtrail", ...) is
        added with that format on first use; others must be added first.
        Malformed events are reported to `on_error`, not raised."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if source not in self._sources and source in BUILTIN_FORMATS:
            self._ensure_source(source, source)
        status, alerts, _ = self._call(lib.secdet_push, self._name(source), ffi.from_buffer(data), len(data))
        if status not in (0, ERR_DECODE):
            check(status, f"push to {source!r}")
        return alerts

    def end(self, source: str = "cloudtrail") -> List[Alert]:
        """Ends a source's stream: decodes what `feed` buffered (a CloudTrail
        document, a last line without newline). Returns the alerts raised."""
        status, alerts, _ = self._call(lib.secdet_source_end, self._name(source))
        if status not in (0, ERR_DECODE):
            check(status, f"end of {source!r}")
        return alerts

    def flush(self) -> List[Alert]:
        """End of input: applies every event held for ordering and returns the
        alerts then due (call it after the last event)."""
        status, alerts, _ = self._call(lib.secdet_flush)
        check(status, "flush")
        return alerts

    def scan(self, input: "_io.ScanInput", *, format: str = "auto", source: Optional[str] = None,
             flush: bool = True, read_ahead: bool = True, jobs: int = 1) -> Iterator[Alert]:
        """Evaluates files and yields their alerts, like ``secdet scan``.

        `input` is a path, a directory (every file below it, in byte order of
        their paths), a binary (or text) file object, or a list of those,
        read in order as one stream (correlation spans files; unlike
        ``secdet scan``, which merges its inputs in event-time order), in 1 MiB
        chunks, plain or gzip. With format "auto" each file is CloudTrail
        when its first key is "Records", else JSON lines; the source name is
        `source`, else the format's name (a source not yet added is added
        with `format`). `flush` (default True) ends the scan with `flush()`,
        so aggregation alerts are complete.

        With `read_ahead` (the default) a reader thread reads and evaluates
        up to a few chunks ahead of the loop, so building Alert objects
        overlaps with evaluation. The engine is not held between chunks: the
        loop body may call other methods (stats() counts the read-ahead
        too). Malformed events go to `on_error` on the iterating thread.

        `jobs` (default 1): each input given as a path is read by
        ``secdet_scan_file`` on up to `jobs` engines on threads (0: one per
        core), like ``secdet scan -j``: the alerts of one engine, ids
        included, in another order, handed over when the file is read.
        Only a JSON-lines file of at least 2 MiB is split; with rules that
        keep state it ends flushed and its correlation state is not kept
        (include/secdet.h, docs/api.md)."""
        if not isinstance(jobs, int) or isinstance(jobs, bool) or not 0 <= jobs <= 256:
            raise ValueError(f"jobs must be a number from 0 to 256, not {jobs!r}")
        if format not in BUILTIN_FORMATS and format not in self._sources.values():
            raise ValueError(f"unknown format {format!r}")
        items = _io.expand_inputs(input)
        return _scan.scan(self, items, format, source, flush, read_ahead, jobs)

    def _call_raw(self, fn: Callable[..., int], *args: Any) -> "tuple[int, Optional[tuple[bytes, bool]]]":
        """fn(engine, *args) under the lock; its status and the raw alert records."""
        return self._locked(fn, args, lambda: take_raw(self._batch))

    # ---- sinks --------------------------------------------------------------

    def add_sink(self, sink: Union[Callable[[Alert], Any], str, Mapping[str, Any]], **options: Any) -> str:
        """Adds a sink; returns its name. Sinks run on the engine's delivery thread.

        - a callable: called as ``sink(alert)`` for every alert that passes the
          filter. Return None (or True, or SinkResult.OK) when delivered,
          False or SinkResult.RETRY to be retried later, SinkResult.PERMANENT
          to dead-letter it. An exception is logged on the "secdet.sink"
          logger, counted (`callback_errors`), and counts as `on_exception`
          (default SinkResult.PERMANENT: no retry storm; pass
          ``on_exception=SinkResult.RETRY`` to retry). Options: the delivery
          keys of docs/sinks.md (name, min_severity, tags, queue_max,
          spool_dir, spool_fsync, spool_fsync_ms, spool_max_bytes,
          max_attempts, backoff_ms, backoff_max_ms, max_in_flight, dead_letter).
        - a type name ("stdout", "file", "webhook", "slack", "syslog") and its
          keys as keyword arguments, e.g. ``add_sink("file", path="alerts.jsonl")``,
          or the whole JSON object as a dict. Raises SinkError on a bad key.

        Don't call this engine from a sink callable (it runs on another thread
        while this thread may hold the engine)."""
        out = ffi.new("secdet_sink **")
        if callable(sink):
            from ._enums import SinkResult
            from ._sinks import make_sink_opts

            on_exc = SinkResult(options.pop("on_exception", SinkResult.PERMANENT))
            opts, keep = make_sink_opts(options)
            name = options.get("name") or f"callback-{len(self._keep) + 1}"
            state = SinkState(sink, name, on_exc, self._counters)
            handle = new_handle(state)
            if not options.get("name"):
                keep.append(ffi.new("char[]", name.encode()))
                opts.name = keep[-1]
            check(lib.secdet_sink_callback(lib.pysd_sink_cb, handle, opts, out), "callback sink")
            self._keep.append(handle)
        else:
            from ._sinks import sink_json

            text = sink_json(sink, options)
            holder = ffi.new("secdet_diagnostics **")
            status = lib.secdet_sink_from_json(text, len(text), out, holder)
            diags = take_diagnostics(holder)
            if status != 0:
                detail = "; ".join(d.message for d in diags) or strerror(status)
                raise SinkError(f"bad sink: {detail}", status, diags)
        with self._lock:
            ptr = self._ptr
            if ptr is None:
                lib.secdet_sink_free(out[0])
                raise ClosedError("secdet: the engine is closed")
            if not self._sink_log_set:
                lib.secdet_set_sink_log(ptr, lib.pysd_sink_log_cb, ffi.NULL)
                self._sink_log_set = True
            status = lib.secdet_sink_add(ptr, out[0])  # the engine owns the sink now, even on failure
            if status != 0:
                raise SinkError(f"cannot add the sink: {strerror(status)}", status)
            i = lib.secdet_sink_count(ptr) - 1
            return ffi.string(lib.secdet_sink_name(ptr, i)).decode()

    def drain(self, timeout: Optional[float] = None) -> bool:
        """Waits until every alert handed to the sinks is delivered or
        dead-lettered (with a spool as without), up to `timeout` seconds
        (None: no limit). True when done, False when time ran out: what is
        left stays queued, in the spools as far as they take it."""
        ms = -1 if timeout is None else max(0, int(timeout * 1000))
        with self._lock:
            status = lib.secdet_drain(self._live(), ms)
        if status == ERR_TIMEOUT:
            return False
        check(status, "drain")
        return True

    @property
    def callback_errors(self) -> int:
        """Exceptions raised by this engine's sink callables so far."""
        with self._counters.lock:
            return self._counters.callback_errors

    # ---- stats and state ----------------------------------------------------

    def stats(self) -> Stats:
        """The engine's counters and every sink's."""
        from ._types import SinkStats, Stats

        st = ffi.new("secdet_stats *")
        ss = ffi.new("secdet_sink_stats *")
        sinks = []
        with self._lock:
            ptr = self._live()
            check(lib.secdet_stats_get(ptr, st), "stats")
            for i in range(lib.secdet_sink_count(ptr)):
                if lib.secdet_sink_stats_get(ptr, i, ss) != 0:
                    continue
                sinks.append(SinkStats(
                    name=ffi.string(lib.secdet_sink_name(ptr, i)).decode("utf-8", "replace"),
                    accepted=ss.accepted, filtered=ss.filtered, delivered=ss.delivered, retries=ss.retries,
                    dead_lettered=ss.dead_lettered, dropped=ss.dropped, pending=ss.pending,
                    spool_bytes=ss.spool_bytes, spool_corrupt=ss.spool_corrupt, in_flight=ss.in_flight,
                    failing=bool(ss.failing), last_error=ffi.string(ss.last_error).decode("utf-8", "replace")))
        fields = {name: getattr(st, name) for name in Stats.__dataclass_fields__
                  if name not in ("sinks", "callback_errors")}
        return Stats(**fields, sinks=tuple(sinks), callback_errors=self.callback_errors)

    def snapshot(self, path: "str | os.PathLike[str]") -> None:
        """Saves the correlation state to `path` (atomically: temp file + rename)."""
        with self._lock:
            status = lib.secdet_snapshot_save(self._live(), os.fsencode(os.fspath(path)))
        check(status, f"snapshot to {os.fspath(path)}")

    def restore(self, path: "str | os.PathLike[str]") -> List[Diagnostic]:
        """Restores the correlation state saved in `path` (load the rules first).
        Returns the warnings (rules whose state was dropped because they
        changed). Raises Error (status DECODE) for a damaged file, the engine
        unchanged; FileNotFoundError when it does not exist."""
        p = os.fspath(path)
        if not os.path.exists(p):
            raise FileNotFoundError(2, "No such file or directory", p)
        holder = ffi.new("secdet_diagnostics **")
        with self._lock:
            status = lib.secdet_snapshot_load(self._live(), os.fsencode(p), holder)
        diags = take_diagnostics(holder)
        if status != 0:
            detail = "; ".join(d.message for d in diags if d.is_error) or strerror(status)
            raise Error(f"cannot restore {p}: {detail}", status, diags)
        return diags

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<secdet.Engine closed>"
        return f"<secdet.Engine rules={len(self.rules)} sources={sorted(self._sources)}>"


__all__ = ["Engine", "BUILTIN_FORMATS"]
