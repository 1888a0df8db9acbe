#!/usr/bin/env bash
# Runs dqlite-benchmark (release build) once per worker count and keeps every run's
# results under OUT/<stack>/<workload>/w<NN>/<addr>/{results,summary.json}.
#
# Usage: scripts/bench-sweep.sh OUT STACK WORKLOAD "WORKER COUNTS" [DURATION]
#   STACK    ours  - the embedded 3-node dqlite-server cluster (the default mode)
#            c     - a 3-node C dqlite cluster (Debian's dqlite-demo, libdqlite 1.11)
#                    benchmarked by our client in client-only mode
#   WORKLOAD kvwrite | kvreadwrite | readheavy
# Example: scripts/bench-sweep.sh output/baseline ours readheavy "$(seq 1 16)" 10
#
# Every process started here is stopped by its PID; loopback addresses only.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:?usage: bench-sweep.sh OUT STACK WORKLOAD "WORKERS" [DURATION]}
STACK=${2:?stack: ours or c}
WORKLOAD=${3:?workload}
WORKERS=${4:?worker counts}
DURATION=${5:-10}
HOST=${HOST:-127.0.0.1}
PORT_BASE=${PORT_BASE:-19001}

cargo build --release -q -p dqlite-benchmark
BIN=target/release/dqlite-benchmark

PIDS=()
DATA=""
stop_c() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    PIDS=()
    [ -n "$DATA" ] && rm -rf "$DATA"
    DATA=""
}
trap stop_c EXIT

# A fresh 3-node C cluster for one run; waits (bounded) until all three are voters.
start_c() {
    DATA=$(mktemp -d /tmp/bench-sweep-c.XXXXXX)
    for i in 1 2 3; do
        local join=()
        [ "$i" -gt 1 ] && join=(--join "$HOST:$PORT_BASE")
        mkdir -p "$DATA/n$i"
        dqlite-demo --api "$HOST:$((PORT_BASE + 100 + i))" --db "$HOST:$((PORT_BASE + i - 1))" \
            "${join[@]}" -D "$DATA/n$i" >"$DATA/n$i.log" 2>&1 &
        PIDS+=($!)
        # Joins clash when they overlap; let each node appear before the next.
        for _ in $(seq 1 50); do
            timeout 3 dqlite -s "$HOST:$PORT_BASE" x .cluster 2>/dev/null | grep -q "$HOST:$((PORT_BASE + i - 1))" && break
            sleep 0.2
        done
    done
    for _ in $(seq 1 100); do
        [ "$(timeout 3 dqlite -s "$HOST:$PORT_BASE" x .cluster 2>/dev/null | grep -c voter)" = 3 ] && return 0
        sleep 0.2
    done
    echo "bench-sweep: C cluster not ready" >&2
    return 1
}

for w in $WORKERS; do
    dir="$OUT/$STACK/$WORKLOAD/w$(printf %02d "$w")"
    rm -rf "$dir"
    mkdir -p "$dir"
    args=(--workload "$WORKLOAD" --workers "$w" --duration "$DURATION" --dir "$dir")
    if [ "$STACK" = c ]; then
        start_c
        cluster="$HOST:$PORT_BASE,$HOST:$((PORT_BASE + 1)),$HOST:$((PORT_BASE + 2))"
        timeout $((DURATION + 120)) "$BIN" "${args[@]}" --cluster "$cluster" >"$dir/stdout.txt" 2>"$dir/stderr.txt"
        stop_c
    else
        timeout $((DURATION + 120)) "$BIN" "${args[@]}" >"$dir/stdout.txt" 2>"$dir/stderr.txt"
    fi
    echo "$STACK $WORKLOAD w=$w: $(grep -E '^(exec|query) ' "$dir/stdout.txt" | awk '{printf "%s %s ops/s %s ms; ", $1, $3, $5}')"
done
