//! `<database_options>`: per-database choices (cback only; the original ignores the element).
//!
//! ```xml
//! <database_options>
//!   <name>audit_*</name>               <!-- a database name, or a pattern with * and ? -->
//!   <format>custom</format>            <!-- plain or custom; custom means compress_mode none -->
//!   <compress_mode>zstd</compress_mode><!-- none, gzip, bzip2 or zstd -->
//!   <compress_level>9</compress_level>
//!   <schema>public</schema>            <!-- repeated: pg_dump --schema -->
//!   <exclude_schema>audit</exclude_schema>  <!-- repeated: --exclude-schema -->
//!   <table>public.orders</table>       <!-- repeated: --table -->
//!   <exclude_table>public.log</exclude_table> <!-- repeated: --exclude-table -->
//!   <pg_dump_option>--no-owner</pg_dump_option> <!-- repeated, one argument each -->
//! </database_options>
//! ```
//!
//! An entry applies to the named databases (`<all>N`) and to the databases `<split>Y` finds,
//! by name: an entry whose name is the database's wins, else the first entry whose pattern
//! matches it. Each `<pg_dump_option>` is one argument of pg_dump, never a shell string, and
//! must be on [`ALLOWED`]: nothing that changes where the output goes, its format or
//! compression (cback's own elements say those), the connection or the role, or what the
//! elements above already say.

use cedar_core::{clip_text, Codec};
use serde::Deserialize;

use crate::config::{format_problem, level_problem, mode_problem, Format, PostgresqlSection};

/// One `<database_options>` element as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DatabaseOptionsSection {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub compress_mode: Option<String>,
    #[serde(default)]
    pub compress_level: Option<String>,
    #[serde(default, rename = "schema")]
    pub schemas: Vec<String>,
    #[serde(default, rename = "exclude_schema")]
    pub exclude_schemas: Vec<String>,
    #[serde(default, rename = "table")]
    pub tables: Vec<String>,
    #[serde(default, rename = "exclude_table")]
    pub exclude_tables: Vec<String>,
    #[serde(default, rename = "pg_dump_option")]
    pub pg_dump_options: Vec<String>,
}

/// The long pg_dump options a `<pg_dump_option>` may give, each with whether it takes a value
/// (written `--name=value`).
pub const ALLOWED: &[(&str, bool)] = &[
    ("--data-only", false),
    ("--schema-only", false),
    ("--large-objects", false),
    ("--blobs", false),
    ("--no-large-objects", false),
    ("--no-blobs", false),
    ("--clean", false),
    ("--if-exists", false),
    ("--create", false),
    ("--encoding", true),
    ("--extension", true),
    ("--exclude-extension", true),
    ("--no-owner", false),
    ("--no-privileges", false),
    ("--no-acl", false),
    ("--section", true),
    ("--superuser", true),
    ("--column-inserts", false),
    ("--attribute-inserts", false),
    ("--inserts", false),
    ("--rows-per-insert", true),
    ("--on-conflict-do-nothing", false),
    ("--disable-dollar-quoting", false),
    ("--disable-triggers", false),
    ("--enable-row-security", false),
    ("--exclude-table-data", true),
    ("--exclude-table-and-children", true),
    ("--exclude-table-data-and-children", true),
    ("--table-and-children", true),
    ("--extra-float-digits", true),
    ("--include-foreign-data", true),
    ("--load-via-partition-root", false),
    ("--lock-wait-timeout", true),
    ("--no-comments", false),
    ("--no-publications", false),
    ("--no-security-labels", false),
    ("--no-subscriptions", false),
    ("--no-table-access-method", false),
    ("--no-tablespaces", false),
    ("--no-toast-compression", false),
    ("--no-unlogged-table-data", false),
    ("--quote-all-identifiers", false),
    ("--serializable-deferrable", false),
    ("--snapshot", true),
    ("--strict-names", false),
    ("--use-set-session-authorization", false),
    ("--no-synchronized-snapshots", false),
];

/// Options refused with the reason and what to use instead.
const REFUSED: &[(&str, &str)] = &[
    ("--file", "cback chooses where the dump goes"),
    ("--format", "use <format> (plain or custom)"),
    ("--compress", "use <compress_mode> and <compress_level>"),
    (
        "--jobs",
        "it applies to the directory format only, which cback does not write",
    ),
    (
        "--dbname",
        "the database is the entry's name, handed over as PGDATABASE",
    ),
    ("--host", "use <host> (the connection is the section's)"),
    ("--port", "use <port> (the connection is the section's)"),
    ("--username", "use <user> (the connection is the section's)"),
    ("--no-password", "cback always gives it"),
    (
        "--password",
        "a password prompt would hang the run; use <password_file>",
    ),
    (
        "--role",
        "the role the dump runs as is the section's <user>",
    ),
    (
        "--verbose",
        "its chatter on standard error would be logged as warnings",
    ),
    ("--version", "it dumps nothing"),
    ("--help", "it dumps nothing"),
    (
        "--filter",
        "use <schema>, <exclude_schema>, <table> and <exclude_table>",
    ),
    ("--schema", "use <schema>"),
    ("--exclude-schema", "use <exclude_schema>"),
    ("--table", "use <table>"),
    ("--exclude-table", "use <exclude_table>"),
];

/// The checked choices of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choices {
    /// The name or pattern the entry applies to.
    pub name: String,
    pub format: Option<Format>,
    pub compress_mode: Option<Codec>,
    pub compress_level: Option<u32>,
    pub schemas: Vec<String>,
    pub exclude_schemas: Vec<String>,
    pub tables: Vec<String>,
    pub exclude_tables: Vec<String>,
    pub pg_dump_options: Vec<String>,
}

impl Choices {
    /// The checked form of `entry` (call after [`problems`] found none).
    pub fn from_entry(entry: &DatabaseOptionsSection) -> Choices {
        Choices {
            name: entry.name.clone().unwrap_or_default(),
            format: entry.format.as_deref().and_then(Format::parse),
            compress_mode: entry.compress_mode.as_deref().and_then(Codec::parse),
            compress_level: entry
                .compress_level
                .as_deref()
                .and_then(|l| l.trim().parse().ok()),
            schemas: entry.schemas.clone(),
            exclude_schemas: entry.exclude_schemas.clone(),
            tables: entry.tables.clone(),
            exclude_tables: entry.exclude_tables.clone(),
            pg_dump_options: entry.pg_dump_options.clone(),
        }
    }

    /// pg_dump's arguments for these choices (after the format and `--create`).
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (option, values) in [
            ("--schema", &self.schemas),
            ("--exclude-schema", &self.exclude_schemas),
            ("--table", &self.tables),
            ("--exclude-table", &self.exclude_tables),
        ] {
            args.extend(values.iter().map(|v| format!("{option}={v}")));
        }
        args.extend(self.pg_dump_options.iter().cloned());
        args
    }

    /// What the dump leaves out, for the manifest: `schema X`, `table X`, `the data of table
    /// X`, or with include lists what is kept (`only schemas X, Y`).
    pub fn left_out(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.schemas.is_empty() {
            out.push(format!("every schema but {}", self.schemas.join(", ")));
        }
        if !self.tables.is_empty() {
            out.push(format!("every table but {}", self.tables.join(", ")));
        }
        out.extend(self.exclude_schemas.iter().map(|s| format!("schema {s}")));
        out.extend(self.exclude_tables.iter().map(|t| format!("table {t}")));
        for option in &self.pg_dump_options {
            let (name, value) = option.split_once('=').unwrap_or((option, ""));
            match name {
                "--exclude-table-data" | "--exclude-table-data-and-children" => {
                    out.push(format!("the data of table {value}"))
                }
                "--exclude-table-and-children" => out.push(format!("table {value}")),
                "--schema-only" => out.push("the data".to_string()),
                "--data-only" => out.push("the schema".to_string()),
                _ => {}
            }
        }
        out
    }

    /// Whether this entry applies to `database`: its name, or its pattern (`*` any run of
    /// characters, `?` one character) matching the whole name.
    pub fn applies_to(&self, database: &str) -> bool {
        glob_matches(&self.name, database)
    }
}

/// The entry for `database` among `choices`: the one named exactly so, else the first whose
/// pattern matches.
pub fn choices_for<'a>(choices: &'a [Choices], database: &str) -> Option<&'a Choices> {
    choices
        .iter()
        .find(|c| c.name == database)
        .or_else(|| choices.iter().find(|c| c.applies_to(database)))
}

/// Whether `pattern` (`*`, `?`) matches all of `name`.
fn glob_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // The classic backtracking match: remember the last `*` and where it resumed.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

fn is_pattern(name: &str) -> bool {
    name.contains(['*', '?'])
}

/// What is wrong with `option` as a `<pg_dump_option>`.
pub fn option_problem(option: &str) -> Option<String> {
    let shown = clip_text(option);
    if !option.starts_with("--") {
        return Some(format!(
            "<pg_dump_option> `{shown}` is not a long pg_dump option: write one option per element in its long form (`--no-owner`, `--exclude-table-data=public.log`), never a shell string"
        ));
    }
    let (name, value) = match option.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (option, None),
    };
    if let Some((_, reason)) = REFUSED.iter().find(|(n, _)| *n == name) {
        return Some(format!("<pg_dump_option> `{shown}` is refused: {reason}"));
    }
    match ALLOWED.iter().find(|(n, _)| *n == name) {
        None => Some(format!(
            "<pg_dump_option> `{shown}` is not one of the pg_dump options cback allows (see <database_options> in postgresql.md)"
        )),
        Some((_, true)) if value.unwrap_or_default().is_empty() => Some(format!(
            "<pg_dump_option> `{shown}` needs a value: write `{name}=VALUE` in one element"
        )),
        Some((_, false)) if value.is_some() => Some(format!(
            "<pg_dump_option> `{shown}` takes no value: write `{name}`"
        )),
        Some(_) => None,
    }
}

/// Every problem of the `<database_options>` entries of `section`.
pub fn problems(section: &PostgresqlSection) -> Vec<String> {
    let mut problems = Vec::new();
    if section.database_options.is_empty() {
        return problems;
    }
    let all = section.all.unwrap_or(false);
    let split = section.split.unwrap_or(false);
    if all && !split {
        problems.push(
            "<database_options> applies to named databases or to <all>Y with <split>Y, not to one pg_dumpall of the cluster; add <split>Y or remove it"
                .to_string(),
        );
    }
    let section_format = section.format.as_deref().and_then(Format::parse);
    let section_mode = section.compress_mode.as_deref().and_then(Codec::parse);
    let mut names = std::collections::HashSet::new();
    for entry in &section.database_options {
        let name = entry.name.as_deref().unwrap_or_default();
        if name.is_empty() {
            problems
                .push("a <database_options> needs a <name> (a database or a pattern)".to_string());
            continue;
        }
        let at = format!("<database_options> [{}]", clip_text(name));
        if !names.insert(name) {
            problems.push(format!("{at} is given twice; merge the two entries"));
        }
        if !all && !is_pattern(name) && !section.databases.iter().any(|d| d == name) {
            problems.push(format!(
                "{at} names no listed <database>; list it, or fix the name"
            ));
        }
        if !all && is_pattern(name) && !section.databases.iter().any(|d| glob_matches(name, d)) {
            problems.push(format!(
                "{at} matches no listed <database>; fix the pattern"
            ));
        }
        let format = match entry.format.as_deref() {
            Some("directory") => {
                problems.push(format!(
                    "{at}: <format> directory is not supported: it writes a directory, which cannot be streamed, compressed and verified like a file; use custom"
                ));
                None
            }
            Some(text) => {
                problems.extend(format_problem(text).map(|p| format!("{at}: {p}")));
                Format::parse(text)
            }
            None => section_format,
        };
        let mode = entry.compress_mode.as_deref().and_then(|text| {
            problems.extend(mode_problem(text).map(|p| format!("{at}: {p}")));
            Codec::parse(text)
        });
        if format == Some(Format::Custom) {
            if matches!(mode, Some(m) if m != Codec::None) {
                problems.push(format!(
                    "{at}: <format> custom is compressed by pg_dump itself, so <compress_mode> must be none or left out"
                ));
            }
            if entry.compress_level.is_some() {
                problems.push(format!(
                    "{at}: <compress_level> does not apply to <format> custom; remove it"
                ));
            }
        } else if let Some(level) = entry.compress_level.as_deref() {
            if let Some(problem) = level_problem(mode.or(section_mode), level) {
                problems.push(format!("{at}: {problem}"));
            }
        }
        for (element, values) in [
            ("schema", &entry.schemas),
            ("exclude_schema", &entry.exclude_schemas),
            ("table", &entry.tables),
            ("exclude_table", &entry.exclude_tables),
        ] {
            if values.iter().any(|v| v.trim().is_empty()) {
                problems.push(format!("{at}: a <{element}> must not be empty"));
            }
        }
        for option in &entry.pg_dump_options {
            if let Some(problem) = option_problem(option) {
                problems.push(format!("{at}: {problem}"));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(
        all: bool,
        split: bool,
        dbs: &[&str],
        entries: Vec<DatabaseOptionsSection>,
    ) -> PostgresqlSection {
        PostgresqlSection {
            compress_mode: Some("gzip".into()),
            all: Some(all),
            split: split.then_some(true),
            databases: dbs.iter().map(|s| s.to_string()).collect(),
            database_options: entries,
            ..Default::default()
        }
    }

    fn entry(name: &str) -> DatabaseOptionsSection {
        DatabaseOptionsSection {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn patterns_match_whole_names() {
        assert!(glob_matches("audit_*", "audit_2026"));
        assert!(glob_matches("audit_*", "audit_"));
        assert!(!glob_matches("audit_*", "my_audit_1"));
        assert!(glob_matches("*_test", "shop_test"));
        assert!(glob_matches("a?c", "abc") && !glob_matches("a?c", "abbc"));
        assert!(glob_matches("*a*b*", "xxaxxbxx"));
        assert!(glob_matches("shop", "shop") && !glob_matches("shop", "shop2"));
        assert!(glob_matches("caf*", "café au lait"));
    }

    #[test]
    fn an_exact_name_wins_over_a_pattern() {
        let first = Choices::from_entry(&entry("s*"));
        let exact = Choices::from_entry(&DatabaseOptionsSection {
            exclude_schemas: vec!["audit".into()],
            ..entry("shop")
        });
        let all = [first, exact];
        assert_eq!(choices_for(&all, "shop").unwrap().name, "shop");
        assert_eq!(choices_for(&all, "stock").unwrap().name, "s*");
        assert!(choices_for(&all, "crm").is_none());
    }

    #[test]
    fn options_are_checked_against_the_allow_list() {
        assert_eq!(option_problem("--no-owner"), None);
        assert_eq!(option_problem("--exclude-table-data=public.log"), None);
        for (bad, says) in [
            ("-f", "long form"),
            ("--file=/tmp/x", "cback chooses where the dump goes"),
            ("--format=directory", "use <format>"),
            ("--host=evil", "use <host>"),
            ("--username=x", "use <user>"),
            ("--role=admin", "section's <user>"),
            ("--password", "hang"),
            ("--no-owner --file=/tmp/x", "not one of the pg_dump options"),
            ("--no-owner=x", "takes no value"),
            ("--rows-per-insert", "needs a value"),
            ("--exclude-table-data=", "needs a value"),
            ("--made-up", "not one of the pg_dump options"),
            ("--schema=public", "use <schema>"),
        ] {
            let problem = option_problem(bad).unwrap_or_default();
            assert!(problem.contains(says), "{bad}: {problem}");
        }
    }

    #[test]
    fn entries_are_checked() {
        let ok = section(
            false,
            false,
            &["shop", "audit_1"],
            vec![
                DatabaseOptionsSection {
                    format: Some("custom".into()),
                    exclude_tables: vec!["public.log".into()],
                    pg_dump_options: vec!["--no-owner".into()],
                    ..entry("shop")
                },
                DatabaseOptionsSection {
                    compress_mode: Some("zstd".into()),
                    compress_level: Some("19".into()),
                    ..entry("audit_*")
                },
            ],
        );
        assert!(problems(&ok).is_empty(), "{:?}", problems(&ok));
        let bad = section(
            true,
            false,
            &[],
            vec![
                DatabaseOptionsSection {
                    format: Some("directory".into()),
                    pg_dump_options: vec!["--dbname=other".into()],
                    ..entry("shop")
                },
                DatabaseOptionsSection {
                    format: Some("custom".into()),
                    compress_mode: Some("gzip".into()),
                    compress_level: Some("3".into()),
                    exclude_schemas: vec![" ".into()],
                    ..entry("crm")
                },
                entry(""),
                entry("crm"),
            ],
        );
        let found = problems(&bad);
        assert_eq!(found.len(), 8, "{found:#?}");
        assert!(found[0].contains("<split>Y"));
        assert!(found[1].contains("directory is not supported"));
        assert!(found[2].contains("[shop]: <pg_dump_option> `--dbname=other` is refused"));
        assert!(found[3].contains("[crm]: <format> custom"));
        assert!(found[4].contains("<compress_level> does not apply"));
        assert!(found[5].contains("<exclude_schema> must not be empty"));
        assert!(found[6].contains("needs a <name>"));
        assert!(found[7].contains("[crm] is given twice"));
        let named = section(false, false, &["shop"], vec![entry("crm"), entry("x*")]);
        let found = problems(&named);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("names no listed <database>"));
        assert!(found[1].contains("matches no listed <database>"));
        let level = section(
            false,
            false,
            &["shop"],
            vec![DatabaseOptionsSection {
                compress_level: Some("12".into()),
                ..entry("shop")
            }],
        );
        assert!(problems(&level)[0].contains("not a gzip level between 1 and 9"));
        let unknown = section(
            false,
            false,
            &["shop"],
            vec![DatabaseOptionsSection {
                format: Some("tar".into()),
                compress_mode: Some("lz4".into()),
                ..entry("shop")
            }],
        );
        assert_eq!(
            problems(&unknown),
            vec![
                "<database_options> [shop]: <format> `tar` is not one of plain, custom",
                "<database_options> [shop]: <compress_mode> `lz4` is not one of none, gzip, bzip2, zstd",
            ]
        );
    }

    #[test]
    fn args_and_what_is_left_out() {
        let choices = Choices::from_entry(&DatabaseOptionsSection {
            schemas: vec!["public".into()],
            exclude_schemas: vec!["audit".into()],
            exclude_tables: vec!["public.log".into()],
            pg_dump_options: vec![
                "--no-owner".into(),
                "--exclude-table-data=public.big".into(),
            ],
            ..entry("shop")
        });
        assert_eq!(
            choices.args(),
            vec![
                "--schema=public",
                "--exclude-schema=audit",
                "--exclude-table=public.log",
                "--no-owner",
                "--exclude-table-data=public.big"
            ]
        );
        assert_eq!(
            choices.left_out(),
            vec![
                "every schema but public",
                "schema audit",
                "table public.log",
                "the data of table public.big"
            ]
        );
    }
}
