#!/usr/bin/env bash
# Runs every experiment of experiment_result/README.md into OUT (default output/experiments):
#   the baseline sweep (workers 1..16) and every fault at 9 workers, in Docker (our server),
#   then every fault without Docker for our server and for C dqlite (dqlite-demo).
# Usage: scripts/experiment-matrix.sh [OUT] [DURATION_S]   (default 20 s per run)
# Builds once, then runs with --no-build. A failed run is recorded (its experiment.json says
# why, e.g. a node OOM-killed under a memory limit) and the matrix goes on; it exits non-zero
# when any run other than a memory-limit one failed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-output/experiments}
DUR=${2:-20}
failed=()
unexpected=0
run() {
    if ! python3 scripts/experiment.py --out "$OUT" --duration "$DUR" --no-build "$@"; then
        failed+=("$*")
        case "$1" in memory-*) ;; *) unexpected=1 ;; esac
    fi
}

docker/build-static.sh
docker build -q -t dqlite-rs:latest -f docker/Dockerfile docker
cargo build --release -q -p dqlite-benchmark --bins

faults="slow-cpu-leader slow-cpu-follower crash-leader crash-follower pause-leader pause-follower"
for w in $(seq 1 16); do run baseline --backend docker --workers "$w"; done
for backend in "docker ours" "local ours" "local c"; do
    set -- $backend
    [ "$1" = docker ] || run baseline --backend "$1" --stack "$2"
    for f in $faults; do run "$f" --backend "$1" --stack "$2"; done
    # Writes all the time (the read-heavy workload writes only in its first second or so),
    # to see how long writes stop when the leader dies.
    run crash-leader --backend "$1" --stack "$2" --workload kvreadwrite
    for m in 30 50 100; do
        run memory-leader --backend "$1" --stack "$2" --memory "$m"
        run memory-follower --backend "$1" --stack "$2" --memory "$m"
    done
done

if [ "${#failed[@]}" -gt 0 ]; then
    printf 'experiment-matrix.sh: failed run: %s\n' "${failed[@]}"
fi
exit "$unexpected"
