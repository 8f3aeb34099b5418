//! Errors of the amazons3 action and the sync tool: the original's words where it has them,
//! the file, key, bucket or command named, and what to do next. No credential, token or key
//! appears in them.

use std::path::PathBuf;

use cedar_core::{SectionError, StageRecordError, StagedError};

use crate::client::S3Error;
use crate::upload::UploadError;

/// What the amazons3 action reports.
#[derive(Debug, thiserror::Error)]
pub enum AmazonS3Error {
    /// The configuration cannot serve the action (see [`SectionError`]).
    #[error(transparent)]
    Section(#[from] SectionError),
    #[error("Error: the amazons3 extended action must be run as root. (run cback as root; the encrypt command runs as the backup user through su)")]
    NotRoot,
    #[error("{message} (looked for cback.stage in {}); run stage first, or use --full only on the day that was staged", tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoDirectory {
        message: &'static str,
        tried: Vec<PathBuf>,
    },
    #[error("Amazon S3 size limit exceeded: {total} > {limit} (nothing was sent; raise <{element}> or make the day smaller)")]
    TooLarge {
        total: String,
        limit: String,
        element: &'static str,
    },
    #[error("cannot read {}; check its permissions", path.display())]
    ReadTree {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The day's stage record, whose outcomes its upload marker carries.
    #[error("{source} (nothing of the day was sent)")]
    Record {
        #[from]
        source: StageRecordError,
    },
    #[error("{} has a name that is not UTF-8, which an S3 key cannot hold; rename it", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("cannot connect to S3 for s3://{bucket}: {source}")]
    Connect {
        bucket: String,
        #[source]
        source: Box<S3Error>,
    },
    #[error("{source} (the day's earlier copy in S3, if any, was left as it was)")]
    S3 {
        #[source]
        source: Box<S3Error>,
    },
    /// A request of a switch, a rollback or a put-back: what became of the day is said by
    /// the error that wraps it.
    #[error("{source}")]
    Request {
        #[source]
        source: Box<S3Error>,
    },
    #[error("cannot store [{}] as s3://{bucket}/{key}: {source} (nothing was changed in s3://{bucket}/{day_prefix}/; run amazons3 again)", path.display())]
    Upload {
        path: PathBuf,
        bucket: String,
        key: String,
        day_prefix: String,
        #[source]
        source: Box<UploadError>,
    },
    #[error("Error [{code}] encrypting [{}].{} (command run as {user}: su {user} -c '<encrypt>'; nothing was removed from S3)", path.display(), stderr_suffix(stderr))]
    EncryptCommand {
        code: String,
        path: PathBuf,
        user: String,
        stderr: String,
    },
    #[error("cannot run the encrypt command through `{}`; check <override> for su", program.display())]
    EncryptSpawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encrypt [{}] with age", path.display())]
    Age {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare the private directory {} for the encrypt command; check working_dir", path.display())]
    TempDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("File was apparently not uploaded: [{}] (s3://{bucket}/{key} is missing after the upload; run amazons3 again)", path.display())]
    Missing {
        path: PathBuf,
        bucket: String,
        key: String,
    },
    #[error("File size differs [{}], expected {expected} bytes but got {actual} bytes (s3://{bucket}/{key}; run amazons3 again)", path.display())]
    SizeDiffers {
        path: PathBuf,
        bucket: String,
        key: String,
        expected: u64,
        actual: u64,
    },
    #[error("s3://{bucket}/{key} (from [{}]) has SHA-256 {stored} in S3, but {expected} was sent; run amazons3 again", path.display())]
    ChecksumDiffers {
        path: PathBuf,
        bucket: String,
        key: String,
        expected: String,
        stored: String,
    },
    #[error("s3://{bucket}/{key} is there, but this run did not store it and did not expect it; remove it by hand and run amazons3 again")]
    Leftover { bucket: String, key: String },
    #[error("s3://{bucket}/{prefix}/ does not hold the copy it should after the server-side copies: {detail}; run amazons3 again")]
    CopyDiffers {
        bucket: String,
        prefix: String,
        detail: String,
    },
    #[error("the previous copy of s3://{bucket}/{day_prefix}/ is intact, nothing of it was changed; the new copy could not be prepared beside it: {source}")]
    NotSwitched {
        bucket: String,
        day_prefix: String,
        #[source]
        source: Box<AmazonS3Error>,
    },
    #[error("switching s3://{bucket}/{day_prefix}/ to the new copy failed: {source}; the previous copy was put back and checked, so the day holds it as before; run amazons3 again")]
    RolledBack {
        bucket: String,
        day_prefix: String,
        #[source]
        source: Box<AmazonS3Error>,
    },
    #[error("switching s3://{bucket}/{day_prefix}/ to the new copy failed ({source}), and putting back the previous copy failed too ({rollback}); the previous copy is intact in s3://{bucket}/{aside}/: the next amazons3 run puts it back before anything else, so run amazons3 again once S3 is reachable")]
    RollbackFailed {
        bucket: String,
        day_prefix: String,
        aside: String,
        #[source]
        source: Box<AmazonS3Error>,
        rollback: Box<AmazonS3Error>,
    },
    #[error("cannot put back the previous copy of s3://{bucket}/{day_prefix}/ from s3://{bucket}/{aside}/, where an unfinished switch left it: {source}; it is still intact there; run amazons3 again once S3 is reachable, or copy it back by hand")]
    PutBack {
        bucket: String,
        day_prefix: String,
        aside: String,
        #[source]
        source: Box<AmazonS3Error>,
    },
    #[error("s3://{bucket}/{day_prefix}/ holds the new copy, checked, but the marker s3://{bucket}/{marker} could not be removed: {source}; while it is there the next amazons3 run puts back the previous copy, so run `cback --full amazons3` again")]
    MarkerLeft {
        bucket: String,
        day_prefix: String,
        marker: String,
        #[source]
        source: Box<S3Error>,
    },
    #[error(transparent)]
    Staged(#[from] StagedError),
    #[error("interrupted; the day's earlier copy in S3, if any, is in place; run amazons3 again")]
    Interrupted,
}

impl AmazonS3Error {
    /// Whether an interrupt stopped the action (and it then put everything right).
    pub fn is_interrupted(&self) -> bool {
        match self {
            AmazonS3Error::Interrupted => true,
            AmazonS3Error::Upload { source, .. } => matches!(**source, UploadError::Interrupted),
            AmazonS3Error::S3 { source } => source.kind == crate::client::ErrorKind::Interrupted,
            AmazonS3Error::NotSwitched { source, .. }
            | AmazonS3Error::RolledBack { source, .. } => source.is_interrupted(),
            _ => false,
        }
    }
}

/// ` The command said: ...` when there is standard error to show.
pub fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(" The command said: {stderr}.")
    }
}

impl From<AmazonS3Error> for cedar_core::ActionError {
    fn from(err: AmazonS3Error) -> Self {
        match err {
            interrupted if interrupted.is_interrupted() => {
                tracing::warn!("{interrupted}");
                cedar_core::ActionError::Interrupted
            }
            other => {
                let message = other.to_string();
                cedar_core::ActionError::with_source(message, other)
            }
        }
    }
}
