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

# One timed run of NAME COMMAND...: appends "NAME seconds max_rss_kib" to $results and keeps the
# command's output in $DIR/NAME.out.
measure() {
  local name=$1 out
  shift
  out=$( { /usr/bin/time -f '%e %M' "$@" > "$DIR/$name.out"; } 2>&1 | tail -n 1 )
  echo "$name $out" >> "$results"
}

cat "$STREAM" "$STREAM.gz" > /dev/null   # the page cache holds both files for every contender alike
results=$(mktemp)
for run in $(seq "$RUNS"); do
  measure wc wc -l "$STREAM"
  measure python python3 "$ROOT/benches/k6_stream_ref.py" "$STREAM"
  measure perfgate "$PERFGATE" metrics --format k6 "$STREAM"
  measure zcat zcat "$STREAM.gz"
  measure perfgate-gz "$PERFGATE" metrics --format k6 "$STREAM.gz"
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr); $RUNS runs each, median time"
python3 - "$size" "$(stat -c %s "$STREAM.gz")" "$results" <<'PY'
import statistics
import sys
size, gz_size, path = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
runs = {}
for line in open(path):
    name, s, kib = line.split()
    runs.setdefault(name, []).append((float(s), float(kib)))
t = {n: statistics.median(s for s, _ in r) for n, r in runs.items()}
rss = {n: max(k for _, k in r) / 1024 for n, r in runs.items()}
print(f"stream: {size / 1e6:.0f} MB ({gz_size / 1e6:.0f} MB gzipped)")
print(f"{'tool':<34}{'seconds':>9}{'MB/s':>9}{'peak RSS MiB':>14}")
for name, label in (("wc", "wc -l"), ("python", "python (json.loads per line)"),
                    ("perfgate", "perfgate metrics"), ("zcat", "zcat (.gz)"),
                    ("perfgate-gz", "perfgate metrics (.gz)")):
    print(f"{label:<34}{t[name]:>9.2f}{size / 1e6 / max(t[name], 1e-9):>9.0f}{rss[name]:>14.1f}")
print(f"perfgate throughput / wc -l: {t['wc'] / max(t['perfgate'], 1e-9):.3f}  (target >= 0.1)")
print(f"perfgate speed-up over python: {t['python'] / max(t['perfgate'], 1e-9):.1f}x  (target >= 11x)")
print(f"perfgate peak memory: {max(rss['perfgate'], rss['perfgate-gz']):.1f} MiB  (target <= 64 MiB)")
PY
rm -f "$results"
# The contenders must agree: perfgate's HDR histogram percentiles are within 0.1 % of the exact
# nearest-rank values (never below them), its error rate exact.
python3 - "$DIR/python.out" "$DIR/perfgate.out" <<'PY'
import sys
def values(path):
    out = {}
    for line in open(path):
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("http_req_duration.p95", "http_req_duration.p99", "http_req_failed.rate"):
            out[parts[0]] = float(parts[1])
    return out
exact, perfgate = values(sys.argv[1]), values(sys.argv[2])
ok = True
for name, want in exact.items():
    got = perfgate.get(name)
    tolerance = 0.001 * want if name.startswith("http_req_duration") else 0.0005
    agree = got is not None and want - 1e-9 <= got + 1e-9 and abs(got - want) <= tolerance + 1e-9
    ok &= agree
    print(f"{name:<24} python {want:>10.3f}   perfgate {got if got is not None else float('nan'):>10.3f}   {'agree' if agree else 'DISAGREE'}")
sys.exit(0 if ok else 1)
PY
