#!/usr/bin/env bash
# Throughput and memory of perfgate on a large k6 `--out json` stream, against two references run
# on the same file in the same invocation: `wc -l` (the floor: reading the bytes) and a
# straightforward streaming Python script computing the same p95/p99/error rate.
#
# Usage: benches/k6_stream.sh [REQUESTS]        (default 300000: ~2.1M points, ~650 MB)
# Needs: a release build (`cargo build --release`), python3, /usr/bin/time (GNU time).
# The stream is generated with a fixed seed into $BENCH_DIR (default /tmp/perfgate-bench) and
# reused when present. Not part of CI: it takes minutes and a lot of disk.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REQUESTS=${1:-300000}
DIR=${BENCH_DIR:-/tmp/perfgate-bench}
STREAM="$DIR/k6-$REQUESTS.ndjson"
PERFGATE=${PERFGATE:-$ROOT/target/release/perfgate}
mkdir -p "$DIR"
[ -x "$PERFGATE" ] || { echo "build first: cargo build --release" >&2; exit 1; }

if [ ! -s "$STREAM" ]; then
  echo "generating $STREAM ($REQUESTS requests)" >&2
  python3 "$ROOT/benches/k6_stream_gen.py" "$REQUESTS" > "$STREAM.tmp" && mv "$STREAM.tmp" "$STREAM"
fi
size=$(stat -c %s "$STREAM")

# One timed run: prints "seconds max_rss_kib".
measure() {
  local out
  out=$( { /usr/bin/time -f '%e %M' "$@" > /dev/null; } 2>&1 | tail -n 1 )
  echo "$out"
}

cat "$STREAM" > /dev/null   # the page cache holds the file for every contender alike
read -r wc_s wc_kib < <(measure wc -l "$STREAM")
read -r py_s py_kib < <(measure python3 "$ROOT/benches/k6_stream_ref.py" "$STREAM")
read -r pg_s pg_kib < <(measure "$PERFGATE" metrics --format k6 "$STREAM")

python3 - "$size" "$wc_s" "$wc_kib" "$py_s" "$py_kib" "$pg_s" "$pg_kib" <<'PY'
import sys
size, wc_s, wc_kib, py_s, py_kib, pg_s, pg_kib = map(float, sys.argv[1:])
mb = size / 1e6
print(f"stream: {mb:.0f} MB")
print(f"{'tool':<12}{'seconds':>10}{'MB/s':>10}{'peak RSS MiB':>15}")
for name, s, kib in (("wc -l", wc_s, wc_kib), ("python", py_s, py_kib), ("perfgate", pg_s, pg_kib)):
    print(f"{name:<12}{s:>10.2f}{mb / max(s, 1e-9):>10.0f}{kib / 1024:>15.1f}")
print(f"perfgate throughput / wc -l: {wc_s / max(pg_s, 1e-9):.3f}  (target >= 0.1)")
print(f"perfgate speed-up over python: {py_s / max(pg_s, 1e-9):.1f}x  (target >= 11x)")
print(f"perfgate peak memory: {pg_kib / 1024:.1f} MiB  (target <= 64 MiB)")
PY
"$PERFGATE" metrics --format k6 "$STREAM" | grep -E '^  http_req_duration\.p9[59] |^  http_req_failed\.rate ' >&2 || true
