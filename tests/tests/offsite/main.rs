//! End-to-end tests of the offsite extensions: amazons3, encrypt, split, and cback-amazons3-sync.
//!
//! One test binary of the cedar-cli package (see its Cargo.toml), each file a module: the
//! harness's shared servers (PostgreSQL, MariaDB, sshd, moto, s3s-fs) start once for the whole
//! binary; each S3 test stores into a bucket of its own.

/// The cedar-cli programs under test, as cargo built them for this test binary.
const BIN: cback_tests::Binaries = cback_tests::binaries!();

mod offsite_amazons3;
mod offsite_checksum;
mod offsite_compat;
mod offsite_config;
mod offsite_doctor;
mod offsite_encrypt;
mod offsite_interrupt;
mod offsite_pipeline;
mod offsite_progress;
mod offsite_purge;
mod offsite_replace;
mod offsite_split;
mod offsite_support;
mod offsite_sync;
