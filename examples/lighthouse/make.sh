#!/usr/bin/env bash
# Regenerates examples/lighthouse/lhr-{1,2,3}.json: three Lighthouse runs (default mobile preset,
# simulated throttling) of the example meetings page, served from 127.0.0.1 by server.js.
# The reference budget reads them as `path = "examples/lighthouse/lhr-*.json"` (median of 3 runs).
#
# Needs (not in the repo):
#   apt-get install -y chromium            # Debian chromium (156.0.8078.108 made the committed files)
#   mkdir -p /tmp/realgen/lighthouse && cd /tmp/realgen/lighthouse && npm init -y \
#     && npm install --no-audit --no-fund lighthouse@12.8.2   # 13.x needs Node >= 22
#   python3 and node (20.x made the committed files)
# Usage: examples/lighthouse/make.sh     (env LH=<lighthouse bin>, PORT=<port>, RUNS=<n>,
#        OUT=<the folder the reports go to; this one>)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LH=${LH:-/tmp/realgen/lighthouse/node_modules/.bin/lighthouse}
PORT=${PORT:-8790}
RUNS=${RUNS:-3}
OUT=${OUT:-$HERE}
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cp -r "$HERE/site" "$work/site"
python3 "$HERE/make-assets.py" "$work/site" > /dev/null
node "$HERE/server.js" "$work/site" "$PORT" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 0.1
done

"$LH" --version
for i in $(seq 1 "$RUNS"); do
  profile="$work/profile-$i"   # a fresh Chrome profile per run: no cache, no state between runs
  # --host-resolver-rules: without it Chromium still resolves Google hosts despite the
  # --disable-* flags; everything but loopback fails to resolve, so no request leaves the machine.
  flags="--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run"
  flags="$flags --disable-background-networking --disable-component-update --disable-sync"
  flags="$flags --user-data-dir=$profile --host-resolver-rules='MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost'"
  # The screenshots are most of an LHR's size and nothing perfgate reads.
  "$LH" "http://127.0.0.1:$PORT/" --output=json --output-path="$OUT/lhr-$i.json" \
    --no-enable-error-reporting \
    --skip-audits=screenshot-thumbnails,final-screenshot,full-page-screenshot \
    --disable-full-page-screenshot \
    --chrome-flags="$flags" --quiet
  python3 - "$OUT/lhr-$i.json" <<'PY'
import json, sys
lhr = json.load(open(sys.argv[1]))
scores = {k: c["score"] for k, c in lhr["categories"].items()}
audits = lhr["audits"]
print(sys.argv[1].rsplit("/", 1)[-1], scores,
      {k: round(audits[k].get("numericValue", float("nan")), 1)
       for k in ("largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift")})
PY
done
