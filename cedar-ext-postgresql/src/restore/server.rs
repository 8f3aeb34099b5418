//! Small SQL operations on the server through psql: does a database exist, create, drop and
//! rename one, run a query. The connection comes from the `<postgresql>` settings (PGUSER,
//! PGPASSFILE, PGHOST, PGPORT) and PGDATABASE; argv holds no connection setting; SQL goes
//! in on standard input, names quoted.

use std::ffi::OsString;
use std::path::PathBuf;

use cedar_core::ConfigFile;

use super::child::{self, Client};
use super::error::RestoreError;
use super::sql::{quote_ident, quote_literal};
use crate::Settings;

/// The database psql connects to for creating and dropping others.
pub const MAINTENANCE_DB: &str = "postgres";

/// The programs and connection of a restore.
#[derive(Debug, Clone)]
pub struct Server {
    pub psql: PathBuf,
    pub pg_restore: PathBuf,
    pub gpg: PathBuf,
    env: Vec<(String, OsString)>,
}

impl Server {
    pub fn new(config: &ConfigFile, settings: &Settings) -> Server {
        let resolve = |name| cedar_core::resolve_command(&config.config, name);
        Server {
            psql: resolve("psql"),
            pg_restore: resolve("pg_restore"),
            gpg: resolve("gpg"),
            env: settings
                .libpq_env()
                .into_iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect(),
        }
    }

    /// The libpq environment for connecting to `database`.
    pub fn env(&self, database: &str) -> Vec<(String, OsString)> {
        let mut env = self.env.clone();
        env.push(("PGDATABASE".to_string(), OsString::from(database)));
        env
    }

    /// psql connected to `database`, with `args` after `-X -w`.
    pub fn psql_client(&self, database: &str, args: &[&str]) -> Client {
        let mut all: Vec<OsString> = vec!["-X".into(), "-w".into()];
        all.extend(args.iter().map(OsString::from));
        Client {
            name: "psql",
            program: self.psql.clone(),
            args: all,
            env: self.env(database),
            cleanup: false,
        }
    }

    /// Runs `sql` in `database`, stopping at the first error; returns the unaligned,
    /// tuples-only output. `doing` describes it for the error.
    pub fn query(&self, database: &str, sql: &str, doing: &str) -> Result<String, RestoreError> {
        self.run_sql(database, sql, doing, false)
    }

    fn run_sql(
        &self,
        database: &str,
        sql: &str,
        doing: &str,
        cleanup: bool,
    ) -> Result<String, RestoreError> {
        let mut client = self.psql_client(
            database,
            &["-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        );
        client.cleanup = cleanup;
        let mut output = Vec::new();
        let mut input: &[u8] = sql.as_bytes();
        let ended = child::run(
            &client,
            Some(&mut input),
            None,
            &mut |piece| output.extend_from_slice(piece),
            &|_| {},
            &mut || Ok(()),
        )
        .map_err(|source| RestoreError::Client {
            command: "psql",
            doing: doing.to_string(),
            source,
        })?;
        if !ended.status.success() {
            return Err(RestoreError::ClientStatus {
                command: "psql",
                doing: doing.to_string(),
                status: ended.status,
                tail: ended.stderr_tail,
            });
        }
        Ok(String::from_utf8_lossy(&output).into_owned())
    }

    pub fn exists(&self, database: &str) -> Result<bool, RestoreError> {
        let out = self.query(
            MAINTENANCE_DB,
            &format!(
                "SELECT 1 FROM pg_database WHERE datname = {};",
                quote_literal(database)
            ),
            &format!("checking whether database [{database}] exists"),
        )?;
        Ok(out.trim() == "1")
    }

    /// Creates `database` empty (from template0, as a restore needs).
    pub fn create(&self, database: &str) -> Result<(), RestoreError> {
        self.query(
            MAINTENANCE_DB,
            &format!(
                "CREATE DATABASE {} TEMPLATE template0;",
                quote_ident(database)
            ),
            &format!("creating database [{database}]"),
        )
        .map(|_| ())
    }

    /// Drops `database` if it exists, ending its sessions; also after an interrupt.
    pub fn drop(&self, database: &str) -> Result<(), RestoreError> {
        self.run_sql(
            MAINTENANCE_DB,
            &format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE);",
                quote_ident(database)
            ),
            &format!("dropping database [{database}]"),
            true,
        )
        .map(|_| ())
    }

    pub fn rename(&self, from: &str, to: &str) -> Result<(), RestoreError> {
        self.query(
            MAINTENANCE_DB,
            &format!(
                "ALTER DATABASE {} RENAME TO {};",
                quote_ident(from),
                quote_ident(to)
            ),
            &format!("renaming database [{from}] to [{to}]"),
        )
        .map(|_| ())
    }
}

/// A unique database name for a restore in progress: `cback_PURPOSE_PID_SECONDS_N`.
pub fn scratch_name(purpose: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "cback_{purpose}_{}_{}_{}",
        std::process::id(),
        cedar_core::now_secs(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}
