#!/usr/bin/env bash
# Regenerates the Prometheus example from the real tools, on 127.0.0.1 only:
#   app.js (this folder) simulates database queries and cache lookups and serves /metrics;
#   a real Prometheus (Debian package 2.42.0: apt-get install -y prometheus) scrapes it every second.
# After ~40 s it saves
#   db-p95.json           /api/v1/query response of the database p95 query,
#   cache-hit-ratio.json  /api/v1/query response of the cache hit ratio query (percent),
#   metrics.prom          one scrape of the app's /metrics (exposition text 0.0.4),
# then stops both. The queries are the ones in the OpenMeet report (appendix B) with two changes:
# the `[5m]` rate window is shortened to `[30s]` so that the example runs in under a minute, and the
# buckets are summed `by (le)` so that the three `operation` series make one histogram.
#
# Usage: examples/prometheus/make.sh   (APP_PORT, PROM_PORT override the ports 4000 and 9090;
#        OUT, the folder the three files go to, is this one by default)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
APP_PORT=${APP_PORT:-4000}
PROM_PORT=${PROM_PORT:-9090}
OUT=${OUT:-$HERE}
PROM=http://127.0.0.1:$PROM_PORT
WORK=$(mktemp -d /tmp/perfgate-prom-example.XXXXXX)
command -v prometheus >/dev/null || { echo "prometheus not on PATH (apt-get install -y prometheus)" >&2; exit 1; }
for port in "$APP_PORT" "$PROM_PORT"; do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "127.0.0.1:$port is in use" >&2; exit 1; fi
done

cleanup() {
  for pid in ${PROM_PID:-} ${APP_PID:-}; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$APP_PORT node "$HERE/app.js" > "$WORK/app.log" 2>&1 & APP_PID=$!
cat > "$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: api
    static_configs: [{ targets: ['127.0.0.1:$APP_PORT'] }]
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" > "$WORK/prometheus.log" 2>&1 & PROM_PID=$!
until curl -sf "$PROM/-/ready" >/dev/null; do sleep 0.1; done
prometheus --version 2>&1 | head -1
echo "scraping the app for 40 s..."
sleep 40

query() { curl -sf -G "$PROM/api/v1/query" --data-urlencode "query=$2" > "$OUT/$1"; echo "$1: $(cat "$OUT/$1")"; }
query db-p95.json 'histogram_quantile(0.95, sum by (le) (rate(db_query_duration_ms_bucket[30s])))'
query cache-hit-ratio.json 'sum(rate(cache_hits_total[30s])) / (sum(rate(cache_hits_total[30s])) + sum(rate(cache_misses_total[30s]))) * 100'
curl -sf "http://127.0.0.1:$APP_PORT/metrics" > "$OUT/metrics.prom"
echo "metrics.prom: $(wc -l < "$OUT/metrics.prom") lines"
