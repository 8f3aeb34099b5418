#!/usr/bin/env bash
# cback demo: start a throwaway PostgreSQL cluster with sample data in a temporary directory,
# write a configuration for it, run `cback --full collect postgresql`, show what was written (the
# dumps, the manifest, the status file and textfile), then restore one dump with cback-restore
# into a new database of the same cluster and show a row of it. Exits non-zero when a step fails.
# Everything is removed at the end, whatever happens.
#
# Needs Rust (cargo). PostgreSQL's server programs, bzip2 and util-linux are installed when they
# are missing and this runs as root on Debian or Ubuntu (scripts/setup.sh); otherwise it says what
# to install. Run from anywhere: bash scripts/demo.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# --- set-up ------------------------------------------------------------------------------------
# PostgreSQL's server programs, bzip2 and (as root) runuser: installed by scripts/setup.sh when
# missing and this runs as root on Debian/Ubuntu; otherwise it prints the command to run.
# shellcheck source=scripts/setup.sh
. "$repo/scripts/setup.sh"
setup_require "${SETUP_FOR_DEMO[@]}" || die "install what is missing (above), then run this again"
bindir=$(setup_pg_bindir)

# As root, the server runs as the postgres user.
as_server=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root needs a postgres user for the server"
  as_server=(runuser -u postgres --)
fi

# --- a temporary directory, removed on exit ----------------------------------------------------
demo=$(mktemp -d "${TMPDIR:-/tmp}/cback-demo.XXXXXX")
chmod 755 "$demo"
mkdir -p "$demo/pg" "$demo/socket" "$demo/work" "$demo/collect" "$demo/etc"
[ "$(id -u)" -eq 0 ] && chown postgres: "$demo/pg" "$demo/socket"

cleanup() {
  if [ -f "$demo/pg/data/postmaster.pid" ]; then
    "${as_server[@]}" "$bindir/pg_ctl" -D "$demo/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$demo"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Clients talk to the throwaway server only, over its Unix socket.
for var in $(compgen -e | grep '^PG' || true); do unset "$var"; done
export PGHOST="$demo/socket" PGPORT=5432 PGUSER=postgres LANG=C
export PATH="$bindir:$PATH"

# --- the cluster ------------------------------------------------------------------------------
say "Starting a throwaway PostgreSQL cluster ($("$bindir/postgres" --version)) in $demo"
"${as_server[@]}" "$bindir/initdb" -D "$demo/pg/data" -U postgres -E UTF8 --locale=C \
  --auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null
cat >>"$demo/pg/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$demo/socket'
port = 5432
fsync = off
EOF
"${as_server[@]}" "$bindir/pg_ctl" -D "$demo/pg/data" -l "$demo/pg/server.log" -w start >/dev/null

say "Loading sample data"
psql_run() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_run -d postgres -c 'CREATE DATABASE shop' -c "CREATE DATABASE \"café 'quote' db\""
psql_run -d shop <<'SQL'
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE);
INSERT INTO customers (name, email)
  SELECT 'customer ' || i, 'c' || i || '@example.com' FROM generate_series(1, 2000) i;
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers, quantity int,
                     note text);
INSERT INTO orders (customer_id, quantity, note)
  SELECT 1 + i % 2000, 1 + i % 7, E'note\twith tab ' || i FROM generate_series(1, 4000) i;
SQL
PGDATABASE="café 'quote' db" psql_run <<'SQL'
CREATE TABLE "ünïcode" (id int PRIMARY KEY, txt text);
INSERT INTO "ünïcode" SELECT i, 'naïve ☃ ' || i FROM generate_series(1, 1000) i;
SQL
echo "databases: shop (6000 rows), café 'quote' db (1000 rows)"
echo "an ordinary file to collect" >"$demo/etc/motd"

# --- the configuration ------------------------------------------------------------------------
say "Writing $demo/cback.conf"
cat >"$demo/cback.conf" <<EOF
<?xml version="1.0"?>
<cb_config>
  <reference><author>cback demo</author></reference>
  <extensions>
    <action>
      <name>postgresql</name>
      <module>CedarBackup3.extend.postgresql</module>
      <function>executeAction</function>
      <index>99</index>
    </action>
  </extensions>
  <options>
    <starting_day>monday</starting_day>
    <working_dir>$demo/work</working_dir>
    <backup_user>$(id -un)</backup_user>
    <backup_group>$(id -gn)</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command>
  </options>
  <collect>
    <collect_dir>$demo/collect</collect_dir>
    <collect_mode>daily</collect_mode>
    <archive_mode>targz</archive_mode>
    <ignore_file>.cbignore</ignore_file>
    <dir><abs_path>$demo/etc</abs_path></dir>
  </collect>
  <postgresql>
    <user>postgres</user>
    <compress_mode>bzip2</compress_mode>
    <all>N</all>
    <database>shop</database>
    <database>café 'quote' db</database>
  </postgresql>
</cb_config>
EOF
sed -n '/<postgresql>/,/<\/postgresql>/p' "$demo/cback.conf"

# --- build cback and cback-restore, once ------------------------------------------------------
# The binaries' paths come from cargo itself (its JSON messages), so CARGO_TARGET_DIR and a
# build directory set in a cargo config are honoured.
say "Building cback and cback-restore"
build=$(cd "$repo" && cargo build -q -p cedar-cli --bin cback --bin cback-restore \
  --message-format=json-render-diagnostics)
built() {
  local path
  path=$(grep -o '"executable":"[^"]*"' <<<"$build" | cut -d'"' -f4 | grep "/$1\$" || true)
  if [ -z "$path" ] || [ ! -x "$path" ]; then die "cargo did not report a $1 binary"; fi
  printf '%s\n' "$path"
}
cback=$(built cback)
cback_restore=$(built cback-restore)
echo "$cback"
echo "$cback_restore"

# --- run cback --------------------------------------------------------------------------------
say "Running: cback --config $demo/cback.conf --logfile $demo/cback.log --full collect postgresql"
status=0
"$cback" --config "$demo/cback.conf" --logfile "$demo/cback.log" --full collect postgresql ||
  status=$?
echo "exit status: $status"
if [ "$status" -ne 0 ]; then
  [ -f "$demo/cback.log" ] && cat "$demo/cback.log"
  die "cback failed (exit status $status); its log is above"
fi
say "The log ($demo/cback.log)"
cat "$demo/cback.log"

say "The dump files and the archive in $demo/collect"
ls -l "$demo/collect"
shop="$demo/collect/postgresqldump-shop.txt.bz2"
[ -f "$shop" ] || die "$shop was not written"
say "The first lines of $(basename "$shop"), decompressed"
bzip2 -dc "$shop" | grep -v '^$' | sed -n 1,12p

say "The manifest: what was written, its size and SHA-256 ($demo/collect/postgresqldump.manifest)"
cat "$demo/collect/postgresqldump.manifest"

say "The status file of the run ($demo/work/cback-status.json)"
cat "$demo/work/cback-status.json"
echo
say "The node_exporter textfile ($demo/work/cback.prom; <options><metrics_file> moves it)"
cat "$demo/work/cback.prom"

# --- restore ----------------------------------------------------------------------------------
say "Running: cback-restore --config $demo/cback.conf list"
"$cback_restore" --config "$demo/cback.conf" --logfile "$demo/cback.log" list

say "Running: cback-restore --config $demo/cback.conf restore shop --into shop_restored"
"$cback_restore" --config "$demo/cback.conf" --logfile "$demo/cback.log" --quiet \
  restore shop --into shop_restored

say "A row of the restored database shop_restored, and its row counts"
psql_run -d shop_restored -c 'SELECT * FROM orders WHERE id = 42'
counts='SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM orders) AS orders'
psql_run -d shop_restored -c "$counts"
[ "$(psql_run -d shop_restored -A -t -c "$counts")" = "2000|4000" ] ||
  die "shop_restored does not hold the 2000 customers and 4000 orders of shop"

say "Done: cback dumped, verified and listed the databases, and cback-restore restored one"
