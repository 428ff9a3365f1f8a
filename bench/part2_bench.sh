#!/bin/sh
# part2_bench.sh — what Part 2's forms cost (issue 19: no more than 15% over
# the same detections without them). part2_p1.secdet and part2_p2.secdet are
# the same eight detections, written with Part 1's forms (or-chains of like,
# lower(), [*] tests, a regex on the time text, a sequence keyed by one
# expression) and with Part 2's (string lists, =~ and the i-forms, any,
# hour(), per-step keys). Both run over the benchmark's CloudTrail events
# (make_input.py), alternating, best of RUNS each; the script checks that
# both give the same alerts per rule, then prints the rates and the ratio
# of times (p2 / p1) and PASS when it is at most 1.15.
#
# usage: bench/part2_bench.sh [SECDET [LINES [RUNS]]]
#   SECDET default build-bench/secdet, else build/secdet; LINES default 200000; RUNS default 3.
# Needs $SECDET_SHARED/data/cloudtrail/invictus/CloudTrail (SECDET_SHARED default: ../shared
# beside the repo, as run.sh); says it is skipped and exits 0 without it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
secdet=${1:-}
if [ -z "$secdet" ]; then
    if [ -x "$root/build-bench/secdet" ]; then secdet=$root/build-bench/secdet; else secdet=$root/build/secdet; fi
fi
lines=${2:-200000}
runs=${3:-3}
shared=${SECDET_SHARED:-$root/../shared}
if [ ! -d "$shared/data/cloudtrail/invictus/CloudTrail" ]; then
    echo "part2_bench: no CloudTrail data under $shared/data (set SECDET_SHARED); skipped"
    exit 0
fi
data=$here/data
mkdir -p "$data"
input=$data/part2.$lines.jsonl
python3 "$here/make_input.py" "$shared/data/cloudtrail/invictus/CloudTrail" "$input" -n "$lines" >/dev/null

scan() { # rules file -> alerts on stdout
    "$secdet" scan -q --no-progress --format jsonl --source cloudtrail --rules "$1" "$input"
}
per_rule() {
    python3 -c 'import sys, json, collections
c = collections.Counter(json.loads(l)["rule"] for l in sys.stdin)
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))'
}
a=$(scan "$here/part2_p1.secdet" | per_rule)
b=$(scan "$here/part2_p2.secdet" | per_rule)
if [ "$a" != "$b" ]; then
    echo "part2_bench: the two rulesets disagree:" >&2
    echo "  p1: $a" >&2
    echo "  p2: $b" >&2
    exit 1
fi
echo "alerts per rule (both): $a"

now() { python3 -c 'import time; print(time.monotonic())'; }
best1=; best2=
i=0
while [ "$i" -lt "$runs" ]; do
    for p in 1 2; do
        t0=$(now)
        scan "$here/part2_p$p.secdet" >/dev/null
        t=$(python3 -c "import time; print(time.monotonic() - $t0)")
        if [ "$p" = 1 ]; then
            best1=$(python3 -c "print(min(x for x in [$t, ${best1:-$t}]))")
        else
            best2=$(python3 -c "print(min(x for x in [$t, ${best2:-$t}]))")
        fi
    done
    i=$((i + 1))
done
python3 - "$lines" "$best1" "$best2" <<'PY'
import sys
n, t1, t2 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
r = t2 / t1
print(f"part 1 forms: {n / t1:,.0f} events/s ({t1:.2f} s)")
print(f"part 2 forms: {n / t2:,.0f} events/s ({t2:.2f} s)")
print(f"ratio p2/p1: {r:.3f}  {'PASS' if r <= 1.15 else 'MISS'} (target <= 1.15)")
PY
