//! The capacity extension of cback: before store writes, check that the disc in the writer
//! still has room. It answers to the original's `CedarBackup3.extend.capacity` /
//! `executeAction` and reads the same `<capacity>` section:
//!
//! ```xml
//! <capacity>
//!   <max_percentage>95.5</max_percentage>   <!-- fail above this much of the disc used -->
//!   <!-- or -->
//!   <min_bytes>500 MB</min_bytes>           <!-- fail with less than this left -->
//! </capacity>
//! ```
//!
//! Exactly one of the two is given. The disc is measured the way store measures an append
//! (`cdrecord -msinfo`, or the growisofs dry run), after check_media when it is on.
//!
//! Unlike the original, which only logs an ERROR and exits 0, a disc over the limit fails the
//! action (exit 6) with a message that says what to do; a DVD fuller than its nominal
//! capacity is reported as over any limit instead of crashing.
//!
//! Its modules are private; the `pub use` block below names what other crates use.

mod action;
mod config;

use action::CapacityAction;

// What other crates use: the section, whose element paths `cedar-cli` documents.
pub use config::CapacitySection;

use cedar_core::{ActionKind, ActionRegistration, Placement};

/// The original's module path.
pub const MODULE: &str = "CedarBackup3.extend.capacity";

/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "capacity",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 299, run_before: &["store"], run_after: &[] },
        action: &CapacityAction,
    }
}
