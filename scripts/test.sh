#!/usr/bin/env bash
# The project's test command (see README.md): installs what the tests need when it is
# missing, then runs every test in the workspace.
#
# - Debian's go-dqlite (dqlite-demo, the dqlite shell, libdqlite0): the C reference the
#   interop tests and the nemesis suite's C runs use.
# - iproute2 and iptables: the nemesis suite puts each node in a network namespace and cuts
#   the network with iptables inside it (tmpfs mounts need only util-linux, always there).
# - python3 (the benchmark tests cross-check results with scripts/summarise-results.py, and
#   the crash smoke test below is scripts/experiment.py) and procps (`kill`, which tests use
#   to stop the processes they started); minimal images have neither.
# Under CI=true a missing tool makes the tests that need it fail; elsewhere they print one
# line and skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# command:package pairs the tests need.
needed=(dqlite-demo:go-dqlite dqlite:go-dqlite ip:iproute2 iptables:iptables iptables-restore:iptables
        python3:python3 kill:procps)
missing=()
for pair in "${needed[@]}"; do
    # type -P: a program on PATH (a shell builtin such as kill does not count).
    type -P "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing $packages(apt-get install -y)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        echo "test.sh: installing $packages(sudo apt-get install -y)"
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages
    else
        echo "test.sh: $packages cannot be installed here (needs root and apt-get);" \
             "the tests that need them will skip. Install them with: apt-get install -y $packages"
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
