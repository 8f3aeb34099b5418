//! End-to-end tests of the command line: options, validation, hostile and sample configurations, the plan.
//!
//! One test binary of the cedar-cli package (see its Cargo.toml), each file a module: the
//! harness's shared servers (PostgreSQL, MariaDB, sshd) start once for the whole binary.

/// The cedar-cli programs under test, as cargo built them for this test binary.
const BIN: cback_tests::Binaries = cback_tests::binaries!();

mod cli;
mod config_samples;
mod doctor;
mod hook_env;
mod hostile_config;
mod plan_compat;
mod registrations;
mod robustness;
mod status;
