#!/usr/bin/env bash
# kafka_bench.sh — what reading from Kafka costs next to reading a file, and
# what a second stage-1 instance buys, with the CIS and correlation rules
# (rules/aws/: 15 stateless rules, 4 aggregations, 1 throttled rule).
#
# One run, on one input (the invictus CloudTrail records repeated to
# BENCH_LINES JSON lines, bench/make_input.py, as bench/run.sh):
#   1. secdet scan on the file: the baseline (1.00);
#   2. kcat -C reading the whole topic to /dev/null: what a librdkafka
#      consumer that does nothing with the messages reaches here;
#   3. secdet run, Kafka input, "stage":"single", one instance;
#   4. secdet run, Kafka input, "stage":"partition" (stage 1, forwarding the
#      aggregations' events to a 4-partition repartition topic), one instance;
#   5. the same with two instances in one consumer group;
#   6. (3)-(5) again with a larger prefetch queue (KAFKA_TUNED_PROPERTIES):
#      librdkafka 2.0 stops fetching for 1 s whenever its queue holds
#      queued.max.messages.kbytes (64 MB) — about 0.3 s of work here.
# The input topic (KAFKA_PARTITIONS partitions) is filled once with kcat before
# anything is timed, on a broker of its own (tools/kafka/kafka.sh, in a
# temporary directory, stopped at the end). Each Kafka run uses a new
# consumer group, so it reads the topic from the start.
# bench/kafka_bench.py does the timing (its header says how): a Kafka instance
# prints no progress while it runs, so progress is the group's committed
# offsets, read every 20 ms (one OffsetFetch request over a kept-open socket);
# every instance commits every 100 ms (commit_ms; default 1000). Rates are
# events over: launch → all committed; first commit → all committed ("after
# start-up"); and the commits that passed 10% and 90% ("steady"). Beside
# them: the CPU time of each secdet process and of the broker. The rounds are
# interleaved so that drift in the machine's load hits every row alike; each
# figure is the best of BENCH_RUNS. Prints a table and writes it as Markdown
# to bench/out/kafka.md (every run in bench/out/kafka_runs.jsonl). Not part of
# ctest.
#
# Exit status: 0 when it ran, 0 with a message when java or kcat is missing,
# 2 on error.
# Knobs (environment): SECDET_SHARED (../shared beside the repo; without its
# CloudTrail data the input is tests/kafka/gen_events.py's synthetic stream),
# BENCH_LINES (1000000), BENCH_RUNS (3), BENCH_BUILD_DIR (bench/out/kafka-build/),
# BENCH_DATA_DIR (bench/data/), KAFKA_PARTITIONS (4), KAFKA_TUNED (1; 0 skips 6),
# KAFKA_TUNED_PROPERTIES ('{"queued.max.messages.kbytes":524288,"queued.min.messages":1000000}').
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SECDET_SHARED:-$root/../shared}
ct_dir=$shared/data/cloudtrail/invictus/CloudTrail
lines=${BENCH_LINES:-1000000}
runs=${BENCH_RUNS:-3}
build=${BENCH_BUILD_DIR:-$here/out/kafka-build}
data=${BENCH_DATA_DIR:-$here/data}
out=$here/out
parts=${KAFKA_PARTITIONS:-4}
tuned=${KAFKA_TUNED:-1}
tuned_props=${KAFKA_TUNED_PROPERTIES:-'{"queued.max.messages.kbytes":524288,"queued.min.messages":1000000}'}
# Both instances of a group get their partitions at once: a member that joins
# second is otherwise seen at the first one's next heartbeat (3 s by default,
# as long as a whole run here). Every Kafka run has it, so the rows compare.
base_props='"heartbeat.interval.ms":100'
kafka_sh=$root/tools/kafka/kafka.sh
bench_py=$here/kafka_bench.py

die() { echo "kafka_bench: $*" >&2; exit 2; }
for tool in cmake python3 awk; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
for tool in java kcat; do
    if ! command -v "$tool" >/dev/null; then
        echo "kafka_bench: $tool not found; benchmark skipped"
        exit 0
    fi
done
mkdir -p "$out" "$data"
work=$(mktemp -d "${TMPDIR:-/tmp}/kafka_bench.XXXXXX")
cleanup() {
    "$kafka_sh" stop "$work/broker" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# ---- build -------------------------------------------------------------------
echo "== build (Release) in $build"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_FLAGS_RELEASE="-O3 -DNDEBUG -g" -DSECDET_BUILD_TESTS=OFF -DSECDET_BUILD_EXAMPLES=OFF \
      -DSECDET_BUILD_FUZZ_REGRESSION=OFF -DSECDET_WERROR=OFF >"$out/kafka_cmake.log" 2>&1 \
    || { cat "$out/kafka_cmake.log" >&2; die "cmake configure failed"; }
cmake --build "$build" --target secdet_cli -j 2 >"$out/kafka_build.log" 2>&1 \
    || { tail -40 "$out/kafka_build.log" >&2; die "build failed (log: $out/kafka_build.log)"; }
secdet=$build/secdet
[ -x "$secdet" ] || die "$secdet was not built"

# ---- input -------------------------------------------------------------------
if compgen -G "$ct_dir/*.json" >/dev/null; then
    echo "== input: $lines lines from $ct_dir"
    # bench/run.sh's input when the size is its default; another size gets a
    # file of its own (make_input.py rewrites a file made for another size).
    input=$data/input.jsonl
    [ "$lines" = 1000000 ] || input=$data/kafka_input.$lines.jsonl
    python3 "$here/make_input.py" "$ct_dir" "$input" -n "$lines" >/dev/null
    input_desc="the real CloudTrail records of the invictus sample repeated"
else
    gen_py=$root/tests/kafka/gen_events.py
    [ -f "$gen_py" ] || die "no CloudTrail data at $ct_dir and no $gen_py"
    echo "== input: $lines synthetic events (tests/kafka/gen_events.py; no data at $ct_dir)"
    input=$data/kafka_events.$lines.jsonl
    [ -s "$input" ] || python3 "$gen_py" -n "$lines" --seed 1 -o "$input"
    input_desc="synthetic CloudTrail events of tests/kafka/gen_events.py (seed 1)"
fi
rules=$root/rules/aws

# ---- broker and topics ---------------------------------------------------------
port=$(python3 - <<'EOF'
import socket
for _ in range(200):
    with socket.socket() as a:
        a.bind(("127.0.0.1", 0))
        p = a.getsockname()[1]
        with socket.socket() as b:
            try:
                b.bind(("127.0.0.1", p + 1))  # the controller's port
            except OSError:
                continue
        print(p)
        break
EOF
)
[ -n "$port" ] || die "no free port pair"
bootstrap=127.0.0.1:$port
echo "== broker on $bootstrap ($work/broker)"
"$kafka_sh" fetch >/dev/null
"$kafka_sh" start "$work/broker" "$port" >/dev/null
broker_pid=$(cat "$work/broker/kafka.pid")
"$kafka_sh" topic "$port" events "$parts"
"$kafka_sh" topic "$port" repartition 4

echo "== producing $lines events to topic events ($parts partitions) with kcat (not timed)"
t_prod=$(date +%s.%N)
# Null keys with sticky.partitioning.linger.ms=0: each message to a random
# partition, so every partition gets about the same share.
kcat -P -b "$bootstrap" -t events -l "$input" -X sticky.partitioning.linger.ms=0 \
     -X linger.ms=50 -X batch.size=1000000 2>"$work/produce.err" \
    || { cat "$work/produce.err" >&2; die "kcat -P failed"; }
t_prod=$(awk -v a="$t_prod" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
end=0
for ((p = 0; p < parts; p++)); do
    o=$(kcat -Q -b "$bootstrap" -t "events:$p:-1" | awk '{ print $NF }')
    end=$((end + o))
done
((end == lines)) || die "the topic holds $end messages, not $lines"
echo "   $end messages in ${t_prod}s"
cat "$input" >/dev/null # the page cache, for scan

# ---- measurements --------------------------------------------------------------
results=$work/results.jsonl
: >"$results"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
n=0
kafka_run() { # LABEL STAGE INSTANCES PROPERTIES
    local label=$1 stage=$2 k=$3 props=$4 extra=()
    n=$((n + 1))
    [ "$stage" = partition ] && extra=(--repartition-topic repartition)
    python3 "$bench_py" run --secdet "$secdet" --rules "$rules" --work "$work/runs" --bootstrap "$bootstrap" \
        --broker-pid "$broker_pid" --topic events --partitions "$parts" --end "$end" --stage "$stage" \
        --instances "$k" --group "bench-$n" --label "$label" --properties "{$props}" "${extra[@]}" >>"$results" \
        || die "run failed: $label"
    tail -1 "$results" | python3 -c 'import json, sys
r = json.load(sys.stdin)
print("   %s: %.0f events/s (after start-up %.0f, steady %.0f; first commit at %.2fs, last at %.2fs), CPU %s, broker %.2f" % (
    r["label"], r["rate_total"], r["rate_after_startup"], r["rate_steady"], r["first_commit_s"], r["wall_s"],
    " + ".join(map(str, r["cpu_instances_s"])), r["cpu_broker_s"]))'
}
set_names=("librdkafka's default prefetch queue" "prefetch queue raised (the input's default)")
for ((r = 1; r <= runs; r++)); do
    echo "== round $r of $runs"
    python3 "$bench_py" scan --secdet "$secdet" --rules "$rules" --input "$input" --lines "$lines" \
        --work "$work/runs" >>"$results" || die "scan failed"
    tail -1 "$results" | python3 -c 'import json, sys; r = json.load(sys.stdin); print("   scan: %.0f events/s, CPU %.2fs" % (r["rate_total"], r["cpu_s"]))'
    python3 "$bench_py" kcat --bootstrap "$bootstrap" --topic events --end "$end" >>"$results" || die "kcat failed"
    tail -1 "$results" | python3 -c 'import json, sys; r = json.load(sys.stdin); print("   kcat -C: %.0f messages/s, CPU %.2fs" % (r["rate_total"], r["cpu_s"]))'
    for set in 0 1; do
        # Set 0 passes librdkafka's own prefetch defaults (the input's
        # defaults are now set 1's: docs/scale-out.md).
        props="$base_props,\"queued.max.messages.kbytes\":65536,\"queued.min.messages\":100000"
        if ((set == 1)); then
            ((tuned)) || continue
            props="$base_props,${tuned_props#\{}"
            props=${props%\}}
        fi
        name=${set_names[$set]}
        kafka_run "\`secdet run\`, stage single, 1 instance, $name" single 1 "$props"
        kafka_run "\`secdet run\`, stage 1 (partition), 1 instance, $name" partition 1 "$props"
        kafka_run "\`secdet run\`, stage 1 (partition), 2 instances, $name" partition 2 "$props"
    done
done

# ---- report ------------------------------------------------------------------
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "## Kafka benchmark"
    echo
    echo "- Input: $lines JSON lines, $input_desc; $(du -m "$input" | cut -f1) MB; rules: rules/aws/ ($("$secdet" check "$rules" 2>&1 | tail -1 | sed 's/ OK.*//'): the CIS pack and the correlation pack)"
    echo "- Topic \`events\`: $parts partitions, filled by kcat beforehand in ${t_prod}s (null keys: random partitions); repartition topic: 4 partitions; one broker (Kafka ${SECDET_KAFKA_VERSION:-3.9.1}, KRaft, tools/kafka/kafka.sh) on the same machine; librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo '?')"
    echo "- Machine: $cpu, $(nproc) CPUs; load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- libsecdet at $rev, Release build; best of $runs interleaved rounds; every Kafka run: a new consumer group, commit_ms 100, alerts to a file sink, properties {$base_props}; \"prefetch queue raised\" adds $tuned_props"
    echo
    python3 "$bench_py" report --results "$results" --lines "$lines" --runs-out "$out/kafka_runs.jsonl"
} >"$out/kafka.md"
echo
cat "$out/kafka.md"
echo
echo "(written to ${out#"$root"/}/kafka.md; every run in ${out#"$root"/}/kafka_runs.jsonl)"
exit 0
