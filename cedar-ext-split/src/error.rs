//! Errors of the split extension: the original's words where it has them, the file named, and
//! what to do next.

use std::path::PathBuf;

use cedar_core::{AtomicError, SectionError, StagedError};

/// What the split action reports.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// The configuration cannot serve the action (see [`SectionError`]).
    #[error(transparent)]
    Section(#[from] SectionError),
    #[error("Error [1] calling split for [{}]. {reason}", file.display())]
    Unsplittable { file: PathBuf, reason: String },
    #[error("[{}] is staged already, and splitting [{}] would overwrite it, so nothing of that directory was split: rename or remove one of them", existing.display(), file.display())]
    Collision { file: PathBuf, existing: PathBuf },
    #[error("[{}] holds a line feed in its name, which the split journal cannot record; rename it", file.display())]
    UnusableName { file: PathBuf },
    #[error("cannot read [{}]; nothing of its directory was split", file.display())]
    ReadFile {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write part [{}]; nothing of its directory was split (check the free space)", part.display())]
    Write {
        part: PathBuf,
        #[source]
        source: AtomicError,
    },
    #[error("[{}] was split, but it cannot be removed; remove it by hand", file.display())]
    Remove {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Staged(#[from] StagedError),
    #[error("interrupted; the directory being split was left as it was before")]
    Interrupted,
}

impl From<SplitError> for cedar_core::ActionError {
    fn from(err: SplitError) -> Self {
        match err {
            SplitError::Interrupted => cedar_core::ActionError::Interrupted,
            other => {
                let message = other.to_string();
                cedar_core::ActionError::with_source(message, other)
            }
        }
    }
}
