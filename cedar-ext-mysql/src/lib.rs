//! The mysql extension of cback: `CedarBackup3.extend.mysql` / `executeAction`.
//!
//! With `<all>Y` one `mysqldump --all-databases -all --flush-logs --opt` into
//! `COLLECT_DIR/mysqldump.txt[.gz|.bz2]`; otherwise one `mysqldump --databases -all --flush-logs
//! --opt DATABASE` per database into `mysqldump-DATABASE.txt[.gz|.bz2]`, as the original does.
//! Host, socket and credentials not configured come from MySQL's own option files, so a
//! `~/.my.cnf` keeps working.
//!
//! Better than the original: the password is never in argv or the log (a 0600 option file given
//! with `--defaults-extra-file`, removed afterwards, see [`defaults`]); the user's privileges are
//! checked before any file is written ([`grants`], when the client logs in as mysqldump would,
//! [`login`]); every database is attempted and the
//! failures are named together (exit 6); a dump appears under its final name only when
//! complete; files are 0640 (0600 when not root); mysqldump's standard error is in the error;
//! SIGTERM stops mysqldump and removes the temporary file; compression runs on all cores; each
//! dump is recorded in the run status.

mod action;
mod config;
mod defaults;
mod doctor;
mod error;
mod grants;
mod login;

use action::MysqlAction;

// What other crates use: the section, whose element paths `cedar-cli` documents.
pub use config::MysqlSection;

use cedar_core::{ActionKind, ActionRegistration, Placement};

/// The original's module path.
pub const MODULE: &str = "CedarBackup3.extend.mysql";

/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "mysql",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 96, run_before: &["collect"], run_after: &[] },
        action: &MysqlAction,
    }
}
