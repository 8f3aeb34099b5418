#!/usr/bin/env bash
# Benchmark of `cback amazons3` against `aws s3 cp --recursive` (issue #23), both uploading the
# same staged day to the same local S3 server: s3s-fs (the tests' server as a program, the
# example s3s-fs-server of cback-tests) and moto_server.
#
#   bash scripts/bench.sh upload                     # 2,000 small files + 3 large, 3 rounds
#   LARGE_MB=8 RUNS=1 bash scripts/bench.sh upload   # a quick one
#   SERVERS=s3s-fs FILES=500 SMALL_KB=6 LARGE_MB=95 bash scripts/bench-upload.sh
#   UPLOAD_JOBS=4 bash scripts/bench-upload.sh       # cback's <upload_jobs> (default: its default)
#
# The day: $FILES small files of $SMALL_KB KiB and 3 files of $LARGE_MB MiB (random bytes). Each
# round uploads into a fresh bucket, cback first (a first copy of the day, every object
# verified), then the AWS CLI; the median wall time of $RUNS rounds is printed, with cback's peak
# RSS (its own VmHWM, sampled every 20 ms as scripts/bench.sh does), and the goals of the issue:
# cback / CLI <= 0.6 on s3s-fs, <= 1.0 on moto, peak RSS <= 32 MiB, each met or MISSED.
# Not a test: run it by hand, as root (amazons3 runs only as root), on an otherwise idle machine.
#
# The aws program and moto_server are looked for in $CEDAR_MOTO_VENV/bin (the tests' virtual
# environment), then on PATH.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
files=${FILES:-2000}
small_kb=${SMALL_KB:-6}
large_mb=${LARGE_MB:-95}
runs=${RUNS:-3}
servers=${SERVERS:-s3s-fs moto}
upload_jobs=${UPLOAD_JOBS:-}
target=${CARGO_TARGET_DIR:-$repo/target}
rss_goal_kb=32768 # 32 MiB
venv=${CEDAR_MOTO_VENV:-/tmp/cback-ci-moto}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run it as root: the amazons3 action runs only as root"
find_tool() { # NAME: $venv/bin/NAME, else NAME on PATH, else nothing
  if [ -x "$venv/bin/$1" ]; then echo "$venv/bin/$1"; else command -v "$1" || true; fi
}
aws=$(find_tool aws)
moto_server=$(find_tool moto_server)
install="python3 -m venv $venv && $venv/bin/pip install 'moto[server]' awscli"
[ -n "$aws" ] || die "the aws program was found neither in $venv/bin nor on PATH; install it with: $install"
case " $servers " in
  *" moto "*) [ -n "$moto_server" ] || die "moto_server was found neither in $venv/bin nor on PATH; install it with: $install" ;;
esac

note "building cback and the s3s-fs server (release)"
(cd "$repo" && cargo build --quiet --release -p cedar-cli --bin cback &&
  cargo build --quiet --release --ignore-rust-version -p cback-tests --features s3s-fs --example s3s-fs-server)
cback="$target/release/cback"
s3s_fs="$target/release/examples/s3s-fs-server"

work=$(mktemp -d /var/tmp/cback-bench-upload.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- the staged day ------------------------------------------------------------------------------
today=$(date +%Y-%m-%d)
day="$work/stage/$(date +%Y/%m/%d)"
note "staging $files files of $small_kb KiB and 3 of $large_mb MiB in $day"
python3 - "$day/host1" "$files" "$small_kb" "$large_mb" <<'PY'
import os, sys
root, n, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) << 10, int(sys.argv[4]) << 20
for i in range(n):
    d = os.path.join(root, "small", "d%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "file-%05d" % i), "wb") as f:
        f.write(os.urandom(small))
for i in range(3):
    with open(os.path.join(root, "large-%d.tar.gz" % i), "wb") as f:
        left = large
        while left > 0:
            chunk = min(left, 1 << 20)
            f.write(os.urandom(chunk))
            left -= chunk
PY
: >"$day/cback.stage"
mkdir -p "$work/state" "$work/collect"
cat "$day"/host1/large-* >/dev/null # the page cache, for both

# --- measuring (as scripts/bench.sh) -------------------------------------------------------------
# shellcheck source=scripts/bench-measure.sh
source "$repo/scripts/bench-measure.sh"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
verdict() { awk "BEGIN{exit !($1 <= $2)}" && echo met || echo MISSED; }

# --- the servers ---------------------------------------------------------------------------------
start_server() { # NAME: sets $endpoint and $server_pid
  case "$1" in
    s3s-fs)
      "$s3s_fs" >"$work/s3s-fs.out" 2>"$work/s3s-fs.log" &
      server_pid=$!
      for _ in $(seq 100); do [ -s "$work/s3s-fs.out" ] && break; sleep 0.1; done
      [ -s "$work/s3s-fs.out" ] || die "s3s-fs-server did not start: $(cat "$work/s3s-fs.log")"
      endpoint="http://127.0.0.1:$(cut -d' ' -f1 "$work/s3s-fs.out")"
      ;;
    moto)
      local port
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      "$moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
      server_pid=$!
      endpoint="http://127.0.0.1:$port"
      for _ in $(seq 300); do curl -s -o /dev/null "$endpoint" && break; sleep 0.1; done
      ;;
  esac
}
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# The s3s-fs key; moto takes any.
export AWS_ACCESS_KEY_ID=cbackfs AWS_SECRET_ACCESS_KEY=cbackfs-secret-key AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
unset AWS_PROFILE AWS_ENDPOINT_URL_S3 AWS_SESSION_TOKEN

config() { # BUCKET FILE
  local jobs=""
  [ -n "$upload_jobs" ] && jobs="<upload_jobs>$upload_jobs</upload_jobs>"
  cat >"$2" <<XML
<?xml version="1.0"?>
<cb_config>
 <options><starting_day>monday</starting_day><working_dir>$work/state</working_dir>
  <backup_user>root</backup_user><backup_group>root</backup_group><rcp_command>/usr/bin/scp -B</rcp_command></options>
 <extensions><action><name>amazons3</name><module>CedarBackup3.extend.amazons3</module><function>executeAction</function><index>201</index></action></extensions>
 <stage><staging_dir>$work/stage</staging_dir><peer><name>host1</name><type>local</type><collect_dir>$work/collect</collect_dir></peer></stage>
 <amazons3><s3_bucket>$1/staging</s3_bucket>$jobs</amazons3>
</cb_config>
XML
}

report=()
for server in $servers; do
  start_server "$server"
  note "$server at $endpoint: $runs round(s)"
  t_cback=() t_aws=() rss=0
  for round in $(seq "$runs"); do
    for tool in cback aws; do
      bucket="bench-$tool-$round"
      "$aws" --endpoint-url "$endpoint" s3api create-bucket --bucket "$bucket" >/dev/null
    done
    rm -f "$day/cback.amazons3"
    config "bench-cback-$round" "$work/cback.conf"
    measure env AWS_ENDPOINT_URL="$endpoint" CEDAR_TODAY="$today" "$cback" --config "$work/cback.conf" \
      --logfile "$work/cback.log" --full amazons3
    t_cback+=("$wall")
    [ "$peak" -gt "$rss" ] && rss=$peak
    measure "$aws" --endpoint-url "$endpoint" s3 cp --recursive --quiet --exclude 'cback.*' \
      "$day/" "s3://bench-aws-$round/staging/$(date +%Y/%m/%d)/"
    t_aws+=("$wall")
    note "  round $round: cback ${t_cback[-1]} s (peak RSS $rss kB), aws ${t_aws[-1]} s"
  done
  stop_server
  m_cback=$(median "${t_cback[@]}")
  m_aws=$(median "${t_aws[@]}")
  ratio=$(awk "BEGIN{printf \"%.2f\", $m_cback/$m_aws}")
  goal=1.0
  [ "$server" = s3s-fs ] && goal=0.6
  report+=("$(printf '%-7s cback %7.2f s  aws s3 cp %7.2f s  ratio %s (goal <= %s: %s)  peak RSS %6d kB (goal <= %d: %s)' \
    "$server" "$m_cback" "$m_aws" "$ratio" "$goal" "$(verdict "$ratio" "$goal")" "$rss" "$rss_goal_kb" \
    "$(verdict "$rss" "$rss_goal_kb")")")
done

echo
echo "upload of $files files of $small_kb KiB + 3 of $large_mb MiB, median of $runs round(s), <upload_jobs> ${upload_jobs:-default}:"
printf '%s\n' "${report[@]}"
