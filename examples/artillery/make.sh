#!/usr/bin/env bash
# Makes the example Artillery reports the quick start and the reference budget read:
#   api-load-report.json   (api-load.yml: http.response_time.p95/.p99, http.codes.*, errors.*)
#   websocket-report.json  (websocket.yml: websocket.message_latency.p95, a custom histogram)
# by starting examples/app/server.js on 127.0.0.1, running both scenarios, and stopping the app.
# It installs nothing; install once, outside the repo (Node 20):
#   mkdir -p /tmp/realgen/artillery && cd /tmp/realgen/artillery && npm init -y &&
#     PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund artillery@2.0.21
#   mkdir -p /tmp/realgen/app && cd /tmp/realgen/app && npm init -y && npm install --no-audit --no-fund ws
# (without PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD the install tries to download a browser and fails;
# 2.0.21 is the last Artillery that runs on Node 20.)
# Env: PORT (8787), ERROR_RATE (the app's, 0.005), LATENCY_FACTOR (the app's, 1.0; 1.3 makes a
# regressed run), ARTILLERY (the `artillery` binary), APP_MODULES (the node_modules holding `ws`),
# OUT (the folder the reports go to; this one).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PORT=${PORT:-8787}
ARTILLERY=${ARTILLERY:-/tmp/realgen/artillery/node_modules/.bin/artillery}
APP_MODULES=${APP_MODULES:-/tmp/realgen/app/node_modules}
OUT=${OUT:-$HERE}
WORK=$(mktemp -d)

# Telemetry off: with the env var alone Artillery 2.0.21 still sends a PostHog event; the preload
# makes its `require('posthog-node')` fail (see no-posthog.js).
export ARTILLERY_DISABLE_TELEMETRY=true
export NODE_OPTIONS="--require $HERE/no-posthog.js"

APP_PID=
stop_app() {
  if [ -n "$APP_PID" ]; then kill "$APP_PID" 2>/dev/null || true; wait "$APP_PID" 2>/dev/null || true; fi
  APP_PID=
}
trap 'stop_app; rm -rf "$WORK"' EXIT

PORT=$PORT ERROR_RATE=${ERROR_RATE:-0.005} LATENCY_FACTOR=${LATENCY_FACTOR:-1} NODE_PATH=$APP_MODULES \
  node "$ROOT/examples/app/server.js" >"$WORK/app.log" 2>&1 &
APP_PID=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "the example app did not start:" >&2; cat "$WORK/app.log" >&2; exit 1; }

# Artillery runs from $WORK so that no other config is picked up; its console summary is kept
# in $WORK/<name>.log and shown when a run fails.
run() { # report script target
  (cd "$WORK" && "$ARTILLERY" run --target "$3" --output "$OUT/$1" "$HERE/$2") >"$WORK/$1.log" 2>&1 \
    || { echo "artillery failed for $2:"; tail -n 30 "$WORK/$1.log"; exit 1; } >&2
  echo "wrote $OUT/$1"
}
run api-load-report.json api-load.yml "http://127.0.0.1:$PORT"
run websocket-report.json websocket.yml "ws://127.0.0.1:$PORT/ws"
