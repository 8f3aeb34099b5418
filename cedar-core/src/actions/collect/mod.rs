//! The collect action: archives of the configured files and directories in collect_dir.
//!
//! Semantics are the original's (see `shared/spec/actions.md`): files first, then directories,
//! each collected today according to its collect_mode; one archive per entry (or per split-off
//! subdirectory with recursion_level), named after the entry's normalized path; incremental
//! entries keep SHA-1 state in working_dir; at the end an empty `cback.collect` indicator.
//!
//! Failure: the indicator of an earlier run is removed first, so that stage never takes a
//! failed run's collect_dir for a good one; archives appear under their final names only when
//! complete; the incremental state is put in place only after the indicator is written, so a
//! failed run does not advance it (issue #4); and an unknown backup user or group stops the
//! run before anything is written.
//!
//! Speed: daily and weekly entries are streamed (the traversal runs on its own thread while
//! the archive is written, so memory does not grow with the tree); compression runs on all
//! cores; incremental digests are computed on all cores.

pub mod archive;
pub mod compress;
pub mod digest;
pub mod display;
pub mod error;
pub mod exclude;
pub mod normalize;
pub mod pickle;
pub mod plan;
pub mod tar;
pub mod today;
pub mod walk;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use nix::unistd::{Gid, Uid};

use crate::action::{
    Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement,
};
use crate::config::{CollectMode, Config};
use crate::ownership;

use archive::{archive_file_name, build_archive, write_archive, ArchiveOutcome, ArchiveSpec};
pub use error::CollectError;
use normalize::normalize_name;
use plan::{collected_today, expand, reset_digest, DirEntry, FileEntry, Plan, Target};
pub use today::Today;
use walk::{walk, walk_to_vec, Item, ItemKind, WalkSettings};

/// The indicator file written into collect_dir at the end.
pub const INDICATOR: &str = "cback.collect";

/// How a run is asked for.
#[derive(Debug, Clone, Copy)]
pub struct CollectRequest {
    /// `--full`: every entry, incremental state reset.
    pub full: bool,
    pub today: Today,
}

struct Run<'a> {
    plan: &'a Plan,
    /// backup_user:backup_group, when running as root.
    owner: Option<(Uid, Gid)>,
    full: bool,
    reset: bool,
    unreadable: Vec<PathBuf>,
    /// New incremental state, put in place when the whole run succeeded.
    pending: Vec<digest::PendingDigest>,
}

/// Runs the collect action on `config`.
pub fn collect(config: &Config, request: CollectRequest) -> Result<(), CollectError> {
    let plan = Plan::from_config(config)?;
    remove_indicator(&plan.collect_dir)?;
    archive::remove_stale_partials(&plan.collect_dir);
    digest::remove_stale(&plan.working_dir);
    let owner = resolve_owner(&plan)?;
    let starting_day = request.today.is_starting_day(plan.starting_day);
    let reset = reset_digest(request.full, starting_day);
    tracing::debug!("Full backup flag is [{}]", py_bool(request.full));
    if starting_day {
        tracing::debug!("Today is the start of the week.");
    } else {
        tracing::debug!("Today is NOT the start of the week.");
    }
    tracing::debug!("Reset digest flag is [{}]", py_bool(reset));
    let mut run = Run {
        plan: &plan,
        owner,
        full: request.full,
        reset,
        unreadable: Vec::new(),
        pending: Vec::new(),
    };
    for entry in &plan.files {
        if crate::interrupt::requested() {
            return Err(CollectError::Interrupted);
        }
        if collected_today(entry.collect_mode, run.full, starting_day) {
            run.collect_file(entry)?;
        } else {
            tracing::debug!(
                "File [{}] will not be backed up today, per collect mode.",
                entry.path.display()
            );
        }
    }
    for entry in &plan.dirs {
        if crate::interrupt::requested() {
            return Err(CollectError::Interrupted);
        }
        if collected_today(entry.collect_mode, run.full, starting_day) {
            run.collect_dir(entry)?;
        } else {
            tracing::debug!(
                "Directory [{}] will not be backed up today, per collect mode.",
                entry.path.display()
            );
        }
    }
    if !run.unreadable.is_empty() {
        return Err(CollectError::Unreadable {
            paths: run.unreadable,
        });
    }
    write_indicator(&plan, owner)?;
    commit_digests(&plan.working_dir, run.pending)
}

/// Removes the indicator an earlier run left, so that a failure of this run is not taken for
/// success by stage.
fn remove_indicator(collect_dir: &Path) -> Result<(), CollectError> {
    let path = collect_dir.join(INDICATOR);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            tracing::debug!(
                "Removed the indicator [{}] of an earlier run.",
                path.display()
            );
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        // A read-only file system refuses even to remove what is not there.
        Err(_)
            if std::fs::symlink_metadata(&path)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
        {
            Ok(())
        }
        Err(source) => Err(CollectError::RemoveIndicator { path, source }),
    }
}

/// backup_user and backup_group as ids, looked up once before anything is written; `None`
/// when not running as root (ownership is then left alone).
fn resolve_owner(plan: &Plan) -> Result<Option<(Uid, Gid)>, CollectError> {
    let Some((user, group)) = &plan.owner else {
        return Ok(None);
    };
    if !ownership::running_as_root() {
        return Ok(None);
    }
    ownership::lookup(user, group)
        .map(Some)
        .map_err(|source| CollectError::UnknownOwner {
            user: user.clone(),
            group: group.clone(),
            source,
        })
}

/// Puts the new incremental state of the run in place, then syncs working_dir.
fn commit_digests(
    working_dir: &Path,
    pending: Vec<digest::PendingDigest>,
) -> Result<(), CollectError> {
    if pending.is_empty() {
        return Ok(());
    }
    let mut first_error = None;
    for state in pending {
        let path = state.path().to_path_buf();
        match state.commit() {
            Ok(()) => tracing::debug!("Put the new digest [{}] in place.", path.display()),
            // The others still go in place: each is a complete state of its own entry.
            Err(err) => {
                tracing::error!("{}", error::chain_message(&err));
                first_error.get_or_insert(err);
            }
        }
    }
    if let Some(err) = first_error {
        return Err(err);
    }
    crate::fsutil::sync_dir(working_dir).map_err(|source| CollectError::CommitDigest {
        path: working_dir.to_path_buf(),
        source,
    })
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic".to_string()
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn write_indicator(plan: &Plan, owner: Option<(Uid, Gid)>) -> Result<(), CollectError> {
    let path = plan.collect_dir.join(INDICATOR);
    tracing::debug!("Writing indicator file [{}].", path.display());
    std::fs::write(&path, b"").map_err(|source| CollectError::WriteIndicator {
        path: path.clone(),
        source,
    })?;
    if let Some((uid, gid)) = owner {
        ownership::apply(&path, uid, gid)
            .map_err(|source| CollectError::Ownership { path, source })?;
    }
    Ok(())
}

impl Run<'_> {
    fn spec<'s>(&'s self, file_name: &'s str, mode: crate::config::ArchiveMode) -> ArchiveSpec<'s> {
        ArchiveSpec {
            collect_dir: &self.plan.collect_dir,
            file_name,
            mode,
            owner: self.owner,
        }
    }

    fn collect_file(&mut self, entry: &FileEntry) -> Result<(), CollectError> {
        let path = &entry.path;
        tracing::debug!("Working with collect file [{}]", path.display());
        let meta = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .ok_or_else(|| CollectError::NotAFile { path: path.clone() })?;
        let normalized = normalize_name(&path.to_string_lossy());
        let file_name = archive_file_name(&normalized, entry.archive_mode);
        let items = vec![Item {
            path: path.clone(),
            kind: ItemKind::File,
        }];
        let outcome = if entry.collect_mode == CollectMode::Incr {
            self.incremental(
                &normalized,
                &file_name,
                entry.archive_mode,
                items,
                |_, _| {
                    tracing::info!(
                        "Backing up file [{}] ({}).",
                        path.display(),
                        display::display_bytes(meta.len())
                    );
                },
            )?
        } else {
            tracing::info!(
                "Backing up file [{}] ({}).",
                path.display(),
                display::display_bytes(meta.len())
            );
            write_archive(&self.spec(&file_name, entry.archive_mode), items)?
        };
        self.unreadable.extend(outcome.unreadable);
        tracing::info!("Completed collecting file [{}]", path.display());
        Ok(())
    }

    fn collect_dir(&mut self, entry: &DirEntry) -> Result<(), CollectError> {
        tracing::debug!("Working with collect directory [{}]", entry.path.display());
        if !entry.path.is_dir() {
            return Err(CollectError::NotADirectory {
                path: entry.path.clone(),
            });
        }
        let targets = expand(&entry.path, entry.recursion_level, &entry.excludes)?;
        for target in &targets {
            if crate::interrupt::requested() {
                return Err(CollectError::Interrupted);
            }
            tracing::info!("Collecting directory [{}]", target.path.display());
            self.collect_target(entry, target)?;
        }
        tracing::info!("Completed collecting directory [{}]", entry.path.display());
        Ok(())
    }

    fn collect_target(&mut self, entry: &DirEntry, target: &Target) -> Result<(), CollectError> {
        let normalized = normalize_name(&target.path.to_string_lossy());
        let file_name = archive_file_name(&normalized, entry.archive_mode);
        let settings = WalkSettings {
            excludes: &target.excludes,
            ignore_file: entry.ignore_file.as_deref(),
            link_depth: entry.link_depth,
            dereference: entry.dereference,
        };
        let outcome = if entry.collect_mode == CollectMode::Incr {
            let (items, report) = walk_to_vec(&target.path, settings);
            if report.stopped {
                return Err(CollectError::Interrupted);
            }
            self.unreadable.extend(report.unreadable);
            let path = &target.path;
            self.incremental(
                &normalized,
                &file_name,
                entry.archive_mode,
                items,
                |count, bytes| {
                    tracing::info!(
                        "Backing up {count} files in [{}] ({}).",
                        path.display(),
                        display::display_bytes(bytes)
                    );
                },
            )?
        } else {
            let root = &target.path;
            let outcome = self.streamed(root, &file_name, entry.archive_mode, |emit| {
                walk(root, settings, emit)
            })?;
            tracing::info!(
                "Backing up {} files in [{}] ({}).",
                outcome.members,
                target.path.display(),
                display::display_bytes(outcome.bytes)
            );
            outcome
        };
        if let Some(path) = &outcome.path {
            tracing::debug!("Wrote archive [{}].", path.display());
        }
        self.unreadable.extend(outcome.unreadable);
        Ok(())
    }

    /// Walks on a separate thread (`walk_fn`, handed the sink of selected paths) and writes the
    /// archive as paths arrive. The archive takes its final name only when the walk ended
    /// normally: a walk that was interrupted or panicked leaves nothing under that name.
    fn streamed<W>(
        &self,
        root: &Path,
        file_name: &str,
        mode: crate::config::ArchiveMode,
        walk_fn: W,
    ) -> Result<ArchiveOutcome, CollectError>
    where
        W: FnOnce(&mut dyn FnMut(Item) -> ControlFlow<()>) -> walk::WalkReport + Send,
    {
        let spec = self.spec(file_name, mode);
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::sync_channel::<Item>(4096);
            let walker = std::thread::Builder::new()
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
            let built = build_archive(&spec, rx.iter());
            drop(rx);
            // A panicking walker drops its sender, which ends the archive early: the archive
            // (removed when `built` is dropped) must not be taken for a complete one.
            let report = walker
                .join()
                .map_err(|payload| CollectError::WalkPanicked {
                    path: root.to_path_buf(),
                    message: panic_message(payload.as_ref()),
                })?;
            let (mut outcome, built) = built?;
            if report.stopped {
                return Err(CollectError::Interrupted);
            }
            if let Some(built) = built {
                outcome.path = Some(built.persist()?);
            }
            outcome.unreadable.extend(report.unreadable);
            Ok(outcome)
        })
    }

    /// Hashes every selected file, archives the changed ones, then advances the state.
    fn incremental(
        &mut self,
        normalized: &str,
        file_name: &str,
        mode: crate::config::ArchiveMode,
        items: Vec<Item>,
        announce: impl FnOnce(u64, u64),
    ) -> Result<ArchiveOutcome, CollectError> {
        let digest_path = digest::digest_path(&self.plan.working_dir, normalized);
        tracing::debug!("Digest path is [{}]", digest_path.display());
        let previous = if self.reset {
            tracing::debug!("Resetting digest for [{}].", digest_path.display());
            digest::DigestMap::new()
        } else if let Some(earlier) = self.pending.iter().rev().find(|p| p.path() == digest_path) {
            // Another entry of this run with the same normalized name: its new state, as if
            // it were already in place.
            earlier.to_map()
        } else {
            digest::load(&digest_path)
        };
        let digests = digest::hash_items(&items, compress::worker_count());
        if crate::interrupt::requested() {
            return Err(CollectError::Interrupted);
        }
        let changed = digest::changed(&items, &digests, &previous);
        let state = digest::new_state(&items, &digests);
        let unchanged = changed.iter().filter(|c| !**c).count();
        tracing::debug!("Removed {unchanged} unchanged files based on digest values.");
        let mut count = 0u64;
        let mut bytes = 0u64;
        let selected: Vec<Item> = items
            .into_iter()
            .zip(changed)
            .zip(&digests)
            .filter(|((_, keep), _)| *keep)
            .map(|((item, _), digest)| {
                count += 1;
                bytes += digest.as_ref().map_or(0, |(_, size)| *size);
                item
            })
            .collect();
        announce(count, bytes);
        let outcome = write_archive(&self.spec(file_name, mode), selected)?;
        let entries = state.len();
        self.pending.push(digest::stage(&digest_path, state)?);
        tracing::debug!(
            "Wrote new digest [{}] to disk: {entries} entries (put in place when the run \
             succeeds).",
            digest_path.display()
        );
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ArchiveMode, Weekday};

    fn plan(dir: &Path) -> Plan {
        Plan {
            collect_dir: dir.join("out"),
            working_dir: dir.join("work"),
            starting_day: Weekday::Monday,
            owner: None,
            files: Vec::new(),
            dirs: Vec::new(),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn file_item(dir: &Path, name: &str) -> Item {
        let path = dir.join(name);
        std::fs::write(&path, name).unwrap();
        Item {
            path,
            kind: ItemKind::File,
        }
    }

    #[test]
    fn a_walker_panic_fails_the_entry_and_leaves_no_archive() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("out")).unwrap();
        let plan = plan(tmp.path());
        let run = Run {
            plan: &plan,
            owner: None,
            full: false,
            reset: false,
            unreadable: Vec::new(),
            pending: Vec::new(),
        };
        let first = file_item(tmp.path(), "a");
        let err = run
            .streamed(tmp.path(), "x.tar", ArchiveMode::Tar, move |emit| {
                let _ = emit(first);
                panic!("walker bug");
            })
            .unwrap_err();
        assert!(
            matches!(&err, CollectError::WalkPanicked { message, .. } if message == "walker bug"),
            "{err:?}"
        );
        assert!(err.to_string().contains("internal error"), "{err}");
        assert!(
            names(&plan.collect_dir).is_empty(),
            "{:?}",
            names(&plan.collect_dir)
        );

        // The same walk ending normally gives the archive.
        let first = file_item(tmp.path(), "a");
        let outcome = run
            .streamed(tmp.path(), "x.tar", ArchiveMode::Tar, move |emit| {
                let _ = emit(first);
                walk::WalkReport::default()
            })
            .unwrap();
        assert_eq!(outcome.members, 1);
        assert_eq!(names(&plan.collect_dir), ["x.tar"]);
    }
}

#[derive(Debug)]
struct CollectAction;

impl Action for CollectAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        tracing::debug!("Executing the 'collect' action.");
        let request = CollectRequest {
            full: ctx.options.full,
            today: Today::current(),
        };
        collect(&ctx.config.config, request)?;
        tracing::info!("Executed the 'collect' action successfully.");
        Ok(())
    }
}

inventory::submit! {
    ActionRegistration {
        name: "collect",
        kind: ActionKind::Builtin,
        placement: Placement { index: 100, run_before: &[], run_after: &[] },
        action: &CollectAction,
    }
}
