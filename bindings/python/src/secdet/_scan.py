"""_scan.py — Engine.scan: files in, alerts out, with read-ahead.

A scan runs in two threads: a reader thread reads 1 MiB chunks (inflating
gzip) and pushes them into the engine — C code that runs without the GIL —
and queues the raw alert records of each push; the thread iterating turns
them into Alert objects. So building Python objects overlaps with
evaluation, and a scan costs little more than `secdet scan` on two cores.
The reader stays at most a few chunks ahead, and stops when the iterator is
closed (a `break` out of the loop) or garbage-collected.
"""
from __future__ import annotations

import os
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

from . import _io
from ._errors import ERR_DECODE
from ._handoff import Handoff, Reader
from ._native import check, ffi, lib, parse_records

if TYPE_CHECKING:  # pragma: no cover
    from typing import IO, Any, Iterator, List, Optional, Tuple

    from ._alert import Alert
    from ._engine import Engine

_AHEAD = 4  # chunks' worth of alert records the reader may queue


def _file_batches(engine: "Engine", display: str, f: IO[Any], format: str,
                  source: Optional[str]) -> Iterator[Tuple[bytes, bool]]:
    """Pushes one input, chunk by chunk, then ends its stream; yields the raw
    alert records of each call."""
    src_b = b""
    from_buffer = ffi.from_buffer
    for chunk in _io.chunks(f):
        if not src_b:
            fmt = format
            if source is not None:
                name = source
            else:
                if fmt == "auto":
                    fmt = _io.detect_format(chunk)
                name = fmt
            engine._ensure_source(name, fmt)
            src_b = engine._name(name)
        status, raw = engine._call_raw(lib.secdet_push, src_b, from_buffer(chunk), len(chunk))
        if status not in (0, ERR_DECODE):
            check(status, display)
        if raw is not None:
            yield raw
    if src_b:
        status, raw = engine._call_raw(lib.secdet_source_end, src_b)
        if status not in (0, ERR_DECODE):
            check(status, display)
        if raw is not None:
            yield raw


def _path_batches(engine: "Engine", path: str, format: str, source: Optional[str],
                  jobs: int) -> Iterator[Tuple[bytes, bool]]:
    """One file by secdet_scan_file on `jobs` engines (include/secdet.h):
    its alerts come when the whole file is read."""
    fmt, name = format, source
    if name is None:
        if fmt == "auto":
            with open(path, "rb") as f:
                fmt = _io.detect_format(f.read(4096))
        name = fmt
    engine._ensure_source(name, fmt)
    status, raw = engine._call_raw(lib.secdet_scan_file, engine._name(name), os.fsencode(path), jobs, ffi.NULL)
    if status not in (0, ERR_DECODE):
        check(status, path)
    if raw is not None:
        yield raw


def _all_batches(engine: "Engine", items: List[Tuple[str, Any]], format: str,
                 source: Optional[str], jobs: int = 1) -> Iterator[Tuple[bytes, bool]]:
    for display, obj in items:
        if jobs != 1 and isinstance(obj, (str, os.PathLike)):
            yield from _path_batches(engine, os.fspath(obj), format, source, jobs)
            continue
        f, opened = _io.open_input(obj)
        try:
            yield from _file_batches(engine, display, f, format, source)
        finally:
            if opened:
                f.close()


def scan(engine: "Engine", items: List[Tuple[str, Any]], format: str, source: Optional[str],
         flush: bool, read_ahead: bool, jobs: int = 1) -> Iterator[Alert]:
    if not read_ahead:
        for raw in _all_batches(engine, items, format, source, jobs):
            alerts, errors = parse_records(raw)
            if errors:
                engine._report(errors)
            yield from alerts
    else:
        q = Handoff(_AHEAD)

        def read() -> None:
            try:
                for raw in _all_batches(engine, items, format, source, jobs):
                    if not q.put(("records", raw)):
                        return
                q.put(("done", None))
            except BaseException as err:  # noqa: BLE001 - handed to the iterating thread
                q.put(("error", err))

        reader = Reader(read)
        try:
            while True:
                kind, value = q.get()
                if kind == "records":
                    alerts, errors = parse_records(value)
                    if errors:
                        engine._report(errors)
                    yield from alerts
                elif kind == "done":
                    break
                else:
                    raise value
        finally:
            q.stop()
            reader.join()
    if flush:
        yield from engine.flush()
