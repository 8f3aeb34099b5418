//! The PostgreSQL extension of cback: dumps databases with `pg_dump` / `pg_dumpall` into the
//! collect directory. It answers to the original's `CedarBackup3.extend.postgresql` /
//! `executeAction`, so existing configuration files work unchanged.
//!
//! What it keeps from the original: the `<postgresql>` section and its rules, the file names
//! (`postgresqldump.txt` for all databases, `postgresqldump-<database>.txt` for each named one,
//! plus `.gz` / `.bz2`), `<override>` paths, and ownership by backup_user:backup_group when
//! running as root. The decompressed files are pg_dump's output, byte for byte.
//!
//! What it does faster: pg_dump's output streams through the block-parallel compressor of
//! [`cedar_core::Compressor`] (gzip members / bzip2 streams on all cores, still read in full by
//! `gzip -d` and `bzip2 -d`; gzip at level 6 unless `<compress_level>` says otherwise), or
//! zstd's multithreaded encoder (`compress_mode` zstd, `.zst`), with bounded memory; `<jobs>`
//! dumps run at once; a summary line per dump, and a progress display on a terminal.
//!
//! What it does more safely:
//! - the user goes to libpq as `PGUSER` and the database as `PGDATABASE`, never in argv; an
//!   optional `<password_file>`, `<host>` and `<port>` become `PGPASSFILE`, `PGHOST`, `PGPORT`;
//! - a dump is written to a hidden 0600 temporary file, synced, renamed, and the directory
//!   synced ([`atomic`]); a failed dump leaves yesterday's file untouched;
//! - exit status, standard error, compressor and disk errors are all checked
//!   ([`cedar_core::StreamCommand`], [`error`]);
//! - every database is attempted, and the failures are reported together ([`error`]);
//! - finished files are 0640 when the backup group was applied, else 0600;
//! - SIGINT / SIGTERM stops pg_dump and removes the temporary file.
//!
//! What makes its output trustworthy (all optional elements, on by default where it matters):
//! - every file is read back before it takes its final name: decompressed in full and ending
//!   with pg_dump's completion marker, or accepted by pg_restore ([`verify`], `<verify>`);
//! - `postgresqldump.manifest` lists each file's size, SHA-256, versions, times and status
//!   ([`manifest`], `<manifest>`), and the `pgverify` action checks collect_dir against it
//!   ([`pgverify`]);
//! - pg_dump is matched to the server's version before anything is written ([`version`],
//!   [`prepare`]);
//! - `<all>Y<split>Y` writes the globals (0600) and one file per database, `<exclude>`
//!   honoured ([`discover`]); `<format>custom` writes `pg_dump -Fc` archives;
//! - `<config_files>Y` keeps the server's configuration files and non-default settings,
//!   read through the server, beside the dumps ([`server_config`]).
//! - `<database_options>` gives a database (or every database a pattern matches) its own
//!   format, compression, schema and table selection and extra pg_dump options, checked
//!   against an allow-list; the manifest lists what each dump leaves out ([`choices`]).
//! - a role that cannot read `pg_authid` (managed servers) gets its globals without the role
//!   passwords, said in the log, the manifest and the status ([`role_passwords`]);
//! - on a hot standby, WAL replay is paused (and confirmed paused) for the dumps and always
//!   resumed, even by the next run when this one was killed ([`standby`]).
//! - `<encrypt>` encrypts every dump as it is written, for age recipients or gpg keys
//!   ([`encrypt`]): no plaintext byte reaches the disk; the encrypted file is checked before its
//!   rename, and decrypted and checked in full with a `<verify_identity>` ([`sealed`]).
//!
//! Modules: `config` (section, rules, settings), `encrypt` (its `<encrypt>`), `sealed`, `atomic`,
//! `action` (the action itself), `prepare`, `verify`, `manifest`, `pgverify`, `version`,
//! `discover`, `role_passwords`, `standby`, `server_config`, `choices`, `tables`, `error` (the
//! terminal display is the kernel's `cedar_core::Progress`). All are private but [`restore`], the library of `cback-restore`, which is
//! an API of its own (its parts are private; its `mod.rs` names what the binary uses); the
//! `pub use` block below names the rest that other crates use.

mod action;
mod atomic;
mod choices;
mod config;
mod discover;
mod doctor;
mod encrypt;
mod error;
mod manifest;
mod metrics;
mod pgverify;
mod prepare;
pub mod restore;
mod role_passwords;
mod sealed;
mod server_config;
mod standby;
mod tables;
#[cfg(test)]
mod trust_tests;
mod verify;
mod version;

use action::PostgresqlAction;

// What other crates use: the section and its loader (`cedar-cli`'s documentation,
// `cback-restore`, the configuration tests) and the manifest's kind (the stage tests write one).
pub use action::load_settings;
pub use config::{PostgresqlSection, Settings, Target};
pub use error::PgError;
pub use manifest::KIND as MANIFEST_KIND;

use cedar_core::{ActionKind, ActionRegistration, Placement};

/// The original's module path.
pub const MODULE: &str = "CedarBackup3.extend.postgresql";

/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "postgresql",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 99, run_before: &["collect"], run_after: &[] },
        action: &PostgresqlAction,
    }
}
