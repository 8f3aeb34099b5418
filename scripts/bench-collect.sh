#!/usr/bin/env bash
# Benchmark of `cback collect` against GNU tar (and the original cback3 when installed).
#
# Collects /usr/include as targz and /usr/share as tar (daily), as issue #4 specifies, then an
# incremental run with nothing changed. Prints wall times, ratios and peak RSS (/usr/bin/time -v).
# Not a test: run it by hand on an otherwise idle machine.
#
#   bash scripts/bench-collect.sh            # uses target/release/cback (built here)
#   CB3_BIN=/path/to/cback3 bash scripts/bench-collect.sh
#   BENCH_INCLUDE=/usr/include BENCH_SHARE=/usr/share RUNS=3 bash scripts/bench-collect.sh
#   SCALE_FILES="20000 200000 1000000" bash scripts/bench-collect.sh   # the memory scaling trees
#
# Memory: after the timings, an incremental collect (first run, then no change) and a daily one run on
# synthetic trees of $SCALE_FILES small files, and the peak RSS of each is printed with its
# ratio to the previous size: memory is bounded when that ratio stays near 1 while the tree
# grows (creating the 1M-file tree takes about a minute). SCALE_FILES="" skips it.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
include=${BENCH_INCLUDE:-/usr/include}
share=${BENCH_SHARE:-/usr/share}
runs=${RUNS:-3}
target=${CARGO_TARGET_DIR:-$repo/target}
cb3=${CB3_BIN:-/tmp/cb3c/bin/cback3}
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

(cd "$repo" && cargo build --quiet --release -p cedar-cli)
cback="$target/release/cback"

work=$(mktemp -d /var/tmp/cback-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out" "$work/state" "$work/gnu"
# A starting day that is not today, so that incremental runs are not reset.
not_today=$(LC_ALL=C date -d tomorrow +%A | tr 'A-Z' 'a-z')

config() { # $1 collect mode, $2 file
  cat > "$2" <<XML
<?xml version="1.0"?>
<cb_config>
 <options><starting_day>$not_today</starting_day><working_dir>$work/state</working_dir>
  <backup_user>$(id -un)</backup_user><backup_group>$(id -gn)</backup_group><rcp_command>/usr/bin/scp -B</rcp_command></options>
 <collect><collect_dir>$work/out</collect_dir><collect_mode>$1</collect_mode><ignore_file>.cbignore</ignore_file>
  <dir><abs_path>$include</abs_path><archive_mode>targz</archive_mode></dir>
  <dir><abs_path>$share</abs_path><archive_mode>tar</archive_mode></dir>
 </collect>
</cb_config>
XML
}
config daily "$work/daily.xml"
config incr "$work/incr.xml"

# best_of LABEL CMD...: best wall time (s) of $runs runs and the peak RSS (kB) of that run.
best_of() {
  local label=$1; shift
  local best="" rss=""
  for _ in $(seq "$runs"); do
    rm -f "$work/out/"* "$work/gnu/"*
    /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null 2>&1 || { echo "bench: $label failed" >&2; cat "$work/time.txt" >&2; exit 1; }
    local t r
    t=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
    r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$r; fi
  done
  printf '%-34s %7.2f s   peak RSS %7d kB\n' "$label" "$best" "$rss" >&2
  echo "$best"
}

gnu_tar() {
  tar czf "$work/gnu/inc.tar.gz" "$include" 2>/dev/null
  tar cf "$work/gnu/share.tar" "$share" 2>/dev/null
}
export -f gnu_tar; export work include share

echo "trees: $include (targz) + $share (tar); best of $runs runs; warming the page cache" >&2
tar cf - "$include" "$share" 2>/dev/null | cat >/dev/null

t_gnu=$(best_of "GNU tar (czf + cf)" bash -c gnu_tar)
t_full=$(best_of "cback collect (daily)" "$cback" --config "$work/daily.xml" --logfile "$work/cback.log" collect)
"$cback" --config "$work/incr.xml" --logfile "$work/cback.log" --full collect
t_incr=$(best_of "cback collect (incr, no change)" "$cback" --config "$work/incr.xml" --logfile "$work/cback.log" collect)

printf '\nfull collect / GNU tar:            %.2f  (goal <= 1.10)\n' "$(awk "BEGIN{print $t_full/$t_gnu}")"
if [ -x "$cb3" ]; then
  t_cb3_full=$(best_of "cback3 collect (daily)" "$cb3" --config "$work/daily.xml" --logfile "$work/cb3.log" collect)
  rm -rf "$work/state/"*
  "$cb3" --config "$work/incr.xml" --logfile "$work/cb3.log" --full collect
  t_cb3_incr=$(best_of "cback3 collect (incr, no change)" "$cb3" --config "$work/incr.xml" --logfile "$work/cb3.log" collect)
  printf 'full collect / original:          %.2f\n' "$(awk "BEGIN{print $t_full/$t_cb3_full}")"
  printf 'incremental no change / original: %.2f  (goal <= 0.50)\n' "$(awk "BEGIN{print $t_incr/$t_cb3_incr}")"
else
  echo "original cback3 not found at $cb3 (set CB3_BIN); ratios against it skipped"
fi
printf 'incremental no change / GNU tar:  %.2f\n' "$(awk "BEGIN{print $t_incr/$t_gnu}")"

scale_files=${SCALE_FILES-20000 200000 1000000}
if [ -n "$scale_files" ]; then
  echo >&2
  echo "memory: incremental collect of synthetic trees of $scale_files files (100 per directory)" >&2
  prev_rss="" prev_n=""
  for n in $scale_files; do
    synth="$work/synth-$n"
    python3 - "$synth" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%05d" % (i // 100))
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "file-with-a-longer-name-%06d.txt" % i), "w") as f:
        f.write("content %d\n" % i)
PY
    rm -rf "$work/state/"*
    cat > "$work/synth.xml" <<XML
<?xml version="1.0"?>
<cb_config>
 <options><starting_day>$not_today</starting_day><working_dir>$work/state</working_dir>
  <backup_user>$(id -un)</backup_user><backup_group>$(id -gn)</backup_group><rcp_command>/usr/bin/scp -B</rcp_command></options>
 <collect><collect_dir>$work/out</collect_dir><collect_mode>incr</collect_mode><ignore_file>.cbignore</ignore_file>
  <dir><abs_path>$synth</abs_path><archive_mode>tar</archive_mode></dir>
 </collect>
</cb_config>
XML
    rm -f "$work/out/"*
    /usr/bin/time -v -o "$work/time.txt" "$cback" --config "$work/synth.xml" --logfile "$work/cback.log" collect >/dev/null 2>&1 \
      || { echo "bench: cback collect of $synth failed; see $work/cback.log" >&2; tail -3 "$work/cback.log" >&2; exit 1; }
    r_first=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    /usr/bin/time -v -o "$work/time.txt" "$cback" --config "$work/synth.xml" --logfile "$work/cback.log" collect >/dev/null 2>&1 \
      || { echo "bench: cback collect of $synth failed" >&2; tail -3 "$work/cback.log" >&2; exit 1; }
    r_again=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    t_again=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
    sed 's#<collect_mode>incr</collect_mode>#<collect_mode>daily</collect_mode>#' "$work/synth.xml" > "$work/synth-daily.xml"
    rm -f "$work/out/"*
    /usr/bin/time -v -o "$work/time.txt" "$cback" --config "$work/synth-daily.xml" --logfile "$work/cback.log" collect >/dev/null 2>&1 \
      || { echo "bench: cback collect (daily) of $synth failed" >&2; tail -3 "$work/cback.log" >&2; exit 1; }
    r_daily=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    peak=$(( r_first > r_again ? r_first : r_again ))
    peak=$(( peak > r_daily ? peak : r_daily ))
    printf '%8d files: peak RSS incr first run %7d kB, incr no change %7d kB (%.2f s), daily %7d kB\n' "$n" "$r_first" "$r_again" "$t_again" "$r_daily" >&2
    if [ -n "$prev_rss" ]; then
      printf '          peak RSS / that of %d files: %.2f  (%.0fx the files)\n' \
        "$prev_n" "$(awk "BEGIN{print $peak/$prev_rss}")" "$(awk "BEGIN{print $n/$prev_n}")" >&2
    fi
    prev_rss=$peak prev_n=$n
    rm -rf "$synth"
  done
  echo "memory is bounded when the ratio is near 1 (the sort chunks, 4 MiB each, are full above ~100k files)" >&2
fi
