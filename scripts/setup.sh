#!/usr/bin/env bash
# Set-up shared by scripts/demo.sh, scripts/test.sh and .ci/run: finds what they need and, on a
# machine that lacks it, installs it.
#
#   bash scripts/setup.sh NEED...        # e.g. bash scripts/setup.sh postgresql zstd
#   bash scripts/setup.sh demo|tests     # everything scripts/demo.sh or scripts/test.sh needs
#   . scripts/setup.sh; setup_require NEED...
#
# A missing need is installed when this runs as root on Debian or Ubuntu (apt-get update, then
# apt-get install -y --no-install-recommends, saying so first). Otherwise the exact command to
# run is printed and the call fails (exit status 1).
#
# Functions for the scripts that source this file:
#   setup_require NEED...   make sure every NEED is there (see the table below)
#   setup_pg_bindir         print the directory of the PostgreSQL server programs, or fail
#   setup_original_cb3 DIR  the original Cedar Backup 3 in a virtual environment DIR (from
#                           PyPI); prints the path of its cback3
#
# To add a need: one line in SETUP_PACKAGES, its name in SETUP_FOR_DEMO or SETUP_FOR_TESTS, and
# a case in setup_have when `command -v NEED` is not the right check.

# need -> the Debian packages that provide it ("" when apt cannot: see setup_hint).
declare -gA SETUP_PACKAGES=(
  [postgresql]="postgresql postgresql-client"
  [gzip]="gzip"
  [bzip2]="bzip2"
  [zstd]="zstd"
  [runuser]="util-linux"
  [script]="bsdutils"
  [python3-venv]="python3 python3-venv"
  [sshd]="openssh-server openssh-client"
  [rsync]="rsync"
  [mkisofs]="genisoimage xorriso"
  [mariadbd]="mariadb-server-core"
  [mariadb]="mariadb-client-core"
  [mysqldump]="mariadb-client"
  [svnadmin]="subversion"
  [grepmail]="grepmail"
  [gpg]="gnupg"
  [man]="man-db groff-base"
  [systemd-analyze]="systemd"
  [dpkg-deb]="dpkg"
  [msmtp]="msmtp"
  [cargo]=""
  [cargo-deb]=""
)

# need -> the crates.io package that `cargo install --locked` builds it from, with its options.
# cargo-deb stays a separate install: it is a cargo subcommand (`cargo deb`, run by
# scripts/build-deb.sh), a program cargo finds on PATH, which no dependency of the workspace can
# provide. The tests' other tools are built with the workspace instead: s3s-fs, the S3 server
# that checks every body's SHA-256, is served in the test process (tests/src/s3fs.rs).
declare -gA SETUP_CRATES=(
  [cargo-deb]="cargo-deb"
)

# What each script needs (names from the table above).
SETUP_FOR_DEMO=(cargo postgresql bzip2 runuser)
SETUP_FOR_TESTS=(cargo postgresql gzip bzip2 zstd runuser script python3-venv sshd rsync mkisofs
  mariadbd mariadb mysqldump svnadmin grepmail gpg man systemd-analyze dpkg-deb cargo-deb msmtp)

# The original Cedar Backup 3 that the comparison tests were recorded against.
SETUP_CB3_VERSION=${SETUP_CB3_VERSION:-3.12.0}

setup_say() { printf 'setup: %s\n' "$*" >&2; }

# The directory that holds initdb, pg_ctl, postgres, pg_dump, pg_dumpall and psql, all real
# programs (a dangling symlink does not count): $CEDAR_PG_BINDIR when set, else the real
# directory of an initdb on PATH, else the newest /usr/lib/postgresql/*/bin.
setup_pg_bindir() {
  local dir candidates=()
  if [ -n "${CEDAR_PG_BINDIR:-}" ]; then
    candidates=("$CEDAR_PG_BINDIR")
  else
    local initdb
    while IFS= read -r initdb; do
      [ -e "$initdb" ] && candidates+=("$(dirname "$(readlink -f "$initdb")")")
    done < <(type -ap initdb 2>/dev/null)
    while IFS= read -r dir; do
      candidates+=("$dir")
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  fi
  for dir in "${candidates[@]}"; do
    if setup_pg_complete "$dir"; then
      printf '%s\n' "$dir"
      return 0
    fi
  done
  return 1
}

setup_pg_complete() {
  local program
  for program in initdb pg_ctl postgres pg_dump pg_dumpall psql; do
    [ -f "$1/$program" ] && [ -x "$1/$program" ] || return 1
  done
}

# Whether NEED is there.
setup_have() {
  case $1 in
    postgresql) setup_pg_bindir >/dev/null ;;
    # Only root needs it: the server programs then run as the postgres user through runuser.
    runuser) [ "$(id -u)" -ne 0 ] || command -v runuser >/dev/null 2>&1 ;;
    python3-venv) command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip, venv' 2>/dev/null ;;
    cargo-deb) cargo deb --version >/dev/null 2>&1 ;;
    # The store tests build real images with genisoimage and read them back with xorriso.
    mkisofs) command -v genisoimage >/dev/null 2>&1 && command -v xorriso >/dev/null 2>&1 ;;
    # A throwaway MariaDB server for the mysql extension's tests (Debian puts it in /usr/sbin).
    mariadbd) command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] ;;
    # The tests start their own sshd on loopback; the client copies with scp.
    sshd) [ -x /usr/sbin/sshd ] && command -v scp >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# What to do about a need that apt does not provide.
setup_hint() {
  case $1 in
    cargo) echo "install Rust (cargo) with rustup: https://rustup.rs" ;;
    cargo-deb) echo "install cargo-deb: cargo install --locked cargo-deb" ;;
    *) echo "install $1" ;;
  esac
}

setup_require() {
  local need missing=() packages=() hints=()
  for need in "$@"; do
    if [ -z "${SETUP_PACKAGES[$need]+set}" ]; then
      setup_say "unknown need '$need' (known: ${!SETUP_PACKAGES[*]})"
      return 2
    fi
    setup_have "$need" && continue
    if [ -n "${SETUP_CRATES[$need]+set}" ] && command -v cargo >/dev/null 2>&1; then
      setup_say "installing $need from crates.io: cargo install --locked ${SETUP_CRATES[$need]}"
      # shellcheck disable=SC2086 # the crate's name and its options
      cargo install --quiet --locked ${SETUP_CRATES[$need]} >&2 && setup_have "$need" && continue
      setup_say "cargo install --locked ${SETUP_CRATES[$need]} failed"
    fi
    missing+=("$need")
    if [ -n "${SETUP_PACKAGES[$need]}" ]; then
      # shellcheck disable=SC2206 # the table's packages are separated by blanks
      packages+=(${SETUP_PACKAGES[$need]})
    else
      hints+=("$(setup_hint "$need")")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  setup_say "missing: ${missing[*]}"

  local hint
  for hint in "${hints[@]}"; do setup_say "$hint"; done
  if [ "${#packages[@]}" -gt 0 ]; then
    setup_install "${packages[@]}" || return 1
    for need in "${missing[@]}"; do
      [ -z "${SETUP_PACKAGES[$need]}" ] || setup_have "$need" ||
        { setup_say "$need is still missing after installing ${packages[*]}"; return 1; }
    done
  fi
  [ "${#hints[@]}" -eq 0 ]
}

# Installs the Debian packages given (as root on Debian/Ubuntu), or prints the command to run.
setup_install() {
  local packages=("$@")
  local command="apt-get update && apt-get install -y --no-install-recommends ${packages[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    setup_say "this is not Debian or Ubuntu: install what provides ${packages[*]} (Debian names)"
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    setup_say "install ${packages[*]} as root, then run this again:"
    if command -v sudo >/dev/null 2>&1; then
      printf '  sudo apt-get update && sudo apt-get install -y --no-install-recommends %s\n' \
        "${packages[*]}" >&2
    else
      printf '  su -c "%s"\n' "$command" >&2
    fi
    return 1
  fi
  setup_say "installing ${packages[*]}: $command"
  # The tests start the servers they need themselves (on loopback or Unix sockets): keep the
  # packages' own services (sshd on port 22, a PostgreSQL cluster) from starting, unless the
  # machine already has a policy of its own.
  # The install runs in a subshell whose exit (an interrupt included) removes that policy again.
  # (apt's output goes to standard error: standard output is for what the functions print)
  if ! (
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
      trap 'rm -f "$policy"' EXIT
      trap 'exit 130' INT TERM
      printf '#!/bin/sh\n# scripts/setup.sh: no service starts while it installs\nexit 101\n' >"$policy"
      chmod 755 "$policy"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${packages[@]}" >&2
  ); then
    setup_say "apt-get failed; run it yourself: $command"
    return 1
  fi
  setup_say "installed ${packages[*]}"
}

# The original Cedar Backup 3 (GPL; not part of the repository) in the virtual environment
# $1, installed from PyPI when it is not there yet. Prints the path of its cback3.
setup_original_cb3() {
  local venv=$1
  local version
  version=$("$venv/bin/python" -c \
    'import importlib.metadata as m; print(m.version("cedar-backup3"))' 2>/dev/null || true)
  if [ ! -x "$venv/bin/cback3" ] || [ "$version" != "$SETUP_CB3_VERSION" ]; then
    if [ ! -x "$venv/bin/pip" ]; then
      setup_require python3-venv || return 1
      if ! python3 -m venv "$venv" >&2; then
        # (a Debian python3 without python3-venv may still pass setup_have's check)
        setup_say "python3 -m venv $venv failed; trying again with python3-venv installed"
        setup_install python3-venv && python3 -m venv --clear "$venv" >&2 || return 1
      fi
    fi
    setup_say "installing the original cedar-backup3 $SETUP_CB3_VERSION from PyPI into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "cedar-backup3==$SETUP_CB3_VERSION" >&2 ||
      { setup_say "could not install cedar-backup3 into $venv (is PyPI reachable?)"; return 1; }
  fi
  printf '%s\n' "$venv/bin/cback3"
}

# moto in server mode (an S3 server for the off-site tests) and the aws program (for the
# original's amazons3 in the side-by-side tests), in the virtual environment $1, installed from
# PyPI when missing. Prints the environment's path.
setup_moto() {
  local venv=$1
  if [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/aws" ]; then
    if [ ! -x "$venv/bin/pip" ]; then
      setup_require python3-venv || return 1
      python3 -m venv "$venv" >&2 || { setup_say "python3 -m venv $venv failed"; return 1; }
    fi
    setup_say "installing moto[server] and awscli from PyPI into $venv"
    "$venv/bin/pip" install -q --disable-pip-version-check 'moto[server]' awscli >&2 ||
      { setup_say "could not install moto[server] and awscli into $venv (is PyPI reachable?)"; return 1; }
  fi
  printf '%s\n' "$venv"
}

# Run as a command: make sure the needs given as arguments are there.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    "") echo "usage: bash scripts/setup.sh demo|tests|NEED... (${!SETUP_PACKAGES[*]})" >&2; exit 2 ;;
    demo) setup_require "${SETUP_FOR_DEMO[@]}" ;;
    tests) setup_require "${SETUP_FOR_TESTS[@]}" ;;
    *) setup_require "$@" ;;
  esac
fi
