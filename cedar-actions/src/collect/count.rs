//! The totals of a collect run, for its progress line on a terminal: the files and bytes the
//! run will archive, counted by a walk of its own before the archives are written (with the
//! same selection: collect modes, subdirectories split off, excludes, ignore files, links), so
//! that the line shows how far the run is and the time left.
//!
//! Only when the line is drawn: under cron, systemd or `--quiet` nothing is counted and the
//! tree is read once. Where an incremental entry keeps its state (not `--full`, not the
//! starting day), what it archives is only known once its files are hashed, so there is no
//! total. The walk also warms the cache of the directories for the run itself.

use std::ops::ControlFlow;

use cedar_core::{CollectMode, ProgressBar};

use super::plan::{expand, Plan};
use super::walk::{walk, ItemKind};

/// The files and bytes a run of `plan` will archive (`None` where it cannot be known before:
/// see the module documentation); `line` shows which directory is being counted. Gives up
/// (`None`) on an interrupt.
pub fn totals(
    plan: &Plan,
    full: bool,
    starting_day: bool,
    line: &ProgressBar,
) -> Option<(u64, u64)> {
    let reset = super::plan::reset_digest(full, starting_day);
    let today = |mode: CollectMode| mode.backs_up_today(full, starting_day);
    let incremental_unknown =
        |mode: CollectMode| today(mode) && mode == CollectMode::Incr && !reset;
    if plan
        .files
        .iter()
        .any(|f| incremental_unknown(f.collect_mode))
        || plan
            .dirs
            .iter()
            .any(|d| incremental_unknown(d.collect_mode))
    {
        return None;
    }
    // The run's own walk logs what it skips and why; this one stays silent.
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        count_today(plan, &today, line)
    })
}

fn count_today(
    plan: &Plan,
    today: &dyn Fn(CollectMode) -> bool,
    line: &ProgressBar,
) -> Option<(u64, u64)> {
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
        line.now_on(&format!("counting the files of {}", dir.path.display()));
        // A directory that cannot be expanded fails the run itself, with its message.
        let Ok(targets) = expand(&dir.path, dir.recursion_level, &dir.excludes) else {
            continue;
        };
        for target in &targets {
            let settings = dir.walk_settings(target);
            let report = walk(&target.path, settings, &mut |item| {
                let bytes = match item.kind {
                    ItemKind::File => std::fs::metadata(&item.path).map_or(0, |m| m.len()),
                    ItemKind::Link => 0,
                };
                count(bytes);
                ControlFlow::Continue(())
            });
            if report.stopped {
                return None;
            }
        }
    }
    Some((files, total))
}
