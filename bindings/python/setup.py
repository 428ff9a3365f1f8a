"""setup.py — only what pyproject.toml cannot say: the cffi extension module.

Everything else (name, version, dependencies) is in pyproject.toml.
"""
from setuptools import setup

setup(cffi_modules=["secdet_build.py:ffibuilder"])
