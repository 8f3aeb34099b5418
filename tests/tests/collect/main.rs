//! End-to-end tests of the collect and purge actions.
//!
//! One test binary of the cedar-cli package (see its Cargo.toml), each file a module: the
//! harness's shared servers (PostgreSQL, MariaDB, sshd) start once for the whole binary.

/// The cedar-cli programs under test, as cargo built them for this test binary.
const BIN: cback_tests::Binaries = cback_tests::binaries!();

mod collect_compat;
mod collect_errors;
mod collect_excludes;
mod collect_incremental;
mod collect_modes;
mod collect_progress;
mod collect_support;
mod differences;
mod purge_e2e;
mod purge_policy;
