//! End-to-end tests of the Debian package.
//!
//! One test binary of the cedar-cli package (see its Cargo.toml): each former test file is a
//! module, and the servers the tests start are shared by the whole binary.

/// The cedar-cli programs under test, as cargo built them for this test binary.
const BIN: cback_tests::Binaries = cback_tests::binaries!();

mod packaging;
