#!/usr/bin/env bash
# tcp_bench.sh — the TCP input, plain and with TLS, beside `secdet scan` on a
# file (bench/tcp_bench.py says what is measured and how).
#
# Input: the real CloudTrail records of the invictus sample repeated to
# BENCH_LINES JSON lines (bench/make_input.py); rules: rules/aws/cis.secdet.
# Writes Markdown to bench/out/tcp.md and prints it. Not part of ctest.
#
# Exit status: 0 when it ran, 0 with a message when the shared data or the
# openssl command is absent, 2 on error.
# Knobs (environment): SECDET_SHARED (../shared beside the repo),
# BENCH_LINES (300000), BENCH_RUNS (3), BENCH_BUILD_DIR (bench/out/tcp-build/),
# BENCH_DATA_DIR (bench/data/).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SECDET_SHARED:-$root/../shared}
ct_dir=$shared/data/cloudtrail/invictus/CloudTrail
lines=${BENCH_LINES:-300000}
runs=${BENCH_RUNS:-3}
build=${BENCH_BUILD_DIR:-$here/out/tcp-build}
data=${BENCH_DATA_DIR:-$here/data}
out=$here/out

die() { echo "tcp_bench: $*" >&2; exit 2; }
if ! compgen -G "$ct_dir/*.json" >/dev/null; then
    echo "tcp_bench: no CloudTrail data at $ct_dir (set SECDET_SHARED); benchmark skipped"
    exit 0
fi
if ! command -v openssl >/dev/null; then
    echo "tcp_bench: openssl not found; benchmark skipped"
    exit 0
fi
for tool in cmake python3; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
mkdir -p "$out" "$data"

echo "== build (Release) in $build"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_FLAGS_RELEASE="-O3 -DNDEBUG -g" -DSECDET_BUILD_TESTS=OFF -DSECDET_BUILD_EXAMPLES=OFF \
      -DSECDET_BUILD_FUZZ_REGRESSION=OFF -DSECDET_WERROR=OFF >"$out/tcp_cmake.log" 2>&1 \
    || { cat "$out/tcp_cmake.log" >&2; die "cmake configure failed"; }
cmake --build "$build" --target secdet_cli -j 2 >"$out/tcp_build.log" 2>&1 \
    || { tail -40 "$out/tcp_build.log" >&2; die "build failed (log: $out/tcp_build.log)"; }

input=$data/tcp_input.$lines.jsonl
echo "== input: $lines lines from $ct_dir"
python3 "$here/make_input.py" "$ct_dir" "$input" -n "$lines" >/dev/null
python3 "$here/tcp_bench.py" "$build/secdet" "$input" "$root/rules/aws/cis.secdet" --runs "$runs" --out "$out/tcp.md"
