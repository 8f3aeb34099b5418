//! The collect action: archives of the configured files and directories in collect_dir.
//!
//! Semantics are the original's (see `shared/spec/actions.md`): files first, then directories,
//! each collected today according to its collect_mode; one archive per entry (or per split-off
//! subdirectory with recursion_level), named after the entry's normalized path; incremental
//! entries keep SHA-1 state in working_dir; at the end an empty `cback.collect` indicator.
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

use crate::action::{
    Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement,
};
use crate::config::{CollectMode, Config};
use crate::ownership;

use archive::{archive_file_name, write_archive, ArchiveOutcome, ArchiveSpec};
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
    full: bool,
    reset: bool,
    unreadable: Vec<PathBuf>,
}

/// Runs the collect action on `config`.
pub fn collect(config: &Config, request: CollectRequest) -> Result<(), CollectError> {
    let plan = Plan::from_config(config)?;
    archive::remove_stale_partials(&plan.collect_dir);
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
        full: request.full,
        reset,
        unreadable: Vec::new(),
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
    write_indicator(&plan)
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn write_indicator(plan: &Plan) -> Result<(), CollectError> {
    let path = plan.collect_dir.join(INDICATOR);
    tracing::debug!("Writing indicator file [{}].", path.display());
    std::fs::write(&path, b"").map_err(|source| CollectError::WriteIndicator {
        path: path.clone(),
        source,
    })?;
    if let Some((user, group)) = &plan.owner {
        ownership::change_owner(&path, user, group)
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
            owner: self
                .plan
                .owner
                .as_ref()
                .map(|(u, g)| (u.as_str(), g.as_str())),
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
            let outcome = self.streamed(&target.path, settings, &file_name, entry.archive_mode)?;
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

    /// Walks on a separate thread and writes the archive as paths arrive.
    fn streamed(
        &self,
        root: &Path,
        settings: WalkSettings<'_>,
        file_name: &str,
        mode: crate::config::ArchiveMode,
    ) -> Result<ArchiveOutcome, CollectError> {
        let spec = self.spec(file_name, mode);
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::sync_channel::<Item>(4096);
            let walker = std::thread::Builder::new()
                .name("collect-walk".into())
                .stack_size(32 << 20)
                .spawn_scoped(scope, move || {
                    walk(root, settings, &mut |item| match tx.send(item) {
                        Ok(()) => ControlFlow::Continue(()),
                        Err(_) => ControlFlow::Break(()),
                    })
                })
                .map_err(|source| CollectError::ReadDir {
                    path: root.to_path_buf(),
                    source,
                })?;
            let written = write_archive(&spec, rx.iter());
            drop(rx);
            let report = walker.join().unwrap_or_default();
            let mut outcome = written?;
            if report.stopped {
                return Err(CollectError::Interrupted);
            }
            outcome.unreadable.extend(report.unreadable);
            Ok(outcome)
        })
    }

    /// Hashes every selected file, archives the changed ones, then advances the state.
    fn incremental(
        &self,
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
        } else {
            digest::load(&digest_path)?
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
        digest::save(&digest_path, &state)?;
        tracing::debug!(
            "Wrote new digest [{}] to disk: {} entries.",
            digest_path.display(),
            state.len()
        );
        Ok(outcome)
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
