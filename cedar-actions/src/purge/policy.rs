//! Purge by a retention policy: over the staged days of the staging directory, what
//! [`select_retained`] keeps stays and every other day is removed as a whole.

use std::path::{Path, PathBuf};

use super::days::{staged_days, StagedDay};
use super::error::PurgeError;
use super::files::resolve_root;
use super::remove::{finish_stopped, remove_day};
use cedar_core::{
    select_retained, BackupDay, Config, PurgeDir, RetentionDecision, RetentionPolicy,
};

/// What one `<purge><dir>` does.
#[derive(Debug, Clone)]
pub struct Place {
    pub path: PathBuf,
    pub retain_days: i64,
    /// Its policy; `None` purges by age.
    pub policy: Option<RetentionPolicy>,
}

/// Whether `dir` is the staging directory of `config`, both resolved when they exist.
fn is_staging_dir(dir: &Path, staging_dir: Option<&Path>) -> bool {
    let Some(staging_dir) = staging_dir else {
        return false;
    };
    match (dir.canonicalize(), staging_dir.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => dir.components().eq(staging_dir.components()),
    }
}

fn staging_dir(config: &Config) -> Option<&Path> {
    config
        .stage
        .as_ref()
        .and_then(|s| s.staging_dir.as_deref())
        .map(Path::new)
}

/// The place of the `index`th (from 1) `<purge><dir>`, its policy checked and allowed where
/// it is.
pub fn place(config: &Config, index: usize, dir: &PurgeDir) -> Result<Place, PurgeError> {
    let path = dir.abs_path.as_ref().ok_or(PurgeError::MissingValue {
        index,
        element: "abs_path",
    })?;
    let path = PathBuf::from(path);
    let retain_days = dir.retain_days.ok_or(PurgeError::MissingValue {
        index,
        element: "retain_days",
    })?;
    let policy = dir.policy().map_err(|source| PurgeError::Policy {
        path: path.clone(),
        source,
    })?;
    let staging = staging_dir(config);
    if policy.is_some() && !is_staging_dir(&path, staging) {
        return Err(PurgeError::PolicyElsewhere {
            path,
            staging_dir: staging.map(Path::to_path_buf),
        });
    }
    Ok(Place {
        path,
        retain_days,
        policy,
    })
}

/// What `validate` says about the policies of `config`: keep elements on a directory that is
/// not the staging directory are a problem; the notes (a policy makes retain_days remove
/// nothing) are returned apart.
pub fn policy_problems(config: &Config) -> (Vec<String>, Vec<String>) {
    let (mut problems, mut notes) = (Vec::new(), Vec::new());
    let Some(section) = &config.purge else {
        return (problems, notes);
    };
    for (i, dir) in section.dirs.iter().enumerate() {
        match place(config, i + 1, dir) {
            Ok(Place {
                path,
                retain_days,
                policy: Some(policy),
            }) => notes.push(format!(
                "<purge><dir> {}: kept by its policy ({policy}); its retain_days ({retain_days}) no longer removes anything",
                path.display()
            )),
            Ok(_) | Err(PurgeError::MissingValue { .. }) => {}
            Err(err) => problems.push(crate::collect::chain_message(&err)),
        }
    }
    (problems, notes)
}

/// Each staged day below `root` (resolved) with its decision, newest first.
pub fn decide(
    root: &Path,
    policy: &RetentionPolicy,
    today: BackupDay,
) -> Result<Vec<(RetentionDecision, StagedDay)>, PurgeError> {
    let days = staged_days(root)?;
    let backups: Vec<_> = days.iter().map(|d| d.backup.clone()).collect();
    let decisions = select_retained(policy, &backups, today);
    Ok(decisions
        .into_iter()
        .filter_map(|decision| {
            let day = days.iter().find(|d| d.backup.day == decision.day)?.clone();
            Some((decision, day))
        })
        .collect())
}

/// How many days a policy kept and removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaysCount {
    pub kept: usize,
    pub removed: usize,
}

/// Purges the staged days below `root` by `policy`, `today` deciding which are in the future.
/// Removes the oldest first and checks for SIGINT/SIGTERM before each day, so a stopped purge
/// leaves whole days only.
pub fn purge_days(
    root: &Path,
    policy: &RetentionPolicy,
    today: BackupDay,
) -> Result<DaysCount, PurgeError> {
    let real = resolve_root(root)?;
    for stopped in finish_stopped(&real) {
        tracing::info!(
            "Finished removing [{}], left by a purge that was stopped.",
            stopped.display()
        );
    }
    let mut count = DaysCount::default();
    // Oldest first: a purge stopped half way has removed the oldest of the days it would.
    for (decision, day) in decide(&real, policy, today)?.into_iter().rev() {
        if decision.keep() {
            tracing::debug!("Keeping [{}]: {}.", day.path.display(), decision.line());
            count.kept += 1;
            continue;
        }
        if cedar_core::interrupt_requested() {
            return Err(PurgeError::Interrupted);
        }
        remove_day(&day.path)?;
        tracing::debug!(
            "Purged staged day [{}] ({}).",
            day.path.display(),
            decision.day
        );
        count.removed += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::{PeerOutcome, RetentionPolicyValues, StageRecord};
    use std::fs;

    #[test]
    fn a_policy_removes_whole_days_and_keeps_the_last_good_copy() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let first = BackupDay::from_ymd(2026, 1, 1).unwrap();
        for n in 0..20 {
            let day = first.plus(n);
            let dir = r.join(day.rel_path());
            fs::create_dir_all(dir.join("alpha")).unwrap();
            fs::write(dir.join("alpha/data.tar"), "x").unwrap();
            if n >= 17 {
                let mut record = StageRecord::all(["alpha"], PeerOutcome::Failed);
                record.peers.insert("alpha".into(), PeerOutcome::Failed);
                record.write(&dir, None).unwrap();
            }
        }
        fs::write(r.join("notes.txt"), "x").unwrap();
        fs::write(r.join("2026/01/02/cback.keep"), "").unwrap();
        let policy = RetentionPolicy::from_values(&RetentionPolicyValues {
            keep_last: Some(3),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
        let today = first.plus(19);
        let count = purge_days(r, &policy, today).unwrap();
        assert_eq!(
            count,
            DaysCount {
                kept: 4,
                removed: 16
            }
        );
        let left: Vec<String> = staged_days(r)
            .unwrap()
            .iter()
            .map(|d| d.backup.day.to_string())
            .collect();
        assert_eq!(
            left,
            ["2026-01-02", "2026-01-15", "2026-01-16", "2026-01-17"]
        );
        assert!(r.join("notes.txt").exists(), "not a day: left alone");
        assert!(r.join("2026/01/17/alpha/data.tar").exists());
    }

    #[test]
    fn keep_elements_belong_on_the_staging_directory_only() {
        let root = tempfile::tempdir().unwrap();
        let staging = root.path().join("stage");
        fs::create_dir_all(&staging).unwrap();
        std::os::unix::fs::symlink(&staging, root.path().join("alias")).unwrap();
        let mut config = Config {
            stage: Some(cedar_core::StageConfig {
                staging_dir: Some(staging.display().to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let dir = |path: &Path| PurgeDir {
            abs_path: Some(path.display().to_string()),
            retain_days: Some(7),
            keep_daily: Some(7),
            ..Default::default()
        };
        assert!(place(&config, 1, &dir(&root.path().join("alias")))
            .unwrap()
            .policy
            .is_some());
        let err = place(&config, 2, &dir(root.path())).unwrap_err();
        assert!(
            err.to_string().contains("keep elements apply only to the <purge><dir> whose <abs_path> is the <stage><staging_dir>"),
            "{err}"
        );
        config.purge = Some(cedar_core::PurgeConfig {
            dirs: vec![dir(&staging), dir(root.path())],
        });
        let (problems, notes) = policy_problems(&config);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("its retain_days (7) no longer removes anything"),
            "{notes:?}"
        );
    }
}
