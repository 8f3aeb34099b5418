//! Errors of the PostgreSQL extension.
//!
//! [`DumpError`] says why one dump (one database, or all of them) failed; [`PgError`] is what
//! the action as a whole reports. Messages are lowercase, name the database, path or command
//! involved, and say what to do next. Passwords never appear in them: the extension never reads
//! the password file, it only hands its path to libpq.

use std::path::PathBuf;

use cedar_core::{AtomicError, SectionError, StreamError};

use crate::config::Target;

/// Why one dump failed. The [`Target`] it belongs to is carried by [`DumpFailure`].
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The database name cannot be used in a file name.
    #[error("the database name contains `/`, which cannot be part of the file name of its dump; rename the database, or leave it out with an <exclude> (with <split>Y) or by removing its <database>, and back it up with all=Y without <split>")]
    UnusableName,

    /// Running the dump command failed: it could not be started, it failed, or its output
    /// could not be read ([`cedar_core::StreamCommand`]).
    #[error(transparent)]
    Command(StreamError),

    /// The dump's file could not be created, finished, handed to its owner or renamed
    /// ([`cedar_core::AtomicFile`]).
    #[error(transparent)]
    File(AtomicError),

    /// The compressor could not be set up (for zstd: its encoder or its threads).
    #[error("cannot start the {mode} compressor for {} (check the free memory, or pick another <compress_mode>)", path.display())]
    Compressor {
        mode: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing, compressing, flushing or syncing the dump failed (a full disk, an I/O error).
    #[error("cannot write the dump to {} (check the free space and the health of the filesystem of collect_dir)", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `<encrypt>`: the encryption could not be started or finished (gpg failed, a key is
    /// missing).
    #[error("cannot encrypt the dump into {} (check the <encrypt> recipients)", path.display())]
    Encrypt {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The finished file failed its read-back check; it never took the final name, and the
    /// previous file under that name is untouched.
    #[error(
        "the new {file} failed verification (checked before its rename), so it was discarded and the previous {file}, if any, was kept"
    )]
    Verify {
        /// The final file name the dump would have taken.
        file: String,
        #[source]
        source: Box<crate::verify::VerifyError>,
    },

    /// With `<split>Y`, a database whose dump would take the globals' file name.
    #[error("its dump would be named like the globals file {file}; dump it by name, or leave it out with <exclude>")]
    NameClash { file: String },

    /// With `<config_files>Y`, a database whose dump would take the name of the server's
    /// configuration file.
    #[error("its dump would be named like the server's configuration file {file}; rename the database, leave it out (<exclude> with <split>Y, or remove its <database>), or set <config_files>N")]
    ConfigClash { file: String },

    /// The server could not be asked for its configuration at all (`<config_files>Y`).
    #[error("cannot read the server's configuration through psql; check that the server runs and that the backup user may connect to the postgres or template1 database")]
    ServerConfig {
        #[source]
        source: crate::version::QueryError,
    },

    /// The dump was stopped by SIGINT or SIGTERM.
    #[error("interrupted")]
    Interrupted,
}

impl From<AtomicError> for DumpError {
    /// A failed write is said as a failed dump; the other failures are the file's.
    fn from(err: AtomicError) -> Self {
        match err {
            AtomicError::Write { path, source } => DumpError::Write { path, source },
            other => DumpError::File(other),
        }
    }
}

impl From<StreamError> for DumpError {
    /// A failed write is said as a failed dump; the other failures are the command's.
    fn from(err: StreamError) -> Self {
        match err {
            StreamError::Write { path, source } => DumpError::Write { path, source },
            StreamError::Interrupted => DumpError::Interrupted,
            other => DumpError::Command(other),
        }
    }
}

/// One failed dump: which one, and why.
#[derive(Debug, thiserror::Error)]
#[error("the dump of {target} failed")]
pub struct DumpFailure {
    pub target: Target,
    #[source]
    pub error: DumpError,
}

impl DumpFailure {
    /// The failure with its whole cause chain on one line (several lines when pg_dump said
    /// several things), for the aggregate message.
    pub fn full_message(&self) -> String {
        failure_message(&self.target, &self.error)
    }
}

/// `the dump of <target> failed: <error>: <causes...>`, the way [`DumpFailure::full_message`]
/// says it, for a failure not (yet) wrapped in a [`DumpFailure`].
pub fn failure_message(target: &Target, error: &DumpError) -> String {
    format!(
        "the dump of {target} failed: {}",
        cedar_core::error_chain(error)
    )
}

/// Why the PostgreSQL action failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The configuration cannot serve the action: a standard section missing, the
    /// `<postgresql>` section unreadable or breaking the rules, the backup owner unknown.
    #[error(transparent)]
    Section(#[from] SectionError),

    /// The `<encrypt><verify_identity>` file cannot be used.
    #[error("cannot use the identity file {} of <postgresql><encrypt><verify_identity>: {reason}", path.display())]
    VerifyIdentity { path: PathBuf, reason: String },

    /// The password file cannot be used.
    #[error("cannot use the password file {}: {reason}; fix <postgresql><password_file>", path.display())]
    PasswordFile { path: PathBuf, reason: String },

    /// One or more dumps failed; the others were written.
    #[error("{}", dumps_message(failures, *attempted))]
    Dumps {
        attempted: usize,
        failures: Vec<DumpFailure>,
    },

    /// No pg_dump new enough for the server; nothing was written.
    #[error(transparent)]
    Version(crate::version::TooOld),

    /// The databases of the cluster could not be listed for `<split>Y`; nothing was written.
    #[error(transparent)]
    Discover(crate::discover::DiscoverError),

    /// The hot standby was refused, could not be paused, or could not be resumed.
    #[error(transparent)]
    Standby(crate::standby::StandbyError),

    /// The manifest could not be written (the dumps themselves were).
    #[error(transparent)]
    Manifest(cedar_core::ManifestError),

    /// `<options><shrink_warning>` or `<options><shrink_fail>` is not a fraction.
    #[error(transparent)]
    ShrinkLimits(#[from] cedar_core::ShrinkError),

    /// Dumps smaller than `<options><shrink_fail>` of their median (they were written).
    #[error(transparent)]
    Shrunk(#[from] cedar_core::ShrinkCheckError),

    /// Stopped by SIGINT or SIGTERM.
    #[error("interrupted")]
    Interrupted,
}

fn dumps_message(failures: &[DumpFailure], attempted: usize) -> String {
    let mut text = if failures.len() == attempted && attempted == 1 {
        "the PostgreSQL dump failed".to_string()
    } else if failures.len() == attempted {
        format!("all {attempted} PostgreSQL dumps failed")
    } else {
        format!(
            "{} of {attempted} PostgreSQL dumps failed (the others were written)",
            failures.len()
        )
    };
    text.push_str("; fix the cause and run the action again");
    for failure in failures {
        text.push_str("\n- ");
        text.push_str(&failure.full_message());
    }
    text
}

impl From<PgError> for cedar_core::ActionError {
    /// The runner prefixes "action postgresql failed" and prints the `#[source]` chain, so the
    /// message is the error's own text, and the only variant with a cause passes it on.
    fn from(err: PgError) -> Self {
        use cedar_core::ActionError;
        match err {
            PgError::Interrupted => ActionError::Interrupted,
            // The runner leaves out a cause whose text the message already holds.
            PgError::Section(err) => ActionError::with_source(err.to_string(), err),
            PgError::Discover(err) => ActionError::with_source(err.to_string(), err.source),
            PgError::Standby(err) => ActionError::with_source(err.to_string(), err),
            // The runner leaves out a cause whose text the message already holds.
            PgError::Manifest(err) => ActionError::with_source(err.to_string(), err),
            other => ActionError::failed(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_name_points_at_exclude() {
        let text = failure_message(&Target::Database("a/b".into()), &DumpError::UnusableName);
        assert!(
            text.starts_with("the dump of database [a/b] failed: "),
            "{text}"
        );
        assert!(text.contains("<exclude>"), "{text}");
    }
}
