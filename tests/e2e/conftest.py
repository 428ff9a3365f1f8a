"""conftest.py — fixtures of the end-to-end tests, and a closing summary.

Tests that need the `secdet` binary skip (with the reason) when it is not
built; tests over the invictus CloudTrail data skip when shared/ is absent.
Tests that add lines to `summary` get them printed at the end of the run,
without -s.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import secdet_cli  # noqa: E402

_SUMMARY = []


@pytest.fixture(scope="session")
def secdet():
    b = secdet_cli.secdet_bin()
    if not (b.is_file() and os.access(b, os.X_OK)):
        pytest.skip("secdet binary not found at %s (build it, or set SECDET_BIN)" % b)
    return b


@pytest.fixture(scope="session")
def invictus():
    files = secdet_cli.invictus_files()
    if not files:
        pytest.skip("shared CloudTrail data not found under %s (set SECDET_SHARED)"
                    % secdet_cli.shared_dir())
    return files


@pytest.fixture(scope="session")
def summary():
    return _SUMMARY


def pytest_terminal_summary(terminalreporter):
    if _SUMMARY:
        terminalreporter.section("secdet e2e summary")
        for line in _SUMMARY:
            terminalreporter.write_line(line)
