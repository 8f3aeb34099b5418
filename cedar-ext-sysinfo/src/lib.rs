//! The sysinfo extension of cback: `CedarBackup3.extend.sysinfo` / `executeAction`.
//!
//! It has no section of its own. Each run writes three bzip2 files into collect_dir, as the
//! original does: `dpkg-selections.txt.bz2` (`/usr/bin/dpkg --get-selections`), `fdisk-l.txt.bz2`
//! (`/sbin/fdisk -l`) and `ls-laR.txt.bz2` (`ls -laR /`). dpkg and fdisk are skipped with an
//! INFO line where their fixed paths hold no executable; an `<override>` keyed by that fixed path
//! (or by `ls`) redirects a command.
//!
//! Better than the original: every step is attempted and the failures are named together
//! (exit 6); each file appears under its final name only when complete (a failed step keeps
//! yesterday's file); files are 0640 (0600 when not root); the command's standard error is in
//! the error; SIGTERM stops the command and removes the temporary file; compression runs on all
//! cores; each step is recorded in the run status.
//!
//! Its module is private: other crates see only [`MODULE`] and [`link`], which `cedar-cli` calls
//! so that the registration is in the binary.

mod action;

use action::SysinfoAction;

use cedar_core::{ActionKind, ActionRegistration, Placement};

/// The original's module path.
pub const MODULE: &str = "CedarBackup3.extend.sysinfo";

/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "sysinfo",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 95, run_before: &["collect"], run_after: &[] },
        action: &SysinfoAction,
    }
}
