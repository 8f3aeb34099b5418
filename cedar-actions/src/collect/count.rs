//! The totals of a collect run, for its progress line on a terminal: the files and bytes the
//! run will archive, counted by a walk of its own (with the same selection: collect modes,
//! subdirectories split off, excludes, ignore files, links), so that the line shows how far the
//! run is and the time left.
//!
//! The count runs on a thread of its own, started with the archiving: nothing waits for it (on
//! a cold tree of millions of files it takes minutes). The line starts without totals (the
//! files and bytes so far, the rate) and gets them when the count ends; the directory being
//! counted is named after what is being archived, which the archiver's next entry replaces.
//! Should the archives be written before the count ends, the count stops: its totals no longer
//! matter. An interrupt stops it as it stops the run.
//!
//! Only when the line is drawn: under cron, systemd or `--quiet` nothing is counted and the
//! tree is read once. Where an incremental entry keeps its state (not `--full`, not the
//! starting day), what it archives is only known once its files are hashed, so there is no
//! total and no count. The count's walk is silent in the log (the run's own walk logs what it
//! skips and why).

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

use cedar_core::{CollectMode, ProgressBar};

use super::plan::{expand, Plan};
use super::walk::{walk, ItemKind};

/// Runs `run` (the archiving of `plan`) while its totals are counted beside it when `line` is
/// drawn and they can be known (see the module documentation); `line` gets them when the
/// count ends before `run` does.
pub fn beside<T>(
    plan: &Plan,
    full: bool,
    starting_day: bool,
    line: &ProgressBar,
    run: impl FnOnce() -> T,
) -> T {
    if !line.is_drawn() || !known_beforehand(plan, full, starting_day) {
        return run();
    }
    alongside(
        |ended| totals(plan, full, starting_day, line, ended),
        line,
        run,
    )
}

/// Runs `run` on this thread and `count` on a thread of its own, silent in the log; `count`
/// is handed the flag set when `run` has returned (then it should stop: its totals are
/// dropped). The totals it gives while `run` still runs go to `line`. Returns when both ended.
pub(super) fn alongside<T>(
    count: impl FnOnce(&AtomicBool) -> Option<(u64, u64)> + Send,
    line: &ProgressBar,
    run: impl FnOnce() -> T,
) -> T {
    let ended = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let counter = scope.spawn(|| {
            // A default subscriber is one thread's: the run's log is left as it is.
            tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
                if let Some((files, bytes)) = count(&ended) {
                    if !ended.load(Ordering::SeqCst) {
                        line.set_totals(Some(files), Some(bytes));
                    }
                }
            })
        });
        let result = run();
        ended.store(true, Ordering::SeqCst);
        // A count waiting on the bell learns that the run ended.
        cedar_core::ring_interrupt_waiters();
        if let Err(panic) = counter.join() {
            // The display lost its totals; the archives are complete.
            tracing::warn!(
                "The count of the files to collect failed: {}; the progress line went without totals.",
                super::thread_panic::panic_message(&*panic)
            );
        }
        result
    })
}

/// Whether what a run of `plan` archives is known before it runs: not when an incremental
/// entry backed up today keeps its state.
fn known_beforehand(plan: &Plan, full: bool, starting_day: bool) -> bool {
    let reset = super::plan::reset_digest(full, starting_day);
    let unknown = |mode: CollectMode| {
        mode.backs_up_today(full, starting_day) && mode == CollectMode::Incr && !reset
    };
    !(plan.files.iter().any(|f| unknown(f.collect_mode))
        || plan.dirs.iter().any(|d| unknown(d.collect_mode)))
}

/// The files and bytes a run of `plan` will archive (`None` where it cannot be known before:
/// see the module documentation); `line` shows which directory is being counted. Gives up
/// (`None`) on an interrupt, or once `ended` is set.
pub(super) fn totals(
    plan: &Plan,
    full: bool,
    starting_day: bool,
    line: &ProgressBar,
    ended: &AtomicBool,
) -> Option<(u64, u64)> {
    if !known_beforehand(plan, full, starting_day) {
        return None;
    }
    let today = |mode: CollectMode| mode.backs_up_today(full, starting_day);
    let stopped = || ended.load(Ordering::SeqCst) || cedar_core::interrupt_requested();
    let (mut files, mut total) = (0u64, 0u64);
    let mut count = |bytes: u64| {
        files += 1;
        total += bytes;
    };
    for file in plan.files.iter().filter(|f| today(f.collect_mode)) {
        if let Ok(meta) = std::fs::metadata(&file.path) {
            count(meta.len());
        }
    }
    for dir in plan.dirs.iter().filter(|d| today(d.collect_mode)) {
        if stopped() {
            return None;
        }
        // After what is archived, which replaces it (`now_on`) when the archiver moves on.
        let counting = format!("counting the files of {}", dir.path.display());
        line.begin(&counting);
        let counted = count_dir(dir, &stopped, &mut count);
        line.end(&counting);
        counted?;
    }
    Some((files, total))
}

/// Counts the files of `dir` with `count`; `None` when `stopped` says so (as the walk is).
fn count_dir(
    dir: &super::plan::DirEntry,
    stopped: &dyn Fn() -> bool,
    count: &mut dyn FnMut(u64),
) -> Option<()> {
    // A directory that cannot be expanded fails the run itself, with its message.
    let Ok(targets) = expand(&dir.path, dir.recursion_level, &dir.excludes) else {
        return Some(());
    };
    for target in &targets {
        let settings = dir.walk_settings(target);
        // The walk stops by itself on an interrupt.
        let report = walk(&target.path, settings, &mut |item| {
            if stopped() {
                return ControlFlow::Break(());
            }
            count(match item.kind {
                ItemKind::File => std::fs::metadata(&item.path).map_or(0, |m| m.len()),
                ItemKind::Link => 0,
            });
            ControlFlow::Continue(())
        });
        if report.stopped {
            return None;
        }
    }
    Some(())
}
