#!/usr/bin/env bash
# Builds the Debian package target/debian/cback_VERSION_ARCH.deb: the release binaries (cback,
# cback-span, cback-restore, cback-amazons3-sync), the man pages and shell completions
# generated from cback's command line, the systemd units, logrotate file, sample
# /etc/cback3.conf, the README and doc/*.md. Prints the path of the package last.
# Needs cargo-deb and gzip (scripts/setup.sh installs them when missing).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# shellcheck source=scripts/setup.sh
. scripts/setup.sh
setup_require cargo cargo-deb gzip || exit 1

cargo build --quiet --release -p cedar-cli --bin cback --bin cback-span --bin cback-restore \
  --bin cback-amazons3-sync --bin cback-dist
target=$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
dist="$target/release/dist"
rm -rf "$dist"
"$target/release/cback-dist" "$dist"
cp dist/cback.conf.5 "$dist/man/"
gzip -9nf "$dist/man/cback.1" "$dist/man/cback.conf.5"
cargo deb --quiet -p cedar-cli --no-build >&2
ls -t "$target"/debian/cback_*.deb | head -n1
