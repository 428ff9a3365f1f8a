"""secdet — Python binding of libsecdet, an embeddable security detection engine.

    import secdet

    with secdet.Engine("rules/aws/cis.secdet") as engine:
        for alert in engine.scan("trail.json.gz"):
            print(alert.severity, alert.rule, alert.message)

The package links the installed C library (see README.md); the GIL is
released while the library parses and evaluates.
"""
from ._errors import ClosedError, DecodeError, Error, RuleError, SinkError
from ._engine import BUILTIN_FORMATS, Engine
from ._native import ffi as _ffi, lib as _lib
from ._types import (Alert, Diagnostic, EventInfo, MalformedEvent, RuleExcept, RuleInfo, RuleStats, Severity,
                     SinkResult, SinkStats, Stats)

__version__ = "0.1.0"


def library_version() -> str:
    """The version of the libsecdet linked at run time, e.g. "0.1.0"."""
    return _ffi.string(_lib.secdet_version()).decode()


__all__ = [
    "Alert", "BUILTIN_FORMATS", "ClosedError", "DecodeError", "Diagnostic", "Engine", "Error", "EventInfo",
    "MalformedEvent", "RuleError", "RuleExcept", "RuleInfo", "RuleStats", "Severity", "SinkError", "SinkResult",
    "SinkStats",
    "Stats", "__version__", "library_version",
]
