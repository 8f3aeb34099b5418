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

use super::error::CollectError;
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
        if cedar_core::interrupt_requested() {
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

/// A walk: handed the sink of selected paths, it returns its report.
pub trait WalkFn: FnOnce(&mut dyn FnMut(Item) -> ControlFlow<()>) -> WalkReport + Send {}
impl<F> WalkFn for F where F: FnOnce(&mut dyn FnMut(Item) -> ControlFlow<()>) -> WalkReport + Send {}

/// A walk running on a thread of its own, its items arriving through a bounded channel.
pub struct WalkThread<'scope> {
    handle: std::thread::ScopedJoinHandle<'scope, WalkReport>,
    root: PathBuf,
}

/// Starts `walk_fn` on a thread of `scope` (with a deep stack: the walk recurses per
/// directory level). The walk stops when the receiver is dropped.
pub fn spawn<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    root: &Path,
    walk_fn: impl WalkFn + 'scope,
) -> Result<(std::sync::mpsc::Receiver<Item>, WalkThread<'scope>), CollectError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Item>(4096);
    let handle = std::thread::Builder::new()
        .name("collect-walk".into())
        .stack_size(32 << 20)
        .spawn_scoped(scope, move || {
            walk_fn(&mut |item| match tx.send(item) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            })
        })
        .map_err(|source| CollectError::ReadDir {
            path: root.to_path_buf(),
            source,
        })?;
    Ok((
        rx,
        WalkThread {
            handle,
            root: root.to_path_buf(),
        },
    ))
}

impl std::fmt::Debug for WalkThread<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalkThread")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl WalkThread<'_> {
    /// Waits for the walk to end. A panicking walk dropped its sender, which ended the items
    /// early: that is an error, so that what was built from them is not taken for complete.
    pub fn join(self) -> Result<WalkReport, CollectError> {
        self.handle
            .join()
            .map_err(|payload| CollectError::WalkPanicked {
                path: self.root,
                message: super::panic_message(payload.as_ref()),
            })
    }
}

/// Collects a walk into a vector (for tests).
#[cfg(test)]
pub fn walk_to_vec(root: &Path, settings: WalkSettings<'_>) -> (Vec<Item>, WalkReport) {
    let mut items = Vec::new();
    let report = walk(root, settings, &mut |item| {
        items.push(item);
        ControlFlow::Continue(())
    });
    (items, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// root/f, root/flink -> f, root/dl -> ext/dt, root/sub/flink2 -> ../f,
    /// root/sub/dl2 -> ext/dt, root/sub/sub2/dl3 -> ext/dt, ext/dt/g, ext/dt/inner/h,
    /// root/ign/.ig, root/ign/x, root/broken -> nowhere.
    fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let dt = tmp.path().join("ext/dt");
        fs::create_dir_all(root.join("sub/sub2")).unwrap();
        fs::create_dir_all(root.join("ign")).unwrap();
        fs::create_dir_all(dt.join("inner")).unwrap();
        fs::write(root.join("f"), b"f").unwrap();
        fs::write(root.join("ign/.ig"), b"").unwrap();
        fs::write(root.join("ign/x"), b"").unwrap();
        fs::write(dt.join("g"), b"g").unwrap();
        fs::write(dt.join("inner/h"), b"h").unwrap();
        symlink("f", root.join("flink")).unwrap();
        symlink(&dt, root.join("dl")).unwrap();
        symlink("../f", root.join("sub/flink2")).unwrap();
        symlink(&dt, root.join("sub/dl2")).unwrap();
        symlink(&dt, root.join("sub/sub2/dl3")).unwrap();
        symlink("nowhere", root.join("broken")).unwrap();
        let real_dt = fs::canonicalize(&dt).unwrap();
        (tmp, fs::canonicalize(&root).unwrap(), real_dt)
    }

    fn run(
        root: &Path,
        link_depth: i64,
        dereference: bool,
        excludes: &Excludes,
    ) -> Vec<(String, ItemKind)> {
        let settings = WalkSettings {
            excludes,
            ignore_file: Some(OsStr::new(".ig")),
            link_depth,
            dereference,
        };
        let (items, report) = walk_to_vec(root, settings);
        assert!(report.unreadable.is_empty());
        let base = root.parent().unwrap();
        let mut out: Vec<(String, ItemKind)> = items
            .into_iter()
            .map(|i| {
                (
                    i.path.strip_prefix(base).unwrap().display().to_string(),
                    i.kind,
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    fn names(items: &[(String, ItemKind)]) -> Vec<String> {
        items
            .iter()
            .map(|(n, k)| format!("{n}{}", if *k == ItemKind::Link { "@" } else { "" }))
            .collect()
    }

    #[test]
    fn depth_zero_keeps_links_as_links_and_skips_broken_ones_and_ignored_dirs() {
        let (_tmp, root, _) = tree();
        let got = names(&run(&root, 0, false, &Excludes::default()));
        assert_eq!(
            got,
            [
                "root/dl@",
                "root/f",
                "root/flink@",
                "root/sub/dl2@",
                "root/sub/flink2@",
                "root/sub/sub2/dl3@"
            ]
        );
    }

    #[test]
    fn link_depth_counts_down_per_directory_level() {
        let (_tmp, root, _) = tree();
        // Depth 1: only links directly in the entry are followed.
        let got = names(&run(&root, 1, false, &Excludes::default()));
        assert!(got.contains(&"root/dl/g".to_string()), "{got:?}");
        assert!(got.contains(&"root/dl/inner/h".to_string()));
        assert!(
            !got.contains(&"root/dl@".to_string()),
            "a followed link is not added"
        );
        assert!(
            got.contains(&"root/sub/dl2@".to_string()),
            "one level down: depth 0"
        );
        // Depth 2: one level further.
        let got = names(&run(&root, 2, false, &Excludes::default()));
        assert!(got.contains(&"root/sub/dl2/g".to_string()), "{got:?}");
        assert!(got.contains(&"root/sub/sub2/dl3@".to_string()));
    }

    #[test]
    fn dereference_adds_real_paths_then_the_link() {
        let (_tmp, root, real_dt) = tree();
        let items = run(&root, 1, true, &Excludes::default());
        let got = names(&items);
        let base = root.parent().unwrap();
        let dt = real_dt.strip_prefix(base).unwrap().display().to_string();
        assert!(got.contains(&format!("{dt}/g")), "{got:?}");
        assert!(
            got.contains(&"root/dl@".to_string()),
            "the link follows its target"
        );
        // The file link's target is added again before the link.
        assert_eq!(got.iter().filter(|n| *n == "root/f").count(), 2, "{got:?}");
        assert!(got.contains(&"root/flink@".to_string()));
        // One level down the depth is 0: no dereferencing.
        assert!(got.contains(&"root/sub/flink2@".to_string()));
    }

    #[test]
    fn excluded_directories_are_skipped_with_their_contents() {
        let (_tmp, root, _) = tree();
        let excludes = Excludes::new(vec![root.join("sub")], vec![".*/flink".to_string()]).unwrap();
        let got = names(&run(&root, 0, false, &excludes));
        assert_eq!(got, ["root/dl@", "root/f"]);
    }

    #[test]
    fn split_subdirs_lists_real_directories_only() {
        let (_tmp, root, _) = tree();
        let mut subs = split_subdirs(&root, &Excludes::default()).unwrap();
        subs.sort();
        assert_eq!(
            subs,
            [root.join("ign"), root.join("sub")],
            "links are not split off"
        );
    }
}
