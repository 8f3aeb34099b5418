# Sourced by the benchmark scripts (scripts/bench.sh, scripts/bench-upload.sh, scripts/bench-stage.sh); needs `die`.
#
# measure CMD...: runs CMD, sets $wall (s) and $peak (kB): the high-water mark of the process's
# resident memory (VmHWM of /proc/PID/status, sampled every 20 ms until it exits), its children
# not included.
measure() {
  local t0 t1 pid hwm=0 k v _
  t0=$(date +%s%N)
  "$@" &
  pid=$!
  while [ -e "/proc/$pid/status" ]; do
    while read -r k v _; do
      if [ "$k" = "VmHWM:" ]; then [ "$v" -gt "$hwm" ] && hwm=$v; break; fi
    done <"/proc/$pid/status" 2>/dev/null || true
    sleep 0.02
  done
  wait "$pid" || die "failed: $*"
  t1=$(date +%s%N)
  wall=$(awk "BEGIN{printf \"%.3f\", ($t1-$t0)/1e9}")
  peak=$hwm
}
