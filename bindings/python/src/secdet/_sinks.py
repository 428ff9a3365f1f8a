"""_sinks.py — sink options from Python keyword arguments.

A callable sink takes the delivery keys of docs/sinks.md as keyword
arguments (filled into a secdet_sink_opts); a built-in sink takes its type
and every key of its JSON object, serialised for secdet_sink_from_json.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

from ._native import ffi, lib
from ._enums import Severity

if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Tuple, Union

_INT_KEYS = ("queue_max", "spool_fsync_ms", "spool_max_bytes", "max_attempts", "backoff_ms",
             "backoff_max_ms", "max_in_flight")
_STR_KEYS = ("name", "spool_dir", "spool_fsync", "dead_letter")
DELIVERY_KEYS = frozenset(_INT_KEYS + _STR_KEYS + ("min_severity", "tags"))


def _plain(value: Any) -> Any:
    """JSON-able: paths as str, severities as their names, tuples as lists."""
    if isinstance(value, Severity):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def make_sink_opts(options: Dict[str, Any]) -> Tuple[Any, List[Any]]:
    """A secdet_sink_opts from keyword arguments, and the C strings it points to
    (keep them alive until the sink is created)."""
    unknown = set(options) - DELIVERY_KEYS
    if unknown:
        raise TypeError(f"unknown sink option(s): {', '.join(sorted(unknown))} "
                        f"(a callable sink takes {', '.join(sorted(DELIVERY_KEYS))})")
    opts = ffi.new("secdet_sink_opts *")
    lib.secdet_sink_opts_init(opts)
    keep: List[Any] = []
    for key in _INT_KEYS:
        if options.get(key) is not None:
            setattr(opts, key, int(options[key]))
    for key in _STR_KEYS:
        if options.get(key) is not None:
            keep.append(ffi.new("char[]", os.fsencode(_plain(options[key]))))
            setattr(opts, key, keep[-1])
    if options.get("min_severity") is not None:
        opts.min_severity = int(Severity.parse(options["min_severity"]))
    tags = options.get("tags")
    if tags:
        if isinstance(tags, str):
            tags = [tags]
        strings = [ffi.new("char[]", str(t).encode()) for t in tags]
        arr = ffi.new("const char *[]", strings)
        keep.extend(strings)
        keep.append(arr)
        opts.tags = arr
        opts.ntags = len(strings)
    return opts, keep


def sink_json(sink: Union[str, Mapping[str, Any]], options: Mapping[str, Any]) -> bytes:
    """The JSON object secdet_sink_from_json takes: {"type": sink, **options}."""
    if isinstance(sink, str):
        obj: Dict[str, Any] = {"type": sink}
    elif isinstance(sink, Mapping):
        obj = dict(sink)
    else:
        raise TypeError(f"a sink is a callable, a type name or a dict, not {type(sink).__name__}")
    obj.update(options)
    return json.dumps(_plain(obj)).encode()
