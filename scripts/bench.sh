#!/usr/bin/env bash
# The repository's benchmark command.
#
#   bash scripts/bench.sh [postgresql]   # the postgresql action (below); the default
#   bash scripts/bench.sh collect        # collect vs GNU tar and the original (scripts/bench-collect.sh)
#   bash scripts/bench.sh upload         # amazons3 vs aws s3 cp, on s3s-fs and moto (scripts/bench-upload.sh)
#   bash scripts/bench.sh stage          # stage vs scp -r and rsync -a over ssh (scripts/bench-stage.sh)
#   bash scripts/bench.sh all            # all four, one after the other
#
# Benchmark of the postgresql action (issue #5) against pg_dump and the standard compressors.
#
# Creates (or reuses) a pgbench database of scale $SCALE on a throwaway cluster kept in
# $BENCH_DIR, then times, side by side and best of $RUNS rounds:
#   pg_dump > /dev/null, pg_dump > file, pg_dump | gzip -6, pg_dump | bzip2, pg_dump | zstd -3,
#   and `cback postgresql` (release build) in each compress_mode, with its peak RSS,
# and prints the ratios of the issue's goal table, each marked met or MISSED.
# Not a test: run it by hand, on an otherwise idle machine (it warns when compilers ran).
#
#   bash scripts/bench.sh                      # scale 50, 3 rounds
#   SCALE=10 RUNS=1 bash scripts/bench.sh
#   SCALE=100 BASELINES=0 bash scripts/bench.sh  # cback only (peak RSS at another scale)
#   MODES="gzip zstd" JOBS=1 bash scripts/bench.sh
#   BENCH_CLEAN=1 bash scripts/bench.sh        # remove the cluster afterwards
#   VERIFY_ROWS=0 bash scripts/bench.sh        # only <verify>N<manifest>N (not the default)
#   ENCRYPT_ROWS=0 bash scripts/bench.sh       # without the <encrypt> age rows
#   BUILD=0 bash scripts/bench.sh              # the release cback already built, as it is
#
# Each mode runs twice: in the default configuration (<verify>Y and <manifest>Y: the file is
# read back and checked before its rename, see doc/postgresql.md, "Verification"), rows marked
# "verify Y", and with <verify>N<manifest>N (the dump alone). The goal table gives the ratios of both; the
# default configuration's are the ones that count. VERIFY_ROWS=0 leaves out the default rows.
# With the default rows, each mode also runs encrypted (<encrypt><mode>age, for $AGE_RECIPIENT,
# verify Y: the encrypted file's structure and hash are checked; see doc/postgresql.md,
# "Encrypted dumps"), and a last table gives the cost: encrypted / unencrypted wall time.
# A measurement during which a compiler ran is repeated (up to $RETRIES times).
#
# Peak RSS is cback's own high-water mark (VmHWM of /proc/PID/status, sampled every 20 ms until
# it exits), not that of pg_dump. Needs PostgreSQL server programs, pgbench, gzip, bzip2, zstd.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "${1:-postgresql}" in
  postgresql) ;;
  collect) exec bash "$repo/scripts/bench-collect.sh" ;;
  upload) exec bash "$repo/scripts/bench-upload.sh" ;;
  stage) exec bash "$repo/scripts/bench-stage.sh" ;;
  all)
    bash "$repo/scripts/bench.sh" postgresql
    bash "$repo/scripts/bench-collect.sh"
    bash "$repo/scripts/bench-upload.sh"
    exec bash "$repo/scripts/bench-stage.sh"
    ;;
  *)
    echo "usage: bash scripts/bench.sh [postgresql|collect|upload|stage|all]" >&2
    exit 2
    ;;
esac
scale=${SCALE:-50}
runs=${RUNS:-3}
modes=${MODES:-none gzip bzip2 zstd}
baselines=${BASELINES:-1}
jobs=${JOBS:-1}
verify_rows=${VERIFY_ROWS:-1}
encrypt_rows=${ENCRYPT_ROWS:-$verify_rows}
# Any age public key will do (the dumps are thrown away): the example key of age's README.
age_recipient=${AGE_RECIPIENT:-age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p}
retries=${RETRIES:-3}
bench_dir=${BENCH_DIR:-/var/tmp/cback-bench-pg}
target=${CARGO_TARGET_DIR:-$repo/target}
rss_goal_kb=32768 # 32 MiB

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------------
bindir=""
if command -v initdb >/dev/null 2>&1; then
  bindir=$(dirname "$(readlink -f "$(command -v initdb)")")
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_dump" ] || [ ! -x "$bindir/pgbench" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
fi
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pgbench" ] ||
  die "PostgreSQL server programs and pgbench not found (Debian: apt-get install postgresql postgresql-contrib)"
for tool in gzip bzip2 zstd cargo; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done
as_server=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs a postgres user for the server"
  as_server=(runuser -u postgres --)
fi

if [ "${BUILD:-1}" = 1 ]; then
  note "building cback (release)"
  (cd "$repo" && cargo build --quiet --release -p cedar-cli)
fi
cback="$target/release/cback"
[ -x "$cback" ] || die "no release binary at $cback"

# --- the cluster, created once and reused -------------------------------------------------------
for var in $(compgen -e | grep '^PG' || true); do unset "$var"; done
export PGHOST="$bench_dir/socket" PGPORT=5432 PGUSER=postgres LANG=C
export PATH="$bindir:$PATH"
db="bench_s$scale"
mkdir -p "$bench_dir/socket"
chmod 755 "$bench_dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$bench_dir" "$bench_dir/socket"
if [ ! -f "$bench_dir/data/PG_VERSION" ]; then
  note "creating the cluster in $bench_dir"
  "${as_server[@]}" "$bindir/initdb" -D "$bench_dir/data" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --no-sync >/dev/null
  cat >>"$bench_dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$bench_dir/socket'
port = 5432
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
EOF
fi
started_here=0
if ! "$bindir/pg_isready" -q; then
  "${as_server[@]}" "$bindir/pg_ctl" -D "$bench_dir/data" -l "$bench_dir/server.log" -w start >/dev/null
  started_here=1
fi
work=$(mktemp -d /var/tmp/cback-bench-run.XXXXXX)
cleanup() {
  rm -rf "$work"
  if [ "${BENCH_CLEAN:-0}" = 1 ]; then
    "${as_server[@]}" "$bindir/pg_ctl" -D "$bench_dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$bench_dir"
  elif [ "$started_here" = 1 ]; then
    "${as_server[@]}" "$bindir/pg_ctl" -D "$bench_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$bindir/psql" -X -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  note "creating $db: pgbench -i -s $scale (once; reused by later runs)"
  "$bindir/createdb" "$db"
  "$bindir/pgbench" -i -q -s "$scale" "$db" >/dev/null 2>&1 ||
    { "$bindir/dropdb" --if-exists "$db"; die "pgbench -i failed"; }
  "$bindir/psql" -X -q -d "$db" -c 'VACUUM ANALYZE'
fi
size=$("$bindir/psql" -X -d postgres -Atc "SELECT pg_size_pretty(pg_database_size('$db'))")

# --- the cback configurations --------------------------------------------------------------------
mkdir -p "$work/collect" "$work/state" "$work/out"
conf() { # mode file extra-elements
  cat >"$2" <<XML
<?xml version="1.0"?>
<cb_config>
  <options><starting_day>monday</starting_day><working_dir>$work/state</working_dir>
    <backup_user>$(id -un)</backup_user><backup_group>$(id -gn)</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command></options>
  <collect><collect_dir>$work/collect</collect_dir></collect>
  <postgresql><user>postgres</user><compress_mode>$1</compress_mode><jobs>$jobs</jobs>
    <database>$db</database>$3</postgresql>
</cb_config>
XML
}
for mode in $modes; do
  conf "$mode" "$work/$mode.conf" "<verify>N</verify><manifest>N</manifest>"
  conf "$mode" "$work/$mode-verify.conf" ""
  conf "$mode" "$work/$mode-age.conf" \
    "<encrypt><mode>age</mode><recipient>$age_recipient</recipient></encrypt>"
done

# --- measuring ------------------------------------------------------------------------------------
# shellcheck source=scripts/bench-measure.sh
source "$repo/scripts/bench-measure.sh"

declare -A best best_rss best_busy
record() { # label busy
  if [ -z "${best[$1]:-}" ] || awk "BEGIN{exit !($wall < ${best[$1]})}"; then
    best[$1]=$wall
    best_rss[$1]=$peak
    best_busy[$1]=$2
  fi
}
clear_out() { rm -f "$work/out/"* "$work/collect/"*; sync; }

# Pipelines run inside one shell, as an operator would type them.
sh_dump_null() { pg_dump "$db" >/dev/null; }
sh_dump_file() { pg_dump "$db" >"$work/out/dump.sql"; }
sh_gzip() { pg_dump "$db" | gzip -6 >"$work/out/dump.sql.gz"; }
sh_bzip2() { pg_dump "$db" | bzip2 >"$work/out/dump.sql.bz2"; }
sh_zstd() { pg_dump "$db" | zstd -q -3 >"$work/out/dump.sql.zst"; }
export -f sh_dump_null sh_dump_file sh_gzip sh_bzip2 sh_zstd
export db work

busy() { pgrep -x 'rustc|cc1|cc1plus|ld|cargo' >/dev/null 2>&1; }
contended=0
# timed LABEL CMD...: measure, repeated while a compiler ran at its start or end.
timed() {
  local label=$1 try
  shift
  local was_busy=0
  for try in $(seq "$retries"); do
    clear_out
    local before=0 after=0
    busy && before=1
    measure "$@"
    busy && after=1
    was_busy=0
    if [ "$before$after" = 00 ]; then break; fi
    was_busy=1
    if [ "$try" = "$retries" ]; then
      note "  $label: a compiler ran during all $retries tries; kept the last"
    else
      note "  $label: a compiler ran meanwhile; measuring again"
      sleep 5
    fi
  done
  record "$label" "$was_busy"
}

note "database $db ($size on disk), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); warming the cache"
pg_dump "$db" >/dev/null
declare -A sizes
for round in $(seq "$runs"); do
  note "round $round of $runs"
  if [ "$baselines" = 1 ]; then
    for b in dump_null dump_file gzip bzip2 zstd; do
      timed "$b" bash -c "sh_$b"
      case $b in
        dump_file) sizes[$b]=$(stat -c %s "$work/out/dump.sql") ;;
        gzip) sizes[$b]=$(stat -c %s "$work/out/dump.sql.gz") ;;
        bzip2) sizes[$b]=$(stat -c %s "$work/out/dump.sql.bz2") ;;
        zstd) sizes[$b]=$(stat -c %s "$work/out/dump.sql.zst") ;;
      esac
    done
  fi
  for mode in $modes; do
    timed "cback_$mode" "$cback" --quiet --config "$work/$mode.conf" --logfile "$work/cback.log" postgresql
    sizes["cback_$mode"]=$(stat -c %s "$work/collect/"postgresqldump-*)
    if [ "$verify_rows" = 1 ]; then
      timed "verify_$mode" "$cback" --quiet --config "$work/$mode-verify.conf" --logfile "$work/cback.log" postgresql
      sizes["verify_$mode"]=$(stat -c %s "$work/collect/"postgresqldump-*.txt*)
    fi
    if [ "$encrypt_rows" = 1 ]; then
      timed "age_$mode" "$cback" --quiet --config "$work/$mode-age.conf" --logfile "$work/cback.log" postgresql
      sizes["age_$mode"]=$(stat -c %s "$work/collect/"postgresqldump-*.age)
    fi
  done
done

# --- the table --------------------------------------------------------------------------------------
label() {
  case $1 in
    dump_null) echo 'pg_dump > /dev/null' ;;
    dump_file) echo 'pg_dump > file' ;;
    gzip) echo 'pg_dump \| gzip -6 > f' ;;
    bzip2) echo 'pg_dump \| bzip2 > f' ;;
    zstd) echo 'pg_dump \| zstd -3 > f' ;;
    cback_*) echo "cback postgresql, ${1#cback_}, verify N" ;;
    verify_*) echo "cback postgresql, ${1#verify_}, verify Y (default)" ;;
    age_*) echo "cback postgresql, ${1#age_}, verify Y, encrypt age" ;;
  esac
}
mb() { awk "BEGIN{printf \"%.1f\", $1/1e6}"; }

echo
echo "## scale $scale ($size database), $(nproc) cores, jobs $jobs, best of $runs"
echo
echo "| command | wall time | output | peak RSS |"
echo "|---|---:|---:|---:|"
for k in dump_null dump_file gzip bzip2 zstd cback_none cback_gzip cback_bzip2 cback_zstd \
  verify_none verify_gzip verify_bzip2 verify_zstd age_none age_gzip age_bzip2 age_zstd; do
  [ -n "${best[$k]:-}" ] || continue
  out="-"
  [ -n "${sizes[$k]:-}" ] && out="$(mb "${sizes[$k]}") MB"
  rss="-"
  case $k in cback_* | verify_* | age_*) rss="$(awk "BEGIN{printf \"%.1f\", ${best_rss[$k]}/1024}") MiB" ;; esac
  mark=""
  if [ "${best_busy[$k]}" = 1 ]; then mark=" (*)"; contended=1; fi
  printf '| `%s` | %.2f s%s | %s | %s |\n' "$(label "$k")" "${best[$k]}" "$mark" "$out" "$rss"
done

echo
echo "| goal | default config (verify Y) | | verify N, manifest N | |"
echo "|---|---:|---|---:|---|"
ratio() { # cback baseline max: prints "ratio | met/MISSED", or "- | -"
  local c=${best[$1]:-} b=${best[$2]:-}
  if [ -z "$c" ] || [ -z "$b" ]; then
    printf -- '- | -'
    return 0
  fi
  local v=MISSED
  awk "BEGIN{exit !($c/$b <= $3)}" && v=met
  printf '%s | %s' "$(awk "BEGIN{printf \"%.3f\", $c/$b}")" "$v"
}
goal() { # name mode baseline max
  [ -n "${best[verify_$2]:-}${best[cback_$2]:-}" ] && [ -n "${best[$3]:-}" ] || return 0
  printf '| %s ≤ %s | %s | %s |\n' "$1" "$4" "$(ratio "verify_$2" "$3" "$4")" "$(ratio "cback_$2" "$3" "$4")"
}
goal 'gzip: cback / `pg_dump \| gzip -6`' gzip gzip 0.80
goal 'bzip2: cback / `pg_dump \| bzip2`' bzip2 bzip2 0.65
goal 'zstd: cback / `pg_dump > /dev/null`' zstd dump_null 1.10
goal 'none: cback / `pg_dump > file`' none dump_file 1.05
rss_cell() { # prefix: the highest peak RSS of the rows with that prefix, and met/MISSED
  local max=0 mode r
  for mode in $modes; do
    r=${best_rss[$1$mode]:-0}
    [ "$r" -gt "$max" ] && max=$r
  done
  if [ "$max" = 0 ]; then
    printf -- '- | -'
    return 0
  fi
  local v=MISSED
  [ "$max" -le "$rss_goal_kb" ] && v=met
  printf '%.1f MiB | %s' "$(awk "BEGIN{print $max/1024}")" "$v"
}
printf '| peak RSS, any mode ≤ 32 MiB | %s | %s |\n' "$(rss_cell verify_)" "$(rss_cell cback_)"
if [ "$encrypt_rows" = 1 ]; then
  echo
  echo "| encryption cost (verify Y) | encrypted (age) | unencrypted | encrypted / unencrypted | peak RSS (age) |"
  echo "|---|---:|---:|---:|---:|"
  for mode in $modes; do
    [ -n "${best[age_$mode]:-}" ] && [ -n "${best[verify_$mode]:-}" ] || continue
    printf '| %s | %.2f s | %.2f s | %s | %s MiB |\n' "$mode" "${best[age_$mode]}" "${best[verify_$mode]}" \
      "$(awk "BEGIN{printf \"%.3f\", ${best[age_$mode]}/${best[verify_$mode]}}")" \
      "$(awk "BEGIN{printf \"%.1f\", ${best_rss[age_$mode]}/1024}")"
  done
fi
echo
if [ "$contended" = 1 ]; then
  echo "WARNING: (*) a compiler (rustc/cc/ld/cargo) ran during every try of that row; rerun on an idle machine."
else
  echo "Every row is from a try during which no compiler ran."
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
