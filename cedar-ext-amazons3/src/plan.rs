//! What a run stores: the day's directory, its backup files and their object keys.
//!
//! - **Which directory** ([`pick_day`]): with `--full`, today's `STAGING/YYYY/MM/DD` when it
//!   holds `cback.stage`; otherwise the first of today, yesterday and tomorrow that holds
//!   `cback.stage` and not `cback.amazons3`, as the original.
//! - **Which files** ([`files`]): every regular file below it, links followed, except files
//!   whose name starts with `cback.` and anything inside a `cback.*` directory. (The original
//!   also leaves out other paths matching `*cback.*`, such as `mycback.txt`, and then fails
//!   its own check; cback stores them.)
//! - **Keys**: `PREFIX/YYYY/MM/DD/REL` (`YYYY/MM/DD/REL` without a prefix), with `s3_bucket`'s
//!   prefix exactly as configured.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use cedar_core::{is_reserved, Today};

use crate::error::AmazonS3Error;

/// The indicator of the original's stage action.
pub const STAGE_INDICATOR: &str = "cback.stage";
/// This action's indicator.
pub const INDICATOR: &str = "cback.amazons3";

/// The directory picked and the day it belongs to.
#[derive(Debug, Clone)]
pub struct Day {
    pub dir: PathBuf,
    /// `YYYY/MM/DD`.
    pub date: String,
}

/// `YYYY/MM/DD` of `day`.
pub fn date_path(day: &Today) -> String {
    day.rel_path()
}

/// Picks the directory to store (see the module documentation) and logs the choice as the
/// original does.
pub fn pick_day(
    staging_dir: &Path,
    today: &Today,
    full: bool,
    warn_midnite: bool,
) -> Result<Day, AmazonS3Error> {
    let day_of = |d: &Today| Day {
        dir: staging_dir.join(date_path(d)),
        date: date_path(d),
    };
    if full {
        let day = day_of(today);
        if day.dir.is_dir() && day.dir.join(STAGE_INDICATOR).exists() {
            tracing::info!(
                "Amazon S3 process will use current day's staging directory [{}]",
                day.dir.display()
            );
            return Ok(day);
        }
        return Err(AmazonS3Error::NoDirectory {
            message:
                "Unable to find staging directory to process (only tried today due to full option).",
            tried: vec![day.dir],
        });
    }
    let candidates = [
        (today.days_after(0), "current"),
        (today.days_after(-1), "previous"),
        (today.days_after(1), "next"),
    ];
    let mut tried = Vec::new();
    for (candidate, which) in candidates {
        let day = day_of(&candidate);
        if day.dir.is_dir()
            && day.dir.join(STAGE_INDICATOR).exists()
            && !day.dir.join(INDICATOR).exists()
        {
            tracing::info!(
                "Amazon S3 process will use {which} day's staging directory [{}]",
                day.dir.display()
            );
            if which != "current" && warn_midnite {
                tracing::warn!("Warning: Amazon S3 process crossed midnite boundary to find data.");
            }
            return Ok(day);
        }
        tried.push(day.dir);
    }
    Err(AmazonS3Error::NoDirectory {
        message:
            "Unable to find unused staging directory to process (tried today, yesterday, tomorrow).",
        tried,
    })
}

/// One file to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub path: PathBuf,
    /// The path below the day's directory, `/`-separated.
    pub relative: String,
    pub size: u64,
}

/// The backup files below `dir`, links followed (a link loop is not followed twice), sorted.
pub fn files(dir: &Path) -> Result<Vec<Item>, AmazonS3Error> {
    let mut items = Vec::new();
    let mut ancestors = HashSet::new();
    walk(dir, "", &mut ancestors, &mut items)?;
    Ok(items)
}

fn walk(
    dir: &Path,
    relative: &str,
    ancestors: &mut HashSet<(u64, u64)>,
    items: &mut Vec<Item>,
) -> Result<(), AmazonS3Error> {
    let read_error = |path: &Path, source| AmazonS3Error::ReadTree {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(dir).map_err(|e| read_error(dir, e))?;
    if !ancestors.insert((meta.dev(), meta.ino())) {
        tracing::warn!("Not following [{}] again: a link loop.", dir.display());
        return Ok(());
    }
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| read_error(dir, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if is_reserved(&name) {
            continue;
        }
        let path = entry.path();
        let name = name
            .into_string()
            .map_err(|_| AmazonS3Error::NotUtf8 { path: path.clone() })?;
        let rel = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        // Links are followed: the target's content is stored under the link's name.
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!("Skipping [{}]: a link to nothing.", path.display());
                continue;
            }
            Err(err) => return Err(read_error(&path, err)),
        };
        if meta.is_dir() {
            walk(&path, &rel, ancestors, items)?;
        } else if meta.is_file() {
            items.push(Item {
                path,
                relative: rel,
                size: meta.len(),
            });
        }
    }
    ancestors.remove(&(meta.dev(), meta.ino()));
    Ok(())
}

/// `DAYPREFIX`: `PREFIX/DATE`, or `DATE` without a prefix.
pub fn day_prefix(prefix: &str, date: &str) -> String {
    if prefix.is_empty() {
        date.to_string()
    } else {
        format!("{prefix}/{date}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn the_day_picked_as_the_original_picks_it() {
        let root = tempfile::tempdir().unwrap();
        let s = root.path();
        let today = Today::parse("2026-03-01").unwrap();
        assert!(pick_day(s, &today, false, false).is_err());
        fs::create_dir_all(s.join("2026/02/28")).unwrap();
        fs::write(s.join("2026/02/28/cback.stage"), b"").unwrap();
        fs::create_dir_all(s.join("2026/03/02")).unwrap();
        fs::write(s.join("2026/03/02/cback.stage"), b"").unwrap();
        let day = pick_day(s, &today, false, true).unwrap();
        assert_eq!(day.date, "2026/02/28");
        fs::write(s.join("2026/02/28/cback.amazons3"), b"").unwrap();
        assert_eq!(
            pick_day(s, &today, false, false).unwrap().date,
            "2026/03/02"
        );
        let err = pick_day(s, &today, true, false).unwrap_err();
        assert!(err.to_string().starts_with(
            "Unable to find staging directory to process (only tried today due to full option)."
        ));
        fs::create_dir_all(s.join("2026/03/01")).unwrap();
        fs::write(s.join("2026/03/01/cback.stage"), b"").unwrap();
        fs::write(s.join("2026/03/01/cback.amazons3"), b"").unwrap();
        assert_eq!(pick_day(s, &today, true, false).unwrap().date, "2026/03/01");
        fs::write(s.join("2026/03/02/cback.amazons3"), b"").unwrap();
        let err = pick_day(s, &today, false, false).unwrap_err();
        assert!(err.to_string().starts_with(
            "Unable to find unused staging directory to process (tried today, yesterday, tomorrow)."
        ));
    }

    #[test]
    fn files_follow_links_and_skip_reserved_names() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("day");
        fs::create_dir_all(d.join("host1/sub")).unwrap();
        fs::create_dir_all(d.join("cback.x")).unwrap();
        fs::create_dir_all(root.path().join("outside")).unwrap();
        fs::write(root.path().join("outside/o"), b"ooo").unwrap();
        fs::write(d.join("host1/a.tar.gz"), b"aa").unwrap();
        fs::write(d.join("host1/cback.collect"), b"").unwrap();
        fs::write(d.join("host1/sub/b"), b"b").unwrap();
        fs::write(d.join("cback.x/hidden"), b"h").unwrap();
        fs::write(d.join("cback.stage"), b"").unwrap();
        fs::write(d.join("mycback.txt"), b"m").unwrap();
        symlink(d.join("host1/a.tar.gz"), d.join("link")).unwrap();
        symlink(root.path().join("outside"), d.join("linked-dir")).unwrap();
        symlink(&d, d.join("host1/loop")).unwrap();
        symlink(root.path().join("nothing"), d.join("dangling")).unwrap();
        let items = files(&d).unwrap();
        let rels: Vec<(&str, u64)> = items
            .iter()
            .map(|i| (i.relative.as_str(), i.size))
            .collect();
        assert_eq!(
            rels,
            vec![
                ("host1/a.tar.gz", 2),
                ("host1/sub/b", 1),
                ("link", 2),
                ("linked-dir/o", 3),
                ("mycback.txt", 1)
            ]
        );
        assert_eq!(day_prefix("", "2026/12/01"), "2026/12/01");
        assert_eq!(day_prefix("staging", "2026/12/01"), "staging/2026/12/01");
        assert_eq!(day_prefix("staging/", "2026/12/01"), "staging//2026/12/01");
    }
}
