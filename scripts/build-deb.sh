#!/usr/bin/env bash
# Builds the Debian package target/debian/cback_VERSION_ARCH.deb: the release binaries (cback,
# cback-span, cback-restore, cback-amazons3-sync), the man pages and shell completions
# generated from cback's command line, the systemd units, logrotate file, sample
# /etc/cback3.conf, the README and doc/*.md. Prints the path of the package last.
# Needs cargo-deb and gzip (scripts/setup.sh installs them when missing).
#
#   bash scripts/build-deb.sh                  # release build (thin LTO), then the package
#   bash scripts/build-deb.sh --prebuilt DIR   # no build: packages the binaries already in DIR,
#                                              # a profile directory such as target/debug
#
# scripts/test.sh runs --prebuilt on the binaries cargo built for the test suite, before the tests,
# and hands the package to the package test (tests/tests/packaging) in CEDAR_DEB: no test runs
# cargo, and the suite does not build a second, release, copy of the workspace.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# shellcheck source=scripts/setup.sh
. scripts/setup.sh
setup_require cargo cargo-deb gzip || exit 1

if [ "${1:-}" = "--prebuilt" ]; then
  bins=$(cd "${2:?usage: build-deb.sh [--prebuilt DIR]}" && pwd)
  target=$(dirname "$bins")
  # cargo names the directory of its dev and test profiles "debug".
  profile=$(basename "$bins")
  [ "$profile" = debug ] && profile=dev
  # Debug binaries carry their debug information: stripped, and compressed fast (a test package).
  deb_options=(--strip --fast)
else
  cargo build --quiet --release -p cedar-cli --bin cback --bin cback-span --bin cback-restore \
    --bin cback-amazons3-sync --bin cback-dist
  target=$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
  bins="$target/release"
  profile=release
  deb_options=()
fi
dist="$bins/dist"
rm -rf "$dist"
"$bins/cback-dist" "$dist"
cp dist/cback.conf.5 "$dist/man/"
gzip -9nf "$dist/man/cback.1" "$dist/man/cback.conf.5"
# cargo-deb reads the assets' target/release/ paths as the directory of --profile.
CARGO_TARGET_DIR="$target" cargo deb --quiet -p cedar-cli --no-build --profile "$profile" \
  "${deb_options[@]}" >&2
ls -t "$target"/debian/cback_*.deb | head -n1
