//! Dumps that look wrong: each run's uncompressed dump sizes are kept in the status history
//! ([`crate::status::DumpHistory`], the last [`crate::status::HISTORY_RUNS`] runs), and a dump
//! is compared with the median of the same database's earlier dumps as soon as two are known:
//! smaller than `<options><shrink_warning>` of it (default 0.5) is a warning, smaller than
//! `<options><shrink_fail>` (no default) fails the action. A database with fewer tables than at
//! its last dump, and a database dumped last time that an `<all>Y` run no longer lists, are
//! warnings too. Every action whose dumps' sizes are known (postgresql, mysql) asks
//! [`check_run`] after its dumps; nothing here knows which database server it was.

use crate::clip::clip;
use crate::config::{Config, ConfigFile};
use crate::quantity::display_bytes;
use crate::status::{DumpHistory, DumpSize, DumpStats, Record};

/// The default of `<options><shrink_warning>`.
pub const DEFAULT_SHRINK_WARNING: f64 = 0.5;

/// The fractions of the median below which a dump warns or fails.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShrinkLimits {
    pub warning: f64,
    pub fail: Option<f64>,
}

/// A fraction in `<options>` that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("<options><{element}> is {}, not a fraction between 0 and 1 such as 0.5; fix it or remove it", clip(.value))]
pub struct ShrinkError {
    pub element: &'static str,
    pub value: String,
}

impl ShrinkLimits {
    /// The limits `<options>` sets.
    pub fn from_config(config: &Config) -> Result<ShrinkLimits, ShrinkError> {
        let options = config.options.as_ref();
        let fraction = |element: &'static str, value: Option<&String>| match value {
            None => Ok(None),
            Some(text) => match text.trim().parse::<f64>() {
                Ok(f) if f > 0.0 && f <= 1.0 => Ok(Some(f)),
                _ => Err(ShrinkError {
                    element,
                    value: text.clone(),
                }),
            },
        };
        Ok(ShrinkLimits {
            warning: fraction(
                "shrink_warning",
                options.and_then(|o| o.shrink_warning.as_ref()),
            )?
            .unwrap_or(DEFAULT_SHRINK_WARNING),
            fail: fraction("shrink_fail", options.and_then(|o| o.shrink_fail.as_ref()))?,
        })
    }
}

/// Why [`check_run`] stopped the action.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShrinkCheckError {
    #[error(transparent)]
    Limits(#[from] ShrinkError),
    /// Dumps smaller than `<options><shrink_fail>` of their median (they were written).
    #[error("{} dump(s) are smaller than <options><shrink_fail> of the median of their earlier dumps (they were written):\n- {}\nCheck the databases; if the shrink was expected, run again with a larger <shrink_fail> (or none) until the history has caught up", .0.len(), .0.join("\n- "))]
    Shrunk(Vec<String>),
}

/// Compares the dumps `action` recorded as successful in this run
/// ([`crate::status::record`]) with the status history of the working directory: each finding
/// is logged as a warning (and so kept in the run's status, the textfile and `cback status`);
/// those below `<shrink_fail>` fail. `stats` counts a dumped database's tables and rows when the
/// action can (`None` when it cannot); what it counts is kept in the history
/// ([`crate::status::record_dump_stats`]). `listed_all`: the databases came from the server's
/// list, so one dumped last time and missing now is gone from the server.
pub fn check_run(
    config: &ConfigFile,
    action: &str,
    listed_all: bool,
    stats: &dyn Fn(&str) -> Option<DumpStats>,
) -> Result<(), ShrinkCheckError> {
    let limits = ShrinkLimits::from_config(&config.config)?;
    let Some(working_dir) = crate::run::working_dir(config) else {
        return Ok(());
    };
    let history = crate::status::read_previous(working_dir)
        .map(|s| s.history)
        .unwrap_or_default();
    let current: Vec<DumpSize> = crate::status::recorded()
        .into_iter()
        .filter_map(|record| match record {
            Record::Database(d) if d.action == action && d.success => Some(d),
            _ => None,
        })
        .map(|d| {
            let counted = stats(&d.database);
            if let Some(counted) = counted {
                crate::status::record_dump_stats(action, &d.database, counted);
            }
            DumpSize {
                action: d.action,
                database: d.database,
                raw_bytes: d.raw_bytes,
                tables: counted.map(|s| s.tables),
                rows: counted.map(|s| s.rows),
            }
        })
        .collect();
    let findings = compare(&history, action, &current, listed_all, &limits);
    for finding in &findings {
        tracing::warn!("{}", finding.message);
    }
    let failing: Vec<String> = findings
        .into_iter()
        .filter(|f| f.fails)
        .map(|f| f.message)
        .collect();
    if failing.is_empty() {
        Ok(())
    } else {
        Err(ShrinkCheckError::Shrunk(failing))
    }
}

/// One thing that looks wrong with this run's dumps.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub database: String,
    pub message: String,
    /// Below `<shrink_fail>`: the action fails.
    pub fails: bool,
}

fn median(mut values: Vec<u64>) -> f64 {
    values.sort_unstable();
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0
    }
}

/// Compares this run's dumps of `action` with the earlier runs of `history`. `listed_all` says
/// that the databases were listed from the server (`<all>Y`), so that one missing from the
/// list is gone from the server.
pub fn compare(
    history: &[DumpHistory],
    action: &str,
    current: &[DumpSize],
    listed_all: bool,
    limits: &ShrinkLimits,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for dump in current {
        let (database, bytes) = (&dump.database, &dump.raw_bytes);
        let last_tables = history.iter().rev().find_map(|run| {
            run.dumps
                .iter()
                .find(|d| d.action == action && &d.database == database)
                .and_then(|d| d.tables)
        });
        if let (Some(before), Some(now)) = (last_tables, dump.tables) {
            if now < before {
                findings.push(Finding {
                    database: database.clone(),
                    message: format!(
                        "The {action} dump of [{database}] holds {now} table(s), {before} at its last dump: check that the tables were dropped on purpose and that the backup role can still see them."
                    ),
                    fails: false,
                });
            }
        }
        let earlier: Vec<u64> = history
            .iter()
            .filter_map(|run| {
                run.dumps
                    .iter()
                    .find(|d| d.action == action && &d.database == database)
                    .map(|d| d.raw_bytes)
            })
            .collect();
        if earlier.len() < 2 {
            continue;
        }
        let runs = earlier.len();
        let median = median(earlier);
        let ratio = *bytes as f64 / median;
        let fails = limits.fail.is_some_and(|f| ratio < f);
        if fails || ratio < limits.warning {
            let limit = if fails {
                format!("<shrink_fail> {}", limits.fail.unwrap_or_default())
            } else {
                format!("<shrink_warning> {}", limits.warning)
            };
            findings.push(Finding {
                database: database.clone(),
                message: format!(
                    "The {action} dump of [{database}] is {} uncompressed, {:.0}% of the median of its last {runs} dumps ({}), below {limit}: check that the database still holds its data and that the backup role can read every table.",
                    display_bytes(*bytes as f64),
                    ratio * 100.0,
                    display_bytes(median),
                ),
                fails,
            });
        }
    }
    if listed_all {
        if let Some(last) = history
            .iter()
            .rev()
            .find(|run| run.dumps.iter().any(|d| d.action == action))
        {
            for gone in last.dumps.iter().filter(|d| {
                d.action == action
                    && d.database != "globals"
                    && !current.iter().any(|c| c.database == d.database)
            }) {
                findings.push(Finding {
                    database: gone.database.clone(),
                    message: format!(
                        "The database [{}] that the last {action} run dumped is no longer on the server's list (<all>Y): check that it was dropped on purpose.",
                        gone.database
                    ),
                    fails: false,
                });
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::DumpSize;

    fn size(db: &str, bytes: u64) -> DumpSize {
        DumpSize {
            action: "postgresql".into(),
            database: db.to_string(),
            raw_bytes: bytes,
            tables: None,
            rows: None,
        }
    }

    fn run(end: i64, dumps: &[(&str, u64)]) -> DumpHistory {
        DumpHistory {
            end,
            dumps: dumps.iter().map(|(db, bytes)| size(db, *bytes)).collect(),
        }
    }

    const LIMITS: ShrinkLimits = ShrinkLimits {
        warning: 0.5,
        fail: None,
    };

    fn current(dumps: &[(&str, u64)]) -> Vec<DumpSize> {
        dumps.iter().map(|(d, b)| size(d, *b)).collect()
    }

    #[test]
    fn fewer_tables_than_at_the_last_dump_warn() {
        let with_tables = |tables| DumpSize {
            tables: Some(tables),
            ..size("shop", 1000)
        };
        let history = [DumpHistory {
            end: 1,
            dumps: vec![with_tables(5)],
        }];
        let found = compare(&history, "postgresql", &[with_tables(4)], false, &LIMITS);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .message
                .contains("holds 4 table(s), 5 at its last dump"),
            "{}",
            found[0].message
        );
        assert!(compare(&history, "postgresql", &[with_tables(6)], false, &LIMITS).is_empty());
        assert!(compare(
            &history,
            "postgresql",
            &[size("shop", 1000)],
            false,
            &LIMITS
        )
        .is_empty());
    }

    #[test]
    fn two_earlier_runs_are_needed_then_the_median_decides() {
        let one = [run(1, &[("shop", 1000)])];
        assert!(compare(
            &one,
            "postgresql",
            &current(&[("shop", 10)]),
            false,
            &LIMITS
        )
        .is_empty());
        let three = [
            run(1, &[("shop", 1000)]),
            run(2, &[("shop", 5000)]),
            run(3, &[("shop", 1200)]),
        ];
        // Median 1200: 601 is above half of it, 599 below.
        assert!(compare(
            &three,
            "postgresql",
            &current(&[("shop", 601)]),
            false,
            &LIMITS
        )
        .is_empty());
        let found = compare(
            &three,
            "postgresql",
            &current(&[("shop", 599)]),
            false,
            &LIMITS,
        );
        assert_eq!(found.len(), 1);
        assert!(!found[0].fails);
        assert!(found[0].message.contains("[shop]"), "{}", found[0].message);
        assert!(
            found[0]
                .message
                .contains("50% of the median of its last 3 dumps"),
            "{}",
            found[0].message
        );
        let strict = ShrinkLimits {
            warning: 0.5,
            fail: Some(0.6),
        };
        let found = compare(
            &three,
            "postgresql",
            &current(&[("shop", 700)]),
            false,
            &strict,
        );
        assert!(found[0].fails, "{found:?}");
        assert!(found[0].message.contains("<shrink_fail> 0.6"));
        // Another action's dumps of the same name are not compared.
        assert!(compare(&three, "mysql", &current(&[("shop", 1)]), false, &LIMITS).is_empty());
    }

    #[test]
    fn a_database_gone_from_an_all_run_is_named() {
        let history = [run(1, &[("shop", 10), ("globals", 5), ("old", 7)])];
        let now = current(&[("shop", 10), ("globals", 5)]);
        let found = compare(&history, "postgresql", &now, true, &LIMITS);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].database, "old");
        assert!(compare(&history, "postgresql", &now, false, &LIMITS).is_empty());
    }

    #[test]
    fn fractions_are_read_from_the_options() {
        let mut config = Config::default();
        assert_eq!(
            ShrinkLimits::from_config(&config),
            Ok(ShrinkLimits {
                warning: 0.5,
                fail: None
            })
        );
        config.options = Some(crate::config::OptionsConfig {
            shrink_warning: Some("0.8".into()),
            shrink_fail: Some(" 0.25 ".into()),
            ..Default::default()
        });
        assert_eq!(
            ShrinkLimits::from_config(&config),
            Ok(ShrinkLimits {
                warning: 0.8,
                fail: Some(0.25)
            })
        );
        for bad in ["0", "1.5", "half", "-0.1"] {
            config.options.as_mut().unwrap().shrink_fail = Some(bad.into());
            let err = ShrinkLimits::from_config(&config).unwrap_err();
            assert!(err.to_string().contains("<options><shrink_fail>"), "{err}");
        }
    }
}
