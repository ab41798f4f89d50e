# Sourced by the stream benchmarks. Needs $DIR (where outputs go) and $results (a file).

# One timed run of NAME COMMAND... under GNU time: appends "NAME seconds max_rss_kib" to
# $results and keeps the command's output in $DIR/NAME.out.
measure() {
  local name=$1 out
  shift
  out=$( { /usr/bin/time -f '%e %M' "$@" > "$DIR/$name.out"; } 2>&1 | tail -n 1 )
  echo "$name $out" >> "$results"
}

# One line naming the machine, for the numbers that follow.
machine() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
  echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr); $RUNS runs each, median time"
}
