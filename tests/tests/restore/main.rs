//! End-to-end tests of cback-restore: choice of dump, drills, decryption, splits and S3.
//!
//! One test binary of the cedar-cli package (see its Cargo.toml), each file a module: the
//! harness's shared servers (PostgreSQL, MariaDB, sshd, moto) start once for the whole
//! binary; each S3 test stores into a bucket of its own.

/// The cedar-cli programs under test, as cargo built them for this test binary.
const BIN: cback_tests::Binaries = cback_tests::binaries!();

mod restore_choice;
mod restore_drill;
mod restore_encrypted_dumps;
mod restore_gpg;
mod restore_interrupt;
mod restore_roundtrip;
mod restore_s3;
mod restore_server_config;
mod restore_split;
mod restore_support;
