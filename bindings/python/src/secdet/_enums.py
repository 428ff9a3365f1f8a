"""_enums.py — Severity and SinkResult, the package's two enums.

Kept apart from _types.py (whose dataclasses import `dataclasses`, ~15 ms):
`import secdet` loads neither; an Alert loads this module the first time its
severity is read (docs/performance.md, "Python start-up").
"""
from __future__ import annotations

import enum


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


SEVERITIES = tuple(Severity)


class SinkResult(enum.IntEnum):
    """What a sink callable may return (returning None means OK)."""

    OK = 0  #: delivered
    RETRY = 1  #: failed for now: try again after a backoff
    PERMANENT = 2  #: can never succeed: to the dead-letter file
