"""_alert.py — `secdet.Alert`: one alert, built cheaply, decoded on first use.

A scan of a large file yields thousands of alerts, and most loops read a few
fields of each (or count them). So an Alert made by the engine holds only the
bytes of its record in the extension's batch (secdet_build.py): the first read
of any field decodes them all, and `count`, `events`, ... parse the alert's
JSON on first use. The class keeps the behaviour of the frozen dataclass it
was (docs/python.md, "Alerts"): the same constructor, equality, hash, repr
and FrozenInstanceError, and `dataclasses.fields`, `asdict` and `replace`
work on it — without importing `dataclasses` (~15 ms) at `import secdet`: the
dataclass fields are made the first time something asks for them.
"""
from __future__ import annotations

import struct

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

if TYPE_CHECKING:  # pragma: no cover
    import datetime as _dt
    from typing import Any, Dict, List, Optional, Tuple

    from ._enums import Severity

# An alert record (secdet_build.py): kind, size, time_ns, severity, then the
# lengths of rule, title, message, id, source, json and tags (NUL-separated).
RECORD = struct.Struct("=IIqI7I")

_FIELDS = ("rule", "title", "severity", "message", "id", "source", "time_ns", "tags", "json")
_FIELD_SET = frozenset(_FIELDS)
_SEVERITIES: "Tuple[Severity, ...]" = ()


def _severity(value: int) -> "Severity":
    global _SEVERITIES
    if not _SEVERITIES:
        from ._enums import SEVERITIES

        _SEVERITIES = SEVERITIES
    if 0 <= value < len(_SEVERITIES):
        return _SEVERITIES[value]
    from ._enums import Severity

    return Severity(value)


def _epoch() -> "_dt.datetime":
    import datetime as _dt

    return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class _DataclassFields(type):
    """Alert's metaclass: gives `__dataclass_fields__` (what `dataclasses` looks
    for) when first asked, from a dataclass made then with the same fields."""

    def __getattr__(cls, name: str) -> Any:
        if name in ("__dataclass_fields__", "__dataclass_params__"):
            import dataclasses

            ns = {"__annotations__": {f: cls.__annotations__[f] for f in _FIELDS},
                  "json": dataclasses.field(repr=False)}
            shadow = dataclasses.dataclass(frozen=True)(type(cls.__name__, (), ns))
            type.__setattr__(cls, "__dataclass_fields__", shadow.__dataclass_fields__)
            type.__setattr__(cls, "__dataclass_params__", shadow.__dataclass_params__)
            return type.__getattribute__(cls, name)
        raise AttributeError(f"type object {cls.__name__!r} has no attribute {name!r}")


def _frozen(name: str, what: str) -> Exception:
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(f"cannot {what} field {name!r}")


class Alert(metaclass=_DataclassFields):
    """One alert, as the library raised it.

    The fields are set from the library directly; the rest of the alert's
    JSON (``count``, ``group``, ``events``, ``first_seen``, ``last_seen``,
    ``suppressed``, ``meta``) is parsed from ``json`` on first use.
    ``to_dict()`` gives the whole JSON object as a dict.
    """

    __slots__ = _FIELDS + ("_r", "_parsed")
    __match_args__ = _FIELDS

    rule: str
    title: str
    severity: Severity
    message: str
    id: str  #: stable: the same input gives the same id (de-duplicate on it)
    source: str
    time_ns: int  #: event time of the firing event, ns since the Unix epoch (UTC)
    tags: Tuple[str, ...]
    json: str  #: the alert as one line of compact JSON

    def __init__(self, rule: str, title: str, severity: Severity, message: str, id: str, source: str,
                 time_ns: int, tags: Tuple[str, ...], json: str) -> None:
        _set = object.__setattr__
        _set(self, "rule", rule)
        _set(self, "title", title)
        _set(self, "severity", severity)
        _set(self, "message", message)
        _set(self, "id", id)
        _set(self, "source", source)
        _set(self, "time_ns", time_ns)
        _set(self, "tags", tags)
        _set(self, "json", json)
        _set(self, "_r", None)

    def __getattr__(self, name: str) -> Any:
        # Only called for a slot not yet set: a field of an alert not decoded yet
        # (or decoded by another thread since the lookup that failed).
        if name in _FIELD_SET:
            raw = self._r
            if raw is not None:
                self._decode(raw)
            return object.__getattribute__(self, name)
        elif name in ("__dataclass_fields__", "__dataclass_params__"):
            return getattr(type(self), name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _decode(self, raw: bytes) -> None:
        _, _, t, sev, l0, l1, l2, l3, l4, l5, l6 = RECORD.unpack_from(raw, 0)
        p0 = RECORD.size
        p1 = p0 + l0
        p2 = p1 + l1
        p3 = p2 + l2
        p4 = p3 + l3
        p5 = p4 + l4
        p6 = p5 + l5
        _set = object.__setattr__
        _set(self, "rule", raw[p0:p1].decode("utf-8", "replace"))
        _set(self, "title", raw[p1:p2].decode("utf-8", "replace"))
        _set(self, "severity", _severity(sev))
        _set(self, "message", raw[p2:p3].decode("utf-8", "replace"))
        _set(self, "id", raw[p3:p4].decode("utf-8", "replace"))
        _set(self, "source", raw[p4:p5].decode("utf-8", "replace"))
        _set(self, "time_ns", t)
        _set(self, "tags", tuple(raw[p6:p6 + l6].decode("utf-8", "replace").split("\0")) if l6 else ())
        _set(self, "json", raw[p5:p6].decode("utf-8", "replace"))
        _set(self, "_r", None)

    # ---- what the frozen dataclass gave ----
    def _astuple(self) -> Tuple[Any, ...]:
        return (self.rule, self.title, self.severity, self.message, self.id, self.source, self.time_ns,
                self.tags, self.json)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._astuple() == other._astuple()  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._astuple())

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in _FIELDS if f != "json")
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise _frozen(name, "assign to")

    def __delattr__(self, name: str) -> None:
        raise _frozen(name, "delete")

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), self._astuple())

    def __replace__(self, **changes: Any) -> "Alert":  # copy.replace (Python 3.13)
        values = dict(zip(_FIELDS, self._astuple()))
        values.update(changes)
        return type(self)(**values)

    # ---- derived, parsed on demand ----
    @property
    def time(self) -> _dt.datetime:
        """Event time of the firing event (UTC, microsecond precision)."""
        import datetime as _dt

        return _epoch() + _dt.timedelta(microseconds=self.time_ns // 1000)

    @property
    def _data(self) -> Dict[str, Any]:
        try:
            return self._parsed
        except AttributeError:
            import json

            d = json.loads(self.json)
            object.__setattr__(self, "_parsed", d)
            return d

    @property
    def count(self) -> int:
        """Events counted (1 for a single-event rule)."""
        return int(self._data.get("count", 1))

    @property
    def group(self) -> Dict[str, Any]:
        """The values of the rule's ``by`` keys ({} without)."""
        return dict(self._data.get("group") or {})

    @property
    def events(self) -> List[Dict[str, Any]]:
        """Sample events (the firing event; for aggregations up to max_samples)."""
        return list(self._data.get("events") or ())

    @property
    def first_seen(self) -> Optional[str]:
        return self._data.get("first_seen")

    @property
    def last_seen(self) -> Optional[str]:
        return self._data.get("last_seen")

    @property
    def suppressed(self) -> int:
        """Alerts of this group throttled since the last one delivered."""
        return int(self._data.get("suppressed", 0))

    @property
    def meta(self) -> Dict[str, Any]:
        """The rule's other meta keys."""
        return dict(self._data.get("meta") or {})

    @property
    def fields(self) -> Dict[str, Any]:
        """The firing event's common fields that it has ("type", "time", "ip",
        "user", ...; docs/log-types.md)."""
        return dict(self._data.get("fields") or {})

    @property
    def log_type(self) -> str:
        """The firing event's log type ("okta", "cloudtrail", ...; "jsonl" when
        it had none): its fields' "type", what a sink's ``log_types`` matches."""
        return str((self._data.get("fields") or {}).get("type", ""))

    def to_dict(self) -> Dict[str, Any]:
        """The whole alert as a new dict (the JSON shape of docs/language.md)."""
        import json

        return json.loads(self.json)

    @classmethod
    def from_json(cls, text: "str | bytes") -> "Alert":
        """An Alert from the library's alert JSON (what a file sink writes)."""
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", "replace")
        import datetime as _dt
        import json

        from ._enums import Severity

        d = json.loads(text)
        t = d.get("time")
        ns = 0
        if t:
            when = _dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
            delta = when - _epoch()
            ns = (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
        alert = cls(rule=d.get("rule", ""), title=d.get("title", ""),
                    severity=Severity.parse(d.get("severity", "info")), message=d.get("message", ""),
                    id=d.get("id", ""), source=d.get("source", ""), time_ns=ns,
                    tags=tuple(d.get("tags") or ()), json=text)
        object.__setattr__(alert, "_parsed", d)
        return alert


_new = object.__new__
_set_raw = Alert._r.__set__  # type: ignore[attr-defined]


def from_record(raw: bytes) -> Alert:
    """An Alert over one alert record of the batch (decoded on first use)."""
    a = _new(Alert)
    _set_raw(a, raw)
    return a
