//! What `cback doctor` checks for the `<postgresql>` section, without dumping anything: the
//! section and its password file; a connection as the configured role; a pg_dump (and
//! pg_dumpall) new enough for the server ([`crate::version`]); every configured database
//! present; every table and sequence the dump includes readable by the role
//! (`has_table_privilege`; with a `<database_options>` entry, pg_dump itself says which tables
//! its selection includes, [`selected_unreadable`]); when pg_dumpall runs (`<all>Y`),
//! `pg_authid` readable (a warning when not: the roles are then dumped without their
//! passwords, [`crate::role_passwords`]); and the server's recovery state and the rights to
//! pause replay on a hot standby ([`crate::standby::doctor_check`]). Every psql and pg_dump
//! runs within [`CHECK_TIME_LIMIT`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cedar_core::{
    is_command_overridden, resolve_command, section_check_failure, CheckResult, ConfigFile,
    CHECK_TIME_LIMIT,
};

use crate::config::{check_password_file, Settings, Target};
use crate::discover::{parse_names, Excludes, MAINTENANCE_DATABASES};
use crate::prepare::{connect_databases, libpq_env};
use crate::version::{self, psql_within, QueryError};

/// How many unreadable tables of one database are named before the rest are counted.
const NAMED_TABLES: usize = 20;

/// The tables and sequences pg_dump reads, as `'t' || schema.name` when the role cannot read
/// them (then, after the unit separator 0x1f, its kind, its schema and its name as they are),
/// plus `'u' || role` and `'n' || how many there are.
const TABLES_QUERY: &str = "SELECT 'u' || quote_ident(current_user) \
     UNION ALL SELECT 'n' || count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'S', 'm') AND n.nspname <> 'information_schema' \
     AND n.nspname NOT LIKE 'pg\\_%' \
     UNION ALL SELECT 't' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
     || chr(31) || c.relkind::text || chr(31) || n.nspname || chr(31) || c.relname \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p', 'S', 'm') AND n.nspname <> 'information_schema' \
     AND n.nspname NOT LIKE 'pg\\_%' AND NOT has_table_privilege(c.oid, 'SELECT')";

/// The databases psql may connect to.
const DATABASES_QUERY: &str =
    "SELECT CASE WHEN datistemplate THEN 't' ELSE 'd' END || datname FROM pg_database WHERE datallowconn";

/// Whether the role may read the role passwords pg_dumpall dumps.
const AUTHID_QUERY: &str = "SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT')";

/// Every check of the section, in order; stops after the first failure that makes the rest
/// meaningless (no settings, no connection).
pub fn check(config: &ConfigFile) -> Vec<CheckResult> {
    let settings = match crate::action::load_settings(config) {
        Ok(settings) => settings,
        Err(err) => return vec![section_check_failure("postgresql", &config.path, &err)],
    };
    let mut results = Vec::new();
    if let Some(file) = &settings.password_file {
        if let Err(reason) = check_password_file(file) {
            results.push(CheckResult::fail(
                "postgresql password file",
                file.display().to_string(),
                format!("libpq cannot use it: {reason}; make it a regular file of mode 0600 owned by the user running cback"),
            ));
        }
    }
    let env = libpq_env(&settings);
    let psql = resolve_command(&config.config, "psql");
    let server = server_subject(&settings);
    let named: Vec<&str> = settings
        .targets
        .iter()
        .filter_map(|t| match t {
            Target::Database(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let mut first: Vec<&str> = named.iter().copied().take(1).collect();
    first.extend(MAINTENANCE_DATABASES);
    let version = match version::server_version_within(&psql, &env, &first, Some(CHECK_TIME_LIMIT))
    {
        Ok(version) => version,
        Err(err) => {
            results.push(CheckResult::fail(
                "postgresql connection",
                server,
                format!("{}; check that the server runs and is reachable, that pg_hba.conf lets the role connect and that its password is in the password file (or ~/.pgpass)", query_text(&err)),
            ));
            return results;
        }
    };
    results.push(CheckResult::pass(
        "postgresql connection",
        &server,
        format!("connected; the server is PostgreSQL {}", version.text),
    ));
    let (checked, pg_dump) = programs(config, &settings, &env, version.version);
    results.extend(checked);
    let server_of_dumps =
        crate::standby::Server::new(config, &settings, &connect_databases(&settings));
    results.push(crate::standby::doctor_check(
        &server_of_dumps,
        &settings,
        Some(version.version),
        CHECK_TIME_LIMIT,
    ));

    let listed = match psql_within(
        &psql,
        &env,
        MAINTENANCE_DATABASES[0],
        &["-0"],
        DATABASES_QUERY,
        Some(CHECK_TIME_LIMIT),
    ) {
        Ok(out) => parse_names(&out),
        Err(err) => {
            results.push(CheckResult::fail(
                "postgresql databases",
                server,
                format!("cannot list the databases: {}; check that the role may connect to the postgres database", query_text(&err)),
            ));
            return results;
        }
    };
    let existing: Vec<&str> = listed.iter().map(|r| &r[1..]).collect();
    let mut databases: Vec<String> = Vec::new();
    for name in &named {
        if existing.contains(name) {
            results.push(CheckResult::pass(
                "postgresql database",
                *name,
                "exists and accepts connections",
            ));
            databases.push(name.to_string());
        } else {
            results.push(CheckResult::fail(
                "postgresql database",
                *name,
                "does not exist on the server (or refuses connections); create it, or remove it from <postgresql><database>",
            ));
        }
    }
    if settings.targets.contains(&Target::All) {
        let excludes = Excludes::new(&settings.excludes).unwrap_or_default();
        databases.extend(
            listed
                .iter()
                .filter(|r| r.starts_with('d'))
                .map(|r| r[1..].to_string())
                .filter(|name| !settings.split || !excludes.excludes(name)),
        );
        let answer = psql_within(
            &psql,
            &env,
            MAINTENANCE_DATABASES[0],
            &[],
            AUTHID_QUERY,
            Some(CHECK_TIME_LIMIT),
        );
        results.push(match answer.map(|o| String::from_utf8_lossy(&o).trim() == "t") {
            Ok(true) => CheckResult::pass("postgresql globals", "pg_authid", "the role can read the roles and their passwords"),
            Ok(false) if !settings.role_passwords => CheckResult::pass(
                "postgresql globals",
                "pg_authid",
                "the roles are dumped without their passwords, as <role_passwords>N asks",
            ),
            Ok(false) => CheckResult::warn(
                "postgresql globals",
                "pg_authid",
                "the role cannot read pg_authid: the roles will be dumped without their passwords (pg_dumpall --no-role-passwords); to keep them, GRANT pg_read_all_data to the role or run the dumps as a superuser (<postgresql><user>), or set <role_passwords>N to say that is intended",
            ),
            Err(err) => CheckResult::fail("postgresql globals", "pg_authid", format!("cannot ask: {}", query_text(&err))),
        });
    }
    for database in &databases {
        let selection = settings
            .choices(&Target::Database(database.clone()))
            .is_some_and(|c| !c.args().is_empty());
        let dump = Dump {
            pg_dump: pg_dump.as_deref().filter(|_| selection),
            settings: &settings,
        };
        results.extend(tables(&psql, &env, database, &dump));
    }
    results
}

/// How the dump of a database chooses its tables: pg_dump with the arguments of its
/// `<database_options>` entry (`None`: no entry selects anything, every table is dumped).
struct Dump<'a> {
    pg_dump: Option<&'a Path>,
    settings: &'a Settings,
}

/// pg_dump and pg_dumpall against the server's version, as the action will choose them.
fn programs(
    config: &ConfigFile,
    settings: &Settings,
    env: &[(&'static str, OsString)],
    server: version::Version,
) -> (Vec<CheckResult>, Option<PathBuf>) {
    let mut needed = Vec::new();
    if settings.split
        || settings
            .targets
            .iter()
            .any(|t| matches!(t, Target::Database(_)))
    {
        needed.push("pg_dump");
    }
    if settings.split || settings.targets.contains(&Target::All) {
        needed.push("pg_dumpall");
    }
    let roots = version::search_roots();
    let mut pg_dump = None;
    let results = needed
        .into_iter()
        .map(|name| {
            let configured = resolve_command(&config.config, name);
            let pinned = is_command_overridden(&config.config, name);
            let chosen = version::choose(name, &configured, pinned, Some(server), &roots, &|p| {
                version::program_version_in(p, env)
            });
            if let (Ok(tool), "pg_dump") = (&chosen, name) {
                pg_dump = Some(tool.program.clone());
            }
            match chosen {
                Ok(tool) if pinned => CheckResult::pass(
                    "postgresql program",
                    tool.program.display().to_string(),
                    format!("{name} pinned by an <override>; not matched to the server"),
                ),
                Ok(tool) => match tool.version_text {
                    Some(text) => CheckResult::pass(
                        "postgresql program",
                        tool.program.display().to_string(),
                        format!("{text}, able to dump PostgreSQL {}", server.major()),
                    ),
                    None => CheckResult::fail(
                        "postgresql program",
                        tool.program.display().to_string(),
                        format!("`{name} --version` cannot be run; install {} or point an <override> at it", server.packages()),
                    ),
                },
                Err(too_old) => CheckResult::fail(
                    "postgresql program",
                    too_old.program.display().to_string(),
                    too_old.to_string(),
                ),
            }
        })
        .collect();
    (results, pg_dump)
}

/// One table or sequence the role cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unreadable {
    /// `schema.name`, quoted where SQL needs it.
    shown: String,
    /// `pg_class.relkind`: `S` a sequence.
    kind: String,
    schema: String,
    name: String,
}

fn parse_unreadable(record: &str) -> Option<Unreadable> {
    let mut parts = record.split('\x1f');
    let unreadable = Unreadable {
        shown: parts.next()?.to_string(),
        kind: parts.next()?.to_string(),
        schema: parts.next()?.to_string(),
        name: parts.next()?.to_string(),
    };
    parts.next().is_none().then_some(unreadable)
}

/// The tables and sequences of `database` the role cannot read and its dump includes, each a
/// FAIL with its GRANT; one PASS when there is none.
fn tables(
    psql: &Path,
    env: &[(&'static str, OsString)],
    database: &str,
    dump: &Dump<'_>,
) -> Vec<CheckResult> {
    let out = match psql_within(
        psql,
        env,
        database,
        &["-0"],
        TABLES_QUERY,
        Some(CHECK_TIME_LIMIT),
    ) {
        Ok(out) => out,
        Err(err) => {
            return vec![CheckResult::fail(
                "postgresql tables",
                database,
                format!(
                    "cannot list the tables: {}; check that the role may connect to the database",
                    query_text(&err)
                ),
            )]
        }
    };
    let records = parse_names(&out);
    let role = records
        .iter()
        .find_map(|r| r.strip_prefix('u'))
        .unwrap_or("the role");
    let count = records
        .iter()
        .find_map(|r| r.strip_prefix('n'))
        .unwrap_or("0");
    let mut unreadable: Vec<Unreadable> = records
        .iter()
        .filter_map(|r| r.strip_prefix('t'))
        .filter_map(parse_unreadable)
        .collect();
    let mut selected_note = "";
    if let (Some(pg_dump), false) = (dump.pg_dump, unreadable.is_empty()) {
        match selected_unreadable(pg_dump, env, database, dump.settings, &unreadable) {
            Ok(selected) => {
                unreadable = selected;
                selected_note = " (of the tables its <database_options> selects)";
            }
            Err(reason) => {
                return vec![CheckResult::fail(
                    "postgresql tables",
                    database,
                    format!(
                        "cannot ask pg_dump which tables the dump of {database} includes: {reason}"
                    ),
                )]
            }
        }
    }
    if unreadable.is_empty() {
        return vec![CheckResult::pass(
            "postgresql tables",
            database,
            format!("role {role} can read all {count} tables and sequences{selected_note}"),
        )];
    }
    let mut results: Vec<CheckResult> = unreadable
        .iter()
        .take(NAMED_TABLES)
        .map(|table| {
            let table = &table.shown;
            CheckResult::fail(
                "postgresql table",
                format!("{database}: {table}"),
                format!("role {role} cannot read it, so pg_dump of {database} fails; run GRANT SELECT ON {table} TO {role}; in {database} (or dump as a role that can read it, or leave it out with <exclude_table> in <database_options>)"),
            )
        })
        .collect();
    if unreadable.len() > NAMED_TABLES {
        results.push(CheckResult::fail(
            "postgresql table",
            database,
            format!(
                "{} more tables role {role} cannot read; GRANT SELECT ON ALL TABLES IN SCHEMA ... TO {role}",
                unreadable.len() - NAMED_TABLES
            ),
        ));
    }
    results
}

/// Which of `unreadable` the dump of `database` includes, as pg_dump itself selects them (the
/// one implementation of `<schema>`, `<exclude_schema>`, `<table>`, `<exclude_table>` and the
/// selecting `<pg_dump_option>`s: the dump's own arguments, [`crate::prepare::args`]). With
/// `--schema-only` pg_dump reads no data but locks every table it will dump, which the role
/// may not do to a table it cannot read: pg_dump stops at the first such table ("permission
/// denied for table NAME"); that table is counted, left out with `--exclude-table`, and pg_dump
/// asked again, until it gets through. A sequence is not locked: an unreadable one counts when
/// the schema pg_dump wrote at last creates it.
fn selected_unreadable(
    pg_dump: &Path,
    env: &[(&'static str, OsString)],
    database: &str,
    settings: &Settings,
    unreadable: &[Unreadable],
) -> Result<Vec<Unreadable>, String> {
    let target = Target::Database(database.to_string());
    let args: Vec<OsString> = crate::prepare::args(settings, &target)
        .into_iter()
        .filter(|a| {
            let a = a.to_string_lossy();
            a != "--data-only" && !a.starts_with("--section") && !a.starts_with("--format")
        })
        .collect();
    let mut selected: Vec<Unreadable> = Vec::new();
    let mut excluded: Vec<String> = Vec::new();
    for _ in 0..=unreadable.len() {
        let mut command = cedar_core::child_command(pg_dump);
        command
            .args(&args)
            .arg("--schema-only")
            .args(excluded.iter().map(|p| format!("--exclude-table={p}")))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("PGDATABASE", database);
        let output = cedar_core::run_supervised_within(command, CHECK_TIME_LIMIT)
            .map_err(|e| format!("`{}`: {e}", pg_dump.display()))?;
        if output.status.success() {
            // The schema pg_dump wrote names every sequence it dumps.
            let schema = String::from_utf8_lossy(&output.stdout);
            selected.extend(
                unreadable
                    .iter()
                    .filter(|u| {
                        u.kind == "S"
                            && (schema.contains(&format!("CREATE SEQUENCE {}\n", u.shown))
                                || schema.contains(&format!("SEQUENCE NAME {}\n", u.shown)))
                    })
                    .cloned(),
            );
            return Ok(selected);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let denied = stderr.lines().find_map(|l| {
            l.split_once("permission denied for table ")
                .map(|(_, name)| name.trim().to_string())
        });
        let Some(name) = denied else {
            return Err(format!(
                "`{}` {}{}",
                pg_dump.display(),
                cedar_core::describe_exit_status(&output.status),
                cedar_core::stderr_suffix(&cedar_core::last_lines(&stderr, 4)).replace('\n', " ")
            ));
        };
        let named: Vec<&Unreadable> = unreadable
            .iter()
            .filter(|u| u.name == name && u.kind != "S" && !selected.contains(u))
            .collect();
        if named.is_empty() {
            return Err(format!("pg_dump may not read table {name}, which the role can read as far as has_table_privilege says"));
        }
        for table in named {
            excluded.push(format!(
                "\"{}\".\"{}\"",
                table.schema.replace('"', "\"\""),
                table.name.replace('"', "\"\"")
            ));
            selected.push(table.clone());
        }
    }
    Err("pg_dump kept stopping at tables it may not read".to_string())
}

/// Where the server is, as the libpq environment says, and as whom.
fn server_subject(settings: &Settings) -> String {
    let env = |name: &str| std::env::var(name).ok();
    let host = settings
        .host
        .clone()
        .or_else(|| env("PGHOST"))
        .unwrap_or_else(|| "the default socket".to_string());
    let port = settings.port.clone().or_else(|| env("PGPORT"));
    let role = settings
        .user
        .clone()
        .or_else(|| env("PGUSER"))
        .unwrap_or_else(|| "of the running user".to_string());
    match port {
        Some(port) => format!("{host} port {port} as role {role}"),
        None => format!("{host} as role {role}"),
    }
}

/// A query error with its cause, on one line.
fn query_text(err: &QueryError) -> String {
    cedar_core::error_chain(err).replace('\n', " ")
}
