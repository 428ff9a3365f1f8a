"""_types.py — the values the secdet package hands out besides alerts: diagnostics, stats, rule info.

Frozen dataclasses. `import secdet` does not load this module (nor
`dataclasses`, ~15 ms): the package and the engine import it when one of these
is first made or named (docs/performance.md, "Python start-up"). Alert lives in
_alert.py, Severity and SinkResult in _enums.py; all are re-exported here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

from ._alert import Alert
from ._enums import Severity, SinkResult

if TYPE_CHECKING:  # pragma: no cover
    import datetime as _dt
    from typing import Optional, Tuple


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
