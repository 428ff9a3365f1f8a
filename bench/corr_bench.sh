#!/usr/bin/env bash
# corr_bench.sh — speed and memory of correlation (count and sequence rules).
#
# Input (bench/gen_corr_input.py, fixed seed): CORR_EVENTS synthetic
# CloudTrail records as JSON lines, half failed console sign-ins from
# CORR_GROUPS source IPs, half IAM calls by CORR_GROUPS principals, event
# times in order over 4 minutes (every group still open at the end).
# Measures, with a Release `secdet scan`:
#   1. events/s of bench/corr_rules.secdet (a count rule by source IP and a
#      sequence rule by principal), with the default options and with the
#      memory runs' options, beside bench/corr_rules_stateless.secdet (the
#      same conditions without the aggregation clauses: every match an
#      alert) and beside the conditions alone (the stateless rules with a
#      test that never holds: no alert rendered); best of BENCH_RUNS.
#      Target: >= 0.7x the stateless rate.
#   2. peak RSS per group of correlation state: each rule alone, and both,
#      on CORR_GROUPS and on CORR_GROUPS_SMALL groups (same number of events):
#      (RSS_big - RSS_small) / (groups_big - groups_small) per rule, with
#      --max-samples 1 (the engine keeps at least one sample event per group)
#      and --lateness CORR_RSS_LATENESS (so that events held back for ordering
#      do not hide the state) when the scan command offers them. The same on
#      lean records (only the fields the rules read) separates the sample
#      event's bytes from the rest: bytes per group = state + slope x record
#      length. Target: < 300 bytes of state per group, samples aside.
# Writes Markdown to bench/out/corr.md and prints it.
#
# Exit status: 0 when it ran (BENCH_STRICT=1: 1 when a target is missed), 2 on error.
# Knobs (environment): CORR_EVENTS (1000000), CORR_GROUPS (100000),
# CORR_GROUPS_SMALL (10000), CORR_RSS_LATENESS (1s), BENCH_RUNS (3),
# BENCH_BUILD_DIR (build-bench/), BENCH_DATA_DIR (bench/data/), BENCH_STRICT (0),
# BENCH_NO_BUILD=1 with SECDET_BIN=path: use that binary, build nothing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
events=${CORR_EVENTS:-1000000}
groups=${CORR_GROUPS:-100000}
groups_small=${CORR_GROUPS_SMALL:-10000}
rss_lateness=${CORR_RSS_LATENESS:-1s}
runs=${BENCH_RUNS:-3}
build=${BENCH_BUILD_DIR:-$root/build-bench}
data=${BENCH_DATA_DIR:-$here/data}
out=$here/out
strict=${BENCH_STRICT:-0}

die() { echo "corr_bench: $*" >&2; exit 2; }
((groups > groups_small)) || die "CORR_GROUPS must be larger than CORR_GROUPS_SMALL"
for tool in cmake python3 cc awk; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
mkdir -p "$data" "$out" "$build"

# ---- build -------------------------------------------------------------------
if [ "${BENCH_NO_BUILD:-0}" = 1 ]; then
    secdet=${SECDET_BIN:?BENCH_NO_BUILD=1 needs SECDET_BIN}
else
    echo "== build (Release) in $build"
    gen=()
    command -v ninja >/dev/null && gen=(-G Ninja)
    # The same configuration as bench/run.sh, so the two share one build.
    cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
          -DCMAKE_C_FLAGS_RELEASE="-O3 -DNDEBUG -g" \
          -DSECDET_BUILD_TESTS=OFF -DSECDET_WERROR=OFF >"$out/corr_cmake.log" 2>&1 \
        || { cat "$out/corr_cmake.log" >&2; die "cmake configure failed"; }
    cmake --build "$build" --target secdet_cli >"$out/corr_build.log" 2>&1 \
        || { tail -40 "$out/corr_build.log" >&2; die "build failed (log: $out/corr_build.log)"; }
    secdet=$build/secdet
fi
[ -x "$secdet" ] || die "$secdet was not built"
rusage=$build/corr_rusage
cc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
   "$here/rusage.c" -o "$rusage" || die "rusage did not build"

# ---- inputs and rules ------------------------------------------------------------
input_big=$data/corr.$events.$groups.jsonl
input_small=$data/corr.$events.$groups_small.jsonl
echo "== input: $events events over $groups and over $groups_small groups per rule"
python3 "$here/gen_corr_input.py" -n "$events" -g "$groups" -o "$input_big"
python3 "$here/gen_corr_input.py" -n "$events" -g "$groups_small" -o "$input_small"
lean_big=$data/corr.$events.$groups.lean.jsonl
lean_small=$data/corr.$events.$groups_small.lean.jsonl
python3 "$here/gen_corr_input.py" -n "$events" -g "$groups" --lean -o "$lean_big"
python3 "$here/gen_corr_input.py" -n "$events" -g "$groups_small" --lean -o "$lean_small"

rules=$here/corr_rules.secdet
rules_stateless=$here/corr_rules_stateless.secdet
# Each rule alone (its lists kept), for the memory of one rule's groups.
one_rule() {
    awk -v want="$1" '
        /^list / { in_list = 1 }
        in_list { print; if (/\]/) in_list = 0; next }
        /^rule / { keep = ($2 == want) }
        keep { print; if (/^}/) keep = 0 }
    ' "$rules" >"$out/corr_rule_$1.secdet"
    echo "$out/corr_rule_$1.secdet"
}
rules_count=$(one_rule bench_failed_login_burst)
rules_seq=$(one_rule bench_recon_then_escalate)
# The stateless rules with a last test that never holds, and no output: the
# cost of evaluating the conditions alone. Rendering an alert for every match
# costs more than the conditions, so the stateless rate above flatters the
# correlation rules; this one does not.
rules_filter=$out/corr_rules_filter_only.secdet
awk '
    /^    where / { sub(/where /, "where ("); print; next }
    /^    output / { print "      ) and len(.eventName) > 1000000"; next }
    { print }
' "$rules_stateless" >"$rules_filter"
for r in "$rules" "$rules_stateless" "$rules_filter" "$rules_count" "$rules_seq"; do
    "$secdet" check "$r" >/dev/null 2>"$out/corr_check.log" \
        || { cat "$out/corr_check.log" >&2; die "$r does not compile"; }
done

scan=(scan --output json --no-progress --format jsonl --source cloudtrail)
help=$("$secdet" scan --help 2>&1 || true)
rss_opts=()
notes=()
if grep -q -- '--max-samples' <<<"$help"; then
    rss_opts+=(--max-samples 1)
else
    notes+=("\`secdet scan\` has no --max-samples: the memory runs keep the default sample events per group")
fi
if grep -q -- '--lateness' <<<"$help"; then
    rss_opts+=(--lateness "$rss_lateness")
else
    notes+=("\`secdet scan\` has no --lateness: the memory runs use the default lateness, so events held for ordering are in the peak")
fi

# ---- measuring -------------------------------------------------------------------
# run_once CMD... : sets m_rss (KiB), m_wall and m_cpu (s), m_alerts (from the summary).
run_once() {
    local res=$out/.corr_rusage err=$out/.corr_stderr
    "$rusage" "$res" "$@" >/dev/null 2>"$err" || { cat "$err" >&2; die "failed: $*"; }
    read -r m_rss m_user m_sys m_wall <"$res"
    m_cpu=$(awk -v u="$m_user" -v s="$m_sys" 'BEGIN { printf "%.6f", u + s }')
    m_alerts=$(sed -n 's/.* \([0-9][0-9]*\) alerts, .*/\1/p' "$err" | tail -1)
    m_alerts=${m_alerts:-?}
}
# best_of N CMD... : b_wall, b_cpu = the shortest of N runs; b_rss, b_alerts of the last.
best_of() {
    local n=$1 i
    shift
    b_wall=""
    b_cpu=""
    for ((i = 0; i < n; i++)); do
        run_once "$@"
        echo "   run $((i + 1)): ${m_wall}s wall, ${m_cpu}s CPU, $m_alerts alerts, peak ${m_rss} KiB"
        if [ -z "$b_wall" ] || awk -v a="$m_wall" -v b="$b_wall" 'BEGIN { exit !(a < b) }'; then b_wall=$m_wall; fi
        if [ -z "$b_cpu" ] || awk -v a="$m_cpu" -v b="$b_cpu" 'BEGIN { exit !(a < b) }'; then b_cpu=$m_cpu; fi
    done
    b_rss=$m_rss
    b_alerts=$m_alerts
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
per_group() { # KiB_big KiB_small rules -> bytes per group
    awk -v b="$1" -v s="$2" -v r="$3" -v g="$((groups - groups_small))" \
        'BEGIN { printf "%.0f", (b - s) * 1024 / (g * r) }'
}
pass() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }

load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
cat "$input_big" >/dev/null # warm the page cache

echo "== (1) throughput on $groups groups, best of $runs"
# throughput NAME LABEL RULES [SCAN OPTIONS...]: sets r_NAME, cr_NAME, a_NAME, rss_NAME.
throughput() {
    local name=$1 label=$2 r=$3
    shift 3
    echo " - $label"
    best_of "$runs" "$secdet" "${scan[@]}" "$@" --rules "$r" "$input_big"
    printf -v "r_$name" '%s' "$(rate "$events" "$b_wall")"
    printf -v "cr_$name" '%s' "$(rate "$events" "$b_cpu")"
    printf -v "a_$name" '%s' "$b_alerts"
    printf -v "rss_$name" '%s' "$b_rss"
}
throughput stateless "stateless: $(basename "$rules_stateless")" "$rules_stateless"
throughput filter "stateless, conditions only (no alerts)" "$rules_filter"
throughput corr "correlation: $(basename "$rules"), default options" "$rules"
throughput corr_tuned "correlation: $(basename "$rules"), ${rss_opts[*]:-default options}" "$rules" "${rss_opts[@]}"

echo "== (2) peak RSS, ${rss_opts[*]:-default options}"
declare -A rss
for set in stateless both count sequence count_lean sequence_lean; do
    case $set in
        stateless) r=$rules_stateless ;;
        both) r=$rules ;;
        count*) r=$rules_count ;;
        sequence*) r=$rules_seq ;;
    esac
    for size in big small; do
        case $set.$size in
            *_lean.big) in=$lean_big ;;
            *_lean.small) in=$lean_small ;;
            *.big) in=$input_big ;;
            *) in=$input_small ;;
        esac
        run_once "$secdet" "${scan[@]}" "${rss_opts[@]}" --rules "$r" "$in"
        rss[$set.$size]=$m_rss
        echo "   $set, $size: ${m_rss} KiB ($m_alerts alerts)"
    done
done
pg_count=$(per_group "${rss[count.big]}" "${rss[count.small]}" 1)
pg_seq=$(per_group "${rss[sequence.big]}" "${rss[sequence.small]}" 1)
pg_both=$(per_group "${rss[both.big]}" "${rss[both.small]}" 2)
pg_stateless=$(per_group "${rss[stateless.big]}" "${rss[stateless.small]}" 2)
pg_count_lean=$(per_group "${rss[count_lean.big]}" "${rss[count_lean.small]}" 1)
pg_seq_lean=$(per_group "${rss[sequence_lean.big]}" "${rss[sequence_lean.small]}" 1)
# A group keeps at least one sample event (the engine's minimum), whose size
# is the record's: bytes per group = state + slope × record length. Two record
# lengths give both; `state` is the memory per group with the samples aside.
meta() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$1.meta"; }
len_login=$(meta "$input_big" login_mean); len_login_lean=$(meta "$lean_big" login_mean)
len_iam=$(meta "$input_big" iam_mean); len_iam_lean=$(meta "$lean_big" iam_mean)
slope() { awk -v a="$1" -v b="$2" -v la="$3" -v lb="$4" 'BEGIN { printf "%.2f", (a - b) / (la - lb) }'; }
intercept() { awk -v a="$1" -v s="$2" -v la="$3" 'BEGIN { printf "%.0f", a - s * la }'; }
sl_count=$(slope "$pg_count" "$pg_count_lean" "$len_login" "$len_login_lean")
sl_seq=$(slope "$pg_seq" "$pg_seq_lean" "$len_iam" "$len_iam_lean")
st_count=$(intercept "$pg_count" "$sl_count" "$len_login")
st_seq=$(intercept "$pg_seq" "$sl_seq" "$len_iam")

# ---- report ----------------------------------------------------------------------
x_wall=$(ratio "$r_corr" "$r_stateless"); x_cpu=$(ratio "$cr_corr" "$cr_stateless")
xf_wall=$(ratio "$r_corr" "$r_filter"); xf_cpu=$(ratio "$cr_corr" "$cr_filter")
xt_wall=$(ratio "$r_corr_tuned" "$r_stateless"); xt_cpu=$(ratio "$cr_corr_tuned" "$cr_stateless")
xtf_wall=$(ratio "$r_corr_tuned" "$r_filter"); xtf_cpu=$(ratio "$cr_corr_tuned" "$cr_filter")
t_rate=$(pass "$r_corr >= 0.7 * $r_stateless")
t_rate_filter=$(pass "$r_corr >= 0.7 * $r_filter")
t_mem=$(pass "$st_count < 300 && $st_seq < 300")
t_mem_raw=$(pass "$pg_count < 300 && $pg_seq < 300")
busy=$(awk -v l="$load_start" -v n="$(nproc)" 'BEGIN { print (l > 0.5 * n) ? 1 : 0 }')
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo " (uncommitted changes)" || true)
small_k=$((groups_small / 1000))k
big_k=$((groups / 1000))k
{
    echo "## Correlation benchmark"
    echo
    echo "- Input: $events synthetic CloudTrail records (JSON lines, $(du -m "$input_big" | cut -f1) MB; \`bench/gen_corr_input.py\`): half failed console sign-ins from $groups source IPs, half IAM calls (1% privilege changes) by $groups principals, in event-time order over 4 minutes, so every group is open at the end"
    echo "- Rules: \`bench/corr_rules.secdet\` — \`count >= 10 within 5m by .sourceIPAddress\` and \`sequence within 1h by .userIdentity.arn { recon; escalate }\`; stateless: \`bench/corr_rules_stateless.secdet\`, the same conditions without the aggregation clauses (every match an alert), and the same again with a last test that never holds (the conditions alone, no alert rendered)"
    echo "- Machine: $cpu, $(nproc) CPUs; load average at the start: $load_start$( ((busy)) && echo " — BUSY: wall-clock rates are noisy, the CPU-time columns are steadier")"
    echo "- $("$secdet" version 2>/dev/null | head -1 || echo '?') at $rev$dirty, Release build; \`secdet ${scan[*]} [OPTIONS] --rules RULES input > /dev/null\`; best of $runs runs, page cache warm"
    for note in "${notes[@]}"; do echo "- Note: $note"; done
    echo
    echo "| rules | events/s | events/s of CPU time | alerts | peak RSS |"
    echo "|---|---:|---:|---:|---:|"
    echo "| stateless (every match alerts) | $r_stateless | $cr_stateless | $a_stateless | $(mib "$rss_stateless") MiB |"
    echo "| stateless, conditions only (no alerts) | $r_filter | $cr_filter | $a_filter | $(mib "$rss_filter") MiB |"
    echo "| count + sequence, default options | $r_corr | $cr_corr | $a_corr | $(mib "$rss_corr") MiB |"
    echo "| count + sequence, ${rss_opts[*]:-default options} | $r_corr_tuned | $cr_corr_tuned | $a_corr_tuned | $(mib "$rss_corr_tuned") MiB |"
    echo
    echo "| ratio | wall clock | CPU time |"
    echo "|---|---:|---:|"
    echo "| default options ÷ stateless | $x_wall × | $x_cpu × |"
    echo "| default options ÷ conditions only | $xf_wall × | $xf_cpu × |"
    echo "| ${rss_opts[*]:-default options} ÷ stateless | $xt_wall × | $xt_cpu × |"
    echo "| ${rss_opts[*]:-default options} ÷ conditions only | $xtf_wall × | $xtf_cpu × |"
    echo
    if [ "$a_corr" != "$a_corr_tuned" ]; then
        echo "The two correlation runs give different alert counts on the same in-order events ($a_corr and $a_corr_tuned): with the default options the correlation state outgrows the engine's default cap (\`max_state_bytes\`, 256 MiB) and the least recently seen groups are evicted, so their counts and sequences start again."
        echo
    fi
    echo "Peak RSS with ${rss_opts[*]:-the default options}, $events events either way:"
    echo
    echo "| rules | mean record | $small_k groups per rule | $big_k groups per rule | bytes per group |"
    echo "|---|---:|---:|---:|---:|"
    echo "| count rule alone | $len_login B | $(mib "${rss[count.small]}") MiB | $(mib "${rss[count.big]}") MiB | $pg_count |"
    echo "| sequence rule alone | $len_iam B | $(mib "${rss[sequence.small]}") MiB | $(mib "${rss[sequence.big]}") MiB | $pg_seq |"
    echo "| both (2 groups per key) | | $(mib "${rss[both.small]}") MiB | $(mib "${rss[both.big]}") MiB | $pg_both |"
    echo "| count rule alone, lean records | $len_login_lean B | $(mib "${rss[count_lean.small]}") MiB | $(mib "${rss[count_lean.big]}") MiB | $pg_count_lean |"
    echo "| sequence rule alone, lean records | $len_iam_lean B | $(mib "${rss[sequence_lean.small]}") MiB | $(mib "${rss[sequence_lean.big]}") MiB | $pg_seq_lean |"
    echo "| stateless (no state: the noise floor) | | $(mib "${rss[stateless.small]}") MiB | $(mib "${rss[stateless.big]}") MiB | $pg_stateless |"
    echo
    echo "Bytes per group = (RSS($big_k) − RSS($small_k)) / ($((groups - groups_small)) groups × rules). Every group keeps at least one sample event (the engine's minimum; the sequence's first step is the alert's evidence), as long as the record; fitting bytes per group = state + slope × record length over the two record lengths gives the state with the samples aside: count $st_count B (slope $sl_count), sequence $st_seq B (slope $sl_seq)."
    echo
    echo "| target | measured | result |"
    echo "|---|---|---|"
    echo "| count + sequence ≥ 0.7 × stateless events/s (default options) | $x_wall × (CPU time: $x_cpu ×) | $t_rate |"
    echo "| the same against the conditions alone (stricter: no alert rendering in the baseline) | $xf_wall × (CPU time: $xf_cpu ×) | $t_rate_filter |"
    echo "| < 300 bytes of state per group, samples aside | count $st_count, sequence $st_seq | $t_mem |"
    echo "| the same with the one sample kept (full records) | count $pg_count, sequence $pg_seq | $t_mem_raw |"
} >"$out/corr.md"

echo
cat "$out/corr.md"
echo
echo "(written to ${out#"$root"/}/corr.md)"
if ((strict)) && grep -q '| MISS |' "$out/corr.md"; then
    exit 1
fi
exit 0
