//! A dumped database's tables and estimated rows, asked of the server with psql, for the status
//! history and its shrink checks ([`cedar_core::shrink`]).

use std::ffi::OsString;
use std::path::Path;

use cedar_core::DumpStats;

use crate::version::{psql, QueryError};

/// Ordinary and partitioned tables outside the system schemas, and their rows summed: the
/// planner's estimate (`reltuples`, as of the last ANALYZE or VACUUM) where there is one, else
/// the statistics system's count of live rows (`n_live_tup`), so that a table loaded and never
/// analysed yet (`reltuples` -1, or 0 with no page before PostgreSQL 14) is not counted as
/// empty. A partitioned table's rows are its partitions'.
pub const QUERY: &str = "SELECT count(*), coalesce(sum(CASE \
     WHEN c.relkind = 'p' THEN 0 \
     WHEN c.reltuples < 0 OR (c.reltuples = 0 AND c.relpages = 0) \
     THEN coalesce(s.n_live_tup, 0)::float8 \
     ELSE c.reltuples::float8 END), 0)::bigint \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%'";

/// Why the counts of a database are not known.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("psql answered {} to the table count, not two numbers", cedar_core::clip_text(.0))]
    Answer(String),
}

/// The tables and estimated rows of `database`.
pub fn table_stats(
    psql_program: &Path,
    env: &[(&'static str, OsString)],
    database: &str,
) -> Result<DumpStats, StatsError> {
    let out = psql(psql_program, env, database, &[], QUERY)?;
    parse(&String::from_utf8_lossy(&out))
}

fn parse(answer: &str) -> Result<DumpStats, StatsError> {
    let line = answer.trim();
    let bad = || StatsError::Answer(line.to_string());
    let (tables, rows) = line.split_once('|').ok_or_else(bad)?;
    Ok(DumpStats {
        tables: tables.trim().parse().map_err(|_| bad())?,
        rows: rows.trim().parse().map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psqls_unaligned_answer_is_read() {
        assert_eq!(
            parse("3|20000\n").unwrap(),
            DumpStats {
                tables: 3,
                rows: 20000
            }
        );
        for bad in ["", "3", "x|1", "3|"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
