//! Why the collect action failed.

use std::path::PathBuf;

use cedar_core::{ActionError, OwnershipError};

/// Every way the collect action can fail. Messages are lowercase, name the path and say what
/// to do next; the underlying cause is the `#[source]`.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("the collect action needs an <options> section; add one to the configuration")]
    MissingOptions,
    #[error("the collect action needs a <collect> section; add one to the configuration")]
    MissingSection,
    #[error("<collect> lists no <file> or <dir> entry; add at least one to the configuration")]
    NoEntries,
    #[error("<{element}> is not set; set it in the configuration")]
    MissingValue { element: &'static str },
    #[error("collect directory {}: not a directory or does not exist on disk; create it or fix its <abs_path>", path.display())]
    NotADirectory { path: PathBuf },
    #[error("collect file {}: not a file or does not exist on disk; create it or fix its <abs_path>", path.display())]
    NotAFile { path: PathBuf },
    #[error("exclude pattern `{pattern}` cannot be used; fix the <exclude><pattern> in <collect>")]
    BadPattern {
        pattern: String,
        #[source]
        source: cedar_core::PatternError,
    },
    #[error("cannot read directory {}; check its permissions", path.display())]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create an archive in {}; check that it exists, is writable and has free space", dir.display())]
    CreateArchive {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write archive {}; check that its directory is writable and has free space (the indicator was not written; an archive of an earlier run under this name, if any, is unchanged)", path.display())]
    WriteArchive {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot flush {} to disk after renaming archive {} into it; check the file system (the indicator was not written)", dir.display(), path.display())]
    SyncDir {
        dir: PathBuf,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the traversal of {} stopped with an internal error ({message}); no archive was written under its name and the indicator was not written; please report this as a bug", path.display())]
    WalkPanicked { path: PathBuf, message: String },
    #[error("cannot write the digest file {}; check that the working_dir is writable and has free space (the digest files of this run were not put in place, so the next run archives the same changes again)", path.display())]
    WriteDigest {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot keep the incremental bookkeeping in the working_dir {} (temporary files of every path and digest of the entry); check that it is writable and has free space (no archive of this entry was written and the digest files were not advanced)", dir.display())]
    Scratch {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot put the new digest file {} in place; the archives of this run are complete, but the next run archives this entry's changes again; check the working_dir", path.display())]
    CommitDigest {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot remove the indicator {} of an earlier run (stage would take that run's archives for this one's); check the permissions of the collect_dir", path.display())]
    RemoveIndicator {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the archives cannot be handed to <options><backup_user>:<backup_group> `{user}:{group}`; nothing was written")]
    UnknownOwner {
        user: String,
        group: String,
        #[source]
        source: OwnershipError,
    },
    #[error("cannot write the indicator file {}; check that the collect_dir is writable", path.display())]
    WriteIndicator {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot change the owner of {}", path.display())]
    Ownership {
        path: PathBuf,
        #[source]
        source: OwnershipError,
    },
    #[error("{} path(s) could not be read and are missing from the archives: {}; fix their permissions or exclude them", paths.len(), list_paths(paths))]
    Unreadable { paths: Vec<PathBuf> },
    #[error("interrupted")]
    Interrupted,
}

fn list_paths(paths: &[PathBuf]) -> String {
    const SHOWN: usize = 10;
    let mut text: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > SHOWN {
        text.push(format!("and {} more (see the log)", paths.len() - SHOWN));
    }
    text.join(", ")
}

pub(crate) use cedar_core::error_chain as chain_message;

impl From<CollectError> for ActionError {
    fn from(err: CollectError) -> Self {
        match err {
            CollectError::Interrupted => ActionError::Interrupted,
            other => ActionError::with_source(chain_message(&other), other),
        }
    }
}
