"""test_python_cdef.py — the Python binding's cffi declarations against include/secdet.h, in every ctest run.

The test itself is bindings/python/tests/test_cdef.py (it runs there with the
binding's suite, bindings/python/ci.sh); it needs cffi and a C compiler but
not the installed package, so the tools suite runs it too: a change to the
header that the binding's CDEF does not follow fails here at once.
"""
import os
import sys

import pytest

pytest.importorskip("cffi")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python", "tests"))
from test_cdef import test_a_drift_is_found, test_cdef_matches_the_header  # noqa: E402,F401
