//! End-to-end tests of the postgresql extension: dumps, faults, streaming, security and trust.
//!
//! One test binary of the cedar-cli package (see its Cargo.toml), each file a module: the
//! harness's shared servers (PostgreSQL, MariaDB, sshd) start once for the whole binary.

/// The cedar-cli programs under test, as cargo built them for this test binary.
const BIN: cback_tests::Binaries = cback_tests::binaries!();

mod postgresql_choices;
mod postgresql_config;
mod postgresql_doctor;
mod postgresql_dumps;
mod postgresql_faults;
mod postgresql_managed;
mod postgresql_security;
mod postgresql_server_config;
mod postgresql_shrink;
mod postgresql_standby;
mod postgresql_streaming;
mod postgresql_trust;
