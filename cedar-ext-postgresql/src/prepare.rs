//! What a run settles before the first dump: the server's version, the pg_dump / pg_dumpall /
//! pg_restore to run ([`crate::version`]), and for `<split>Y` the databases to dump
//! ([`crate::discover`]). Everything that can fail here fails before a file is written.

use std::ffi::OsString;
use std::path::PathBuf;

use cedar_core::process::{is_overridden, resolve_command};
use cedar_core::ConfigFile;

use crate::config::{Format, Settings, Target};
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

    /// A plan that uses the configured programs as they are, without asking the server
    /// anything (dry runs, unit tests).
    pub fn unprobed(config: &ConfigFile, settings: &Settings) -> Prepared {
        let tool = |name| Tool {
            program: resolve_command(&config.config, name),
            version: None,
            version_text: None,
            origin: Origin::Path,
        };
        Prepared {
            targets: settings.targets.clone(),
            server: None,
            pg_dump: tool("pg_dump"),
            pg_dumpall: tool("pg_dumpall"),
            pg_restore: resolve_command(&config.config, "pg_restore"),
        }
    }
}

/// The arguments of the command that dumps `target` (nothing that identifies anyone: the
/// user and the database go through the environment).
pub fn args(settings: &Settings, target: &Target) -> Vec<OsString> {
    match (target, settings.format) {
        (Target::Globals, _) => vec!["--globals-only".into()],
        (Target::Database(_), Format::Custom) => vec!["--format=custom".into()],
        _ => Vec::new(),
    }
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
        let pinned = is_overridden(&config.config, name);
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
        if is_overridden(&config.config, "pg_restore") || pg_dump.origin != Origin::Found {
            resolve_command(&config.config, "pg_restore")
        } else {
            pg_dump.program.with_file_name("pg_restore")
        };

    let targets = if settings.split {
        let excludes = Excludes::new(&settings.excludes).map_err(|problem| PgError::Invalid {
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
