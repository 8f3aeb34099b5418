//! Matching pg_dump to the server.
//!
//! pg_dump refuses to dump a server of a newer major version than itself, and it says so only
//! once it has connected, for every database. Before dumping, the action asks the server for its
//! version (`psql -XAtw -c "SELECT ..."` with the same libpq environment as the dumps, nothing
//! secret in argv) and compares it with `pg_dump --version` (and `pg_dumpall`, `pg_restore`).
//! When the program on PATH is older, a matching or newer one is looked for in the usual install
//! locations ([`DEFAULT_SEARCH_ROOTS`], or the colon-separated patterns in
//! [`SEARCH_ROOTS_ENV`]): the same major version first, else the closest newer one. When there
//! is none, the action fails before writing anything, naming both versions and the package to
//! install.
//!
//! A program pinned by an `<override>` is used as it is and never probed. When the server
//! cannot be asked (psql missing, server down, wrong password), the programs on PATH are used
//! as the original would, and the dumps report the real problem.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use cedar_core::{SupervisedError, WithinError};

/// Where other PostgreSQL client installations usually live (Debian/Ubuntu, RHEL/PGDG).
pub const DEFAULT_SEARCH_ROOTS: [&str; 2] = ["/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"];

/// Environment variable replacing [`DEFAULT_SEARCH_ROOTS`]: colon-separated directory
/// patterns, `*` matching within one path component (for tests and unusual installs).
pub const SEARCH_ROOTS_ENV: &str = "CBACK_PG_BINDIRS";

/// Seconds libpq waits for a connection when the caller did not set `PGCONNECT_TIMEOUT`.
pub const CONNECT_TIMEOUT: &str = "30";

/// A PostgreSQL version as `server_version_num` encodes it: 150018 is 15.18, 90600 is 9.6.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u32);

impl Version {
    /// The major release as a comparable number: 1500 for 15.x, 906 for 9.6.x.
    pub fn major_key(self) -> u32 {
        if self.0 >= 100_000 {
            self.0 / 10_000 * 100
        } else {
            self.0 / 100
        }
    }

    /// The major release as people write it: `15`, `9.6`.
    pub fn major(self) -> String {
        if self.0 >= 100_000 {
            (self.0 / 10_000).to_string()
        } else {
            format!("{}.{}", self.0 / 10_000, self.0 / 100 % 100)
        }
    }

    /// Parses `server_version_num` (`150018`).
    pub fn from_num(text: &str) -> Option<Version> {
        text.trim().parse().ok().filter(|n| *n > 0).map(Version)
    }

    /// Parses the version in `pg_dump --version` output, e.g.
    /// `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`, `pg_dump (PostgreSQL) 9.6.0`,
    /// `pg_dump (PostgreSQL) 17devel`.
    pub fn from_program_output(text: &str) -> Option<Version> {
        let line = text.lines().find(|l| !l.trim().is_empty())?;
        let rest = match line.find(") ") {
            Some(at) => &line[at + 2..],
            None => line.rsplit(' ').next()?,
        };
        let numeric: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let parts: Vec<u32> = numeric
            .split('.')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        match parts.as_slice() {
            [] => None,
            [major, rest @ ..] if *major >= 10 => {
                Some(Version(major * 10_000 + rest.first().copied().unwrap_or(0)))
            }
            [major, minor, rest @ ..] => Some(Version(
                major * 10_000 + minor * 100 + rest.first().copied().unwrap_or(0),
            )),
            [major] => Some(Version(major * 10_000)),
        }
    }

    /// The packages that provide the client programs of this major release.
    pub fn packages(self) -> String {
        let major = self.major();
        let rpm = major.replace('.', "");
        format!("postgresql-client-{major} (Debian/Ubuntu, from apt.postgresql.org if your release lacks it) or postgresql{rpm} (RHEL and derivatives, from the PGDG repository)")
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 100_000 {
            write!(f, "{}.{}", self.0 / 10_000, self.0 % 10_000)
        } else {
            write!(
                f,
                "{}.{}.{}",
                self.0 / 10_000,
                self.0 / 100 % 100,
                self.0 % 100
            )
        }
    }
}

/// What the server said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVersion {
    pub version: Version,
    /// `server_version`, e.g. `15.18 (Debian 15.18-0+deb12u1)`.
    pub text: String,
}

/// Why the server version could not be learnt (not fatal: the dumps then run as before).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("cannot run `{}`", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` failed: {}", program.display(), stderr.trim())]
    Failed { program: PathBuf, stderr: String },
    #[error("`{}` answered `{}`, which is not a server version", program.display(), answer.trim())]
    Unreadable { program: PathBuf, answer: String },
    #[error("`{}` was stopped: the run was interrupted", program.display())]
    Interrupted { program: PathBuf },
}

/// Runs psql with `sql` against `database` through the libpq environment `env`; returns its
/// standard output. `extra_args` go before `-c` (e.g. `-0` for NUL-separated records).
pub fn psql(
    psql: &Path,
    env: &[(&'static str, OsString)],
    database: &str,
    extra_args: &[&str],
    sql: &str,
) -> Result<Vec<u8>, QueryError> {
    psql_within(psql, env, database, extra_args, sql, None)
}

/// [`psql`], stopped after `limit` when one is given (`cback doctor`: a server that does not answer cannot hang
/// it).
pub fn psql_within(
    psql: &Path,
    env: &[(&'static str, OsString)],
    database: &str,
    extra_args: &[&str],
    sql: &str,
    limit: Option<std::time::Duration>,
) -> Result<Vec<u8>, QueryError> {
    psql_run(
        psql,
        env,
        database,
        extra_args,
        sql,
        &cedar_core::interrupt_requested,
        limit,
    )
}

/// psql stopped when `interrupted` turns true or after `limit`, whichever comes first.
fn psql_run(
    psql: &Path,
    env: &[(&'static str, OsString)],
    database: &str,
    extra_args: &[&str],
    sql: &str,
    interrupted: &(dyn Fn() -> bool + Sync),
    limit: Option<std::time::Duration>,
) -> Result<Vec<u8>, QueryError> {
    let mut cmd = cedar_core::child_command(psql);
    cmd.args(["-X", "-A", "-t", "-w", "-q"])
        .args(extra_args)
        .arg("-c")
        .arg(sql)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("PGDATABASE", database);
    if std::env::var_os("PGCONNECT_TIMEOUT").is_none()
        && !env.iter().any(|(k, _)| *k == "PGCONNECT_TIMEOUT")
    {
        cmd.env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT);
    }
    // Supervised: a SIGTERM while the server is slow to answer stops psql too.
    let output =
        cedar_core::run_watched_within(cmd, interrupted, limit).map_err(|err| match err {
            WithinError::Supervised(SupervisedError::Spawn(source)) => QueryError::Spawn {
                program: psql.to_path_buf(),
                source,
            },
            WithinError::TimedOut(limit) => QueryError::Failed {
                program: psql.to_path_buf(),
                stderr: format!(
                    "no answer within {} s; check that the server runs and is reachable",
                    limit.as_secs()
                ),
            },
            WithinError::Supervised(SupervisedError::Interrupted) => QueryError::Interrupted {
                program: psql.to_path_buf(),
            },
        })?;
    if !output.status.success() {
        return Err(QueryError::Failed {
            program: psql.to_path_buf(),
            stderr: cedar_core::last_lines(&String::from_utf8_lossy(&output.stderr), 6),
        });
    }
    Ok(output.stdout)
}

/// Runs `sql` with psql in the first of `databases` that answers (a database that does not
/// exist or refuses the role is passed over; a psql that cannot be run is not).
pub fn psql_first(
    psql_program: &Path,
    env: &[(&'static str, OsString)],
    databases: &[&str],
    sql: &str,
) -> Result<Vec<u8>, QueryError> {
    psql_first_within(psql_program, env, databases, sql, None)
}

/// [`psql_first`] stopped when `interrupted` turns true (instead of on SIGINT/SIGTERM).
pub fn psql_first_watched(
    psql_program: &Path,
    env: &[(&'static str, OsString)],
    databases: &[&str],
    sql: &str,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<u8>, QueryError> {
    psql_first_run(psql_program, env, databases, sql, interrupted, None)
}

/// [`psql_first`], each psql stopped after `limit` when one is given (`cback doctor`).
pub fn psql_first_within(
    psql_program: &Path,
    env: &[(&'static str, OsString)],
    databases: &[&str],
    sql: &str,
    limit: Option<std::time::Duration>,
) -> Result<Vec<u8>, QueryError> {
    psql_first_run(
        psql_program,
        env,
        databases,
        sql,
        &cedar_core::interrupt_requested,
        limit,
    )
}

/// [`psql_first`], each psql stopped when `interrupted` turns true or after `limit`.
fn psql_first_run(
    psql_program: &Path,
    env: &[(&'static str, OsString)],
    databases: &[&str],
    sql: &str,
    interrupted: &(dyn Fn() -> bool + Sync),
    limit: Option<std::time::Duration>,
) -> Result<Vec<u8>, QueryError> {
    let mut last = None;
    for database in databases {
        match psql_run(psql_program, env, database, &[], sql, interrupted, limit) {
            Ok(out) => return Ok(out),
            Err(err @ (QueryError::Spawn { .. } | QueryError::Interrupted { .. })) => {
                return Err(err)
            }
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or_else(|| QueryError::Failed {
        program: psql_program.to_path_buf(),
        stderr: "no database to connect to".to_string(),
    }))
}

/// Asks the server for its version, trying each of `databases` until one answers.
pub fn server_version(
    psql_program: &Path,
    env: &[(&'static str, OsString)],
    databases: &[&str],
) -> Result<ServerVersion, QueryError> {
    server_version_within(psql_program, env, databases, None)
}

/// [`server_version`], each psql stopped after `limit` when one is given.
pub fn server_version_within(
    psql_program: &Path,
    env: &[(&'static str, OsString)],
    databases: &[&str],
    limit: Option<std::time::Duration>,
) -> Result<ServerVersion, QueryError> {
    let sql =
        "SELECT current_setting('server_version_num') || '|' || current_setting('server_version')";
    let out = psql_first_run(
        psql_program,
        env,
        databases,
        sql,
        &cedar_core::interrupt_requested,
        limit,
    )?;
    let answer = String::from_utf8_lossy(&out).trim().to_string();
    let (num, text) = answer.split_once('|').unwrap_or((&answer, ""));
    match Version::from_num(num) {
        Some(version) => Ok(ServerVersion {
            version,
            text: text.trim().to_string(),
        }),
        None => Err(QueryError::Unreadable {
            program: psql_program.to_path_buf(),
            answer,
        }),
    }
}

/// The version `program --version` prints, or `None` when it cannot be run or read (the tests'
/// probe; a run uses [`program_version_in`]).
#[cfg(test)]
pub fn program_version(program: &Path) -> Option<(Version, String)> {
    program_version_in(program, &[])
}

/// The version `program --version` prints with the run's libpq environment: Debian's `pg_wrapper` picks the
/// installation by `PGHOST` / `PGPORT`, so the probe must see what the dump will see.
pub fn program_version_in(
    program: &Path,
    env: &[(&'static str, OsString)],
) -> Option<(Version, String)> {
    let output = cedar_core::child_command(program)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let version = Version::from_program_output(&text)?;
    Some((version, text))
}

/// The directory patterns to search: [`SEARCH_ROOTS_ENV`] when set, else the defaults.
pub fn search_roots() -> Vec<String> {
    match std::env::var(SEARCH_ROOTS_ENV) {
        Ok(value) => value
            .split(':')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        Err(_) => DEFAULT_SEARCH_ROOTS.iter().map(|s| s.to_string()).collect(),
    }
}

/// The existing directories matching `pattern`, where `*` matches any part of one path
/// component (no other wildcards), sorted.
pub fn expand_pattern(pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![if pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        PathBuf::from(".")
    }];
    for component in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &found {
            match component.split_once('*') {
                None => {
                    let path = base.join(component);
                    if path.exists() {
                        next.push(path);
                    }
                }
                Some((prefix, suffix)) => {
                    let Ok(entries) = std::fs::read_dir(base) else {
                        continue;
                    };
                    for entry in entries.flatten() {
                        let name = entry.file_name();
                        let Some(name) = name.to_str() else { continue };
                        if name.len() >= prefix.len() + suffix.len()
                            && name.starts_with(prefix)
                            && name.ends_with(suffix)
                            && !name.starts_with('.')
                        {
                            next.push(base.join(name));
                        }
                    }
                }
            }
        }
        next.sort();
        found = next;
    }
    found.into_iter().filter(|p| p.is_dir()).collect()
}

/// Where a chosen program comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Pinned by an `<override>`; not probed.
    Override,
    /// The name on PATH, new enough (or its version or the server's is unknown).
    Path,
    /// Found in a search root because the one on PATH is older than the server.
    Found,
}

/// The program to run for one of pg_dump, pg_dumpall and pg_restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub program: PathBuf,
    /// Its version when known (`pg_dump (PostgreSQL) 15.18 ...`).
    pub version: Option<Version>,
    pub version_text: Option<String>,
    pub origin: Origin,
}

/// No program new enough for the server exists.
#[derive(Debug, thiserror::Error)]
#[error("`{}` is PostgreSQL {found} but the server is PostgreSQL {server}, and {name} cannot dump a server newer than itself; no {name} {} or newer was found in {}. Install {}, or point an <override> in <options> at a {name} of version {} or newer", program.display(), server.major(), places(searched), server.packages(), server.major())]
pub struct TooOld {
    pub name: &'static str,
    pub program: PathBuf,
    pub found: Version,
    pub server: Version,
    /// The patterns searched.
    pub searched: Vec<String>,
}

/// Where a bare program name is found on PATH (for messages); the name itself otherwise.
fn on_path(program: &Path) -> PathBuf {
    if program.components().count() != 1 {
        return program.to_path_buf();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| program.to_path_buf())
}

fn places(searched: &[String]) -> String {
    if searched.is_empty() {
        format!("any directory ({SEARCH_ROOTS_ENV} is empty)")
    } else {
        searched.join(", ")
    }
}

/// Chooses the program for `name` (`pg_dump`, `pg_dumpall`, `pg_restore`).
///
/// `configured` is what the configuration says (an `<override>` path, else the bare name);
/// `pinned` tells whether an `<override>` gave it. `server` is the server's version when known.
/// `probe` runs `--version` (injectable for tests; normally [`program_version_in`]).
pub fn choose(
    name: &'static str,
    configured: &Path,
    pinned: bool,
    server: Option<Version>,
    roots: &[String],
    probe: &dyn Fn(&Path) -> Option<(Version, String)>,
) -> Result<Tool, TooOld> {
    if pinned {
        return Ok(Tool {
            program: configured.to_path_buf(),
            version: None,
            version_text: None,
            origin: Origin::Override,
        });
    }
    let probed = probe(configured);
    let (Some(server), Some((found, text))) = (server, probed.clone()) else {
        return Ok(Tool {
            program: configured.to_path_buf(),
            version: probed.as_ref().map(|p| p.0),
            version_text: probed.map(|p| p.1),
            origin: Origin::Path,
        });
    };
    if found.major_key() >= server.major_key() {
        return Ok(Tool {
            program: configured.to_path_buf(),
            version: Some(found),
            version_text: Some(text),
            origin: Origin::Path,
        });
    }
    let mut candidates: Vec<(Version, String, PathBuf)> = roots
        .iter()
        .flat_map(|pattern| expand_pattern(pattern))
        .map(|dir| dir.join(name))
        .filter(|path| path.is_file())
        .filter_map(|path| probe(&path).map(|(v, t)| (v, t, path)))
        .filter(|(v, _, _)| v.major_key() >= server.major_key())
        .collect();
    // The same major release first, then the closest newer one; the newest minor within it.
    candidates.sort_by_key(|(v, _, _)| (v.major_key(), std::cmp::Reverse(v.0)));
    match candidates.into_iter().next() {
        Some((version, text, program)) => Ok(Tool {
            program,
            version: Some(version),
            version_text: Some(text),
            origin: Origin::Found,
        }),
        None => Err(TooOld {
            name,
            program: on_path(configured),
            found,
            server,
            searched: roots.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn versions_parse_from_both_sources() {
        assert_eq!(Version::from_num("150018\n"), Some(Version(150018)));
        assert_eq!(Version::from_num("x"), None);
        let cases = [
            (
                "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)",
                150018,
            ),
            ("pg_dump (PostgreSQL) 9.6.0", 90600),
            ("pg_dump (PostgreSQL) 9.6.24", 90624),
            ("pg_dump (PostgreSQL) 17devel", 170000),
            ("pg_dump (PostgreSQL) 16beta2", 160000),
            ("pg_dumpall (PostgreSQL) 16.4", 160004),
        ];
        for (text, num) in cases {
            assert_eq!(
                Version::from_program_output(text),
                Some(Version(num)),
                "{text}"
            );
        }
        assert_eq!(Version::from_program_output("nonsense"), None);
        assert_eq!(Version::from_program_output(""), None);
    }

    #[test]
    fn majors_compare_across_the_numbering_change() {
        assert_eq!(Version(90600).major(), "9.6");
        assert_eq!(Version(150018).major(), "15");
        assert_eq!(Version(150018).to_string(), "15.18");
        assert_eq!(Version(90624).to_string(), "9.6.24");
        assert!(Version(90600).major_key() < Version(100000).major_key());
        assert!(Version(90500).major_key() < Version(90600).major_key());
        assert_eq!(Version(150001).major_key(), Version(150018).major_key());
        assert!(Version(160000)
            .packages()
            .starts_with("postgresql-client-16 "));
        assert!(Version(90600).packages().contains("postgresql96 "));
    }

    fn fake_install(root: &Path, dir: &str, version: &str) -> PathBuf {
        let bin = root.join(dir).join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = bin.join("pg_dump");
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho 'pg_dump (PostgreSQL) {version}'\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn patterns_expand_within_one_component() {
        let root = tempfile::tempdir().unwrap();
        fake_install(root.path(), "lib/postgresql/15", "15.2");
        fake_install(root.path(), "lib/postgresql/16", "16.1");
        fake_install(root.path(), "pgsql-17", "17.0");
        std::fs::create_dir_all(root.path().join("lib/postgresql/README")).unwrap();
        let pattern = format!("{}/lib/postgresql/*/bin", root.path().display());
        assert_eq!(
            expand_pattern(&pattern),
            vec![
                root.path().join("lib/postgresql/15/bin"),
                root.path().join("lib/postgresql/16/bin")
            ]
        );
        let pattern = format!("{}/pgsql-*/bin", root.path().display());
        assert_eq!(
            expand_pattern(&pattern),
            vec![root.path().join("pgsql-17/bin")]
        );
        assert!(expand_pattern("/nonexistent/*/bin").is_empty());
    }

    #[test]
    fn an_older_pg_dump_is_replaced_by_the_closest_newer_one() {
        let root = tempfile::tempdir().unwrap();
        let old = fake_install(root.path(), "old", "9.6.0");
        fake_install(root.path(), "lib/postgresql/14", "14.9");
        let v16 = fake_install(root.path(), "lib/postgresql/16", "16.1");
        fake_install(root.path(), "lib/postgresql/17", "17.2");
        let roots = vec![format!("{}/lib/postgresql/*/bin", root.path().display())];
        let tool = choose(
            "pg_dump",
            &old,
            false,
            Some(Version(150018)),
            &roots,
            &program_version,
        )
        .unwrap();
        assert_eq!(tool.program, v16);
        assert_eq!(tool.origin, Origin::Found);
        assert_eq!(tool.version, Some(Version(160001)));
        // An exact major match wins over a newer one.
        let v15 = fake_install(root.path(), "lib/postgresql/15", "15.3");
        let tool = choose(
            "pg_dump",
            &old,
            false,
            Some(Version(150018)),
            &roots,
            &program_version,
        )
        .unwrap();
        assert_eq!(tool.program, v15);
    }

    #[test]
    fn a_new_enough_pg_dump_on_path_is_kept() {
        let root = tempfile::tempdir().unwrap();
        let current = fake_install(root.path(), "cur", "15.1");
        let tool = choose(
            "pg_dump",
            &current,
            false,
            Some(Version(150018)),
            &[],
            &program_version,
        )
        .unwrap();
        assert_eq!((tool.program, tool.origin), (current.clone(), Origin::Path));
        // Server unknown, or program unreadable: used as it is.
        let tool = choose("pg_dump", &current, false, None, &[], &program_version).unwrap();
        assert_eq!(tool.origin, Origin::Path);
        let missing = root.path().join("missing/pg_dump");
        let tool = choose(
            "pg_dump",
            &missing,
            false,
            Some(Version(150018)),
            &[],
            &program_version,
        )
        .unwrap();
        assert_eq!((tool.program, tool.version), (missing, None));
    }

    #[test]
    fn an_override_is_never_probed() {
        let probe = |_: &Path| -> Option<(Version, String)> { panic!("probed") };
        let tool = choose(
            "pg_dump",
            Path::new("/opt/pg9/pg_dump"),
            true,
            Some(Version(150018)),
            &[],
            &probe,
        )
        .unwrap();
        assert_eq!(tool.origin, Origin::Override);
    }

    #[test]
    fn no_new_enough_pg_dump_names_both_versions_and_the_package() {
        let root = tempfile::tempdir().unwrap();
        let old = fake_install(root.path(), "old", "9.6.0");
        fake_install(root.path(), "lib/postgresql/14", "14.9");
        let roots = vec![format!("{}/lib/postgresql/*/bin", root.path().display())];
        let err = choose(
            "pg_dump",
            &old,
            false,
            Some(Version(160002)),
            &roots,
            &program_version,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("PostgreSQL 9.6.0"), "{text}");
        assert!(text.contains("server is PostgreSQL 16.2"), "{text}");
        assert!(text.contains("postgresql-client-16"), "{text}");
        assert!(text.contains(&roots[0]), "{text}");
    }

    #[test]
    fn psql_failures_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("psql");
        std::fs::write(
            &fake,
            "#!/bin/sh\nif [ \"$PGDATABASE\" = bad ]; then echo 'psql: error: FATAL: no' >&2; exit 2; fi\n\
             echo \"150018|15.18 (Debian) $PGUSER $PGCONNECT_TIMEOUT $#\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let env = vec![("PGUSER", OsString::from("backup"))];
        let got = server_version(&fake, &env, &["bad", "postgres"]).unwrap();
        assert_eq!(got.version, Version(150018));
        assert!(
            got.text.starts_with("15.18 (Debian) backup "),
            "{}",
            got.text
        );
        let err = server_version(&fake, &env, &["bad"]).unwrap_err();
        assert!(err.to_string().contains("FATAL: no"), "{err}");
        let err = server_version(&dir.path().join("none"), &env, &["x"]).unwrap_err();
        assert!(matches!(err, QueryError::Spawn { .. }), "{err}");
    }
}
