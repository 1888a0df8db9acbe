#!/usr/bin/env bash
# Builds statically linked release binaries of dqlite-server, dqlite-benchmark and dqlite-burn
# into docker/dist/, ready for the FROM-scratch image in docker/Dockerfile.
#
# glibc's static libc.a (libc6-dev, which gcc pulls in) is enough: the binaries resolve no host
# names through NSS when given IP addresses, which is how the compose files address nodes.
# A separate target directory keeps these artifacts apart from ordinary builds.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR_STATIC:-target/static}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
dist=docker/dist

RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target "$triple" --target-dir "$target_dir" \
    -p dqlite-server -p dqlite-benchmark --bins

mkdir -p "$dist"
for bin in dqlite-server dqlite-benchmark dqlite-burn; do
    src="$target_dir/$triple/release/$bin"
    if readelf -d "$src" | grep -q NEEDED; then
        echo "build-static.sh: $bin is dynamically linked; a FROM-scratch image cannot run it" >&2
        exit 1
    fi
    # Debug info stays in target/; the image gets stripped binaries.
    strip -o "$dist/$bin.tmp" "$src" && mv "$dist/$bin.tmp" "$dist/$bin"
done
echo "build-static.sh: static binaries in $dist: $(cd "$dist" && echo dqlite-*)"
