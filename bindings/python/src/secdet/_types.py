"""_types.py — the values the secdet package hands out: alerts, diagnostics, stats.

`Alert` keeps the alert's JSON text and the fields the library gives without
parsing; everything else in the JSON (count, group, events, ...) is parsed on
first use, so collecting millions of alerts stays cheap.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

# json and datetime are imported on first use (an alert's derived fields, its
# time) and typing only by type checkers: `import secdet` is start-up time.
if TYPE_CHECKING:  # pragma: no cover
    import datetime as _dt
    from typing import Any, Dict, List, Optional, Tuple


def _epoch() -> "_dt.datetime":
    import datetime as _dt

    return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class Severity(enum.IntEnum):
    """Alert and rule severity, ordered: ``Severity.HIGH > Severity.MEDIUM``."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: "Severity | str | int") -> "Severity":
        """A Severity from itself, its name ("high", any case) or its number."""
        if isinstance(value, str):
            try:
                return cls[value.upper()]
            except KeyError:
                raise ValueError(f"unknown severity {value!r} (info, low, medium, high, critical)") from None
        return cls(value)


_SEVERITIES = tuple(Severity)


class SinkResult(enum.IntEnum):
    """What a sink callable may return (returning None means OK)."""

    OK = 0  #: delivered
    RETRY = 1  #: failed for now: try again after a backoff
    PERMANENT = 2  #: can never succeed: to the dead-letter file


@dataclass(frozen=True)
class Alert:
    """One alert, as the library raised it.

    The fields are set from the library directly; the rest of the alert's
    JSON (``count``, ``group``, ``events``, ``first_seen``, ``last_seen``,
    ``suppressed``, ``meta``) is parsed from ``json`` on first use.
    ``to_dict()`` gives the whole JSON object as a dict.
    """

    rule: str
    title: str
    severity: Severity
    message: str
    id: str  #: stable: the same input gives the same id (de-duplicate on it)
    source: str
    time_ns: int  #: event time of the firing event, ns since the Unix epoch (UTC)
    tags: Tuple[str, ...]
    json: str = field(repr=False)  #: the alert as one line of compact JSON

    # ---- derived, parsed on demand ----
    @property
    def time(self) -> _dt.datetime:
        """Event time of the firing event (UTC, microsecond precision)."""
        import datetime as _dt

        return _epoch() + _dt.timedelta(microseconds=self.time_ns // 1000)

    @property
    def _data(self) -> Dict[str, Any]:
        d = self.__dict__.get("_parsed")
        if d is None:
            import json

            d = json.loads(self.json)
            self.__dict__["_parsed"] = d
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
        alert.__dict__["_parsed"] = d
        return alert


def _make_alert(rule: str, title: str, sev: int, message: str, ident: str, source: str,
                time_ns: int, tags: Tuple[str, ...], text: str) -> Alert:
    """Alert(...) without the frozen dataclass __init__'s per-field setattr (hot path)."""
    a = object.__new__(Alert)
    a.__dict__.update(rule=rule, title=title, severity=_SEVERITIES[sev] if 0 <= sev < 5 else Severity(sev),
                      message=message, id=ident, source=source, time_ns=time_ns, tags=tags, json=text)
    return a


@dataclass(frozen=True)
class Diagnostic:
    """A rule compile error or warning (or a snapshot report line)."""

    severity: str  #: "error" or "warning"
    file: str  #: as given to the loader; "" when not tied to a file
    line: int  #: 1-based; 0 when unknown
    column: int  #: 1-based, in bytes; 0 when unknown
    message: str
    text: str = field(repr=False, default="")  #: "file:line:col: message", as `secdet check` prints it

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return self.text or f"{self.file}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class MalformedEvent:
    """An event that could not be decoded: counted, reported, skipped."""

    source: str
    where: int  #: 1-based line (jsonl) or record (cloudtrail) number; 0 when unknown
    message: str


@dataclass(frozen=True)
class RuleInfo:
    """A loaded rule."""

    name: str
    title: str
    severity: Severity
    file: str
    line: int
    private: bool  #: never alerts (a building block of other rules)
    aggregate: bool  #: count / distinct / sum / sequence


@dataclass(frozen=True)
class RuleExcept:
    """One exception of a rule (``except ... until ... "reason"`` in a tune)."""

    file: str  #: where the ``except`` is written
    line: int
    column: int
    condition: str  #: as written, on one line
    reason: str  #: "" when none
    until: str  #: "YYYY-MM-DD", "" when it has no date
    until_ns: int  #: events from this time on (ns since the epoch, UTC) are not excepted; 2**63-1 without a date
    excepted: int  #: events it took out


@dataclass(frozen=True)
class RuleStats:
    """One rule's figures since the engine was made; a reload keeps those of every rule whose name stays."""

    rule: str
    alerts: int  #: alerts the rule made (before the sinks' filters)
    suppressed: int  #: alerts its throttle held back
    excepted: int  #: events its exceptions took out
    disabled: bool  #: a ``disable`` turned it off
    excepts: Tuple[RuleExcept, ...]  #: its exceptions, in the order they apply


@dataclass(frozen=True)
class SinkStats:
    """Counters of one sink (see docs/sinks.md)."""

    name: str
    accepted: int
    filtered: int
    delivered: int
    retries: int
    dead_lettered: int
    dropped: int
    pending: int
    spool_bytes: int
    spool_corrupt: int
    in_flight: int
    failing: bool
    last_error: str


@dataclass(frozen=True)
class Stats:
    """The engine's counters (every field of secdet_stats) and each sink's."""

    events: int
    malformed: int
    alerts: int
    rules_run: int
    budget_exceeded: int
    late: int
    bytes: int
    evicted: int
    groups: int
    state_bytes: int
    udp_dropped: int
    input_paused: int
    queued: int
    oversized: int
    connections: int
    connections_refused: int
    accept_errors: int
    idle_closed: int
    tls_failed: int
    text_events: int  #: of events, those read by the one-pass scanner (no JSON tree built)
    time_unreadable: int = 0  #: events whose time could not be read (they took the time of the push)
    sinks: Tuple[SinkStats, ...] = ()
    callback_errors: int = 0  #: exceptions raised by Python sink callables


@dataclass(frozen=True)
class EventInfo:
    """What the engine makes of one event (`Engine.inspect`)."""

    source: str  #: the source it belongs to (a routing source's event: its log type's name)
    log_type: str
    time: Optional[_dt.datetime]  #: its own time (UTC), or None when it has none
