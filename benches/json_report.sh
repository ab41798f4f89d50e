#!/usr/bin/env bash
# Time and peak memory to read a report that is one JSON document: perfgate, which parses it
# from the file as it reads it (twice: to tell its format, then to read the fields it uses),
# against jq and Python's json module, which hold the whole document, in the same invocation.
# Inputs: a real Lighthouse 12.8.2 report (tests/fixtures/lighthouse/desktop-fast-12.8.2.json,
# 291 kB), and the same report with a 64 MiB full-page screenshot, as a very long page makes.
# Each contender reads the performance score; the script checks that they agree.
#
# Contenders, each run RUNS times (default 5), interleaved; the median wall time is reported:
#   python3 json.load            the whole document into Python objects
#   jq                           the whole document, one field printed
#   perfgate metrics             every metric of the report
#   $PERFGATE_BEFORE metrics     optional: an older perfgate build (one that read reports whole)
#
# Usage: benches/json_report.sh
# Needs: a release build (`cargo build --release`), python3, jq, GNU time. Files go to $BENCH_DIR
# (default /tmp/perfgate-bench/json). Not part of CI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${BENCH_DIR:-/tmp/perfgate-bench/json}
PERFGATE=${PERFGATE:-$ROOT/target/release/perfgate}
BEFORE=${PERFGATE_BEFORE:-}
RUNS=${RUNS:-5}
[ -x "$PERFGATE" ] || { echo "build first: cargo build --release" >&2; exit 1; }
mkdir -p "$DIR"
rm -f "$DIR"/*.out "$DIR"/*.err "$DIR"/*.time
# shellcheck source=benches/timing.sh
. "$ROOT/benches/timing.sh"

cp "$ROOT/tests/fixtures/lighthouse/desktop-fast-12.8.2.json" "$DIR/small.json"
python3 - "$DIR/small.json" "$DIR/large.json" <<'EOF'
import json, sys
lhr = json.load(open(sys.argv[1]))
data = "data:image/webp;base64," + "A" * (64 << 20)
lhr["fullPageScreenshot"] = {"screenshot": {"data": data, "width": 1350, "height": 90000}}
json.dump(lhr, open(sys.argv[2], "w"))
EOF

results="$DIR/results"
: > "$results"
machine
for _ in $(seq "$RUNS"); do
  for f in small large; do
    measure "python-$f" python3 -c \
      'import json, sys; print(json.load(open(sys.argv[1]))["categories"]["performance"]["score"])' \
      "$DIR/$f.json"
    measure "jq-$f" jq '.categories.performance.score' "$DIR/$f.json"
    measure "perfgate-$f" "$PERFGATE" metrics "$DIR/$f.json"
    if [ -n "$BEFORE" ]; then
      measure "before-$f" "$BEFORE" metrics "$DIR/$f.json"
    fi
  done
done

python3 - "$results" "$DIR" "$(stat -c %s "$DIR/small.json")" "$(stat -c %s "$DIR/large.json")" \
  "${BEFORE:+yes}" "$ROOT/benches" <<'EOF'
import sys
results, out, small, large, before, benches = sys.argv[1:7]
sys.path.insert(0, benches)
from timing import report

rows = []
for f, size in (("small", int(small)), ("large", int(large))):
    names = ["python", "jq", "perfgate"] + (["before"] if before else [])
    labels = {"python": "python3 json.load", "jq": "jq", "perfgate": "perfgate metrics",
              "before": "perfgate before"}
    rows += [(f"{n}-{f}", f"{labels[n]} ({f}, {size / 1e6:.1f} MB)", size) for n in names]
t, _ = report(results, rows)
for f in ("small", "large"):
    print(f"{f}: perfgate {t[f'perfgate-{f}'] / t[f'jq-{f}']:.2f}x jq's time, "
          f"{t[f'perfgate-{f}'] / t[f'python-{f}']:.2f}x Python's"
          + (f", {t[f'perfgate-{f}'] / t[f'before-{f}']:.2f}x the older build's" if before else ""))

# The same performance score from every contender.
ok = True
for f in ("small", "large"):
    want = float(open(f"{out}/jq-{f}.out").read())
    py = float(open(f"{out}/python-{f}.out").read())
    line = next(l for l in open(f"{out}/perfgate-{f}.out") if "score.performance" in l)
    got = float(line.split()[1])
    agree = abs(py - want) < 1e-12 and abs(got - want * 100) < 1e-9
    ok &= agree
    print(f"{f}: score {want} (jq), {py} (python), {got} (perfgate, in %): "
          + ("agree" if agree else "DISAGREE"))
sys.exit(0 if ok else 1)
EOF
