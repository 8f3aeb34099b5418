//! The `<postgresql>` section: reading, validation, and the settings a run uses.
//!
//! ```xml
//! <postgresql>
//!   <user>backup</user>                  <!-- optional; handed over as PGUSER -->
//!   <compress_mode>bzip2</compress_mode> <!-- none, gzip or bzip2; required -->
//!   <all>N</all>                         <!-- Y: one pg_dumpall; N (default): list databases -->
//!   <database>shop</database>            <!-- repeated -->
//!   <password_file>/etc/cback3.pgpass</password_file> <!-- cback only: PGPASSFILE -->
//!   <host>db.example.com</host>          <!-- cback only: PGHOST -->
//!   <port>5433</port>                    <!-- cback only: PGPORT -->
//! </postgresql>
//! ```
//!
//! The first five elements and their rules are the original's; `password_file`, `host` and
//! `port` are cback's additions, and the original ignores them.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The element name of the section under `<cb_config>`.
pub const SECTION: &str = "postgresql";

/// The `<postgresql>` section as written (values not yet checked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PostgresqlSection {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub compress_mode: Option<String>,
    #[serde(default)]
    pub all: Option<bool>,
    #[serde(default, rename = "database")]
    pub databases: Vec<String>,
    #[serde(default)]
    pub password_file: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<String>,
}

/// How a dump is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressMode {
    None,
    Gzip,
    Bzip2,
}

impl CompressMode {
    /// The accepted spellings, in the original's order.
    pub const NAMES: [&'static str; 3] = ["none", "gzip", "bzip2"];

    pub fn parse(text: &str) -> Option<CompressMode> {
        match text {
            "none" => Some(CompressMode::None),
            "gzip" => Some(CompressMode::Gzip),
            "bzip2" => Some(CompressMode::Bzip2),
            _ => None,
        }
    }

    /// The file name extension this mode adds (with its dot), empty for none.
    pub fn extension(self) -> &'static str {
        match self {
            CompressMode::None => "",
            CompressMode::Gzip => ".gz",
            CompressMode::Bzip2 => ".bz2",
        }
    }
}

/// What one dump covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every database of the cluster, with `pg_dumpall`.
    All,
    /// One database, with `pg_dump`.
    Database(String),
}

impl Target {
    /// The external command that makes this dump.
    pub fn command_name(&self) -> &'static str {
        match self {
            Target::All => "pg_dumpall",
            Target::Database(_) => "pg_dump",
        }
    }

    /// The final file name in collect_dir, as the original names it.
    pub fn file_name(&self, mode: CompressMode) -> String {
        match self {
            Target::All => format!("postgresqldump.txt{}", mode.extension()),
            Target::Database(name) => format!("postgresqldump-{name}.txt{}", mode.extension()),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::All => f.write_str("all databases"),
            Target::Database(name) => write!(f, "database [{name}]"),
        }
    }
}

/// Every problem in `section` (empty when it is valid). `None` is a missing section.
pub fn problems(section: Option<&PostgresqlSection>) -> Vec<String> {
    let Some(section) = section else {
        return vec!["the <postgresql> section is required".to_string()];
    };
    let mut problems = Vec::new();
    match section.compress_mode.as_deref() {
        None => problems.push(format!(
            "<compress_mode> is required: one of {}",
            CompressMode::NAMES.join(", ")
        )),
        Some(text) if CompressMode::parse(text).is_none() => problems.push(format!(
            "<compress_mode> `{text}` is not one of {}",
            CompressMode::NAMES.join(", ")
        )),
        Some(_) => {}
    }
    let all = section.all.unwrap_or(false);
    if all && !section.databases.is_empty() {
        problems.push("no <database> may be listed when <all> is Y".to_string());
    }
    if !all && section.databases.is_empty() {
        problems.push("at least one <database> must be listed when <all> is not Y".to_string());
    }
    if section.user.as_deref() == Some("") {
        problems.push("<user> must not be empty".to_string());
    }
    if section.databases.iter().any(String::is_empty) {
        problems.push("a <database> must not be empty".to_string());
    }
    if let Some(file) = section.password_file.as_deref() {
        if !file.starts_with('/') {
            problems.push(format!("<password_file> `{file}` must be an absolute path"));
        }
    }
    if section.host.as_deref() == Some("") {
        problems.push("<host> must not be empty".to_string());
    }
    if let Some(port) = section.port.as_deref() {
        if !matches!(port.parse::<u32>(), Ok(1..=65535)) {
            problems.push(format!(
                "<port> `{port}` is not a port number between 1 and 65535"
            ));
        }
    }
    problems
}

/// The checked section: what a run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub user: Option<String>,
    pub compress_mode: CompressMode,
    /// The dumps to make, in configuration order.
    pub targets: Vec<Target>,
    pub password_file: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<String>,
}

impl Settings {
    /// Checks `section` and turns it into settings, or returns every problem.
    pub fn from_section(section: Option<&PostgresqlSection>) -> Result<Settings, Vec<String>> {
        let found = problems(section);
        let section = match section {
            Some(section) if found.is_empty() => section,
            _ => return Err(found),
        };
        let compress_mode = section
            .compress_mode
            .as_deref()
            .and_then(CompressMode::parse)
            .ok_or_else(|| vec!["<compress_mode> is required".to_string()])?;
        let targets = if section.all.unwrap_or(false) {
            vec![Target::All]
        } else {
            section
                .databases
                .iter()
                .cloned()
                .map(Target::Database)
                .collect()
        };
        Ok(Settings {
            user: section.user.clone(),
            compress_mode,
            targets,
            password_file: section.password_file.as_deref().map(PathBuf::from),
            host: section.host.clone(),
            port: section.port.clone(),
        })
    }

    /// The libpq environment variables a run sets for the dump commands; variables not
    /// configured here are inherited from the caller.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        if let Some(user) = &self.user {
            env.push(("PGUSER", user.clone()));
        }
        if let Some(file) = &self.password_file {
            env.push(("PGPASSFILE", file.to_string_lossy().into_owned()));
        }
        if let Some(host) = &self.host {
            env.push(("PGHOST", host.clone()));
        }
        if let Some(port) = &self.port {
            env.push(("PGPORT", port.clone()));
        }
        env
    }
}

/// Checks that libpq will be able to use `path` as its password file. libpq silently ignores
/// a file that is not a plain file or that group or others can read, and then fails with a
/// misleading "no password supplied"; this says what is wrong instead.
pub fn check_password_file(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|err| err.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".to_string());
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "its permissions are {mode:04o} and libpq ignores a password file that group or others can access; chmod 600 it"
        ));
    }
    std::fs::File::open(path).map_err(|err| err.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(mode: Option<&str>, all: Option<bool>, dbs: &[&str]) -> PostgresqlSection {
        PostgresqlSection {
            compress_mode: mode.map(str::to_string),
            all,
            databases: dbs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn missing_section_is_a_problem() {
        assert_eq!(problems(None), vec!["the <postgresql> section is required"]);
    }

    #[test]
    fn valid_sections() {
        assert!(problems(Some(&section(Some("none"), Some(true), &[]))).is_empty());
        assert!(problems(Some(&section(Some("gzip"), Some(false), &["a"]))).is_empty());
        assert!(problems(Some(&section(Some("bzip2"), None, &["a", "b"]))).is_empty());
    }

    #[test]
    fn every_problem_is_reported() {
        let mut s = section(Some("zip"), Some(true), &["a"]);
        s.port = Some("99999".into());
        s.password_file = Some("relative".into());
        let found = problems(Some(&s));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].contains("`zip`"));
        assert!(found[1].contains("when <all> is Y"));
        assert!(found[2].contains("absolute"));
        assert!(found[3].contains("99999"));
    }

    #[test]
    fn compress_mode_is_required() {
        let found = problems(Some(&section(None, None, &["a"])));
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("required"));
    }

    #[test]
    fn all_n_needs_databases() {
        let found = problems(Some(&section(Some("none"), Some(false), &[])));
        assert_eq!(
            found,
            vec!["at least one <database> must be listed when <all> is not Y"]
        );
    }

    #[test]
    fn file_names_follow_the_original() {
        let db = Target::Database("my db é".into());
        assert_eq!(
            Target::All.file_name(CompressMode::None),
            "postgresqldump.txt"
        );
        assert_eq!(
            Target::All.file_name(CompressMode::Gzip),
            "postgresqldump.txt.gz"
        );
        assert_eq!(
            db.file_name(CompressMode::Bzip2),
            "postgresqldump-my db é.txt.bz2"
        );
        assert_eq!(db.to_string(), "database [my db é]");
        assert_eq!(Target::All.command_name(), "pg_dumpall");
        assert_eq!(db.command_name(), "pg_dump");
    }

    #[test]
    fn settings_keep_database_order_and_env() {
        let mut s = section(Some("gzip"), None, &["b", "a"]);
        s.user = Some("backup".into());
        s.host = Some("/run/pg".into());
        s.port = Some("5433".into());
        s.password_file = Some("/etc/pgpass".into());
        let settings = Settings::from_section(Some(&s)).unwrap();
        assert_eq!(
            settings.targets,
            vec![Target::Database("b".into()), Target::Database("a".into())]
        );
        assert_eq!(
            settings.libpq_env(),
            vec![
                ("PGUSER", "backup".to_string()),
                ("PGPASSFILE", "/etc/pgpass".to_string()),
                ("PGHOST", "/run/pg".to_string()),
                ("PGPORT", "5433".to_string()),
            ]
        );
    }

    #[test]
    fn password_file_permissions_are_checked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "*:*:*:u:secret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = check_password_file(&file).unwrap_err();
        assert!(err.contains("0644") && !err.contains("secret"), "{err}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(check_password_file(&file).is_ok());
        assert!(check_password_file(&dir.path().join("missing")).is_err());
        assert!(check_password_file(dir.path()).is_err());
    }
}
