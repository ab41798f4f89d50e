#!/usr/bin/env bash
# Builds the example app with webpack, esbuild and vite and measures it with size-limit, in a build
# folder outside the repo, then copies the webpack build into the repo:
#   examples/bundle/webpack-stats.json   (webpack --json; outputPath points into the build folder)
#   examples/bundle/dist/                (the files those stats list, so gzip/brotli sizes work)
# The other tools' outputs stay in the build folder for tests/fixtures/*/make.sh to pick up.
#
# Tools (not in the repo), installed once on Node 20 / npm 11:
#   mkdir -p /tmp/realgen/bundle && cd /tmp/realgen/bundle && npm init -y &&
#   npm install --no-audit --no-fund -D webpack webpack-cli esbuild vite size-limit@12.1.0 \
#     @size-limit/file@12.1.0 css-loader mini-css-extract-plugin lodash dayjs marked
# (resolved 2026-11-26: webpack 5.113.0, webpack-cli 7.3.1, esbuild 0.28.2, vite 8.3.8,
#  size-limit 12.1.0, css-loader 7.1.5, mini-css-extract-plugin 2.10.2, lodash 4.18.1,
#  dayjs 1.11.23, marked 18.2.1 - the versions package.json pins).
# The build folder has a fixed path so that a rebuild writes identical files.
# Env: TOOLS (the install above), BUILD (the build folder), OUT (where webpack-stats.json and dist/
# are copied to; this folder).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOOLS=${TOOLS:-/tmp/realgen/bundle}
BUILD=${BUILD:-/tmp/perfgate-example-bundle}
BIN=$TOOLS/node_modules/.bin
OUT=${OUT:-$HERE}
export NO_UPDATE_NOTIFIER=1 DISABLE_OPENCOLLECTIVE=1

rm -rf "$BUILD" && mkdir -p "$BUILD/app"
cp -r "$HERE/src" "$HERE/index.html" "$HERE/package.json" "$HERE/webpack.config.cjs" \
      "$HERE/vite.config.js" "$HERE/.size-limit.json" "$BUILD/app/"
ln -s "$TOOLS/node_modules" "$BUILD/app/node_modules"
cd "$BUILD/app"

OUT_DIR=dist/webpack "$BIN/webpack" --config webpack.config.cjs --json "$BUILD/webpack-stats.json" \
  > "$BUILD/webpack.log" 2>&1
"$BIN/esbuild" src/index.js --bundle --minify --splitting --format=esm --outdir=dist/esbuild \
  --entry-names='[name]-[hash]' --chunk-names='chunks/[name]-[hash]' \
  --metafile="$BUILD/esbuild-meta.json" --log-level=warning
OUT_DIR=dist/vite "$BIN/vite" build > "$BUILD/vite.log" 2>&1
# size-limit exits 1 when a check fails; its JSON is what we keep, so do not stop here.
"$BIN/size-limit" --json > "$BUILD/size-limit.json" || echo "size-limit exit code $?" >&2

rm -rf "$OUT/dist"
mkdir -p "$OUT/dist"
cp "$BUILD/webpack-stats.json" "$OUT/webpack-stats.json"
cp -r dist/webpack/. "$OUT/dist/"
echo "$OUT: webpack-stats.json and dist/ written; other builds in $BUILD" >&2
