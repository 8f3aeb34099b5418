//! The directories a run writes into: the working, collect and staging directories each exist,
//! take a new file (a probe created and removed, as the user running cback: collect, stage and
//! the extensions write as that user and hand files to the backup user afterwards), and have
//! free space for what the last run put there, from the status file of the working directory
//! (the dumps' bytes for the collect directory, the peers' bytes for the staging directory),
//! with a [`MARGIN`].

use std::path::Path;

use cedar_core::{display_bytes, read_previous_status, CheckResult, ConfigFile, RunStatus};

/// Free space below the last run's bytes times this is a warning (below them, a failure).
pub const MARGIN: f64 = 1.25;

const CHECK: &str = "directory";

/// One result per configured directory (two when its free space was measured).
pub fn check(config: &ConfigFile) -> Vec<CheckResult> {
    let config = &config.config;
    let working = config
        .options
        .as_ref()
        .and_then(|o| o.working_dir.as_deref());
    let last = working.and_then(|dir| read_previous_status(Path::new(dir)));
    let mut results = Vec::new();
    if let Some(dir) = working {
        results.extend(one("working_dir", Path::new(dir), None));
    }
    if let Some(dir) = config
        .collect
        .as_ref()
        .and_then(|c| c.collect_dir.as_deref())
    {
        let need = last.as_ref().map(|s| {
            (
                "the last run's dumps",
                s.databases.iter().map(|d| d.bytes).sum(),
            )
        });
        results.extend(one("collect_dir", Path::new(dir), need));
    }
    if let Some(dir) = config.stage.as_ref().and_then(|s| s.staging_dir.as_deref()) {
        let need = last
            .as_ref()
            .map(|s| ("the last run's staged peers", staged_bytes(s)));
        results.extend(one("staging_dir", Path::new(dir), need));
    }
    results
}

fn staged_bytes(status: &RunStatus) -> u64 {
    status.peers.iter().map(|p| p.bytes).sum()
}

/// The checks of one directory: present and writable, then (when a need is known) its space.
fn one(element: &str, dir: &Path, need: Option<(&str, u64)>) -> Vec<CheckResult> {
    let subject = dir.display().to_string();
    let check = format!("{CHECK} {element}");
    if !dir.is_dir() {
        return vec![CheckResult::fail(
            check,
            subject,
            "does not exist; create it (owned by the backup user) or fix the path in the configuration",
        )];
    }
    if let Err(err) = probe(dir) {
        return vec![CheckResult::fail(
            check,
            subject,
            format!(
                "cannot create a file in it as {}: {err}; fix its permissions or mount it read-write",
                running_user()
            ),
        )];
    }
    let mut results = vec![CheckResult::pass(
        check.clone(),
        subject.clone(),
        format!("exists and is writable by {}", running_user()),
    )];
    let free = match nix::sys::statvfs::statvfs(dir) {
        Ok(stat) => stat.blocks_available().saturating_mul(stat.fragment_size()),
        Err(err) => {
            results.push(CheckResult::warn(
                format!("free space {element}"),
                subject,
                format!("cannot measure the free space: {err}"),
            ));
            return results;
        }
    };
    results.push(space(element, &subject, free, need));
    results
}

/// The verdict on `free` bytes against `need` (what the last run wrote there).
fn space(element: &str, subject: &str, free: u64, need: Option<(&str, u64)>) -> CheckResult {
    let check = format!("free space {element}");
    let free_text = display_bytes(free as f64);
    let Some((what, bytes)) = need.filter(|(_, bytes)| *bytes > 0) else {
        return CheckResult::pass(
            check,
            subject,
            format!("{free_text} free; no earlier run recorded what it needs here"),
        );
    };
    let need_text = display_bytes(bytes as f64);
    if free < bytes {
        CheckResult::fail(
            check,
            subject,
            format!("{free_text} free, less than {what} ({need_text}); free some space or move the directory to a larger filesystem"),
        )
    } else if (free as f64) < bytes as f64 * MARGIN {
        CheckResult::warn(
            check,
            subject,
            format!("{free_text} free, less than {what} ({need_text}) plus {}%; tonight's run may fill the filesystem if it grows", ((MARGIN - 1.0) * 100.0).round()),
        )
    } else {
        CheckResult::pass(
            check,
            subject,
            format!("{free_text} free for {what} ({need_text})"),
        )
    }
}

/// Creates and removes a probe file under the `.cback-` prefix.
fn probe(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(format!(".cback-doctor-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)
}

fn running_user() -> String {
    let uid = nix::unistd::Uid::effective();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| format!("user {}", u.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::CheckStatus;

    #[test]
    fn free_space_against_the_last_run() {
        let need = Some(("the last run's dumps", 1000));
        assert_eq!(
            space("collect_dir", "/c", 999, need).status,
            CheckStatus::Fail
        );
        let warn = space("collect_dir", "/c", 1100, need);
        assert_eq!(warn.status, CheckStatus::Warn);
        assert!(warn.detail.contains("plus 25%"), "{}", warn.detail);
        assert_eq!(
            space("collect_dir", "/c", 1300, need).status,
            CheckStatus::Pass
        );
        let unknown = space("collect_dir", "/c", 5, None);
        assert_eq!(unknown.status, CheckStatus::Pass);
        assert!(
            unknown.detail.contains("no earlier run"),
            "{}",
            unknown.detail
        );
    }

    #[test]
    fn a_missing_directory_fails_and_a_writable_one_passes() {
        let dir = tempfile::tempdir().unwrap();
        let missing = one("collect_dir", &dir.path().join("gone"), None);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].status, CheckStatus::Fail);
        assert!(missing[0].detail.contains("does not exist"));
        let present = one("collect_dir", dir.path(), None);
        assert_eq!(present.len(), 2, "{present:?}");
        assert!(
            present.iter().all(|r| r.status == CheckStatus::Pass),
            "{present:?}"
        );
        // The probe is gone again.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
