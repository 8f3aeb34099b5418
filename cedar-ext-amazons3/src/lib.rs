//! The amazons3 extension of cback, and the library of the `cback-amazons3-sync` tool: a
//! day's staging directory stored in an S3 bucket (AWS, or any S3-compatible store such as
//! MinIO, Ceph or Garage), natively, without the `aws` program. It answers to the original's
//! `CedarBackup3.extend.amazons3` / `executeAction`.
//!
//! What it keeps from the original: the `<amazons3>` section and its messages ([`config`]);
//! root only; the directory picked (today, yesterday, tomorrow; `--full`; `warn_midnite`) and
//! the size limits, checked before S3 is touched ([`plan`], [`action`]); the object keys
//! `PREFIX/YYYY/MM/DD/REL` and their content, the `<encrypt>` command's output where one is
//! configured, run through `su` as the backup user ([`command`]); `cback.amazons3` after
//! success; the backup user's AWS configuration and credentials ([`client`]).
//!
//! What it does better:
//! - never an empty day in S3, never a day half old and half new: a day S3 already holds is
//!   uploaded beside it first and checked, then switched by server-side copies with the
//!   earlier copy set aside; a failure at any point leaves (or puts back) the earlier copy,
//!   and a switch the server cut short is put right by the next run ([`action`],
//!   [`replace`], [`recover`]);
//! - several objects go up at once, at most `<upload_jobs>` ([`pipeline`]);
//! - every request carries a SHA-256 checksum that the server checks; large files go up in
//!   parts streamed from disk with bounded memory; an upload that fails or is interrupted
//!   (even in the middle of a part) is aborted, and one a failed run could not abort is
//!   aborted by the next run ([`upload`]);
//! - each day holds an upload marker, `started` then `complete` with the stage outcomes, so
//!   that `cback purge` never counts a day cut short or partly failed as good ([`marker`]);
//! - the run ends by listing the prefix: exactly the keys sent, with the sizes sent and the
//!   checksums sent, asked for with a HeadObject unless the upload's answer echoed them
//!   ([`verify`]);
//! - encryption streams into the upload: no encrypted copy on disk ([`command`]); age
//!   recipients natively with `<encrypt_mode>age`;
//! - exit 6 with the file, key or bucket named; no secret in argv, the log or a message;
//! - objects, bytes, seconds and success in the run status and the metrics textfile;
//! - on a terminal, one progress line of the objects and bytes sent, for the action and the
//!   sync tool alike ([`objects_line`]).
//!
//! Modules: [`config`], [`client`] (the S3 client), [`plan`], [`upload`], [`pipeline`]
//! (several uploads at once), [`objects_line`] (their progress line), [`command`],
//! [`verify`], [`hidden`] (the prefixes beside the day), [`marker`] (the day's upload marker), [`copy`] (server-side copies),
//! [`replace`], [`recover`], [`action`], [`sync`] (the sync tool), [`place`] (the bucket as a
//! place `cback-restore` reads copies from), [`error`].

mod action;
mod client;
mod command;
mod config;
mod copy;
mod doctor;
mod error;
mod hidden;
mod marker;
mod objects_line;
mod pipeline;
mod place;
mod plan;
mod recover;
mod replace;
mod sync;
mod throttle;
mod upload;
mod verify;

use action::AmazonS3Action;

// What other crates use: the section and its loader (`cedar-cli`'s documentation and the sample
// configuration's test), the sync tool (`cback-amazons3-sync`), and the client, the hidden
// prefixes, the switch, the stored objects, one upload and one server-side copy that the offsite
// tests drive directly.
pub use action::load_settings;
pub use client::{ConnectOptions, Listed, S3};
pub use config::{AmazonS3Section, Encryption, Settings, DEFAULT_PART};
pub use copy::copy as copy_object;
pub use hidden::Places;
pub use pipeline::DEFAULT_JOBS as DEFAULT_UPLOAD_JOBS;
pub use replace::Replace;
pub use sync::{run as sync_directory, SyncRequest};
pub use upload::upload_file;
pub use verify::Stored;

use cedar_core::{ActionKind, ActionRegistration, Placement, RemotePlaceRegistration};

/// The original's module path.
pub const MODULE: &str = "CedarBackup3.extend.amazons3";

/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "amazons3",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 201, run_before: &[], run_after: &["stage"] },
        action: &AmazonS3Action,
    }
}

cedar_core::inventory::submit! {
    RemotePlaceRegistration {
        name: "amazons3",
        build: place::build,
    }
}
