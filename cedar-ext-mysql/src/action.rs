//! The mysql action: check the section and the user's privileges, then one mysqldump per
//! target into collect_dir.

use std::ffi::OsString;

use cedar_core::{
    capture_command, child_command, last_lines, run_supervised, validate_extension, Action,
    ActionContext, ActionError, Captured, ExitRule, ExtensionSection, StandardSections,
    StreamCommand, SupervisedError, Tally, TallyItem,
};

use crate::config::{MysqlSection, Settings, Target, SECTION};
use crate::defaults::{self, DefaultsFile};
use crate::error::{DumpError, MysqlError};
use crate::grants;

/// The action registered as `mysql`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MysqlAction;

impl Action for MysqlAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx, &cedar_core::interrupt_requested)
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        let mut problems = validate_extension::<MysqlSection>(ctx.config, ctx.options);
        if let Err(err) = cedar_core::ShrinkLimits::from_config(&ctx.config.config) {
            problems.push(err.to_string());
        }
        problems
    }

    /// The section, the programs, the login, the databases and the grants
    /// ([`crate::doctor`]).
    fn doctor(&self, ctx: &ActionContext<'_>) -> Vec<cedar_core::CheckResult> {
        crate::doctor::check(ctx.config)
    }
}

/// The arguments before the target: the option file first (MySQL reads it only there), then
/// the user.
pub(crate) fn login_args(settings: &Settings, defaults: Option<&DefaultsFile>) -> Vec<OsString> {
    let mut args = Vec::new();
    if let Some(file) = defaults {
        args.push(file.argument());
    }
    if let Some(user) = &settings.user {
        args.push(OsString::from(format!("--user={user}")));
    }
    args
}

/// The original's mysqldump command line, the password moved into the option file and `--`
/// before the database name (a name starting with `-` is still a name).
pub fn dump_args(
    settings: &Settings,
    defaults: Option<&DefaultsFile>,
    target: &Target,
) -> Vec<OsString> {
    let (selection, database) = match target {
        Target::All => ("--all-databases", None),
        Target::Database(name) => ("--databases", Some(name)),
    };
    let mut args = Vec::new();
    if let Some(file) = defaults {
        args.push(file.argument());
    }
    // `-all` is the original's: `-a -l -l` (create options, lock tables), changing nothing
    // beyond `--opt`, kept so that the dumps are the same.
    args.extend([selection, "-all", "--flush-logs", "--opt"].map(OsString::from));
    if let Some(user) = &settings.user {
        args.push(OsString::from(format!("--user={user}")));
    }
    if let Some(name) = database {
        args.push("--".into());
        args.push(name.into());
    }
    args
}

/// Runs the action: every target is attempted; the failures are named together.
pub fn run(
    ctx: &ActionContext<'_>,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<(), ActionError> {
    let site = StandardSections::load(SECTION, ctx.config, ctx.options)
        .map_err(|e| ActionError::failed(e.to_string()))?;
    let settings =
        MysqlSection::load(ctx.config).map_err(|e| ActionError::failed(e.to_string()))?;
    // Checked before any dump, though used after them.
    cedar_core::ShrinkLimits::from_config(&ctx.config.config)
        .map_err(|e| ActionError::failed(e.to_string()))?;
    if ctx.options.dry_run {
        for target in &settings.targets {
            tracing::info!(
                "Dry run: would write {} with mysqldump.",
                site.collect_dir
                    .join(target.file_name(settings.compress_mode))
                    .display()
            );
        }
        return Ok(());
    }
    cedar_core::remove_stale_captures(&site.collect_dir, &|name| name.starts_with("mysqldump"));
    let defaults = match &settings.password {
        Some(password) => {
            if defaults::home_sets_password() {
                tracing::warn!(
                    "~/.my.cnf sets a password too; MySQL reads it after the configured one, so it wins. Keep the password in one place."
                );
            }
            Some(DefaultsFile::create(password).map_err(|e| fail(e.into()))?)
        }
        None => None,
    };
    check_privileges(&site, &settings, defaults.as_ref()).map_err(fail)?;
    if settings.user.is_some() {
        // The original's warning, still true of the user name (kept in argv so that it wins
        // over ~/.my.cnf, as in the original); the password no longer is.
        tracing::warn!(
            "Warning: MySQL username will be visible in process listing (consider using ~/.my.cnf)."
        );
    }
    let mut tally = Tally::new("mysql", "MySQL dumps");
    for target in &settings.targets {
        if interrupted() {
            return Err(ActionError::Interrupted);
        }
        match target {
            Target::All => tracing::info!("Backing up all databases."),
            Target::Database(name) => tracing::info!("Backing up database [{name}]."),
        }
        let item = TallyItem::new(target.label(), target.to_string());
        match dump(&site, &settings, defaults.as_ref(), target, interrupted) {
            Ok(done) => {
                tracing::info!("Wrote {}.", done.path.display());
                tally.ok(&item, Some(&done));
            }
            Err(DumpError::Dump(err)) if err.is_interrupt() => {
                return Err(ActionError::Interrupted)
            }
            Err(err) => tally.failed(&item, &err),
        }
    }
    tally.finish()?;
    // Each dump's size against the median of its earlier ones; mysqldump's tables are not
    // counted.
    cedar_core::check_dump_sizes(ctx.config, SECTION, false, &|_| None)
        .map_err(|e| ActionError::failed(e.to_string()))?;
    tracing::info!("Executed the MySQL extended action successfully.");
    Ok(())
}

fn fail(err: MysqlError) -> ActionError {
    match err {
        MysqlError::Interrupted => ActionError::Interrupted,
        other => ActionError::failed(other.to_string()),
    }
}

fn dump(
    site: &StandardSections<'_>,
    settings: &Settings,
    defaults: Option<&DefaultsFile>,
    target: &Target,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<Captured, DumpError> {
    if matches!(target, Target::Database(name) if name.contains('/')) {
        return Err(DumpError::UnusableName);
    }
    let mut command = StreamCommand::new(
        "mysqldump",
        site.program("mysqldump"),
        dump_args(settings, defaults, target),
    );
    command.label = format!("mysqldump of {target}");
    capture_command(
        &command,
        &site.collect_dir,
        &target.file_name(settings.compress_mode),
        settings.compress_mode,
        site.owner,
        ExitRule::MustSucceed,
        interrupted,
    )
    .map_err(DumpError::Dump)
}

/// Asks the server, with the dumps' credentials, for the user's grants, and fails when the
/// dumps could not succeed. Without the `mysql` client the check is skipped with a warning.
fn check_privileges(
    site: &StandardSections<'_>,
    settings: &Settings,
    defaults: Option<&DefaultsFile>,
) -> Result<(), MysqlError> {
    let program = site.program("mysql");
    let login = login_args(settings, defaults);
    if !crate::login::same_login(&program, &site.program("mysqldump"), &login) {
        tracing::info!(
            "Not checking the MySQL privileges before dumping: `{}` and mysqldump would not log in the same way (a [mysqldump] stanza of the option files, or a client that cannot say); the dumps report a missing privilege themselves.",
            program.display()
        );
        return Ok(());
    }
    let mut command = child_command(&program);
    command.args(login_args(settings, defaults)).args([
        "--batch",
        "--skip-column-names",
        "-e",
        "SHOW GRANTS",
    ]);
    let output = match run_supervised(command) {
        Ok(output) => output,
        Err(SupervisedError::Interrupted) => return Err(MysqlError::Interrupted),
        Err(SupervisedError::Spawn(err)) => {
            tracing::warn!(
                "Cannot run `{}` to check the MySQL privileges before dumping ({err}); install the MySQL client or point an <override> at mysql. Going on without the check.",
                program.display()
            );
            return Ok(());
        }
    };
    if !output.status.success() {
        return Err(MysqlError::Login {
            user: settings.user.clone(),
            program,
            status: cedar_core::describe_exit_status(&output.status),
            stderr_tail: last_lines(&String::from_utf8_lossy(&output.stderr), 12),
        });
    }
    let grants = grants::parse(&String::from_utf8_lossy(&output.stdout));
    let databases: Vec<String> = settings
        .targets
        .iter()
        .filter_map(|t| match t {
            Target::Database(name) => Some(name.clone()),
            Target::All => None,
        })
        .collect();
    let all = settings.targets.contains(&Target::All);
    let missing = grants::missing(&grants, (!all).then_some(databases.as_slice()));
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MysqlError::Privileges {
            user: settings.user.clone(),
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::Codec;

    fn settings(user: Option<&str>) -> Settings {
        Settings {
            user: user.map(str::to_string),
            password: None,
            compress_mode: Codec::Gzip,
            targets: Vec::new(),
        }
    }

    fn text(args: Vec<OsString>) -> Vec<String> {
        args.into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_command_lines_are_the_originals_without_the_password() {
        let file = DefaultsFile::create("secret").unwrap();
        let args = text(dump_args(
            &settings(Some("backup")),
            Some(&file),
            &Target::Database("-x".into()),
        ));
        assert_eq!(
            args[1..],
            [
                "--databases",
                "-all",
                "--flush-logs",
                "--opt",
                "--user=backup",
                "--",
                "-x"
            ]
        );
        assert!(args[0].starts_with("--defaults-extra-file=/"));
        assert!(!args.iter().any(|a| a.contains("secret")));
        assert_eq!(
            text(dump_args(&settings(None), None, &Target::All)),
            ["--all-databases", "-all", "--flush-logs", "--opt"]
        );
    }
}
