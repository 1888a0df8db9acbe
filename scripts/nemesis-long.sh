#!/usr/bin/env bash
# The long nemesis runs recorded in experiment_result/nemesis/: every workload under every
# fault, against our server and against C dqlite 1.11 (Debian's go-dqlite), on release
# builds. Needs root (network namespaces, iptables, tmpfs).
#
#   scripts/nemesis-long.sh [ours|c|both] [seconds per run]
#
# Each run's history, results, summary, timeline and node logs go to output/nemesis/long/;
# the curated copies (everything but the node data) to experiment_result/nemesis/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."

which_targets=${1:-both}
secs=${2:-180}
seed=${SEED:-20261201}
cargo build -q --release -p dqlite-server -p dqlite-nemesis --bins || exit 2

# workload  nemesis
matrix=(
    "bank      mixed"
    "append    mixed"
    "set       mixed"
    "register  kill,member"
    "register  pause,partition"
    "append    partition"
)

run_target() {
    local target=$1 n=0 failures=0
    for row in "${matrix[@]}"; do
        read -r workload nemesis <<<"$row"
        local name="${workload}-${nemesis//,/+}"
        local out="output/nemesis/long/$target/$name"
        rm -rf "$out"
        echo "== $target $workload $nemesis ${secs}s =="
        target/release/dqlite-nemesis --target "$target" --workload "$workload" \
            --nemesis "$nemesis" --time "$secs" --concurrency 5 --interval 5 --hold 8 \
            --seed $((seed + n)) --out "$out"
        local rc=$?
        echo "   exit status $rc"
        [ $rc -eq 0 ] || failures=$((failures + 1))
        local keep="experiment_result/nemesis/$target/$name"
        rm -rf "$keep" && mkdir -p "$keep"
        cp "$out"/summary.txt "$out"/results.json "$out"/timeline.svg "$keep"/ 2>/dev/null
        n=$((n + 1))
    done
    echo "$target: $failures of $n runs reported an anomaly or did not complete"
}

case $which_targets in
    ours) run_target ours ;;
    c) run_target c ;;
    both) run_target ours; run_target c ;;
    *) echo "usage: $0 [ours|c|both] [seconds per run]"; exit 2 ;;
esac
