"""secdet — Python binding of libsecdet, an embeddable security detection engine.

    import secdet

    with secdet.Engine("rules/aws/cis.secdet") as engine:
        for alert in engine.scan("trail.json.gz"):
            print(alert.severity, alert.rule, alert.message)

The package links the installed C library (see README.md); the GIL is
released while the library parses and evaluates.
"""
from ._alert import Alert
from ._errors import ClosedError, DecodeError, Error, RuleError, SinkError
from ._engine import BUILTIN_FORMATS, Engine
from ._native import ffi as _ffi, lib as _lib

__version__ = "0.1.0"

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)
if TYPE_CHECKING:  # pragma: no cover - what type checkers see of the names below
    from ._enums import Severity, SinkResult
    from ._types import (Diagnostic, EventInfo, MalformedEvent, RuleExcept, RuleInfo, RuleStats, SinkStats,
                         Stats)

# The other public types are dataclasses and enums: their modules are loaded
# when first named (secdet.Stats, from secdet import Severity), so that
# `import secdet` costs the extension and little else (docs/performance.md).
_LAZY = {"Severity": "_enums", "SinkResult": "_enums", "Diagnostic": "_types", "EventInfo": "_types",
         "MalformedEvent": "_types", "RuleExcept": "_types", "RuleInfo": "_types", "RuleStats": "_types",
         "SinkStats": "_types", "Stats": "_types"}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'secdet' has no attribute {name!r}")
    if module == "_enums":
        from . import _enums as found
    else:
        from . import _types as found  # type: ignore[no-redef]
    value = getattr(found, name)
    globals()[name] = value
    return value


def __dir__() -> "list[str]":
    return sorted(set(globals()) | set(_LAZY))


def library_version() -> str:
    """The version of the libsecdet linked at run time, e.g. "0.1.0"."""
    return _ffi.string(_lib.secdet_version()).decode()


__all__ = [
    "Alert", "BUILTIN_FORMATS", "ClosedError", "DecodeError", "Diagnostic", "Engine", "Error", "EventInfo",
    "MalformedEvent", "RuleError", "RuleExcept", "RuleInfo", "RuleStats", "Severity", "SinkError", "SinkResult",
    "SinkStats",
    "Stats", "__version__", "library_version",
]
