//! End-to-end tests of the mbox, mysql, subversion and sysinfo extensions.
//!
//! One test binary of the cedar-cli package (see its Cargo.toml), each file a module: the
//! harness's shared servers (PostgreSQL, MariaDB, sshd) start once for the whole binary.

/// The cedar-cli programs under test, as cargo built them for this test binary.
const BIN: cback_tests::Binaries = cback_tests::binaries!();

mod ext_doctor;
mod mbox_action;
mod mysql_action;
mod mysql_doctor;
mod mysql_shrink;
mod subversion_action;
mod sysinfo_action;
