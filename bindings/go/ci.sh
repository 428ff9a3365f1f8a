#!/usr/bin/env bash
# bindings/go/ci.sh PREFIX — tests the Go binding against the libsecdet
# installed under PREFIX (cmake --install BUILD --prefix PREFIX).
#
# Sets PKG_CONFIG_PATH to PREFIX's pkgconfig directory and nothing else that
# points at the library (LD_LIBRARY_PATH is unset): the installed secdet.pc
# puts an rpath to the library in what cgo links, so the programs run as
# they are (docs/go.md). Runs, in bindings/go: go vet, go test -race, and go
# test once more built with GOEXPERIMENT=cgocheck2 (every pointer passed to
# C is checked against cgo's rules); then in examples/go: go vet, go build,
# go test -race (the HTTP service on 127.0.0.1:0), and `go run .` — the
# service started as docs/go.md shows, on 127.0.0.1:0 with a stdout sink,
# given the sample EventBridge event, stopped with SIGTERM. Prints go test's
# own output; exits non-zero when anything fails. Needs only the Go
# toolchain, a C compiler and curl (no network: the module has no
# dependencies, GOPROXY is off).
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

export PKG_CONFIG_PATH="$libdir/pkgconfig"
unset LD_LIBRARY_PATH
export CGO_ENABLED=1
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=
[[ -x $prefix/bin/secdet ]] && export SECDET_CLI="$prefix/bin/secdet"
# Go's build cache does not notice a changed C header or library, nor what
# pkg-config says (a package built against another prefix keeps that
# prefix's rpath): put their checksum into the C flags (part of the cache
# key), so a new secdet.h (a struct that grew), libsecdet or secdet.pc
# rebuilds the package instead of reusing it.
incdir=$(pkg-config --variable=includedir secdet)
stamp=$( (cat "$incdir/secdet.h" "$libdir"/libsecdet.so* 2>/dev/null; pkg-config --cflags --libs secdet) |
    cksum | cut -d' ' -f1)
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -DGOSECDET_LIBRARY_STAMP=$stamp"
# go needs a cache directory; without HOME (some CI shells) use one of ours.
if [[ -z ${GOCACHE:-} && -z ${HOME:-} && -z ${XDG_CACHE_HOME:-} ]]; then
    export GOCACHE=/tmp/secdet-go-cache GOPATH=/tmp/secdet-gopath
fi

echo "go: $(go version); libsecdet: $(pkg-config --modversion secdet) from $libdir"

# go_run_example: docs/go.md's `go run . -config ... -listen ...`, then its
# curl lines; the alert of the root sign-in must come back. The config is
# config.example.json with a stdout sink only (its webhook points at a port
# this test does not own) and port 0.
go_run_example() {
    local scratch rc=0 pid addr= i
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/secdet-go-run.XXXXXX")
    jq '.sinks = [{"type": "stdout"}]' config.example.json >"$scratch/config.json" || return 1
    setsid go run . -config "$scratch/config.json" -listen 127.0.0.1:0 >"$scratch/out" 2>"$scratch/err" &
    pid=$!
    for ((i = 0; i < 600; i++)); do   # up to 60 s: go run may compile first
        addr=$(sed -n 's|.*listening on http://\([^ ]*\).*|\1|p' "$scratch/err")
        [[ -n $addr ]] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z $addr ]]; then
        echo "the service did not start:"; cat "$scratch/err"; rc=1
    else
        echo "listening on $addr"
        curl -sS --max-time 30 -X POST --data @testdata/eventbridge-root-login.json \
            "http://$addr/events" >"$scratch/events" || rc=1
        curl -sS --max-time 30 "http://$addr/stats" >"$scratch/stats" || rc=1
        jq -e '.alerts | map(.rule) | index("cis_aws_4_3_root_account_usage") != null' \
            "$scratch/events" >/dev/null || { echo "no root-usage alert in:"; cat "$scratch/events"; rc=1; }
        echo "POST /events: $(jq -c '[.alerts[].rule]' "$scratch/events" 2>/dev/null)"
        echo "GET /stats: $(head -c 300 "$scratch/stats")"
    fi
    kill -TERM -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
    rm -rf "$scratch"
    return "$rc"
}

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
step "go run . (examples/go)" "$root/examples/go" go_run_example

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'go binding: FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "go binding: all steps passed"
