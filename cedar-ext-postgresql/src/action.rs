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
            source: Box::new(source),
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
                // Logged now; the error that ends the action repeats it with the others.
                tracing::warn!("{}", failure.full_message());
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// A collect directory, a fake pg_dump / pg_dumpall, and a document using them.
    struct Site {
        dir: tempfile::TempDir,
    }

    impl Site {
        fn new() -> Site {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join("collect")).unwrap();
            // The fake dumps print their environment; database `bad` fails like pg_dump.
            let script = "#!/bin/sh\n\
                if [ \"$PGDATABASE\" = bad ]; then echo 'pg_dump: error: database \"bad\" does not exist' >&2; exit 1; fi\n\
                printf 'argc=%s user=%s db=%s host=%s port=%s pass=%s\\n' \"$#\" \"$PGUSER\" \"$PGDATABASE\" \"$PGHOST\" \"$PGPORT\" \"$PGPASSFILE\"\n";
            for name in ["pg_dump", "pg_dumpall"] {
                let path = dir.path().join(name);
                std::fs::write(&path, script).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            Site { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn config(&self, section: &str) -> ConfigFile {
            let text = format!(
                "<cb_config><options><starting_day>monday</starting_day>\
                 <working_dir>/tmp</working_dir><backup_user>root</backup_user>\
                 <backup_group>root</backup_group><rcp_command>scp</rcp_command>\
                 <override><command>pg_dump</command><abs_path>{d}/pg_dump</abs_path></override>\
                 <override><command>pg_dumpall</command><abs_path>{d}/pg_dumpall</abs_path></override>\
                 </options><collect><collect_dir>{d}/collect</collect_dir></collect>\
                 {section}</cb_config>",
                d = self.dir.path().display()
            );
            ConfigFile::parse(&text, &self.path("cback.conf")).unwrap()
        }

        fn collect(&self, name: &str) -> PathBuf {
            self.path("collect").join(name)
        }

        fn entries(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(self.path("collect"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    fn never() -> bool {
        false
    }

    fn run_site(config: &ConfigFile) -> Result<(), PgError> {
        run(config, &cedar_core::Options::default(), &never)
    }

    #[test]
    fn settings_are_read_with_the_original_rules() {
        let site = Site::new();
        let config = site.config(
            "<postgresql><user>backup</user><compress_mode>gzip</compress_mode><all>n</all>\
             <database>a</database><database/><database>b c</database>\
             <port>5433</port></postgresql>",
        );
        let settings = load_settings(&config).unwrap();
        assert_eq!(settings.compress_mode, crate::CompressMode::Gzip);
        assert_eq!(
            settings.targets,
            vec![Target::Database("a".into()), Target::Database("b c".into())]
        );
        assert_eq!(settings.user.as_deref(), Some("backup"));
        assert_eq!(settings.port.as_deref(), Some("5433"));
    }

    #[test]
    fn a_bad_boolean_is_a_read_error() {
        let site = Site::new();
        let config = site
            .config("<postgresql><compress_mode>none</compress_mode><all>yes</all></postgresql>");
        let err = load_settings(&config).unwrap_err();
        assert!(matches!(err, PgError::Read { .. }), "{err}");
    }

    #[test]
    fn validate_reports_every_problem() {
        let site = Site::new();
        let config = site.config(
            "<postgresql><compress_mode>zip</compress_mode><all>Y</all>\
             <database>a</database></postgresql>",
        );
        let options = cedar_core::Options::default();
        let ctx = ActionContext {
            action_name: "postgresql",
            config_path: &config.path,
            options: &options,
            config: &config,
        };
        let problems = PostgresqlAction.validate(&ctx);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let err = run_site(&config).unwrap_err().to_string();
        assert!(err.contains("`zip`") && err.contains("<all> is Y"), "{err}");
        assert!(site.entries().is_empty());
    }

    #[test]
    fn the_section_and_the_collect_section_are_required() {
        let site = Site::new();
        let err = run_site(&site.config("")).unwrap_err().to_string();
        assert!(err.contains("<postgresql> section is required"), "{err}");
        let text = "<cb_config><options/><postgresql><compress_mode>none</compress_mode>\
                    <all>Y</all></postgresql></cb_config>";
        let config = ConfigFile::parse(text, Path::new("/x.conf")).unwrap();
        let err = run_site(&config).unwrap_err().to_string();
        assert!(
            err.contains("not properly filled in") && err.contains("<collect>"),
            "{err}"
        );
    }

    #[test]
    fn named_databases_go_through_the_environment() {
        let site = Site::new();
        let config = site.config(
            "<postgresql><user>backup</user><compress_mode>none</compress_mode>\
             <database>-x=y</database><host>/run/pg</host><port>6543</port></postgresql>",
        );
        run_site(&config).unwrap();
        let text = std::fs::read_to_string(site.collect("postgresqldump--x=y.txt")).unwrap();
        assert_eq!(
            text,
            "argc=0 user=backup db=-x=y host=/run/pg port=6543 pass=\n"
        );
        assert_eq!(site.entries(), vec!["postgresqldump--x=y.txt"]);
    }

    #[test]
    fn all_uses_pg_dumpall_and_compresses() {
        let site = Site::new();
        let config = site
            .config("<postgresql><compress_mode>bzip2</compress_mode><all>Y</all></postgresql>");
        run_site(&config).unwrap();
        assert_eq!(site.entries(), vec!["postgresqldump.txt.bz2"]);
        let bytes = std::fs::read(site.collect("postgresqldump.txt.bz2")).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut bzip2::read::BzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        assert!(text.starts_with("argc=0 user= db= "), "{text}");
    }

    #[test]
    fn every_database_is_attempted_and_failures_named() {
        let site = Site::new();
        std::fs::write(site.collect("postgresqldump-bad.txt.gz"), "yesterday").unwrap();
        let config = site.config(
            "<postgresql><compress_mode>gzip</compress_mode><database>a</database>\
             <database>bad</database><database>x/y</database><database>b</database>\
             </postgresql>",
        );
        let err = run_site(&config).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("2 of 4 PostgreSQL dumps failed (the others were written)"),
            "{text}"
        );
        assert!(
            text.contains("database [bad]") && text.contains("does not exist"),
            "{text}"
        );
        assert!(text.contains("exit status 1"), "{text}");
        assert!(
            text.contains("database [x/y]") && text.contains("`/`"),
            "{text}"
        );
        assert_eq!(
            site.entries(),
            vec![
                "postgresqldump-a.txt.gz",
                "postgresqldump-b.txt.gz",
                "postgresqldump-bad.txt.gz"
            ]
        );
        assert_eq!(
            std::fs::read(site.collect("postgresqldump-bad.txt.gz")).unwrap(),
            b"yesterday"
        );
        let mode = std::fs::metadata(site.collect("postgresqldump-a.txt.gz"))
            .unwrap()
            .mode();
        let expected = if cedar_core::ownership::running_as_root() {
            0o640
        } else {
            0o600
        };
        assert_eq!(mode & 0o777, expected);
    }

    #[test]
    fn a_missing_command_names_the_override() {
        let site = Site::new();
        std::fs::remove_file(site.path("pg_dump")).unwrap();
        let config = site.config(
            "<postgresql><compress_mode>none</compress_mode><database>a</database></postgresql>",
        );
        let text = run_site(&config).unwrap_err().to_string();
        assert!(
            text.contains("database [a]") && text.contains("cannot run"),
            "{text}"
        );
        assert!(site.entries().is_empty());
    }

    #[test]
    fn an_unusable_password_file_fails_before_any_dump() {
        let site = Site::new();
        let pgpass = site.path("pgpass");
        std::fs::write(&pgpass, "*:*:*:*:hunter2\n").unwrap();
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = site.config(&format!(
            "<postgresql><compress_mode>none</compress_mode><database>a</database>\
             <password_file>{}</password_file></postgresql>",
            pgpass.display()
        ));
        let text = run_site(&config).unwrap_err().to_string();
        assert!(
            text.contains("chmod 600") && !text.contains("hunter2"),
            "{text}"
        );
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
        run_site(&config).unwrap();
        let text = std::fs::read_to_string(site.collect("postgresqldump-a.txt")).unwrap();
        assert!(
            text.contains(&format!("pass={}", pgpass.display())),
            "{text}"
        );
    }

    #[test]
    fn an_interrupt_stops_before_the_next_database() {
        let site = Site::new();
        let config = site.config(
            "<postgresql><compress_mode>none</compress_mode><database>a</database></postgresql>",
        );
        let err = run(&config, &cedar_core::Options::default(), &|| true).unwrap_err();
        assert!(matches!(err, PgError::Interrupted));
        assert!(matches!(ActionError::from(err), ActionError::Interrupted));
        assert!(site.entries().is_empty());
    }
}
