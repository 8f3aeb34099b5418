#!/usr/bin/env bash
# The whole test suite, with nothing skipped: installs what a fresh Debian machine with Rust
# lacks (scripts/setup.sh: PostgreSQL server and client, gzip, bzip2, zstd, util-linux, man-db,
# systemd, cargo-deb, openssh, genisoimage/xorriso, MariaDB, subversion, grepmail and gnupg;
# moto and awscli from PyPI in target/moto; the original Cedar Backup 3 from PyPI in a virtual
# environment for the comparison tests), then runs `CEDAR_REQUIRE_POSTGRES=1 cargo test
# --workspace` with s3s-fs, the checksum tests' S3 server, built in (the `s3s-fs` feature of
# cback-tests; --ignore-rust-version because s3s-fs 0.17.0 declares rust-version 1.96 and builds
# with 1.95, see tests/src/s3fs.rs) and prints one total at the end.
#
#   bash scripts/test.sh                 # from anywhere
#   bash scripts/test.sh -- --nocapture  # further arguments go to cargo test
#
# The original is installed into $CEDAR_ORIGINAL_VENV (default target/original-cb3) and handed to
# the tests as CB3_BIN, CEDAR_CB3 and CB3_PYTHON.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/setup.sh
. scripts/setup.sh

setup_require "${SETUP_FOR_TESTS[@]}" || exit 1
cb3=$(setup_original_cb3 "${CEDAR_ORIGINAL_VENV:-$repo/target/original-cb3}") || exit 1
export CB3_BIN="$cb3" CEDAR_CB3="$cb3" CB3_PYTHON="${cb3%/cback3}/python"
CEDAR_MOTO_VENV=$(setup_moto "${CEDAR_MOTO_VENV:-$repo/target/moto}") || exit 1
export CEDAR_MOTO_VENV
echo "PostgreSQL: $(setup_pg_bindir); the original: $cb3 (cedar-backup3 $SETUP_CB3_VERSION)"

# Build everything the tests run first, then the Debian package from the binaries that build made
# (scripts/build-deb.sh --prebuilt: no release build), handed to the package test in CEDAR_DEB, so
# that no test runs cargo.
features=(--workspace --features cback-tests/s3s-fs --ignore-rust-version)
cargo test "${features[@]}" --no-run
target=$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
CEDAR_DEB=$(bash scripts/build-deb.sh --prebuilt "$target/debug" | tail -n1)
export CEDAR_DEB
echo "The Debian package for the package test: $CEDAR_DEB"

# The output is kept to print one total at the end (cargo prints a `test result:` line per test
# binary: the unit tests of each crate and the end-to-end tests' area binaries).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
CEDAR_REQUIRE_POSTGRES=1 cargo test "${features[@]}" --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo
awk '/^test result:/ {
       for (i = 1; i <= NF; i++) {
         if ($(i+1) ~ /^passed/) p += $i
         if ($(i+1) ~ /^failed/) f += $i
       }
     }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
