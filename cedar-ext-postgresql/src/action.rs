//! The postgresql action: check the configuration, then make every configured dump.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cedar_core::{Action, ActionContext, ActionError, ConfigFile};

use crate::atomic::{AtomicFile, Owner};
use crate::compress::Compressor;
use crate::config::{check_password_file, PostgresqlSection, Settings, Target, SECTION};
use crate::dump::{self, DumpCommand};
use crate::error::{DumpError, DumpFailure, PgError};

/// The action registered as `postgresql` (`CedarBackup3.extend.postgresql.executeAction`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresqlAction;

impl Action for PostgresqlAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx.config, ctx.options, &cedar_core::interrupt::requested).map_err(ActionError::from)
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(err) = collect_dir(ctx.config) {
            problems.push(err.to_string());
        }
        match ctx.config.section::<PostgresqlSection>(SECTION) {
            Ok(section) => problems.extend(crate::config::problems(section.as_ref())),
            Err(err) => problems.push(format!("cannot read the <postgresql> section: {err}")),
        }
        problems
    }
}

/// Reads and checks the `<postgresql>` section of `config`.
pub fn load_settings(config: &ConfigFile) -> Result<Settings, PgError> {
    let section = config
        .section::<PostgresqlSection>(SECTION)
        .map_err(|source| PgError::Read {
            path: config.path.clone(),
            source,
        })?;
    Settings::from_section(section.as_ref()).map_err(|problems| PgError::Invalid {
        path: config.path.clone(),
        problems,
    })
}

/// The collect directory; the action needs the options and collect sections, as the original.
fn collect_dir(config: &ConfigFile) -> Result<PathBuf, PgError> {
    let incomplete = |missing: &str| PgError::Incomplete {
        path: config.path.clone(),
        missing: missing.to_string(),
    };
    if config.config.options.is_none() {
        return Err(incomplete("the <options> section"));
    }
    let collect = config
        .config
        .collect
        .as_ref()
        .ok_or_else(|| incomplete("the <collect> section"))?;
    collect
        .collect_dir
        .as_deref()
        .map(PathBuf::from)
        .ok_or_else(|| incomplete("<collect><collect_dir>"))
}

/// Runs the action: every configured dump is attempted; the failures are reported together.
/// `interrupted` is polled (the binary passes [`cedar_core::interrupt::requested`]).
pub fn run(
    config: &ConfigFile,
    options: &cedar_core::Options,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<(), PgError> {
    let dir = collect_dir(config)?;
    let settings = load_settings(config)?;
    if let Some(file) = &settings.password_file {
        check_password_file(file).map_err(|reason| PgError::PasswordFile {
            path: file.clone(),
            reason,
        })?;
    }
    let owner = config.config.options.as_ref().and_then(|o| {
        Some(Owner {
            user: o.backup_user.as_deref()?,
            group: o.backup_group.as_deref()?,
        })
    });

    let mut failures = Vec::new();
    for target in &settings.targets {
        if interrupted() {
            return Err(PgError::Interrupted);
        }
        match target {
            Target::All => tracing::info!("Backing up all databases."),
            Target::Database(name) => tracing::info!("Backing up database [{name}]."),
        }
        if options.dry_run {
            tracing::info!(
                "Dry run: would write {} with {}.",
                dir.join(target.file_name(settings.compress_mode)).display(),
                target.command_name()
            );
            continue;
        }
        match dump_one(config, &settings, target, &dir, owner, interrupted) {
            Ok(path) => tracing::info!("Wrote {} for {target}.", path.display()),
            Err(DumpError::Interrupted) => return Err(PgError::Interrupted),
            Err(error) => {
                let failure = DumpFailure {
                    target: target.clone(),
                    error,
                };
                tracing::error!("{}", failure.full_message());
                failures.push(failure);
            }
        }
    }
    if !failures.is_empty() {
        return Err(PgError::Dumps {
            attempted: settings.targets.len(),
            failures,
        });
    }
    tracing::info!("Executed the PostgreSQL extended action successfully.");
    Ok(())
}

/// The command that makes the dump of `target`.
pub fn dump_command(config: &ConfigFile, settings: &Settings, target: &Target) -> DumpCommand {
    let name = target.command_name();
    let mut env: Vec<(&'static str, OsString)> = settings
        .libpq_env()
        .into_iter()
        .map(|(k, v)| (k, OsString::from(v)))
        .collect();
    if let Target::Database(db) = target {
        // Through the environment, libpq takes the name literally: a name that starts with
        // `-` or looks like a connection string cannot be misread, and argv stays empty.
        env.push(("PGDATABASE", OsString::from(db)));
    }
    DumpCommand {
        name,
        program: cedar_core::process::resolve_command(&config.config, name),
        args: Vec::new(),
        env,
        label: format!("{name} of {target}"),
    }
}

/// Makes one dump into its hidden temporary file and, when it is complete, renames it.
fn dump_one(
    config: &ConfigFile,
    settings: &Settings,
    target: &Target,
    dir: &Path,
    owner: Option<Owner<'_>>,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<PathBuf, DumpError> {
    if matches!(target, Target::Database(name) if name.contains('/')) {
        return Err(DumpError::UnusableName);
    }
    let command = dump_command(config, settings, target);
    tracing::debug!(
        "Running {} for {target} with {} set.",
        command.program.display(),
        command
            .env
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let file = AtomicFile::create(dir, &target.file_name(settings.compress_mode))?;
    let written = {
        let mut compressor = Compressor::new(settings.compress_mode, file.file());
        dump::run(&command, &mut compressor, file.temp_path(), interrupted).and_then(|()| {
            compressor
                .finish()
                .map(|_| ())
                .map_err(|source| DumpError::Write {
                    path: file.temp_path().to_path_buf(),
                    source,
                })
        })
    };
    if let Err(error) = written {
        let temp = file.temp_path().to_path_buf();
        if let Err(err) = file.discard() {
            tracing::error!(
                "Cannot remove the temporary file {}: {err}; remove it by hand.",
                temp.display()
            );
        }
        return Err(error);
    }
    file.commit(owner)
}
