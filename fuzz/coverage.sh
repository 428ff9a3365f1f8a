#!/usr/bin/env bash
# coverage.sh — how much of src/ the fuzz corpora reach (clang source-based
# coverage).
#
#   fuzz/coverage.sh [TARGET...]      (default: every target of fuzz/targets)
#
# Builds each target with the standalone driver (no libFuzzer) and
# -fprofile-instr-generate -fcoverage-mapping, through fuzz/build.sh (the
# driver object stands in for $LIB_FUZZING_ENGINE), runs it over the seed
# corpus fuzz/corpus/T/ and the working corpus a fuzzing run left in
# $FUZZ_DIR/corpus/T/ (run-fuzzers.sh), merges the profiles with
# llvm-profdata and reports with llvm-cov, restricted to src/: per target
# the lines of src/ executed, and overall (every target together) over the
# lines of every src/ file linked into any target. The full per-file report
# is left in $FUZZ_DIR/coverage/.
#
# Environment: FUZZ_DIR (default build-fuzz/ in the repo), LLVM_SUFFIX
# (default -14: llvm-profdata-14, llvm-cov-14; "" for unsuffixed tools).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${FUZZ_DIR:-$ROOT/build-fuzz}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
SUFFIX=${LLVM_SUFFIX--14}
PROFDATA=llvm-profdata$SUFFIX
COV=llvm-cov$SUFFIX
mapfile -t ALL < <(awk '/^[a-z]/ { print $1 }' "$ROOT/fuzz/targets")
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL[@]}")
CDIR=$DIR/coverage
OUT=$CDIR/out
rm -rf "$CDIR"
mkdir -p "$OUT" "$CDIR/work" "$CDIR/prof"

for tool in clang clang++ "$PROFDATA" "$COV"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "coverage: $tool not found" >&2; exit 1; }
done

FLAGS="-O0 -g -fprofile-instr-generate -fcoverage-mapping"
clang $FLAGS -c "$ROOT/fuzz/standalone_main.c" -o "$CDIR/work/standalone_main.o"
CC=clang CXX=clang++ CFLAGS="$FLAGS" CXXFLAGS="$FLAGS" \
LIB_FUZZING_ENGINE="$CDIR/work/standalone_main.o" OUT=$OUT SRC=$CDIR/src WORK=$CDIR/work \
    bash "$ROOT/fuzz/build.sh" >/dev/null

# lines_of REPORT: "covered total" from llvm-cov report's TOTAL row.
lines_of() {
    awk '$1 == "TOTAL" { print $8 - $9, $8 }' "$1"
}

objects=()
printf '%-10s %8s %14s\n' target inputs "src/ lines run"
for t in "${TARGETS[@]}"; do
    dirs=("$ROOT/fuzz/corpus/$t")
    [[ -d $DIR/corpus/$t ]] && dirs+=("$DIR/corpus/$t")
    inputs=$(find "${dirs[@]}" -maxdepth 1 -type f | wc -l)
    LLVM_PROFILE_FILE="$CDIR/prof/$t-%p.profraw" "$OUT/fuzz_$t" "${dirs[@]}" >/dev/null 2>"$CDIR/$t.stderr" || {
        echo "coverage: fuzz_$t failed on its corpus (see $CDIR/$t.stderr)" >&2
        exit 1
    }
    "$PROFDATA" merge -sparse "$CDIR/prof/$t"-*.profraw -o "$CDIR/$t.profdata"
    "$COV" report "$OUT/fuzz_$t" -instr-profile="$CDIR/$t.profdata" "$ROOT/src" >"$CDIR/$t.txt"
    read -r covered total < <(lines_of "$CDIR/$t.txt")
    printf '%-10s %8s %8s of %-5s (%s%% of the src/ lines it links)\n' "$t" "$inputs" "$covered" "$total" \
        "$(awk -v c="$covered" -v t="$total" 'BEGIN { printf "%.1f", t ? 100 * c / t : 0 }')"
    objects+=(-object "$OUT/fuzz_$t")
done

"$PROFDATA" merge -sparse "$CDIR/prof"/*.profraw -o "$CDIR/all.profdata"
# llvm-cov takes the first binary positionally and the rest with -object.
"$COV" report "${objects[1]}" "${objects[@]:2}" -instr-profile="$CDIR/all.profdata" "$ROOT/src" >"$CDIR/all.txt"
read -r covered total < <(lines_of "$CDIR/all.txt")
printf '%-10s %8s %8s of %-5s (%s%% of src/ lines in any target)\n' overall - "$covered" "$total" \
    "$(awk -v c="$covered" -v t="$total" 'BEGIN { printf "%.1f", t ? 100 * c / t : 0 }')"
echo "coverage: per-file reports in $CDIR/*.txt"
