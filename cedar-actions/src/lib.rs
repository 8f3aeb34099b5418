//! The built-in actions of Cedar Backup 3, each registered through `inventory` exactly like an
//! extension, and the `--dry-run` listing that describes what stage would do.
//!
//! The kernel, `cedar-core`, knows none of them: `cedar-cli` links this crate so that its
//! registrations are in the binary.

pub mod collect;
pub mod dry_run;
pub mod purge;
pub mod stage;
pub mod store;
pub mod validate;

/// Call from the binary so the linker keeps this crate and its registrations.
pub fn link() {}
