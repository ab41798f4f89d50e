#!/usr/bin/env bash
# A fresh CI job, from nothing to perfgate's verdict on the shipped examples, two ways:
#   source:   `cargo install --locked --path .` cold (a new CARGO_TARGET_DIR; the crates already
#             downloaded in ~/.cargo, as a cache would hold them), then `perfgate check`;
#   released: install.sh against release assets served from 127.0.0.1 (download, SHA-256 check,
#             unpack, install), then `perfgate check`, RUNS times, each into a new install dir.
# The released assets are made from the source build's binary as the release workflow makes them:
# stripped (the `dist` profile strips symbols) and packed by .ci/package at xz's default level.
# Prints the machine, each time, the archive's size and the ratio.
#
#   benches/install.sh            # both (the source build takes minutes: one release build)
#   BINARY=path/to/release/perfgate benches/install.sh   # the released path only, from that binary
#   RUNS=10 benches/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
runs=${RUNS:-5}
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rustc: $(rustc --version)"

verdict() {
  # Exit 0 or 1 is a verdict; 2 would mean perfgate could not judge.
  local code=0
  "$1" check --budget budgets/prod.toml --comment never >/dev/null || code=$?
  [ "$code" -le 1 ] || { echo "perfgate check exit $code" >&2; exit 1; }
}

binary=${BINARY:-}
if [ -z "$binary" ]; then
  start=$(now)
  CARGO_TARGET_DIR="$work/target" cargo install --quiet --locked --path . --root "$work/source" 2>/dev/null
  verdict "$work/source/bin/perfgate"
  source_seconds=$(since "$start")
  printf 'source:   cargo install --locked (cold) + check: %.1f s\n' "$source_seconds"
  binary="$work/source/bin/perfgate"
fi

# The release assets for this machine's target, as install.sh names it.
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=x86_64-unknown-linux-musl ;;
  Linux-aarch64) target=aarch64-unknown-linux-musl ;;
  *) echo "benches/install.sh runs on Linux" >&2; exit 1 ;;
esac
version=$("$binary" --version | cut -d' ' -f2)
strip -o "$work/perfgate" "$binary"
bash .ci/package "$target" "$work/perfgate" "$work/releases/v$version" >/dev/null
archive="$work/releases/v$version/perfgate-$target.tar.xz"
printf 'archive:  perfgate-%s.tar.xz %.2f MB (binary %.2f MB)\n' "$target" \
  "$(echo "$(stat -c %s "$archive") / 1000000" | bc -l)" "$(echo "$(stat -c %s "$work/perfgate") / 1000000" | bc -l)"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/releases" "$port" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/v$version/perfgate-$target.tar.xz.sha256" 2>/dev/null && break
  sleep 0.1
done

times=()
for run in $(seq "$runs"); do
  start=$(now)
  HOME="$work/home-$run" PERFGATE_VERSION="$version" PERFGATE_RELEASE_URL="http://127.0.0.1:$port" \
    PERFGATE_INSTALL_DIR="$work/home-$run/bin" sh "$repo/install.sh" >/dev/null 2>&1
  verdict "$work/home-$run/bin/perfgate"
  times+=("$(since "$start")")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")
printf 'released: install.sh + check, %d runs: median %.2f s (min %.2f s, max %.2f s)\n' "$runs" \
  "$median" "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)"
if [ -n "${source_seconds:-}" ]; then
  printf 'ratio:    source / released = %.0fx\n' "$(echo "$source_seconds / $median" | bc -l)"
fi
