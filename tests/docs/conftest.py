"""conftest.py — the docs suite's session: the built `secdet` (SECDET_BIN,
default build/secdet) and a scratch root removed at the end."""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import docenv  # noqa: E402


@pytest.fixture(scope="session")
def any_env():
    """The session's Env, whether or not the binary is built (the Python blocks need only the package)."""
    e = docenv.Env()
    yield e
    if os.environ.get("SECDET_DOCS_KEEP") != "1":
        shutil.rmtree(e.root, ignore_errors=True)


@pytest.fixture(scope="session")
def env(any_env):
    b = docenv.secdet_bin()
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        pytest.skip("secdet binary not found at %s (build it, or set SECDET_BIN)" % b)
    return any_env
