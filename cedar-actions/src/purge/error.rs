//! Why the purge action failed.

use std::io;
use std::path::PathBuf;

use crate::collect::chain_message;
use cedar_core::{ActionError, RetentionPolicyError, StageRecordError};

/// Why the purge action failed.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("the purge action needs an <options> section; add one to the configuration")]
    MissingOptions,
    #[error("the purge action needs a <purge> section; add one to the configuration")]
    MissingSection,
    #[error("<purge><dir> entry {index} has no <{element}>; set it in the configuration")]
    MissingValue { index: usize, element: &'static str },
    #[error("purge directory {}: not a directory or does not exist on disk; create it or fix its <abs_path>", path.display())]
    NotADirectory { path: PathBuf },
    #[error("purge directory {}: refusing to purge the root directory; configure a directory below it", path.display())]
    Root { path: PathBuf },
    #[error("purge directory {}: cannot resolve it; check that it exists and is readable", path.display())]
    Resolve {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("purge directory {}: {}", path.display(), policy_place(staging_dir))]
    PolicyElsewhere {
        path: PathBuf,
        staging_dir: Option<PathBuf>,
    },
    #[error("purge directory {}: its retention policy is refused; fix it in the configuration", path.display())]
    Policy {
        path: PathBuf,
        #[source]
        source: RetentionPolicyError,
    },
    #[error("purge directory {}: cannot list its daily directories; check its permissions", path.display())]
    List {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("purge directory {}: cannot read what stage recorded for a day; nothing was removed", path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: StageRecordError,
    },
    #[error("cannot remove the staged day {}; check its permissions (the days before it were removed, the day itself may be partly removed under a hidden name that the next purge finishes)", path.display())]
    RemoveDay {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot purge a remote place's copies; the days before the one named were removed")]
    Remote {
        #[source]
        source: cedar_core::RemoteCopyError,
    },
    #[error("interrupted")]
    Interrupted,
}

/// Where keep elements belong, for [`PurgeError::PolicyElsewhere`].
pub fn policy_place(staging_dir: &Option<PathBuf>) -> String {
    let staging = match staging_dir {
        Some(dir) => format!("<stage><staging_dir> ({})", dir.display()),
        None => "<stage><staging_dir>, and there is no <stage> section".to_string(),
    };
    format!(
        "keep elements apply only to the <purge><dir> whose <abs_path> is the {staging} (and to the <amazons3> section); move them there or remove them"
    )
}

impl From<PurgeError> for ActionError {
    fn from(err: PurgeError) -> Self {
        match err {
            PurgeError::Interrupted => ActionError::Interrupted,
            other => ActionError::with_source(chain_message(&other), other),
        }
    }
}
