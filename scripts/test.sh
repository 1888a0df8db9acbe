#!/usr/bin/env bash
# The project's test command (see README.md): installs the C dqlite reference when it is
# missing, then runs every test in the workspace.
#
# Interop tests need Debian's go-dqlite (dqlite-demo, the dqlite shell, libdqlite0). Under
# CI=true a missing reference makes those tests fail; elsewhere they print one line and skip.
set -euo pipefail
cd "$(dirname "$0")/.."

have_reference() { command -v dqlite-demo >/dev/null 2>&1 && command -v dqlite >/dev/null 2>&1; }

if ! have_reference; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing the C dqlite reference (apt-get install -y go-dqlite)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq go-dqlite
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        echo "test.sh: installing the C dqlite reference (sudo apt-get install -y go-dqlite)"
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq go-dqlite
    else
        echo "test.sh: go-dqlite is not installed and cannot be installed here (needs root and apt-get);" \
             "interop tests will skip. Install it with: apt-get install -y go-dqlite"
    fi
fi

profile=default
if [ "${CI:-}" = "true" ]; then profile=ci; fi

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --all-features --profile "$profile" "$@"
    cargo test --workspace --all-features --doc
else
    cargo test --workspace --all-features "$@"
fi

# Fault injection without Docker, on the debug binaries built above: a 3-process cluster
# whose leader is killed 1 s into the run; reads must come back on the new leader.
cargo build -q -p dqlite-benchmark --bins
exp_out=$(mktemp -d /tmp/dqlite-exp-smoke.XXXXXX)
python3 scripts/experiment.py crash-leader --backend local --no-build --bin-dir target/debug \
    --workers 3 --duration 15 --expect-recovery --out "$exp_out"
rm -rf "$exp_out"

# The nemesis smoke suite (docs/nemesis.md): short Jepsen-style runs of every workload
# against our server under kill, pause, partition, membership and disk faults, each node in a
# network namespace of its own, and one run against C dqlite. An anomaly of our server fails.
cargo build -q -p dqlite-server -p dqlite-nemesis --bins
nemesis_out=$(mktemp -d /tmp/dqlite-nemesis-smoke.XXXXXX)
if target/debug/dqlite-nemesis --smoke --out "$nemesis_out"; then
    rm -rf "$nemesis_out"
else
    echo "test.sh: the nemesis smoke suite failed; its histories and node logs are in $nemesis_out"
    exit 1
fi

# The Docker smoke test (docker/smoke.sh: image, 3-node compose cluster, short benchmark)
# runs when a Docker engine answers and compose is installed; DQLITE_SKIP_DOCKER=1 skips it.
if [ "${DQLITE_SKIP_DOCKER:-}" = "1" ]; then
    echo "test.sh: Docker smoke test skipped (DQLITE_SKIP_DOCKER=1)"
elif docker info >/dev/null 2>&1 && { command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1; }; then
    docker/smoke.sh
else
    echo "test.sh: no Docker engine or compose here: Docker smoke test skipped"
fi
