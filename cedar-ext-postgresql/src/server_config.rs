//! `<config_files>Y`: the server's configuration, kept with the dumps
//! (`postgresqldump-config.txt[.ext]`).
//!
//! Everything is read through the server with psql, so it works for a remote server too: the
//! contents of `pg_hba.conf`, `pg_ident.conf`, `postgresql.conf` (their paths from
//! `current_setting('hba_file')` and so on) and `postgresql.auto.conf` (in `data_directory`)
//! with `pg_read_file`, and every setting whose source is not the default (`pg_settings`:
//! name, setting, unit, source, sourcefile, sourceline).
//!
//! A role that may not read a piece does not fail the night: the piece is left out with a
//! warning naming the grant that lets it read it (`pg_read_all_settings` to learn the files'
//! paths and the settings' sources, `pg_read_server_files` and `EXECUTE` on `pg_read_file`
//! for the files), and the file says what was left out. Only a server that cannot be asked
//! anything fails the entry.
//!
//! The file is text: comment lines start with `--`, and it ends with [`MARKER`], which the
//! read-back check looks for (as it looks for pg_dump's completion marker in a dump). It is
//! written like a dump: through the one compressor into a hidden temporary file, read back,
//! then renamed ([`crate::action`]).

use std::ffi::OsString;
use std::path::Path;

use crate::discover::MAINTENANCE_DATABASES;
use crate::version::{psql, QueryError};

/// The last line of the file; the read-back check requires it.
pub const MARKER: &str = "-- cback: end of the server configuration";

/// The files kept, each with the SQL expression giving its path on the server.
const FILES: [(&str, &str); 4] = [
    ("pg_hba.conf", "current_setting('hba_file')"),
    ("pg_ident.conf", "current_setting('ident_file')"),
    ("postgresql.conf", "current_setting('config_file')"),
    (
        "postgresql.auto.conf",
        "current_setting('data_directory') || '/postgresql.auto.conf'",
    ),
];

/// Most bytes read of one file (configuration files are far smaller).
const MAX_FILE: u64 = 100_000_000;

/// The settings not at their default, one tab-separated record each.
const SETTINGS_QUERY: &str = "SELECT concat_ws(E'\\t', name, coalesce(setting, ''), \
     coalesce(unit, ''), source, coalesce(sourcefile, ''), coalesce(sourceline::text, '')) \
     FROM pg_settings WHERE source <> 'default' ORDER BY name";

/// One configuration file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRead {
    /// Its usual name (`pg_hba.conf`).
    pub name: &'static str,
    /// Its path on the server.
    pub path: String,
    /// Its content; `None` when it does not exist.
    pub content: Option<String>,
}

/// What could be read, and what was left out (each with its reason and the fix).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gathered {
    pub role: String,
    pub server_version: String,
    pub files: Vec<FileRead>,
    /// Tab-separated records: name, setting, unit, source, sourcefile, sourceline.
    pub settings: Vec<String>,
    pub left_out: Vec<String>,
}

/// Reads the server's configuration through `psql_program` with the libpq environment `env`.
/// Fails only when no maintenance database answers at all (or on an interrupt); a piece the
/// role may not read is left out with a warning.
pub fn gather(
    psql_program: &Path,
    env: &[(&'static str, OsString)],
) -> Result<Gathered, QueryError> {
    let mut last = None;
    for database in MAINTENANCE_DATABASES {
        let ask = |sql: &str| psql(psql_program, env, database, &["-0"], sql).map(records);
        match ask("SELECT current_user || E'\\t' || current_setting('server_version')") {
            Ok(answer) => return gather_from(&ask, answer.first().map(String::as_str)),
            Err(err @ (QueryError::Spawn { .. } | QueryError::Interrupted { .. })) => {
                return Err(err)
            }
            Err(err) => last = Some(err),
        }
    }
    Err(last.expect("at least one maintenance database was tried"))
}

/// The rest of [`gather`], once a database answered `identity` (`role<TAB>version`).
fn gather_from(
    ask: &dyn Fn(&str) -> Result<Vec<String>, QueryError>,
    identity: Option<&str>,
) -> Result<Gathered, QueryError> {
    let (role, version) = identity
        .unwrap_or_default()
        .split_once('\t')
        .unwrap_or_default();
    let mut gathered = Gathered {
        role: role.to_string(),
        server_version: version.to_string(),
        ..Gathered::default()
    };
    let grantee = quote_ident(role);
    // The files' paths are settings only superusers and pg_read_all_settings may see; the
    // files themselves outside the data directory need pg_read_server_files, and
    // pg_read_file needs EXECUTE.
    let file_grant = format!(
        "GRANT pg_read_all_settings, pg_read_server_files TO {grantee}; GRANT EXECUTE ON \
         FUNCTION pg_read_file(text, bigint, bigint, boolean) TO {grantee}"
    );
    for (name, expression) in FILES {
        let path = match ask(&format!("SELECT {expression}")) {
            Ok(answer) => answer.into_iter().next().unwrap_or_default(),
            Err(err) => {
                leave_out(&mut gathered, name, failed(err)?, &file_grant);
                continue;
            }
        };
        let sql = format!(
            "SELECT CASE WHEN f IS NULL THEN 'n' ELSE 'f' || f END \
             FROM (SELECT pg_read_file({}, 0, {MAX_FILE}, true) AS f) s",
            literal(&path)
        );
        match ask(&sql) {
            Ok(answer) => {
                let answer = answer.into_iter().next().unwrap_or_default();
                let content = answer.strip_prefix('f').map(str::to_string);
                gathered.files.push(FileRead {
                    name,
                    path,
                    content,
                });
            }
            Err(err) => leave_out(
                &mut gathered,
                &format!("{name} ({path})"),
                failed(err)?,
                &file_grant,
            ),
        }
    }
    let may_read_sources = ask("SELECT pg_has_role('pg_read_all_settings', 'USAGE')")
        .map(|answer| answer.first().map(String::as_str) == Some("t"));
    match may_read_sources {
        Ok(true) => {}
        Ok(false) => leave_out(
            &mut gathered,
            "the source file and line of each setting, and the settings only superusers may see",
            "the role lacks pg_read_all_settings".to_string(),
            &format!("GRANT pg_read_all_settings TO {grantee}"),
        ),
        Err(err) => {
            let reason = failed(err)?;
            tracing::debug!("Cannot ask whether the role has pg_read_all_settings: {reason}");
        }
    }
    match ask(SETTINGS_QUERY) {
        Ok(records) => gathered.settings = records,
        Err(err) => leave_out(
            &mut gathered,
            "the settings",
            failed(err)?,
            &format!("GRANT pg_read_all_settings TO {grantee}"),
        ),
    }
    Ok(gathered)
}

/// The reason of a query that failed for want of a privilege; an interrupt or a psql that
/// cannot run ends the gathering.
fn failed(err: QueryError) -> Result<String, QueryError> {
    match err {
        QueryError::Failed { stderr, .. } => Ok(first_error_line(&stderr)),
        QueryError::Unreadable { answer, .. } => Ok(answer),
        err => Err(err),
    }
}

fn first_error_line(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("psql failed")
        .to_string()
}

fn leave_out(gathered: &mut Gathered, what: &str, reason: String, grant: &str) {
    let line = format!("{what}: {reason}; to keep it, {grant}");
    tracing::warn!("The server's configuration file leaves out {line}.");
    gathered.left_out.push(line);
}

/// psql's `-0` output as records (each ends with a NUL byte).
fn records(output: Vec<u8>) -> Vec<String> {
    crate::discover::parse_names(&output)
}

/// `text` as an SQL string literal, whatever `standard_conforming_strings` says.
fn literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The file's text.
pub fn render(gathered: &Gathered) -> Vec<u8> {
    let mut text = String::new();
    text.push_str(&format!(
        "-- The configuration of the PostgreSQL server {}, read by cback as role {}.\n\
         -- It is not a dump: put the files back by hand (see \"The server's configuration\" in\n\
         -- cback's doc/postgresql.md). Every line that starts with `-- ` is cback's.\n--\n",
        one_line(&gathered.server_version),
        one_line(&gathered.role)
    ));
    for file in &gathered.files {
        text.push_str(&format!(
            "-- ==== {}: {} ====\n",
            file.name,
            one_line(&file.path)
        ));
        match &file.content {
            Some(content) => {
                text.push_str(content);
                if !content.is_empty() && !content.ends_with('\n') {
                    text.push('\n');
                }
            }
            None => text.push_str("-- (the file does not exist)\n"),
        }
        text.push_str(&format!("-- ==== end of {} ====\n--\n", file.name));
    }
    text.push_str(
        "-- ==== settings whose source is not the default (pg_settings) ====\n\
         -- name\tsetting\tunit\tsource\tsourcefile\tsourceline\n",
    );
    for record in &gathered.settings {
        text.push_str(&one_line(record));
        text.push('\n');
    }
    text.push_str("-- ==== end of the settings ====\n--\n-- ==== left out ====\n");
    if gathered.left_out.is_empty() {
        text.push_str("-- nothing\n");
    }
    for line in &gathered.left_out {
        text.push_str(&format!("-- {}\n", one_line(line)));
    }
    text.push_str(MARKER);
    text.push('\n');
    text.into_bytes()
}

/// `text` on one line (a value with a line break would break the layout).
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::ends_with_marker;

    fn failed_query(stderr: &str) -> QueryError {
        QueryError::Failed {
            program: "psql".into(),
            stderr: stderr.to_string(),
        }
    }

    #[test]
    fn literals_and_identifiers_are_quoted() {
        assert_eq!(literal("/etc/it's\\here"), "E'/etc/it''s\\\\here'");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }

    #[test]
    fn a_role_without_grants_gets_what_it_may_read_and_the_grants_named() {
        let ask = |sql: &str| -> Result<Vec<String>, QueryError> {
            if sql.starts_with("SELECT current_setting") {
                Err(failed_query(
                    "ERROR:  permission denied to examine \"hba_file\"\nDETAIL: ...",
                ))
            } else if sql.contains("pg_has_role") {
                Ok(vec!["f".into()])
            } else if sql == SETTINGS_QUERY {
                Ok(vec!["port\t5432\t\tcommand line\t\t".into()])
            } else {
                panic!("unexpected query {sql}")
            }
        };
        let gathered = gather_from(&ask, Some("backup\t17.2")).unwrap();
        assert!(gathered.files.is_empty());
        assert_eq!(gathered.left_out.len(), 5, "{:?}", gathered.left_out);
        assert!(gathered.left_out[0].starts_with("pg_hba.conf: ERROR:  permission denied"));
        assert!(gathered.left_out[0].contains(
            "GRANT pg_read_all_settings, pg_read_server_files TO \"backup\"; GRANT EXECUTE"
        ));
        assert!(gathered.left_out[4].contains("pg_read_all_settings"));
        let text = String::from_utf8(render(&gathered)).unwrap();
        assert!(text.contains("port\t5432\t\tcommand line\t\t\n"), "{text}");
        assert!(
            text.contains("-- pg_ident.conf: ERROR:  permission denied"),
            "{text}"
        );
        assert!(ends_with_marker(text.as_bytes(), MARKER), "{text}");
    }

    #[test]
    fn files_are_read_and_a_missing_one_is_said() {
        let ask = |sql: &str| -> Result<Vec<String>, QueryError> {
            if sql == "SELECT current_setting('hba_file')" {
                Ok(vec!["/data/pg_hba.conf".into()])
            } else if sql.starts_with("SELECT current_setting") || sql.contains("auto.conf") {
                Ok(vec!["/data/other".into()])
            } else if sql.contains("E'/data/pg_hba.conf'") {
                Ok(vec!["flocal all all trust".into()])
            } else if sql.contains("pg_read_file") {
                Ok(vec!["n".into()])
            } else if sql.contains("pg_has_role") {
                Ok(vec!["t".into()])
            } else if sql == SETTINGS_QUERY {
                Ok(vec![])
            } else {
                panic!("unexpected query {sql}")
            }
        };
        let gathered = gather_from(&ask, Some("postgres\t16.1")).unwrap();
        assert_eq!(gathered.files.len(), 4);
        assert_eq!(
            gathered.files[0].content.as_deref(),
            Some("local all all trust")
        );
        assert!(gathered.left_out.is_empty());
        let text = String::from_utf8(render(&gathered)).unwrap();
        assert!(
            text.contains("-- ==== pg_hba.conf: /data/pg_hba.conf ====\nlocal all all trust\n-- ==== end of pg_hba.conf"),
            "{text}"
        );
        assert!(text.contains("-- (the file does not exist)"), "{text}");
        assert!(
            text.contains("-- ==== left out ====\n-- nothing\n"),
            "{text}"
        );
        assert!(text.ends_with(&format!("{MARKER}\n")));
    }

    #[test]
    fn an_interrupt_ends_the_gathering() {
        let ask = |_: &str| -> Result<Vec<String>, QueryError> {
            Err(QueryError::Interrupted {
                program: "psql".into(),
            })
        };
        assert!(matches!(
            gather_from(&ask, Some("r\t1")),
            Err(QueryError::Interrupted { .. })
        ));
    }
}
