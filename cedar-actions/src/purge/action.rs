//! The purge action's run: every `<purge><dir>` is checked before anything is removed, nothing
//! is removed after a failure earlier in the run, then each directory is purged by its policy
//! or by age; and its `--dry-run` listing.

use super::error::PurgeError;
use super::files::{purge_dir, resolve_root};
use super::policy::{decide, place, purge_days, Place};
use super::remote;
use cedar_core::{
    Action, ActionContext, ActionError, ActionKind, ActionRegistration, BackupDay, Config,
    ConfigFile, Placement, Today,
};

/// The places of `config`'s `<purge><dir>` entries, all checked.
fn places(config: &Config) -> Result<Vec<Place>, PurgeError> {
    config.options.as_ref().ok_or(PurgeError::MissingOptions)?;
    let section = config.purge.as_ref().ok_or(PurgeError::MissingSection)?;
    section
        .dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| place(config, i + 1, dir))
        .collect()
}

/// Runs the purge action on `config` at `today`: the local directories, then the remote places
/// with a policy. When `earlier_failures` is not empty, removes nothing and says so.
pub fn purge(
    file: &ConfigFile,
    today: &Today,
    earlier_failures: &[String],
) -> Result<(), PurgeError> {
    let places = places(&file.config)?;
    let remote = remote::places_with_policy(file);
    if !earlier_failures.is_empty() {
        tracing::warn!(
            "Not purging anything: {} failure(s) earlier in this run ({}); the next run that succeeds purges.",
            earlier_failures.len(),
            earlier_failures.join("; ")
        );
        return Ok(());
    }
    for place in places {
        let shown = place.path.display();
        match &place.policy {
            Some(policy) => {
                let count = purge_days(&place.path, policy, BackupDay::of(today))?;
                tracing::info!(
                    "Purged {} staged days from [{shown}] by its policy ({policy}); kept {}.",
                    count.removed,
                    count.kept
                );
            }
            None => {
                let count = purge_dir(&place.path, place.retain_days, today.now_nanos())?;
                tracing::info!(
                    "Purged {} files and {} empty directories from [{shown}] (retain {} days).",
                    count.files,
                    count.dirs,
                    place.retain_days
                );
            }
        }
    }
    for (place, policy) in remote {
        let (kept, removed) = remote::purge_place(place.as_ref(), &policy, BackupDay::of(today))?;
        tracing::info!(
            "Purged {removed} days from {} by its policy ({policy}); kept {kept}.",
            place.describe()
        );
    }
    Ok(())
}

/// The `--dry-run` lines of the purge step: for a directory with a policy, a line naming it
/// and its policy, then one line per staged day, newest first, `YYYY-MM-DD keep RULES…` or
/// `YYYY-MM-DD remove`; each indented by two blanks.
pub fn dry_run_lines(file: &ConfigFile, today: &Today) -> Vec<String> {
    let config = &file.config;
    let places = match places(config) {
        Ok(places) => places,
        Err(err) => return vec![format!("  purge would fail: {err}")],
    };
    let mut lines = Vec::new();
    for place in places {
        let Some(policy) = &place.policy else {
            continue;
        };
        lines.push(format!(
            "  purge staged days of [{}] by policy: {policy}",
            place.path.display()
        ));
        let decided =
            resolve_root(&place.path).and_then(|real| decide(&real, policy, BackupDay::of(today)));
        match decided {
            Ok(decided) => lines.extend(decided.iter().map(|(d, _)| format!("  {}", d.line()))),
            Err(err) => lines.push(format!("  purge would fail: {err}")),
        }
    }
    for (place, policy) in remote::places_with_policy(file) {
        lines.push(format!(
            "  purge days of {} by policy: {policy}",
            place.describe()
        ));
        match remote::decide(place.as_ref(), &policy, BackupDay::of(today)) {
            Ok(decided) => lines.extend(decided.iter().map(|d| format!("  {}", d.line()))),
            Err(err) => lines.push(format!("  purge would fail: {err}")),
        }
    }
    lines
}

#[derive(Debug)]
struct PurgeAction;

impl Action for PurgeAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        tracing::debug!("Executing the 'purge' action.");
        purge(ctx.config, &Today::current(), ctx.earlier_failures)?;
        tracing::info!("Executed the 'purge' action successfully.");
        Ok(())
    }
}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "purge",
        kind: ActionKind::Builtin,
        placement: Placement { index: 400, run_before: &[], run_after: &[] },
        action: &PurgeAction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::{OptionsConfig, PurgeConfig, PurgeDir, StageConfig};
    use std::fs;
    use std::path::Path;

    fn config(staging: &Path) -> Config {
        Config {
            options: Some(OptionsConfig::default()),
            stage: Some(StageConfig {
                staging_dir: Some(staging.display().to_string()),
                ..Default::default()
            }),
            purge: Some(PurgeConfig {
                dirs: vec![PurgeDir {
                    abs_path: Some(staging.display().to_string()),
                    retain_days: Some(0),
                    keep_last: Some(1),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn nothing_is_removed_after_an_earlier_failure_and_the_dry_run_changes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for d in ["2026/01/01/alpha", "2026/01/02/alpha"] {
            fs::create_dir_all(r.join(d)).unwrap();
        }
        let config = ConfigFile {
            path: "/etc/cback3.conf".into(),
            config: config(r),
        };
        let today = Today::parse("2026-01-02").unwrap();
        purge(
            &config,
            &today,
            &["action collect on managed peer [x]: failed".into()],
        )
        .unwrap();
        assert!(Path::exists(&r.join("2026/01/01/alpha")));
        assert_eq!(
            dry_run_lines(&config, &today)[1..],
            ["  2026-01-02 keep last min:alpha", "  2026-01-01 remove"]
        );
        assert!(Path::exists(&r.join("2026/01/01/alpha")));
        purge(&config, &today, &[]).unwrap();
        assert!(!Path::exists(&r.join("2026/01/01")));
        assert!(Path::exists(&r.join("2026/01/02/alpha")));
    }
}
