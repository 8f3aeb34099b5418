//! End-to-end tests of the store action and cback-span: CD and DVD images, capacity, consistency checks.
//!
//! One test binary of the cedar-cli package (see its Cargo.toml), each file a module: the
//! harness's shared servers (PostgreSQL, MariaDB, sshd) start once for the whole binary.

/// The cedar-cli programs under test, as cargo built them for this test binary.
const BIN: cback_tests::Binaries = cback_tests::binaries!();

mod store_all;
mod store_capacity;
mod store_cd;
mod store_check;
mod store_compat;
mod store_doctor;
mod store_dvd;
mod store_knapsack;
mod store_rebuild;
mod store_span;
