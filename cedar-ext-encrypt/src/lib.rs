//! The encrypt extension of cback: after stage, every staged backup file is encrypted for a
//! public key and the plain file removed. It answers to the original's
//! `CedarBackup3.extend.encrypt` / `executeAction`, so existing configuration files work
//! unchanged.
//!
//! What it keeps from the original ([`config`], [`action`]): the `<encrypt>` section and its
//! messages; `gpg --batch --yes -e -r RECIPIENT` for every backup file of every daily directory
//! without `cback.encrypt`, the recipient checked first with `gpg --batch -k`; the `.gpg`
//! names; outputs owned by backup_user:backup_group as root, mode 0666 less the umask; the
//! plain files removed; `cback.encrypt` written when a directory is done.
//!
//! What it does better:
//! - a directory is never left half encrypted: every output is written under a hidden
//!   temporary name and renamed when complete, the plain files are removed only after every
//!   file of the directory is encrypted, and a failure removes this run's outputs; a journal
//!   (`cback.encrypt.journal`) lets a run killed half way finish the directory without
//!   encrypting its own outputs a second time ([`cedar_core::StagedJournal`]);
//! - a staged `a.gpg` beside `a` is refused instead of being overwritten;
//! - a failed chown fails the action (exit 6) instead of being only logged;
//! - `<encrypt_mode>age</encrypt_mode>` with one or more `<recipient>` public keys (X25519
//!   `age1…`, or `ssh-ed25519`/`ssh-rsa` public keys) encrypts natively with the `age` crate,
//!   into `.age` files ([`cedar_core::Recipients`]); no secret key is needed on the backup host.
//!
//! Modules: [`config`] (section, rules, settings), [`cedar_core::Recipients`] (age recipients and the
//! encrypting writer, shared with the amazons3 extension), [`gpg`] (the gpg commands),
//! [`action`], [`error`].

mod action;
mod config;
mod error;
mod gpg;

use action::EncryptAction;

// What other crates use: the section (its element paths are documented by `cedar-cli`) and its
// loader (the sample configuration's test).
pub use action::load_settings;
pub use config::{EncryptSection, Mode, Settings};

use cedar_core::{ActionKind, ActionRegistration, Placement};

/// The original's module path.
pub const MODULE: &str = "CedarBackup3.extend.encrypt";

/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "encrypt",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 299, run_before: &["store"], run_after: &["stage"] },
        action: &EncryptAction,
    }
}
