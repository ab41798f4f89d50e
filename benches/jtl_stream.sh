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
# One timed run of NAME COMMAND...: appends "NAME seconds max_rss_kib" to $results and keeps the
# command's output in $DIR/jtl-NAME.out.
measure() {
  local name=$1 out
  shift
  out=$( { /usr/bin/time -f '%e %M' "$@" > "$DIR/jtl-$name.out"; } 2>&1 | tail -n 1 )
  echo "$name $out" >> "$results"
}

cat "$CSV" "$XML" "$CSV.gz" > /dev/null   # the page cache holds every file for every contender
for run in $(seq "$RUNS"); do
  measure wc wc -l "$CSV"
  measure python python3 "$ROOT/benches/jtl_stream_ref.py" "$CSV"
  measure perfgate "$PERFGATE" metrics --format jmeter "$CSV"
  measure zcat zcat "$CSV.gz"
  measure perfgate-gz "$PERFGATE" metrics --format jmeter "$CSV.gz"
  measure perfgate-xml "$PERFGATE" metrics --format jmeter "$XML"
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr); $RUNS runs each, median time"
python3 - "$(stat -c %s "$CSV")" "$(stat -c %s "$CSV.gz")" "$(stat -c %s "$XML")" "$results" <<'PY'
import statistics
import sys
csv_size, gz_size, xml_size, path = *map(float, sys.argv[1:4]), sys.argv[4]
runs = {}
for line in open(path):
    name, s, kib = line.split()
    runs.setdefault(name, []).append((float(s), float(kib)))
t = {n: statistics.median(s for s, _ in r) for n, r in runs.items()}
rss = {n: max(k for _, k in r) / 1024 for n, r in runs.items()}
print(f"CSV: {csv_size / 1e6:.0f} MB ({gz_size / 1e6:.0f} MB gzipped); XML: {xml_size / 1e6:.0f} MB")
print(f"{'tool':<34}{'seconds':>9}{'MB/s':>9}{'peak RSS MiB':>14}")
for name, label, size in (("wc", "wc -l", csv_size), ("python", "python (csv module)", csv_size),
                          ("perfgate", "perfgate metrics", csv_size),
                          ("zcat", "zcat (.gz)", csv_size),
                          ("perfgate-gz", "perfgate metrics (.gz)", csv_size),
                          ("perfgate-xml", "perfgate metrics (XML)", xml_size)):
    print(f"{label:<34}{t[name]:>9.2f}{size / 1e6 / max(t[name], 1e-9):>9.0f}{rss[name]:>14.1f}")
print(f"perfgate throughput / wc -l: {t['wc'] / max(t['perfgate'], 1e-9):.3f}")
print(f"perfgate speed-up over python: {t['python'] / max(t['perfgate'], 1e-9):.1f}x")
PY
rm -f "$results"

# The contenders must agree: perfgate's percentiles within the histogram's 0.1 % of the exact
# nearest-rank values (never below them), its error rate exact; CSV and XML alike.
python3 - "$DIR/jtl-python.out" "$DIR/jtl-perfgate.out" "$DIR/jtl-perfgate-xml.out" <<'PY'
import sys
names = ("all.p95", "all.p99", "all.error_rate")
def values(path):
    out = {}
    for line in open(path):
        parts = line.split()
        if len(parts) >= 2 and parts[0] in names:
            out[parts[0]] = float(parts[1])
    return out
exact = values(sys.argv[1])
ok = True
for label, path in (("CSV", sys.argv[2]), ("XML", sys.argv[3])):
    got_all = values(path)
    for name in names:
        want, got = exact[name], got_all.get(name)
        tolerance = 0.001 * want if name != "all.error_rate" else 0.0005
        agree = got is not None and got >= want - 1e-9 and abs(got - want) <= tolerance + 1e-9
        ok &= agree
        shown = f"{got:.3f}" if got is not None else "missing"
        print(f"{label} {name:<16} python {want:>10.3f}   perfgate {shown:>10}   {'agree' if agree else 'DISAGREE'}")
sys.exit(0 if ok else 1)
PY
