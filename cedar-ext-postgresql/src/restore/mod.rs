//! Restoring dumps, and restore drills (`cback-restore`).
//!
//! - [`catalog`]: what a dump file is (database, kind, format, compression, date, the
//!   manifest's status);
//! - [`source`]: the places holding copies (collect_dir, the staging tree; a new place is one
//!   more [`source::Source`]);
//! - [`choose`]: the copy to restore (newest good, of a day, or a given file);
//! - [`stream`]: a copy's content, decrypted and decompressed as it is read;
//! - [`sql`]: scanning (and retargeting) a plain dump on its way to psql;
//! - [`child`]: psql / pg_restore supervised, fed from the stream;
//! - [`server`]: create, drop, rename databases, queries;
//! - [`load`]: one copy into one database; [`run`]: the `restore` command;
//! - [`drill`]: the `drill` command (its results go into cback's own status file and textfile,
//!   [`cedar_core::status::write_drills`]);
//! - [`error`].

pub mod catalog;
pub mod child;
pub mod choose;
pub mod drill;
pub mod error;
pub mod load;
pub mod run;
pub mod server;
pub mod source;
pub mod sql;
pub mod stream;

pub use error::RestoreError;
