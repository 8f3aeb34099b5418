use super::{archive, count, digest, error, incremental, plan, sort, walk};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};

use cedar_core::{
    apply_ownership, display_bytes, lookup_owner, running_as_root, Action, ActionContext,
    ActionError, ActionKind, ActionRegistration, CollectMode, Config, Placement, Progress,
    ProgressBar,
};

use archive::{archive_file_name, build_archive, write_archive, ArchiveOutcome, ArchiveSpec};
use cedar_core::{compress_worker_count, normalize_name, Today};
use error::CollectError;
use plan::{expand, reset_digest, DirEntry, FileEntry, Plan, Target};
use walk::{walk, Item, ItemKind};

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
    /// Memory limits of the incremental bookkeeping.
    limits: sort::Limits,
    /// The files and bytes archived so far, and the directory or file being archived.
    bar: &'a ProgressBar,
}

/// Runs the collect action on `config`, showing its progress on `progress`; logs its summary
/// line when it succeeds.
pub fn collect(
    config: &Config,
    request: CollectRequest,
    progress: &Progress,
) -> Result<(), CollectError> {
    let plan = Plan::from_config(config)?;
    let starting_day = request.today.is_starting_day(plan.starting_day);
    let bar = progress.start(archive::archived());
    // On a terminal, the totals are counted beside the archiving and drawn once known.
    count::beside(&plan, request.full, starting_day, &bar, || {
        collect_plan(&plan, request, sort::Limits::default(), &bar)
    })?;
    bar.conclude(&bar.summary("Collected"));
    Ok(())
}

/// Runs the collect action on a resolved plan; `limits` bound the memory of the incremental
/// bookkeeping; `bar` counts what is archived.
fn collect_plan(
    plan: &Plan,
    request: CollectRequest,
    limits: sort::Limits,
    bar: &ProgressBar,
) -> Result<(), CollectError> {
    remove_indicator(&plan.collect_dir)?;
    archive::remove_stale_partials(&plan.collect_dir);
    digest::remove_stale(&plan.working_dir);
    let owner = resolve_owner(plan)?;
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
        plan,
        owner,
        full: request.full,
        reset,
        unreadable: Vec::new(),
        pending: Vec::new(),
        limits,
        bar,
    };
    for entry in &plan.files {
        if cedar_core::interrupt_requested() {
            return Err(CollectError::Interrupted);
        }
        if entry.collect_mode.backs_up_today(run.full, starting_day) {
            run.collect_file(entry)?;
        } else {
            tracing::debug!(
                "File [{}] will not be backed up today, per collect mode.",
                entry.path.display()
            );
        }
    }
    for entry in &plan.dirs {
        if cedar_core::interrupt_requested() {
            return Err(CollectError::Interrupted);
        }
        if entry.collect_mode.backs_up_today(run.full, starting_day) {
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
    write_indicator(plan, owner)?;
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
    if !running_as_root() {
        return Ok(None);
    }
    lookup_owner(user, group)
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
    cedar_core::sync_dir(working_dir).map_err(|source| CollectError::CommitDigest {
        path: working_dir.to_path_buf(),
        source,
    })
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
        apply_ownership(&path, uid, gid)
            .map_err(|source| CollectError::Ownership { path, source })?;
    }
    Ok(())
}

impl Run<'_> {
    fn spec<'s>(&'s self, file_name: &'s str, mode: cedar_core::ArchiveMode) -> ArchiveSpec<'s> {
        ArchiveSpec {
            collect_dir: &self.plan.collect_dir,
            file_name,
            mode,
            owner: self.owner,
            scratch_dir: &self.plan.working_dir,
            progress: self.bar,
        }
    }

    fn collect_file(&mut self, entry: &FileEntry) -> Result<(), CollectError> {
        let path = &entry.path;
        tracing::debug!("Working with collect file [{}]", path.display());
        self.bar.now_on(&path.to_string_lossy());
        let meta = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .ok_or_else(|| CollectError::NotAFile { path: path.clone() })?;
        let normalized = normalize_name(&path.to_string_lossy());
        let file_name = archive_file_name(&normalized, entry.archive_mode);
        let item = Item {
            path: path.clone(),
            kind: ItemKind::File,
        };
        let outcome = if entry.collect_mode == CollectMode::Incr {
            let single = item.clone();
            self.incremental(
                &normalized,
                &file_name,
                entry.archive_mode,
                path,
                move |emit| {
                    let _ = emit(single);
                    walk::WalkReport::default()
                },
                |_, _| {
                    tracing::info!(
                        "Backing up file [{}] ({}).",
                        path.display(),
                        display_bytes(meta.len() as f64)
                    );
                },
            )?
        } else {
            tracing::info!(
                "Backing up file [{}] ({}).",
                path.display(),
                display_bytes(meta.len() as f64)
            );
            write_archive(&self.spec(&file_name, entry.archive_mode), [item])?
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
            if cedar_core::interrupt_requested() {
                return Err(CollectError::Interrupted);
            }
            tracing::info!("Collecting directory [{}]", target.path.display());
            self.bar.now_on(&target.path.to_string_lossy());
            self.collect_target(entry, target)?;
        }
        tracing::info!("Completed collecting directory [{}]", entry.path.display());
        Ok(())
    }

    fn collect_target(&mut self, entry: &DirEntry, target: &Target) -> Result<(), CollectError> {
        let normalized = normalize_name(&target.path.to_string_lossy());
        let file_name = archive_file_name(&normalized, entry.archive_mode);
        let settings = entry.walk_settings(target);
        let outcome = if entry.collect_mode == CollectMode::Incr {
            let root = &target.path;
            self.incremental(
                &normalized,
                &file_name,
                entry.archive_mode,
                root,
                |emit| walk(root, settings, emit),
                |count, bytes| {
                    tracing::info!(
                        "Backing up {count} files in [{}] ({}).",
                        root.display(),
                        display_bytes(bytes as f64)
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
                display_bytes(outcome.bytes as f64)
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
        mode: cedar_core::ArchiveMode,
        walk_fn: W,
    ) -> Result<ArchiveOutcome, CollectError>
    where
        W: walk::WalkFn,
    {
        let spec = self.spec(file_name, mode);
        std::thread::scope(|scope| {
            let (rx, walker) = walk::spawn(scope, root, walk_fn)?;
            let built = build_archive(&spec, rx.iter());
            drop(rx);
            // A panicking walker drops its sender, which ends the archive early: the archive
            // (removed when `built` is dropped) must not be taken for a complete one.
            let report = walker.join()?;
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

    /// Walks (`walk_fn`, as for [`Run::streamed`]), hashes every selected file, archives the
    /// changed ones, and stages the new state (put in place when the whole run succeeds).
    /// Memory stays bounded: see [`incremental`].
    fn incremental<W>(
        &mut self,
        normalized: &str,
        file_name: &str,
        mode: cedar_core::ArchiveMode,
        root: &Path,
        walk_fn: W,
        announce: impl FnOnce(u64, u64),
    ) -> Result<ArchiveOutcome, CollectError>
    where
        W: walk::WalkFn,
    {
        let working_dir = &self.plan.working_dir;
        let scratch = |source: std::io::Error| {
            if incremental::is_interrupt(&source) {
                return CollectError::Interrupted;
            }
            CollectError::Scratch {
                dir: working_dir.clone(),
                source,
            }
        };
        let digest_path = digest::digest_path(working_dir, normalized);
        tracing::debug!("Digest path is [{}]", digest_path.display());
        let incremental::Scan {
            log,
            digests,
            report,
        } = incremental::scan(
            working_dir,
            self.limits,
            compress_worker_count(),
            root,
            walk_fn,
        )?;
        self.unreadable.extend(report.unreadable);
        let previous = if self.reset {
            tracing::debug!("Resetting digest for [{}].", digest_path.display());
            sort::Sorter::new(working_dir, self.limits).finish()
        } else if let Some(earlier) = self.pending.iter().rev().find(|p| p.path() == digest_path) {
            // Another entry of this run with the same normalized name: its new state, as if
            // it were already in place.
            incremental::previous(earlier.temp_path(), working_dir, self.limits)
        } else {
            incremental::previous(&digest_path, working_dir, self.limits)
        }
        .map_err(scratch)?;
        if cedar_core::interrupt_requested() {
            return Err(CollectError::Interrupted);
        }
        let mut selected = sort::Sorter::new(working_dir, self.limits);
        let mut staging = digest::Staging::begin(&digest_path)?;
        let compared = incremental::compare(
            digests,
            previous,
            |file, digest| staging.push(file, digest),
            &mut selected,
        )
        .map_err(|err| match err {
            incremental::CompareError::Scratch(source) => scratch(source),
            incremental::CompareError::State(source) => staging.error(source),
        })?;
        let pending = staging.finish(self.owner)?;
        tracing::debug!(
            "Removed {} unchanged files based on digest values.",
            compared.unchanged
        );
        // Changed files, links and unreadable files, each path once.
        announce(selected.len(), compared.changed_bytes);
        let mut replay =
            incremental::Replay::new(log, selected.finish().map_err(scratch)?).map_err(scratch)?;
        let (mut outcome, built) = build_archive(&self.spec(file_name, mode), &mut replay)?;
        if let Some(err) = replay.error.take() {
            // `built` is dropped: the incomplete archive is removed.
            return Err(scratch(err));
        }
        if let Some(built) = built {
            outcome.path = Some(built.persist()?);
        }
        tracing::debug!(
            "Wrote new digest [{}] to disk: {} entries (put in place when the run succeeds).",
            digest_path.display(),
            compared.entries
        );
        self.pending.push(pending);
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::exclude;
    use cedar_core::{dir_names, ArchiveMode, Weekday};
    use std::os::unix::ffi::OsStrExt;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

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

    fn file_item(dir: &Path, name: &str) -> Item {
        let path = dir.join(name);
        std::fs::write(&path, name).unwrap();
        Item {
            path,
            kind: ItemKind::File,
        }
    }

    /// The names of the members of a plain tar archive, in order.
    fn tar_members(path: &Path) -> Vec<String> {
        cedar_core::tar_members(&std::fs::read(path).unwrap())
            .into_iter()
            .map(|(name, _, _)| String::from_utf8_lossy(&name).into_owned())
            .collect()
    }

    /// A tree of `dirs` x `files` files with a link in each directory.
    fn incr_tree(root: &Path, dirs: usize, files: usize) {
        for d in 0..dirs {
            let dir = root.join(format!("d{d:03}"));
            std::fs::create_dir_all(&dir).unwrap();
            for f in 0..files {
                std::fs::write(dir.join(format!("f{f:03}")), format!("{d}/{f}")).unwrap();
            }
            std::os::unix::fs::symlink("f000", dir.join("link")).unwrap();
        }
    }

    fn incr_plan(base: &Path, tree: &Path, name: &str) -> Plan {
        let mut plan = plan(&base.join(name));
        std::fs::create_dir_all(&plan.collect_dir).unwrap();
        std::fs::create_dir_all(&plan.working_dir).unwrap();
        plan.dirs.push(DirEntry {
            path: tree.to_path_buf(),
            collect_mode: CollectMode::Incr,
            archive_mode: ArchiveMode::Tar,
            ignore_file: None,
            link_depth: 0,
            dereference: false,
            recursion_level: 0,
            excludes: exclude::Excludes::default(),
        });
        plan
    }

    /// (archive member names, digest file bytes) of the last run of `plan`.
    fn incr_result(plan: &Plan, tree: &Path) -> (Vec<String>, Vec<u8>) {
        let normalized = normalize_name(&tree.to_string_lossy());
        let archive = plan
            .collect_dir
            .join(archive_file_name(&normalized, ArchiveMode::Tar));
        let members = if archive.exists() {
            tar_members(&archive)
        } else {
            Vec::new()
        };
        let state = std::fs::read(digest::digest_path(&plan.working_dir, &normalized)).unwrap();
        (members, state)
    }

    /// A tree of 3 directories of 4 files and a link under `base`, its plan (one incremental
    /// entry), and the request of a full run on a day that does not start the plan's week.
    fn small_full_run(base: &Path) -> (PathBuf, Plan, CollectRequest) {
        let tree = base.join("tree");
        incr_tree(&tree, 3, 4);
        let plan = incr_plan(base, &tree, "p");
        let request = CollectRequest {
            full: true,
            today: Today::parse("2026-12-01").unwrap(),
        };
        (tree, plan, request)
    }

    #[test]
    fn the_counted_totals_are_what_a_full_run_archives_and_unknown_for_an_incremental_one() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, plan, request) = small_full_run(tmp.path());
        let starting_day = request.today.is_starting_day(plan.starting_day);
        let line = ProgressBar::hidden(cedar_core::ProgressMeasure::phase("collect"));
        let going = AtomicBool::new(false);
        let totals = count::totals(&plan, true, starting_day, &line, &going).unwrap();
        let bar = ProgressBar::hidden(archive::archived());
        collect_plan(&plan, request, sort::Limits::default(), &bar).unwrap();
        assert_eq!(totals, (bar.items(), bar.bytes()));
        assert_eq!(totals.0, 3 * 5, "every file and link");
        // Without --full, what an incremental entry archives is known only once it is hashed.
        assert!(!starting_day, "the plan's week starts on another day");
        assert_eq!(
            count::totals(&plan, false, starting_day, &line, &going),
            None
        );
        // Once the run has ended, the count stops.
        let ended = AtomicBool::new(true);
        assert_eq!(
            count::totals(&plan, true, starting_day, &line, &ended),
            None
        );
    }

    #[test]
    fn the_archives_are_written_while_the_count_is_held() {
        let tmp = tempfile::tempdir().unwrap();
        let (tree, plan, request) = small_full_run(tmp.path());
        let normalized = normalize_name(&tree.to_string_lossy());
        let written = plan
            .collect_dir
            .join(archive_file_name(&normalized, ArchiveMode::Tar));
        let bar = ProgressBar::hidden(archive::archived());
        let mut held = None;
        let collected = count::alongside(
            |ended| {
                // Held until the run has ended; the deadline only makes a run that waits for
                // the count fail (released: false) instead of hanging.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
                let released =
                    cedar_core::wait_until_rung(Some(deadline), &mut || ended.load(SeqCst));
                let counted = count::totals(&plan, request.full, false, &bar, ended);
                held = Some((released, written.exists(), counted));
                counted
            },
            &bar,
            || collect_plan(&plan, request, sort::Limits::default(), &bar),
        );
        collected.unwrap();
        assert_eq!(
            held,
            Some((true, true, None)),
            "(released by the end of the run, its archive written, what the count gave then)"
        );
        assert_eq!(tar_members(&written).len(), 3 * 5, "every file and link");
        assert_eq!(bar.items(), 3 * 5);
    }

    #[test]
    fn incremental_runs_give_the_same_result_when_the_bookkeeping_spills_to_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("tree");
        incr_tree(&tree, 20, 25);
        let small = incr_plan(tmp.path(), &tree, "small");
        let large = incr_plan(tmp.path(), &tree, "large");
        // A few hundred bytes a chunk: hundreds of runs, merged two at a time.
        let tiny = sort::Limits {
            chunk_bytes: 600,
            fan_in: 2,
        };
        let tuesday = Today::parse("2026-12-01").unwrap();
        let both = |full: bool| {
            let request = CollectRequest {
                full,
                today: tuesday,
            };
            for plan in [&small, &large] {
                for name in dir_names(&plan.collect_dir) {
                    std::fs::remove_file(plan.collect_dir.join(name)).unwrap();
                }
            }
            let bar = ProgressBar::hidden(archive::archived());
            collect_plan(&small, request, tiny, &bar).unwrap();
            let archived = bar.items();
            collect_plan(&large, request, sort::Limits::default(), &bar).unwrap();
            assert_eq!(bar.items(), 2 * archived, "both runs archive as many files");
            let got = incr_result(&small, &tree);
            assert_eq!(got, incr_result(&large, &tree));
            got
        };

        let (members, state) = both(true);
        assert_eq!(members.len(), 20 * 26, "every file and link");
        let map = cedar_core::read_pickle_dict(&state).unwrap();
        assert_eq!(map.len(), 20 * 25, "a digest for every file");

        // Nothing changed: only the links.
        let (members, _) = both(false);
        assert_eq!(members.len(), 20);
        assert!(members.iter().all(|m| m.ends_with("/link")), "{members:?}");

        // Change, add and remove files.
        std::fs::write(tree.join("d003/f007"), b"changed").unwrap();
        std::fs::write(tree.join("d019/f024"), b"changed too").unwrap();
        std::fs::write(tree.join("d010/new"), b"new").unwrap();
        std::fs::remove_file(tree.join("d000/f001")).unwrap();
        let (members, state) = both(false);
        let mut files: Vec<&String> = members.iter().filter(|m| !m.ends_with("/link")).collect();
        files.sort();
        let expected = ["d003/f007", "d010/new", "d019/f024"];
        assert_eq!(files.len(), expected.len(), "{files:?}");
        for (got, want) in files.iter().zip(expected) {
            assert!(got.ends_with(want), "{got} is not {want}");
        }
        let map = cedar_core::read_pickle_dict(&state).unwrap();
        assert_eq!(map.len(), 20 * 25, "one added, one removed");
        let key = |p: &str| tree.join(p).as_os_str().as_bytes().to_vec();
        assert!(!map.contains_key(&key("d000/f001")));
        assert!(map.contains_key(&key("d010/new")));

        // The archive keeps the walk order: members of one directory stay together.
        let (members, _) = both(true);
        let dirs: Vec<&str> = members
            .iter()
            .map(|m| m.rsplit_once('/').unwrap().0)
            .collect();
        let mut runs = dirs.clone();
        runs.dedup();
        assert_eq!(runs.len(), 20, "each directory's members are contiguous");
        assert_eq!(
            dir_names(&small.working_dir).len(),
            1,
            "no temporary file is left in working_dir"
        );
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
            limits: sort::Limits::default(),
            bar: &ProgressBar::hidden(archive::archived()),
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
            dir_names(&plan.collect_dir).is_empty(),
            "{:?}",
            dir_names(&plan.collect_dir)
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
        assert_eq!(dir_names(&plan.collect_dir), ["x.tar"]);
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
        collect(&ctx.config.config, request, &Progress::for_run(ctx.options))?;
        tracing::info!("Executed the 'collect' action successfully.");
        Ok(())
    }
}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "collect",
        kind: ActionKind::Builtin,
        placement: Placement { index: 100, run_before: &[], run_after: &[] },
        action: &CollectAction,
    }
}
