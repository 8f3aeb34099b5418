//! Why the backup of one mbox file or directory failed.

use std::path::PathBuf;

use cedar_core::atomic::AtomicError;
use cedar_core::ext::capture::CaptureError;
use cedar_core::ext::state::StateError;

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

    /// The stamp of the last run cannot be read.
    #[error("{source}; the messages since the last run cannot be picked out from it. To recover, run `cback --full` for this action (every message, and a new stamp), or remove {} (the next run then takes every message)", path.display())]
    State {
        path: PathBuf,
        #[source]
        source: StateError,
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
