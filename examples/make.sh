#!/usr/bin/env bash
# Regenerates every example report the quick start reads, with the real tools, on 127.0.0.1 only.
# Each tool's folder has its own make.sh whose header lists what to install once (outside the repo):
#   artillery/   Artillery 2.0.21 against app/server.js       -> api-load-report.json, websocket-report.json
#   lighthouse/  Lighthouse 12.8.2 + Debian chromium, 3 runs   -> lhr-1.json .. lhr-3.json
#   bundle/      webpack 5 (with esbuild, vite, size-limit)    -> webpack-stats.json + dist/
#   prometheus/  a real Prometheus 2.42 scraping prometheus/app.js -> db-p95.json, metrics.prom
# About three minutes in all. Then: cargo run -- check --budget budgets/prod.toml
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
for tool in artillery lighthouse bundle prometheus; do
  echo "== $tool" >&2
  "$HERE/$tool/make.sh"
done
