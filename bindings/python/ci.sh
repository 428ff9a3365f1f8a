#!/usr/bin/env bash
# ci.sh PREFIX — builds, installs and tests the Python binding against the
# libsecdet installed in PREFIX (cmake --install BUILD --prefix PREFIX).
#
#   1. a venv in $SECDET_PY_VENV (default: PREFIX/../python-venv), with cffi,
#      setuptools, wheel and pytest from PyPI;
#   2. pip install ./bindings/python, finding libsecdet with pkg-config
#      (PKG_CONFIG_PATH=PREFIX/lib[/<multiarch>]/pkgconfig);
#   3. pytest -q bindings/python/tests (its own summary line is printed),
#      from outside the source tree so the installed package is tested;
#   4. the examples: examples/python/scan_dir.py on examples/data and
#      examples/python/write_a_rule.py.
# Exits non-zero when any step fails. Needs python3 with venv and its
# headers (Debian: python3-venv python3-dev), a C compiler and pkg-config.
set -euo pipefail

if (($# != 1)); then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
prefix=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${SECDET_PY_VENV:-$(dirname "$prefix")/python-venv}

pcdir=
for d in "$prefix"/lib/pkgconfig "$prefix"/lib/*/pkgconfig "$prefix"/lib64/pkgconfig; do
    if [[ -f $d/secdet.pc ]]; then pcdir=$d; break; fi
done
if [[ -z $pcdir ]]; then
    echo "ci.sh: no secdet.pc under $prefix/lib*/ (run cmake --install first)" >&2
    exit 1
fi

echo "== venv $venv"
[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
py=$venv/bin/python
"$py" -m pip install --quiet --disable-pip-version-check --upgrade pip cffi setuptools wheel pytest

echo "== pip install bindings/python (PKG_CONFIG_PATH=$pcdir)"
PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH} \
    "$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$here"
# No LD_LIBRARY_PATH: the extension carries an rpath to the library.
"$py" -c 'import secdet; print("secdet", secdet.__version__, "linked to libsecdet", secdet.library_version())'

status=0
echo "== pytest bindings/python/tests"
# Run from a scratch directory so `import secdet` is the installed package.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && SECDET_PREFIX=$prefix timeout 900 "$py" -m pytest -q -p no:cacheprovider "$here/tests") || status=1

echo "== examples/python/scan_dir.py examples/data"
(cd "$scratch" && timeout 300 "$py" "$root/examples/python/scan_dir.py" "$root/examples/data") || status=1
echo "== examples/python/write_a_rule.py"
(cd "$scratch" && timeout 300 "$py" "$root/examples/python/write_a_rule.py" >/dev/null) || status=1

if ((status == 0)); then echo "python binding: OK"; else echo "python binding: FAILED"; fi
exit "$status"
