//! The subversion extension of cback: `CedarBackup3.extend.subversion` / `executeAction`.
//!
//! Each configured repository (and each subdirectory of a `<repository_dir>`) is dumped with
//! `svnadmin dump --quiet -rSTART:END --incremental PATH` into
//! `COLLECT_DIR/svndump-START:END-NORMALIZED.txt[.gz|.bz2]`, as the original does. `daily` and
//! `weekly` repositories are dumped whole (weekly ones on the starting day or with `--full`);
//! `incr` ones from the revision after the one in `WORKING_DIR/NORMALIZED.svnlast`, which is
//! read and written in the original's format (a pickled int), so a site can switch either way
//! in the middle of a week.
//!
//! Better than the original: every repository is attempted and the failures are named together
//! (exit 6); a state file that cannot be read gives the original's ERROR and a dump from revision 0
//! with a new state file, and then fails that repository naming the file, where the original
//! exits 0; a dump appears under its final
//! name only when complete; files are 0640 (0600 when not root); svnadmin's and svnlook's
//! standard error is in the error; SIGTERM stops svnadmin and removes the temporary file;
//! compression runs on all cores; each repository is recorded in the run status.

mod action;
mod config;
mod error;

use action::SubversionAction;

pub use config::SubversionSection;

use cedar_core::{ActionKind, ActionRegistration, Placement};

/// The original's module path.
pub const MODULE: &str = "CedarBackup3.extend.subversion";

/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "subversion",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 98, run_before: &["collect"], run_after: &[] },
        action: &SubversionAction,
    }
}
