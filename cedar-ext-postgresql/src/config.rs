//! The `<postgresql>` section: reading, validation, and the settings a run uses.
//!
//! ```xml
//! <postgresql>
//!   <user>backup</user>                  <!-- optional; handed over as PGUSER -->
//!   <compress_mode>bzip2</compress_mode> <!-- none, gzip, bzip2 or zstd (cback only); required -->
//!   <compress_level>9</compress_level>   <!-- cback only: gzip 1-9 (default 6), bzip2 1-9
//!                                             (default 9), zstd 1-19 (default 3) -->
//!   <all>N</all>                         <!-- Y: one pg_dumpall; N (default): list databases -->
//!   <database>shop</database>            <!-- repeated -->
//!   <password_file>/etc/cback3.pgpass</password_file> <!-- cback only: PGPASSFILE -->
//!   <host>db.example.com</host>          <!-- cback only: PGHOST -->
//!   <port>5433</port>                    <!-- cback only: PGPORT -->
//!   <jobs>2</jobs>                       <!-- cback only: dumps run at once (default 1) -->
//!   <verify>Y</verify>                   <!-- cback only: read every dump back (default Y) -->
//!   <manifest>Y</manifest>               <!-- cback only: postgresqldump.manifest (default Y) -->
//!   <format>plain</format>               <!-- cback only: plain (default) or custom (pg_dump -Fc) -->
//!   <split>N</split>                     <!-- cback only: with all=Y, globals + one file per database -->
//!   <exclude>test_.*</exclude>           <!-- cback only, repeated: with split, databases left out -->
//! </postgresql>
//! ```
//!
//! The first five elements and their rules are the original's; `password_file`, `host`,
//! `port`, `compress_level`, `jobs`, `verify`, `manifest`, `format`, `split`, `exclude` and the
//! `zstd` mode are cback's additions (the original
//! ignores the elements and rejects `zstd`). A configuration the original accepts keeps its
//! file names; only the gzip level changes (6 instead of 9, set `<compress_level>9` for the
//! original's).

use std::fmt;
use std::path::{Path, PathBuf};

use cedar_core::{clip_text, Codec};
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
    #[serde(default)]
    pub compress_level: Option<String>,
    #[serde(default)]
    pub jobs: Option<String>,
    #[serde(default)]
    pub verify: Option<bool>,
    #[serde(default)]
    pub manifest: Option<bool>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub split: Option<bool>,
    #[serde(default, rename = "exclude")]
    pub excludes: Vec<String>,
}

/// What pg_dump writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain SQL, as the original writes it (`.txt`).
    Plain,
    /// `pg_dump -Fc`, compressed by pg_dump itself, restored with pg_restore (`.dump`).
    Custom,
}

impl Format {
    pub const NAMES: [&'static str; 2] = ["plain", "custom"];

    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "plain" => Some(Format::Plain),
            "custom" => Some(Format::Custom),
            _ => None,
        }
    }
}

/// Most dumps `<jobs>` may run at once.
pub const MAX_JOBS: usize = 64;

/// What one dump covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every database of the cluster, with `pg_dumpall`.
    All,
    /// One database, with `pg_dump`.
    Database(String),
    /// Roles and tablespaces (`<split>Y`), with `pg_dumpall --globals-only`.
    Globals,
}

impl Target {
    /// The external command that makes this dump.
    pub fn command_name(&self) -> &'static str {
        match self {
            Target::All | Target::Globals => "pg_dumpall",
            Target::Database(_) => "pg_dump",
        }
    }

    /// The final file name in collect_dir of a plain dump, as the original names it.
    pub fn file_name(&self, mode: Codec) -> String {
        match self {
            Target::All => format!("postgresqldump.txt{}", mode.extension()),
            Target::Database(name) => format!("postgresqldump-{name}.txt{}", mode.extension()),
            Target::Globals => format!("postgresqldump-globals.txt{}", mode.extension()),
        }
    }

    /// The name in the run status and the manifest: the database, `all` or `globals`.
    pub fn label(&self) -> &str {
        match self {
            Target::All => "all",
            Target::Database(name) => name,
            Target::Globals => "globals",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::All => f.write_str("all databases"),
            Target::Database(name) => write!(f, "database [{}]", clip_text(name)),
            Target::Globals => f.write_str("the globals (roles and tablespaces)"),
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
            Codec::NAMES.join(", ")
        )),
        Some(text) if Codec::parse(text).is_none() => problems.push(format!(
            "<compress_mode> `{}` is not one of {}",
            clip_text(text),
            Codec::NAMES.join(", ")
        )),
        Some(_) => {}
    }
    if let Some(level) = section.compress_level.as_deref() {
        let mode = section.compress_mode.as_deref().and_then(Codec::parse);
        if let Some(problem) = level_problem(mode, level) {
            problems.push(problem);
        }
    }
    if let Some(jobs) = section.jobs.as_deref() {
        if parse_jobs(jobs).is_none() {
            problems.push(format!(
                "<jobs> `{}` is not a number of dumps between 1 and {MAX_JOBS}",
                clip_text(jobs)
            ));
        }
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
            problems.push(format!(
                "<password_file> `{}` must be an absolute path",
                clip_text(file)
            ));
        }
    }
    if section.host.as_deref() == Some("") {
        problems.push("<host> must not be empty".to_string());
    }
    if let Some(port) = section.port.as_deref() {
        if !matches!(port.parse::<u32>(), Ok(1..=65535)) {
            problems.push(format!(
                "<port> `{}` is not a port number between 1 and 65535",
                clip_text(port)
            ));
        }
    }
    problems.extend(trust_problems(section));
    problems
}

/// The rules of `format`, `split` and `exclude`.
fn trust_problems(section: &PostgresqlSection) -> Vec<String> {
    let mut problems = Vec::new();
    let all = section.all.unwrap_or(false);
    let split = section.split.unwrap_or(false);
    match section.format.as_deref().map(|f| (f, Format::parse(f))) {
        Some((text, None)) => problems.push(format!(
            "<format> `{}` is not one of {}",
            clip_text(text),
            Format::NAMES.join(", ")
        )),
        Some((_, Some(Format::Custom))) => {
            let mode = section.compress_mode.as_deref().and_then(Codec::parse);
            if matches!(mode, Some(m) if m != Codec::None) {
                problems.push(format!(
                    "<format> custom is compressed by pg_dump itself, so <compress_mode> must be none, not {}; set <compress_mode>none</compress_mode> or use <format>plain</format>",
                    section.compress_mode.as_deref().unwrap_or_default()
                ));
            }
            if section.compress_level.is_some() {
                problems.push("<compress_level> does not apply to <format> custom (pg_dump compresses it); remove it".to_string());
            }
            if all && !split {
                problems.push("<format> custom needs named databases or <split>Y: pg_dumpall writes plain SQL only".to_string());
            }
        }
        Some((_, Some(Format::Plain))) | None => {}
    }
    if split && !all {
        problems.push(
            "<split> Y applies to <all> Y only; set <all>Y</all> or remove <split>".to_string(),
        );
    }
    if !(section.excludes.is_empty() || all && split) {
        problems.push(
            "<exclude> applies to <all>Y with <split>Y only; remove it or name the databases to dump"
                .to_string(),
        );
    }
    if section.excludes.iter().any(String::is_empty) {
        problems.push("an <exclude> must not be empty".to_string());
    }
    for pattern in section.excludes.iter().filter(|p| !p.is_empty()) {
        if let Err(problem) = crate::discover::Excludes::new(std::slice::from_ref(pattern)) {
            problems.push(problem);
        }
    }
    problems
}

/// What is wrong with `<compress_level>` `level` for `mode` (not checked when the mode itself
/// is missing or unknown: that is reported on its own).
fn level_problem(mode: Option<Codec>, level: &str) -> Option<String> {
    let mode = mode?;
    if mode == Codec::None {
        return Some(format!(
            "<compress_level> `{}` needs a compressing <compress_mode> (gzip, bzip2 or zstd), not none; remove it or pick a mode",
            clip_text(level)
        ));
    }
    let range = mode.levels();
    let range = (*range.start()).max(1)..=*range.end();
    match level.trim().parse::<u32>() {
        Ok(n) if range.contains(&n) => None,
        _ => Some(format!(
            "<compress_level> `{}` is not a {} level between {} and {}",
            clip_text(level),
            mode.name(),
            range.start(),
            range.end()
        )),
    }
}

fn parse_jobs(text: &str) -> Option<usize> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_JOBS).contains(n))
}

/// The checked section: what a run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub user: Option<String>,
    pub compress_mode: Codec,
    /// The compression level (the codec's default when not configured; 0 for none).
    pub compress_level: u32,
    /// How many dumps run at once (at least 1).
    pub jobs: usize,
    /// The dumps to make, in configuration order.
    pub targets: Vec<Target>,
    pub password_file: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<String>,
    /// Read every dump back before it takes its final name (default on).
    pub verify: bool,
    /// Write `postgresqldump.manifest` after the action (default on).
    pub manifest: bool,
    pub format: Format,
    /// With `all`: the globals and one file per database instead of one pg_dumpall.
    pub split: bool,
    /// With `split`: patterns of database names left out (whole-name matches).
    pub excludes: Vec<String>,
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
            .and_then(Codec::parse)
            .ok_or_else(|| vec!["<compress_mode> is required".to_string()])?;
        let targets = if section.all.unwrap_or(false) {
            vec![Target::All]
        } else {
            // The original dumps a database listed twice twice, into the same file; once is
            // enough, and two dumps of one file name would race for it.
            let mut seen = std::collections::HashSet::new();
            let mut targets = Vec::new();
            for name in &section.databases {
                if seen.insert(name.as_str()) {
                    targets.push(Target::Database(name.clone()));
                } else {
                    tracing::warn!(
                        "Database [{name}] is listed more than once in <postgresql>; it is dumped once. Remove the repeated <database>."
                    );
                }
            }
            targets
        };
        let compress_level = section
            .compress_level
            .as_deref()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| compress_mode.default_level());
        let jobs = section.jobs.as_deref().and_then(parse_jobs).unwrap_or(1);
        Ok(Settings {
            user: section.user.clone(),
            compress_mode,
            compress_level,
            jobs,
            targets,
            password_file: section.password_file.as_deref().map(PathBuf::from),
            host: section.host.clone(),
            port: section.port.clone(),
            verify: section.verify.unwrap_or(true),
            manifest: section.manifest.unwrap_or(true),
            format: section
                .format
                .as_deref()
                .and_then(Format::parse)
                .unwrap_or(Format::Plain),
            split: section.split.unwrap_or(false),
            excludes: section.excludes.clone(),
        })
    }

    /// The final file name of `target` in collect_dir: the original's names for plain dumps,
    /// `postgresqldump-<database>.dump` for custom-format ones.
    pub fn file_name(&self, target: &Target) -> String {
        match (self.format, target) {
            (Format::Custom, Target::Database(name)) => format!("postgresqldump-{name}.dump"),
            _ => target.file_name(self.compress_mode),
        }
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

impl cedar_core::ExtensionSection for PostgresqlSection {
    const NAME: &'static str = SECTION;
    type Settings = Settings;

    fn settings(section: Option<&PostgresqlSection>) -> Result<Settings, Vec<String>> {
        Settings::from_section(section)
    }
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

    /// Every problem that quotes a value quotes at most a few hundred characters of it.
    #[test]
    fn long_values_are_quoted_short() {
        let long = "x".repeat(100_000);
        let bad = PostgresqlSection {
            compress_mode: Some(long.clone()),
            jobs: Some(long.clone()),
            password_file: Some(long.clone()),
            port: Some(long.clone()),
            format: Some(long.clone()),
            ..section(None, Some(true), &[])
        };
        let level = PostgresqlSection {
            compress_level: Some(long.clone()),
            ..section(Some("gzip"), Some(true), &[])
        };
        let level_none = PostgresqlSection {
            compress_level: Some(long.clone()),
            ..section(Some("none"), Some(true), &[])
        };
        let exclude = PostgresqlSection {
            split: Some(true),
            excludes: vec![format!("({long}")],
            ..section(Some("none"), Some(true), &[])
        };
        let mut all = problems(Some(&bad));
        all.extend(problems(Some(&level)));
        all.extend(problems(Some(&level_none)));
        all.extend(problems(Some(&exclude)));
        assert_eq!(all.len(), 8, "{all:?}");
        for p in &all {
            assert!(p.len() < 600, "{}…", &p[..300]);
            assert!(p.contains(" bytes in all)"), "{p}");
        }
        let shown = Target::Database(long).to_string();
        assert!(shown.len() < 300, "{shown}");
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
    fn zstd_is_a_mode_of_its_own() {
        assert!(problems(Some(&section(Some("zstd"), Some(true), &[]))).is_empty());
        assert_eq!(Codec::parse("zstd"), Some(Codec::Zstd));
        assert_eq!(
            Target::Database("a".into()).file_name(Codec::Zstd),
            "postgresqldump-a.txt.zst"
        );
        let found = problems(Some(&section(Some("lz4"), Some(true), &[])));
        assert_eq!(
            found,
            vec!["<compress_mode> `lz4` is not one of none, gzip, bzip2, zstd"]
        );
    }

    #[test]
    fn compress_level_defaults_per_mode() {
        for (mode, level) in [("none", 0), ("gzip", 6), ("bzip2", 9), ("zstd", 3)] {
            let settings = Settings::from_section(Some(&section(Some(mode), Some(true), &[])));
            assert_eq!(settings.unwrap().compress_level, level, "{mode}");
        }
    }

    #[test]
    fn compress_level_is_checked_against_the_mode() {
        let with_level = |mode: &str, level: &str| {
            let mut s = section(Some(mode), Some(true), &[]);
            s.compress_level = Some(level.into());
            s
        };
        for (mode, level) in [("gzip", "1"), ("gzip", "9"), ("bzip2", "1"), ("zstd", "19")] {
            let s = with_level(mode, level);
            assert!(problems(Some(&s)).is_empty(), "{mode} {level}");
            let settings = Settings::from_section(Some(&s)).unwrap();
            assert_eq!(settings.compress_level, level.parse::<u32>().unwrap());
        }
        for (mode, level, message) in [
            (
                "gzip",
                "10",
                "<compress_level> `10` is not a gzip level between 1 and 9",
            ),
            (
                "gzip",
                "0",
                "<compress_level> `0` is not a gzip level between 1 and 9",
            ),
            (
                "bzip2",
                "fast",
                "<compress_level> `fast` is not a bzip2 level between 1 and 9",
            ),
            (
                "zstd",
                "20",
                "<compress_level> `20` is not a zstd level between 1 and 19",
            ),
            (
                "zstd",
                "-1",
                "<compress_level> `-1` is not a zstd level between 1 and 19",
            ),
        ] {
            assert_eq!(problems(Some(&with_level(mode, level))), vec![message]);
        }
        let found = problems(Some(&with_level("none", "5")));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("needs a compressing <compress_mode>"),
            "{found:?}"
        );
        // A bad mode is reported once, not again through the level.
        assert_eq!(problems(Some(&with_level("zip", "5"))).len(), 1);
    }

    #[test]
    fn jobs_are_checked() {
        let with_jobs = |jobs: &str| {
            let mut s = section(Some("gzip"), None, &["a", "b"]);
            s.jobs = Some(jobs.into());
            s
        };
        let settings = Settings::from_section(Some(&with_jobs("4"))).unwrap();
        assert_eq!(settings.jobs, 4);
        let settings = Settings::from_section(Some(&section(Some("gzip"), None, &["a"])));
        assert_eq!(settings.unwrap().jobs, 1);
        for bad in ["0", "65", "two", ""] {
            assert_eq!(
                problems(Some(&with_jobs(bad))),
                vec![format!(
                    "<jobs> `{bad}` is not a number of dumps between 1 and 64"
                )],
            );
        }
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
        assert_eq!(Target::All.file_name(Codec::None), "postgresqldump.txt");
        assert_eq!(Target::All.file_name(Codec::Gzip), "postgresqldump.txt.gz");
        assert_eq!(db.file_name(Codec::Bzip2), "postgresqldump-my db é.txt.bz2");
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
    fn a_database_listed_twice_is_dumped_once() {
        let s = section(Some("none"), None, &["shop", "a", "shop", "a", "b"]);
        let settings = Settings::from_section(Some(&s)).unwrap();
        assert_eq!(
            settings.targets,
            vec![
                Target::Database("shop".into()),
                Target::Database("a".into()),
                Target::Database("b".into())
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
