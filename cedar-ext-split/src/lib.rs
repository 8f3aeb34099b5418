//! The split extension of cback: after stage, every staged backup file larger than a limit is
//! cut into parts of a fixed size, for media smaller than the file. It answers to the
//! original's `CedarBackup3.extend.split` / `executeAction`.
//!
//! What it keeps from the original: the `<split>` section and its messages ([`config`]); the
//! daily directories without `cback.split`; files strictly larger than `size_limit`; parts
//! named `NAME_00000`, `NAME_00001`, ... of `split_size` bytes (truncated to whole bytes), the
//! last one holding the rest, exactly as `split --numeric-suffixes --suffix-length=5
//! --bytes=N` writes them; the parts owned by backup_user:backup_group as root, mode 0666 less
//! the umask; the original file removed; `cback.split` written when a directory is done.
//!
//! What it does better ([`action`]): it cuts the files itself, streaming, so any file name
//! works (the original's parser of split's output breaks on `+ [ ( $` and quotes); every part
//! is chowned (the original forgets the last one); a directory is split all or nothing, with
//! a journal (`cback.split.journal`) so that a killed run finishes it without cutting its own
//! parts again; a staged file already named like a part is refused instead of overwritten; a
//! failed chown fails the action.

mod action;
mod config;
mod error;

use action::SplitAction;

// What other crates use: the section (its element paths are documented by `cedar-cli`) and its
// loader (the sample configuration's test).
pub use action::load_settings;
pub use config::{Settings, SplitSection};

use cedar_core::{ActionKind, ActionRegistration, Placement};

/// The original's module path.
pub const MODULE: &str = "CedarBackup3.extend.split";

/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "split",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 299, run_before: &["store"], run_after: &["stage"] },
        action: &SplitAction,
    }
}
