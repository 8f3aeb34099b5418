//! Why the backup of one mbox file or directory failed.

use std::path::PathBuf;

use cedar_core::{AtomicError, CaptureError, StateError};

#[derive(Debug, thiserror::Error)]
pub enum MboxError {
    /// A configured `<file>` that is not there (grepmail would only warn and the original
    /// writes an empty file).
    #[error("the mbox file {} does not exist or is not a file; fix <mbox><file><abs_path> or remove the entry", path.display())]
    MissingFile { path: PathBuf },

    /// A `<dir>` that is not a directory.
    #[error("Path is not a directory or does not exist on disk: {}; fix <mbox><dir><abs_path>", path.display())]
    NotADirectory { path: PathBuf },

    /// A `<dir>` without a single file.
    #[error("Empty list cannot be used to generate tarfile: {} holds no mbox file; remove the <dir> or exclude nothing", path.display())]
    EmptyDirectory { path: PathBuf },

    #[error("cannot list the mbox directory {}", path.display())]
    List {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot make a temporary directory in working_dir {}", dir.display())]
    TempDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// grepmail failed (or could not start), or the file could not be written.
    #[error("Error executing grepmail on {}: {source}", path.display())]
    Grepmail {
        path: PathBuf,
        #[source]
        source: CaptureError,
    },

    #[error("cannot write the tar file {}", path.display())]
    Tar {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The stamp of the last run could not be read: every message was taken instead and a
    /// good stamp written, as by the original, but the item still fails so that the night's
    /// status says so.
    #[error("{source}; every message was taken instead ({}) and a new stamp was written, so tonight is backed up and the next run goes on from it. Nothing to do unless it happens again; then check the disk of working_dir and what else writes {}", output.display(), path.display())]
    StateReplaced {
        path: PathBuf,
        output: PathBuf,
        #[source]
        source: Box<StateError>,
    },

    #[error("the messages were written, but the state file {} could not be (the next incremental run would take too much): {source}; fix working_dir", path.display())]
    WriteState {
        path: PathBuf,
        #[source]
        source: AtomicError,
    },

    #[error(transparent)]
    File(#[from] CaptureError),

    #[error("interrupted")]
    Interrupted,
}
