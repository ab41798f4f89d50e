#!/usr/bin/env bash
# Throughput and memory of perfgate on a large k6 `--out json` stream, against two references run
# on the same file in the same invocation: `wc -l` (the floor: reading the bytes) and a
# straightforward streaming Python script computing the same p95/p99/error rate.
#
# Usage: benches/k6_stream.sh [REQUESTS]        (default 300000: ~2.1M points, ~650 MB)
# Each contender runs RUNS times (default 3), interleaved; the median time and the largest peak
# RSS are reported. A gzip copy of the stream is timed too (perfgate against zcat).
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

if [ ! -s "$STREAM.gz" ]; then
  gzip -1 -c "$STREAM" > "$STREAM.gz.tmp" && mv "$STREAM.gz.tmp" "$STREAM.gz"
fi
RUNS=${RUNS:-3}

. "$ROOT/benches/timing.sh"

cat "$STREAM" "$STREAM.gz" > /dev/null   # the page cache holds both files for every contender alike
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for run in $(seq "$RUNS"); do
  measure wc wc -l "$STREAM"
  measure python python3 "$ROOT/benches/k6_stream_ref.py" "$STREAM"
  measure perfgate "$PERFGATE" metrics --format k6 "$STREAM"
  measure zcat zcat "$STREAM.gz"
  measure perfgate-gz "$PERFGATE" metrics --format k6 "$STREAM.gz"
done

machine
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$ROOT/benches" python3 - "$size" "$(stat -c %s "$STREAM.gz")" "$results" "$DIR" <<'PY'
import sys
from timing import agree, report
size, gz_size, results, out = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
print(f"stream: {size / 1e6:.0f} MB ({gz_size / 1e6:.0f} MB gzipped)")
t, rss = report(results, [("wc", "wc -l", size), ("python", "python (json.loads per line)", size),
                          ("perfgate", "perfgate metrics", size), ("zcat", "zcat (.gz)", size),
                          ("perfgate-gz", "perfgate metrics (.gz)", size)])
print(f"perfgate throughput / wc -l: {t['wc'] / max(t['perfgate'], 1e-9):.3f}  (target >= 0.1)")
print(f"perfgate speed-up over python: {t['python'] / max(t['perfgate'], 1e-9):.1f}x  (target >= 11x)")
print(f"perfgate peak memory: {max(rss['perfgate'], rss['perfgate-gz']):.1f} MiB  (target <= 64 MiB)")
# The contenders must agree, or the times mean nothing.
ok = agree(f"{out}/python.out", f"{out}/perfgate.out",
           ["http_req_duration.p95", "http_req_duration.p99"], ["http_req_failed.rate"])
sys.exit(0 if ok else 1)
PY
