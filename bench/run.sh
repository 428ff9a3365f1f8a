#!/usr/bin/env bash
# run.sh — libsecdet's throughput and memory benchmark, peers side by side.
#
# One run measures, on the same input (the real CloudTrail records of
# $SECDET_SHARED/data/cloudtrail/invictus repeated to BENCH_LINES JSON lines):
#   0. simdjson     the floor of issue 22: eventSource and eventName of each
#                   line, On-Demand, and DOM (every line validated)
#                   (bench/simdjson_floor.cpp, Debian's libsimdjson-dev)
#   1. parse_only   read + cJSON parse + free, nothing else (bench/parse_only.c)
#   2. secdet scan  with the CIS pack (rules/aws/cis.secdet, 15 rules)
#   3. secdet scan  with 1,000 generated rules (bench/gen_rules.py, fixed seed)
#   4. jq           with the CIS conditions (bench/cis.jq), on a prefix only
#   5. peak RSS of secdet scan on a 100k-line prefix and on the whole input
#      (bench/rusage.c)
#   6. sigma-go     v0.6.6, the CIS controls as Sigma rules (bench/sigma/,
#                   bench/sigma_bench), on the same prefix as jq
#   7. correlation state at 1M groups (bench/corr_groups.sh)
#   8. the Python binding's engine.scan() against the command, whole
#      processes, on a 100k-line prefix (bench/python_bench.py)
#   9. --format auto against the explicit format, on the JSON lines and on
#      the same records as CloudTrail log files one after another (one a
#      line, as `cat` gives them), runs of the two alternating
#  10. secdet scan -j 2 against -j 1, CIS pack and correlation pack
#      (rules/aws/correlation.secdet), runs alternating, on the whole input
# The peers of 0, 6 and 8 are built by bench/build_peers.sh where their
# tools are (it installs libsimdjson-dev itself); a peer that cannot be built
# is left out with the reason in the report.
# Rates are the best of BENCH_RUNS runs (jq and sigma-go's map decoder: one
# run). It prints tables, PASS/MISS for each target and each goal of issue
# 22, checks that jq and sigma-go agree with secdet on what the CIS pack
# matches, and writes the same as Markdown to bench/out/results.md.
#
# Exit status: 0 when it ran (whatever the targets say; BENCH_STRICT=1 makes
# a MISS exit 1), 0 with a message when the shared data is absent, 2 on error.
#
# Knobs (environment): SECDET_SHARED (default: ../shared beside the repo),
# BENCH_LINES (1000000), BENCH_JQ_LINES (100000), BENCH_RSS_LINES (100000),
# BENCH_RUNS (3), BENCH_BUILD_DIR (build-bench/), BENCH_DATA_DIR (bench/data/),
# BENCH_STRICT (0), BENCH_PROFILE (0; 1 adds callgrind profiles, see README),
# BENCH_PY_LINES (100000), BENCH_SKIP (words: simdjson sigma python corr),
# and corr_groups.sh's GROUPS_* (its header).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SECDET_SHARED:-$root/../shared}
ct_dir=$shared/data/cloudtrail/invictus/CloudTrail

lines=${BENCH_LINES:-1000000}
jq_lines=${BENCH_JQ_LINES:-100000}
rss_lines=${BENCH_RSS_LINES:-100000}
py_lines=${BENCH_PY_LINES:-100000}
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
((py_lines <= lines)) || py_lines=$lines
skip=" ${BENCH_SKIP:-} "

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
BENCH_SKIP=${BENCH_SKIP:-} bash "$here/build_peers.sh" "$build"
# shellcheck disable=SC1091
. "$out/peers.env"

# ---- inputs ------------------------------------------------------------------
echo "== input: $lines lines from $ct_dir"
prefixes=()
profile_lines=20000
((profile_lines <= lines)) || profile_lines=$lines
for n in "$jq_lines" "$rss_lines" "$py_lines" "$profile_lines"; do
    if ((n != lines)) && [[ " ${prefixes[*]} " != *" $n "* ]]; then prefixes+=(--prefix "$n"); fi
done
python3 "$here/make_input.py" "$ct_dir" "$data/input.jsonl" -n "$lines" "${prefixes[@]}" \
    --documents "$data/input.cloudtrail.json"
input=$data/input.jsonl
docs_input=$data/input.cloudtrail.json
prefix_file() { if (($1 == lines)); then echo "$input"; else echo "$data/input.$1.jsonl"; fi; }
jq_input=$(prefix_file "$jq_lines")
rss_input=$(prefix_file "$rss_lines")
py_input=$(prefix_file "$py_lines")
input_bytes=$(stat -c %s "$input")

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
# -j 1: the rates per core that the goals compare (the command's default is a
# thread per core); (10) measures -j 2 against it.
scan_args=(scan -j 1 --output json --no-progress --quiet --format jsonl --source cloudtrail)

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

r_od=""; r_dom=""; c_od=""; c_dom=""
if ((have_simdjson)); then
    echo "== (0) simdjson floor: On-Demand and DOM, eventSource + eventName, best of $runs"
    run_stdout=$out/simdjson_ondemand.txt
    best_of "$runs" "$build/simdjson_floor" ondemand "$input"
    r_od=$(rate "$lines" "$b_wall"); c_od=$(rate "$lines" "$b_cpu")
    run_stdout=$out/simdjson_dom.txt
    best_of "$runs" "$build/simdjson_floor" dom "$input"
    r_dom=$(rate "$lines" "$b_wall"); c_dom=$(rate "$lines" "$b_cpu")
    run_stdout=/dev/null
    # Every line a document with both fields, no error: else the floor is wrong.
    for f in "$out/simdjson_ondemand.txt" "$out/simdjson_dom.txt"; do
        grep -q "^docs=$lines errors=0 with_both=$lines " "$f" || die "simdjson_floor: $(cat "$f") (expected $lines documents)"
    done
    simdjson_impl=$(sed -n 's/.* impl=//p' "$out/simdjson_ondemand.txt")
fi

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

r_sg=""; r_sgm=""; c_sg=""; c_sgm=""
if ((have_sigma)); then
    # Per core, as the others: Go's collector would take the second CPU.
    echo "== (6) sigma-go v0.6.6, CIS as Sigma rules, $jq_lines-line prefix, fastjson fields: best of $runs; sonic map: 1 run"
    run_stdout=$out/sigma_counts.txt
    best_of "$runs" env GOMAXPROCS=1 "$build/sigma_bench" -decode fields -counts "$here/sigma" "$jq_input"
    r_sg=$(rate "$jq_lines" "$b_wall"); c_sg=$(rate "$jq_lines" "$b_cpu")
    run_stdout=/dev/null
    best_of 1 env GOMAXPROCS=1 "$build/sigma_bench" -decode map "$here/sigma" "$jq_input"
    r_sgm=$(rate "$jq_lines" "$b_wall"); c_sgm=$(rate "$jq_lines" "$b_cpu")
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
echo "== (9) --format auto against the explicit format, best of $runs each"
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

# ---- do jq and sigma-go select what secdet alerts on? ----------------------------
# On the jq prefix: secdet's alerts per rule against cis.jq's matches per rule
# and sigma-go's. An event matching two rules (an AccessDenied
# AttachUserPolicy: 4.1 and 4.4) is one jq selection and two alerts, so the
# per-rule totals are what must be equal.
echo "== agreement checks on the $jq_lines-line prefix"
"$secdet" "${scan_args[@]}" --rules "$cis_rules" "$jq_input" >"$out/secdet_cis_alerts.jsonl"
n_alerts=$(wc -l <"$out/secdet_cis_alerts.jsonl")
python3 -c 'import json, sys
for line in open(sys.argv[1]): print(json.loads(line)["rule"])' "$out/secdet_cis_alerts.jsonl" |
    sort | uniq -c | awk '{ print $2, $1 }' >"$out/per_rule_secdet.txt"
check_status="skipped (no jq)"
if ((have_jq)); then
    n_selected=$(wc -l <"$out/jq_selected.jsonl")
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
sigma_status="skipped: ${why_sigma:-}"
if ((have_sigma)); then
    sort "$out/sigma_counts.txt" >"$out/per_rule_sigma.txt"
    n_sigma=$(awk '{ s += $2 } END { print s + 0 }' "$out/per_rule_sigma.txt")
    if diff -u "$out/per_rule_sigma.txt" "$out/per_rule_secdet.txt" >"$out/per_rule_sigma.diff"; then
        sigma_status="agree per rule: $n_alerts secdet alerts = $n_sigma sigma-go matches"
    else
        sigma_status="DISAGREE: $n_alerts secdet alerts vs $n_sigma sigma-go matches (see bench/out/per_rule_sigma.diff)"
        cat "$out/per_rule_sigma.diff"
    fi
    echo "sigma-go: $sigma_status"
fi

# ---- correlation state at 1M groups, and the Python binding ------------------------
have_corr=1
if [[ $skip == *" corr "* ]]; then
    have_corr=0
else
    echo "== (7) correlation state at ${GROUPS_BIG:-1000000} groups (bench/corr_groups.sh)"
    SECDET_BIN=$secdet BENCH_BUILD_DIR=$build BENCH_DATA_DIR=$data bash "$here/corr_groups.sh" >"$out/corr_groups.log" 2>&1 \
        || { cat "$out/corr_groups.log" >&2; die "corr_groups.sh failed"; }
    grep '^   ' "$out/corr_groups.log" || true
    # shellcheck disable=SC1091
    . "$out/corr_groups.env"
fi
if ((have_python)); then
    echo "== (8) Python engine.scan() against secdet scan, whole processes, $py_lines lines (bench/python_bench.py)"
    "$build/python-venv/bin/python" "$here/python_bench.py" --secdet "$secdet" --input "$py_input" \
        --runs "$runs" --no-push --summary "$out/python.env" >"$out/python_bench.txt" 2>&1 \
        || { cat "$out/python_bench.txt" >&2; die "python_bench.py failed"; }
    sed -n '/^whole processes/,/^goal/p' "$out/python_bench.txt"
    # shellcheck disable=SC1091
    . "$out/python.env"
fi

# ---- -j 2 against -j 1 ------------------------------------------------------------
# On the whole input: a process's start-up (rules, compile, mapping) is serial
# and is 5 % of a run of 100,000 lines, which is not what -j is for.
echo "== (10) secdet scan -j 2 against -j 1, $lines lines (1st: -j 1, 2nd: -j 2)"
jobs_args=("${scan_args[@]}")
jobs_args[2]=2 # scan -j 2 ...
best_alternating "$runs" "$secdet" "${scan_args[@]}" --rules "$cis_rules" "$input" -- \
    "$secdet" "${jobs_args[@]}" --rules "$cis_rules" "$input"
# shellcheck disable=SC2154
j_cis_wall1=$a_wall; j_cis_cpu1=$a_cpu; j_cis_wall2=$b2_wall; j_cis_cpu2=$b2_cpu
best_alternating "$runs" "$secdet" "${scan_args[@]}" --rules "$root/rules/aws/correlation.secdet" "$input" -- \
    "$secdet" "${jobs_args[@]}" --rules "$root/rules/aws/correlation.secdet" "$input"
j_corr_wall1=$a_wall; j_corr_cpu1=$a_cpu; j_corr_wall2=$b2_wall; j_corr_cpu2=$b2_cpu

# ---- report ------------------------------------------------------------------
# shellcheck source=bench/report.sh
. "$here/report.sh"

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
