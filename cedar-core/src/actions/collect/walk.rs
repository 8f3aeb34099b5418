//! Selecting what a directory entry collects: the original's traversal rules.
//!
//! - Entries of a directory come in the order the file system lists them, and a subdirectory
//!   is descended into where it is met (depth first), as the original does.
//! - A directory holding the ignore file is skipped with everything below it.
//! - Excluded paths (exact or whole-match pattern) are skipped, directories with their
//!   contents.
//! - Regular files are selected. Special files (fifos, sockets, devices) and broken soft links
//!   are not.
//! - Soft links: the link depth counts down by one for every directory level below the entry
//!   (a followed link counts as a level too). A link met at a remaining depth above 0 is
//!   followed when it points to a directory: its contents are selected under the link's own
//!   path, and the link itself is not. With dereference, the target's real path is selected
//!   instead (a directory's contents under its real path, or the target file), followed by the
//!   link itself. Any other link is selected as a link.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::exclude::{Excluded, Excludes};

/// What a selected path is archived as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A regular file (its content goes into the archive).
    File,
    /// A soft link (archived as a link).
    Link,
}

/// One selected path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub path: PathBuf,
    pub kind: ItemKind,
}

/// The traversal settings of one entry.
#[derive(Debug, Clone, Copy)]
pub struct WalkSettings<'a> {
    pub excludes: &'a Excludes,
    pub ignore_file: Option<&'a OsStr>,
    pub link_depth: i64,
    pub dereference: bool,
}

/// Paths that could not be listed, reported by name.
#[derive(Debug, Default)]
pub struct WalkReport {
    pub unreadable: Vec<PathBuf>,
    /// Set when the consumer asked to stop.
    pub stopped: bool,
}

struct Walker<'a, 'f> {
    settings: WalkSettings<'a>,
    emit: &'f mut dyn FnMut(Item) -> ControlFlow<()>,
    report: WalkReport,
}

/// Walks `root` and hands every selected path to `emit`, which may stop the walk.
pub fn walk(
    root: &Path,
    settings: WalkSettings<'_>,
    emit: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> WalkReport {
    let mut walker = Walker {
        settings,
        emit,
        report: WalkReport::default(),
    };
    let _ = walker.visit_dir(root, settings.link_depth);
    walker.report
}

fn log_excluded(path: &Path, why: Excluded<'_>) {
    match why {
        Excluded::Path => {
            tracing::debug!(
                "Path [{}] is excluded based on excludePaths.",
                path.display()
            )
        }
        Excluded::Pattern(p) => tracing::debug!(
            "Path [{}] is excluded based on pattern [{p}].",
            path.display()
        ),
    }
}

/// The names in `dir`, in the order the file system lists them, with their types.
pub(crate) fn list_dir(dir: &Path) -> io::Result<Vec<(OsString, fs::FileType)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        out.push((entry.file_name(), kind));
    }
    Ok(out)
}

impl Walker<'_, '_> {
    fn emit(&mut self, path: PathBuf, kind: ItemKind) -> ControlFlow<()> {
        if crate::interrupt::requested() {
            self.report.stopped = true;
            return ControlFlow::Break(());
        }
        let flow = (self.emit)(Item { path, kind });
        if flow.is_break() {
            self.report.stopped = true;
        }
        flow
    }

    /// Visits `dir` unless it is excluded; its links are followed while `depth` > 0.
    fn visit_dir(&mut self, dir: &Path, depth: i64) -> ControlFlow<()> {
        if let Some(why) = self.settings.excludes.check(dir) {
            log_excluded(dir, why);
            return ControlFlow::Continue(());
        }
        let entries = match list_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                tracing::warn!(
                    "Directory [{}] vanished before it was read; skipped.",
                    dir.display()
                );
                return ControlFlow::Continue(());
            }
            Err(err) => {
                tracing::warn!("Cannot read directory [{}]: {err}; skipped.", dir.display());
                self.report.unreadable.push(dir.to_path_buf());
                return ControlFlow::Continue(());
            }
        };
        if let Some(ignore) = self.settings.ignore_file {
            if entries.iter().any(|(name, _)| name == ignore) {
                tracing::debug!("Path [{}] is excluded based on ignore file.", dir.display());
                return ControlFlow::Continue(());
            }
        }
        for (name, kind) in entries {
            let child = dir.join(&name);
            if kind.is_dir() {
                self.visit_dir(&child, depth - 1)?;
                continue;
            }
            if let Some(why) = self.settings.excludes.check(&child) {
                log_excluded(&child, why);
                continue;
            }
            if kind.is_file() {
                self.emit(child, ItemKind::File)?;
            } else if kind.is_symlink() {
                self.visit_link(child, depth)?;
            } else {
                tracing::debug!(
                    "Path [{}] is not a file, directory or link; skipped.",
                    child.display()
                );
            }
        }
        ControlFlow::Continue(())
    }

    fn visit_link(&mut self, link: PathBuf, depth: i64) -> ControlFlow<()> {
        let target = match fs::metadata(&link) {
            Ok(meta) => meta,
            Err(_) => {
                tracing::debug!("Soft link [{}] is broken; skipped.", link.display());
                return ControlFlow::Continue(());
            }
        };
        if depth <= 0 {
            return self.emit(link, ItemKind::Link);
        }
        if target.is_dir() {
            if self.settings.dereference {
                match fs::canonicalize(&link) {
                    Ok(real) => self.visit_dir(&real, depth - 1)?,
                    Err(err) => tracing::warn!(
                        "Cannot resolve soft link [{}]: {err}; its target is skipped.",
                        link.display()
                    ),
                }
                self.emit(link, ItemKind::Link)
            } else {
                self.visit_dir(&link, depth - 1)
            }
        } else {
            if self.settings.dereference && target.is_file() {
                if let Ok(real) = fs::canonicalize(&link) {
                    match self.settings.excludes.check(&real) {
                        Some(why) => log_excluded(&real, why),
                        None => self.emit(real, ItemKind::File)?,
                    }
                }
            }
            self.emit(link, ItemKind::Link)
        }
    }
}

/// The subdirectories of `dir` that recursion_level splits off: real directories (not links),
/// in listing order, minus excluded ones. The ignore file is not consulted here, as in the
/// original: a split-off directory that holds it yields no archive.
pub fn split_subdirs(dir: &Path, excludes: &Excludes) -> io::Result<Vec<PathBuf>> {
    Ok(list_dir(dir)?
        .into_iter()
        .filter(|(_, kind)| kind.is_dir())
        .map(|(name, _)| dir.join(name))
        .filter(|path| match excludes.check(path) {
            Some(why) => {
                log_excluded(path, why);
                false
            }
            None => true,
        })
        .collect())
}

/// Collects a walk into a vector (for incremental mode and tests).
pub fn walk_to_vec(root: &Path, settings: WalkSettings<'_>) -> (Vec<Item>, WalkReport) {
    let mut items = Vec::new();
    let report = walk(root, settings, &mut |item| {
        items.push(item);
        ControlFlow::Continue(())
    });
    (items, report)
}
