"""conftest.py — fixtures of the rule-pack tests (tests/rules).

The `secdet` binary is $SECDET_BIN, else build/secdet; the shared data is
$SECDET_SHARED, else ../shared beside the repository (tests/e2e/secdet_cli.py
says how both are found). Tests that need the binary skip when it is not
built; tests over ../shared/data skip, saying so, when it is absent.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

import secdet_cli  # noqa: E402


@pytest.fixture(scope="session")
def secdet():
    b = secdet_cli.secdet_bin()
    if not (b.is_file() and os.access(b, os.X_OK)):
        pytest.skip("secdet binary not found at %s (build it, or set SECDET_BIN)" % b)
    return b


@pytest.fixture(scope="session")
def shared_data():
    d = secdet_cli.shared_dir() / "data"
    if not d.is_dir():
        pytest.skip("shared data not found under %s (set SECDET_SHARED)" % secdet_cli.shared_dir())
    return d
