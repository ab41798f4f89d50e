#!/usr/bin/env bash
# Records a real baseline history for the reference budget: RUNS times (8 by default) it regenerates
# every source of budgets/prod.toml with the real tools, into a temporary folder, by the same
# recipes as the example reports (artillery/, lighthouse/, bundle/, prometheus/ make.sh: Artillery
# 2.0.21 against app/server.js, Lighthouse 12.8.2 x3 with Debian chromium, the webpack build,
# Prometheus 2.42 scraping prometheus/app.js), then appends that run to baselines/prod.json with
#   perfgate baseline update --budget budgets/prod.toml --input <source>=<fresh report>... --commit <HEAD>
# The committed example reports are left as they are. Everything runs on 127.0.0.1 with telemetry
# off (the recipes see to it); every process started is stopped on exit.
# It installs nothing: the tools are the ones each recipe's header lists (under /tmp/realgen/, plus
# Debian's chromium and prometheus), and perfgate is a built binary (`cargo build` first).
# About 3 minutes per run on 2 cores (the Prometheus scrape alone waits 40 s), so ~25 min for 8.
# The bundle is deterministic: its sizes are the same in every run.
# Env: RUNS (8), PERFGATE (target/debug/perfgate), BASELINE (baselines/prod.json), COMMIT (the sha
# recorded; `git rev-parse HEAD`), KEEP (perfgate's --keep, 30); the recipes' own PORT, APP_PORT,
# PROM_PORT... pass through.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-8}
PERFGATE=${PERFGATE:-target/debug/perfgate}
BASELINE=${BASELINE:-baselines/prod.json}
COMMIT=${COMMIT:-$(git rev-parse HEAD)}
KEEP=${KEEP:-30}
[ -x "$PERFGATE" ] || { echo "$PERFGATE: no perfgate binary (cargo build, or set PERFGATE)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/perfgate-baseline.XXXXXX)
STEP_PID=
cleanup() {
  # A recipe runs in its own process group, so that an interrupt stops it and everything it
  # started (servers, Chromium, Prometheus) at once; its own trap then removes its files.
  if [ -n "$STEP_PID" ]; then kill -TERM -- "-$STEP_PID" 2>/dev/null || true; wait "$STEP_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { # name, then the command; its output goes to $RUN/<name>.log, shown if it fails
  local name=$1; shift
  setsid "$@" >"$RUN/$name.log" 2>&1 &
  STEP_PID=$!
  if ! wait "$STEP_PID"; then
    STEP_PID=
    echo "$name failed:" >&2; tail -n 30 "$RUN/$name.log" >&2; exit 1
  fi
  STEP_PID=
}

for i in $(seq 1 "$RUNS"); do
  started=$(date +%s)
  RUN=$WORK/run-$i
  mkdir -p "$RUN/artillery" "$RUN/lighthouse" "$RUN/bundle" "$RUN/prometheus"
  step artillery env OUT="$RUN/artillery" "$HERE/artillery/make.sh"
  step lighthouse env OUT="$RUN/lighthouse" "$HERE/lighthouse/make.sh"
  step bundle env OUT="$RUN/bundle" BUILD="$RUN/bundle-build" "$HERE/bundle/make.sh"
  step prometheus env OUT="$RUN/prometheus" "$HERE/prometheus/make.sh"
  "$PERFGATE" baseline update --budget budgets/prod.toml --baseline "$BASELINE" --keep "$KEEP" \
    --input api="$RUN/artillery/api-load-report.json" \
    --input ws="$RUN/artillery/websocket-report.json" \
    --input web="$RUN/lighthouse/lhr-*.json" \
    --input bundle="$RUN/bundle/webpack-stats.json" \
    --input db="$RUN/prometheus/db-p95.json" \
    --input app="$RUN/prometheus/metrics.prom" \
    --commit "$COMMIT"
  rm -rf "$RUN"
  echo "run $i/$RUNS recorded in $(($(date +%s) - started)) s" >&2
done
"$PERFGATE" baseline show --budget budgets/prod.toml --baseline "$BASELINE"
