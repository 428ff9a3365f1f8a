#!/usr/bin/env bash
# hunt_bench.sh — `secdet hunt` with one condition against `secdet scan` with
# the same condition as a rule, over the same folder of mixed logs, in one
# run (runs of the two alternating, best of BENCH_RUNS), as a ratio.
#
# Input (bench/data/hunt/, rebuilt when missing): the invictus CloudTrail log
# files copied HUNT_COPIES times, plus the shared data's Okta, Workspace and
# GCP audit JSON lines and tests/hunt/data, so the merge, the routing by
# shape and every log type's fields are in the path. The condition is the
# investigation's first question, '@ip == "203.0.113.7"': it matches a
# handful of events, so the ratio is the cost of reading, not of printing.
# Target: hunt >= 0.9 x scan (events/s, wall clock).
#
# Writes Markdown to bench/out/hunt.md and prints it. Exit status: 0 when it
# ran (BENCH_STRICT=1: 1 when the target is missed), 2 on error.
# Knobs: HUNT_COPIES (40), BENCH_RUNS (3), SECDET_BIN (default: build-bench/secdet,
# else build/secdet), SECDET_SHARED (../shared beside the repo).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
copies=${HUNT_COPIES:-40}
runs=${BENCH_RUNS:-3}
shared=${SECDET_SHARED:-$root/../shared}
out=$here/out
data=$here/data/hunt
strict=${BENCH_STRICT:-0}
secdet=${SECDET_BIN:-}
if [ -z "$secdet" ]; then
    secdet=$root/build-bench/secdet
    [ -x "$secdet" ] || secdet=$root/build/secdet
fi
[ -x "$secdet" ] || { echo "hunt_bench: no secdet binary (build it, or set SECDET_BIN)" >&2; exit 2; }
ct=$shared/data/cloudtrail/invictus/CloudTrail
if [ ! -d "$ct" ]; then
    echo "hunt_bench: $ct is absent; skipped"
    exit 0
fi
mkdir -p "$out"

stamp="$data/.stamp-$copies"
if [ ! -f "$stamp" ]; then
    rm -rf "$data"
    mkdir -p "$data"
    for ((i = 0; i < copies; i++)); do
        mkdir -p "$data/ct$i"
        cp "$ct"/*.json "$data/ct$i/"
    done
    for f in okta/panther/okta_systemlog.jsonl gworkspace/panther/gsuite_activityevent.jsonl \
             gcp-audit/panther/gcp_auditlog.jsonl; do
        [ -f "$shared/data/$f" ] && cp "$shared/data/$f" "$data/"
    done
    cp "$root"/tests/hunt/data/* "$data/"
    touch "$stamp"
fi

cond='@ip == "203.0.113.7"'
rules=$(mktemp --suffix=.secdet)
trap 'rm -f "$rules"' EXIT
printf 'rule hunt { where %s }\n' "$cond" >"$rules"

# One run: wall seconds and the events the summary counts.
timed() {
    local t0 t1 err
    t0=$(date +%s.%N)
    err=$("$@" 2>&1 >/dev/null)
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
    echo " $(sed -n 's/^scanned \([0-9]*\) event.*/\1/p' <<<"$err" | tail -1)"
}

best_scan=999999 best_hunt=999999 events=0
for ((r = 0; r < runs; r++)); do
    read -r s n < <(timed "$secdet" scan --no-progress --output json --lateness 1d --rules "$rules" "$data")
    read -r h m < <(timed "$secdet" hunt --no-progress --output json --lateness 1d "$cond" "$data")
    [ "$n" = "$m" ] || { echo "hunt_bench: scan read $n events, hunt $m" >&2; exit 2; }
    events=$n
    best_scan=$(awk -v a="$best_scan" -v b="$s" 'BEGIN { print (b < a ? b : a) }')
    best_hunt=$(awk -v a="$best_hunt" -v b="$h" 'BEGIN { print (b < a ? b : a) }')
done
matches_scan=$("$secdet" scan --no-progress --output json --lateness 1d --quiet --rules "$rules" "$data" | wc -l)
matches_hunt=$("$secdet" hunt --no-progress --output json --lateness 1d --quiet "$cond" "$data" | wc -l)
[ "$matches_scan" = "$matches_hunt" ] || { echo "hunt_bench: scan $matches_scan matches, hunt $matches_hunt" >&2; exit 2; }
scan_rate=$(awk -v n="$events" -v s="$best_scan" 'BEGIN { printf "%.0f", n / s }')
hunt_rate=$(awk -v n="$events" -v s="$best_hunt" 'BEGIN { printf "%.0f", n / s }')
ratio=$(awk -v a="$hunt_rate" -v b="$scan_rate" 'BEGIN { printf "%.2f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9 ? "PASS" : "MISS") }')
files=$(find "$data" -type f \( -name '*.json' -o -name '*.jsonl' \) | wc -l)
{
    echo "| run | events/s | |"
    echo "|---|---|---|"
    echo "| \`secdet scan\`, the condition as a rule | $scan_rate | |"
    echo "| \`secdet hunt '$cond'\` | $hunt_rate | **$ratio × scan** (target ≥ 0.9: $verdict) |"
    echo
    echo "$events events in $files files of four log types (CloudTrail ×$copies, Okta, Workspace, GCP audit, the hunt tests'), $matches_hunt matches; best of $runs, runs alternating, wall clock; \`$secdet\`."
} | tee "$out/hunt.md"
if [ "$strict" = 1 ] && [ "$verdict" = MISS ]; then exit 1; fi
exit 0
