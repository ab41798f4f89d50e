#!/usr/bin/env bash
# Throughput and memory of perfgate on a large JMeter JTL, against references run on the same
# files in the same invocation: `wc -l` (reading the bytes), a straightforward Python script with
# the csv module computing the same p95/p99/error rate, and `zcat` for the gzipped copy. The XML
# variant of the same samples is timed too.
#
# Usage: benches/jtl_stream.sh [SAMPLES]        (default 2000000: ~230 MB of CSV)
# Each contender runs RUNS times (default 3), interleaved; the median time and the largest peak
# RSS are reported. Needs a release build (`cargo build --release`), python3, GNU time.
# The files are generated with a fixed seed into $BENCH_DIR (default /tmp/perfgate-bench) and
# reused when present. Not part of CI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAMPLES=${1:-2000000}
DIR=${BENCH_DIR:-/tmp/perfgate-bench}
CSV="$DIR/jtl-$SAMPLES.csv"
XML="$DIR/jtl-$SAMPLES.xml"
PERFGATE=${PERFGATE:-$ROOT/target/release/perfgate}
RUNS=${RUNS:-3}
mkdir -p "$DIR"
[ -x "$PERFGATE" ] || { echo "build first: cargo build --release" >&2; exit 1; }

[ -s "$CSV" ] || { python3 "$ROOT/benches/jtl_stream_gen.py" "$SAMPLES" > "$CSV.tmp" && mv "$CSV.tmp" "$CSV"; }
[ -s "$XML" ] || { python3 "$ROOT/benches/jtl_stream_gen.py" "$SAMPLES" --xml > "$XML.tmp" && mv "$XML.tmp" "$XML"; }
[ -s "$CSV.gz" ] || { gzip -1 -c "$CSV" > "$CSV.gz.tmp" && mv "$CSV.gz.tmp" "$CSV.gz"; }

results=$(mktemp)
trap 'rm -f "$results"' EXIT
. "$ROOT/benches/timing.sh"

cat "$CSV" "$XML" "$CSV.gz" > /dev/null   # the page cache holds every file for every contender
for run in $(seq "$RUNS"); do
  measure jtl-wc wc -l "$CSV"
  measure jtl-python python3 "$ROOT/benches/jtl_stream_ref.py" "$CSV"
  measure jtl-perfgate "$PERFGATE" metrics --format jmeter "$CSV"
  measure jtl-zcat zcat "$CSV.gz"
  measure jtl-perfgate-gz "$PERFGATE" metrics --format jmeter "$CSV.gz"
  measure jtl-perfgate-xml "$PERFGATE" metrics --format jmeter "$XML"
done

machine
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$ROOT/benches" python3 - "$(stat -c %s "$CSV")" "$(stat -c %s "$CSV.gz")" \
    "$(stat -c %s "$XML")" "$results" "$DIR" <<'PY'
import sys
from timing import agree, report
csv_size, gz_size, xml_size = map(float, sys.argv[1:4])
results, out = sys.argv[4], sys.argv[5]
print(f"CSV: {csv_size / 1e6:.0f} MB ({gz_size / 1e6:.0f} MB gzipped); XML: {xml_size / 1e6:.0f} MB")
t, _ = report(results, [("jtl-wc", "wc -l", csv_size), ("jtl-python", "python (csv module)", csv_size),
                        ("jtl-perfgate", "perfgate metrics", csv_size),
                        ("jtl-zcat", "zcat (.gz)", csv_size),
                        ("jtl-perfgate-gz", "perfgate metrics (.gz)", csv_size),
                        ("jtl-perfgate-xml", "perfgate metrics (XML)", xml_size)])
print(f"perfgate throughput / wc -l: {t['jtl-wc'] / max(t['jtl-perfgate'], 1e-9):.3f}")
print(f"perfgate speed-up over python: {t['jtl-python'] / max(t['jtl-perfgate'], 1e-9):.1f}x")
# The contenders must agree, CSV and XML alike, or the times mean nothing.
ok = True
for label, name in (("CSV ", "jtl-perfgate"), ("XML ", "jtl-perfgate-xml")):
    ok &= agree(f"{out}/jtl-python.out", f"{out}/{name}.out", ["all.p95", "all.p99"],
                ["all.error_rate"], label)
sys.exit(0 if ok else 1)
PY
