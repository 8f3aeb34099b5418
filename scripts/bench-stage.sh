#!/usr/bin/env bash
# Benchmark of `cback stage` (issue #23) against the tools an administrator would use instead.
#
# Starts a throwaway sshd on loopback (as tests/src/sshd.rs does: its own host and client keys,
# keys only, `sshd -D -e -f CONFIG`), listening on eight loopback addresses (eight "hosts"),
# and makes a peer's collect directory of $SMALL small files of $SMALL_KB KiB and 3 large files
# of $LARGE_MB MiB (about 300 MB by default: the issue's tree). Then, median of $RUNS rounds,
# each into an empty staging directory after a `sync`:
#   one remote peer:  cback stage (release build)  vs  scp -r + one sync  vs  rsync -a + one sync
#                     cback stage with rsync as the peer's rcp command (doc/stage.md:
#                     `rsync -t -e "ssh OPTIONS"`), when rsync is installed
#   eight remote peers, each with $PEER_SMALL small files and one file of $PEER_LARGE_MB MiB:
#                     cback stage with <jobs>4</jobs>  vs  <jobs>1</jobs> (one after another)
# and prints the ratios against the issue's goals (stage <= 1.1x scp; eight peers with jobs 4
# <= 0.6x jobs 1; peak RSS <= 32 MiB), each marked met or MISSED. All copies use the same client
# options (scp -B -q, no -C: the files are incompressible), so the programs, not the options,
# are compared (rsync's ssh gets the same options as `rsync -a`'s). Peak RSS is cback's own (VmHWM, sampled as scripts/bench.sh samples it); its
# children (su, scp, ssh) are not included. Not a test: run it by hand on an otherwise idle
# machine (the load average is printed before and after).
#
#   bash scripts/bench.sh stage
#   SMALL=200 LARGE_MB=10 RUNS=1 bash scripts/bench-stage.sh    # a quick run
#   PEERS=0 bash scripts/bench-stage.sh                          # one peer only
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${RUNS:-3}
small=${SMALL:-2000}
small_kb=${SMALL_KB:-4}
large_mb=${LARGE_MB:-97}
peers=${PEERS:-8}
peer_small=${PEER_SMALL:-200}
peer_large_mb=${PEER_LARGE_MB:-8}
target=${CARGO_TARGET_DIR:-$repo/target}
rss_goal_kb=32768 # 32 MiB

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }
source "$repo/scripts/bench-measure.sh"

for tool in sshd ssh-keygen scp ssh python3 cargo; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install openssh-server openssh-client python3)"
done
have_rsync=1
command -v rsync >/dev/null 2>&1 || have_rsync=0

note "building cback (release)"
(cd "$repo" && cargo build --quiet --release -p cedar-cli)
cback="$target/release/cback"

work=$(mktemp -d /var/tmp/cback-bench-stage.XXXXXX)
chmod 755 "$work"
sshd_pid=""
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- the ssh server ----------------------------------------------------------------------------
hosts=()
for i in $(seq 1 8); do hosts+=("127.0.2.$i"); done
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
[ "$(id -u)" -eq 0 ] && { mkdir -p /run/sshd; chmod 755 /run/sshd; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  echo "Port $port"
  for h in "${hosts[@]}"; do echo "ListenAddress $h"; done
  cat <<CONF
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile none
MaxStartups 64
MaxSessions 64
Subsystem sftp internal-sftp
CONF
} >"$work/sshd_config"
"$(command -v sshd)" -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
sshd_pid=$!
key=$(cut -d' ' -f1,2 "$work/host_key.pub")
for h in "${hosts[@]}"; do echo "[$h]:$port $key"; done >"$work/known_hosts"
client_opts="-i $work/client_key -o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -F /dev/null"
rcp="$(command -v scp) -B -q -P $port $client_opts"
user=$(id -un)
for _ in $(seq 100); do
  ssh -p "$port" $client_opts -o BatchMode=yes "$user@${hosts[0]}" true 2>/dev/null && break
  sleep 0.1
done
ssh -p "$port" $client_opts -o BatchMode=yes "$user@${hosts[0]}" true || die "the ssh server did not start: $(cat "$work/sshd.log")"

# --- the trees ---------------------------------------------------------------------------------
# make_tree DIR NSMALL SMALL_KB NLARGE LARGE_MB: random (incompressible) files and cback.collect.
make_tree() {
  python3 - "$@" <<'PY'
import os, sys
root, n_small, small_kb, n_large, large_mb = sys.argv[1], *map(int, sys.argv[2:])
os.makedirs(root, exist_ok=True)
for i in range(n_small):
    with open(os.path.join(root, "small-%05d.tar.gz" % i), "wb") as f:
        f.write(os.urandom(small_kb * 1024))
for i in range(n_large):
    with open(os.path.join(root, "large-%d.tar.gz" % i), "wb") as f:
        for _ in range(large_mb):
            f.write(os.urandom(1 << 20))
open(os.path.join(root, "cback.collect"), "w").close()
PY
}
note "making the trees: one peer of $small x $small_kb KiB + 3 x $large_mb MiB; $peers peers of $peer_small x $small_kb KiB + 1 x $peer_large_mb MiB"
make_tree "$work/peer" "$small" "$small_kb" 3 "$large_mb"
for i in $(seq 1 "$peers"); do make_tree "$work/peer$i" "$peer_small" "$small_kb" 1 "$peer_large_mb"; done
tree_mb=$(du -sm "$work/peer" | cut -f1)
mkdir -p "$work/state" "$work/stage" "$work/copy"
not_today=$(LC_ALL=C date -d tomorrow +%A | tr 'A-Z' 'a-z')

# config FILE JOBS PEER_XML...: a master staging the given <peer> elements.
config() {
  local file=$1 jobs=$2; shift 2
  cat >"$file" <<XML
<?xml version="1.0"?>
<cb_config>
 <options><starting_day>$not_today</starting_day><working_dir>$work/state</working_dir>
  <backup_user>$user</backup_user><backup_group>$(id -gn)</backup_group><rcp_command>$rcp</rcp_command></options>
 <stage><staging_dir>$work/stage</staging_dir>$*<jobs>$jobs</jobs></stage>
</cb_config>
XML
}
peer_xml() { # HOST DIR [RCP_COMMAND]
  echo "<peer><name>$1</name><type>remote</type><collect_dir>$2</collect_dir>${3:+<rcp_command>$3</rcp_command>}</peer>"
}
config "$work/one.xml" 1 "$(peer_xml "${hosts[0]}" "$work/peer")"
# The same peer with rsync as its rcp command, its ssh with rsync -a's options.
rsync_rcp="$(command -v rsync || echo rsync) -t -e \"ssh -p $port $client_opts\""
config "$work/one-rsync.xml" 1 "$(peer_xml "${hosts[0]}" "$work/peer" "$rsync_rcp")"
all_peers=""
for i in $(seq 1 "$peers"); do all_peers+=$(peer_xml "${hosts[$((i - 1))]}" "$work/peer$i"); done
config "$work/eight-jobs4.xml" 4 "$all_peers"
config "$work/eight-jobs1.xml" 1 "$all_peers"

# --- measuring ---------------------------------------------------------------------------------
fresh() { rm -rf "$work/stage/"* "$work/copy/"*; sync; }
hosts0=${hosts[0]}
scp_run() { $rcp -r "$user@$hosts0:$work/peer/" "$work/copy/" && sync; }
rsync_run() { rsync -a -e "ssh -p $port $client_opts" "$user@$hosts0:$work/peer/" "$work/copy/" && sync; }
export -f scp_run rsync_run
export work rcp user port client_opts hosts0

declare -A times rss
# run LABEL CMD...: $runs rounds of CMD, each after fresh(); records every wall time and the
# largest peak RSS.
run() {
  local label=$1; shift
  for _ in $(seq "$runs"); do
    fresh
    measure "$@"
    times[$label]="${times[$label]:-} $wall"
    if [ "$peak" -gt "${rss[$label]:-0}" ]; then rss[$label]=$peak; fi
  done
}
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

note "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
note "one remote peer, $((small + 4)) files, $tree_mb MB; median of $runs rounds"
stage=(--logfile "$work/cback.log" stage)
run "cback stage" "$cback" --config "$work/one.xml" "${stage[@]}"
run "scp -r + sync" bash -c scp_run
if [ "$have_rsync" = 1 ]; then
  run "rsync -a + sync" bash -c rsync_run
  run "cback stage (rsync)" "$cback" --config "$work/one-rsync.xml" "${stage[@]}"
fi
if [ "$peers" -gt 0 ]; then
  note "$peers remote peers, $((peer_small + 2)) files each"
  run "cback stage, $peers peers, jobs 4" "$cback" --config "$work/eight-jobs4.xml" "${stage[@]}"
  run "cback stage, $peers peers, jobs 1" "$cback" --config "$work/eight-jobs1.xml" "${stage[@]}"
fi
note "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

printf '\n%-36s %10s   %s\n' "command" "median" "rounds (s)"
for label in "cback stage" "scp -r + sync" "rsync -a + sync" "cback stage (rsync)" "cback stage, $peers peers, jobs 4" "cback stage, $peers peers, jobs 1"; do
  [ -n "${times[$label]:-}" ] || continue
  extra=""
  [ -n "${rss[$label]:-}" ] && [[ $label == cback* ]] && extra="  peak RSS $(awk "BEGIN{printf \"%.1f\", ${rss[$label]}/1024}") MiB"
  printf '%-36s %8.2f s  %s%s\n' "$label" "$(median "${times[$label]}")" "${times[$label]# }" "$extra"
done
[ "$have_rsync" = 1 ] || note "rsync not installed: its row is left out (apt-get install rsync)"

goal() { # LABEL VALUE LIMIT
  local verdict=MISSED
  awk "BEGIN{exit !($2 <= $3)}" && verdict=met
  printf '%-44s %6.2f  (goal <= %s)  %s\n' "$1" "$2" "$3" "$verdict"
}
echo
t_stage=$(median "${times["cback stage"]}")
t_scp=$(median "${times["scp -r + sync"]}")
goal "stage / scp -r + sync" "$(awk "BEGIN{print $t_stage/$t_scp}")" 1.1
if [ "$have_rsync" = 1 ]; then
  t_rsync=$(median "${times["rsync -a + sync"]}")
  printf '%-44s %6.2f\n' "stage / rsync -a + sync" "$(awk "BEGIN{print $t_stage/$t_rsync}")"
  t_stage_rsync=$(median "${times["cback stage (rsync)"]}")
  printf '%-44s %6.2f\n' "stage (rsync) / scp -r + sync" "$(awk "BEGIN{print $t_stage_rsync/$t_scp}")"
  printf '%-44s %6.2f\n' "stage (rsync) / rsync -a + sync" "$(awk "BEGIN{print $t_stage_rsync/$t_rsync}")"
fi
max_rss=${rss["cback stage"]}
if [ -n "${rss["cback stage (rsync)"]:-}" ] && [ "${rss["cback stage (rsync)"]}" -gt "$max_rss" ]; then
  max_rss=${rss["cback stage (rsync)"]}
fi
if [ "$peers" -gt 0 ]; then
  t4=$(median "${times["cback stage, $peers peers, jobs 4"]}")
  t1=$(median "${times["cback stage, $peers peers, jobs 1"]}")
  goal "$peers peers: jobs 4 / jobs 1" "$(awk "BEGIN{print $t4/$t1}")" 0.6
  for label in "cback stage, $peers peers, jobs 4" "cback stage, $peers peers, jobs 1"; do
    if [ "${rss[$label]}" -gt "$max_rss" ]; then max_rss=${rss[$label]}; fi
  done
fi
goal "peak RSS of cback (MiB)" "$(awk "BEGIN{print $max_rss/1024}")" 32
