#!/usr/bin/env bash
# state_mem_bench.sh — does the correlation state cap cap memory? (issue 15)
#
# Input (bench/gen_distinct_keys.py): STATE_EVENTS JSON lines, each with a
# group key of its own, 1,000 events a second of event time, in order. Rule
# (bench/state_mem_rules.secdet): `count >= 3 within 1h by .k`, so every
# event makes a group, the state reaches the cap and then every new group
# evicts an old one; with the default lateness (15 minutes) the reorder
# buffer fills the cap first and is applied early.
# Measures, with a Release `secdet scan --max-state CAP` for each CAP in
# STATE_CAPS: peak RSS (bench/rusage.c), beside the engine's fixed size (the
# same scan over the first 1,000 events). Target: peak RSS <= 1.25 x CAP +
# fixed size. With BASELINE_BIN=path (another build of secdet, e.g. of the
# main branch) every measurement is made for both, alternating, and the
# table shows both.
# Writes Markdown to bench/out/state_mem.md and prints it.
#
# Exit status: 0 when it ran (BENCH_STRICT=1: 1 when the target is missed), 2 on error.
# Knobs (environment): STATE_EVENTS (5000000), STATE_CAPS ("64 256", MiB),
# BENCH_RUNS (1; the peak of each is the median), BASELINE_BIN (none),
# BENCH_BUILD_DIR (build-bench/), BENCH_DATA_DIR (bench/data/), BENCH_STRICT (0),
# BENCH_NO_BUILD=1 with SECDET_BIN=path: use that binary, build nothing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
events=${STATE_EVENTS:-5000000}
caps=${STATE_CAPS:-64 256}
runs=${BENCH_RUNS:-1}
baseline=${BASELINE_BIN:-}
build=${BENCH_BUILD_DIR:-$root/build-bench}
data=${BENCH_DATA_DIR:-$here/data}
out=$here/out
strict=${BENCH_STRICT:-0}

die() { echo "state_mem_bench: $*" >&2; exit 2; }
for tool in cmake python3 cc awk; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[ -z "$baseline" ] || [ -x "$baseline" ] || die "BASELINE_BIN $baseline is not executable"
mkdir -p "$data" "$out" "$build"

# ---- build -------------------------------------------------------------------
if [ "${BENCH_NO_BUILD:-0}" = 1 ]; then
    secdet=${SECDET_BIN:?BENCH_NO_BUILD=1 needs SECDET_BIN}
else
    echo "== build (Release) in $build"
    gen=()
    command -v ninja >/dev/null && gen=(-G Ninja)
    # The same configuration as bench/run.sh and corr_bench.sh: one build for all.
    cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
          -DCMAKE_C_FLAGS_RELEASE="-O3 -DNDEBUG -g" \
          -DSECDET_BUILD_TESTS=OFF -DSECDET_WERROR=OFF >"$out/state_mem_cmake.log" 2>&1 \
        || { cat "$out/state_mem_cmake.log" >&2; die "cmake configure failed"; }
    cmake --build "$build" --target secdet_cli >"$out/state_mem_build.log" 2>&1 \
        || { tail -40 "$out/state_mem_build.log" >&2; die "build failed (log: $out/state_mem_build.log)"; }
    secdet=$build/secdet
fi
[ -x "$secdet" ] || die "$secdet was not built"
rusage=$build/state_mem_rusage
cc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
   "$here/rusage.c" -o "$rusage" || die "rusage did not build"

# ---- input ---------------------------------------------------------------------
input=$data/distinct_keys.$events.jsonl
tiny=$data/distinct_keys.1000.jsonl
echo "== input: $events events, each its own key"
python3 "$here/gen_distinct_keys.py" -n "$events" -o "$input"
python3 "$here/gen_distinct_keys.py" -n 1000 -o "$tiny"
rules=$here/state_mem_rules.secdet
"$secdet" check "$rules" >/dev/null || die "$rules does not compile"

# ---- measuring -------------------------------------------------------------------
# peak BIN CAP FILE: prints "peak_KiB cpu_s evicted" (median peak of BENCH_RUNS runs).
peak() {
    local bin=$1 cap=$2 file=$3 i res=$out/.state_mem_rusage err=$out/.state_mem_stderr peaks=() cpu evicted
    for ((i = 0; i < runs; i++)); do
        "$rusage" "$res" "$bin" scan --output json --no-progress --max-state "$cap" --rules "$rules" "$file" \
            >/dev/null 2>"$err" || { cat "$err" >&2; die "failed: $bin scan --max-state $cap $file"; }
        read -r rss user sys _ <"$res"
        peaks+=("$rss")
        cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
    done
    evicted=$(sed -n 's/.* \([0-9][0-9]*\) correlation groups evicted.*/\1/p' "$err" | tail -1)
    echo "$(printf '%s\n' "${peaks[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') $cpu ${evicted:-0}"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

bins=("$secdet")
names=("this build")
if [ -n "$baseline" ]; then
    bins+=("$baseline")
    names+=("baseline")
fi
declare -A res
for cap in "" $caps; do
    for i in "${!bins[@]}"; do
        if [ -z "$cap" ]; then
            res[$i.fixed]=$(peak "${bins[$i]}" 64 "$tiny")
            echo "   ${names[$i]}: fixed size $(mib "${res[$i.fixed]%% *}") MiB"
        else
            res[$i.$cap]=$(peak "${bins[$i]}" "$cap" "$input")
            echo "   ${names[$i]}: --max-state $cap: peak $(mib "${res[$i.$cap]%% *}") MiB"
        fi
    done
done

# ---- report ----------------------------------------------------------------------
miss=0
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo " (uncommitted changes)" || true)
{
    echo "## Correlation state: peak RSS against the cap"
    echo
    echo "- Input: $events JSON lines (\`bench/gen_distinct_keys.py\`), each with its own group key, 1,000 a second of event time, in order; rule \`count >= 3 within 1h by .k\` (\`bench/state_mem_rules.secdet\`): every event makes a group, every group once the cap is reached evicts one"
    echo "- \`secdet scan --output json --no-progress --max-state CAP --rules bench/state_mem_rules.secdet input\`, default lateness (15 min: the reorder buffer fills the cap first); peak RSS by \`bench/rusage.c\`, median of $runs run(s); fixed size: the same scan over the first 1,000 events"
    echo "- $("$secdet" version 2>/dev/null | head -1 || echo '?') at $rev$dirty, Release build; machine: $(nproc) CPUs, load average at the start $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
    [ -z "$baseline" ] || echo "- Baseline: \`$baseline\` ($("$baseline" version 2>/dev/null | head -1 || echo '?')), measured alternately with this build"
    echo
    echo "| build | --max-state | fixed size | peak RSS | (peak − fixed) ÷ cap | target ≤ 1.25 × cap + fixed | groups evicted | CPU s |"
    echo "|---|---:|---:|---:|---:|---|---:|---:|"
    for i in "${!bins[@]}"; do
        read -r fixed _ _ <<<"${res[$i.fixed]}"
        for cap in $caps; do
            read -r p cpu ev <<<"${res[$i.$cap]}"
            bound=$(awk -v c="$cap" -v f="$fixed" 'BEGIN { printf "%.0f", 1.25 * c * 1024 + f }')
            ratio=$(awk -v p="$p" -v f="$fixed" -v c="$cap" 'BEGIN { printf "%.2f", (p - f) / (c * 1024) }')
            if ((p <= bound)); then verdict="PASS ($(mib "$bound") MiB)"; else verdict="MISS ($(mib "$bound") MiB)"; ((i > 0)) || miss=1; fi
            echo "| ${names[$i]} | $cap MiB | $(mib "$fixed") MiB | $(mib "$p") MiB | $ratio × | $verdict | $ev | $cpu |"
        done
    done
} >"$out/state_mem.md"

echo
cat "$out/state_mem.md"
echo
echo "(written to ${out#"$root"/}/state_mem.md)"
if ((strict && miss)); then
    exit 1
fi
exit 0
