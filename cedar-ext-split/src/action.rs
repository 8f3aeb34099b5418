//! The split action: in every daily directory without `cback.split`, each backup file larger
//! than size_limit becomes the parts `NAME_00000`, `NAME_00001`, ... beside it.
//!
//! One directory at a time, all or nothing: the parts about to be written are listed in
//! `cback.split.journal`; each part is written under a hidden temporary name, synced, handed
//! to the backup user (as root), given mode 0666 less the umask and renamed; only when every
//! file of the directory is split are the originals removed, `cback.split` written and the
//! journal removed. A failure removes this run's parts. A run killed between these steps
//! leaves the journal, and the next run never takes a listed part for a file to split.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use cedar_core::{
    backup_files, daily_dirs, journal_safe, write_indicator, Action, ActionContext, ActionError,
    AfterStage, AtomicFile, ConfigFile, ExtensionSection, FileMode, FileOwner, Options,
    SectionError, StagedJournal,
};

use crate::config::{Settings, SplitSection, SECTION};
use crate::error::SplitError;

/// The indicator written into a daily directory once it is split.
pub const INDICATOR: &str = "cback.split";

/// The most parts a file may have: five decimal digits of suffix, as split's.
pub const MAX_PARTS: u64 = 100_000;

/// The action registered as `split` (`CedarBackup3.extend.split.executeAction`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SplitAction;

impl Action for SplitAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx.config, ctx.options).map_err(ActionError::from)
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        SplitSection::validate(ctx.config)
    }
}

/// Reads and checks the `<split>` section.
pub fn load_settings(config: &ConfigFile) -> Result<Settings, SectionError> {
    SplitSection::load(config)
}

/// `NAME_00007`: the name of part `index` of `name`.
pub fn part_name(name: &std::ffi::OsStr, index: u64) -> std::ffi::OsString {
    let mut part = name.to_os_string();
    part.push(format!("_{index:05}"));
    part
}

struct SplitRun<'a> {
    settings: Settings,
    owner: Option<FileOwner<'a>>,
    ids: Option<(nix::unistd::Uid, nix::unistd::Gid)>,
    mode: u32,
}

/// Runs the action.
pub fn run(config: &ConfigFile, _options: &Options) -> Result<(), SplitError> {
    let standard = AfterStage::load(SECTION, config)?;
    let site = SplitRun {
        settings: load_settings(config)?,
        owner: standard.owner(),
        ids: standard.ids,
        mode: standard.mode,
    };
    for daily in daily_dirs(standard.staging_dir)? {
        if daily.join(INDICATOR).exists() {
            tracing::debug!(
                "Skipping already-split staging directory [{}].",
                daily.display()
            );
            continue;
        }
        split_dir(&site, &daily)?;
    }
    tracing::info!("Executed the split extended action successfully.");
    Ok(())
}

/// One file to split: its path, size and part count.
struct Job {
    file: PathBuf,
    size: u64,
    parts: u64,
}

fn split_dir(site: &SplitRun<'_>, daily: &Path) -> Result<(), SplitError> {
    tracing::debug!("Splitting large files in [{}].", daily.display());
    let mut journal = StagedJournal::open(daily, "split")?;
    let relative = |p: &Path| p.strip_prefix(daily).unwrap_or(p).to_path_buf();
    let part_bytes = site.settings.part_bytes();
    let mut jobs = Vec::new();
    for file in backup_files(daily)? {
        if journal.lists(&relative(&file)) {
            continue;
        }
        let size = std::fs::metadata(&file)
            .map_err(|source| SplitError::ReadFile {
                file: file.clone(),
                source,
            })?
            .len();
        if (size as f64) <= site.settings.size_limit {
            continue;
        }
        if part_bytes == 0 {
            return Err(SplitError::Unsplittable {
                file,
                reason: format!(
                    "split refuses a part size of {} bytes; set <split_size> to at least 1 byte",
                    site.settings.split_size
                ),
            });
        }
        let parts = size.div_ceil(part_bytes).max(1);
        if parts > MAX_PARTS {
            return Err(SplitError::Unsplittable {
                file,
                reason: format!(
                    "it would need {parts} parts, more than the {MAX_PARTS} five-digit suffixes allow; raise <split_size>"
                ),
            });
        }
        jobs.push(Job { file, size, parts });
    }
    let mut planned = Vec::new();
    for job in &jobs {
        for index in 0..job.parts {
            let part = part_path(&job.file, index);
            if !journal_safe(&relative(&part)) {
                return Err(SplitError::UnusableName {
                    file: job.file.clone(),
                });
            }
            if std::fs::symlink_metadata(&part).is_ok() && !journal.lists(&relative(&part)) {
                return Err(SplitError::Collision {
                    file: job.file.clone(),
                    existing: part,
                });
            }
            planned.push(relative(&part));
        }
    }
    if jobs.is_empty() {
        write_indicator(daily, INDICATOR, site.ids)?;
        return Ok(());
    }
    journal.record(planned)?;

    let mut written = Vec::new();
    for job in &jobs {
        let result = split_file(site, job, &mut written);
        if let Err(err) = result {
            for part in &written {
                if let Err(e) = std::fs::remove_file(part) {
                    tracing::warn!("Cannot remove [{}]: {e}", part.display());
                }
            }
            if written.iter().all(|p| !p.exists()) {
                if let Err(e) = journal.finish() {
                    tracing::warn!("{e}");
                }
            }
            return Err(err);
        }
    }
    for job in &jobs {
        std::fs::remove_file(&job.file).map_err(|source| SplitError::Remove {
            file: job.file.clone(),
            source,
        })?;
        tracing::debug!("Completed removing old file [{}].", job.file.display());
    }
    write_indicator(daily, INDICATOR, site.ids)?;
    journal.finish()?;
    Ok(())
}

fn part_path(file: &Path, index: u64) -> PathBuf {
    file.with_file_name(part_name(file.file_name().unwrap_or_default(), index))
}

/// Writes every part of `job`; each finished part is pushed onto `written`.
fn split_file(
    site: &SplitRun<'_>,
    job: &Job,
    written: &mut Vec<PathBuf>,
) -> Result<(), SplitError> {
    let read_error = |source| SplitError::ReadFile {
        file: job.file.clone(),
        source,
    };
    let part_bytes = site.settings.part_bytes();
    let dir = job.file.parent().unwrap_or(Path::new("."));
    let source = File::open(&job.file).map_err(read_error)?;
    // A part holds what its file held: never readable by more than the file was (split's
    // 0666 less the umask would make parts of a 0640 archive world-readable).
    let file_mode = source.metadata().map_err(read_error)?.permissions().mode() & 0o777;
    let mode = site.mode & file_mode;
    let mut input = BufReader::with_capacity(1 << 20, source);
    let mut remaining = job.size;
    for index in 0..job.parts {
        if cedar_core::interrupt_requested() {
            return Err(SplitError::Interrupted);
        }
        let part = part_path(&job.file, index);
        let write_error = |source| SplitError::Write {
            part: part.clone(),
            source,
        };
        let name = part
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let temp = AtomicFile::create(dir, &name).map_err(write_error)?;
        let length = remaining.min(part_bytes);
        let mut writer = temp.writer().map_err(|e| write_error(io_write(&part, e)))?;
        let copied = std::io::copy(&mut (&mut input).take(length), &mut writer)
            .map_err(|e| write_error(io_write(&part, e)))?;
        if copied != length {
            return Err(read_error(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being split",
            )));
        }
        writer
            .flush()
            .map_err(|e| write_error(io_write(&part, e)))?;
        writer
            .finish()
            .map_err(|e| write_error(io_write(&part, e)))?;
        let done = temp
            .commit_with(site.owner, FileMode::Exact(mode))
            .map_err(write_error)?;
        written.push(done);
        remaining -= length;
    }
    tracing::debug!(
        "Split [{}] into {} part(s) of at most {part_bytes} bytes.",
        job.file.display(),
        job.parts
    );
    Ok(())
}

fn io_write(path: &Path, source: std::io::Error) -> cedar_core::AtomicError {
    cedar_core::AtomicError::Write {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::dir_names;

    fn site(limit: f64, size: f64) -> SplitRun<'static> {
        SplitRun {
            settings: Settings {
                size_limit: limit,
                split_size: size,
            },
            owner: None,
            ids: None,
            mode: 0o644,
        }
    }

    #[test]
    fn parts_are_never_readable_by_more_than_their_file() {
        let root = tempfile::tempdir().unwrap();
        let daily = root.path();
        std::fs::write(daily.join("secret.tar"), vec![7u8; 2500]).unwrap();
        std::fs::set_permissions(
            daily.join("secret.tar"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        std::fs::write(daily.join("open.tar"), vec![8u8; 2500]).unwrap();
        std::fs::set_permissions(
            daily.join("open.tar"),
            std::fs::Permissions::from_mode(0o666),
        )
        .unwrap();
        split_dir(&site(1000.0, 1024.0), daily).unwrap();
        let mode = |name: &str| {
            std::fs::metadata(daily.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        for part in ["secret.tar_00000", "secret.tar_00001", "secret.tar_00002"] {
            assert_eq!(mode(part), 0o640, "{part}");
        }
        // A file more open than split's own mode: the parts get split's (0644 here).
        assert_eq!(mode("open.tar_00000"), 0o644);
    }

    #[test]
    fn parts_as_split_names_them() {
        let root = tempfile::tempdir().unwrap();
        let daily = root.path();
        let data: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(daily.join("big [x]+$(y)'q"), &data).unwrap();
        std::fs::write(daily.join("limit"), vec![1u8; 1000]).unwrap();
        std::fs::write(daily.join("just-over"), vec![2u8; 1001]).unwrap();
        split_dir(&site(1000.0, 1024.5), daily).unwrap();
        assert_eq!(
            dir_names(daily),
            vec![
                "big [x]+$(y)'q_00000",
                "big [x]+$(y)'q_00001",
                "big [x]+$(y)'q_00002",
                "cback.split",
                "just-over_00000",
                "limit",
            ]
        );
        let mut joined = Vec::new();
        for i in 0..3 {
            joined.extend(std::fs::read(daily.join(format!("big [x]+$(y)'q_0000{i}"))).unwrap());
        }
        assert_eq!(joined, data);
        assert_eq!(
            std::fs::metadata(daily.join("big [x]+$(y)'q_00002"))
                .unwrap()
                .len(),
            2500 - 2048
        );
    }

    #[test]
    fn a_part_size_under_one_byte_fails_like_split() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("f"), b"abc").unwrap();
        let err = split_dir(&site(1.0, 0.5), root.path()).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "Error [1] calling split for [{}].",
                root.path().join("f").display()
            )),
            "{err}"
        );
        assert_eq!(dir_names(root.path()), vec!["f"]);
    }
}
