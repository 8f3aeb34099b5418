//! `cback-restore drill`: for each configured database, restore its newest good dump into a
//! scratch database of a unique name, check that every table the dump defines exists and
//! holds as many rows as the dump's data section has for it, and drop the scratch database
//! whatever happened. One [`Outcome`] per database; a pg_dumpall of the whole cluster is
//! drilled one database at a time.

use std::time::Instant;

use super::catalog::{DumpCopy, Kind};
use super::choose::{choose, From};
use super::error::RestoreError;
use super::load::{cluster_contents, load, load_cluster_section};
use super::run::searched;
use super::server::{scratch_name, Server};
use super::source::{all_copies, Source};
use super::sql::{quote_literal, SqlScan};
use crate::{Settings, Target};

/// The result of drilling one database.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub database: String,
    pub file: Option<String>,
    pub success: bool,
    pub tables: usize,
    pub rows: u64,
    pub seconds: f64,
    pub error: Option<String>,
}

impl Outcome {
    /// As recorded in the status file, for a drill that ended at `end`.
    pub fn result(&self, end: i64) -> cedar_core::DrillResult {
        cedar_core::DrillResult {
            database: self.database.clone(),
            file: self.file.clone(),
            success: self.success,
            tables: self.tables,
            rows: self.rows,
            seconds: self.seconds,
            end,
            error: self.error.clone(),
        }
    }

    /// The line printed for it.
    pub fn line(&self) -> String {
        match (&self.error, &self.file) {
            (None, Some(file)) => format!(
                "PASS {}: {file} restored, {} table(s) and {} row(s) as in the dump ({:.1}s)",
                self.database, self.tables, self.rows, self.seconds
            ),
            (Some(error), _) => format!("FAIL {}: {error}", self.database),
            (None, None) => format!("FAIL {}: nothing was restored", self.database),
        }
    }
}

/// The databases a drill covers: the configured ones, or with `<all>Y<split>Y` every database
/// that has a dump; with `<all>Y` alone, `all`: every database of the newest cluster-wide
/// dump (see [`drill_cluster`]).
pub fn databases(settings: &Settings, copies: &[DumpCopy]) -> Vec<String> {
    let mut names = Vec::new();
    for target in &settings.targets {
        match target {
            Target::Database(name) => names.push(name.clone()),
            Target::All if settings.split => {
                for copy in copies.iter().filter(|c| c.kind == Kind::Database) {
                    if !names.contains(&copy.database) {
                        names.push(copy.database.clone());
                    }
                }
            }
            Target::All => names.push("all".to_string()),
            Target::Globals => {}
        }
    }
    names
}

/// Drills every database of the configuration.
pub fn drill(
    server: &Server,
    settings: &Settings,
    sources: &[Box<dyn Source>],
    quiet: bool,
) -> Vec<Outcome> {
    let (copies, warnings) = all_copies(sources);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let where_ = searched(sources);
    let mut outcomes = Vec::new();
    for database in databases(settings, &copies) {
        let chosen = choose(&database, &copies, &From::Newest, &where_).map_err(|e| e.to_string());
        match chosen {
            Ok(copy) if copy.kind == Kind::Cluster => {
                outcomes.extend(drill_cluster(server, &copy, quiet));
            }
            chosen => outcomes.push(drill_one(server, &database, chosen, None, quiet)),
        }
    }
    outcomes
}

/// Drills each database of the cluster dump `copy` in turn (the dump is read once to find
/// them, then once for each).
fn drill_cluster(server: &Server, copy: &DumpCopy, quiet: bool) -> Vec<Outcome> {
    tracing::info!(
        "Drill of the cluster dump {}: finding its databases.",
        copy.path.display()
    );
    let found = cluster_contents(server, copy)
        .map_err(|e| e.to_string())
        .and_then(|scan| {
            if !scan.complete {
                Err(format!(
                    "{} ends without pg_dumpall's completion marker: the dump was cut short",
                    copy.path.display()
                ))
            } else if scan.databases.is_empty() {
                Err(format!("{} holds no database", copy.path.display()))
            } else {
                Ok(scan.databases)
            }
        });
    match found {
        Ok(databases) => databases
            .iter()
            .map(|db| drill_one(server, db, Ok(copy.clone()), Some(db), quiet))
            .collect(),
        Err(error) => vec![drill_one(server, "all", Err(error), None, quiet)],
    }
}

/// Drills `database` from the copy chosen for it; `section` names the database inside a
/// cluster dump.
fn drill_one(
    server: &Server,
    database: &str,
    chosen: Result<DumpCopy, String>,
    section: Option<&str>,
    quiet: bool,
) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome {
        database: database.to_string(),
        file: None,
        success: false,
        tables: 0,
        rows: 0,
        seconds: 0.0,
        error: None,
    };
    let result = (|| -> Result<SqlScan, String> {
        let copy = chosen?;
        outcome.file = Some(copy.path.display().to_string());
        tracing::info!(
            "Drill of database [{database}]: restoring {}.",
            copy.path.display()
        );
        let scratch = scratch_name("drill");
        server.create(&scratch).map_err(|e| e.to_string())?;
        let loaded = match section {
            Some(section) => load_cluster_section(server, &copy, section, &scratch, quiet),
            None => load(server, &copy, &scratch, true, quiet),
        };
        let checked = loaded.and_then(|scan| verify(server, &scratch, &copy, &scan).map(|()| scan));
        let dropped = server.drop(&scratch);
        let scan = checked.map_err(|e| e.to_string())?;
        dropped.map_err(|e| format!("{e}; drop database [{scratch}] by hand"))?;
        Ok(scan)
    })();
    outcome.seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(scan) => {
            outcome.success = true;
            outcome.tables = scan.tables.len();
            outcome.rows = scan.tables.values().sum();
        }
        Err(e) => outcome.error = Some(e),
    }
    outcome
}

/// Every table of `scan` exists in `database` with the dump's number of rows.
fn verify(
    server: &Server,
    database: &str,
    copy: &DumpCopy,
    scan: &SqlScan,
) -> Result<(), RestoreError> {
    if scan.tables.is_empty() {
        return Ok(());
    }
    let mut sql = String::new();
    for table in scan.tables.keys() {
        sql.push_str(&format!(
            "SELECT {lit} || '|' || (to_regclass({lit}) IS NOT NULL)::text;\n",
            lit = quote_literal(table)
        ));
    }
    let doing = format!(
        "checking the tables of the restored dump {}",
        copy.path.display()
    );
    let found = server.query(database, &sql, &doing)?;
    let mut problems = Vec::new();
    let mut present = Vec::new();
    for line in found.lines() {
        if let Some((table, exists)) = line.rsplit_once('|') {
            if exists == "true" {
                present.push(table.to_string());
            } else {
                problems.push(format!("table {table} is missing"));
            }
        }
    }
    if !present.is_empty() {
        let mut sql = String::new();
        for table in &present {
            sql.push_str(&format!(
                "SELECT {} || '|' || count(*) FROM ONLY {table};\n",
                quote_literal(table)
            ));
        }
        let counted = server.query(database, &sql, &doing)?;
        for line in counted.lines() {
            if let Some((table, count)) = line.rsplit_once('|') {
                let expected = scan.tables.get(table).copied().unwrap_or(0);
                if count.parse::<u64>().ok() != Some(expected) {
                    problems.push(format!(
                        "table {table} has {count} rows, the dump holds {expected}"
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RestoreError::Restore {
            path: copy.path.clone(),
            target: database.to_string(),
            message: format!(
                "the restored database differs from the dump: {}",
                problems.join("; ")
            ),
        })
    }
}
