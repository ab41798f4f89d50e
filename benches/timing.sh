# Sourced by the stream benchmarks. Needs $DIR (where outputs go) and $results (a file).

# One timed run of NAME COMMAND... under GNU time: appends "NAME seconds max_rss_kib" to
# $results and keeps the command's output in $DIR/NAME.out (stderr in $DIR/NAME.err). The seconds
# are bash's wall clock to the millisecond (GNU time's %e stops at 10 ms), so they include
# starting /usr/bin/time itself, about a millisecond.
measure() {
  local name=$1 wall
  shift
  wall=$( { TIMEFORMAT=%3R; time /usr/bin/time -o "$DIR/$name.time" -f '%M' "$@" \
            > "$DIR/$name.out" 2> "$DIR/$name.err"; } 2>&1 ) || true
  echo "$name $wall $(tail -n 1 "$DIR/$name.time")" >> "$results"
}

# One line naming the machine, for the numbers that follow.
machine() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
  echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr); $RUNS runs each, median time"
}
