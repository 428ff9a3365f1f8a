#!/usr/bin/env bash
# run-fuzzers.sh — builds the fuzz targets with clang's libFuzzer under
# ASan+UBSan and runs each for a bounded time; prints a summary.
#
#   fuzz/run-fuzzers.sh [TARGET...]      (default: every target of fuzz/targets)
#
# The build is fuzz/build.sh in an OSS-Fuzz-like environment, so CI checks
# that script too. Each target starts from its seed corpus (fuzz/corpus/T/,
# read only) plus a working corpus that persists between runs in
# $FUZZ_DIR/corpus/T/ (new inputs go there, never into the source tree).
# A crash, leak, timeout or out-of-memory stops that target and leaves the
# input in $FUZZ_DIR/artifacts/T/; the summary names it and the command
# that reproduces it. Exit status: 0 when every target ran clean.
#
# Environment:
#   FUZZ_SECONDS=N   time per target (libFuzzer -max_total_time), default 60
#   FUZZ_JOBS=N      targets run at once, default 1
#   FUZZ_DIR=DIR     build and work directory, default build-fuzz/ in the repo
#   FUZZ_CC, FUZZ_CXX  compilers, default clang / clang++
#   FUZZ_NO_BUILD=1  reuse the fuzzers already built in $FUZZ_DIR/out
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_PER=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
DIR=${FUZZ_DIR:-$ROOT/build-fuzz}
CC_=${FUZZ_CC:-clang}
CXX_=${FUZZ_CXX:-clang++}
mapfile -t ALL < <(awk '/^[a-z]/ { print $1 }' "$ROOT/fuzz/targets")
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL[@]}")

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
OUT=$DIR/out

if [[ ${FUZZ_NO_BUILD:-0} != 1 ]]; then
    if ! command -v "$CC_" >/dev/null 2>&1; then
        echo "run-fuzzers: $CC_ not found (tools/install-deps.sh installs clang and libclang-rt-14-dev)" >&2
        exit 1
    fi
    echo "run-fuzzers: building with $CC_ -fsanitize=fuzzer,address,undefined into $OUT"
    mkdir -p "$OUT" "$DIR/work"
    CC=$CC_ CXX=$CXX_ \
    CFLAGS="-O1 -g -gline-tables-only -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link" \
    CXXFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link" \
    LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=$OUT SRC=$DIR/src WORK=$DIR/work \
        bash "$ROOT/fuzz/build.sh"
fi

# -key=value flags from the target's .options file ([libfuzzer] section).
options_flags() {
    local file=$1 section="" line key val
    [[ -f $file ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%%#*}
        [[ $line =~ ^\[(.*)\] ]] && { section=${BASH_REMATCH[1]}; continue; }
        [[ $section == libfuzzer && $line =~ ^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]] || continue
        key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
        [[ $key == dict ]] && val=$OUT/$val
        printf -- '-%s=%s\n' "$key" "$val"
    done <"$file"
}

run_one() {
    local t=$1 log=$DIR/fuzz_$1.log
    local -a flags
    mapfile -t flags < <(options_flags "$OUT/fuzz_$t.options")
    mkdir -p "$DIR/corpus/$t" "$DIR/artifacts/$t"
    rm -f "$DIR/artifacts/$t"/*
    local rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$OUT/fuzz_$t" "${flags[@]}" -max_total_time="$SECONDS_PER" -print_final_stats=1 \
        -artifact_prefix="$DIR/artifacts/$t/" "$DIR/corpus/$t" "$ROOT/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
    echo "$rc" >"$DIR/fuzz_$t.rc"
}

started=$SECONDS
running=0
for t in "${TARGETS[@]}"; do
    [[ -x $OUT/fuzz_$t ]] || { echo "run-fuzzers: no fuzzer fuzz_$t in $OUT" >&2; exit 1; }
    echo "run-fuzzers: fuzz_$t for ${SECONDS_PER}s"
    run_one "$t" &
    running=$((running + 1))
    if ((running >= JOBS)); then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

status=0
printf '\n%-10s %6s %10s %9s %7s %7s  %s\n' target seconds execs exec/s cov corpus result
for t in "${TARGETS[@]}"; do
    log=$DIR/fuzz_$t.log
    rc=$(cat "$DIR/fuzz_$t.rc" 2>/dev/null || echo 1)
    # A failed run has no final stats: every lookup may come back empty.
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1 || true)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1 || true)
    cov=$( (grep -oE 'cov: [0-9]+' "$log" || true) | tail -n1 | cut -d' ' -f2)
    corp=$(find "$DIR/corpus/$t" -type f | wc -l)
    secs=$( (grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" || true) | grep -oE '[0-9]+' | tail -n1 || true)
    result=clean
    artifact=$(find "$DIR/artifacts/$t" -type f | head -n1)
    if [[ $rc != 0 || -n $artifact ]]; then
        result="FAILED (exit $rc)"
        status=1
    fi
    printf '%-10s %6s %10s %9s %7s %7s  %s\n' "$t" "${secs:--}" "${execs:--}" "${rate:--}" "${cov:--}" "$corp" "$result"
    if [[ $result != clean ]]; then
        (grep -E 'ERROR: |SUMMARY: |runtime error' "$log" || true) | head -n5 | sed 's/^/    /'
        [[ -n $artifact ]] && {
            echo "    input: $artifact"
            echo "    reproduce: $OUT/fuzz_$t $artifact   (or build/fuzz/fuzz_$t $artifact)"
        }
        echo "    log: $log"
    fi
done
echo "run-fuzzers: $((SECONDS - started)) s wall; $([[ $status == 0 ]] && echo 'all clean' || echo 'FAILURES')"
exit "$status"
