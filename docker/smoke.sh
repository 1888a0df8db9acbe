#!/usr/bin/env bash
# Docker smoke test (run by scripts/test.sh when a Docker engine answers): builds the static
# binaries and the image, starts the 3-node compose cluster, runs a 5 s benchmark with 3
# workers, checks the results files and summary.json, tears everything down.
# Exits non-zero on any failure; leaves nothing running (scripts/experiment.py always runs
# `docker-compose down`).
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d /tmp/dqlite-docker-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
python3 scripts/experiment.py baseline --backend docker --workers 3 --duration 5 --out "$out"
run="$out/docker-ours/baseline/w03"
n_files=$(find "$run/results" -type f -name '*-query-*' | wc -l)
if [ "$n_files" -ne 3 ]; then
    echo "smoke.sh: expected 3 query results files, found $n_files in $run/results" >&2
    exit 1
fi
python3 - "$run" <<'PY'
import json, sys
run = sys.argv[1]
s = json.load(open(f"{run}/summary.json"))
q = s["works"]["query"]
assert s["config"]["mode"] == "node", s["config"]
assert s["server"]["leader"] == "172.24.2.1:9001", s["server"]
assert len(s["server"]["nodes"]) == 3, s["server"]
assert q["ops"] > 0 and q["errors"]["total"] == 0, q
import glob
first = open(sorted(glob.glob(f"{run}/results/0-query-*"))[0]).readline().split()
assert first[0] == "n" and int(first[1]) > 0, first  # go-dqlite's format: "n <ops>"
print(f"smoke.sh: ok: {q['ops_per_sec']:.0f} reads/s over 3 nodes in Docker")
PY
