#!/usr/bin/env bash
# bindings/go/ci.sh PREFIX — tests the Go binding against the libsecdet
# installed under PREFIX (cmake --install BUILD --prefix PREFIX).
#
# Runs, in bindings/go: go vet, go test -race, and go test once more built
# with GOEXPERIMENT=cgocheck2 (every pointer passed to C is checked against
# cgo's rules); then in examples/go: go vet, go build, go test -race (the
# HTTP service on 127.0.0.1:0). Prints go test's own output; exits non-zero
# when anything fails. Needs only the Go toolchain and a C compiler (no
# network: the module has no dependencies, GOPROXY is off).
set -uo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: bindings/go/ci.sh PREFIX" >&2
    exit 2
fi
prefix=$(cd "$1" 2>/dev/null && pwd) || { echo "ci.sh: no such prefix: $1" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

if ! command -v go >/dev/null 2>&1; then
    echo "ci.sh: the Go toolchain (go) is not on PATH" >&2
    exit 1
fi

# The library directory: lib, lib64 or lib/<multiarch>, wherever secdet.pc is.
pc=$(find "$prefix" -path '*/pkgconfig/secdet.pc' -print -quit 2>/dev/null)
if [[ -z $pc ]]; then
    echo "ci.sh: no pkgconfig/secdet.pc under $prefix (was the library installed there?)" >&2
    exit 1
fi
libdir=$(dirname "$(dirname "$pc")")

export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CGO_ENABLED=1
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=
[[ -x $prefix/bin/secdet ]] && export SECDET_CLI="$prefix/bin/secdet"
# Go's build cache does not notice a changed C header or library: put their
# checksum into the C flags (part of the cache key), so a new secdet.h (a
# struct that grew) or libsecdet rebuilds the package instead of reusing it.
incdir=$(pkg-config --variable=includedir secdet)
stamp=$(cat "$incdir/secdet.h" "$libdir"/libsecdet.so* 2>/dev/null | cksum | cut -d' ' -f1)
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -DGOSECDET_LIBRARY_STAMP=$stamp"
# go needs a cache directory; without HOME (some CI shells) use one of ours.
if [[ -z ${GOCACHE:-} && -z ${HOME:-} && -z ${XDG_CACHE_HOME:-} ]]; then
    export GOCACHE=/tmp/secdet-go-cache GOPATH=/tmp/secdet-gopath
fi

echo "go: $(go version); libsecdet: $(pkg-config --modversion secdet) from $libdir"

failed=()
step() {
    local name=$1 dir=$2
    shift 2
    echo
    echo "--- $name"
    if ! (cd "$dir" && "$@"); then
        failed+=("$name")
    fi
}

step "go vet (bindings/go)" "$here" go vet ./...
step "go test -race (bindings/go)" "$here" go test -race -count=1 -timeout 5m ./...
step "go test, GOEXPERIMENT=cgocheck2 (bindings/go)" "$here" env GOEXPERIMENT=cgocheck2 go test -count=1 -timeout 5m ./...
step "go vet (examples/go)" "$root/examples/go" go vet ./...
step "go build (examples/go)" "$root/examples/go" go build -o /dev/null .
step "go test -race (examples/go)" "$root/examples/go" go test -race -count=1 -timeout 5m -v ./...

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'go binding: FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "go binding: all steps passed"
