//! Why the backup of one Subversion repository (or repository directory) failed.

use std::path::PathBuf;

use cedar_core::{AtomicError, CaptureError, StateError};

#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// `svnlook` could not be started.
    #[error("cannot run `{}` (install subversion, or point an <override> in <options> at svnlook)", program.display())]
    SvnlookSpawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `svnlook youngest` failed: usually not a repository, or not readable.
    #[error("Error executing 'svnlook youngest': `{}` {status}{}; check that it is a Subversion repository readable by this user", program.display(), cedar_core::stderr_suffix(stderr_tail))]
    Svnlook {
        program: PathBuf,
        status: String,
        stderr_tail: String,
    },

    /// `svnlook youngest` printed something other than one revision number.
    #[error("Unable to parse 'svnlook youngest' output: {output:?}")]
    Youngest { output: String },

    /// The dump itself failed; the previous dump file, if any, is untouched.
    #[error("Error executing Subversion dump: {0}")]
    Dump(#[source] CaptureError),

    /// The last revision saved by the previous run could not be read: the repository was
    /// dumped from revision 0 instead and a good state file written, as by the original, but
    /// the item still fails so that the night's status says so.
    #[error("{source}; the repository was dumped from revision 0 instead ({}) and a new state file was written, so tonight is backed up and the next run goes on from it. Nothing to do unless it happens again; then check the disk of working_dir and what else writes {}", dump.display(), path.display())]
    StateReplaced {
        path: PathBuf,
        dump: PathBuf,
        #[source]
        source: Box<StateError>,
    },

    /// The new state file could not be written; the dump was.
    #[error("the dump was written, but the state file {} could not be (the next incremental run would repeat revisions): {source}; fix working_dir", path.display())]
    WriteState {
        path: PathBuf,
        #[source]
        source: AtomicError,
    },

    /// A `<repository_dir>` that is not a directory.
    #[error("Path is not a directory or does not exist on disk: {}; fix <repository_dir><abs_path>", path.display())]
    NotADirectory { path: PathBuf },

    /// A `<repository_dir>` that cannot be listed.
    #[error("cannot list the repository directory {}", path.display())]
    List {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Stopped by SIGINT or SIGTERM.
    #[error("interrupted")]
    Interrupted,
}
