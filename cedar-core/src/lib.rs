//! cedar-core: the kernel of `cback`, a Rust port of the Cedar Backup 3 action framework. It
//! knows no action and no extension: the built-in actions live in `cedar-actions`, the
//! extensions in `cedar-ext-*`, and all of them register through [`action`] (see
//! `ARCHITECTURE.md`).
//!
//! - [`config`]: the `<cb_config>` document, read with the original's rules, validated, written
//!   back.
//! - [`options`]: the command line as actions see it.
//! - [`action`]: the [`Action`] trait and the `inventory` registry that built-in actions and
//!   extensions share.
//! - shared pieces: [`atomic`] (a file appears under its final name only when complete),
//!   [`process`] (child processes and the original's environment rule), [`ProcessGroup`]
//!   (the one supervisor: a child's process group stopped on a signal), [`stream`]
//!   (a command's output streamed into a writer, its standard error kept), [`sha256`],
//!   [`manifest`] (the dump manifest the stage action checks), [`staged`] (the staging tree as
//!   the extensions after stage see it), [`quantity`] (byte quantities of extension sections),
//!   [`status`] (`cback-status.json` and `cback.prom`, drills included), [`remote_copies`]
//!   (remote places holding copies of staged files, registered by extensions), [`gpg`]
//!   (`gpg --decrypt` as a stream), [`compress`] (the one compressor and its [`compress::Codec`]),
//!   [`pickle`] (the original's pickled state: collect's digests, the extensions' state files).
//! - what several actions share: [`calendar`] (the one civil-date algorithm and `Today`),
//!   [`quantity::display_bytes`], [`tar`] (the GNU tar writer), [`normalize_name`] (archive
//!   names), [`disc_record`] (the discs status reports), [`recipients`] (age recipients).
//!
//! Private by default: `hooks`, `lock`, `process_group` and `normalize` are private, and the
//! `pub use` block below names what other crates take from them. The other top-level modules
//! stay public because each is an API of its own that the action and extension crates import by
//! path (`config`, `ext`, `status`, `atomic`, `process`, `stream`, `interrupt`, …: some hundreds
//! of import lines across the workspace, several in files other branches are editing); inside
//! them, the parts are private behind their parent's re-exports (`compress`, `config`, `pickle`,
//! `plan`, `tar`), except `config::values` (the value parsers extensions use for their own
//! sections), `tar::read` (a test reader collect's tests name by path) and `ext`'s modules (the
//! extensions' shared pieces, each a namespace of its own).

pub mod action;
pub mod atomic;
pub mod calendar;
pub mod chain;
pub mod clip;
pub mod clock;
pub mod compress;
pub mod config;
pub mod disc_record;
pub mod ext;
pub mod fsutil;
pub mod gpg;
mod hooks;
pub mod interrupt;
mod lock;
pub mod logging;
pub mod manifest;
mod normalize;
pub mod options;
pub mod ownership;
pub mod pickle;
pub mod plan;
pub mod process;
mod process_group;
pub mod quantity;
pub mod recipients;
pub mod remote;
pub mod remote_copies;
pub mod run;
pub mod sha256;
pub mod staged;
pub mod status;
pub mod stream;
pub mod tar;
mod work_queue;

pub use action::{Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement};
pub use config::{Config, ConfigError, ConfigFile};
pub use lock::{LockError, RunLock};
pub use normalize::normalize_name;
pub use options::Options;
pub use process_group::ProcessGroup;
pub use work_queue::run_bounded;

/// Re-exported so extensions register with the same `inventory` version.
pub use inventory;

#[cfg(test)]
mod test_support;
