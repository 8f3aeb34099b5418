//! Errors of the mysql extension. No message ever holds the password: it only lives in the
//! temporary option file.

use std::path::PathBuf;

use cedar_core::CaptureError;

use crate::defaults::DefaultsError;

/// Why the action could not start its dumps; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum MysqlError {
    #[error(transparent)]
    Defaults(#[from] DefaultsError),

    /// The privilege check could not log in.
    #[error("cannot log in to MySQL{} to check its privileges: `{}` {status}{}; check <mysql><user> and <password>, or the [client] stanza of ~/.my.cnf; nothing was written", user_text(user), program.display(), cedar_core::stderr_suffix(stderr_tail))]
    Login {
        user: Option<String>,
        program: PathBuf,
        status: String,
        stderr_tail: String,
    },

    /// The user lacks privileges the dumps need.
    #[error("the MySQL user{} lacks {}; grant them (e.g. GRANT RELOAD, SELECT, LOCK TABLES ON *.* TO ...) and run again; nothing was written", user_text(user), missing.join(", "))]
    Privileges {
        user: Option<String>,
        missing: Vec<String>,
    },

    #[error("interrupted")]
    Interrupted,
}

fn user_text(user: &Option<String>) -> String {
    match user {
        Some(user) => format!(" [{user}]"),
        None => " (the one of ~/.my.cnf)".to_string(),
    }
}

/// Why one dump failed.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("the database name contains `/`, which cannot be part of the file name of its dump; rename the database, or back it up with <all>Y")]
    UnusableName,
    #[error("Error executing MySQL database dump: {0}")]
    Dump(#[source] CaptureError),
}
