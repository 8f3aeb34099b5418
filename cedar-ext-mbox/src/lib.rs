//! The mbox extension of cback: `CedarBackup3.extend.mbox` / `executeAction`.
//!
//! Each `<file>` goes through `grepmail -a -u [-d "since STAMP"] PATH` into
//! `COLLECT_DIR/mbox-YYYYMMDD-NORMALIZED[.gz|.bz2]`; the files of each `<dir>` go through grepmail
//! into one GNU tar file, `mbox-YYYYMMDD-NORMALIZED.tar[.gz|.bz2]`, members named by base name.
//! An `incr` item on a run that is not full takes only the messages received since the stamp in
//! `WORKING_DIR/NORMALIZED.mboxlast`, which is read and written in the original's format (a
//! pickled naive datetime), so a site can switch either way in the middle of a week.
//!
//! Better than the original: every item is attempted and the failures are named together
//! (exit 6); a missing mbox file is an error (the original writes an empty file and exits 0); a
//! state file that cannot be read gives the original's ERROR and the whole mailbox with a new
//! stamp, and then fails the item naming the file, where the original exits 0; outputs appear under their final names only when
//! complete and are 0640 (0600 when not root), single-file outputs handed to the backup user
//! too; grepmail's standard error is in the error; SIGTERM stops grepmail and removes the
//! temporary files; compression runs on all cores; each item is recorded in the run status.
//!
//! Known gap of the design, kept: a message whose Received date is older than the stamp but
//! which is delivered after the run is only picked up by the next full run.

mod action;
mod config;
mod error;

use action::MboxAction;

pub use config::MboxSection;

use cedar_core::{ActionKind, ActionRegistration, Placement};

/// The original's module path.
pub const MODULE: &str = "CedarBackup3.extend.mbox";

/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "mbox",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 99, run_before: &["collect"], run_after: &[] },
        action: &MboxAction,
    }
}
