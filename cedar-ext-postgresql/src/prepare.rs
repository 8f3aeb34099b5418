//! What a run settles before the first dump: the server's version, the pg_dump / pg_dumpall /
//! pg_restore to run ([`crate::version`]), and for `<split>Y` the databases to dump
//! ([`crate::discover`]). Everything that can fail here fails before a file is written.

use std::ffi::OsString;
use std::path::PathBuf;

use cedar_core::{is_command_overridden, resolve_command, ConfigFile, SectionError};

use crate::config::{Format, Settings, Target, SECTION};
use crate::discover::{self, Excludes};
use crate::error::PgError;
use crate::version::{self, Origin, ServerVersion, Tool};

/// The settled plan of a run.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The dumps to make, in order (for `<split>Y`: the globals, then each database).
    pub targets: Vec<Target>,
    /// The server's version, when psql could ask it.
    pub server: Option<ServerVersion>,
    pub pg_dump: Tool,
    pub pg_dumpall: Tool,
    /// The pg_restore that checks custom-format archives.
    pub pg_restore: PathBuf,
}

impl Prepared {
    /// The program that dumps `target`.
    pub fn tool(&self, target: &Target) -> &Tool {
        match target {
            Target::Database(_) => &self.pg_dump,
            Target::All | Target::Globals => &self.pg_dumpall,
        }
    }
}

/// The arguments of the command that dumps `target` (nothing that identifies anyone: the
/// user and the database go through the environment).
///
/// With `<split>Y`, each database dump carries `--create`, so it keeps what pg_dumpall would
/// have kept: the database's owner, its privileges (`REVOKE CONNECT ...`) and its settings
/// (`ALTER DATABASE ... SET`). Such a file recreates its database: `psql -f file postgres`, or
/// `pg_restore -C -d postgres` for the custom format.
///
/// Every command gets `--no-password`: pg_dump runs in a process group of its own, so a
/// password prompt on the terminal would stop it (SIGTTIN) and hang the run; without a
/// password from a pgpass file or the environment it fails at once with libpq's reason.
pub fn args(settings: &Settings, target: &Target) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--no-password".into()];
    match target {
        Target::Globals => args.push("--globals-only".into()),
        Target::Database(_) => {
            if settings.format == Format::Custom {
                args.push("--format=custom".into());
            }
            if settings.split {
                args.push("--create".into());
            }
        }
        Target::All => {}
    }
    args
}

/// The libpq environment of every command of the run.
pub fn libpq_env(settings: &Settings) -> Vec<(&'static str, OsString)> {
    settings
        .libpq_env()
        .into_iter()
        .map(|(k, v)| (k, OsString::from(v)))
        .collect()
}

/// Asks the server for its version, chooses the programs and, for `<split>Y`, lists the
/// databases. Fails (before anything is written) when no pg_dump new enough exists or the
/// databases cannot be listed.
pub fn prepare(config: &ConfigFile, settings: &Settings) -> Result<Prepared, PgError> {
    let env = libpq_env(settings);
    let psql = resolve_command(&config.config, "psql");
    let needs_dump = settings.split
        || settings
            .targets
            .iter()
            .any(|t| matches!(t, Target::Database(_)));
    let needs_dumpall = settings
        .targets
        .iter()
        .any(|t| matches!(t, Target::All | Target::Globals));

    let mut databases: Vec<&str> = settings
        .targets
        .iter()
        .filter_map(|t| match t {
            Target::Database(name) => Some(name.as_str()),
            _ => None,
        })
        .take(1)
        .collect();
    databases.extend(discover::MAINTENANCE_DATABASES);
    let server = match version::server_version(&psql, &env, &databases) {
        Ok(server) => {
            tracing::info!("The PostgreSQL server is version {}.", server.text);
            Some(server)
        }
        Err(err) => {
            // The dumps will fail with the real reason (server down, wrong password), or
            // succeed if only psql is missing; the programs on PATH are used as they are.
            let mut text = err.to_string();
            if let Some(source) = std::error::Error::source(&err) {
                text.push_str(&format!(": {source}"));
            }
            tracing::warn!(
                "Cannot ask the server for its version, so pg_dump is not matched to it: {text}"
            );
            None
        }
    };
    let roots = version::search_roots();
    let choose = |name: &'static str, needed: bool| -> Result<Tool, PgError> {
        let configured = resolve_command(&config.config, name);
        let pinned = is_command_overridden(&config.config, name);
        if !needed {
            return Ok(Tool {
                program: configured,
                version: None,
                version_text: None,
                origin: if pinned {
                    Origin::Override
                } else {
                    Origin::Path
                },
            });
        }
        let tool = version::choose(
            name,
            &configured,
            pinned,
            server.as_ref().map(|s| s.version),
            &roots,
            &|program| version::program_version_in(program, &env),
        )
        .map_err(PgError::Version)?;
        if tool.origin == Origin::Found {
            tracing::info!(
                "The {name} on PATH is older than the server; using {} ({}).",
                tool.program.display(),
                tool.version_text.as_deref().unwrap_or("version unknown")
            );
        }
        Ok(tool)
    };
    let pg_dump = choose("pg_dump", needs_dump)?;
    let pg_dumpall = choose("pg_dumpall", needs_dumpall || settings.split)?;
    // pg_restore must read what pg_dump wrote: take it from the same installation when pg_dump
    // was found there.
    let pg_restore =
        if is_command_overridden(&config.config, "pg_restore") || pg_dump.origin != Origin::Found {
            resolve_command(&config.config, "pg_restore")
        } else {
            pg_dump.program.with_file_name("pg_restore")
        };

    let targets = if settings.split {
        let excludes =
            Excludes::new(&settings.excludes).map_err(|problem| SectionError::Invalid {
                section: SECTION,
                path: config.path.clone(),
                problems: vec![problem],
            })?;
        let (kept, excluded) =
            discover::databases(&psql, &env, &excludes).map_err(PgError::Discover)?;
        for name in &excluded {
            tracing::info!("Database [{name}] is excluded by an <exclude> pattern.");
        }
        tracing::info!(
            "Found {} databases to dump: {}.",
            kept.len(),
            kept.iter()
                .map(|n| format!("[{n}]"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        std::iter::once(Target::Globals)
            .chain(kept.into_iter().map(Target::Database))
            .collect()
    } else {
        settings.targets.clone()
    };
    Ok(Prepared {
        targets,
        server,
        pg_dump,
        pg_dumpall,
        pg_restore,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PostgresqlSection;

    fn settings(all: bool, split: bool, format: Option<&str>) -> Settings {
        let section = PostgresqlSection {
            compress_mode: Some("none".into()),
            all: Some(all),
            databases: if all { vec![] } else { vec!["shop".into()] },
            split: split.then_some(true),
            format: format.map(str::to_string),
            ..Default::default()
        };
        Settings::from_section(Some(&section)).unwrap()
    }

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn no_command_may_prompt_for_a_password() {
        let targets = [
            Target::All,
            Target::Globals,
            Target::Database("shop".into()),
        ];
        for settings in [
            settings(true, false, None),
            settings(true, true, None),
            settings(true, true, Some("custom")),
            settings(false, false, None),
        ] {
            for target in &targets {
                let args = strings(args(&settings, target));
                assert!(args.contains(&"--no-password".to_string()), "{args:?}");
            }
        }
    }

    #[test]
    fn split_database_dumps_recreate_their_database() {
        let db = Target::Database("shop".into());
        let split = settings(true, true, None);
        assert!(strings(args(&split, &db)).contains(&"--create".to_string()));
        let custom = settings(true, true, Some("custom"));
        let custom_args = strings(args(&custom, &db));
        assert!(
            custom_args.contains(&"--create".to_string()),
            "{custom_args:?}"
        );
        assert!(custom_args.contains(&"--format=custom".to_string()));
        // The globals and named dumps stay as the original writes them.
        assert!(!strings(args(&split, &Target::Globals)).contains(&"--create".to_string()));
        let named = settings(false, false, None);
        assert!(!strings(args(&named, &db)).contains(&"--create".to_string()));
        assert!(!strings(args(&settings(true, false, None), &Target::All))
            .contains(&"--create".to_string()));
    }
}
