//! Errors of the amazons3 action and the sync tool: the original's words where it has them,
//! the file, key, bucket or command named, and what to do next. No credential, token or key
//! appears in them.

use std::path::PathBuf;

use cedar_core::ownership::OwnershipError;
use cedar_core::staged::StagedError;
use cedar_core::ConfigError;

use crate::client::S3Error;
use crate::upload::UploadError;

/// What the amazons3 action reports.
#[derive(Debug, thiserror::Error)]
pub enum AmazonS3Error {
    #[error("Cedar Backup configuration is not properly filled in. (the amazons3 action needs {missing} in {})", path.display())]
    Incomplete {
        path: PathBuf,
        missing: &'static str,
    },
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: Box<ConfigError>,
    },
    #[error("{message} (in the <amazons3> section of {}; fix it and run again)", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("Error: the amazons3 extended action must be run as root. (run cback as root; the encrypt command runs as the backup user through su)")]
    NotRoot,
    #[error(
        "the backup user or group does not exist; fix <options><backup_user> and <backup_group>"
    )]
    Owner(#[source] OwnershipError),
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
    #[error("cannot store [{}] as s3://{bucket}/{key}: {source} (nothing was removed from s3://{bucket}/{day_prefix}/; run amazons3 again)", path.display())]
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
    #[error("s3://{bucket}/{key} is still there after the stale objects of the day were removed; remove it by hand")]
    Leftover { bucket: String, key: String },
    #[error(transparent)]
    Staged(#[from] StagedError),
    #[error("interrupted; the day's earlier copy in S3, if any, was left as it was")]
    Interrupted,
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
            AmazonS3Error::Interrupted => cedar_core::ActionError::Interrupted,
            AmazonS3Error::Upload { ref source, .. }
                if matches!(**source, UploadError::Interrupted) =>
            {
                cedar_core::ActionError::Interrupted
            }
            other => {
                let message = other.to_string();
                cedar_core::ActionError::with_source(message, other)
            }
        }
    }
}
