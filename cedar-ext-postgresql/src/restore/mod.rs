//! Restoring dumps, and restore drills (`cback-restore`).
//!
//! - [`catalog`]: what a dump file is (database, kind, format, compression, date, the
//!   manifest's status);
//! - [`source`]: the places holding copies (collect_dir, the staging tree, remote places; a
//!   new place is one more [`source::Source`]);
//! - [`day_state`]: what a copy's day (its stage record, its upload marker) says of it;
//! - [`choose`]: the copy to restore (newest good, of a day, or a given file), preferring
//!   days that hold a good copy of its peer ([`day_state`]);
//! - [`stream`]: a copy's content, decrypted and decompressed as it is read;
//! - [`sql`]: scanning (and retargeting) a plain dump on its way to psql;
//! - [`child`]: psql / pg_restore supervised, fed from the stream;
//! - [`server`]: create, drop, rename databases, queries;
//! - [`load`]: one copy into one database; [`run`]: the `restore` command;
//! - [`drill`]: the `drill` command (its results go into cback's own status file and textfile,
//!   [`cedar_core::write_drills`]);
//! - [`error`].

mod catalog;
mod child;
mod choose;
mod day_state;
mod drill;
mod error;
mod load;
mod run;
mod server;
mod source;
mod sql;
mod stream;

// What `cback-restore` uses.
pub use catalog::{DumpCopy, Kind};
pub use choose::From;
pub use day_state::DayState;
pub use drill::{drill, Outcome};
pub use error::RestoreError;
pub use run::{restore, Request};
pub use server::Server;
pub use source::{all_copies, sources};
pub(crate) use sql::quote_ident;
