"""_errors.py — the exceptions of the secdet package.

Every error the C library reports becomes a `secdet.Error` (or a subclass)
carrying the library's status code; rule compile errors are `RuleError`s with
the position of the first error and every diagnostic.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~10 ms)

if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Optional, Sequence

    from ._types import Diagnostic

# secdet_status values (include/secdet.h).
OK = 0
ERR_INVALID_ARG = 1
ERR_NOMEM = 2
ERR_IO = 3
ERR_RULES = 4
ERR_UNKNOWN_SOURCE = 5
ERR_EXISTS = 6
ERR_DECODE = 7
ERR_LIMIT = 8
ERR_TIMEOUT = 9
ERR_BUSY = 10  # a sink cannot take more alerts now; nothing was consumed (the binding waits and retries)


class Error(Exception):
    """An error reported by libsecdet.

    Attributes:
        status: the library's ``secdet_status`` code (0 when the error was
            found by the binding itself, e.g. a closed engine).
        diagnostics: the diagnostics the library attached, if any.
    """

    def __init__(self, message: str, status: int = 0,
                 diagnostics: Optional[Sequence["Diagnostic"]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.diagnostics: List["Diagnostic"] = list(diagnostics or ())


class RuleError(Error):
    """Rules did not compile (or could not be read).

    ``file``, ``line``, ``column`` and ``message`` describe the first error;
    ``diagnostics`` holds every error and warning, in the order found, exactly
    as ``secdet check`` prints them (``str(d)`` is ``file:line:col: message``).
    """

    def __init__(self, message: str, status: int, diagnostics: Sequence["Diagnostic"]) -> None:
        super().__init__(message, status, diagnostics)
        errors = [d for d in self.diagnostics if d.is_error] or self.diagnostics
        first = errors[0] if errors else None
        self.file: str = first.file if first else ""
        self.line: int = first.line if first else 0
        self.column: int = first.column if first else 0
        self.message: str = first.message if first else message

    @property
    def errors(self) -> List["Diagnostic"]:
        """The errors among the diagnostics (without the warnings)."""
        return [d for d in self.diagnostics if d.is_error]


class DecodeError(Error):
    """An event pushed with `Engine.push` was not a JSON object (or too large or deep)."""


class SinkError(Error):
    """A sink could not be created or added (a bad key, an unknown type, a taken name)."""


class ClosedError(Error, ValueError):
    """The engine was closed."""
