#!/usr/bin/env bash
# run.sh — libsecdet's throughput and memory benchmark, peers side by side.
#
# One run measures, on the same input (the real CloudTrail records of
# $SECDET_SHARED/data/cloudtrail/invictus repeated to BENCH_LINES JSON lines):
#   1. parse_only   read + cJSON parse + free, nothing else (bench/parse_only.c)
#   2. secdet scan  with the CIS pack (rules/aws/cis.secdet, 15 rules)
#   3. secdet scan  with 1,000 generated rules (bench/gen_rules.py, fixed seed)
#   4. jq           with the CIS conditions (bench/cis.jq), on a prefix only
#   5. peak RSS of secdet scan on a 100k-line prefix and on the whole input
#      (bench/rusage.c)
#   6. --format auto against the explicit format, on the JSON lines and on
#      the same records as CloudTrail log files one after another (one a
#      line, as `cat` gives them), runs of the two alternating
# Rates are the best of BENCH_RUNS runs (jq: one run). It prints a table and
# PASS/MISS for each target, checks that jq and secdet agree on what the CIS
# pack matches, and writes the same as Markdown to bench/out/results.md.
#
# Exit status: 0 when it ran (whatever the targets say; BENCH_STRICT=1 makes
# a MISS exit 1), 0 with a message when the shared data is absent, 2 on error.
#
# Knobs (environment): SECDET_SHARED (default: ../shared beside the repo),
# BENCH_LINES (1000000), BENCH_JQ_LINES (100000), BENCH_RSS_LINES (100000),
# BENCH_RUNS (3), BENCH_BUILD_DIR (build-bench/), BENCH_DATA_DIR (bench/data/),
# BENCH_STRICT (0), BENCH_PROFILE (0; 1 adds callgrind profiles, see README).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SECDET_SHARED:-$root/../shared}
ct_dir=$shared/data/cloudtrail/invictus/CloudTrail

lines=${BENCH_LINES:-1000000}
jq_lines=${BENCH_JQ_LINES:-100000}
rss_lines=${BENCH_RSS_LINES:-100000}
runs=${BENCH_RUNS:-3}
build=${BENCH_BUILD_DIR:-$root/build-bench}
data=${BENCH_DATA_DIR:-$here/data}
out=$here/out
strict=${BENCH_STRICT:-0}

die() { echo "bench: $*" >&2; exit 2; }

if ! compgen -G "$ct_dir/*.json" >/dev/null; then
    echo "bench: no CloudTrail data at $ct_dir (set SECDET_SHARED); benchmark skipped"
    exit 0
fi
for tool in cmake python3 cc; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
have_jq=1
command -v jq >/dev/null || have_jq=0
((jq_lines <= lines)) || jq_lines=$lines
((rss_lines <= lines)) || rss_lines=$lines

mkdir -p "$data" "$out"

# ---- build -------------------------------------------------------------------
# Release, in its own directory. Warnings are not errors here: -O3 brings
# flow-analysis warnings the normal builds do not see, and a benchmark is not
# the place to gate on them.
echo "== build (Release) in $build"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
# -g does not change the code -O3 makes; it lets BENCH_PROFILE name functions.
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_FLAGS_RELEASE="-O3 -DNDEBUG -g" \
      -DSECDET_BUILD_TESTS=OFF -DSECDET_WERROR=OFF >"$out/cmake.log" 2>&1 \
    || { cat "$out/cmake.log" >&2; die "cmake configure failed"; }
cmake --build "$build" --target secdet_cli >"$out/build.log" 2>&1 \
    || { tail -40 "$out/build.log" >&2; die "build failed (log: $out/build.log)"; }
secdet=$build/secdet
[ -x "$secdet" ] || die "$secdet was not built"

# Same compiler and -O2 as a typical build of a small C tool; the parser
# doing the work is the system's libcjson, the one secdet links.
cjson_flags=$(pkg-config --cflags --libs libcjson 2>/dev/null || echo "-lcjson")
# shellcheck disable=SC2086
cc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
   "$here/parse_only.c" $cjson_flags -o "$build/parse_only" || die "parse_only did not build"
parse_only=$build/parse_only
cc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
   "$here/rusage.c" -o "$build/rusage" || die "rusage did not build"

# ---- inputs ------------------------------------------------------------------
echo "== input: $lines lines from $ct_dir"
prefixes=()
profile_lines=20000
((profile_lines <= lines)) || profile_lines=$lines
for n in "$jq_lines" "$rss_lines" "$profile_lines"; do
    if ((n != lines)) && [[ " ${prefixes[*]} " != *" $n "* ]]; then prefixes+=(--prefix "$n"); fi
done
python3 "$here/make_input.py" "$ct_dir" "$data/input.jsonl" -n "$lines" "${prefixes[@]}" \
    --documents "$data/input.cloudtrail.json"
input=$data/input.jsonl
docs_input=$data/input.cloudtrail.json
prefix_file() { if (($1 == lines)); then echo "$input"; else echo "$data/input.$1.jsonl"; fi; }
jq_input=$(prefix_file "$jq_lines")
rss_input=$(prefix_file "$rss_lines")

cis_rules=$root/rules/aws/cis.secdet
gen_rules=$data/rules1000.secdet
python3 "$here/gen_rules.py" --count 1000 -o "$gen_rules"

# ---- rule sanity -------------------------------------------------------------
echo "== secdet check"
"$secdet" check "$cis_rules" || die "the CIS pack does not compile"
"$secdet" check "$gen_rules" >"$out/check_rules1000.txt" 2>&1 \
    || { tail -20 "$out/check_rules1000.txt" >&2; die "the 1,000 generated rules do not compile"; }
echo "1,000 generated rules compile ($(grep -c ': warning:' "$out/check_rules1000.txt" || true) warnings)"

# The input is JSON lines of CloudTrail records; the CIS rules say
# `on cloudtrail`, so the source is named (without it, it would be "jsonl").
scan_args=(scan --output json --no-progress --quiet --format jsonl --source cloudtrail)

# ---- measuring helpers ---------------------------------------------------------
# run_once CMD... : runs CMD (stdout to $run_stdout, default /dev/null) under
# bench/rusage.c; sets m_rss (KiB), m_cpu (user+sys s), m_wall (s).
run_stdout=/dev/null
run_once() {
    local res=$out/.rusage
    "$build/rusage" "$res" "$@" >"$run_stdout" || die "failed: $*"
    read -r m_rss m_user m_sys m_wall <"$res"
    m_cpu=$(awk -v u="$m_user" -v s="$m_sys" 'BEGIN { printf "%.6f", u + s }')
}

# best_of N CMD... : N runs; sets b_wall and b_cpu to the shortest of each.
best_of() {
    local n=$1 i
    shift
    b_wall=""
    b_cpu=""
    for ((i = 0; i < n; i++)); do
        run_once "$@"
        echo "   run $((i + 1)): ${m_wall}s wall, ${m_cpu}s CPU"
        if [ -z "$b_wall" ] || awk -v a="$m_wall" -v b="$b_wall" 'BEGIN { exit !(a < b) }'; then
            b_wall=$m_wall
        fi
        if [ -z "$b_cpu" ] || awk -v a="$m_cpu" -v b="$b_cpu" 'BEGIN { exit !(a < b) }'; then
            b_cpu=$m_cpu
        fi
    done
}

# best_alternating N CMD_A... -- CMD_B... : N runs of each, A and B in turn,
# so that a change in the machine's load falls on both; sets a_wall, a_cpu,
# b2_wall, b2_cpu to the shortest of each.
best_alternating() {
    local n=$1 i k
    shift
    local cmd_a=() cmd_b=()
    while [ "$1" != "--" ]; do cmd_a+=("$1"); shift; done
    shift
    cmd_b=("$@")
    a_wall=""; a_cpu=""; b2_wall=""; b2_cpu=""
    shorter() { if [ -z "$1" ] || awk -v a="$2" -v b="$1" 'BEGIN { exit !(a < b) }'; then echo "$2"; else echo "$1"; fi; }
    for ((i = 0; i < n; i++)); do
        run_once "${cmd_a[@]}"
        a_wall=$(shorter "$a_wall" "$m_wall"); a_cpu=$(shorter "$a_cpu" "$m_cpu")
        echo "   run $((i + 1)): explicit ${m_wall}s wall, ${m_cpu}s CPU"
        run_once "${cmd_b[@]}"
        b2_wall=$(shorter "$b2_wall" "$m_wall"); b2_cpu=$(shorter "$b2_cpu" "$m_cpu")
        echo "   run $((i + 1)): auto     ${m_wall}s wall, ${m_cpu}s CPU"
    done
    for k in a_wall a_cpu b2_wall b2_cpu; do [ -n "${!k}" ] || die "no runs"; done
}

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

# ---- measurements --------------------------------------------------------------
load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
# Warm the page cache so the first timed run does not pay for the disk.
cat "$input" >/dev/null

echo "== (1) parse_only, best of $runs"
best_of "$runs" "$parse_only" "$input"
r_parse=$(rate "$lines" "$b_wall"); c_parse=$(rate "$lines" "$b_cpu")
echo "== (2) secdet scan, CIS pack, best of $runs"
best_of "$runs" "$secdet" "${scan_args[@]}" --rules "$cis_rules" "$input"
r_cis=$(rate "$lines" "$b_wall"); c_cis=$(rate "$lines" "$b_cpu")
echo "== (3) secdet scan, 1,000 generated rules, best of $runs"
best_of "$runs" "$secdet" "${scan_args[@]}" --rules "$gen_rules" "$input"
r_gen=$(rate "$lines" "$b_wall"); c_gen=$(rate "$lines" "$b_cpu")

r_jq=""
c_jq=""
if ((have_jq)); then
    echo "== (4) jq, CIS conditions, $jq_lines-line prefix, 1 run (rate scaled to the whole input)"
    run_stdout=$out/jq_selected.jsonl
    best_of 1 jq -c -L "$here" 'include "cis"; select(cis_any)' "$jq_input"
    run_stdout=/dev/null
    r_jq=$(rate "$jq_lines" "$b_wall"); c_jq=$(rate "$jq_lines" "$b_cpu")
fi

echo "== (5) peak RSS of secdet scan"
peak_rss_kb() { run_once "$@"; echo "$m_rss"; }
rss_cis_small=$(peak_rss_kb "$secdet" "${scan_args[@]}" --rules "$cis_rules" "$rss_input")
rss_cis_big=$(peak_rss_kb "$secdet" "${scan_args[@]}" --rules "$cis_rules" "$input")
rss_gen_small=$(peak_rss_kb "$secdet" "${scan_args[@]}" --rules "$gen_rules" "$rss_input")
rss_gen_big=$(peak_rss_kb "$secdet" "${scan_args[@]}" --rules "$gen_rules" "$input")
rss_parse_big=$(peak_rss_kb "$parse_only" "$input")
echo "   CIS pack: ${rss_cis_small} KiB ($rss_lines lines), ${rss_cis_big} KiB ($lines lines)"

# The CIS rules say `on cloudtrail`: JSON lines need --source (then the
# engine detects the format), CloudTrail documents are that source already.
echo "== (6) --format auto against the explicit format, best of $runs each"
auto_args=(scan --output json --no-progress --quiet --rules "$cis_rules")
echo "   JSON lines: --format jsonl / --format auto, --source cloudtrail"
best_alternating "$runs" "$secdet" "${auto_args[@]}" --format jsonl --source cloudtrail "$input" -- \
    "$secdet" "${auto_args[@]}" --format auto --source cloudtrail "$input"
r_lines_x=$(rate "$lines" "$a_wall"); c_lines_x=$(rate "$lines" "$a_cpu")
r_lines_a=$(rate "$lines" "$b2_wall"); c_lines_a=$(rate "$lines" "$b2_cpu")
echo "   CloudTrail documents: --format cloudtrail / --format auto"
best_alternating "$runs" "$secdet" "${auto_args[@]}" --format cloudtrail "$docs_input" -- \
    "$secdet" "${auto_args[@]}" --format auto "$docs_input"
r_docs_x=$(rate "$lines" "$a_wall"); c_docs_x=$(rate "$lines" "$a_cpu")
r_docs_a=$(rate "$lines" "$b2_wall"); c_docs_a=$(rate "$lines" "$b2_cpu")
# Both must give the CIS pack's alerts of the JSON lines.
n_auto_lines=$("$secdet" "${auto_args[@]}" --format auto --source cloudtrail "$input" | wc -l)
n_auto_docs=$("$secdet" "${auto_args[@]}" --format auto "$docs_input" | wc -l)
n_lines=$("$secdet" "${auto_args[@]}" --format jsonl --source cloudtrail "$input" | wc -l)
[ "$n_auto_lines" = "$n_lines" ] && [ "$n_auto_docs" = "$n_lines" ] \
    || die "auto gave other alerts: $n_auto_lines (lines), $n_auto_docs (documents), explicit $n_lines"

# ---- does jq select what secdet alerts on? -----------------------------------
# On the jq prefix: secdet's alerts per rule against cis.jq's matches per rule.
# An event matching two rules (an AccessDenied AttachUserPolicy: 4.1 and 4.4)
# is one jq selection and two alerts, so the per-rule totals are what must be equal.
check_status="skipped (no jq)"
if ((have_jq)); then
    echo "== agreement check on the $jq_lines-line prefix"
    "$secdet" "${scan_args[@]}" --rules "$cis_rules" "$jq_input" >"$out/secdet_cis_alerts.jsonl"
    n_alerts=$(wc -l <"$out/secdet_cis_alerts.jsonl")
    n_selected=$(wc -l <"$out/jq_selected.jsonl")
    jq -r .rule "$out/secdet_cis_alerts.jsonl" | sort | uniq -c | awk '{ print $2, $1 }' >"$out/per_rule_secdet.txt"
    # One line per matching event: the names of the rules it matches.
    jq -r -L "$here" 'include "cis"; [cis_matches] | select(length > 0) | join(" ")' "$jq_input" \
        >"$out/jq_matches_per_event.txt"
    tr ' ' '\n' <"$out/jq_matches_per_event.txt" | sort | uniq -c | awk '{ print $2, $1 }' >"$out/per_rule_jq.txt"
    n_jq_matches=$(awk '{ s += $2 } END { print s + 0 }' "$out/per_rule_jq.txt")
    n_multi=$(awk 'NF > 1 { n++ } END { print n + 0 }' "$out/jq_matches_per_event.txt")
    echo "secdet alerts: $n_alerts   jq selected events: $n_selected   jq rule matches: $n_jq_matches ($n_multi events match more than one rule)"
    if diff -u "$out/per_rule_jq.txt" "$out/per_rule_secdet.txt" >"$out/per_rule.diff"; then
        check_status="agree per rule: $n_alerts secdet alerts = $n_jq_matches jq rule matches; jq selects $n_selected events, $n_multi of which match two or more rules (one jq line, one alert per rule)"
    else
        check_status="DISAGREE: $n_alerts secdet alerts vs $n_jq_matches jq rule matches (see bench/out/per_rule.diff)"
        cat "$out/per_rule.diff"
    fi
    echo "$check_status"
fi

# ---- report ------------------------------------------------------------------
pass() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }
x_cis=$(ratio "$r_cis" "$r_parse")
x_gen=$(ratio "$r_gen" "$r_parse")
t1_res=$(pass "$r_cis >= 0.8 * $r_parse")
t2_res=$(pass "$r_gen >= 0.5 * $r_parse")
rss_limit=$(awk -v s="$rss_cis_small" 'BEGIN { printf "%.0f", 1.2 * s + 2048 }')
t4_res=$(pass "$rss_cis_big <= $rss_limit")
cx_cis=$(ratio "$c_cis" "$c_parse")
cx_gen=$(ratio "$c_gen" "$c_parse")
if [ -n "$r_jq" ]; then
    x_jq_cis=$(ratio "$r_cis" "$r_jq"); x_jq_gen=$(ratio "$r_gen" "$r_jq"); x_jq_parse=$(ratio "$r_parse" "$r_jq")
    x_jq_jq=1.00; x_jq_vs_parse=$(ratio "$r_jq" "$r_parse")
    cx_jq_cis=$(ratio "$c_cis" "$c_jq"); cx_jq_vs_parse=$(ratio "$c_jq" "$c_parse")
    t3_res=$(pass "$r_cis >= 10 * $r_jq")
else
    x_jq_cis=-; x_jq_gen=-; x_jq_parse=-; x_jq_jq=-; x_jq_vs_parse=-; cx_jq_cis=-; t3_res="SKIP (no jq)"
fi
x_auto_lines=$(ratio "$r_lines_a" "$r_lines_x"); cx_auto_lines=$(ratio "$c_lines_a" "$c_lines_x")
x_auto_docs=$(ratio "$r_docs_a" "$r_docs_x"); cx_auto_docs=$(ratio "$c_docs_a" "$c_docs_x")
x_docs_lines=$(ratio "$r_docs_x" "$r_lines_x"); cx_docs_lines=$(ratio "$c_docs_x" "$c_lines_x")
# A 5% difference is within what other work on the machine does to wall
# clock: these two are judged on CPU time.
t5_res=$(pass "$c_lines_a >= 0.95 * $c_lines_x")
t6_res=$(pass "$c_docs_a >= 0.95 * $c_docs_x")
# The benchmark needs one CPU; more runnable work than the other CPUs can
# take stretches wall-clock times unevenly, so say so.
busy=$(awk -v l="$load_start" -v n="$(nproc)" 'BEGIN { print (l > n - 0.5) ? 1 : 0 }')
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo " (uncommitted changes)" || true)

{
    echo "## Benchmark results"
    echo
    echo "- Input: $lines JSON lines, the $(python3 -c 'import glob, json, sys; print(sum(len(json.load(open(f))["Records"]) for f in glob.glob(sys.argv[1] + "/*.json")))' "$ct_dir") real CloudTrail records of the invictus sample repeated; $(du -m "$input" | cut -f1) MB"
    echo "- Machine: $cpu, $(nproc) CPUs"
    echo "- $("$secdet" version 2>/dev/null | head -1 || echo '?') at $rev$dirty, Release build; $(cc --version | head -1); cJSON $(pkg-config --modversion libcjson 2>/dev/null || echo '?'); $(jq --version 2>/dev/null || echo 'no jq')"
    echo "- Machine load average at the start: $load_start$( ((busy)) && echo " — BUSY: other work shared the CPUs; wall-clock rates are noisy, the CPU-time columns are the steadier ones")"
    echo "- Rates: events / time, best of $runs runs, page cache warm; wall clock (the targets) and CPU time (user + sys) of the process; secdet runs \`secdet ${scan_args[*]} --rules RULES input.jsonl > /dev/null\`"
    echo "- jq: measured on a $jq_lines-line prefix in 1 run (jq runs at tens of thousands of events/s); its events/s is taken as the rate for the whole input"
    echo
    echo "| name | events/s | × parse-only | × jq | events/s of CPU time | × parse-only (CPU) |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| parse-only (read + cJSON parse + free) | $r_parse | 1.00 | $x_jq_parse | $c_parse | 1.00 |"
    echo "| secdet scan, CIS pack (15 rules) | $r_cis | $x_cis | $x_jq_cis | $c_cis | $cx_cis |"
    echo "| secdet scan, 1,000 generated rules | $r_gen | $x_gen | $x_jq_gen | $c_gen | $cx_gen |"
    if [ -n "$r_jq" ]; then
        echo "| jq, CIS conditions ($jq_lines-line prefix, scaled) | $r_jq | $x_jq_vs_parse | $x_jq_jq | $c_jq | $cx_jq_vs_parse |"
    fi
    echo
    echo "| --format auto against the explicit format (CIS pack) | events/s | × explicit | events/s of CPU time | × explicit (CPU) |"
    echo "|---|---:|---:|---:|---:|"
    echo "| JSON lines, \`--format jsonl --source cloudtrail\` | $r_lines_x | 1.00 | $c_lines_x | 1.00 |"
    echo "| JSON lines, \`--format auto --source cloudtrail\` | $r_lines_a | $x_auto_lines | $c_lines_a | $cx_auto_lines |"
    echo "| CloudTrail log files one after another, \`--format cloudtrail\` | $r_docs_x | 1.00 ($x_docs_lines × JSON lines) | $c_docs_x | 1.00 ($cx_docs_lines × JSON lines) |"
    echo "| CloudTrail log files one after another, \`--format auto\` | $r_docs_a | $x_auto_docs | $c_docs_a | $cx_auto_docs |"
    echo
    echo "| peak RSS | $rss_lines lines | $lines lines |"
    echo "|---|---:|---:|"
    echo "| secdet scan, CIS pack | $(mib "$rss_cis_small") MiB | $(mib "$rss_cis_big") MiB |"
    echo "| secdet scan, 1,000 generated rules | $(mib "$rss_gen_small") MiB | $(mib "$rss_gen_big") MiB |"
    echo "| parse-only | | $(mib "$rss_parse_big") MiB |"
    echo
    echo "| target | measured (wall clock) | same in CPU time | result |"
    echo "|---|---|---|---|"
    echo "| CIS pack ≥ 0.8 × parse-only | $x_cis × | $cx_cis × | $t1_res |"
    echo "| 1,000 rules ≥ 0.5 × parse-only | $x_gen × | $cx_gen × | $t2_res |"
    echo "| CIS pack ≥ 10 × jq | $x_jq_cis × | $cx_jq_cis × | $t3_res |"
    echo "| RSS($lines) ≤ 1.2 × RSS($rss_lines) + 2 MB (CIS pack) | $(mib "$rss_cis_big") MiB ≤ $(mib "$rss_limit") MiB | | $t4_res |"
    echo "| auto ≥ 0.95 × jsonl, JSON lines (judged on CPU time) | $x_auto_lines × | $cx_auto_lines × | $t5_res |"
    echo "| auto ≥ 0.95 × cloudtrail, CloudTrail log files (judged on CPU time) | $x_auto_docs × | $cx_auto_docs × | $t6_res |"
    echo
    echo "CIS agreement with jq ($jq_lines-line prefix): $check_status"
} >"$out/results.md"

echo
cat "$out/results.md"
echo
echo "(written to ${out#"$root"/}/results.md)"

# ---- optional profile ----------------------------------------------------------
# BENCH_PROFILE=1: callgrind on a 20k-line prefix, both rule sets; the top
# functions by instructions go to bench/out/profile_{cis,rules1000}.txt.
if [ "${BENCH_PROFILE:-0}" = 1 ]; then
    command -v valgrind >/dev/null || die "BENCH_PROFILE=1 needs valgrind"
    prof_input=$(prefix_file "$profile_lines")
    for set in cis rules1000; do
        rules=$cis_rules
        [ "$set" = cis ] || rules=$gen_rules
        echo "== callgrind: $set on $profile_lines lines"
        valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$set.out" \
            "$secdet" "${scan_args[@]}" --rules "$rules" "$prof_input" >/dev/null 2>"$out/callgrind.$set.log" \
            || die "callgrind failed (see $out/callgrind.$set.log)"
        # Whole reports to files (a `| head` would SIGPIPE under pipefail).
        callgrind_annotate --inclusive=no "$out/callgrind.$set.out" >"$out/profile_$set.txt" 2>&1
        callgrind_annotate --inclusive=yes "$out/callgrind.$set.out" >"$out/profile_${set}_inclusive.txt" 2>&1
        sed -n '1,45p' "$out/profile_$set.txt"
    done
fi

if ((strict)) && grep -q '| MISS |' "$out/results.md"; then
    exit 1
fi
exit 0
