#!/usr/bin/env bash
# corr_groups.sh — correlation state at a million groups (issue 22's goals).
#
# Goals: a `count` group and a `sequence` group cost at most 150 bytes each
# at 1,000,000 groups, and the default state cap (--max-state 256 MiB) holds
# 1,000,000 groups of each rule without evicting any.
#
# Input (bench/gen_corr_input.py --assign cycle): GROUPS_EVENTS synthetic
# CloudTrail records of one kind, whose events take the groups in turn, so
# GROUPS_BIG groups get one event each (the sequence rule: 1% of the IAM
# calls are privilege changes, which start no sequence, so ~99% of
# GROUPS_BIG); the same number of events over GROUPS_SMALL groups is the
# control. Both as full records (~890 / ~760 bytes) and as lean ones (only the
# fields the rules read, ~230 / ~190 bytes): a group keeps one sample event,
# as long as its record. Rules: each rule of bench/corr_rules.secdet alone.
# Event times span 4 minutes, inside both windows, so every group is live at
# the end.
# Measures, with `secdet scan` and bench/rusage.c:
#   1. bytes per group: (peak RSS over GROUPS_BIG groups − peak RSS over
#      GROUPS_SMALL) / (groups − groups), with --max-state GROUPS_CAP (large
#      enough that nothing is evicted; checked) and --lateness 1s (held events
#      would otherwise be in the peak: all of them, the span being shorter than
#      the default 15 minutes);
#   2. groups evicted with the default options (the default cap and
#      lateness) over GROUPS_BIG groups.
# Writes Markdown to bench/out/corr_groups.md and the figures as shell
# assignments to bench/out/corr_groups.env (bench/run.sh reads them).
#
# Exit status: 0 when it ran (whatever the goals say), 2 on error.
# Knobs (environment): GROUPS_EVENTS (1000000), GROUPS_BIG (1000000),
# GROUPS_SMALL (1000), GROUPS_CAP (4096, MiB), BENCH_BUILD_DIR (build-bench/),
# BENCH_DATA_DIR (bench/data/), SECDET_BIN (default: BENCH_BUILD_DIR/secdet,
# built by bench/run.sh; this script builds nothing but bench/rusage.c).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
events=${GROUPS_EVENTS:-1000000}
big=${GROUPS_BIG:-1000000}
small=${GROUPS_SMALL:-1000}
cap=${GROUPS_CAP:-4096}
build=${BENCH_BUILD_DIR:-$root/build-bench}
data=${BENCH_DATA_DIR:-$here/data}
secdet=${SECDET_BIN:-$build/secdet}
out=$here/out
goal_bytes=150

die() { echo "corr_groups: $*" >&2; exit 2; }
((big > small)) || die "GROUPS_BIG must be larger than GROUPS_SMALL"
[ -x "$secdet" ] || die "no secdet at $secdet (bench/run.sh builds it; or set SECDET_BIN)"
mkdir -p "$data" "$out"
rusage=$build/corr_groups_rusage
cc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
   "$here/rusage.c" -o "$rusage" || die "rusage did not build"

# Each rule alone, its lists kept (the same split as corr_bench.sh's).
one_rule() {
    awk -v want="$1" '
        /^list / { in_list = 1 }
        in_list { print; if (/\]/) in_list = 0; next }
        /^rule / { keep = ($2 == want) }
        keep { print; if (/^}/) keep = 0 }
    ' "$here/corr_rules.secdet" >"$out/groups_rule_$2.secdet"
    "$secdet" check "$out/groups_rule_$2.secdet" >/dev/null 2>&1 || die "$out/groups_rule_$2.secdet does not compile"
}
one_rule bench_failed_login_burst count
one_rule bench_recon_then_escalate sequence

echo "== input: $events events per rule over $big and over $small groups, full and lean records"
input() { # KIND GROUPS full|lean -> path (made when missing or stale)
    local f=$data/groups.$1.$events.$2.$3.jsonl lean=()
    [ "$3" = lean ] && lean=(--lean)
    python3 "$here/gen_corr_input.py" -n "$events" -g "$2" --kinds "$1" --assign cycle "${lean[@]}" -o "$f" 2>>"$out/corr_groups_gen.log" || die "gen_corr_input.py failed (log: $out/corr_groups_gen.log)"
    echo "$f"
}
meta() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$1.meta"; }

scan=(scan --output json --no-progress --format jsonl --source cloudtrail)
# run FILE RULES [OPTIONS...]: sets m_rss (KiB), m_cpu (s), m_evicted.
run() {
    local file=$1 rules=$2 res=$out/.groups_rusage err=$out/.groups_stderr
    shift 2
    "$rusage" "$res" "$secdet" "${scan[@]}" "$@" --rules "$rules" "$file" >/dev/null 2>"$err" \
        || { cat "$err" >&2; die "failed: secdet ${scan[*]} $* --rules $rules $file"; }
    read -r m_rss m_user m_sys _ <"$res"
    m_cpu=$(awk -v u="$m_user" -v s="$m_sys" 'BEGIN { printf "%.2f", u + s }')
    m_evicted=$(sed -n 's/.* \([0-9][0-9]*\) correlation groups evicted.*/\1/p' "$err" | tail -1)
    m_evicted=${m_evicted:-0}
}

declare -A r
for kind in count sequence; do
    for rec in full lean; do
        f_big=$(input "$kind" "$big" "$rec")
        f_small=$(input "$kind" "$small" "$rec")
        g_big=$(meta "$f_big" "${kind}_groups")
        g_small=$(meta "$f_small" "${kind}_groups")
        mean=$(meta "$f_big" "$([ "$kind" = count ] && echo login_mean || echo iam_mean)")
        run "$f_big" "$out/groups_rule_$kind.secdet" --max-state "$cap" --lateness 1s
        rss_big=$m_rss ev_big=$m_evicted
        run "$f_small" "$out/groups_rule_$kind.secdet" --max-state "$cap" --lateness 1s
        rss_small=$m_rss
        per=$(awk -v b="$rss_big" -v s="$rss_small" -v gb="$g_big" -v gs="$g_small" \
            'BEGIN { printf "%.0f", (b - s) * 1024 / (gb - gs) }')
        run "$f_big" "$out/groups_rule_$kind.secdet"
        r[$kind.$rec]="$g_big $mean $rss_small $rss_big $per $ev_big $m_evicted $m_rss"
        echo "   $kind, $rec records ($mean B): $g_big groups: peak $rss_big KiB (control: $rss_small KiB over $g_small groups) = $per B per group, $ev_big evicted under --max-state $cap; default options: $m_evicted evicted, peak $m_rss KiB"
    done
done

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "## Correlation state at $big groups"
    echo
    echo "- Input: $events synthetic CloudTrail records per rule (\`bench/gen_corr_input.py --assign cycle\`), each group one event, times over 4 minutes (every group live at the end); control: the same number of events over $small groups"
    echo "- Rules: each rule of \`bench/corr_rules.secdet\` alone — \`count >= 10 within 5m by .sourceIPAddress\`, \`sequence within 1h by .userIdentity.arn { recon; escalate }\` (a privilege change starts no sequence: 1% of the IAM calls, so ~99% as many groups)"
    echo "- Bytes per group: (peak RSS − control's peak RSS) / (groups − control's groups), \`--max-state $cap --lateness 1s\` (nothing evicted, held events not in the peak); evicted: the same input with the default options (\`--max-state\` 256 MiB, \`--lateness\` 15m)"
    echo "- $("$secdet" version 2>/dev/null | head -1 || echo '?') at $rev; load average at the start of the report: $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
    echo
    echo "| rule | records | groups | peak RSS (control) | peak RSS | bytes per group | ÷ goal ($goal_bytes B) | evicted, default options | groups held of $big, default options |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    for kind in count sequence; do
        for rec in full lean; do
            read -r g mean rs rb per evb evd _ <<<"${r[$kind.$rec]}"
            [ "$evb" = 0 ] || per="$per (⚠ $evb evicted)"
            held=$(awk -v g="$g" -v e="$evd" 'BEGIN { printf "%.2f", (g - e) / g }')
            echo "| $kind | $rec (mean $mean B) | $g | $(mib "$rs") MiB | $(mib "$rb") MiB | $per | $(awk -v p="${per%% *}" -v g="$goal_bytes" 'BEGIN { printf "%.2f", p / g }') | $evd | $held × |"
        done
    done
} >"$out/corr_groups.md"
{
    for kind in count sequence; do
        for rec in full lean; do
            read -r g mean rs rb per evb evd rssd <<<"${r[$kind.$rec]}"
            echo "groups_${kind}_${rec}_groups=$g"
            echo "groups_${kind}_${rec}_bytes=$per"
            echo "groups_${kind}_${rec}_evicted_capped=$evb"
            echo "groups_${kind}_${rec}_evicted_default=$evd"
            echo "groups_${kind}_${rec}_rss_default=$rssd"
        done
    done
    echo "groups_goal_bytes=$goal_bytes"
} >"$out/corr_groups.env"
cat "$out/corr_groups.md"
