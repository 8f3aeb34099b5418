//! Retention policies over backups: which dated backups a `<purge><dir>` on the staging
//! directory, or the amazons3 bucket, keeps (restic's `forget` rules, a per-peer floor, pins),
//! and the record of each peer's outcome that stage writes into a day.
//!
//! - [`Day`]: a backup's local calendar day, on the kernel's one calendar.
//! - [`Within`]: a `<keep_within>` duration (`30d`, `8w`, `6m`, `2y`).
//! - [`Policy`]: the keep elements of one place, checked.
//! - [`select`]: the decision for each backup, with the rules that keep it.
//! - [`StageRecord`]: `cback.stage.json`, each peer's outcome in a staged day.
//! - [`UploadMarker`]: a remote place's marker of how far the upload of a day got.

mod day;
mod duration;
mod marker;
mod policy;
mod record;
mod select;

pub use day::Day;
pub use duration::{DurationError, Within};
pub use marker::{copies as uploaded_copies, MarkerError, UploadMarker, UploadState, MARKER_FILE};
pub use policy::{Policy, PolicyError, PolicyValues};
pub use record::{PeerOutcome, RecordError, StageRecord, PIN_FILE, RECORD_FILE};
pub use select::{select, Backup, CopyState, Decision, Reason, Rule};
