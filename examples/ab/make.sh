#!/usr/bin/env bash
# A same-job A/B with the real hyperfine 1.15.0 (Debian: apt-get install -y hyperfine): the base's
# and the head's program measured in turn, PAIRS times, each turn one hyperfine run of 5 timings
# written to its own file (base-01.json, head-01.json, …), as a CI job that checked out the base
# beside the head would (README, "Same-job A/B"). app/head.sh does 10 % more work than
# app/base.sh. Each pair alternates which side goes first (base head, head base, …) so that a
# runner whose speed drifts over the job favours neither side.
# Env: OUT (default: hyperfine/ here), PAIRS (10), BASE and HEAD (the two programs; HEAD=app/base.sh
# makes an A/A run, where nothing changed).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/hyperfine}
PAIRS=${PAIRS:-10}
BASE=${BASE:-$HERE/app/base.sh}
HEAD=${HEAD:-$HERE/app/head.sh}
mkdir -p "$OUT"
run() { hyperfine --style none --warmup 1 --runs 5 -n app --export-json "$OUT/$1-$2.json" "$3" >/dev/null 2>&1; }
for i in $(seq -w 1 "$PAIRS"); do
  if [ $((10#$i % 2)) -eq 1 ]; then
    run base "$i" "$BASE"; run head "$i" "$HEAD"
  else
    run head "$i" "$HEAD"; run base "$i" "$BASE"
  fi
done
