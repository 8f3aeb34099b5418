//! The `pgverify` action: checks the collect directory against `postgresqldump.manifest`.
//!
//! `cback pgverify` (no `<extensions>` entry needed; declare it as module
//! `cback.extend.pgverify`, function `executeAction` to give it another place) reads
//! collect_dir from the configuration, and for every file the manifest lists checks that it
//! exists with the listed size and SHA-256. It succeeds (exit 0) when every file matches, and
//! fails (exit 6) naming each file that is missing, has another size or another SHA-256, and
//! each database whose last dump failed with no earlier good dump to fall back on. A dump
//! that failed but left yesterday's good file in place (`kept`) matches, with a warning.
//!
//! The name has no dash because the original only accepts action names matching
//! `^[a-z0-9]*$`. Its default place is after collect and before stage (index 101), so
//! `cback collect postgresql pgverify stage` checks the dumps before they are staged.

use std::path::PathBuf;

use cedar_core::{
    Action, ActionContext, ActionError, ActionKind, ActionRegistration, ConfigFile, Placement,
    SectionError,
};

use crate::manifest::{self, describe, MANIFEST};
use cedar_core::{DumpStatus, ManifestError};

/// The module name to declare it under in `<extensions>`.
pub const MODULE: &str = "cback.extend.pgverify";

/// The action registered as `pgverify`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgverifyAction;

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "pgverify",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 101, run_before: &["stage"], run_after: &["collect"] },
        action: &PgverifyAction,
    }
}

fn collect_dir(config: &ConfigFile) -> Result<PathBuf, SectionError> {
    config
        .config
        .collect
        .as_ref()
        .and_then(|c| c.collect_dir.as_deref())
        .map(PathBuf::from)
        .ok_or_else(|| SectionError::Incomplete {
            action: "pgverify",
            missing: "<collect><collect_dir>",
            path: config.path.clone(),
        })
}

/// The runner prints the `#[source]` chain, so the message is the error's own text.
fn action_error(err: ManifestError) -> ActionError {
    let message = err.to_string();
    match err {
        ManifestError::Read { source, .. } => ActionError::with_source(message, source),
        ManifestError::Parse { source, .. } => ActionError::with_source(message, source),
        ManifestError::Write { source, .. } => ActionError::with_source(message, source),
        ManifestError::Missing { .. } | ManifestError::Mismatch { .. } => {
            ActionError::failed(message)
        }
    }
}

impl Action for PgverifyAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        let dir = collect_dir(ctx.config).map_err(|e| ActionError::failed(e.to_string()))?;
        if ctx.options.dry_run {
            tracing::info!("Dry run: would check {} against {MANIFEST}.", dir.display());
            return Ok(());
        }
        match manifest::check(&dir) {
            Ok(found) => {
                for entry in found.files.iter().filter(|e| e.status == DumpStatus::Kept) {
                    tracing::warn!(
                        "{}: the last dump of {} failed ({}); the file is the previous good dump, from {}.",
                        entry.name,
                        describe(&entry.database),
                        entry.error.as_deref().unwrap_or("no reason recorded"),
                        entry.end
                    );
                }
                tracing::info!(
                    "All {} files listed in {} match (manifest written {}).",
                    found.files.len(),
                    dir.join(MANIFEST).display(),
                    found.written
                );
                Ok(())
            }
            Err(err) => Err(action_error(err)),
        }
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        collect_dir(ctx.config)
            .err()
            .map(|e| e.to_string())
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::{rfc3339, Manifest, ManifestEntry};

    fn config(dir: &std::path::Path) -> ConfigFile {
        let text = format!(
            "<cb_config><options><starting_day>monday</starting_day>\
             <working_dir>/tmp</working_dir><backup_user>root</backup_user>\
             <backup_group>root</backup_group><rcp_command>scp</rcp_command></options>\
             <collect><collect_dir>{}</collect_dir></collect></cb_config>",
            dir.display()
        );
        ConfigFile::parse(&text, &dir.join("cback.conf")).unwrap()
    }

    fn run(config: &ConfigFile) -> Result<(), ActionError> {
        let options = cedar_core::Options::default();
        PgverifyAction.execute(&ActionContext {
            action_name: "pgverify",
            config_path: &config.path,
            options: &options,
            config,
        })
    }

    #[test]
    fn registered_under_a_name_the_original_accepts() {
        let reg = cedar_core::extension_by_name("pgverify").expect("registered");
        assert!(reg
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert!(cedar_core::extension_by_module(MODULE, "executeAction").is_some());
    }

    #[test]
    fn checks_the_collect_dir_against_its_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let err = run(&config).unwrap_err().to_string();
        assert!(err.contains("there is no manifest"), "{err}");

        std::fs::write(dir.path().join("postgresqldump-a.txt"), "dump").unwrap();
        let digest = cedar_core::hash_file(&dir.path().join("postgresqldump-a.txt")).unwrap();
        let entry = ManifestEntry {
            name: "postgresqldump-a.txt".into(),
            database: "a".into(),
            status: DumpStatus::Kept,
            size: Some(digest.size),
            sha256: Some(digest.sha256),
            verified: true,
            pg_dump_version: None,
            server_version: None,
            start: rfc3339(0),
            end: rfc3339(1),
            error: Some("boom".into()),
            replacing: Vec::new(),
        };
        manifest::write(dir.path(), &Manifest::new(vec![entry]), None).unwrap();
        run(&config).unwrap();
        std::fs::write(dir.path().join("postgresqldump-a.txt"), "dumq").unwrap();
        let err = run(&config).unwrap_err().to_string();
        assert!(err.contains("postgresqldump-a.txt: sha256"), "{err}");
        // Files the manifest does not list: an old dump, and a partial one of a killed run.
        std::fs::write(dir.path().join("postgresqldump-a.txt"), "dump").unwrap();
        run(&config).unwrap();
        std::fs::write(dir.path().join("postgresqldump.txt"), "old").unwrap();
        std::fs::write(dir.path().join(".postgresqldump-a.txt.Xy12Zq.tmp"), "par").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let err = run(&config).unwrap_err().to_string();
        assert!(
            err.contains("holds files postgresqldump.manifest does not list"),
            "{err}"
        );
        assert!(
            err.contains("- postgresqldump.txt: a dump file the manifest does not list"),
            "{err}"
        );
        assert!(
            err.contains("- .postgresqldump-a.txt.Xy12Zq.tmp: a partial dump left by a run"),
            "{err}"
        );
        assert!(!err.contains("notes.txt"), "{err}");
        std::fs::remove_file(dir.path().join("postgresqldump.txt")).unwrap();
        std::fs::remove_file(dir.path().join(".postgresqldump-a.txt.Xy12Zq.tmp")).unwrap();
        run(&config).unwrap();
        std::fs::write(dir.path().join(MANIFEST), "[]").unwrap();
        let err = run(&config).unwrap_err();
        assert!(err.to_string().contains("is not valid"), "{err}");
        assert!(std::error::Error::source(&err).is_some());
    }
}
