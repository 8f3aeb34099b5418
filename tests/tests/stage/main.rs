//! End-to-end tests of the stage action: local, remote and managed peers.
//!
//! One test binary of the cedar-cli package (see its Cargo.toml), each file a module: the
//! harness's shared servers (PostgreSQL, MariaDB, sshd) start once for the whole binary.

/// The cedar-cli programs under test, as cargo built them for this test binary.
const BIN: cback_tests::Binaries = cback_tests::binaries!();

mod stage_compat;
mod stage_doctor;
mod stage_jobs;
mod stage_local;
mod stage_managed;
mod stage_progress;
mod stage_remote;
mod stage_rsync;
mod stage_support;
