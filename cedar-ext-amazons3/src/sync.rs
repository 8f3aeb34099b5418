//! The sync tool (`cback-amazons3-sync SOURCE_DIR S3_URL`, the original's
//! `cback3-amazons3-sync`): one directory mirrored into S3, outside the backup cycle.
//!
//! As the original: the source must be a directory; every file is uploaded whose object is
//! missing, of another size or older than the file (the rules of `aws s3 sync`); objects
//! whose file is gone are removed unless `--uploadOnly`; `--verifyOnly` changes nothing; the
//! check lists the prefix and wants every file with its size.
//!
//! Better: the native client ([`crate::client`]) with checksums and multipart ([`crate::upload`]);
//! `s3://bucket` and trailing slashes work (the original's check fails on both); the file
//! name check refuses only names that cannot be S3 keys (not UTF-8), instead of guessing
//! encodings and refusing valid UTF-8 names.
//!
//! On a terminal (and without `--quiet`) the upload draws the amazons3 action's progress line
//! ([`crate::objects_line`]): objects and bytes sent of those to send, the rate, the time
//! left, the files being sent, and the summary at the end. Nothing is drawn elsewhere, and
//! the log is the same either way.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use cedar_core::Progress;

use crate::client::{ConnectOptions, S3Error, S3};
use crate::objects_line::ObjectsLine;
use crate::pipeline;
use crate::upload::{self, UploadError};

/// What to do.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub source: PathBuf,
    pub url: String,
    pub verify_only: bool,
    pub upload_only: bool,
    pub ignore_warnings: bool,
    pub part_size: u64,
    /// How many files are uploaded at once (`--jobs`).
    pub jobs: usize,
}

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("Source directory does not exist on disk. ({})", path.display())]
    NoSource { path: PathBuf },
    #[error("[{url}] is not an S3 URL; give s3://BUCKET or s3://BUCKET/PREFIX")]
    BadUrl { url: String },
    #[error("{count} file name(s) below {} are not UTF-8 and cannot be S3 keys, the first [{}]; rename them, or pass --ignoreWarnings to leave them out", dir.display(), String::from_utf8_lossy(first.as_os_str().as_bytes()))]
    Encoding {
        dir: PathBuf,
        first: PathBuf,
        count: usize,
    },
    #[error("cannot read {}; check its permissions", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Error calling S3 to synchronize bucket: {source}")]
    S3 {
        #[source]
        source: Box<S3Error>,
    },
    #[error("cannot upload [{}] to {url}: {source}", path.display())]
    Upload {
        path: PathBuf,
        url: String,
        #[source]
        source: Box<UploadError>,
    },
    #[error("There were differences between source directory and target S3 bucket. ({count} problem(s), listed above; run the sync again)")]
    Differences { count: usize },
}

/// `s3://BUCKET[/PREFIX]` without trailing slashes: bucket and prefix (possibly empty).
pub fn parse_url(url: &str) -> Result<(String, String), SyncError> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| SyncError::BadUrl {
        url: url.to_string(),
    })?;
    let rest = rest.trim_end_matches('/');
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(SyncError::BadUrl {
            url: url.to_string(),
        });
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

/// One local file.
#[derive(Debug, Clone)]
struct Local {
    path: PathBuf,
    key: String,
    size: u64,
    modified: i64,
}

/// The regular files below `dir` (links followed), and the names that are not UTF-8.
fn walk(
    dir: &Path,
    prefix: &str,
    files: &mut Vec<Local>,
    bad: &mut Vec<PathBuf>,
) -> Result<(), SyncError> {
    let read_error = |path: &Path, source| SyncError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| read_error(dir, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            bad.push(path);
            continue;
        };
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(read_error(&path, err)),
        };
        if meta.is_dir() {
            walk(&path, &key, files, bad)?;
        } else if meta.is_file() {
            use std::os::unix::fs::MetadataExt;
            files.push(Local {
                path,
                key,
                size: meta.len(),
                modified: meta.mtime(),
            });
        }
    }
    Ok(())
}

/// Totals of a sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncTotals {
    pub uploaded: u64,
    pub bytes: u64,
    pub removed: u64,
}

/// Runs the tool's steps; the connection options say whose AWS configuration is read, and
/// `progress` shows the upload.
pub fn run(
    request: &SyncRequest,
    connect: &ConnectOptions,
    progress: &Progress,
) -> Result<SyncTotals, SyncError> {
    if !request.source.is_dir() {
        return Err(SyncError::NoSource {
            path: request.source.clone(),
        });
    }
    let (bucket, prefix) = parse_url(&request.url)?;
    let mut files = Vec::new();
    let mut bad = Vec::new();
    walk(&request.source, &prefix, &mut files, &mut bad)?;
    if !bad.is_empty() {
        if request.ignore_warnings {
            for path in &bad {
                tracing::warn!(
                    "Leaving out [{}]: its name is not UTF-8.",
                    String::from_utf8_lossy(path.as_os_str().as_bytes())
                );
            }
        } else {
            for path in &bad {
                tracing::error!(
                    "Inconsistent encoding for [{}]: not UTF-8, which an S3 key must be",
                    String::from_utf8_lossy(path.as_os_str().as_bytes())
                );
            }
            return Err(SyncError::Encoding {
                dir: request.source.clone(),
                first: bad[0].clone(),
                count: bad.len(),
            });
        }
    }
    let s3 = S3::connect(connect, &bucket).map_err(|source| SyncError::S3 {
        source: Box::new(source),
    })?;
    let list_prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let mut totals = SyncTotals::default();
    if !request.verify_only {
        tracing::info!("Synchronizing local source directory up to Amazon S3.");
        if request.upload_only {
            tracing::info!("Sync process will only upload new data, never removing files in S3");
        } else {
            tracing::info!(
                "This will be a full sync process, removing any S3 files that do not exist in the source"
            );
        }
        let remote: BTreeMap<String, crate::client::Listed> = s3
            .list(&list_prefix)
            .map_err(|source| SyncError::S3 {
                source: Box::new(source),
            })?
            .into_iter()
            .map(|l| (l.key.clone(), l))
            .collect();
        let stale: Vec<Local> = files
            .iter()
            .filter(|file| match remote.get(&file.key) {
                None => true,
                Some(object) => {
                    object.size != file.size || object.modified.is_some_and(|m| file.modified > m)
                }
            })
            .cloned()
            .collect();
        let line = std::sync::Arc::new(ObjectsLine::start(
            progress,
            "amazons3-sync",
            stale.iter().map(|file| file.size),
        ));
        let work = {
            let (s3, url, part_size) = (s3.clone(), request.url.clone(), request.part_size);
            let line = std::sync::Arc::clone(&line);
            move |file: Local| {
                let sent = line
                    .send(&file.key, |sent| {
                        upload::upload_file(&s3, &file.key, &file.path, part_size, sent)
                    })
                    .map_err(|source| SyncError::Upload {
                        path: file.path.clone(),
                        url: url.clone(),
                        source: Box::new(source),
                    })?;
                tracing::debug!(
                    "Uploaded [{}] to s3://{}/{}.",
                    file.path.display(),
                    s3.bucket(),
                    file.key
                );
                Ok(sent.bytes)
            }
        };
        pipeline::run(
            &s3,
            request.jobs,
            stale,
            work,
            |bytes: &u64| {
                totals.uploaded += 1;
                totals.bytes += bytes;
                line.stored();
            },
            |file: &Local| SyncError::Upload {
                path: file.path.clone(),
                url: request.url.clone(),
                source: Box::new(UploadError::Interrupted),
            },
        )?;
        // The log has the tool's own summary line (at the end of the run).
        line.finish();
        if !request.upload_only {
            let local: std::collections::BTreeSet<&str> =
                files.iter().map(|f| f.key.as_str()).collect();
            let gone: Vec<String> = remote
                .keys()
                .filter(|k| !local.contains(k.as_str()))
                .cloned()
                .collect();
            if !gone.is_empty() {
                s3.delete(&gone).map_err(|source| SyncError::S3 {
                    source: Box::new(source),
                })?;
                totals.removed = gone.len() as u64;
                tracing::info!("Removed {} object(s) whose file is gone.", gone.len());
            }
        }
    }
    verify(&s3, &list_prefix, &files)?;
    Ok(totals)
}

/// Every local file must be listed with its size.
fn verify(s3: &S3, list_prefix: &str, files: &[Local]) -> Result<(), SyncError> {
    tracing::info!("Verifying Amazon S3 bucket contents.");
    let listed: BTreeMap<String, u64> = s3
        .list(list_prefix)
        .map_err(|source| SyncError::S3 {
            source: Box::new(source),
        })?
        .into_iter()
        .map(|l| (l.key, l.size))
        .collect();
    let mut problems = 0;
    for file in files {
        match listed.get(&file.key) {
            None => {
                tracing::error!(
                    "File was apparently not uploaded: [{}]",
                    file.path.display()
                );
                problems += 1;
            }
            Some(size) if *size != file.size => {
                tracing::error!(
                    "File size differs [{}]: expected {} bytes but got {size} bytes",
                    file.path.display(),
                    file.size
                );
                problems += 1;
            }
            Some(_) => {}
        }
    }
    if problems > 0 {
        tracing::error!("There were differences between source directory and target S3 bucket.");
        return Err(SyncError::Differences { count: problems });
    }
    tracing::info!("Completed verifying Amazon S3 bucket contents (no problems found).");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_and_without_prefix_or_slash() {
        assert_eq!(parse_url("s3://b/p/q").unwrap(), ("b".into(), "p/q".into()));
        assert_eq!(parse_url("s3://b/p/").unwrap(), ("b".into(), "p".into()));
        assert_eq!(parse_url("s3://b").unwrap(), ("b".into(), String::new()));
        assert_eq!(parse_url("s3://b/").unwrap(), ("b".into(), String::new()));
        assert!(parse_url("http://b/p").is_err());
        assert!(parse_url("s3:///p").is_err());
    }
}
