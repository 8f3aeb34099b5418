//! `cback-restore restore DATABASE`: choose the copy, refuse an existing target unless
//! `--clean`, restore the globals first when asked, load the dump into a fresh scratch
//! database, and only when that succeeded put it under the target's name (dropping the old
//! one with `--clean`). A failed restore leaves no scratch database and the old target as it
//! was.

use std::path::Path;

use super::catalog::{DumpCopy, Kind};
use super::choose::{choose, rejection, From};
use super::error::RestoreError;
use super::load::{load, load_cluster_section, load_globals};
use super::server::{scratch_name, Server};
use super::source::{all_copies, Source};

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub database: String,
    pub from: From,
    /// The database to create; the dump's own name when `None`.
    pub into: Option<String>,
    pub clean: bool,
    pub globals: bool,
    pub quiet: bool,
}

/// What was restored.
#[derive(Debug, Clone)]
pub struct Restored {
    pub copy: DumpCopy,
    pub target: String,
    pub globals: Option<DumpCopy>,
    pub tables: usize,
    pub rows: u64,
}

/// The sources searched, for messages.
pub fn searched(sources: &[Box<dyn Source>]) -> String {
    if sources.is_empty() {
        return "no place (the configuration names no collect_dir and no staging_dir)".into();
    }
    sources
        .iter()
        .map(|s| s.describe())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn restore(
    server: &Server,
    sources: &[Box<dyn Source>],
    request: &Request,
) -> Result<Restored, RestoreError> {
    let (copies, warnings) = all_copies(sources);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let copy = choose(
        &request.database,
        &copies,
        &request.from,
        &searched(sources),
    )?;
    if copy.kind == Kind::ServerConfig {
        return Err(RestoreError::ServerConfig {
            path: copy.path.clone(),
        });
    }
    let cluster = copy.kind == Kind::Cluster;
    if cluster && request.database == "all" {
        return Err(RestoreError::WholeCluster {
            path: copy.path.clone(),
        });
    }
    if copy.kind == Kind::Globals || (cluster && request.database == "globals") {
        // `restore globals`: the roles and tablespaces alone, into the cluster.
        tracing::info!("Restoring the globals from {}.", copy.path.display());
        load_globals(server, &copy, request.quiet)?;
        return Ok(Restored {
            target: "(the cluster's roles and tablespaces)".to_string(),
            globals: Some(copy.clone()),
            copy,
            tables: 0,
            rows: 0,
        });
    }
    // A cluster dump is "all"; the database is the one asked for.
    let dumped = if cluster {
        request.database.clone()
    } else {
        copy.database.clone()
    };
    let target = request.into.clone().unwrap_or_else(|| dumped.clone());
    tracing::info!(
        "Restoring database [{dumped}] from {} ({}, {} {}, made {}) into database [{target}].",
        copy.path.display(),
        copy.source,
        copy.format.name(),
        copy.compression.name(),
        copy.date
    );
    let exists = server.exists(&target)?;
    if exists && !request.clean {
        return Err(RestoreError::TargetExists { target });
    }
    let globals = if request.globals {
        let globals = globals_for(&copy, &copies)?;
        tracing::info!("Restoring the globals from {}.", globals.path.display());
        load_globals(server, &globals, request.quiet)?;
        Some(globals)
    } else {
        None
    };
    let scratch = scratch_name("restore");
    server.create(&scratch)?;
    let loaded = if cluster {
        load_cluster_section(server, &copy, &dumped, &scratch, request.quiet)
    } else {
        load(server, &copy, &scratch, false, request.quiet)
    };
    let loaded = loaded.and_then(|scan| {
        if exists {
            tracing::info!("Dropping database [{target}] (--clean).");
            server.drop(&target)?;
        }
        server.rename(&scratch, &target)?;
        Ok(scan)
    });
    let scan = match loaded {
        Ok(scan) => scan,
        Err(e) => {
            let dropped = match server.drop(&scratch) {
                Ok(()) => "dropped".to_string(),
                Err(drop_error) => {
                    tracing::error!("{drop_error}; drop database [{scratch}] by hand");
                    "not dropped: drop it by hand".to_string()
                }
            };
            return Err(match e {
                RestoreError::Restore { path, message, .. } => RestoreError::Restore {
                    path,
                    target: target.clone(),
                    message: format!(
                        "{message}\n(the dump was being loaded into the scratch database [{scratch}], {dropped}; database [{target}] was not changed)"
                    ),
                },
                other => other,
            });
        }
    };
    Ok(Restored {
        copy,
        target,
        globals,
        tables: scan.tables.len(),
        rows: scan.tables.values().sum(),
    })
}

/// The globals file that goes with `copy`: the one beside it, else the newest good one; a
/// cluster dump holds its own.
fn globals_for(copy: &DumpCopy, copies: &[DumpCopy]) -> Result<DumpCopy, RestoreError> {
    if copy.kind == Kind::Cluster {
        return Ok(copy.clone());
    }
    let dir = copy.path.parent().unwrap_or(Path::new("."));
    let candidates = copies
        .iter()
        .filter(|c| c.kind == Kind::Globals)
        .filter(|c| c.path.parent() == Some(dir))
        .chain(copies.iter().filter(|c| c.kind == Kind::Globals));
    for candidate in candidates {
        match rejection(candidate) {
            None => return Ok(candidate.clone()),
            Some(reason) => tracing::warn!(
                "Not restoring the globals from {}: {reason}.",
                candidate.path.display()
            ),
        }
    }
    // `--from PATH` outside the configured places: look beside it.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if let Some(c) = super::catalog::describe_path(&entry.path()) {
                if c.kind == Kind::Globals && rejection(&c).is_none() {
                    return Ok(c);
                }
            }
        }
    }
    Err(RestoreError::NoGlobals {
        path: copy.path.clone(),
    })
}
