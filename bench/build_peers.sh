#!/usr/bin/env bash
# build_peers.sh — builds the peers bench/run.sh measures beside secdet, each
# only where its tools are (or can be) there, into BUILD (default build-bench/):
#
#   simdjson_floor  bench/simdjson_floor.cpp with Debian's libsimdjson-dev;
#                   when the library is missing, it is installed with apt-get
#                   (as root, or with sudo that needs no password) — the
#                   benchmark alone needs it, so tools/install-deps.sh does not
#                   list it;
#   sigma_bench     bench/sigma_bench (Go, sigma-go v0.6.6 and its JSON
#                   decoders from the Go module proxy, pinned by go.sum);
#                   needs the go command;
#   python-venv     a venv with the Python binding of this checkout
#                   (`pip install ./bindings/python`, from PyPI: cffi and
#                   scikit-build-core), reinstalled when a file under src/,
#                   include/, cmake/ or bindings/python/ is newer than the
#                   last install.
#
# Writes bench/out/peers.env, shell assignments bench/run.sh reads: for each
# peer have_NAME=1, or have_NAME=0 and why_NAME="the reason it is left out".
# BENCH_SKIP (words: simdjson sigma python) leaves peers out on purpose.
# Exit status 0 (a peer that cannot be built is reported, not fatal).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-${BENCH_BUILD_DIR:-$root/build-bench}}
out=$here/out
skip=" ${BENCH_SKIP:-} "
mkdir -p "$build" "$out"
env=$out/peers.env
: >"$env"

# peer NAME 1|0 [REASON]: records the outcome.
peer() {
    printf 'have_%s=%s\n' "$1" "$2" >>"$env"
    if [ "$2" = 0 ]; then
        printf 'why_%s=%q\n' "$1" "$3" >>"$env"
        echo "   $1: left out: $3"
    else
        echo "   $1: built"
    fi
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif sudo -n true 2>/dev/null; then sudo -n "$@"; else return 1; fi
}

echo "== peers"

# ---- simdjson ------------------------------------------------------------------
if [[ $skip == *" simdjson "* ]]; then
    peer simdjson 0 "BENCH_SKIP"
else
    if ! pkg-config --exists simdjson 2>/dev/null && command -v apt-get >/dev/null; then
        echo "   installing libsimdjson-dev (apt-get; the benchmark's own dependency)"
        log=$out/apt-simdjson.log
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsimdjson-dev </dev/null >"$log" 2>&1 ||
            { as_root apt-get update -qq </dev/null >>"$log" 2>&1 &&
                as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsimdjson-dev </dev/null >>"$log" 2>&1; }
    fi
    if ! pkg-config --exists simdjson 2>/dev/null; then
        peer simdjson 0 "libsimdjson-dev is not installed and could not be (apt-get install libsimdjson-dev)"
    elif ! command -v c++ >/dev/null; then
        peer simdjson 0 "no C++ compiler (c++)"
    # -O3 and -march of the machine's default: simdjson picks its kernel
    # (haswell, icelake, ...) at run time, whatever the flags.
    # shellcheck disable=SC2046
    elif c++ -std=c++17 -O3 -DNDEBUG -Wall -Wextra $(pkg-config --cflags simdjson) "$here/simdjson_floor.cpp" \
            $(pkg-config --libs simdjson) -o "$build/simdjson_floor" >"$out/simdjson_build.log" 2>&1; then
        peer simdjson 1
    else
        peer simdjson 0 "simdjson_floor.cpp did not build (log: bench/out/simdjson_build.log)"
    fi
fi

# ---- sigma-go ------------------------------------------------------------------
if [[ $skip == *" sigma "* ]]; then
    peer sigma 0 "BENCH_SKIP"
elif ! command -v go >/dev/null; then
    peer sigma 0 "no go command (Go 1.24 or newer)"
elif (cd "$here/sigma_bench" && go build -mod=readonly -trimpath -o "$build/sigma_bench" .) \
        >"$out/sigma_build.log" 2>&1; then
    peer sigma 1
else
    peer sigma 0 "bench/sigma_bench did not build (log: bench/out/sigma_build.log)"
fi

# ---- the Python binding ------------------------------------------------------------
venv=$build/python-venv
stamp=$venv/.secdet-installed
if [[ $skip == *" python "* ]]; then
    peer python 0 "BENCH_SKIP"
elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    peer python 0 "python3 has no venv/ensurepip (Debian: python3-venv)"
else
    fresh=1
    if [ -f "$stamp" ] && [ -x "$venv/bin/python" ]; then
        newer=$(find "$root/src" "$root/include" "$root/cmake" "$root/CMakeLists.txt" "$root/bindings/python" \
            -newer "$stamp" -type f -print -quit 2>/dev/null)
        [ -n "$newer" ] || fresh=0
    fi
    if ((fresh)); then
        echo "   installing the Python binding into ${venv#"$root"/} (pip install ./bindings/python)"
        rm -f "$stamp"
        if { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } &&
            (cd "$root" && "$venv/bin/pip" install --disable-pip-version-check --quiet ./bindings/python) \
                >"$out/python_build.log" 2>&1; then
            touch "$stamp"
        fi
    fi
    if [ -f "$stamp" ] && "$venv/bin/python" -c 'import secdet' >/dev/null 2>&1; then
        peer python 1
    else
        peer python 0 "pip install ./bindings/python failed (log: bench/out/python_build.log)"
    fi
fi
exit 0
