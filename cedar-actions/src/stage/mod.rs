//! The stage action: the master copies every peer's collect directory into one dated tree,
//! `STAGING_DIR/YYYY/MM/DD/PEER/` (see `shared/spec/actions.md`).
//!
//! As the original: peers from `<stage>`, else `<peers>` ([`peer`]); the daily directory and the
//! peers' directories, owned by the backup user as root ([`daily`]); the ready check through
//! `cback.collect`; `ignore_failures`; local peers copied file by file ([`local`]), remote peers
//! with the rcp command in the original's form ([`remote`]); `cback.stage` in each staged peer's
//! collect_dir and, at the end, in the daily directory.
//!
//! Better than the original: a peer that fails (and is not ignored) fails the action with exit
//! 6, naming every such peer and the cause, after all other peers were staged; no final name in
//! the staging tree ever holds a partial copy; staged dumps are checked against the peer's
//! `postgresqldump.manifest` ([`verify`]); one status entry per peer. A peer that fails stages
//! nothing of this run, and a re-run on the same day is not an error (the original's "did not
//! copy any new files" is not repeated: the copy goes into an empty directory, so what it
//! brought is known exactly).

mod daily;
mod doctor;
pub(crate) mod dry_run;
mod error;
mod local;
mod peer;
mod remote;
mod run;
mod verify;

use run::{Staged, INDICATOR};
